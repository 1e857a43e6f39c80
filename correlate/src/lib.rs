//! weft's detection side: Sigma rules compiled to a batch matcher, correlation of the
//! resulting signals in event-time windows, scheduled detection jobs, alerts and incidents.
//!
//! It consumes normalized events in the Arrow schema owned by [`weft_ingest::schema`], so the
//! detection side builds without librdkafka (`weft-ingest` with default features off).
//!
//! - [`sigma`]: Sigma rules loaded, validated and compiled into a [`sigma::SigmaMatcher`] that
//!   evaluates a whole `RecordBatch` at once. Matching is synchronous and pure: the same batch
//!   and rules always give the same matches.
//! - [`correlation`]: Sigma correlation rules over the matcher's signals, in event-time
//!   sliding windows with per-partition watermarks; bounded, checkpointed state; the same
//!   alerts whether the events are streamed (in any order within the allowed lateness, across
//!   restarts) or replayed from the store ([`correlation::backtest`]).
//! - [`baseline`]: learned baselines, a weft rule type run by the correlator: per pair of
//!   entities, rates per seasonal slot learned in event time; new pairs and spikes alert.
//! - [`db`]: the detection store (SQLite in the data directory) that alerts, incidents, job
//!   history and checkpoints live in.
//! - [`detect`]: streaming detection over the event store's new segments.
//! - [`incident`]: alerts suppressed when they repeat, stored, and grouped into incidents by
//!   shared entities, with analysts' status, assignment, comments and audit trail.
//! - [`output`]: alert outputs (signed webhooks, a Kafka topic through the binary) with
//!   durable delivery: every alert is queued in the detection store and retried with backoff
//!   until delivered, never lost.
//! - [`schedule`]: scheduled detection jobs (SQL rules, batch rule runs) on an interval with a
//!   lookback and an ingest delay; bounded catch-up, retries, late-data re-runs, backfills,
//!   and a job history in the detection store.
//! - [`ruleset`]: a deployment's rules (Sigma, correlations, sequences, SQL) loaded at once.
//! - [`service`]: the detection side of a data directory, one step at a time (`weft run`).
//! - [`duration`]: human durations (`"5m"`, `"1h30m"`) in configuration and rules.
//! - [`config`]: `[detect]` in `weft.toml`.
//! - [`record`]: an alert with its entities and services, as incidents and outputs receive it.

pub mod baseline;
pub mod cases;
pub mod config;
pub mod correlation;
pub mod db;
pub mod detect;
pub mod duration;
pub mod incident;
pub mod output;
pub mod record;
pub mod ruleset;
pub mod schedule;
pub mod service;
pub mod sigma;

/// The schema version this crate's matchers are written against.
pub const EVENT_SCHEMA_VERSION: &str = weft_ingest::schema::SCHEMA_VERSION;
