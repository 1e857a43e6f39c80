//! Running a dashboard panel: its query over one time range, answered as columns and rows
//! for the UI to draw (see `weft_dashboards::definition` for what a panel may say).
//!
//! - SQL runs through [`SqlEngine::query_batches_between`], so the `events` table holds only
//!   the range's events and the engine's read-only check, timeout, memory and row limits
//!   apply as to analysts' queries. `{bucket}` becomes an `INTERVAL` literal of the range's
//!   bucket width.
//! - A search is counted per bucket by the event index ([`EventSearch::histogram`]).
//! - Incidents are counted from the detection store, those whose alerts overlap the range.
//!
//! The bucket width comes from the range alone (the event histogram's ladder, about 60
//! buckets), so every time panel of a dashboard shares its buckets.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use weft_correlate::incident::model::{IncidentStatus, IncidentSummary, Severity};
use weft_correlate::incident::query::IncidentFilter;
use weft_dashboards::definition::{IncidentGroup, IncidentsQuery, Panel, Visualization};

use crate::error::ApiError;
use crate::incidents::{IncidentQuery, Incidents, IncidentsError};
use crate::search::histogram::{format_interval, plan};
use crate::search::{EventSearch, SearchError};
use crate::sql::{SqlEngine, to_rows};

/// Microseconds per second.
const SECOND: i64 = 1_000_000;

/// The time range a panel runs over, UTC microseconds, `from <= time < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelRange {
    pub from: i64,
    pub to: i64,
}

impl PanelRange {
    /// The bucket width of this range, in microseconds (a whole number of seconds).
    pub fn bucket(self) -> i64 {
        plan(self.from, self.to, None)
            .map(|(_, interval, _)| interval)
            .unwrap_or(3600 * SECOND)
            .max(SECOND)
    }
}

/// A panel's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelAnswer {
    pub panel: String,
    pub title: String,
    pub visualization: Visualization,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// More rows matched than the row limit allowed.
    pub truncated: bool,
    /// The range, RFC 3339.
    pub from: String,
    pub to: String,
    /// The bucket width (`5m`).
    pub bucket: String,
}

/// The SQL of a panel with `{bucket}` spelled out for `range`.
pub fn expand_sql(sql: &str, range: PanelRange) -> String {
    let seconds = range.bucket() / SECOND;
    sql.replace("{bucket}", &format!("INTERVAL '{seconds} seconds'"))
}

/// Runs a SQL panel.
pub async fn run_sql(
    engine: &SqlEngine,
    sql: &str,
    range: PanelRange,
) -> Result<(Vec<String>, Vec<Vec<Value>>, bool), ApiError> {
    let batches = engine
        .query_batches_between(&expand_sql(sql, range), range.from, range.to)
        .await?;
    let rows = to_rows(&batches)?;
    Ok((rows.columns, rows.rows, rows.truncated))
}

/// Counts a search per bucket: columns `bucket` and `events`.
pub fn run_search(
    search: &EventSearch,
    query: &str,
    range: PanelRange,
) -> Result<(Vec<String>, Vec<Vec<Value>>), SearchError> {
    let histogram = search.histogram(
        query,
        Some(range.from),
        Some(range.to),
        Some(range.bucket()),
    )?;
    let rows = histogram
        .buckets
        .into_iter()
        .map(|bucket| vec![Value::from(bucket.start), Value::from(bucket.count)])
        .collect();
    Ok((vec!["bucket".to_string(), "events".to_string()], rows))
}

/// Counts incidents whose alerts overlap the range, per group: columns `value` and
/// `incidents`. Severities come most severe first, other groups largest first.
pub fn run_incidents(
    incidents: &Incidents,
    query: &IncidentsQuery,
    range: PanelRange,
) -> Result<(Vec<String>, Vec<Vec<Value>>), IncidentsError> {
    let statuses = query
        .status
        .iter()
        .filter_map(|status| status.parse::<IncidentStatus>().ok())
        .collect();
    let listed = incidents.list(&IncidentQuery {
        filter: IncidentFilter {
            statuses,
            limit: None,
            ..IncidentFilter::default()
        },
        search: None,
    })?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let active = listed
        .incidents
        .iter()
        .filter(|incident| incident.last_seen >= range.from && incident.first_seen < range.to);
    for incident in active {
        for value in group_values(incident, query.group_by) {
            *counts.entry(value).or_default() += 1;
        }
    }
    let mut rows: Vec<(String, u64)> = counts.into_iter().collect();
    match query.group_by {
        IncidentGroup::Severity => rows.sort_by_key(|(value, _)| {
            std::cmp::Reverse(
                Severity::ALL
                    .iter()
                    .position(|severity| severity.as_str() == value),
            )
        }),
        _ => rows.sort_by(|(a, a_count), (b, b_count)| b_count.cmp(a_count).then(a.cmp(b))),
    }
    let rows = rows
        .into_iter()
        .map(|(value, count)| vec![Value::from(value), Value::from(count)])
        .collect();
    Ok((vec!["value".to_string(), "incidents".to_string()], rows))
}

fn group_values(incident: &IncidentSummary, group: IncidentGroup) -> Vec<String> {
    match group {
        IncidentGroup::Severity => vec![incident.severity.as_str().to_string()],
        IncidentGroup::Status => vec![incident.status.as_str().to_string()],
        IncidentGroup::Assignee => vec![
            incident
                .assignee
                .clone()
                .unwrap_or_else(|| "(unassigned)".to_string()),
        ],
        IncidentGroup::Service => incident.services.clone(),
        IncidentGroup::Tactic if incident.tactics.is_empty() => vec!["(none)".to_string()],
        IncidentGroup::Tactic => incident.tactics.clone(),
    }
}

/// Checks that the columns the visualization reads are in the answer.
pub fn check_columns(panel: &Panel, columns: &[String]) -> Result<(), ApiError> {
    for name in panel.visualization.columns() {
        if !columns.iter().any(|column| column == name) {
            return Err(ApiError::BadRequest(format!(
                "panel {:?} draws column {name:?}, but its query answers {}; fix the dashboard definition",
                panel.id,
                if columns.is_empty() {
                    "no columns".to_string()
                } else {
                    columns.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// The answer of `panel`, from its columns and rows.
pub fn answer(
    panel: &Panel,
    range: PanelRange,
    (columns, rows, truncated): (Vec<String>, Vec<Vec<Value>>, bool),
) -> Result<PanelAnswer, ApiError> {
    check_columns(panel, &columns)?;
    let rfc3339 = |micros: i64| crate::search::rows::rfc3339(micros);
    Ok(PanelAnswer {
        panel: panel.id.clone(),
        title: panel.title.clone(),
        visualization: panel.visualization.clone(),
        columns,
        rows,
        truncated,
        from: rfc3339(range.from),
        to: rfc3339(range.to),
        bucket: format_interval(range.bucket()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600 * SECOND;

    #[test]
    fn bucket_widths_follow_the_range() {
        let day = PanelRange {
            from: 0,
            to: 24 * HOUR,
        };
        assert_eq!(format_interval(day.bucket()), "30m");
        let hour = PanelRange { from: 0, to: HOUR };
        assert_eq!(format_interval(hour.bucket()), "1m");
        assert!(PanelRange { from: 0, to: 1 }.bucket() >= SECOND);
    }

    #[test]
    fn bucket_placeholders_become_interval_literals() {
        let range = PanelRange {
            from: 0,
            to: 24 * HOUR,
        };
        assert_eq!(
            expand_sql("SELECT date_bin({bucket}, time) AS b FROM events", range),
            "SELECT date_bin(INTERVAL '1800 seconds', time) AS b FROM events"
        );
        assert_eq!(expand_sql("SELECT 1", range), "SELECT 1");
    }
}
