//! The incident side's tables in the detection store, created when the store is opened.
//!
//! - `alert`: every new alert, with its fields, the incident it belongs to and its suppression
//!   count; `alert_entity` and `alert_service` index it by entity and service.
//! - `alert_suppressed`: ids of suppressed alerts (so replays stay idempotent) and
//!   `alert_suppression_window`: the open suppression windows per rule and values.
//! - `incident`: one row per incident with its aggregates; `incident_entity`,
//!   `incident_service` and `incident_rule` count what its alerts carry;
//!   `incident_comment` and `incident_history` are the analysts' notes and audit trail.

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert (
    alert_id TEXT PRIMARY KEY,
    rule_id TEXT,
    rule_name TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    title TEXT NOT NULL,
    level TEXT,
    severity INTEGER NOT NULL,
    tags TEXT NOT NULL,
    correlation_type TEXT NOT NULL,
    group_values TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    event_ids TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    entities TEXT NOT NULL,
    services TEXT NOT NULL,
    source TEXT NOT NULL,
    incident_id TEXT,
    stored_at INTEGER NOT NULL,
    suppressed_count INTEGER NOT NULL DEFAULT 0,
    last_suppressed INTEGER,
    rule_author TEXT
);
CREATE INDEX IF NOT EXISTS alert_by_incident ON alert (incident_id, window_end);
CREATE INDEX IF NOT EXISTS alert_by_time ON alert (window_end);
CREATE INDEX IF NOT EXISTS alert_by_rule ON alert (rule_key, window_end);
CREATE TABLE IF NOT EXISTS alert_entity (
    alert_id TEXT NOT NULL REFERENCES alert (alert_id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    window_end INTEGER NOT NULL,
    PRIMARY KEY (alert_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_entity_by_value ON alert_entity (kind, value, window_end);
CREATE TABLE IF NOT EXISTS alert_service (
    alert_id TEXT NOT NULL REFERENCES alert (alert_id),
    service TEXT NOT NULL,
    PRIMARY KEY (alert_id, service)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_service_by_service ON alert_service (service);
CREATE TABLE IF NOT EXISTS alert_suppressed (
    alert_id TEXT PRIMARY KEY,
    suppressed_into TEXT NOT NULL REFERENCES alert (alert_id),
    window_end INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_suppression_window (
    rule_key TEXT NOT NULL,
    group_key TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    starts INTEGER NOT NULL,
    ends INTEGER NOT NULL,
    PRIMARY KEY (rule_key, group_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incident (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    alert_title TEXT NOT NULL,
    title_alert TEXT NOT NULL,
    title_alert_end INTEGER NOT NULL,
    title_severity INTEGER NOT NULL,
    base_severity INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    status TEXT NOT NULL,
    merged_into TEXT,
    assignee TEXT,
    tactics TEXT NOT NULL,
    techniques TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    alert_count INTEGER NOT NULL,
    rule_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_by_status ON incident (status, severity, last_seen);
CREATE INDEX IF NOT EXISTS incident_by_last_seen ON incident (last_seen);
CREATE INDEX IF NOT EXISTS incident_by_assignee ON incident (assignee);
CREATE INDEX IF NOT EXISTS incident_by_merged_into ON incident (merged_into);
CREATE INDEX IF NOT EXISTS incident_by_updated ON incident (updated);
CREATE TABLE IF NOT EXISTS incident_entity (
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    PRIMARY KEY (incident_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS incident_entity_by_value ON incident_entity (kind, value);
CREATE TABLE IF NOT EXISTS incident_service (
    incident_id TEXT NOT NULL,
    service TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    PRIMARY KEY (incident_id, service)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS incident_service_by_service ON incident_service (service);
CREATE TABLE IF NOT EXISTS incident_rule (
    incident_id TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incident_comment (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    author TEXT NOT NULL,
    time INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_comment_by_incident ON incident_comment (incident_id, seq);
CREATE TABLE IF NOT EXISTS incident_history (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    activity TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS incident_history_by_incident ON incident_history (incident_id, seq);
";

/// Creates the incident side's tables and indexes if they do not exist.
pub fn create(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.execute_batch(SCHEMA)?;
    add_rule_author(connection)
}

/// Stores written before alerts kept their rule's author get the column (empty for the alerts
/// already there).
fn add_rule_author(connection: &Connection) -> Result<(), rusqlite::Error> {
    let mut columns = connection.prepare("SELECT name FROM pragma_table_info('alert')")?;
    let names = columns
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if !names.iter().any(|name| name == "rule_author") {
        connection.execute_batch("ALTER TABLE alert ADD COLUMN rule_author TEXT")?;
    }
    Ok(())
}
