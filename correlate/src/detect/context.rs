//! What an alert's evidence events say about who and where: for every event a rule matched,
//! its time, service and entity values (user, address, host, session, trace, or any
//! configured column or `attrs` key), so an alert can name its entities even when its window
//! spans segments, restarts or a scheduled run.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use weft_ingest::schema;

use crate::correlation::Alert;
use crate::correlation::extract::event_times;
use crate::record::{AlertRecord, AlertSource, Entity};
use crate::sigma::MatchError;
use crate::sigma::columns::{AttrsReader, ColumnReader};

/// Entity values that never identify anyone: placeholders loggers write for "none".
const PLACEHOLDERS: &[&str] = &["", "-", "unknown", "none", "null", "n/a"];

/// One evidence event's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContext {
    /// Event time, UTC microseconds.
    pub time: i64,
    pub service: String,
    pub entities: Vec<Entity>,
}

/// Where an entity type's values are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntitySource {
    Column(&'static str),
    Attr(String),
}

/// Reads entity values from events, for the configured entity types.
#[derive(Debug, Clone)]
pub struct EntityReader {
    types: Vec<(String, EntitySource)>,
}

impl EntityReader {
    /// Entity types are schema column names (`user`, `src_ip`, ...) or `attrs` keys
    /// (`userIdentity.arn`).
    pub fn new(types: &[String]) -> EntityReader {
        let types = types
            .iter()
            .map(|kind| {
                let source = schema::SCALAR_COLUMNS
                    .iter()
                    .find(|column| **column == kind.as_str())
                    .map_or_else(
                        || EntitySource::Attr(kind.clone()),
                        |column| EntitySource::Column(column),
                    );
                (kind.clone(), source)
            })
            .collect();
        EntityReader { types }
    }

    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|(kind, _)| kind.as_str())
    }

    /// The contexts of `rows` of `batch`, keyed by event id (rows without one are skipped).
    pub fn contexts(
        &self,
        batch: &RecordBatch,
        rows: impl IntoIterator<Item = usize>,
    ) -> Result<Vec<(String, EventContext)>, MatchError> {
        let times = event_times(batch)?;
        let ids = ColumnReader::new(batch, schema::EVENT_ID)?;
        let services = ColumnReader::new(batch, schema::SERVICE)?;
        let attrs = AttrsReader::new(batch)?;
        let mut columns = Vec::with_capacity(self.types.len());
        for (kind, source) in &self.types {
            let reader = match source {
                EntitySource::Column(name) => Some(ColumnReader::new(batch, name)?),
                EntitySource::Attr(_) => None,
            };
            columns.push((kind, source, reader));
        }
        let mut out = Vec::new();
        for row in rows {
            if row >= batch.num_rows() {
                continue;
            }
            let Some(event_id) = ids.text(row) else {
                continue;
            };
            let mut entities = Vec::new();
            for (kind, source, reader) in &columns {
                let value = match (source, reader) {
                    (_, Some(reader)) => reader.text(row).map(|value| value.into_owned()),
                    (EntitySource::Attr(key), None) => attrs
                        .entries(row)
                        .find(|(name, _)| name == key)
                        .map(|(_, value)| value.to_string()),
                    (EntitySource::Column(_), None) => None,
                };
                if let Some(value) = value.and_then(|value| entity_value(&value)) {
                    entities.push(Entity::new(kind.as_str(), value));
                }
            }
            out.push((
                event_id.into_owned(),
                EventContext {
                    time: times.value(row),
                    service: services
                        .text(row)
                        .map(|service| service.into_owned())
                        .unwrap_or_default(),
                    entities,
                },
            ));
        }
        Ok(out)
    }

    /// The record of `alert`: entities and services of the evidence events found in
    /// `contexts`, plus group values whose field is an entity type.
    pub fn record(
        &self,
        alert: Alert,
        contexts: &dyn Fn(&str) -> Option<EventContext>,
        source: AlertSource,
    ) -> AlertRecord {
        let mut entities = Vec::new();
        let mut services = Vec::new();
        for event_id in &alert.event_ids {
            if let Some(context) = contexts(event_id) {
                entities.extend(context.entities);
                if !context.service.is_empty() {
                    services.push(context.service);
                }
            }
        }
        for (field, value) in &alert.group {
            if self.types().any(|kind| kind == field)
                && let Some(value) = entity_value(value)
            {
                entities.push(Entity::new(field.as_str(), value));
            }
        }
        AlertRecord::new(alert, entities, services, source)
    }
}

/// A trimmed entity value, or `None` for a placeholder.
fn entity_value(value: &str) -> Option<String> {
    let value = value.trim();
    (!PLACEHOLDERS
        .iter()
        .any(|placeholder| value.eq_ignore_ascii_case(placeholder)))
    .then(|| value.to_string())
}

/// Event contexts by event id, most recent kept when bounded.
pub type ContextMap = BTreeMap<String, EventContext>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_not_entities() {
        assert_eq!(entity_value(" alice "), Some("alice".into()));
        for value in ["", "-", "Unknown", "NULL", "n/a"] {
            assert_eq!(entity_value(value), None, "{value}");
        }
    }

    #[test]
    fn group_values_of_entity_fields_become_entities() {
        let reader = EntityReader::new(&["user".into(), "src_ip".into()]);
        let alert = crate::correlation::alert::single_event_alert(
            &crate::sigma::rule::RuleMeta {
                title: "t".into(),
                ..Default::default()
            },
            1,
            "e1",
        );
        let mut alert = alert;
        alert.group.insert("user".into(), "alice".into());
        alert.group.insert("count_field".into(), "9".into());
        let context = EventContext {
            time: 1,
            service: "gateway".into(),
            entities: vec![Entity::new("src_ip", "203.0.113.7")],
        };
        let record = reader.record(
            alert,
            &|id| (id == "e1").then(|| context.clone()),
            AlertSource::Stream,
        );
        assert_eq!(
            record.entities,
            vec![
                Entity::new("src_ip", "203.0.113.7"),
                Entity::new("user", "alice")
            ]
        );
        assert_eq!(record.services, vec!["gateway".to_string()]);
    }
}
