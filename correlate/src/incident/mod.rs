//! Incidents: what analysts work on. Alerts from streaming detection and scheduled jobs are
//! suppressed when they repeat, stored, and grouped into incidents by the entities they share
//! (users, addresses, hosts, sessions, traces), across services and rules.
//!
//! - [`config`]: `[detect.incidents]` in `weft.toml`: entity types, lookback, the ubiquity
//!   guard and ignore lists, severity raising, suppression rules.
//! - `suppress`: per-rule suppression windows (Elastic `alert_suppression` semantics).
//! - `group`: how an alert joins, starts or reopens incidents; `merge` when it bridges several.
//! - [`attack`]: ATT&CK tactics and techniques from rule tags.
//! - [`model`]: severities, statuses, incident summaries and details, stored alerts, history.
//! - [`store`]: [`IncidentStore`], recording alerts and analysts' changes; [`query`] is its
//!   read side (filters, sorting, paging).
//!
//! Invariants: recording is one transaction per batch; alert and incident ids are
//! deterministic and grouping runs in event time, so replaying the same alerts (also after a
//! restart, also split into other batches) changes nothing and yields the same incidents.

pub mod attack;
pub mod config;
pub mod error;
mod group;
mod merge;
pub mod model;
pub mod query;
mod schema;
pub mod store;
mod suppress;

pub use config::{ConfigError, HumanDuration, IncidentConfig, SuppressConfig, parse_duration};
pub use error::IncidentError;
pub use group::incident_id;
pub use model::{
    Activity, AlertPlacement, Comment, EntityCount, HistoryEntry, IncidentDetail, IncidentMerge,
    IncidentStatus, IncidentSummary, RecordOutcome, Severity, StoredAlert, WEFT_ACTOR,
};
pub use query::{AlertFilter, IncidentCounts, IncidentFilter, IncidentSort};
pub use store::{IncidentStore, MAX_COMMENT_BYTES};
