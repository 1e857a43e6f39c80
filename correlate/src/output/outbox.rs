//! The outbox: alert deliveries stored in the detection store before anything is sent, so an
//! alert is never lost to a crash, a receiver outage or a configuration change.
//!
//! Each (alert, output) pair is one row of `output_deliveries`, written in the same moment the
//! alert is stored ([`Outbox::enqueue`], or [`enqueue_in`] inside the caller's transaction) and
//! keyed by (output, alert id), so enqueueing the same alert again (a replay, a restart) adds
//! nothing. [`Outbox::deliver_due`] then hands due rows to the sinks:
//!
//! - success: the row becomes `delivered`, with its time;
//! - a retryable failure: the attempt is counted, the error kept, and the row waits
//!   [`RetryPolicy::backoff`] (exponential, capped) before its next attempt;
//! - a permanent failure, or the last allowed attempt failing: the row becomes `failed`. It is
//!   never deleted: [`Outbox::stats`] counts it for health checks and [`Outbox::redeliver`]
//!   requeues it once the output is fixed.
//!
//! Rows of an output with no sink (its configuration removed or renamed) stay `pending` until
//! a sink of that name is back. Delivery is at least once: a crash between a receiver's
//! answer and the row's update sends that alert again, under the same delivery id.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::payload::{AlertPayload, delivery_id};
use super::route::OutputRoute;
use super::sink::{Delivery, Sinks};
use crate::db::DbError;
use crate::record::AlertRecord;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS output_deliveries (
    seq INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    output TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    incident_id TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    UNIQUE (output, alert_id)
);
CREATE INDEX IF NOT EXISTS output_deliveries_due
    ON output_deliveries (status, next_attempt_at);
";

/// The outbox could not read or write the detection store.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] DbError),
    #[error("cannot encode alert {alert_id} for output {output}: {source}")]
    Encode {
        alert_id: String,
        output: String,
        #[source]
        source: serde_json::Error,
    },
}

impl From<rusqlite::Error> for OutboxError {
    fn from(error: rusqlite::Error) -> Self {
        OutboxError::Store(DbError::Sql(error))
    }
}

/// When failed deliveries are tried again: `initial`, then doubling, at most `max` apart;
/// after `max_attempts` attempts a delivery is `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    initial_backoff_micros: i64,
    max_backoff_micros: i64,
    max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s, 2 s, 4 s, … at most 10 minutes apart, 20 attempts (about two hours).
    fn default() -> Self {
        RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(600), 20)
    }
}

impl RetryPolicy {
    /// A policy; a zero `max_attempts` counts as 1, and `max` below `initial` as `initial`.
    pub fn new(initial: Duration, max: Duration, max_attempts: u32) -> RetryPolicy {
        let micros = |duration: Duration| i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        let initial_backoff_micros = micros(initial);
        RetryPolicy {
            initial_backoff_micros,
            max_backoff_micros: micros(max).max(initial_backoff_micros),
            max_attempts: max_attempts.max(1),
        }
    }

    /// Microseconds to wait after the `attempts`-th failed attempt (1-based).
    pub fn backoff(&self, attempts: u32) -> i64 {
        let doublings = attempts.saturating_sub(1).min(62);
        self.initial_backoff_micros
            .saturating_mul(1_i64 << doublings)
            .min(self.max_backoff_micros)
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    /// Not yet delivered; tried again when due.
    Pending,
    Delivered,
    /// Refused for good, or out of attempts; kept until redelivered.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<DeliveryStatus, DbError> {
        match text {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(DbError::Corrupt {
                what: "output_deliveries.status".into(),
                reason: format!("`{other}` is not a delivery status"),
            }),
        }
    }
}

/// One stored delivery, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub delivery_id: String,
    pub output: String,
    pub alert_id: String,
    pub incident_id: Option<String>,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// UTC microseconds, like every time below.
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    /// The last failed attempt's error.
    pub last_error: Option<String>,
    /// The JSON document sent, an [`AlertPayload`].
    pub payload: String,
}

/// What one [`Outbox::deliver_due`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed retryably, scheduled again.
    pub retried: usize,
    /// Became `failed` in this call.
    pub failed_permanently: usize,
    /// Pending deliveries left in the store, for every output, due or not.
    pub pending: u64,
}

/// One output's deliveries, for health checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputStats {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// When the oldest pending delivery was enqueued, UTC microseconds: how far behind the
    /// output is.
    pub oldest_pending_at: Option<i64>,
}

/// The deliveries of the detection store. See the module documentation.
pub struct Outbox {
    connection: Connection,
    policy: RetryPolicy,
}

/// Creates the outbox's table if needed.
pub fn create_tables(connection: &Connection) -> Result<(), DbError> {
    connection.execute_batch(SCHEMA)?;
    Ok(())
}

/// Adds one pending delivery per (record, route) the route accepts, skipping pairs already
/// stored, on `connection` as it is: pass the transaction that stores the alerts, so both are
/// written or neither. The tables must exist ([`create_tables`]). Returns how many rows were
/// added.
pub fn enqueue_in(
    connection: &Connection,
    records: &[(AlertRecord, Option<String>)],
    routes: &[OutputRoute],
    now: i64,
) -> Result<usize, OutboxError> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO output_deliveries
            (delivery_id, output, alert_id, incident_id, payload, status, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)
         ON CONFLICT DO NOTHING",
    )?;
    let mut added = 0;
    for (record, incident_id) in records {
        for route in routes.iter().filter(|route| route.accepts(record)) {
            let alert_id = &record.alert.alert_id;
            let payload = AlertPayload {
                delivery_id: delivery_id(&route.name, alert_id),
                output: route.name.clone(),
                incident_id: incident_id.clone(),
                record: record.clone(),
            };
            let body = serde_json::to_string(&payload).map_err(|source| OutboxError::Encode {
                alert_id: alert_id.clone(),
                output: route.name.clone(),
                source,
            })?;
            added += insert.execute(params![
                payload.delivery_id,
                route.name,
                alert_id,
                incident_id,
                body,
                now
            ])?;
        }
    }
    Ok(added)
}

struct DueRow {
    seq: i64,
    delivery_id: String,
    output: String,
    alert_id: String,
    incident_id: Option<String>,
    attempts: u32,
    payload: String,
}

impl Outbox {
    /// The outbox of the detection store behind `connection` (from [`crate::db::open`]),
    /// creating its table if needed, with the default [`RetryPolicy`].
    pub fn open(connection: Connection) -> Result<Outbox, OutboxError> {
        create_tables(&connection)?;
        Ok(Outbox {
            connection,
            policy: RetryPolicy::default(),
        })
    }

    /// The same outbox retrying by `policy`.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Outbox {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn into_connection(self) -> Connection {
        self.connection
    }

    /// Stores one pending delivery per (record, output) that the output's level filter
    /// accepts, all in one transaction; a pair already stored is left as it is. Each record
    /// comes with its incident id when known. Returns how many deliveries were added.
    pub fn enqueue(
        &mut self,
        records: &[(AlertRecord, Option<String>)],
        routes: &[OutputRoute],
        now: i64,
    ) -> Result<usize, OutboxError> {
        let transaction = self.connection.transaction()?;
        let added = enqueue_in(&transaction, records, routes, now)?;
        transaction.commit()?;
        Ok(added)
    }

    /// Attempts up to `limit` deliveries that are due at `now` (UTC microseconds), oldest
    /// first, through the sink of their output. After a retryable failure, the output's other
    /// due deliveries wait for the next call, so a receiver that is down costs one timeout
    /// per call, not one per alert. Rows of outputs without a sink are left pending.
    ///
    /// Blocks while sinks deliver; each row is updated as soon as its attempt ends.
    pub fn deliver_due(
        &mut self,
        sinks: &mut Sinks,
        now: i64,
        limit: usize,
    ) -> Result<DeliveryReport, OutboxError> {
        let mut report = DeliveryReport::default();
        let rows = self.due(sinks, now, limit)?;
        let mut backing_off = BTreeSet::new();
        for row in rows {
            if backing_off.contains(&row.output) {
                continue;
            }
            let Some(sink) = sinks.get_mut(&row.output) else {
                continue;
            };
            let attempt = row.attempts.saturating_add(1);
            let delivery = Delivery {
                delivery_id: row.delivery_id,
                output: row.output,
                alert_id: row.alert_id,
                incident_id: row.incident_id,
                attempt,
                attempted_at: now,
                body: row.payload,
            };
            match sink.deliver(&delivery) {
                Ok(()) => {
                    self.connection.execute(
                        "UPDATE output_deliveries SET status = 'delivered', attempts = ?2,
                            delivered_at = ?3, last_error = NULL WHERE seq = ?1",
                        params![row.seq, attempt, now],
                    )?;
                    report.delivered += 1;
                }
                Err(error) if error.is_retryable() && attempt < self.policy.max_attempts => {
                    let next_attempt_at = now.saturating_add(self.policy.backoff(attempt));
                    self.connection.execute(
                        "UPDATE output_deliveries SET attempts = ?2, next_attempt_at = ?3,
                            last_error = ?4 WHERE seq = ?1",
                        params![row.seq, attempt, next_attempt_at, error.to_string()],
                    )?;
                    tracing::warn!(
                        output = %delivery.output,
                        alert_id = %delivery.alert_id,
                        attempt,
                        %error,
                        "alert delivery failed, retrying later"
                    );
                    report.retried += 1;
                    backing_off.insert(delivery.output);
                }
                Err(error) => {
                    self.connection.execute(
                        "UPDATE output_deliveries SET status = 'failed', attempts = ?2,
                            last_error = ?3 WHERE seq = ?1",
                        params![row.seq, attempt, error.to_string()],
                    )?;
                    tracing::error!(
                        output = %delivery.output,
                        alert_id = %delivery.alert_id,
                        attempt,
                        %error,
                        "alert delivery failed for good; the alert stays stored, fix the output and redeliver it"
                    );
                    report.failed_permanently += 1;
                }
            }
        }
        report.pending = self.pending()?;
        Ok(report)
    }

    fn due(&self, sinks: &Sinks, now: i64, limit: usize) -> Result<Vec<DueRow>, OutboxError> {
        if sinks.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // ?1 is `now`, ?2 the limit, then one parameter per output with a sink.
        let placeholders: Vec<String> = (3..sinks.len() + 3).map(|n| format!("?{n}")).collect();
        let sql = format!(
            "SELECT seq, delivery_id, output, alert_id, incident_id, attempts, payload
             FROM output_deliveries
             WHERE status = 'pending' AND next_attempt_at <= ?1 AND output IN ({})
             ORDER BY seq LIMIT ?2",
            placeholders.join(", ")
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut values: Vec<&dyn ToSql> = vec![&now, &limit];
        values.extend(sinks.keys().map(|name| name as &dyn ToSql));
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement
            .query_map(values.as_slice(), |row| {
                Ok(DueRow {
                    seq: row.get(0)?,
                    delivery_id: row.get(1)?,
                    output: row.get(2)?,
                    alert_id: row.get(3)?,
                    incident_id: row.get(4)?,
                    attempts: row.get(5)?,
                    payload: row.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Pending deliveries, all outputs together.
    pub fn pending(&self) -> Result<u64, OutboxError> {
        let count: i64 = self.connection.query_row(
            "SELECT count(*) FROM output_deliveries WHERE status = 'pending'",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Deliveries per output and status, for health checks and metrics.
    pub fn stats(&self) -> Result<BTreeMap<String, OutputStats>, OutboxError> {
        let mut statement = self.connection.prepare(
            "SELECT output, status, count(*), min(created_at)
             FROM output_deliveries GROUP BY output, status",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<i64>>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stats: BTreeMap<String, OutputStats> = BTreeMap::new();
        for (output, status, count, oldest) in rows {
            let entry = stats.entry(output).or_default();
            let count = u64::try_from(count).unwrap_or_default();
            match DeliveryStatus::parse(&status)? {
                DeliveryStatus::Pending => {
                    entry.pending = count;
                    entry.oldest_pending_at = oldest;
                }
                DeliveryStatus::Delivered => entry.delivered = count,
                DeliveryStatus::Failed => entry.failed = count,
            }
        }
        Ok(stats)
    }

    /// The delivery of `alert_id` to `output`, if one is stored.
    pub fn delivery(
        &self,
        output: &str,
        alert_id: &str,
    ) -> Result<Option<DeliveryState>, OutboxError> {
        let row = self
            .connection
            .query_row(
                "SELECT delivery_id, incident_id, status, attempts, created_at, next_attempt_at,
                    delivered_at, last_error, payload
                 FROM output_deliveries WHERE output = ?1 AND alert_id = ?2",
                params![output, alert_id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, u32>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, Option<i64>>(6)?,
                        row.get::<_, Option<String>>(7)?,
                        row.get::<_, String>(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            delivery_id,
            incident_id,
            status,
            attempts,
            created_at,
            next,
            delivered_at,
            last_error,
            payload,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(DeliveryState {
            delivery_id,
            output: output.to_string(),
            alert_id: alert_id.to_string(),
            incident_id,
            status: DeliveryStatus::parse(&status)?,
            attempts,
            created_at,
            next_attempt_at: next,
            delivered_at,
            last_error,
            payload,
        }))
    }

    /// Requeues the failed delivery of `alert_id` to `output`, due at `now` with a fresh
    /// count of attempts. Returns whether there was such a failed delivery.
    pub fn redeliver(
        &mut self,
        output: &str,
        alert_id: &str,
        now: i64,
    ) -> Result<bool, OutboxError> {
        let changed = self.connection.execute(
            "UPDATE output_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?3
             WHERE output = ?1 AND alert_id = ?2 AND status = 'failed'",
            params![output, alert_id, now],
        )?;
        Ok(changed > 0)
    }

    /// Requeues every failed delivery of `output` (after fixing it), due at `now`. Returns how
    /// many.
    pub fn redeliver_failed(&mut self, output: &str, now: i64) -> Result<usize, OutboxError> {
        let changed = self.connection.execute(
            "UPDATE output_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2
             WHERE output = ?1 AND status = 'failed'",
            params![output, now],
        )?;
        Ok(changed)
    }

    /// Deletes deliveries that were delivered before `before` (UTC microseconds); pending and
    /// failed ones are never deleted. A pruned alert enqueued again (a replay of old events) is
    /// sent again, under the same delivery id. Returns how many were deleted.
    pub fn prune_delivered(&mut self, before: i64) -> Result<usize, OutboxError> {
        let deleted = self.connection.execute(
            "DELETE FROM output_deliveries WHERE status = 'delivered' AND delivered_at < ?1",
            params![before],
        )?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let waits: Vec<i64> = (1..=12)
            .map(|attempt| policy.backoff(attempt) / 1_000_000)
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(policy.backoff(u32::MAX), 600_000_000);
        assert_eq!(policy.max_attempts(), 20);
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_corrupt() {
        for status in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(status.as_str()).ok(), Some(status));
        }
        assert!(DeliveryStatus::parse("lost").is_err());
    }
}
