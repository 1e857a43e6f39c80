//! The scheduler: runs every due slot of every job, catches up after downtime within bounds,
//! retries failures with backoff, records everything in the [`JobHistory`], and re-runs
//! windows on request (late data, backfills).
//!
//! It is synchronous and driven from outside: the caller calls [`Scheduler::run_due`] on a tick
//! (every few seconds), with the [`JobRunner`] that executes jobs and the sink that delivers
//! alerts. Processing time comes from the injected [`Clock`]. One scheduler runs per detection
//! store.
//!
//! What a call does, per job, in this order:
//!
//! 1. **Schedule.** The slots that became due since the last call are queued. After downtime,
//!    at most `max_catch_up` missed slots are queued (the most recent ones); the older ones are
//!    recorded as one gap with its range. A job never run before queues only its latest due
//!    slot (or, with `first_run = "catch_up"`, its latest `max_catch_up` slots).
//! 2. **Run.** Every waiting slot runs in slot order: queued ones and failed ones whose backoff
//!    has passed. Each attempt is recorded as `running` before it starts; it is `succeeded`
//!    only once the sink accepted its alerts. A failure (of the runner or of the sink) is
//!    retried on a later call after `retry_backoff` (doubled per failure); after
//!    `max_attempts` it is `failed` for good and its window is recorded as a gap. A failing
//!    slot does not hold back the job's later slots.
//!
//! Restart: the schedule is taken up from the history, so succeeded slots never run again, and
//! attempts left `running` by a stopped process count as failed attempts and are retried.

use std::sync::Arc;
use std::time::Instant;

use tracing::{debug, error, warn};

use super::config::{FirstRun, SchedulerConfig};
use super::error::SchedulerError;
use super::history::{Finish, JobHistory, NewRun, PendingSlot, RunRecord, RunStatus, RunTrigger};
use super::job::{Job, JobRunner};
use super::spec::{Schedule, SlotSpan};
use crate::correlation::Clock;
use crate::correlation::alert::format_time;
use crate::correlation::backtest::TimeRange;
use crate::record::AlertRecord;

/// Where a run's alerts go; an error fails the run (it is retried).
pub type AlertSink<'a> = dyn FnMut(&[AlertRecord]) -> Result<(), String> + 'a;

/// Runs scheduled detection jobs; see the module documentation.
#[derive(Debug)]
pub struct Scheduler {
    jobs: Vec<Job>,
    history: JobHistory,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
}

impl Scheduler {
    /// A scheduler over `jobs` (unique ids) that continues from `history`: attempts that a
    /// stopped process left running are recorded as failed and retried.
    pub fn new(
        jobs: Vec<Job>,
        history: JobHistory,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Result<Scheduler, SchedulerError> {
        config.validate()?;
        for (index, job) in jobs.iter().enumerate() {
            if jobs[..index].iter().any(|other| other.id == job.id) {
                return Err(SchedulerError::DuplicateJob(job.id.clone()));
            }
        }
        let mut scheduler = Scheduler {
            jobs,
            history,
            clock,
            config,
        };
        scheduler.recover()?;
        Ok(scheduler)
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    pub fn history(&self) -> &JobHistory {
        &self.history
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Queues the slots that became due and runs every waiting slot of every job (see the
    /// module documentation). Returns the history rows this call wrote: each attempt and each
    /// gap. An error means the history could not be written; runs already recorded stay.
    pub fn run_due(
        &mut self,
        runner: &mut dyn JobRunner,
        sink: &mut AlertSink<'_>,
    ) -> Result<Vec<RunRecord>, SchedulerError> {
        let mut records = Vec::new();
        for index in 0..self.jobs.len() {
            let now = self.clock.now_micros();
            self.schedule_job(index, now, &mut records)?;
            let job_id = self.jobs[index].id.clone();
            for slot in self.history.pending(&job_id, now)? {
                self.run_slot(index, slot, runner, sink, &mut records)?;
            }
        }
        Ok(records)
    }

    /// Queues re-runs, on the next [`Scheduler::run_due`], of the slots (already scheduled)
    /// whose windows hold any of `range`: events arrived late for them. `job_id` `None` means
    /// every job. Alert ids are deterministic, so a re-run only adds what is new. Returns the
    /// queued rows (a slot already waiting is not queued twice).
    pub fn reopen(
        &mut self,
        job_id: Option<&str>,
        range: TimeRange,
    ) -> Result<Vec<RunRecord>, SchedulerError> {
        let (from, to) = bounds(range)?;
        let selected: Vec<usize> = match job_id {
            Some(job_id) => vec![self.job_index(job_id)?],
            None => (0..self.jobs.len()).collect(),
        };
        let mut spans = Vec::new();
        for index in selected {
            let job = &self.jobs[index];
            let Some(through) = self.history.scheduled_through(&job.id)? else {
                continue; // never scheduled: its first runs will see the events
            };
            let Some(span) = job.schedule.covering(from, to) else {
                continue;
            };
            if let Some(span) = job.schedule.span(span.first, span.last.min(through)) {
                self.check_count(&job.id, span)?;
                spans.push((index, span));
            }
        }
        self.queue_spans(&spans, RunTrigger::Reopen)
    }

    /// Queues runs, on the next [`Scheduler::run_due`], of the due slots of `job_id` whose
    /// windows hold any of `range` (at most `max_backfill_slots`). Returns the queued rows.
    pub fn backfill(
        &mut self,
        job_id: &str,
        range: TimeRange,
    ) -> Result<Vec<RunRecord>, SchedulerError> {
        let (from, to) = bounds(range)?;
        let index = self.job_index(job_id)?;
        let schedule = self.jobs[index].schedule;
        let latest = schedule.latest_due(self.clock.now_micros());
        let span = schedule
            .covering(from, to)
            .and_then(|span| schedule.span(span.first, span.last.min(latest)));
        let Some(span) = span else {
            return Ok(Vec::new());
        };
        self.check_count(job_id, span)?;
        self.queue_spans(&[(index, span)], RunTrigger::Backfill)
    }

    fn job_index(&self, job_id: &str) -> Result<usize, SchedulerError> {
        self.jobs
            .iter()
            .position(|job| job.id == job_id)
            .ok_or_else(|| SchedulerError::UnknownJob(job_id.to_string()))
    }

    fn check_count(&self, job_id: &str, span: SlotSpan) -> Result<(), SchedulerError> {
        if span.count > self.config.max_backfill_slots {
            return Err(SchedulerError::TooManySlots {
                job: job_id.to_string(),
                slots: span.count,
                max: self.config.max_backfill_slots,
            });
        }
        Ok(())
    }

    fn queue_spans(
        &mut self,
        spans: &[(usize, SlotSpan)],
        trigger: RunTrigger,
    ) -> Result<Vec<RunRecord>, SchedulerError> {
        let now = self.clock.now_micros();
        let mut records = Vec::new();
        for &(index, span) in spans {
            let job = &self.jobs[index];
            let slots = slot_runs(job, span, trigger, now);
            let written = self.history.enqueue(&slots, None, None)?;
            for run_id in written {
                records.extend(self.history.run(run_id)?);
            }
        }
        Ok(records)
    }

    /// Queues the slots of job `index` that became due, recording a gap beyond `max_catch_up`.
    fn schedule_job(
        &mut self,
        index: usize,
        now: i64,
        records: &mut Vec<RunRecord>,
    ) -> Result<(), SchedulerError> {
        let job = &self.jobs[index];
        let schedule = job.schedule;
        let latest = schedule.latest_due(now);
        let catch_up = i64::from(self.config.max_catch_up);
        let oldest_queued =
            latest.saturating_sub((catch_up - 1).saturating_mul(schedule.interval()));
        let (first, gap) = match self.history.scheduled_through(&job.id)? {
            None => match self.config.first_run {
                FirstRun::Latest => (latest, None),
                FirstRun::CatchUp => (oldest_queued, None),
            },
            Some(through) => {
                let next = schedule.align(through).saturating_add(schedule.interval());
                if next > latest {
                    return Ok(());
                }
                if next < oldest_queued {
                    let last_missed = oldest_queued - schedule.interval();
                    (oldest_queued, schedule.span(next, last_missed))
                } else {
                    (next, None)
                }
            }
        };
        let Some(span) = schedule.span(first, latest) else {
            return Ok(());
        };
        let slots = slot_runs(job, span, RunTrigger::Schedule, now);
        let gap = gap.map(|missed| {
            let error = format!(
                "{} slots missed while weft was not running, more than max_catch_up ({}); backfill the range to scan it",
                missed.count, self.config.max_catch_up
            );
            (missed, error)
        });
        let gap_run = gap.as_ref().map(|(missed, error)| NewRun {
            job_id: &job.id,
            first_slot_end: missed.first,
            slot_end: missed.last,
            from: missed.first.saturating_sub(schedule.lookback()),
            to: missed.last.saturating_sub(1),
            trigger: RunTrigger::Schedule,
            status: RunStatus::Gap,
            attempt: 0,
            now,
            error: Some(error),
        });
        if let Some((missed, _)) = &gap {
            error!(
                job = %job.id,
                slots = missed.count,
                from = %format_time(missed.first.saturating_sub(schedule.lookback())),
                to = %format_time(missed.last),
                "scheduled runs missed beyond max_catch_up, recorded as a gap; backfill the range to scan it"
            );
        }
        let written = self
            .history
            .enqueue(&slots, gap_run.as_ref(), Some((&job.id, latest)))?;
        if gap_run.is_some()
            && let Some(gap_id) = written.first()
        {
            records.extend(self.history.run(*gap_id)?);
        }
        Ok(())
    }

    fn run_slot(
        &mut self,
        index: usize,
        slot: PendingSlot,
        runner: &mut dyn JobRunner,
        sink: &mut AlertSink<'_>,
        records: &mut Vec<RunRecord>,
    ) -> Result<(), SchedulerError> {
        let job = &self.jobs[index];
        let schedule = job.schedule;
        let (from, to) = slot_bounds(&schedule, slot.slot_end);
        let started = self.clock.now_micros();
        let run_id = self.history.start(
            &NewRun {
                job_id: &job.id,
                first_slot_end: slot.slot_end,
                slot_end: slot.slot_end,
                from,
                to,
                trigger: slot.trigger,
                status: RunStatus::Running,
                attempt: slot.attempt,
                now: started,
                error: None,
            },
            slot.queued_run,
        )?;
        let timer = Instant::now();
        let range = schedule.range(slot.slot_end);
        let (events_scanned, alerts, outcome) = match runner.run(job, range) {
            Ok(output) => {
                let alerts = output.alerts.len() as u64;
                let delivered = sink(&output.alerts)
                    .map_err(|reason| format!("cannot deliver the alerts: {reason}"));
                (output.events_scanned, alerts, delivered)
            }
            Err(reason) => (0, 0, Err(reason)),
        };
        let finished = self.clock.now_micros();
        let duration_ms = u64::try_from(timer.elapsed().as_millis()).unwrap_or(u64::MAX);
        let final_failure = outcome.is_err() && slot.attempt >= self.config.max_attempts;
        let gap_error = match &outcome {
            Err(reason) if final_failure => Some(format!(
                "failed after {} attempts: {reason}; backfill the range once the cause is fixed",
                slot.attempt
            )),
            _ => None,
        };
        let gap = gap_error.as_deref().map(|error| NewRun {
            job_id: &job.id,
            first_slot_end: slot.slot_end,
            slot_end: slot.slot_end,
            from,
            to,
            trigger: slot.trigger,
            status: RunStatus::Gap,
            attempt: 0,
            now: finished,
            error: Some(error),
        });
        let finish = Finish {
            status: if outcome.is_ok() {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            },
            now: finished,
            events_scanned,
            alerts,
            duration_ms,
            error: outcome.as_ref().err().map(String::as_str),
            next_attempt_at: match outcome {
                Err(_) if !final_failure => {
                    Some(finished.saturating_add(self.config.backoff_after(slot.attempt)))
                }
                _ => None,
            },
        };
        match (&outcome, final_failure) {
            (Ok(()), _) => {
                debug!(job = %job.id, slot = %format_time(slot.slot_end), alerts, events_scanned, "job run succeeded")
            }
            (Err(reason), false) => {
                warn!(job = %job.id, slot = %format_time(slot.slot_end), attempt = slot.attempt, %reason, "job run failed, will retry")
            }
            (Err(reason), true) => {
                error!(job = %job.id, slot = %format_time(slot.slot_end), attempt = slot.attempt, %reason, "job run failed for good, its window is a gap; backfill it once the cause is fixed")
            }
        }
        let gap_id = self
            .history
            .finish(run_id, &finish, gap.as_ref(), schedule.interval())?;
        records.extend(self.history.run(run_id)?);
        if let Some(gap_id) = gap_id {
            records.extend(self.history.run(gap_id)?);
        }
        Ok(())
    }

    /// Attempts left running by a stopped process become failed attempts, retried now (or, when
    /// they were the last allowed attempt, failed for good with their window as a gap).
    fn recover(&mut self) -> Result<(), SchedulerError> {
        let now = self.clock.now_micros();
        for run in self.history.interrupted()? {
            let reason = "interrupted: weft stopped during the run";
            let final_failure = run.attempt >= self.config.max_attempts;
            let gap_error = format!(
                "failed after {} attempts: {reason}; backfill the range",
                run.attempt
            );
            let gap = final_failure.then(|| NewRun {
                job_id: &run.job_id,
                first_slot_end: run.slot_end,
                slot_end: run.slot_end,
                from: run.from,
                to: run.to,
                trigger: run.trigger,
                status: RunStatus::Gap,
                attempt: 0,
                now,
                error: Some(&gap_error),
            });
            warn!(job = %run.job_id, slot = %format_time(run.slot_end), attempt = run.attempt, "job run was interrupted by a stop, will retry");
            let finish = Finish {
                status: RunStatus::Failed,
                now,
                events_scanned: run.events_scanned,
                alerts: run.alerts,
                duration_ms: 0,
                error: Some(reason),
                next_attempt_at: (!final_failure).then_some(now),
            };
            let interval = self
                .jobs
                .iter()
                .find(|job| job.id == run.job_id)
                .map_or(1, |job| job.schedule.interval());
            self.history
                .finish(run.run_id, &finish, gap.as_ref(), interval)?;
        }
        Ok(())
    }
}

/// The queued rows of every slot of `span`.
fn slot_runs<'a>(job: &'a Job, span: SlotSpan, trigger: RunTrigger, now: i64) -> Vec<NewRun<'a>> {
    let interval = job.schedule.interval();
    let mut runs = Vec::new();
    let mut slot_end = span.first;
    while slot_end <= span.last {
        let (from, to) = slot_bounds(&job.schedule, slot_end);
        runs.push(NewRun {
            job_id: &job.id,
            first_slot_end: slot_end,
            slot_end,
            from,
            to,
            trigger,
            status: RunStatus::Queued,
            attempt: 0,
            now,
            error: None,
        });
        slot_end = slot_end.saturating_add(interval);
        if slot_end == i64::MAX {
            break;
        }
    }
    runs
}

fn slot_bounds(schedule: &Schedule, slot_end: i64) -> (i64, i64) {
    (
        slot_end.saturating_sub(schedule.lookback()),
        slot_end.saturating_sub(1),
    )
}

fn bounds(range: TimeRange) -> Result<(i64, i64), SchedulerError> {
    let (Some(from), Some(to)) = (range.from, range.to) else {
        return Err(SchedulerError::UnboundedRange);
    };
    if to < from {
        return Err(SchedulerError::InvertedRange {
            from: format_time(from),
            to: format_time(to),
        });
    }
    Ok((from, to))
}
