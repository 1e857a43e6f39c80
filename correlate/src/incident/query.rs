//! The read side of the incident store, for the CLI and the API: incidents listed with filters
//! and a deterministic order, one incident in full, and stored alerts.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::correlation::Alert;
use crate::db::DbError;
use crate::record::Entity;

use super::error::IncidentError;
use super::model::{
    Activity, Comment, EntityCount, HistoryEntry, IncidentDetail, IncidentStatus, IncidentSummary,
    Severity, StoredAlert,
};
use super::store::IncidentStore;

/// What to sort incidents by. Ties break by creation order, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSort {
    /// Severity, then the latest activity.
    #[default]
    Severity,
    /// Event time of the latest alert.
    LastSeen,
    /// When weft created the incident.
    Created,
}

/// Which incidents to list. The default lists every incident but merged ones, most severe
/// first, without a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentFilter {
    /// Only these statuses; empty means every status but `merged`.
    pub statuses: Vec<IncidentStatus>,
    /// Only incidents at least this severe.
    pub min_severity: Option<Severity>,
    /// Only incidents assigned to this analyst.
    pub assignee: Option<String>,
    /// Only incidents carrying this entity.
    pub entity: Option<Entity>,
    /// Only incidents with alerts from this service.
    pub service: Option<String>,
    /// Only incidents whose title contains this text, ignoring ASCII case.
    pub text: Option<String>,
    pub sort: IncidentSort,
    /// Oldest (or least severe) first instead of newest first.
    pub ascending: bool,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// How many incidents match a filter, per status and per severity (names as the API writes
/// them; a status or severity without incidents is absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IncidentCounts {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
}

impl IncidentCounts {
    /// Counts one incident.
    pub fn add(&mut self, status: IncidentStatus, severity: Severity, count: u64) {
        self.total += count;
        *self
            .by_status
            .entry(status.as_str().to_string())
            .or_default() += count;
        *self
            .by_severity
            .entry(severity.as_str().to_string())
            .or_default() += count;
    }
}

/// Which alerts to list, newest first (window end, then id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertFilter {
    /// Only alerts of this incident (after merges, the surviving incident).
    pub incident_id: Option<String>,
    /// Only alerts of this rule, by id or name.
    pub rule: Option<String>,
    pub min_severity: Option<Severity>,
    pub entity: Option<Entity>,
    pub service: Option<String>,
    /// Only alerts whose window ends at or after this time (UTC microseconds).
    pub since: Option<i64>,
    /// Only alerts whose window ends before this time (UTC microseconds).
    pub until: Option<i64>,
    pub limit: Option<u32>,
    pub offset: u32,
}

/// Most row numbers or ids bound in one statement.
const SEQS_PER_STATEMENT: usize = 500;

const SUMMARY_COLUMNS: &str = "id, title, severity, status, assignee, alert_count, rule_count,
    tactics, techniques, first_seen, last_seen, created, updated, merged_into";

const ALERT_COLUMNS: &str = "alert_id, rule_id, rule_name, title, level, tags, correlation_type,
    group_values, window_start, window_end, event_ids, event_count, entities, services, source,
    severity, incident_id, stored_at, suppressed_count, last_suppressed, rule_author";

impl IncidentStore {
    /// Incidents matching `filter`, in its order, paged by its limit and offset.
    pub fn list(&self, filter: &IncidentFilter) -> Result<Vec<IncidentSummary>, IncidentError> {
        let (conditions, mut values) = incident_conditions(filter);
        let direction = if filter.ascending { "ASC" } else { "DESC" };
        let order = match filter.sort {
            IncidentSort::Severity => {
                format!("severity {direction}, last_seen {direction}, seq {direction}")
            }
            IncidentSort::LastSeen => format!("last_seen {direction}, seq {direction}"),
            IncidentSort::Created => format!("created {direction}, seq {direction}"),
        };
        values.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
        values.push(Value::Integer(i64::from(filter.offset)));
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM incident WHERE {conditions} ORDER BY {order}
             LIMIT ? OFFSET ?"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), summary_row)?;
        let mut summaries = Vec::new();
        for row in rows {
            let mut summary = decode_summary(row?)?;
            self.fill_summary(&mut summary)?;
            summaries.push(summary);
        }
        Ok(summaries)
    }

    /// The incidents whose ids are `ids`, in that order; ids the store does not hold are left
    /// out.
    pub fn summaries(&self, ids: &[String]) -> Result<Vec<IncidentSummary>, IncidentError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM incident WHERE id IN ({marks})");
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(ids.iter()), summary_row)?;
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for row in rows {
            let mut summary = decode_summary(row?)?;
            self.fill_summary(&mut summary)?;
            found.insert(summary.id.clone(), summary);
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The incidents whose row numbers (`seq`, creation order) are `seqs`, in that order; row
    /// numbers the store does not hold are left out. Three statements per 500 incidents (the
    /// incidents by primary key, their entities, their services), whatever the store's size:
    /// how a page found in the incident index is read.
    pub fn summaries_by_seq(&self, seqs: &[u64]) -> Result<Vec<IncidentSummary>, IncidentError> {
        let mut found = std::collections::HashMap::with_capacity(seqs.len());
        for chunk in seqs.chunks(SEQS_PER_STATEMENT) {
            let chunk: Vec<i64> = chunk
                .iter()
                .filter_map(|seq| i64::try_from(*seq).ok())
                .collect();
            if chunk.is_empty() {
                continue;
            }
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT {SUMMARY_COLUMNS}, seq FROM incident WHERE seq IN ({marks})");
            let mut statement = self.connection.prepare_cached(&sql)?;
            let mut rows = statement.query(params_from_iter(chunk.iter()))?;
            let mut summaries = BTreeMap::new();
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(14)?;
                summaries.insert(
                    row.get::<_, String>(0)?,
                    (seq, decode_summary(summary_row(row)?)?),
                );
            }
            drop(rows);
            if summaries.is_empty() {
                continue;
            }
            let marks = vec!["?"; summaries.len()].join(", ");
            let ids: Vec<&String> = summaries.keys().collect();
            let mut entities = self.connection.prepare_cached(&format!(
                "SELECT incident_id, kind, value FROM incident_entity WHERE incident_id IN ({marks})
                 ORDER BY incident_id, alert_count DESC, kind, value"
            ))?;
            let mut entity_rows = entities.query(params_from_iter(ids.iter()))?;
            let mut by_incident: BTreeMap<String, Vec<Entity>> = BTreeMap::new();
            while let Some(row) = entity_rows.next()? {
                by_incident
                    .entry(row.get(0)?)
                    .or_default()
                    .push(Entity::new(
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ));
            }
            drop(entity_rows);
            let mut services = self.connection.prepare_cached(&format!(
                "SELECT incident_id, service FROM incident_service WHERE incident_id IN ({marks})
                 ORDER BY incident_id, service"
            ))?;
            let mut service_rows = services.query(params_from_iter(ids.iter()))?;
            let mut services_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
            while let Some(row) = service_rows.next()? {
                services_of
                    .entry(row.get(0)?)
                    .or_default()
                    .push(row.get(1)?);
            }
            drop(service_rows);
            for (id, (seq, mut summary)) in summaries {
                summary.entities = by_incident.remove(&id).unwrap_or_default();
                summary.services = services_of.remove(&id).unwrap_or_default();
                found.insert(seq, summary);
            }
        }
        Ok(seqs
            .iter()
            .filter_map(|seq| i64::try_from(*seq).ok())
            .filter_map(|seq| found.remove(&seq))
            .collect())
    }

    /// How many incidents match `filter`, ignoring its limit and offset.
    pub fn count(&self, filter: &IncidentFilter) -> Result<u64, IncidentError> {
        let (conditions, values) = incident_conditions(filter);
        let sql = format!("SELECT count(*) FROM incident WHERE {conditions}");
        let count: i64 = self
            .connection
            .query_row(&sql, params_from_iter(values), |row| row.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// How many incidents match `filter` per status and per severity, ignoring its statuses
    /// (every status but merged is counted), order, limit and offset: what a queue shows
    /// beside its filters.
    pub fn counts(&self, filter: &IncidentFilter) -> Result<IncidentCounts, IncidentError> {
        let unfiltered = IncidentFilter {
            statuses: Vec::new(),
            ..filter.clone()
        };
        let (conditions, values) = incident_conditions(&unfiltered);
        let sql = format!(
            "SELECT status, severity, count(*) FROM incident WHERE {conditions} GROUP BY status, severity"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        let mut counts = IncidentCounts::default();
        for row in rows {
            let (status, severity, count) = row?;
            let status = status
                .parse()
                .map_err(|error: super::model::UnknownStatus| DbError::Corrupt {
                    what: "status of an incident".to_string(),
                    reason: error.to_string(),
                })?;
            counts.add(
                status,
                Severity::from_rank(severity),
                u64::try_from(count).unwrap_or(0),
            );
        }
        Ok(counts)
    }

    /// One incident in full, or `None` when there is no such incident.
    pub fn get(&self, id: &str) -> Result<Option<IncidentDetail>, IncidentError> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM incident WHERE id = ?1");
        let row = self
            .connection
            .query_row(&sql, [id], summary_row)
            .optional()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut summary = decode_summary(row)?;
        let entity_counts = self.entity_counts(id)?;
        summary.entities = entity_counts
            .iter()
            .map(|count| Entity::new(&count.kind, &count.value))
            .collect();
        summary.services = self.services(id)?;
        // A merged incident's alerts live in the incident it was merged into.
        let alerts = if summary.status == IncidentStatus::Merged {
            Vec::new()
        } else {
            self.alerts_in_event_order(id)?
        };
        let mut evidence_event_ids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for alert in &alerts {
            for event in &alert.alert.event_ids {
                if seen.insert(event.as_str()) {
                    evidence_event_ids.push(event.clone());
                }
            }
        }
        let merged_from = self.strings(
            "SELECT id FROM incident WHERE merged_into = ?1 ORDER BY seq",
            id,
        )?;
        Ok(Some(IncidentDetail {
            summary,
            entity_counts,
            alerts,
            evidence_event_ids,
            merged_from,
            comments: self.comments(id)?,
            history: self.history(id)?,
        }))
    }

    /// Stored alerts matching `filter`, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, IncidentError> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut values = Vec::new();
        if let Some(incident) = &filter.incident_id {
            conditions.push("incident_id = ?".into());
            values.push(Value::Text(incident.clone()));
        }
        if let Some(rule) = &filter.rule {
            conditions.push("(rule_id = ? OR rule_name = ?)".into());
            values.push(Value::Text(rule.clone()));
            values.push(Value::Text(rule.clone()));
        }
        if let Some(severity) = filter.min_severity {
            conditions.push("severity >= ?".into());
            values.push(Value::Integer(severity.rank()));
        }
        if let Some(entity) = &filter.entity {
            conditions.push(
                "alert_id IN (SELECT alert_id FROM alert_entity WHERE kind = ? AND value = ?)"
                    .into(),
            );
            values.push(Value::Text(entity.kind.clone()));
            values.push(Value::Text(entity.value.clone()));
        }
        if let Some(service) = &filter.service {
            conditions
                .push("alert_id IN (SELECT alert_id FROM alert_service WHERE service = ?)".into());
            values.push(Value::Text(service.clone()));
        }
        if let Some(since) = filter.since {
            conditions.push("window_end >= ?".into());
            values.push(Value::Integer(since));
        }
        if let Some(until) = filter.until {
            conditions.push("window_end < ?".into());
            values.push(Value::Integer(until));
        }
        values.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
        values.push(Value::Integer(i64::from(filter.offset)));
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alert WHERE {} ORDER BY window_end DESC, alert_id DESC
             LIMIT ? OFFSET ?",
            conditions.join(" AND ")
        );
        query_alerts(&self.connection, &sql, values)
    }

    fn alerts_in_event_order(&self, id: &str) -> Result<Vec<StoredAlert>, IncidentError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alert WHERE incident_id = ? ORDER BY window_end, alert_id"
        );
        query_alerts(&self.connection, &sql, vec![Value::Text(id.to_string())])
    }

    fn fill_summary(&self, summary: &mut IncidentSummary) -> Result<(), IncidentError> {
        summary.entities = self
            .entity_counts(&summary.id)?
            .into_iter()
            .map(|count| Entity {
                kind: count.kind,
                value: count.value,
            })
            .collect();
        summary.services = self.services(&summary.id)?;
        Ok(())
    }

    fn entity_counts(&self, id: &str) -> Result<Vec<EntityCount>, IncidentError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT kind, value, alert_count FROM incident_entity WHERE incident_id = ?1
             ORDER BY alert_count DESC, kind, value",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(EntityCount {
                kind: row.get(0)?,
                value: row.get(1)?,
                alert_count: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn services(&self, id: &str) -> Result<Vec<String>, IncidentError> {
        self.strings(
            "SELECT service FROM incident_service WHERE incident_id = ?1 ORDER BY service",
            id,
        )
    }

    fn strings(&self, sql: &str, id: &str) -> Result<Vec<String>, IncidentError> {
        let mut statement = self.connection.prepare_cached(sql)?;
        let rows = statement.query_map([id], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn comments(&self, id: &str) -> Result<Vec<Comment>, IncidentError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT author, time, text FROM incident_comment WHERE incident_id = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok(Comment {
                author: row.get(0)?,
                time: row.get(1)?,
                text: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, IncidentError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT time, actor, activity, from_value, to_value, note FROM incident_history
             WHERE incident_id = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut history = Vec::new();
        for row in rows {
            let (time, actor, activity, from, to, note) = row?;
            let activity = Activity::parse(&activity).ok_or_else(|| DbError::Corrupt {
                what: format!("history of incident {id}"),
                reason: format!("unknown activity {activity:?}"),
            })?;
            history.push(HistoryEntry {
                time,
                actor,
                activity,
                from,
                to,
                note,
            });
        }
        Ok(history)
    }
}

/// The WHERE clause and its values for an incident filter.
fn incident_conditions(filter: &IncidentFilter) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if filter.statuses.is_empty() {
        conditions.push("status != 'merged'".to_string());
    } else {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        conditions.push(format!("status IN ({marks})"));
        values.extend(
            filter
                .statuses
                .iter()
                .map(|status| Value::Text(status.as_str().into())),
        );
    }
    if let Some(severity) = filter.min_severity {
        conditions.push("severity >= ?".into());
        values.push(Value::Integer(severity.rank()));
    }
    if let Some(assignee) = &filter.assignee {
        conditions.push("assignee = ?".into());
        values.push(Value::Text(assignee.clone()));
    }
    if let Some(entity) = &filter.entity {
        conditions.push(
            "id IN (SELECT incident_id FROM incident_entity WHERE kind = ? AND value = ?)".into(),
        );
        values.push(Value::Text(entity.kind.clone()));
        values.push(Value::Text(entity.value.clone()));
    }
    if let Some(service) = &filter.service {
        conditions
            .push("id IN (SELECT incident_id FROM incident_service WHERE service = ?)".into());
        values.push(Value::Text(service.clone()));
    }
    if let Some(text) = filter.text.as_deref().filter(|text| !text.is_empty()) {
        conditions.push("title LIKE ? ESCAPE '\\'".into());
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(Value::Text(format!("%{escaped}%")));
    }
    (conditions.join(" AND "), values)
}

type SummaryRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
    String,
    String,
    [i64; 4],
    Option<String>,
);

fn summary_row(row: &Row<'_>) -> Result<SummaryRow, rusqlite::Error> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        [row.get(9)?, row.get(10)?, row.get(11)?, row.get(12)?],
        row.get(13)?,
    ))
}

fn decode_summary(row: SummaryRow) -> Result<IncidentSummary, IncidentError> {
    let (id, title, severity, status, assignee, alert_count, rule_count, tactics, techniques) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8,
    );
    let [first_seen, last_seen, created, updated] = row.9;
    let status = status
        .parse()
        .map_err(|error: super::model::UnknownStatus| DbError::Corrupt {
            what: format!("status of incident {id}"),
            reason: error.to_string(),
        })?;
    Ok(IncidentSummary {
        title,
        severity: Severity::from_rank(severity),
        status,
        assignee,
        entities: Vec::new(),
        alert_count: u64::try_from(alert_count).unwrap_or(0),
        rule_count: u64::try_from(rule_count).unwrap_or(0),
        services: Vec::new(),
        tactics: serde_json::from_str(&tactics)?,
        techniques: serde_json::from_str(&techniques)?,
        first_seen,
        last_seen,
        created,
        updated,
        merged_into: row.10,
        id,
    })
}

fn query_alerts(
    connection: &Connection,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<StoredAlert>, IncidentError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params_from_iter(values))?;
    let mut alerts = Vec::new();
    while let Some(row) = rows.next()? {
        alerts.push(decode_alert(row)?);
    }
    Ok(alerts)
}

fn decode_alert(row: &Row<'_>) -> Result<StoredAlert, IncidentError> {
    let json = |index: usize| -> Result<String, rusqlite::Error> { row.get(index) };
    let alert = Alert {
        alert_id: row.get(0)?,
        rule_id: row.get(1)?,
        rule_name: row.get(2)?,
        title: row.get(3)?,
        level: row.get(4)?,
        tags: serde_json::from_str(&json(5)?)?,
        author: row.get(20)?,
        correlation_type: row.get(6)?,
        group: serde_json::from_str(&json(7)?)?,
        window_start: row.get(8)?,
        window_end: row.get(9)?,
        event_ids: serde_json::from_str(&json(10)?)?,
        event_count: u64::try_from(row.get::<_, i64>(11)?).unwrap_or(0),
    };
    Ok(StoredAlert {
        alert,
        entities: serde_json::from_str(&json(12)?)?,
        services: serde_json::from_str(&json(13)?)?,
        source: serde_json::from_str(&json(14)?)?,
        severity: Severity::from_rank(row.get(15)?),
        incident_id: row.get(16)?,
        stored_at: row.get(17)?,
        suppressed_count: u64::try_from(row.get::<_, i64>(18)?).unwrap_or(0),
        last_suppressed: row.get(19)?,
    })
}
