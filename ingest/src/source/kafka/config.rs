//! The `[kafka]` section of `weft.toml`, and its validated runtime form.
//!
//! ```toml
//! [kafka]
//! brokers = "kafka-1:9092,kafka-2:9092"   # bootstrap servers
//! topics = ["auth-logs", "^app-.*"]       # names, or regular expressions starting with ^
//! group = "weft-ingest"                   # consumer group id
//! dead_letter_topic = "{topic}.dlq"       # {topic} is the record's topic
//! service = "topic"                       # topic | key | header:NAME | field:NAME
//! flush_interval_ms = 5000                # events are durable within this bound
//! flush_bytes = 33554432                  # ...or once this much is buffered
//! session_timeout_ms = 45000              # how long a dead worker keeps its partitions
//! fetch_queue_kbytes = 65536              # librdkafka's prefetch bound per worker
//! metrics_interval_secs = 30              # counters are logged this often
//!
//! [kafka.formats]                         # format per topic (default: [ingest] format)
//! "auth-logs" = "syslog3164"
//!
//! [kafka.client]                          # passed to librdkafka as is
//! "security.protocol" = "sasl_ssl"
//! "sasl.mechanism" = "SCRAM-SHA-512"
//! ```
//!
//! Secrets never live in the file: librdkafka properties also come from the environment,
//! `WEFT_KAFKA_<PROPERTY>` with dots as underscores (`WEFT_KAFKA_SASL_PASSWORD` sets
//! `sasl.password`), and a property whose name holds `password` or `secret` is refused in the
//! file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::service::{ServiceRule, ServiceRuleError};
use crate::parse;

/// Prefix of environment variables that set librdkafka properties.
pub const CLIENT_ENV_PREFIX: &str = "WEFT_KAFKA_";

/// Why the Kafka configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum KafkaConfigError {
    #[error("kafka: no brokers; pass --brokers or set kafka.brokers")]
    NoBrokers,
    #[error("kafka: no topics; pass --topics or set kafka.topics")]
    NoTopics,
    #[error("kafka: no consumer group; pass --group or set kafka.group")]
    NoGroup,
    #[error(transparent)]
    Service(#[from] ServiceRuleError),
    #[error(
        "kafka.formats: unknown format `{format}` for topic `{topic}`; `weft formats` lists them"
    )]
    UnknownFormat { topic: String, format: String },
    #[error("kafka.{field} must be between {min} and {max}, not {value}")]
    OutOfRange {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error(
        "kafka.client.{0}: secrets are not read from the configuration file; set {CLIENT_ENV_PREFIX}<PROPERTY> in the environment instead"
    )]
    SecretInFile(String),
    #[error("kafka.dead_letter_topic must not be empty")]
    NoDeadLetterTopic,
}

/// The `[kafka]` section. Every field may also come from the command line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: Option<String>,
    /// Topics to consume: names, or regular expressions starting with `^`.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Consumer group id.
    pub group: Option<String>,
    /// Dead-letter topic; `{topic}` is replaced by the record's topic.
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
    /// Where a record's service name comes from: `topic`, `key`, `header:NAME`, `field:NAME`.
    #[serde(default = "default_service")]
    pub service: String,
    /// Format per topic; other topics use `[ingest] format`.
    #[serde(default)]
    pub formats: BTreeMap<String, String>,
    /// Longest time an event stays buffered before its segment is written.
    #[serde(default = "default_flush_interval_ms")]
    pub flush_interval_ms: u64,
    /// Buffered bytes that trigger a flush before the interval.
    #[serde(default = "default_flush_bytes")]
    pub flush_bytes: usize,
    /// Consumer group session timeout: how long a worker that died without leaving keeps its
    /// partitions. Shorter moves partitions sooner; too short evicts live workers on a pause.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// librdkafka's prefetch bound (`queued.max.messages.kbytes`).
    #[serde(default = "default_fetch_queue_kbytes")]
    pub fetch_queue_kbytes: u64,
    /// How often the counters are logged.
    #[serde(default = "default_metrics_interval_secs")]
    pub metrics_interval_secs: u64,
    /// librdkafka properties passed through as is (TLS, SASL mechanism, timeouts).
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: None,
            topics: Vec::new(),
            group: None,
            dead_letter_topic: default_dead_letter_topic(),
            service: default_service(),
            formats: BTreeMap::new(),
            flush_interval_ms: default_flush_interval_ms(),
            flush_bytes: default_flush_bytes(),
            session_timeout_ms: default_session_timeout_ms(),
            fetch_queue_kbytes: default_fetch_queue_kbytes(),
            metrics_interval_secs: default_metrics_interval_secs(),
            client: BTreeMap::new(),
        }
    }
}

fn default_dead_letter_topic() -> String {
    "{topic}.dlq".to_string()
}
fn default_service() -> String {
    "topic".to_string()
}
fn default_flush_interval_ms() -> u64 {
    5_000
}
/// About 17,000 records of ~930 B a checkpoint. On the mock-cluster bench (2026-11-25) a worker
/// read a preloaded backlog as fast with 32 MiB as with 64 MiB (59-64.5k events/s against
/// 58-64k), and records of a 20,000/s stream became durable in half the time (p99 1.6 s
/// against 3.0 s); with 16 MiB it read 42.9k events/s (p99 1.1 s).
fn default_flush_bytes() -> usize {
    32 * 1024 * 1024
}
fn default_session_timeout_ms() -> u64 {
    45_000
}
/// Enough prefetched records for a checkpoint or two (64 MiB of buffered events was ~34,000
/// records of ~930 B), so that fetching goes on while a checkpoint is written: with 64 MiB
/// checkpoints, 16 MiB of prefetch read a preloaded backlog at 18.8k events/s, 32 MiB 29.6k,
/// 64 MiB 38.1k and 128 MiB no faster (mock cluster bench, 2026-11-25).
fn default_fetch_queue_kbytes() -> u64 {
    64 * 1024
}
fn default_metrics_interval_secs() -> u64 {
    30
}

/// A validated `[kafka]` section: what a worker runs with.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group: String,
    pub dead_letter_topic: String,
    pub service: ServiceRule,
    pub formats: BTreeMap<String, String>,
    pub flush_interval: Duration,
    pub flush_bytes: usize,
    pub session_timeout: Duration,
    pub fetch_queue_kbytes: u64,
    pub metrics_interval: Duration,
    /// librdkafka properties from the file and the environment (the environment wins).
    pub client: BTreeMap<String, String>,
}

fn in_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<u64, KafkaConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(KafkaConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

fn is_secret(property: &str) -> bool {
    let lower = property.to_ascii_lowercase();
    lower.contains("password") || lower.contains("secret")
}

impl KafkaConfig {
    /// Validates everything once. `env` is the process environment (or a test's), from which
    /// `WEFT_KAFKA_*` variables become librdkafka properties.
    pub fn build(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<KafkaSettings, KafkaConfigError> {
        let brokers = self
            .brokers
            .clone()
            .filter(|brokers| !brokers.trim().is_empty())
            .ok_or(KafkaConfigError::NoBrokers)?;
        let topics: Vec<String> = self
            .topics
            .iter()
            .map(|topic| topic.trim().to_string())
            .filter(|topic| !topic.is_empty())
            .collect();
        if topics.is_empty() {
            return Err(KafkaConfigError::NoTopics);
        }
        let group = self
            .group
            .clone()
            .filter(|group| !group.trim().is_empty())
            .ok_or(KafkaConfigError::NoGroup)?;
        if self.dead_letter_topic.trim().is_empty() {
            return Err(KafkaConfigError::NoDeadLetterTopic);
        }
        for (topic, format) in &self.formats {
            if format != "auto" && parse::format(format).is_none() {
                return Err(KafkaConfigError::UnknownFormat {
                    topic: topic.clone(),
                    format: format.clone(),
                });
            }
        }
        if let Some(secret) = self.client.keys().find(|property| is_secret(property)) {
            return Err(KafkaConfigError::SecretInFile(secret.clone()));
        }
        let mut client = self.client.clone();
        for (name, value) in env {
            if let Some(property) = name.strip_prefix(CLIENT_ENV_PREFIX)
                && !property.is_empty()
            {
                client.insert(property.to_ascii_lowercase().replace('_', "."), value);
            }
        }
        let flush_ms = in_range("flush_interval_ms", self.flush_interval_ms, 10, 3_600_000)?;
        let session_ms = in_range(
            "session_timeout_ms",
            self.session_timeout_ms,
            1_000,
            3_600_000,
        )?;
        let flush_bytes = in_range("flush_bytes", self.flush_bytes as u64, 1024, 4 << 30)?;
        Ok(KafkaSettings {
            brokers,
            topics,
            group,
            dead_letter_topic: self.dead_letter_topic.clone(),
            service: ServiceRule::parse(&self.service)?,
            formats: self.formats.clone(),
            flush_interval: Duration::from_millis(flush_ms),
            flush_bytes: usize::try_from(flush_bytes).unwrap_or(usize::MAX),
            session_timeout: Duration::from_millis(session_ms),
            fetch_queue_kbytes: in_range(
                "fetch_queue_kbytes",
                self.fetch_queue_kbytes,
                1,
                2_097_151,
            )?,
            metrics_interval: Duration::from_secs(in_range(
                "metrics_interval_secs",
                self.metrics_interval_secs,
                1,
                86_400,
            )?),
            client,
        })
    }
}

impl KafkaSettings {
    /// The dead-letter topic of records from `topic`.
    pub fn dead_letter_topic_for(&self, topic: &str) -> String {
        self.dead_letter_topic.replace("{topic}", topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> KafkaConfig {
        toml::from_str(
            r#"
            brokers = "127.0.0.1:9092"
            topics = ["logs"]
            group = "weft"
            "#,
        )
        .expect("valid section")
    }

    #[test]
    fn defaults_and_environment_properties() {
        let settings = minimal()
            .build([
                (
                    "WEFT_KAFKA_SASL_PASSWORD".to_string(),
                    "hunter2".to_string(),
                ),
                ("HOME".to_string(), "/root".to_string()),
            ])
            .expect("valid");
        assert_eq!(settings.flush_interval, Duration::from_secs(5));
        assert_eq!(settings.session_timeout, Duration::from_secs(45));
        assert_eq!(settings.service, ServiceRule::Topic);
        assert_eq!(settings.dead_letter_topic_for("logs"), "logs.dlq");
        assert_eq!(
            settings.client.get("sasl.password").map(String::as_str),
            Some("hunter2")
        );
        assert_eq!(settings.client.len(), 1);
    }

    #[test]
    fn refuses_missing_settings_secrets_unknown_formats_and_keys() {
        let mut config = minimal();
        config.brokers = None;
        assert!(matches!(config.build([]), Err(KafkaConfigError::NoBrokers)));
        let mut config = minimal();
        config.topics = vec![" ".to_string()];
        assert!(matches!(config.build([]), Err(KafkaConfigError::NoTopics)));
        let mut config = minimal();
        config
            .client
            .insert("ssl.key.password".to_string(), "x".to_string());
        assert!(matches!(
            config.build([]),
            Err(KafkaConfigError::SecretInFile(_))
        ));
        let mut config = minimal();
        config
            .formats
            .insert("logs".to_string(), "yaml".to_string());
        assert!(matches!(
            config.build([]),
            Err(KafkaConfigError::UnknownFormat { .. })
        ));
        let mut config = minimal();
        config.session_timeout_ms = 10;
        assert!(matches!(
            config.build([]),
            Err(KafkaConfigError::OutOfRange { .. })
        ));
        assert!(toml::from_str::<KafkaConfig>("brokerz = \"x\"").is_err());
    }
}
