//! A SQL rule run's result rows turned into alerts: one alert per row.
//!
//! Columns with a meaning of their own:
//!
//! | column | becomes |
//! | --- | --- |
//! | `first_seen`, `last_seen`, `time` | the alert's window (RFC 3339 or UTC microseconds); the run's window otherwise |
//! | `event_ids` | the evidence event ids (comma-separated, or a JSON array), at most [`MAX_EVENT_IDS`] |
//! | `count`, `event_count` | how many events contributed (the number of event ids otherwise) |
//! | `service` | the alert's services |
//! | entity columns | the alert's entities (the rule's `entities`, else [`DEFAULT_ENTITY_TYPES`]) |
//!
//! Every column but `first_seen`, `last_seen`, `event_ids`, `count` and `event_count` (which
//! grow as late events arrive) is the alert's group. The alert id is a hash of the rule id, the group and
//! the run's slot end, so running the same slot again (late data, a backfill, a retry) gives the
//! same ids, and a re-run that finds more events for a group updates the same alert instead of
//! adding one.

use std::collections::BTreeMap;

use super::sql_rule::SqlRule;
use crate::correlation::Alert;
use crate::correlation::alert::{GROUP_SEPARATOR, alert_id};
use crate::correlation::backtest::TimeRange;
use crate::record::{AlertRecord, AlertSource, DEFAULT_ENTITY_TYPES, Entity};

/// The most event ids an alert keeps; `event_count` still counts them all.
pub const MAX_EVENT_IDS: usize = 1000;

/// The `correlation_type` of SQL rule alerts.
pub const SQL_ALERT_TYPE: &str = "sql";

/// Aggregates that grow when late events arrive: they describe the alert rather than group
/// it, so a re-run that finds more events keeps the alert's id.
const AGGREGATES: [&str; 5] = [
    "first_seen",
    "last_seen",
    "event_ids",
    "count",
    "event_count",
];

/// The alerts of one run of `rule` over `range` (the run's window, as the scheduler passed it),
/// one per row of `rows`.
pub fn alerts_from_rows(
    rule: &SqlRule,
    range: TimeRange,
    rows: &[BTreeMap<String, String>],
) -> Vec<AlertRecord> {
    let slot_end = range
        .to
        .map_or_else(String::new, |to| to.saturating_add(1).to_string());
    let run_start = range.from.or(range.to).unwrap_or_default();
    let run_end = range.to.or(range.from).unwrap_or_default();
    rows.iter()
        .map(|row| {
            let group: BTreeMap<String, String> = row
                .iter()
                .filter(|(column, _)| !AGGREGATES.contains(&column.as_str()))
                .map(|(column, value)| (column.clone(), value.clone()))
                .collect();
            let group_key = group
                .iter()
                .map(|(column, value)| format!("{column}={value}"))
                .collect::<Vec<_>>()
                .join(&GROUP_SEPARATOR.to_string());
            let time = row.get("time").and_then(|text| parse_row_time(text));
            let window_start = row
                .get("first_seen")
                .and_then(|text| parse_row_time(text))
                .or(time)
                .unwrap_or(run_start);
            let window_end = row
                .get("last_seen")
                .and_then(|text| parse_row_time(text))
                .or(time)
                .unwrap_or(run_end)
                .max(window_start);
            let all_ids = row
                .get("event_ids")
                .map(|text| parse_event_ids(text))
                .unwrap_or_default();
            let event_count = ["event_count", "count"]
                .iter()
                .find_map(|column| row.get(*column).and_then(|text| parse_count(text)))
                .unwrap_or(all_ids.len() as u64);
            let mut event_ids = all_ids;
            event_ids.truncate(MAX_EVENT_IDS);
            let entities = entity_columns(rule, row)
                .filter_map(|column| {
                    let value = row.get(column)?.trim();
                    (!value.is_empty()).then(|| Entity::new(column, value))
                })
                .collect();
            let services = row
                .get("service")
                .map(|service| service.trim())
                .filter(|service| !service.is_empty())
                .map(|service| vec![service.to_string()])
                .unwrap_or_default();
            let alert = Alert {
                alert_id: alert_id(&rule.id, &group_key, &slot_end),
                rule_id: Some(rule.id.clone()),
                rule_name: rule
                    .meta
                    .name
                    .clone()
                    .unwrap_or_else(|| rule.meta.title.clone()),
                title: rule.meta.title.clone(),
                level: rule.meta.level.map(|level| level.as_str().to_string()),
                tags: rule.meta.tags.clone(),
                author: rule.meta.author.clone(),
                correlation_type: SQL_ALERT_TYPE.into(),
                group,
                window_start,
                window_end,
                event_ids,
                event_count,
            };
            AlertRecord::new(
                alert,
                entities,
                services,
                AlertSource::Job {
                    job: rule.id.clone(),
                },
            )
        })
        .collect()
}

fn entity_columns<'a>(
    rule: &'a SqlRule,
    row: &'a BTreeMap<String, String>,
) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    match &rule.entities {
        Some(columns) => Box::new(columns.iter().map(String::as_str)),
        None => Box::new(
            DEFAULT_ENTITY_TYPES
                .iter()
                .copied()
                .filter(|column| row.contains_key(*column)),
        ),
    }
}

/// RFC 3339 (with or without a zone, UTC assumed) or integer UTC microseconds.
pub fn parse_row_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(micros) = text.parse::<i64>() {
        return Some(micros);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|time| time.and_utc().timestamp_micros())
}

/// Event ids from a JSON array (`["a","b"]`) or a comma-separated list (`a,b`); empty entries
/// are dropped.
pub fn parse_event_ids(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.starts_with('[')
        && let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(text)
    {
        return values
            .into_iter()
            .filter_map(|value| match value {
                serde_json::Value::String(id) => Some(id),
                serde_json::Value::Number(id) => Some(id.to_string()),
                _ => None,
            })
            .filter(|id| !id.is_empty())
            .collect();
    }
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_count(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(count) = text.parse::<u64>() {
        return Some(count);
    }
    let value = text.parse::<f64>().ok()?;
    (value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < u64::MAX as f64)
        .then_some(value as u64)
}
