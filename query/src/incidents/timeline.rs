//! An incident's cross-service timeline: its evidence events read back from the event store,
//! in event time, each with the service it came from (one lane per service) and the alerts it
//! contributed to (the correlation links between lanes).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use weft_correlate::correlation::alert::format_time;
use weft_correlate::incident::IncidentDetail;

use crate::search::{EventSearch, SearchError};

/// Evidence events read for one timeline at most; the rest are counted in `not_shown`.
pub const MAX_TIMELINE_EVENTS: usize = 1_000;

/// Columns of an evidence event the timeline shows.
const COLUMNS: &[&str] = &[
    "time",
    "service",
    "host",
    "class",
    "activity",
    "outcome",
    "user",
    "src_ip",
    "dst_ip",
    "http_method",
    "url",
    "http_status",
    "process",
    "command_line",
    "resource",
    "session_id",
    "trace_id",
    "message",
];

/// One evidence event on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEvent {
    pub event_id: String,
    /// Its normalized facts (time as RFC 3339, service, user, addresses, message, ...).
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
    /// The incident's alerts this event is evidence of.
    pub alerts: Vec<String>,
}

/// One alert and the events it links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineAlert {
    pub alert_id: String,
    pub title: String,
    pub severity: String,
    pub window_start: String,
    pub window_end: String,
    pub event_ids: Vec<String>,
}

/// The timeline of one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub incident_id: String,
    /// The lanes: services in order of their first event.
    pub services: Vec<String>,
    pub events: Vec<TimelineEvent>,
    pub alerts: Vec<TimelineAlert>,
    /// Evidence ids not on the timeline: beyond the cap, or no longer in the store.
    pub not_shown: usize,
}

/// Builds the timeline of `incident` from the events in `search`'s store.
pub fn timeline(search: &EventSearch, incident: &IncidentDetail) -> Result<Timeline, SearchError> {
    let mut links: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut alerts = Vec::new();
    let mut from = i64::MAX;
    let mut to = i64::MIN;
    for stored in &incident.alerts {
        let alert = &stored.alert;
        from = from.min(alert.window_start);
        to = to.max(alert.window_end);
        for event_id in &alert.event_ids {
            links
                .entry(event_id.as_str())
                .or_default()
                .push(alert.alert_id.clone());
        }
        alerts.push(TimelineAlert {
            alert_id: alert.alert_id.clone(),
            title: alert.title.clone(),
            severity: stored.severity.as_str().to_string(),
            window_start: format_time(alert.window_start),
            window_end: format_time(alert.window_end),
            event_ids: alert.event_ids.clone(),
        });
    }
    let wanted: Vec<String> = incident
        .evidence_event_ids
        .iter()
        .take(MAX_TIMELINE_EVENTS)
        .cloned()
        .collect();
    // Segments are selected by [from, to): one past the last window end keeps its events.
    let range = (from <= to).then_some((from, to.saturating_add(1)));
    let found = search.events_by_id(&wanted, range.map(|r| r.0), range.map(|r| r.1))?;
    let mut services: Vec<String> = Vec::new();
    let mut events = Vec::with_capacity(found.len());
    for event in found {
        let event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(service) = event.get("service").and_then(Value::as_str)
            && !services.iter().any(|known| known == service)
        {
            services.push(service.to_string());
        }
        let fields = COLUMNS
            .iter()
            .filter_map(|column| {
                event
                    .get(*column)
                    .filter(|value| !value.is_null())
                    .map(|value| (column.to_string(), value.clone()))
            })
            .collect();
        let alerts = links.get(event_id.as_str()).cloned().unwrap_or_default();
        events.push(TimelineEvent {
            event_id,
            fields,
            alerts,
        });
    }
    let not_shown = incident
        .evidence_event_ids
        .len()
        .saturating_sub(events.len());
    Ok(Timeline {
        incident_id: incident.summary.id.clone(),
        services,
        events,
        alerts,
        not_shown,
    })
}
