//! Sigma field names to weft's schema: the mapping config (shipped defaults in
//! `default_mapping.toml`, which documents the format, plus the user's own file), and the
//! resolution of a rule's field to an ordered list of sources.

use std::collections::BTreeMap;

use serde::Deserialize;
use weft_ingest::schema;

use super::error::SigmaConfigError;
use super::logsource::LogSourceRoute;
use super::rule::LogSource;

/// The mapping weft ships with.
pub const DEFAULT_MAPPING: &str = include_str!("default_mapping.toml");

/// Where a Sigma field's value comes from in a weft event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldSource {
    /// A schema column (`command_line`, `src_ip`, ...).
    Column(&'static str),
    /// A key of the `attrs` map.
    Attr(String),
}

impl FieldSource {
    /// Parses `column:NAME` or `attr:KEY`.
    pub fn parse(text: &str) -> Result<FieldSource, SigmaConfigError> {
        if let Some(name) = text.strip_prefix("column:") {
            return column_constant(name)
                .map(FieldSource::Column)
                .ok_or_else(|| SigmaConfigError::UnknownColumn(name.to_string()));
        }
        if let Some(key) = text.strip_prefix("attr:") {
            return Ok(FieldSource::Attr(key.to_string()));
        }
        Err(SigmaConfigError::FieldSource(text.to_string()))
    }
}

/// The schema's own `&'static str` for a column name (every column but `attrs` and `flags`).
fn column_constant(name: &str) -> Option<&'static str> {
    schema::SCALAR_COLUMNS
        .iter()
        .copied()
        .find(|column| *column == name)
}

/// The TOML shape of a mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigmaMappingConfig {
    /// Tables of `SigmaField = ["column:NAME" | "attr:KEY", ...]`, by scope: `common`, a
    /// product, a category, or `product/service`.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Logsource routes.
    #[serde(default)]
    pub logsources: Vec<LogSourceRouteConfig>,
}

/// One `[[logsources]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceRouteConfig {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    /// Admitted values of the `format` column.
    #[serde(default)]
    pub format: Vec<String>,
    /// Admitted values of the `class` column.
    #[serde(default)]
    pub class: Vec<String>,
    /// Admitted values of the `service` column.
    #[serde(default)]
    pub service_column: Vec<String>,
    /// Admitted values of attributes.
    #[serde(default)]
    pub attrs: BTreeMap<String, Vec<String>>,
}

/// The validated mapping: field tables and logsource routes.
#[derive(Debug, Clone)]
pub struct FieldMapping {
    tables: BTreeMap<String, BTreeMap<String, Vec<FieldSource>>>,
    routes: Vec<LogSourceRoute>,
}

impl Default for FieldMapping {
    fn default() -> Self {
        // The shipped file is tested to parse (`default_mapping_is_valid`).
        FieldMapping::from_toml(&[]).unwrap_or(FieldMapping {
            tables: BTreeMap::new(),
            routes: Vec::new(),
        })
    }
}

impl FieldMapping {
    /// The shipped defaults extended by the given user mapping files (earlier files win).
    pub fn from_toml(user_files: &[&str]) -> Result<FieldMapping, SigmaConfigError> {
        let mut mapping = FieldMapping {
            tables: BTreeMap::new(),
            routes: Vec::new(),
        };
        for text in user_files.iter().copied().chain([DEFAULT_MAPPING]) {
            let config: SigmaMappingConfig = toml::from_str(text)?;
            for (scope, table) in config.fields {
                let target = mapping.tables.entry(scope).or_default();
                for (field, sources) in table {
                    if target.contains_key(&field) {
                        continue;
                    }
                    let sources = sources
                        .iter()
                        .map(|source| FieldSource::parse(source))
                        .collect::<Result<Vec<_>, _>>()?;
                    target.insert(field, sources);
                }
            }
            for route in config.logsources {
                mapping.routes.push(LogSourceRoute::build(route));
            }
        }
        Ok(mapping)
    }

    /// Where `field` of a rule with `logsource` is read from, in order: the configured sources
    /// of the most specific table that names the field, then `attrs[field]`.
    pub fn resolve(&self, logsource: &LogSource, field: &str) -> Vec<FieldSource> {
        let mut scopes = Vec::with_capacity(4);
        if let (Some(product), Some(service)) = (&logsource.product, &logsource.service) {
            scopes.push(format!("{product}/{service}"));
        }
        scopes.extend(logsource.category.iter().cloned());
        scopes.extend(logsource.product.iter().cloned());
        scopes.push("common".to_string());
        let mut sources: Vec<FieldSource> = scopes
            .iter()
            .find_map(|scope| self.tables.get(scope).and_then(|table| table.get(field)))
            .cloned()
            .unwrap_or_default();
        let exact = FieldSource::Attr(field.to_string());
        if !sources.contains(&exact) {
            sources.push(exact);
        }
        sources
    }

    /// The routes whose product/category/service all equal the rule's (see
    /// [`LogSourceRoute::covers`]).
    pub fn routes_for(&self, logsource: &LogSource) -> Vec<&LogSourceRoute> {
        self.routes
            .iter()
            .filter(|route| route.covers(logsource))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_process() -> LogSource {
        LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            ..LogSource::default()
        }
    }

    #[test]
    fn default_mapping_is_valid() {
        FieldMapping::from_toml(&[]).expect("shipped mapping parses");
    }

    #[test]
    fn resolves_mapped_and_bare_fields() {
        let mapping = FieldMapping::default();
        assert_eq!(
            mapping.resolve(&windows_process(), "Image"),
            [
                FieldSource::Attr("Image".into()),
                FieldSource::Attr("NewProcessName".into())
            ]
        );
        assert_eq!(
            mapping.resolve(&windows_process(), "CommandLine"),
            [FieldSource::Attr("CommandLine".into())]
        );
        let web = LogSource {
            category: Some("webserver".into()),
            ..LogSource::default()
        };
        assert_eq!(
            mapping.resolve(&web, "cs-method"),
            [
                FieldSource::Column("http_method"),
                FieldSource::Attr("cs-method".into())
            ]
        );
    }

    #[test]
    fn user_files_take_precedence_and_are_validated() {
        let mapping = FieldMapping::from_toml(&["[fields.windows]\nImage = ['column:process']"])
            .expect("valid");
        assert_eq!(
            mapping.resolve(&windows_process(), "Image"),
            [
                FieldSource::Column("process"),
                FieldSource::Attr("Image".into())
            ]
        );
        assert!(FieldMapping::from_toml(&["[fields.common]\nX = ['column:nope']"]).is_err());
        assert!(FieldMapping::from_toml(&["[fields.common]\nX = ['nope']"]).is_err());
        assert!(FieldMapping::from_toml(&["unknown = 1"]).is_err());
    }
}
