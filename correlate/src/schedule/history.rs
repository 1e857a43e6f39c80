//! The job history: every run of every scheduled job, each attempt, and every gap, in the
//! detection store (`job_runs`), plus how far each job's schedule has been taken
//! (`job_state`). The scheduler decides from it alone, so a restarted weft continues where it
//! stopped; `weft jobs` and the API read it.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::db::DbError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS job_runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    first_slot_end INTEGER NOT NULL,
    slot_end INTEGER NOT NULL,
    range_from INTEGER NOT NULL,
    range_to INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,
    started INTEGER,
    finished INTEGER,
    next_attempt_at INTEGER,
    events_scanned INTEGER NOT NULL DEFAULT 0,
    alerts INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_by_slot ON job_runs (job_id, slot_end);
CREATE INDEX IF NOT EXISTS job_runs_by_status ON job_runs (status);
CREATE TABLE IF NOT EXISTS job_state (
    job_id TEXT PRIMARY KEY,
    scheduled_through INTEGER NOT NULL
);
";

const COLUMNS: &str = "run_id, job_id, first_slot_end, slot_end, range_from, range_to, trigger, \
     status, attempt, queued_at, started, finished, next_attempt_at, events_scanned, alerts, \
     duration_ms, error";

/// Statuses of rows that are attempts at one slot (as opposed to gaps).
const ATTEMPT_STATUSES: &str = "('queued', 'running', 'failed', 'succeeded')";

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for the next `run_due` (a catch-up, a re-run for late data, a backfill).
    Queued,
    /// Started and not finished; at start-up this means weft stopped during the run, which is
    /// then retried.
    Running,
    Succeeded,
    /// This attempt failed; `next_attempt_at` says when it is retried, or is empty when the
    /// attempts are used up (its window is then also recorded as a gap).
    Failed,
    /// Slots that were never run successfully: missed beyond `max_catch_up`, or failed
    /// `max_attempts` times. Backfill the range to fill it.
    Gap,
    /// A gap every slot of which has since succeeded.
    Filled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Gap => "gap",
            RunStatus::Filled => "filled",
        }
    }

    fn parse(text: &str) -> Option<RunStatus> {
        [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Gap,
            RunStatus::Filled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// Why a slot was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// Its time came (including catch-up after downtime).
    Schedule,
    /// Events arrived late for its window.
    Reopen,
    /// Asked for by an operator.
    Backfill,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Reopen => "reopen",
            RunTrigger::Backfill => "backfill",
        }
    }

    fn parse(text: &str) -> Option<RunTrigger> {
        [
            RunTrigger::Schedule,
            RunTrigger::Reopen,
            RunTrigger::Backfill,
        ]
        .into_iter()
        .find(|trigger| trigger.as_str() == text)
    }
}

/// One row of the history: an attempt at a slot, a queued slot, or a gap. Times are UTC
/// microseconds; `from`/`to` is the event time covered, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: i64,
    pub job_id: String,
    /// The first slot of a gap; equal to `slot_end` for a run.
    pub first_slot_end: i64,
    pub slot_end: i64,
    pub from: i64,
    pub to: i64,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// 1 for the first attempt, 0 while queued or for a gap.
    pub attempt: u32,
    pub queued_at: i64,
    pub started: Option<i64>,
    pub finished: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub events_scanned: u64,
    pub alerts: u64,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
}

/// A slot waiting to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingSlot {
    pub slot_end: i64,
    pub trigger: RunTrigger,
    /// The attempt this run will be.
    pub attempt: u32,
    /// The queued row the run takes over, if it was queued (retries add a row).
    pub queued_run: Option<i64>,
}

/// A new history row.
#[derive(Debug, Clone)]
pub(crate) struct NewRun<'a> {
    pub job_id: &'a str,
    pub first_slot_end: i64,
    pub slot_end: i64,
    pub from: i64,
    pub to: i64,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    pub attempt: u32,
    pub now: i64,
    pub error: Option<&'a str>,
}

/// How a finished attempt ended.
#[derive(Debug, Clone)]
pub(crate) struct Finish<'a> {
    pub status: RunStatus,
    pub now: i64,
    pub events_scanned: u64,
    pub alerts: u64,
    pub duration_ms: u64,
    pub error: Option<&'a str>,
    pub next_attempt_at: Option<i64>,
}

/// The job history over a detection store connection ([`crate::db::open`]).
#[derive(Debug)]
pub struct JobHistory {
    connection: Connection,
}

impl JobHistory {
    /// Creates the history's tables if needed.
    pub fn new(connection: Connection) -> Result<JobHistory, DbError> {
        connection.execute_batch(SCHEMA)?;
        Ok(JobHistory { connection })
    }

    /// The latest `limit` rows, newest first, of one job or of all.
    pub fn runs(&self, job_id: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.select(
            &format!(
                "SELECT {COLUMNS} FROM job_runs WHERE ?1 IS NULL OR job_id = ?1 \
                 ORDER BY run_id DESC LIMIT ?2"
            ),
            params![job_id, limit],
        )
    }

    /// The succeeded run with the latest slot of `job_id`.
    pub fn last_completed(&self, job_id: &str) -> Result<Option<RunRecord>, DbError> {
        Ok(self
            .select(
                &format!(
                    "SELECT {COLUMNS} FROM job_runs WHERE job_id = ?1 AND status = 'succeeded' \
                     ORDER BY slot_end DESC, run_id DESC LIMIT 1"
                ),
                params![job_id],
            )?
            .pop())
    }

    /// The open gaps of `job_id` (not yet filled), oldest first.
    pub fn gaps(&self, job_id: &str) -> Result<Vec<RunRecord>, DbError> {
        self.select(
            &format!(
                "SELECT {COLUMNS} FROM job_runs WHERE job_id = ?1 AND status = 'gap' \
                 ORDER BY slot_end, run_id"
            ),
            params![job_id],
        )
    }

    /// The row `run_id`.
    pub fn run(&self, run_id: i64) -> Result<Option<RunRecord>, DbError> {
        Ok(self
            .select(
                &format!("SELECT {COLUMNS} FROM job_runs WHERE run_id = ?1"),
                params![run_id],
            )?
            .pop())
    }

    fn select(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<RunRecord>, DbError> {
        let mut statement = self.connection.prepare(sql)?;
        let rows = statement.query_map(params, raw_record)?;
        let mut records = Vec::new();
        for row in rows {
            records.push(row?.decode()?);
        }
        Ok(records)
    }

    /// The latest slot end the schedule has been taken through (run, queued or recorded as a
    /// gap), if the job was ever scheduled.
    pub(crate) fn scheduled_through(&self, job_id: &str) -> Result<Option<i64>, DbError> {
        Ok(self
            .connection
            .query_row(
                "SELECT scheduled_through FROM job_state WHERE job_id = ?1",
                params![job_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Queues `slots` of a job and records `gap` (if any), then moves the job's schedule
    /// through `through` (if given), in one transaction. Slots already waiting (queued or due
    /// for a retry) are not queued twice. Returns the rows written.
    pub(crate) fn enqueue(
        &mut self,
        slots: &[NewRun<'_>],
        gap: Option<&NewRun<'_>>,
        through: Option<(&str, i64)>,
    ) -> Result<Vec<i64>, DbError> {
        let transaction = self.connection.transaction()?;
        let mut written = Vec::new();
        if let Some(gap) = gap {
            written.push(insert(&transaction, gap)?);
        }
        for slot in slots {
            let waiting: bool = transaction.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM job_runs WHERE run_id = (SELECT MAX(run_id) \
                     FROM job_runs WHERE job_id = ?1 AND slot_end = ?2 AND status IN \
                     {ATTEMPT_STATUSES}) AND (status IN ('queued', 'running') OR \
                     (status = 'failed' AND next_attempt_at IS NOT NULL)))"
                ),
                params![slot.job_id, slot.slot_end],
                |row| row.get(0),
            )?;
            if !waiting {
                written.push(insert(&transaction, slot)?);
            }
        }
        if let Some((job_id, through)) = through {
            transaction.execute(
                "INSERT INTO job_state (job_id, scheduled_through) VALUES (?1, ?2) \
                 ON CONFLICT (job_id) DO UPDATE SET scheduled_through = \
                 max(scheduled_through, excluded.scheduled_through)",
                params![job_id, through],
            )?;
        }
        transaction.commit()?;
        Ok(written)
    }

    /// The slots of `job_id` to run at `now`, in slot order: queued ones, and failed ones whose
    /// retry time has come.
    pub(crate) fn pending(&self, job_id: &str, now: i64) -> Result<Vec<PendingSlot>, DbError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT run_id, slot_end, trigger, status, attempt FROM job_runs AS latest \
             WHERE job_id = ?1 AND run_id = (SELECT MAX(run_id) FROM job_runs AS other \
             WHERE other.job_id = latest.job_id AND other.slot_end = latest.slot_end \
             AND other.status IN {ATTEMPT_STATUSES}) \
             AND (status = 'queued' OR (status = 'failed' AND next_attempt_at <= ?2)) \
             ORDER BY slot_end"
        ))?;
        let rows = statement.query_map(params![job_id, now], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, u32>(4)?,
            ))
        })?;
        let mut pending = Vec::new();
        for row in rows {
            let (run_id, slot_end, trigger, status, attempt) = row?;
            let trigger =
                RunTrigger::parse(&trigger).ok_or_else(|| corrupt("trigger", &trigger))?;
            let queued = status == RunStatus::Queued.as_str();
            pending.push(PendingSlot {
                slot_end,
                trigger,
                attempt: attempt.saturating_add(1),
                queued_run: queued.then_some(run_id),
            });
        }
        Ok(pending)
    }

    /// Marks an attempt as running: the queued row it takes over, or a new row for a retry.
    pub(crate) fn start(
        &mut self,
        run: &NewRun<'_>,
        queued_run: Option<i64>,
    ) -> Result<i64, DbError> {
        match queued_run {
            Some(run_id) => {
                self.connection.execute(
                    "UPDATE job_runs SET status = 'running', attempt = ?2, started = ?3, \
                     range_from = ?4, range_to = ?5 WHERE run_id = ?1",
                    params![run_id, run.attempt, run.now, run.from, run.to],
                )?;
                Ok(run_id)
            }
            None => insert(&self.connection, run),
        }
    }

    /// Records how an attempt ended; a final failure also records its window as a gap, and a
    /// success marks the gaps it completes as filled. One transaction.
    pub(crate) fn finish(
        &mut self,
        run_id: i64,
        finish: &Finish<'_>,
        final_gap: Option<&NewRun<'_>>,
        interval: i64,
    ) -> Result<Option<i64>, DbError> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "UPDATE job_runs SET status = ?2, finished = ?3, events_scanned = ?4, alerts = ?5, \
             duration_ms = ?6, error = ?7, next_attempt_at = ?8 WHERE run_id = ?1",
            params![
                run_id,
                finish.status.as_str(),
                finish.now,
                i64::try_from(finish.events_scanned).unwrap_or(i64::MAX),
                i64::try_from(finish.alerts).unwrap_or(i64::MAX),
                i64::try_from(finish.duration_ms).unwrap_or(i64::MAX),
                finish.error,
                finish.next_attempt_at,
            ],
        )?;
        let gap = match final_gap {
            Some(gap) => Some(insert(&transaction, gap)?),
            None => None,
        };
        if finish.status == RunStatus::Succeeded {
            fill_gaps(&transaction, run_id, interval)?;
        }
        transaction.commit()?;
        Ok(gap)
    }

    /// Attempts left `running` by a process that stopped, oldest first.
    pub(crate) fn interrupted(&self) -> Result<Vec<RunRecord>, DbError> {
        self.select(
            &format!("SELECT {COLUMNS} FROM job_runs WHERE status = 'running' ORDER BY run_id"),
            [],
        )
    }
}

fn insert(connection: &Connection, run: &NewRun<'_>) -> Result<i64, DbError> {
    let started = (run.status == RunStatus::Running).then_some(run.now);
    let finished = matches!(run.status, RunStatus::Gap).then_some(run.now);
    connection.execute(
        "INSERT INTO job_runs (job_id, first_slot_end, slot_end, range_from, range_to, trigger, \
         status, attempt, queued_at, started, finished, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            run.job_id,
            run.first_slot_end,
            run.slot_end,
            run.from,
            run.to,
            run.trigger.as_str(),
            run.status.as_str(),
            run.attempt,
            run.now,
            started,
            finished,
            run.error,
        ],
    )?;
    Ok(connection.last_insert_rowid())
}

/// Marks as filled the gaps that the succeeded run `run_id` completes: every slot of the gap
/// (at `interval`) has a succeeded run.
fn fill_gaps(connection: &Connection, run_id: i64, interval: i64) -> Result<(), DbError> {
    let (job_id, slot_end): (String, i64) = connection.query_row(
        "SELECT job_id, slot_end FROM job_runs WHERE run_id = ?1",
        params![run_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let mut statement = connection.prepare(
        "SELECT run_id, first_slot_end, slot_end FROM job_runs WHERE job_id = ?1 \
         AND status = 'gap' AND first_slot_end <= ?2 AND slot_end >= ?2",
    )?;
    let gaps = statement
        .query_map(params![job_id, slot_end], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (gap_id, first, last) in gaps {
        let slots = (last - first) / interval.max(1) + 1;
        let succeeded: i64 = connection.query_row(
            "SELECT COUNT(DISTINCT slot_end) FROM job_runs WHERE job_id = ?1 \
             AND status = 'succeeded' AND slot_end BETWEEN ?2 AND ?3",
            params![job_id, first, last],
            |row| row.get(0),
        )?;
        if succeeded >= slots {
            connection.execute(
                "UPDATE job_runs SET status = 'filled' WHERE run_id = ?1",
                params![gap_id],
            )?;
        }
    }
    Ok(())
}

fn corrupt(what: &str, value: &str) -> DbError {
    DbError::Corrupt {
        what: format!("job_runs.{what}"),
        reason: format!("unknown value `{value}`"),
    }
}

/// A row as stored, before its enumerations are decoded.
struct RawRecord {
    record: RunRecord,
    trigger: String,
    status: String,
}

impl RawRecord {
    fn decode(self) -> Result<RunRecord, DbError> {
        let trigger =
            RunTrigger::parse(&self.trigger).ok_or_else(|| corrupt("trigger", &self.trigger))?;
        let status =
            RunStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?;
        Ok(RunRecord {
            trigger,
            status,
            ..self.record
        })
    }
}

fn raw_record(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
    let unsigned = |index: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or_default())
    };
    Ok(RawRecord {
        record: RunRecord {
            run_id: row.get(0)?,
            job_id: row.get(1)?,
            first_slot_end: row.get(2)?,
            slot_end: row.get(3)?,
            from: row.get(4)?,
            to: row.get(5)?,
            trigger: RunTrigger::Schedule,
            status: RunStatus::Queued,
            attempt: row.get(8)?,
            queued_at: row.get(9)?,
            started: row.get(10)?,
            finished: row.get(11)?,
            next_attempt_at: row.get(12)?,
            events_scanned: unsigned(13)?,
            alerts: unsigned(14)?,
            duration_ms: row
                .get::<_, Option<i64>>(15)?
                .map(|ms| u64::try_from(ms).unwrap_or_default()),
            error: row.get(16)?,
        },
        trigger: row.get(6)?,
        status: row.get(7)?,
    })
}
