//! `[detect.outputs]`: where alerts are sent, validated once by [`OutputConfig::build`].
//!
//! ```toml
//! [detect.outputs.retry]          # optional, these are the defaults
//! initial_backoff_secs = 1
//! max_backoff_secs = 600
//! max_attempts = 20
//!
//! [[detect.outputs.webhook]]
//! name = "soc"
//! url = "https://soc.example.com/hooks/weft"
//! secret_env = "WEFT_SOC_WEBHOOK_SECRET"   # the variable's name, never the secret
//! timeout_secs = 10
//! min_level = "high"
//! headers = { "X-Tenant" = "payments" }
//! headers_from_env = { "Authorization" = "WEFT_SOC_WEBHOOK_AUTH" }
//!
//! [[detect.outputs.kafka]]
//! name = "alerts"
//! brokers = "kafka-1:9092,kafka-2:9092"
//! topic = "weft.alerts"
//! min_level = "medium"
//! ```
//!
//! Output names are unique across all kinds: deliveries are stored under them, so renaming
//! an output leaves its pending deliveries waiting for a sink of the old name.

use std::collections::{BTreeMap, BTreeSet};
use std::env::VarError;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{HeaderName, HeaderValue, Uri};

use super::outbox::RetryPolicy;
use super::route::{OutputRoute, parse_level};
use super::sink::Sinks;
use super::webhook::WebhookSink;

/// Headers weft sets itself on every webhook request; the configuration may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "x-weft-delivery",
    "x-weft-timestamp",
    "x-weft-signature",
];

/// Headers that carry credentials: only `headers_from_env` may set them.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// The `[detect.outputs]` section. The default has no outputs: alerts are stored, not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// How failed deliveries are retried, for every output.
    #[serde(default)]
    pub retry: RetryConfig,
    /// `[[detect.outputs.webhook]]`: signed JSON POSTs.
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
    /// `[[detect.outputs.kafka]]`: a Kafka topic of alerts, produced by the `weft` binary.
    #[serde(default)]
    pub kafka: Vec<KafkaOutputConfig>,
}

/// `[detect.outputs.retry]`: exponential backoff between attempts, then `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Wait after the first failed attempt, seconds; it doubles after each further failure.
    pub initial_backoff_secs: u64,
    /// The longest wait between two attempts, seconds.
    pub max_backoff_secs: u64,
    /// Attempts before a delivery is marked `failed` (it stays stored; `redeliver` requeues
    /// it).
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff_secs: 1,
            max_backoff_secs: 600,
            max_attempts: 20,
        }
    }
}

/// One `[[detect.outputs.webhook]]`: every alert at or above `min_level` is POSTed as JSON,
/// signed with HMAC-SHA256 (`X-Weft-Signature`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique among outputs: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// `https://…` (or `http://…`, which weft warns about unless the host is loopback). No
    /// credentials in the url: use `headers_from_env`.
    pub url: String,
    /// The name of the environment variable that holds the HMAC secret. It must be set and
    /// not empty when weft starts.
    pub secret_env: String,
    /// Longest time one attempt may take (connect, send, answer), seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Only alerts at or above this Sigma level: `informational`, `low`, `medium`, `high`,
    /// `critical`. Unset sends every alert; alerts without a level count as `informational`.
    pub min_level: Option<String>,
    /// Extra headers with literal values. Credentials (`Authorization`, `Cookie`) are refused
    /// here: set them with `headers_from_env`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra headers whose values are read from environment variables: header name ->
    /// variable name.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
}

fn default_timeout_secs() -> u64 {
    10
}

/// One `[[detect.outputs.kafka]]`: every alert at or above `min_level` is produced to `topic`,
/// keyed by alert id. The `weft` binary owns the producer and implements its sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOutputConfig {
    /// Unique among outputs: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// The topic alerts are produced to.
    pub topic: String,
    /// As for webhooks: only alerts at or above this Sigma level.
    pub min_level: Option<String>,
}

/// A Kafka output, validated: the binary builds its sink and adds it to [`Outputs::sinks`]
/// under `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOutput {
    pub name: String,
    pub brokers: String,
    pub topic: String,
}

/// The outputs' runtime, from [`OutputConfig::build`].
pub struct Outputs {
    /// Every output with its level filter, for [`Outbox::enqueue`](super::Outbox::enqueue).
    pub routes: Vec<OutputRoute>,
    /// The sinks built here (webhooks), by output name, for
    /// [`Outbox::deliver_due`](super::Outbox::deliver_due).
    pub sinks: Sinks,
    /// Kafka outputs, whose sinks the binary builds.
    pub kafka: Vec<KafkaOutput>,
    pub retry: RetryPolicy,
}

impl fmt::Debug for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outputs")
            .field("routes", &self.routes)
            .field("sinks", &self.sinks.keys().collect::<Vec<_>>())
            .field("kafka", &self.kafka)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A `[detect.outputs]` section that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputConfigError {
    #[error(
        "detect.outputs: output name `{0}` is invalid; use 1 to 64 letters, digits, `-`, `_` or `.`"
    )]
    InvalidName(String),
    #[error("detect.outputs: two outputs are named `{0}`; give each output its own name")]
    DuplicateName(String),
    #[error("detect.outputs.{output}: {reason}")]
    Invalid { output: String, reason: String },
    #[error(
        "detect.outputs.{output}: the environment variable {var} is not set; set it to the {what}"
    )]
    MissingEnv {
        output: String,
        var: String,
        what: &'static str,
    },
    #[error(
        "detect.outputs.{output}: the environment variable {var} is empty; set it to the {what}"
    )]
    EmptyEnv {
        output: String,
        var: String,
        what: &'static str,
    },
    #[error(
        "detect.outputs.{output}: the environment variable {var} is not valid UTF-8; set it to the {what}"
    )]
    NonUnicodeEnv {
        output: String,
        var: String,
        what: &'static str,
    },
    #[error("detect.outputs.retry: {0}")]
    InvalidRetry(String),
}

impl OutputConfig {
    /// Validates every output, reads secrets from the process environment and builds the
    /// runtime. Logs a warning for a webhook that sends over plain http to a non-loopback host.
    pub fn build(&self) -> Result<Outputs, OutputConfigError> {
        self.build_with_env(|name| std::env::var(name))
    }

    /// [`build`](Self::build) with the environment given as a function (for tests and for
    /// embedding).
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Result<String, VarError>,
    ) -> Result<Outputs, OutputConfigError> {
        let retry = self.retry.build()?;
        let mut names = BTreeSet::new();
        let mut routes = Vec::new();
        let mut sinks: Sinks = BTreeMap::new();
        for webhook in &self.webhook {
            let route = route(&webhook.name, webhook.min_level.as_deref(), &mut names)?;
            let sink = webhook.build(&env)?;
            sinks.insert(route.name.clone(), Box::new(sink));
            routes.push(route);
        }
        let mut kafka = Vec::new();
        for output in &self.kafka {
            let route = route(&output.name, output.min_level.as_deref(), &mut names)?;
            kafka.push(output.build()?);
            routes.push(route);
        }
        Ok(Outputs {
            routes,
            sinks,
            kafka,
            retry,
        })
    }
}

impl RetryConfig {
    fn build(&self) -> Result<RetryPolicy, OutputConfigError> {
        if self.initial_backoff_secs == 0 {
            return Err(OutputConfigError::InvalidRetry(
                "initial_backoff_secs must be at least 1".into(),
            ));
        }
        if self.max_backoff_secs < self.initial_backoff_secs {
            return Err(OutputConfigError::InvalidRetry(
                "max_backoff_secs must be at least initial_backoff_secs".into(),
            ));
        }
        if self.max_attempts == 0 {
            return Err(OutputConfigError::InvalidRetry(
                "max_attempts must be at least 1".into(),
            ));
        }
        Ok(RetryPolicy::new(
            Duration::from_secs(self.initial_backoff_secs),
            Duration::from_secs(self.max_backoff_secs),
            self.max_attempts,
        ))
    }
}

fn route(
    name: &str,
    min_level: Option<&str>,
    names: &mut BTreeSet<String>,
) -> Result<OutputRoute, OutputConfigError> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 64 || !name.chars().all(valid) {
        return Err(OutputConfigError::InvalidName(name.to_string()));
    }
    if !names.insert(name.to_string()) {
        return Err(OutputConfigError::DuplicateName(name.to_string()));
    }
    let min_level = match min_level {
        None => None,
        Some(text) => Some(parse_level(text).ok_or_else(|| OutputConfigError::Invalid {
            output: name.to_string(),
            reason: format!(
                "min_level `{text}` is not a Sigma level; use informational, low, medium, high or critical"
            ),
        })?),
    };
    Ok(OutputRoute {
        name: name.to_string(),
        min_level,
    })
}

impl WebhookConfig {
    fn build(
        &self,
        env: &impl Fn(&str) -> Result<String, VarError>,
    ) -> Result<WebhookSink, OutputConfigError> {
        let invalid = |reason: String| OutputConfigError::Invalid {
            output: self.name.clone(),
            reason,
        };
        let origin = self.origin().map_err(invalid)?;
        if self.timeout_secs == 0 {
            return Err(invalid("timeout_secs must be at least 1".into()));
        }
        if self.secret_env.trim().is_empty() {
            return Err(invalid(
                "secret_env is empty; set it to the name of the environment variable that holds the hmac secret".into(),
            ));
        }
        let secret = self.read_env(env, &self.secret_env, "webhook's hmac signing secret")?;
        let mut headers = Vec::new();
        let mut seen = BTreeSet::new();
        for (name, value) in &self.headers {
            let name = self.header_name(name, &mut seen).map_err(invalid)?;
            if CREDENTIAL_HEADERS.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "header {name} carries credentials; move it to headers_from_env so its value comes from the environment"
                )));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                invalid(format!(
                    "header {name} has a value that is not valid in http"
                ))
            })?;
            headers.push((name, value));
        }
        for (name, var) in &self.headers_from_env {
            let name = self.header_name(name, &mut seen).map_err(invalid)?;
            let value = self.read_env(env, var, "value of the webhook header")?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                invalid(format!(
                    "the value of {var} (header {name}) is not valid in http"
                ))
            })?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        Ok(WebhookSink::new(
            self.name.clone(),
            self.url.clone(),
            origin,
            secret.into_bytes(),
            headers,
            Duration::from_secs(self.timeout_secs),
        ))
    }

    /// `scheme://authority` of the url, after checking it; warns about plain http.
    fn origin(&self) -> Result<String, String> {
        let uri: Uri = self
            .url
            .parse()
            .map_err(|error| format!("url is not a valid url ({error}); use https://host/path"))?;
        let scheme = uri.scheme_str().unwrap_or_default();
        if scheme != "https" && scheme != "http" {
            return Err("url must start with https:// (or http://)".into());
        }
        let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
            return Err("url has no host; use https://host/path".into());
        };
        if authority.as_str().contains('@') {
            return Err(
                "url contains credentials; remove them and set an Authorization header with headers_from_env".into(),
            );
        }
        let origin = format!("{scheme}://{authority}");
        if scheme == "http" && !is_loopback(host) {
            tracing::warn!(
                output = %self.name,
                %origin,
                "webhook url uses plain http to a non-loopback host, so alerts travel unencrypted; use https"
            );
        }
        Ok(origin)
    }

    fn header_name(&self, name: &str, seen: &mut BTreeSet<String>) -> Result<HeaderName, String> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid http header name"))?;
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(format!("header {header} is set by weft; remove it"));
        }
        if !seen.insert(header.as_str().to_string()) {
            return Err(format!(
                "header {header} is set twice (in headers or headers_from_env); keep one"
            ));
        }
        Ok(header)
    }

    fn read_env(
        &self,
        env: &impl Fn(&str) -> Result<String, VarError>,
        var: &str,
        what: &'static str,
    ) -> Result<String, OutputConfigError> {
        let output = self.name.clone();
        let var_name = var.to_string();
        match env(var) {
            Ok(value) if value.is_empty() => Err(OutputConfigError::EmptyEnv {
                output,
                var: var_name,
                what,
            }),
            Ok(value) => Ok(value),
            Err(VarError::NotPresent) => Err(OutputConfigError::MissingEnv {
                output,
                var: var_name,
                what,
            }),
            Err(VarError::NotUnicode(_)) => Err(OutputConfigError::NonUnicodeEnv {
                output,
                var: var_name,
                what,
            }),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl KafkaOutputConfig {
    fn build(&self) -> Result<KafkaOutput, OutputConfigError> {
        let invalid = |reason: &str| OutputConfigError::Invalid {
            output: self.name.clone(),
            reason: reason.to_string(),
        };
        let brokers: Vec<&str> = self
            .brokers
            .split(',')
            .map(str::trim)
            .filter(|broker| !broker.is_empty())
            .collect();
        if brokers.is_empty() {
            return Err(invalid(
                "brokers is empty; set it to host:port[,host:port...]",
            ));
        }
        if self.topic.trim().is_empty() {
            return Err(invalid("topic is empty; set it to the alerts topic"));
        }
        Ok(KafkaOutput {
            name: self.name.clone(),
            brokers: brokers.join(","),
            topic: self.topic.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_loopback_hosts() {
        for host in ["localhost", "127.0.0.1", "[::1]", "::1", "api.localhost"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn the_default_has_no_outputs() {
        let outputs = OutputConfig::default()
            .build_with_env(|_| Err(VarError::NotPresent))
            .expect("build");
        assert!(outputs.routes.is_empty() && outputs.sinks.is_empty() && outputs.kafka.is_empty());
    }
}
