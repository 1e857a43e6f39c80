//! How weft groups alerts into incidents, as configured in `weft.toml` under
//! `[detect.incidents]`: which entities join alerts, for how long, which values never join,
//! when an incident's severity is raised, and which rules' repeated alerts are suppressed.
//!
//! ```toml
//! [detect.incidents]
//! entity_types = ["user", "src_ip", "host", "session_id", "trace_id"]
//! lookback = "24h"
//! max_alerts_per_entity = 50
//! risk_raise_rules = 3
//!
//! [detect.incidents.ignore]
//! user = ["root", "system"]
//! src_ip = ["10.0.0.1"]
//!
//! [[detect.incidents.suppress]]
//! rule = "brute_force_login"
//! group_by = ["user", "src_ip"]
//! window = "1h"
//! ```
//!
//! [`IncidentConfig::build`] validates everything once and yields the runtime [`IncidentPolicy`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::DEFAULT_ENTITY_TYPES;

/// Values that never join alerts into one incident, whatever their entity type: placeholders
/// that loggers write when they do not know, and loopback addresses. Compared ignoring ASCII
/// case and surrounding whitespace.
pub const NEVER_JOINING_VALUES: &[&str] = &[
    "",
    "-",
    "unknown",
    "none",
    "null",
    "nil",
    "n/a",
    "undefined",
    "localhost",
    "127.0.0.1",
    "::1",
    "0.0.0.0",
    "::",
];

/// Incident grouping and alert suppression, `[detect.incidents]` in `weft.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// Entity types (event columns or `attrs` keys) whose shared values join alerts into one
    /// incident. Defaults to `user`, `src_ip`, `host`, `session_id` and `trace_id`. Alerts keep
    /// all their entities; only these types join.
    pub entity_types: Vec<String>,
    /// How long after an incident's last alert (in event time) a new alert sharing one of its
    /// entities still joins it, as a duration such as `"30m"`, `"24h"` or `"7d"`. Default `24h`.
    pub lookback: HumanDuration,
    /// Ubiquity guard: an entity value seen in more than this many alerts within the lookback
    /// before an alert no longer joins alerts (a NAT address or `root` must not merge
    /// everything into one incident). Incidents already joined stay joined. `0` turns the guard
    /// off. Default 50.
    pub max_alerts_per_entity: u32,
    /// Entity values that never join alerts, per entity type (`user = ["root"]`), compared
    /// ignoring ASCII case. Placeholders such as `-`, `unknown` and loopback addresses never
    /// join anyway (see [`NEVER_JOINING_VALUES`]).
    pub ignore: BTreeMap<String, Vec<String>>,
    /// An incident whose alerts come from at least this many distinct rules is raised one
    /// severity level (capped at critical): several detections agreeing is more than any one
    /// of them. `0` turns raising off. Default 3.
    pub risk_raise_rules: u32,
    /// Per-rule alert suppression: repeated alerts of a rule for the same values within a
    /// window count on the first alert instead of being new alerts.
    pub suppress: Vec<SuppressConfig>,
}

impl Default for IncidentConfig {
    fn default() -> IncidentConfig {
        IncidentConfig {
            entity_types: DEFAULT_ENTITY_TYPES
                .iter()
                .map(|kind| kind.to_string())
                .collect(),
            lookback: HumanDuration(Duration::from_secs(24 * 3600)),
            max_alerts_per_entity: 50,
            ignore: BTreeMap::new(),
            risk_raise_rules: 3,
            suppress: Vec::new(),
        }
    }
}

/// One suppression rule, `[[detect.incidents.suppress]]`: within `window` after the first alert
/// of `rule` for some `group_by` values, further alerts of that rule with the same values are
/// not new alerts; they increment the first alert's `suppressed_count` and update its last
/// suppressed time. An alert that lacks one of the `group_by` values is never suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressConfig {
    /// The rule's id, or its name (`name`, or title when it has none).
    pub rule: String,
    /// Fields whose values must be equal: read from the alert's group-by values, else from the
    /// alert's entities of that type (several values count as one sorted set). Empty means one
    /// alert per window for the whole rule.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// How long after the first alert (in event time) repeats are suppressed, e.g. `"1h"`.
    pub window: HumanDuration,
}

pub use crate::duration::HumanDuration;

/// An incident configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "invalid duration {text:?}: {reason} (write it like \"30s\", \"15m\", \"24h\" or \"7d\")"
    )]
    Duration { text: String, reason: String },
    #[error("incidents: {field} must be longer than zero; set a duration such as \"1h\"")]
    ZeroDuration { field: String },
    #[error("incidents: entity_types is empty; list at least one entity type, e.g. \"user\"")]
    NoEntityTypes,
    #[error("incidents: {field} holds an empty entity type; remove it or name an event column")]
    EmptyEntityType { field: String },
    #[error("incidents: suppress entry {index} has an empty rule; set the rule's id or name")]
    EmptySuppressRule { index: usize },
    #[error("incidents: rule {rule:?} is suppressed twice with the same group_by; keep one entry")]
    DuplicateSuppress { rule: String },
}

/// Parses a human duration (see [`crate::duration`]), e.g. `"90s"`, `"24h"`, `"1h30m"`.
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    crate::duration::parse_duration(text).map_err(|error| ConfigError::Duration {
        text: error.text,
        reason: error.reason,
    })
}

/// The validated, runtime form of an [`IncidentConfig`].
#[derive(Debug, Clone)]
pub struct IncidentPolicy {
    /// Joining entity types, in configured order (earlier types name incidents first).
    pub entity_types: Vec<String>,
    pub lookback_micros: i64,
    /// `None` when the guard is off.
    pub max_alerts_per_entity: Option<u32>,
    /// Lowercased ignored values per type.
    pub ignore: BTreeMap<String, BTreeSet<String>>,
    /// `None` when raising is off.
    pub risk_raise_rules: Option<u32>,
    pub suppress: Vec<SuppressPolicy>,
}

/// A validated suppression rule.
#[derive(Debug, Clone)]
pub struct SuppressPolicy {
    pub rule: String,
    pub group_by: Vec<String>,
    pub window_micros: i64,
    /// Identifies this rule's windows in the store: rule and group-by fields.
    pub key: String,
}

impl IncidentConfig {
    /// Validates the configuration once; the result never re-validates.
    pub fn build(&self) -> Result<IncidentPolicy, ConfigError> {
        if self.entity_types.is_empty() {
            return Err(ConfigError::NoEntityTypes);
        }
        if self.entity_types.iter().any(|kind| kind.trim().is_empty()) {
            return Err(ConfigError::EmptyEntityType {
                field: "entity_types".into(),
            });
        }
        if self.lookback.0.is_zero() {
            return Err(ConfigError::ZeroDuration {
                field: "lookback".into(),
            });
        }
        let mut ignore: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (kind, values) in &self.ignore {
            if kind.trim().is_empty() {
                return Err(ConfigError::EmptyEntityType {
                    field: "ignore".into(),
                });
            }
            ignore
                .entry(kind.trim().to_string())
                .or_default()
                .extend(values.iter().map(|value| normalize_value(value)));
        }
        let mut suppress = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, entry) in self.suppress.iter().enumerate() {
            let rule = entry.rule.trim();
            if rule.is_empty() {
                return Err(ConfigError::EmptySuppressRule { index });
            }
            if entry.window.0.is_zero() {
                return Err(ConfigError::ZeroDuration {
                    field: format!("suppress window of rule {rule:?}"),
                });
            }
            if entry.group_by.iter().any(|field| field.trim().is_empty()) {
                return Err(ConfigError::EmptyEntityType {
                    field: format!("suppress group_by of rule {rule:?}"),
                });
            }
            let group_by: Vec<String> = entry
                .group_by
                .iter()
                .map(|field| field.trim().to_string())
                .collect();
            let mut key = rule.to_string();
            for field in &group_by {
                key.push('\u{1f}');
                key.push_str(field);
            }
            if !seen.insert(key.clone()) {
                return Err(ConfigError::DuplicateSuppress { rule: rule.into() });
            }
            suppress.push(SuppressPolicy {
                rule: rule.to_string(),
                group_by,
                window_micros: entry.window.as_micros(),
                key,
            });
        }
        Ok(IncidentPolicy {
            entity_types: self
                .entity_types
                .iter()
                .map(|kind| kind.trim().to_string())
                .collect(),
            lookback_micros: self.lookback.as_micros(),
            max_alerts_per_entity: (self.max_alerts_per_entity > 0)
                .then_some(self.max_alerts_per_entity),
            ignore,
            risk_raise_rules: (self.risk_raise_rules > 0).then_some(self.risk_raise_rules),
            suppress,
        })
    }
}

/// How entity values are compared against the never-joining and ignore lists.
fn normalize_value(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

impl IncidentPolicy {
    /// Whether an entity of `kind` with `value` may join alerts, before the ubiquity guard: its
    /// type is configured, and its value is neither a placeholder nor ignored.
    pub fn may_join(&self, kind: &str, value: &str) -> bool {
        if !self.entity_types.iter().any(|joining| joining == kind) {
            return false;
        }
        let normalized = normalize_value(value);
        if NEVER_JOINING_VALUES.contains(&normalized.as_str()) {
            return false;
        }
        self.ignore
            .get(kind)
            .is_none_or(|ignored| !ignored.contains(&normalized))
    }

    /// The rank of an entity type in `entity_types` (unconfigured types last).
    pub fn type_rank(&self, kind: &str) -> usize {
        self.entity_types
            .iter()
            .position(|joining| joining == kind)
            .unwrap_or(self.entity_types.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_config(text: &str) -> Result<IncidentConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn parses_human_durations() {
        let cases = [
            ("30s", 30),
            ("30m", 1800),
            ("24h", 86_400),
            ("7d", 604_800),
            ("1w", 604_800),
            ("1h30m", 5400),
            (" 2h 15m ", 8100),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text).expect(text),
                Duration::from_secs(seconds)
            );
        }
        assert_eq!(
            parse_duration("250ms").expect("ms"),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn bad_durations_say_what_to_write() {
        for text in ["", "24", "5x", "h", "100000w"] {
            let error = parse_duration(text).expect_err(text).to_string();
            assert!(error.contains("\"24h\""), "{text}: {error}");
        }
    }

    #[test]
    fn durations_display_and_read_back() {
        for text in ["90s", "30m", "36h", "1d", "2w", "250ms", "0s", "1h30m"] {
            let duration: HumanDuration = text.parse().expect(text);
            assert_eq!(duration.to_string().parse::<HumanDuration>(), Ok(duration));
        }
    }

    #[test]
    fn defaults_apply_to_an_empty_table() {
        let config = parse_config("").expect("empty");
        assert_eq!(config, IncidentConfig::default());
        assert_eq!(config.entity_types, DEFAULT_ENTITY_TYPES);
        assert_eq!(config.lookback.0, Duration::from_secs(86_400));
        config.build().expect("defaults are valid");
    }

    #[test]
    fn parses_a_full_table() {
        let config = parse_config(
            r#"
            entity_types = ["user", "src_ip"]
            lookback = "12h"
            max_alerts_per_entity = 10
            risk_raise_rules = 2
            ignore = { user = ["root", "SYSTEM"] }
            [[suppress]]
            rule = "brute_force"
            group_by = ["user"]
            window = "1h"
            "#,
        )
        .expect("parse");
        let policy = config.build().expect("valid");
        assert_eq!(policy.lookback_micros, 12 * 3_600_000_000);
        assert_eq!(policy.max_alerts_per_entity, Some(10));
        assert_eq!(policy.suppress[0].window_micros, 3_600_000_000);
        assert!(!policy.may_join("user", "system"));
        assert!(!policy.may_join("user", " Root "));
        assert!(policy.may_join("user", "alice"));
        assert!(!policy.may_join("host", "web-1"), "host is not configured");
    }

    #[test]
    fn rejects_unknown_fields_and_bad_durations_in_toml() {
        let error = parse_config("lookbak = \"1h\"")
            .expect_err("typo")
            .to_string();
        assert!(error.contains("lookbak"), "{error}");
        let error = parse_config("lookback = \"24\"")
            .expect_err("no unit")
            .to_string();
        assert!(error.contains("unit"), "{error}");
        let error = parse_config("[[suppress]]\nrule = \"r\"\nwindow = \"1h\"\nfoo = 1")
            .expect_err("unknown")
            .to_string();
        assert!(error.contains("foo"), "{error}");
    }

    #[test]
    fn build_rejects_unworkable_settings() {
        let mut config = IncidentConfig {
            lookback: HumanDuration(Duration::ZERO),
            ..IncidentConfig::default()
        };
        assert!(matches!(
            config.build(),
            Err(ConfigError::ZeroDuration { .. })
        ));
        config.lookback = HumanDuration(Duration::from_secs(60));
        config.entity_types.clear();
        assert_eq!(
            config.build().expect_err("none"),
            ConfigError::NoEntityTypes
        );
        config.entity_types = vec!["user".into()];
        let entry = SuppressConfig {
            rule: "r".into(),
            group_by: vec!["user".into()],
            window: HumanDuration(Duration::from_secs(60)),
        };
        config.suppress = vec![entry.clone(), entry];
        assert!(matches!(
            config.build(),
            Err(ConfigError::DuplicateSuppress { .. })
        ));
    }

    #[test]
    fn placeholders_and_loopback_never_join() {
        let policy = IncidentConfig::default().build().expect("valid");
        for value in ["", "-", "Unknown", "127.0.0.1", "::1", "N/A"] {
            assert!(!policy.may_join("src_ip", value), "{value:?}");
        }
        assert!(policy.may_join("src_ip", "203.0.113.7"));
    }
}
