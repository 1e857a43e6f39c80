//! The `[ingest]` section of `weft.toml`.
//!
//! ```toml
//! [ingest]
//! format = "auto"               # or a format name from `weft formats`
//! max_record_bytes = 1048576    # longer records go to the dead letters
//!
//! [ingest.aliases]              # for every source: original field = column
//! "actor.login" = "user"
//!
//! [ingest.services.checkout]    # for sources of one service
//! format = "json"
//! aliases = { "cust_ip" = "src_ip", "order_trace" = "trace_id" }
//! ```
//!
//! Per-service settings apply to sources whose service is known before their records are
//! parsed (`--service`, or the file name's stem).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::parse::{self, AliasTable, ParserOptions};

/// Default largest record: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Why the ingest configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown format `{format}`{context}; `weft formats` lists them (or use `auto`)")]
    UnknownFormat { format: String, context: String },
    #[error("ingest.aliases: {0}")]
    Alias(#[from] parse::alias::AliasError),
    #[error("ingest.max_record_bytes must be between 1 and {max}, not {value}", max = crate::frame::HARD_CAP)]
    RecordLimit { value: usize },
}

/// Settings for the sources of one service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Format of this service's records (`auto` when unset).
    pub format: Option<String>,
    /// Field aliases for this service: original field name = schema column.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

/// The `[ingest]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Format of sources that do not say: `auto` or a format name.
    #[serde(default = "default_format")]
    pub format: String,
    /// Largest record stored, in bytes; longer records are dead-lettered.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Field aliases for every source: original field name = schema column.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Settings per service name.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            format: default_format(),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            aliases: BTreeMap::new(),
            services: BTreeMap::new(),
        }
    }
}

fn default_format() -> String {
    "auto".to_string()
}

fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

fn check_format(format: &str, context: &str) -> Result<(), ConfigError> {
    if format == "auto" || parse::format(format).is_some() {
        Ok(())
    } else {
        Err(ConfigError::UnknownFormat {
            format: format.to_string(),
            context: context.to_string(),
        })
    }
}

impl IngestConfig {
    /// Checks everything once, so that building parsers later cannot fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_format(&self.format, "")?;
        if self.max_record_bytes == 0 || self.max_record_bytes > crate::frame::HARD_CAP {
            return Err(ConfigError::RecordLimit {
                value: self.max_record_bytes,
            });
        }
        for (name, service) in &self.services {
            if let Some(format) = &service.format {
                check_format(format, &format!(" for service `{name}`"))?;
            }
            self.parser_options(Some(name))?;
        }
        self.parser_options(None)?;
        Ok(())
    }

    /// The format for a service's sources: the service's own, else the default.
    pub fn format_for(&self, service: Option<&str>) -> &str {
        service
            .and_then(|name| self.services.get(name))
            .and_then(|service| service.format.as_deref())
            .unwrap_or(&self.format)
    }

    /// Parser options for a source of `service`: default aliases, then the global ones, then
    /// the service's own (the most specific first in precedence).
    pub fn parser_options(&self, service: Option<&str>) -> Result<ParserOptions, ConfigError> {
        let service_aliases = service
            .and_then(|name| self.services.get(name))
            .map(|service| &service.aliases);
        let extra = service_aliases
            .into_iter()
            .flatten()
            .chain(&self.aliases)
            .map(|(field, column)| (field.as_str(), column.as_str()));
        Ok(ParserOptions {
            aliases: AliasTable::with_extra(extra)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Column;

    #[test]
    fn service_aliases_come_before_global_ones() {
        let config: IngestConfig = toml::from_str(
            r#"
            aliases = { "who" = "user" }
            [services.checkout]
            format = "json"
            aliases = { "cust_ip" = "src_ip", "who" = "message" }
            "#,
        )
        .expect("valid config");
        config.validate().expect("valid");
        let options = config.parser_options(Some("checkout")).expect("valid");
        assert_eq!(options.aliases.column("cust_ip"), Some(Column::SrcIp));
        assert_eq!(options.aliases.column("who"), Some(Column::Message));
        let global = config.parser_options(Some("other")).expect("valid");
        assert_eq!(global.aliases.column("who"), Some(Column::User));
        assert_eq!(config.format_for(Some("checkout")), "json");
        assert_eq!(config.format_for(None), "auto");
    }

    #[test]
    fn unknown_fields_formats_and_columns_are_refused() {
        assert!(toml::from_str::<IngestConfig>("colour = 1").is_err());
        let config: IngestConfig = toml::from_str("format = \"yaml\"").expect("parses");
        assert!(
            config
                .validate()
                .expect_err("unknown format")
                .to_string()
                .contains("weft formats")
        );
        let config: IngestConfig = toml::from_str("aliases = { a = \"nope\" }").expect("parses");
        assert!(config.validate().is_err());
    }
}
