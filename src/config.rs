//! `weft.toml`: the configuration file of a weft deployment.
//!
//! Every section is owned by the crate that uses it (`[ingest]` by `weft-ingest`); this file
//! only assembles them. Unknown keys are refused, so a typo never passes silently. Secrets are
//! never read from this file: they come from the environment.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use weft_correlate::config::DetectConfig;
use weft_ingest::config::IngestConfig;
use weft_ingest::source::kafka::config::KafkaConfig;
use weft_ingest::store::remote::StoreConfig;
use weft_query::ApiSection;

/// The configuration `weft init` writes: every section, documented, with its defaults.
pub const DEFAULT_CONFIG: &str = include_str!("weft.default.toml");

/// The file `weft init` writes when none exists and no `--config` names another.
pub const DEFAULT_CONFIG_FILE: &str = "weft.toml";

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeftConfig {
    /// Where events, the manifest and dead letters live (default `./weft-data`).
    pub data_dir: Option<PathBuf>,
    /// Reading and normalizing logs.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// The event store: its replication to object storage.
    #[serde(default)]
    pub store: StoreConfig,
    /// Kafka ingest workers (`weft ingest --kafka`, and `weft run` when brokers and topics
    /// are set).
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Detection: rules, jobs, incidents, outputs (`weft run`).
    #[serde(default)]
    pub detect: DetectConfig,
    /// The analyst API (`weft serve`, `weft run`): OpenID Connect bearer tokens.
    #[serde(default)]
    pub api: ApiSection,
}

impl WeftConfig {
    /// The data directory: the command line's `--data-dir`, else `data_dir` from the file, else
    /// `./weft-data`.
    pub fn data_dir(&self, flag: Option<PathBuf>) -> PathBuf {
        flag.or_else(|| self.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("weft-data"))
    }

    /// Loads `path`, or the defaults when no file is given.
    pub fn load(path: Option<&Path>) -> anyhow::Result<WeftConfig> {
        let Some(path) = path else {
            return Ok(WeftConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let config: WeftConfig = toml::from_str(&text)
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        config
            .ingest
            .validate()
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        config
            .store
            .validate()
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        config
            .api
            .build()
            .with_context(|| format!("invalid configuration in {}", path.display()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_is_valid() {
        let config: WeftConfig = toml::from_str(DEFAULT_CONFIG).expect("the template parses");
        config.ingest.validate().expect("valid ingest section");
        assert_eq!(config.data_dir(None), PathBuf::from("weft-data"));
        assert!(
            config.detect.rules.is_empty(),
            "the built-in pack by default"
        );
        assert!(config.detect.builtin_pack);
        config
            .detect
            .incidents
            .build()
            .expect("valid incident settings");
        config
            .detect
            .scheduler
            .validate()
            .expect("valid scheduler settings");
        config
            .detect
            .outputs
            .build()
            .expect("no outputs, nothing to check");
        assert!(config.api.oidc.is_none(), "OIDC is off by default");
        assert!(config.store.remote.is_none(), "no replication by default");
    }

    #[test]
    fn a_store_remote_is_read_and_checked() {
        let config: WeftConfig =
            toml::from_str("[store]\nremote = \"file:///tmp/weft-remote\"\n").expect("parses");
        assert_eq!(
            config.store.remote.as_deref(),
            Some("file:///tmp/weft-remote")
        );
        let bad: WeftConfig = toml::from_str("[store]\nremote = \"ftp://x/y\"\n").expect("parses");
        assert!(bad.store.validate().is_err());
    }

    /// The commented `[api.oidc]` example of the template, uncommented, is a valid section.
    #[test]
    fn the_documented_oidc_example_is_valid() {
        let start = DEFAULT_CONFIG
            .find("# [api.oidc]")
            .expect("the template documents [api.oidc]");
        let example: String = DEFAULT_CONFIG[start..]
            .lines()
            .take_while(|line| line.starts_with('#'))
            .filter_map(|line| line.strip_prefix("# "))
            .map(|line| format!("{line}\n"))
            .collect();
        let config: WeftConfig = toml::from_str(&example)
            .unwrap_or_else(|error| panic!("the example parses: {error}\n{example}"));
        let oidc = config
            .api
            .build()
            .expect("the example is valid")
            .expect("the example configures OIDC");
        assert_eq!(oidc.claims.roles.len(), 2);
    }

    #[test]
    fn unknown_api_keys_are_refused() {
        let typo =
            "[api.oidc]\nissuer = \"i\"\naudience = \"weft\"\njwks = \"k.json\"\nrole = \"x\"\n";
        assert!(toml::from_str::<WeftConfig>(typo).is_err());
        assert!(toml::from_str::<WeftConfig>("[api]\noidc_issuer = \"i\"\n").is_err());
    }
}
