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
    /// Kafka ingest workers (`weft ingest --kafka`, and `weft run` when brokers and topics
    /// are set).
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Detection: rules, jobs, incidents, outputs (`weft run`).
    #[serde(default)]
    pub detect: DetectConfig,
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
        assert_eq!(config.detect.rules, vec![PathBuf::from("rules")]);
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
    }
}
