//! Alerts: what a correlation reports when its condition holds on a window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use super::compile::CompiledCorrelation;
use super::window::Entry;
use crate::sigma::rule::RuleMeta;

/// A correlation alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: a hash of (rule, group key, first contributing event), so a replay or a
    /// restart reports the same alert under the same id.
    pub alert_id: String,
    pub rule_id: Option<String>,
    /// The rule's `name`, or its title when it has none.
    pub rule_name: String,
    pub title: String,
    pub level: Option<String>,
    pub tags: Vec<String>,
    /// The rule's `author`: a rule's licence may ask that what it finds names its author
    /// (SigmaHQ's Detection Rule License does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub correlation_type: String,
    /// Group-by field -> value.
    pub group: BTreeMap<String, String>,
    /// The window the condition was decided on, UTC microseconds (inclusive bounds).
    pub window_start: i64,
    pub window_end: i64,
    /// The contributing events' ids, in event order, up to the configured cap.
    pub event_ids: Vec<String>,
    /// How many events contributed (all of them, also beyond the cap).
    pub event_count: u64,
}

/// The alert id: 128-bit xxh3 of rule, group key and first event, in hex.
pub fn alert_id(rule: &str, group_key: &str, first_event: &str) -> String {
    let mut hasher = Xxh3::new();
    for part in [rule, group_key, first_event] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    format!("{:032x}", hasher.digest128())
}

/// UTC microseconds as RFC 3339 with microseconds (`2026-05-01T12:00:00.000000Z`).
pub fn format_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| micros.to_string())
}

/// Separates the values of a multi-field group key.
pub const GROUP_SEPARATOR: char = '\u{1f}';

/// The alert of a rule that no correlation consumes (or one with `generate: true`): one event,
/// its own window. Its id hashes (rule, "", event id), so a replay reports it once.
pub fn single_event_alert(meta: &RuleMeta, time: i64, event_id: &str) -> Alert {
    Alert {
        alert_id: alert_id(&meta.label(), "", event_id),
        rule_id: meta.id.clone(),
        rule_name: meta.name.clone().unwrap_or_else(|| meta.title.clone()),
        title: meta.title.clone(),
        level: meta.level.map(|level| level.as_str().to_string()),
        tags: meta.tags.clone(),
        author: meta.author.clone(),
        correlation_type: "single".into(),
        group: BTreeMap::new(),
        window_start: time,
        window_end: time,
        event_ids: vec![event_id.to_string()],
        event_count: 1,
    }
}

/// Builds the alert of `correlation` for the window holding `entries`.
pub fn build(
    correlation: &CompiledCorrelation,
    group_key: &str,
    entries: &[&Entry],
    window: (i64, i64),
    max_event_ids: usize,
) -> Alert {
    let meta = &correlation.rule.meta;
    let mut event_ids = Vec::new();
    let mut event_count = 0;
    for entry in entries {
        event_count += entry.evidence.count();
        for id in entry.evidence.ids() {
            if event_ids.len() < max_event_ids {
                event_ids.push(id.to_string());
            }
        }
    }
    let first_event = entries
        .first()
        .and_then(|entry| entry.evidence.ids().first())
        .map_or("", |id| &**id);
    let values: Vec<&str> = if correlation.group_by.is_empty() {
        Vec::new()
    } else {
        group_key.split(GROUP_SEPARATOR).collect()
    };
    let group = correlation
        .group_by
        .iter()
        .zip(values)
        .map(|(field, value)| (field.clone(), value.to_string()))
        .collect();
    Alert {
        alert_id: alert_id(&meta.label(), group_key, first_event),
        rule_id: meta.id.clone(),
        rule_name: meta.name.clone().unwrap_or_else(|| meta.title.clone()),
        title: meta.title.clone(),
        level: meta.level.map(|level| level.as_str().to_string()),
        tags: meta.tags.clone(),
        author: meta.author.clone(),
        correlation_type: correlation.rule.kind.clone(),
        group,
        window_start: window.0,
        window_end: window.1,
        event_ids,
        event_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_stable_and_separate_their_parts() {
        assert_eq!(alert_id("r", "alice", "e1"), alert_id("r", "alice", "e1"));
        assert_ne!(alert_id("r", "alice", "e1"), alert_id("r", "alic", "ee1"));
        assert_eq!(alert_id("r", "g", "e").len(), 32);
    }
}
