//! The scheduler's errors: a schedule that cannot be built, a SQL rule that is refused, a
//! scheduler call that cannot be carried out.

use std::path::PathBuf;

use crate::db::DbError;

/// Why a schedule or a duration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "invalid duration `{text}`: {reason}; write a number and a unit, like 30s, 5m, 1h or 1d"
    )]
    Duration { text: String, reason: String },
    #[error("interval {0} is invalid; use an interval between 1s and 365d")]
    Interval(String),
    #[error(
        "lookback {lookback} is shorter than the interval {interval}, so events between runs would never be scanned; set lookback to at least the interval"
    )]
    LookbackShorterThanInterval { lookback: String, interval: String },
}

/// Why a SQL rule document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlRuleErrorKind {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("invalid yaml: {0}")]
    Yaml(String),
    #[error("missing attribute `{0}`")]
    Missing(&'static str),
    #[error("attribute `{attribute}` is invalid: {reason}")]
    InvalidAttribute {
        attribute: &'static str,
        reason: String,
    },
    #[error("`sql` must be one SELECT (or WITH ... SELECT) statement over `events`: {0}")]
    NotASelect(String),
    #[error("schedule: {0}")]
    Schedule(#[from] ScheduleError),
    #[error("id `{id}` is already used by {first}; give each rule its own id")]
    DuplicateId { id: String, first: String },
}

/// A refused SQL rule document: the file, the document's 0-based position in it, the rule id
/// when known, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} (document {}){}: {kind}", path.display(), document + 1, rule.as_ref().map(|rule| format!(" rule {rule}")).unwrap_or_default())]
pub struct SqlRuleError {
    pub path: PathBuf,
    pub document: usize,
    pub rule: Option<String>,
    pub kind: SqlRuleErrorKind,
}

/// Why a scheduler call failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("unknown job `{0}`; list the configured jobs with `weft jobs`")]
    UnknownJob(String),
    #[error("job `{0}` is configured twice; give each job its own id")]
    DuplicateJob(String),
    #[error("the range must have both a start and an end")]
    UnboundedRange,
    #[error("the range ends ({to}) before it starts ({from}); swap the bounds")]
    InvertedRange { from: String, to: String },
    #[error(
        "job `{job}`: the range covers {slots} runs, more than max_backfill_slots ({max}); split the range or raise [detect.scheduler] max_backfill_slots"
    )]
    TooManySlots { job: String, slots: u64, max: u64 },
    #[error("invalid [detect.scheduler] configuration: {0}")]
    Config(String),
}

impl From<rusqlite::Error> for SchedulerError {
    fn from(error: rusqlite::Error) -> SchedulerError {
        SchedulerError::Db(DbError::Sql(error))
    }
}
