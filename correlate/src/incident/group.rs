//! Grouping: how a new alert finds its incident, inside [`record`](super::IncidentStore::record)'s
//! transaction.
//!
//! An alert joins the incidents that share one of its *joining* entities (a configured type,
//! not a placeholder, not ignored, not ubiquitous) and whose span of alerts lies within the
//! lookback of the alert's time (event time, so replays group as streaming did). Open and
//! acknowledged incidents keep their status; a closed incident that an alert joins is
//! reopened (the activity it was closed for goes on). Merged incidents never take alerts.
//! When an alert joins several incidents, they are merged into the oldest. Without a match it
//! starts a new incident whose id derives from the alert's id.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, params};
use xxhash_rust::xxh3::xxh3_64;

use crate::record::{AlertRecord, Entity};

use super::attack;
use super::config::IncidentPolicy;
use super::error::IncidentError;
use super::model::{Activity, IncidentStatus, Severity, WEFT_ACTOR};

/// The grouping state of one `record` call: the transaction, the policy, processing time.
pub(crate) struct Grouper<'a> {
    pub transaction: &'a Connection,
    pub policy: &'a IncidentPolicy,
    pub now: i64,
}

/// An incident's aggregates as the grouper maintains them.
pub(super) struct Header {
    pub(super) id: String,
    pub(super) status: IncidentStatus,
    pub(super) assignee: Option<String>,
    pub(super) alert_title: String,
    pub(super) title_alert: String,
    pub(super) title_alert_end: i64,
    pub(super) title_severity: i64,
    pub(super) base_severity: i64,
    pub(super) tactics: Vec<String>,
    pub(super) techniques: Vec<String>,
    pub(super) first_seen: i64,
    pub(super) last_seen: i64,
    pub(super) alert_count: i64,
}

/// The key an alert's rule is counted under: its id, else its name.
pub(crate) fn rule_key(record: &AlertRecord) -> &str {
    record
        .alert
        .rule_id
        .as_deref()
        .unwrap_or(&record.alert.rule_name)
}

/// `INC-` and 12 hex digits: the alert id's own when it starts with them (so an incident names
/// its first alert), else a hash of it.
pub fn incident_id(first_alert_id: &str) -> String {
    let prefix = first_alert_id
        .get(..12)
        .filter(|prefix| prefix.bytes().all(|byte| byte.is_ascii_hexdigit()));
    match prefix {
        Some(prefix) => format!("INC-{}", prefix.to_ascii_lowercase()),
        None => format!("INC-{:012x}", xxh3_64(first_alert_id.as_bytes()) >> 16),
    }
}

impl Grouper<'_> {
    /// Whether the alert id is stored, as an alert or as a suppressed one.
    pub fn is_known(&self, alert_id: &str) -> Result<bool, IncidentError> {
        let known = self
            .transaction
            .prepare_cached(
                "SELECT 1 FROM alert WHERE alert_id = ?1
                 UNION ALL SELECT 1 FROM alert_suppressed WHERE alert_id = ?1 LIMIT 1",
            )?
            .query_row([alert_id], |_| Ok(()))
            .optional()?;
        Ok(known.is_some())
    }

    /// Stores a new alert with everything it carries.
    pub fn insert_alert(&self, record: &AlertRecord) -> Result<(), IncidentError> {
        let alert = &record.alert;
        let severity = Severity::from_level(alert.level.as_deref());
        self.transaction
            .prepare_cached(
                "INSERT INTO alert (alert_id, rule_id, rule_name, rule_key, title, level, severity,
                 tags, correlation_type, group_values, window_start, window_end, event_ids,
                 event_count, entities, services, source, stored_at, rule_author)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                 ?17, ?18, ?19)",
            )?
            .execute(params![
                alert.alert_id,
                alert.rule_id,
                alert.rule_name,
                rule_key(record),
                alert.title,
                alert.level,
                severity.rank(),
                serde_json::to_string(&alert.tags)?,
                alert.correlation_type,
                serde_json::to_string(&alert.group)?,
                alert.window_start,
                alert.window_end,
                serde_json::to_string(&alert.event_ids)?,
                i64::try_from(alert.event_count).unwrap_or(i64::MAX),
                serde_json::to_string(&record.entities)?,
                serde_json::to_string(&record.services)?,
                serde_json::to_string(&record.source)?,
                self.now,
                alert.author,
            ])?;
        let mut entity = self.transaction.prepare_cached(
            "INSERT OR IGNORE INTO alert_entity (alert_id, kind, value, window_end)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for Entity { kind, value } in &record.entities {
            entity.execute(params![alert.alert_id, kind, value, alert.window_end])?;
        }
        let mut service = self.transaction.prepare_cached(
            "INSERT OR IGNORE INTO alert_service (alert_id, service) VALUES (?1, ?2)",
        )?;
        for name in &record.services {
            service.execute(params![alert.alert_id, name])?;
        }
        Ok(())
    }

    /// The stored alert's entities that join incidents: configured, not placeholders, not
    /// ignored, and not seen in more than `max_alerts_per_entity` alerts in the lookback.
    pub fn joining_entities<'r>(
        &self,
        record: &'r AlertRecord,
    ) -> Result<Vec<&'r Entity>, IncidentError> {
        let time = record.alert.window_end;
        let mut joining = Vec::new();
        let mut count = self.transaction.prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM alert_entity
             WHERE kind = ?1 AND value = ?2 AND window_end BETWEEN ?3 AND ?4 LIMIT ?5)",
        )?;
        for entity in &record.entities {
            if !self.policy.may_join(&entity.kind, &entity.value) {
                continue;
            }
            if let Some(max) = self.policy.max_alerts_per_entity {
                let seen: i64 = count.query_row(
                    params![
                        entity.kind,
                        entity.value,
                        time.saturating_sub(self.policy.lookback_micros),
                        time,
                        i64::from(max) + 1
                    ],
                    |row| row.get(0),
                )?;
                if seen > i64::from(max) {
                    continue;
                }
            }
            joining.push(entity);
        }
        Ok(joining)
    }

    /// Incidents (not merged) that carry one of `entities` and whose alerts lie within the
    /// lookback of `time`, oldest first.
    pub fn candidates(
        &self,
        entities: &[&Entity],
        time: i64,
    ) -> Result<Vec<String>, IncidentError> {
        let lookback = self.policy.lookback_micros;
        let mut found: BTreeMap<i64, String> = BTreeMap::new();
        let mut query = self.transaction.prepare_cached(
            "SELECT i.seq, i.id FROM incident_entity e JOIN incident i ON i.id = e.incident_id
             WHERE e.kind = ?1 AND e.value = ?2 AND i.status != 'merged'
             AND i.last_seen >= ?3 AND i.first_seen <= ?4",
        )?;
        for entity in entities {
            let rows = query.query_map(
                params![
                    entity.kind,
                    entity.value,
                    time.saturating_sub(lookback),
                    time.saturating_add(lookback)
                ],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )?;
            for row in rows {
                let (seq, id) = row?;
                found.insert(seq, id);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Creates an empty incident named after `record`'s alert and returns its id.
    pub fn create(&self, record: &AlertRecord) -> Result<String, IncidentError> {
        let base = incident_id(&record.alert.alert_id);
        let mut id = base.clone();
        let mut attempt = 1;
        while self
            .transaction
            .prepare_cached("SELECT 1 FROM incident WHERE id = ?1")?
            .query_row([&id], |_| Ok(()))
            .optional()?
            .is_some()
        {
            attempt += 1;
            id = format!("{base}-{attempt}");
        }
        self.transaction
            .prepare_cached(
                "INSERT INTO incident (id, title, alert_title, title_alert, title_alert_end,
                 title_severity, base_severity, severity, status, tactics, techniques, first_seen,
                 last_seen, created, updated, alert_count, rule_count)
                 VALUES (?1, '', '', '', 0, -1, 0, 0, 'open', '[]', '[]', ?2, ?3, ?4, ?4, 0, 0)",
            )?
            .execute(params![id, i64::MAX, i64::MIN, self.now])?;
        self.history(
            &id,
            Activity::Created,
            None,
            Some("open"),
            Some(&format!("first alert {}", record.alert.alert_id)),
        )?;
        Ok(id)
    }

    /// Adds a stored alert to an incident; returns whether that reopened it.
    pub fn join(&self, id: &str, record: &AlertRecord) -> Result<bool, IncidentError> {
        let alert = &record.alert;
        self.transaction
            .prepare_cached("UPDATE alert SET incident_id = ?2 WHERE alert_id = ?1")?
            .execute(params![alert.alert_id, id])?;
        let mut entity = self.transaction.prepare_cached(
            "INSERT INTO incident_entity (incident_id, kind, value, alert_count)
             VALUES (?1, ?2, ?3, 1)
             ON CONFLICT DO UPDATE SET alert_count = alert_count + 1",
        )?;
        // A record built by hand may repeat an entity; count each once, as `rebuild` does.
        let entities: BTreeSet<&Entity> = record.entities.iter().collect();
        for Entity { kind, value } in entities {
            entity.execute(params![id, kind, value])?;
        }
        let mut service = self.transaction.prepare_cached(
            "INSERT INTO incident_service (incident_id, service, alert_count) VALUES (?1, ?2, 1)
             ON CONFLICT DO UPDATE SET alert_count = alert_count + 1",
        )?;
        let services: BTreeSet<&String> = record.services.iter().collect();
        for name in services {
            service.execute(params![id, name])?;
        }
        self.transaction
            .prepare_cached(
                "INSERT OR IGNORE INTO incident_rule (incident_id, rule_key) VALUES (?1, ?2)",
            )?
            .execute(params![id, rule_key(record)])?;

        let mut header = self.header(id)?;
        header.alert_count += 1;
        let severity = Severity::from_level(alert.level.as_deref()).rank();
        fold_alert(
            &mut header,
            severity,
            &alert.title,
            &alert.alert_id,
            alert.window_start,
            alert.window_end,
            &alert.tags,
        );
        let reopened = header.status == IncidentStatus::Closed;
        if reopened {
            header.status = IncidentStatus::Open;
            self.history(
                id,
                Activity::Status,
                Some("closed"),
                Some("open"),
                Some(&format!("reopened by new alert {}", alert.alert_id)),
            )?;
        }
        self.save(&header)?;
        Ok(reopened)
    }

    pub(super) fn header(&self, id: &str) -> Result<Header, IncidentError> {
        let row = self
            .transaction
            .prepare_cached(
                "SELECT status, assignee, alert_title, title_alert, title_alert_end,
                 title_severity, base_severity, tactics, techniques, first_seen, last_seen,
                 alert_count FROM incident WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, String>(8)?,
                    row.get(9)?,
                    row.get(10)?,
                    row.get(11)?,
                ))
            })?;
        let status = row
            .0
            .parse()
            .map_err(
                |error: super::model::UnknownStatus| crate::db::DbError::Corrupt {
                    what: format!("status of incident {id}"),
                    reason: error.to_string(),
                },
            )?;
        Ok(Header {
            id: id.to_string(),
            status,
            assignee: row.1,
            alert_title: row.2,
            title_alert: row.3,
            title_alert_end: row.4,
            title_severity: row.5,
            base_severity: row.6,
            tactics: serde_json::from_str(&row.7)?,
            techniques: serde_json::from_str(&row.8)?,
            first_seen: row.9,
            last_seen: row.10,
            alert_count: row.11,
        })
    }

    pub(super) fn save(&self, header: &Header) -> Result<(), IncidentError> {
        let rule_count: i64 = self
            .transaction
            .prepare_cached("SELECT count(*) FROM incident_rule WHERE incident_id = ?1")?
            .query_row([&header.id], |row| row.get(0))?;
        let base = Severity::from_rank(header.base_severity);
        let raise = self
            .policy
            .risk_raise_rules
            .is_some_and(|rules| rule_count >= i64::from(rules));
        let severity = if raise { base.raised() } else { base };
        let title = match self.main_entity(&header.id)? {
            Some(entity) => format!("{} ({} {})", header.alert_title, entity.kind, entity.value),
            None => header.alert_title.clone(),
        };
        self.transaction
            .prepare_cached(
                "UPDATE incident SET title = ?2, alert_title = ?3, title_alert = ?4,
                 title_alert_end = ?5, title_severity = ?6, base_severity = ?7, severity = ?8,
                 status = ?9, assignee = ?10, tactics = ?11, techniques = ?12, first_seen = ?13,
                 last_seen = ?14, updated = ?15, alert_count = ?16, rule_count = ?17
                 WHERE id = ?1",
            )?
            .execute(params![
                header.id,
                title,
                header.alert_title,
                header.title_alert,
                header.title_alert_end,
                header.title_severity,
                header.base_severity,
                severity.rank(),
                header.status.as_str(),
                header.assignee,
                serde_json::to_string(&header.tactics)?,
                serde_json::to_string(&header.techniques)?,
                header.first_seen,
                header.last_seen,
                self.now,
                header.alert_count,
                rule_count,
            ])?;
        Ok(())
    }

    /// The entity an incident is named after: the joining-type entity on most of its alerts,
    /// earlier configured types first, then by value.
    fn main_entity(&self, id: &str) -> Result<Option<Entity>, IncidentError> {
        let mut statement = self.transaction.prepare_cached(
            "SELECT kind, value, alert_count FROM incident_entity WHERE incident_id = ?1
             ORDER BY alert_count DESC",
        )?;
        let mut rows = statement.query([id])?;
        let mut best: Option<(i64, usize, Entity)> = None;
        while let Some(row) = rows.next()? {
            let (kind, value, count): (String, String, i64) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            if best
                .as_ref()
                .is_some_and(|(best_count, ..)| count < *best_count)
            {
                break;
            }
            if !self.policy.may_join(&kind, &value) {
                continue;
            }
            let rank = self.policy.type_rank(&kind);
            let better = best.as_ref().is_none_or(|(_, best_rank, entity)| {
                (rank, value.as_str()) < (*best_rank, entity.value.as_str())
            });
            if better {
                best = Some((count, rank, Entity::new(kind, value)));
            }
        }
        Ok(best.map(|(_, _, entity)| entity))
    }

    /// Appends a row to an incident's activity history.
    pub fn history(
        &self,
        id: &str,
        activity: Activity,
        from: Option<&str>,
        to: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), IncidentError> {
        insert_history(
            self.transaction,
            id,
            self.now,
            WEFT_ACTOR,
            activity,
            from,
            to,
            note,
        )
    }
}

/// Appends a row to an incident's activity history.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_history(
    connection: &Connection,
    id: &str,
    time: i64,
    actor: &str,
    activity: Activity,
    from: Option<&str>,
    to: Option<&str>,
    note: Option<&str>,
) -> Result<(), IncidentError> {
    connection
        .prepare_cached(
            "INSERT INTO incident_history (incident_id, time, actor, activity, from_value,
             to_value, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, time, actor, activity.as_str(), from, to, note])?;
    Ok(())
}

/// Folds one alert into an incident's aggregates. The title follows the most severe alert,
/// the earliest (window end, id) among equals, whatever order alerts arrive in.
pub(super) fn fold_alert(
    header: &mut Header,
    severity: i64,
    title: &str,
    alert_id: &str,
    window_start: i64,
    window_end: i64,
    tags: &[String],
) {
    let earlier = (window_end, alert_id) < (header.title_alert_end, header.title_alert.as_str());
    if severity > header.title_severity || (severity == header.title_severity && earlier) {
        header.title_severity = severity;
        header.alert_title = title.to_string();
        header.title_alert = alert_id.to_string();
        header.title_alert_end = window_end;
    }
    header.base_severity = header.base_severity.max(severity);
    header.first_seen = header.first_seen.min(window_start);
    header.last_seen = header.last_seen.max(window_end);
    attack::merge_tactics(&mut header.tactics, tags);
    attack::merge_techniques(&mut header.techniques, tags);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_ids_name_their_first_alert() {
        assert_eq!(
            incident_id("3FA2B4C5D6E7F8091a2b3c4d5e6f7081"),
            "INC-3fa2b4c5d6e7"
        );
        let hashed = incident_id("job:nightly:42");
        assert_eq!(hashed.len(), 16);
        assert_eq!(hashed, incident_id("job:nightly:42"));
        assert_ne!(hashed, incident_id("job:nightly:43"));
        assert_eq!(incident_id("abc").len(), 16, "short ids are hashed");
    }
}
