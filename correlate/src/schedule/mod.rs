//! Scheduled detection jobs: SQL rules and batch runs of Sigma and correlation rules over the
//! event store, on a schedule, with bounded catch-up, retries, late-data re-runs, backfills and
//! a visible history.
//!
//! - [`spec`]: schedules (`interval`, `lookback`, `delay`), human durations, slot arithmetic.
//! - [`sql_rule`]: SQL rule documents (`sql:`) loaded from rule files; [`rows`] turns a run's
//!   result rows into alerts.
//! - [`job`]: a [`Job`] and the [`JobRunner`] trait that executes it over a window.
//! - [`scheduler::Scheduler`]: decides what is due and runs it; [`config`] is
//!   `[detect.scheduler]`.
//! - [`history::JobHistory`]: every run, attempt and gap, in the detection store.
//!
//! Semantics follow Elastic's `interval`/`from` and Chronicle's settlement delay: the run for
//! slot end `E` covers event time `[E - lookback, E)` and runs at `E + delay`; slots are
//! aligned to interval multiples of the Unix epoch (UTC).

pub mod config;
pub mod error;
pub mod history;
pub mod job;
pub mod rows;
pub mod scheduler;
pub mod spec;
pub mod sql_rule;

pub use config::{FirstRun, SchedulerConfig};
pub use error::{ScheduleError, SchedulerError, SqlRuleError, SqlRuleErrorKind};
pub use history::{JobHistory, RunRecord, RunStatus, RunTrigger};
pub use job::{Job, JobKind, JobOutput, JobRunner};
pub use rows::alerts_from_rows;
pub use scheduler::{AlertSink, Scheduler};
pub use spec::{HumanDuration, Schedule, SlotSpan, parse_duration};
pub use sql_rule::{SqlRule, SqlRuleSet, load_sql_rules};
