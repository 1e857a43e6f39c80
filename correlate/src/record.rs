//! An alert as the incident side receives it: the correlation or rule alert, plus what its
//! evidence events say about who and where (entities, services) and which detector raised it.
//!
//! Streaming detection, scheduled jobs and backfills all produce [`AlertRecord`]s; suppression,
//! incident grouping and the outputs consume them.

use serde::{Deserialize, Serialize};

use crate::correlation::Alert;

/// Entity types weft groups incidents by, as event schema columns; configuration may add more
/// (any schema column or `attrs` key).
pub const DEFAULT_ENTITY_TYPES: &[&str] = &["user", "src_ip", "host", "session_id", "trace_id"];

/// Something an alert is about: a user, an address, a host, a session or a trace. `kind` is the
/// event column it was read from; it serializes as `type`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl Entity {
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Entity {
        Entity {
            kind: kind.into(),
            value: value.into(),
        }
    }
}

/// Which detector raised an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AlertSource {
    /// The streaming matcher and correlator.
    Stream,
    /// A scheduled run (or a backfill) of the named job.
    Job { job: String },
}

/// An alert with its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub alert: Alert,
    /// Entities found on the evidence events and in the alert's group, deduplicated, sorted.
    pub entities: Vec<Entity>,
    /// Services of the evidence events, deduplicated, sorted.
    pub services: Vec<String>,
    pub source: AlertSource,
}

impl AlertRecord {
    /// A record with its entities and services sorted and deduplicated.
    pub fn new(
        alert: Alert,
        mut entities: Vec<Entity>,
        mut services: Vec<String>,
        source: AlertSource,
    ) -> AlertRecord {
        entities.sort();
        entities.dedup();
        services.sort();
        services.dedup();
        AlertRecord {
            alert,
            entities,
            services,
            source,
        }
    }
}
