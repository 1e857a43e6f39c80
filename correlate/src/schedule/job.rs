//! A scheduled job: what runs, on which schedule, and the [`JobRunner`] that runs it.

use super::spec::Schedule;
use super::sql_rule::SqlRule;
use crate::correlation::backtest::TimeRange;
use crate::record::AlertRecord;

/// A detection job the scheduler runs on its schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique among the scheduler's jobs; the history is kept under it, so renaming a job
    /// starts a new history.
    pub id: String,
    pub schedule: Schedule,
    pub kind: JobKind,
}

/// What a job runs.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// One SQL rule over the run's window of `events`.
    Sql(Box<SqlRule>),
    /// Sigma and correlation rules (by id) replayed in batch over the run's window.
    Rules { rule_ids: Vec<String> },
}

impl Job {
    /// The job of a SQL rule: the rule's id and schedule.
    pub fn sql(rule: SqlRule) -> Job {
        Job {
            id: rule.id.clone(),
            schedule: rule.schedule,
            kind: JobKind::Sql(Box::new(rule)),
        }
    }
}

/// What one run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOutput {
    /// Events read from the store for the run (for the history and capacity planning).
    pub events_scanned: u64,
    pub alerts: Vec<AlertRecord>,
}

/// Runs jobs over a window of stored events.
///
/// Contract: `run` executes `job` over the events whose time is in `range` (inclusive bounds,
/// both set) and returns its alerts, or a lowercase error saying what went wrong; the
/// scheduler records the error and retries the run later. It may block (it reads the store)
/// and must not deliver the alerts itself: the scheduler hands them to its sink and records the
/// run as succeeded only once the sink accepted them. Running the same job over the same range
/// again must give the same alert ids.
pub trait JobRunner {
    fn run(&mut self, job: &Job, range: TimeRange) -> Result<JobOutput, String>;
}

impl<F> JobRunner for F
where
    F: FnMut(&Job, TimeRange) -> Result<JobOutput, String>,
{
    fn run(&mut self, job: &Job, range: TimeRange) -> Result<JobOutput, String> {
        self(job, range)
    }
}
