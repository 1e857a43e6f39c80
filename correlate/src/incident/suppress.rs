//! Alert suppression, as Elastic's `alert_suppression`: within a window after the first alert of
//! a rule for some group-by values, further alerts of that rule with the same values are not new
//! alerts. They add one to the first alert's `suppressed_count` and move its last suppressed
//! time; their ids are kept so that a replay counts nothing twice.
//!
//! Windows are in event time (the alerts' window ends), so a replay suppresses exactly what
//! streaming suppressed. An alert later than the current window's start is judged against that
//! window; an alert before it is a new alert that leaves the window alone.

use rusqlite::{Connection, OptionalExtension, params};

use crate::record::AlertRecord;

use super::config::SuppressPolicy;

/// Separates values inside a group key.
const SEPARATOR: char = '\u{1f}';

/// Whether `policy` applies to the alert's rule (by rule id or rule name).
fn applies(policy: &SuppressPolicy, record: &AlertRecord) -> bool {
    record.alert.rule_id.as_deref() == Some(policy.rule.as_str())
        || record.alert.rule_name == policy.rule
}

/// The alert's values for the policy's `group_by` fields, joined; `None` when one is missing.
/// A value comes from the alert's group, else from its entities of that type (several values
/// count as their sorted set).
pub(crate) fn group_key(policy: &SuppressPolicy, record: &AlertRecord) -> Option<String> {
    let mut key = String::new();
    for (index, field) in policy.group_by.iter().enumerate() {
        if index > 0 {
            key.push(SEPARATOR);
        }
        if let Some(value) = record.alert.group.get(field) {
            key.push_str(value);
            continue;
        }
        let mut values: Vec<&str> = record
            .entities
            .iter()
            .filter(|entity| &entity.kind == field)
            .map(|entity| entity.value.as_str())
            .collect();
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        values.dedup();
        key.push_str(&values.join(","));
    }
    Some(key)
}

/// Decides whether a new (not yet stored) alert is suppressed. When it is, counts it on the
/// first alert of its window and returns that alert's id; when it opens a new window, records
/// the window. Runs inside the caller's transaction.
pub(crate) fn suppress(
    transaction: &Connection,
    policies: &[SuppressPolicy],
    record: &AlertRecord,
    now_micros: i64,
) -> Result<Option<String>, rusqlite::Error> {
    let time = record.alert.window_end;
    let Some((policy, key)) = policies
        .iter()
        .filter(|policy| applies(policy, record))
        .find_map(|policy| Some((policy, group_key(policy, record)?)))
    else {
        return Ok(None);
    };
    let window: Option<(String, i64, i64)> = transaction
        .prepare_cached(
            "SELECT alert_id, starts, ends FROM alert_suppression_window
             WHERE rule_key = ?1 AND group_key = ?2",
        )?
        .query_row(params![policy.key, key], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    if let Some((first_alert, starts, ends)) = &window {
        if (*starts..*ends).contains(&time) {
            transaction
                .prepare_cached(
                    "INSERT INTO alert_suppressed (alert_id, suppressed_into, window_end, stored_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![record.alert.alert_id, first_alert, time, now_micros])?;
            transaction
                .prepare_cached(
                    "UPDATE alert SET suppressed_count = suppressed_count + 1,
                     last_suppressed = max(coalesce(last_suppressed, ?2), ?2)
                     WHERE alert_id = ?1",
                )?
                .execute(params![first_alert, time])?;
            return Ok(Some(first_alert.clone()));
        }
        if time < *starts {
            return Ok(None);
        }
    }
    transaction
        .prepare_cached(
            "INSERT INTO alert_suppression_window (rule_key, group_key, alert_id, starts, ends)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (rule_key, group_key) DO UPDATE SET
             alert_id = excluded.alert_id, starts = excluded.starts, ends = excluded.ends",
        )?
        .execute(params![
            policy.key,
            key,
            record.alert.alert_id,
            time,
            time.saturating_add(policy.window_micros)
        ])?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::correlation::Alert;
    use crate::record::{AlertSource, Entity};

    fn policy(group_by: &[&str]) -> SuppressPolicy {
        SuppressPolicy {
            rule: "brute".into(),
            group_by: group_by.iter().map(|field| field.to_string()).collect(),
            window_micros: 1000,
            key: "brute".into(),
        }
    }

    fn record(group: &[(&str, &str)], entities: &[(&str, &str)]) -> AlertRecord {
        let alert = Alert {
            alert_id: "a1".into(),
            rule_id: Some("rule-uuid".into()),
            rule_name: "brute".into(),
            title: "Brute force".into(),
            level: None,
            tags: Vec::new(),
            author: None,
            correlation_type: "event_count".into(),
            group: group
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect::<BTreeMap<_, _>>(),
            window_start: 0,
            window_end: 0,
            event_ids: Vec::new(),
            event_count: 1,
        };
        let entities = entities
            .iter()
            .map(|(kind, value)| Entity::new(*kind, *value))
            .collect();
        AlertRecord::new(alert, entities, Vec::new(), AlertSource::Stream)
    }

    #[test]
    fn group_values_come_from_the_group_then_the_entities() {
        let policy = policy(&["user", "src_ip"]);
        let with_group = record(
            &[("user", "alice")],
            &[("user", "bob"), ("src_ip", "b"), ("src_ip", "a")],
        );
        assert_eq!(
            group_key(&policy, &with_group).as_deref(),
            Some("alice\u{1f}a,b")
        );
        let missing = record(&[("user", "alice")], &[]);
        assert_eq!(group_key(&policy, &missing), None);
    }

    #[test]
    fn applies_by_rule_id_or_name() {
        let alert = record(&[], &[]);
        assert!(applies(&policy(&[]), &alert));
        let by_id = SuppressPolicy {
            rule: "rule-uuid".into(),
            ..policy(&[])
        };
        assert!(applies(&by_id, &alert));
        let other = SuppressPolicy {
            rule: "other".into(),
            ..policy(&[])
        };
        assert!(!applies(&other, &alert));
    }
}
