//! The detection service: the whole detection side of one data directory, advanced one step
//! at a time by `weft run` (every poll interval, or once with `--once`).
//!
//! A step:
//! 1. the [`Detector`] matches the segments published since the last step and correlates them;
//! 2. its alerts are recorded: suppressed, grouped into incidents, and queued for every output
//!    in the same transaction ([`IncidentStore::record_with`], [`outbox::enqueue_in`]);
//! 3. the detector commits (a crash before this repeats the step; alert ids are
//!    deterministic, so nothing is recorded twice);
//! 4. windows that late events touched are queued for the stream recheck job;
//! 5. the [`Scheduler`] runs every due job (SQL rules through a [`SqlBackend`], Sigma and
//!    correlation rules through a [`RuleBatch`]) and records their alerts the same way;
//! 6. due deliveries go out through the output sinks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::config::DetectConfig;
use crate::correlation::backtest::TimeRange;
use crate::correlation::{Clock, CorrelatorConfig};
use crate::db::{self, DbError};
use crate::detect::{DetectError, Detector, DetectorConfig, EntityReader, RuleBatch};
use crate::incident::{IncidentError, IncidentStore};
use crate::output::outbox::{self, Outbox, OutboxError};
use crate::output::{OutputRoute, Outputs, Sinks};
use crate::record::{AlertRecord, AlertSource};
use crate::ruleset::DetectionRules;
use crate::schedule::{
    Job, JobHistory, JobKind, JobOutput, JobRunner, RunRecord, Schedule, ScheduleError, Scheduler,
    SchedulerError, alerts_from_rows,
};

/// The job that re-runs the streaming rules over windows late events touched.
pub const STREAM_RECHECK_JOB: &str = "weft-stream-recheck";

/// Deliveries attempted per step at most.
const DELIVERIES_PER_STEP: usize = 1_000;

/// Runs a SQL rule's statement over a window of stored events (the binary answers it with
/// DataFusion over the Parquet store).
pub trait SqlBackend {
    /// Runs `sql` with the `events` table restricted to `range` (inclusive), and returns its
    /// rows as column -> text, plus how many events the window holds. Blocks.
    fn query(&mut self, sql: &str, range: TimeRange) -> Result<SqlAnswer, String>;
}

/// What a SQL rule's statement returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlAnswer {
    pub rows: Vec<BTreeMap<String, String>>,
    pub events_scanned: u64,
}

/// Why the service could not start or step.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    #[error("job `{job}`: {source}")]
    JobSchedule { job: String, source: ScheduleError },
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepReport {
    pub segments: usize,
    pub events: u64,
    /// New alerts stored (streaming and scheduled).
    pub alerts: usize,
    pub duplicates: usize,
    pub suppressed: usize,
    pub incidents_created: Vec<String>,
    pub late_signals: usize,
    pub job_runs: usize,
    pub job_failures: usize,
    pub delivered: usize,
    pub pending_deliveries: u64,
}

/// The detection side of one data directory.
pub struct DetectService {
    detector: Detector,
    incidents: IncidentStore,
    outbox: Outbox,
    routes: Vec<OutputRoute>,
    sinks: Sinks,
    scheduler: Scheduler,
    batch: RuleBatch,
    sql: Option<Box<dyn SqlBackend>>,
    clock: Arc<dyn Clock>,
    recheck: bool,
}

impl std::fmt::Debug for DetectService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DetectService")
            .field("jobs", &self.scheduler.jobs().len())
            .field("outputs", &self.routes.len())
            .finish()
    }
}

impl DetectService {
    /// Opens the detection side of `data_dir` with `rules`, `config` and built `outputs` (the
    /// binary adds its Kafka sinks to them first). `sql` answers SQL rules; without it a SQL
    /// job's runs fail and are retried.
    pub fn open(
        data_dir: &Path,
        rules: &DetectionRules,
        config: &DetectConfig,
        outputs: Outputs,
        sql: Option<Box<dyn SqlBackend>>,
        clock: Arc<dyn Clock>,
    ) -> Result<DetectService, ServiceError> {
        let correlator = CorrelatorConfig {
            allowed_lateness: config.allowed_lateness.as_micros(),
            idle_timeout: config.idle_timeout.as_micros(),
            max_future_skew: Some(config.max_future_skew.as_micros()),
            ..CorrelatorConfig::default()
        };
        let detector_config = DetectorConfig {
            correlator,
            entity_types: config.incidents.entity_types.clone(),
            evidence_retention: DetectorConfig::default()
                .evidence_retention
                .max(config.incidents.lookback.as_micros()),
        };
        let detector = Detector::open(
            data_dir,
            Arc::clone(&rules.matcher),
            Arc::clone(&rules.set),
            detector_config.clone(),
            Arc::clone(&clock),
        )?;
        let incidents = IncidentStore::open(data_dir, &config.incidents)?;
        let outbox = Outbox::open(db::open(data_dir)?)?.with_policy(outputs.retry);
        let batch = RuleBatch::new(
            data_dir,
            Arc::clone(&rules.matcher),
            Arc::clone(&rules.set),
            EntityReader::new(&detector_config.entity_types),
            CorrelatorConfig {
                allowed_lateness: 0,
                ..correlator
            },
        );
        let jobs = jobs(rules, config)?;
        let recheck = jobs.iter().any(|job| job.id == STREAM_RECHECK_JOB);
        let history = JobHistory::new(db::open(data_dir)?)?;
        let scheduler =
            Scheduler::new(jobs, history, Arc::clone(&clock), config.scheduler.clone())?;
        Ok(DetectService {
            detector,
            incidents,
            outbox,
            routes: outputs.routes,
            sinks: outputs.sinks,
            scheduler,
            batch,
            sql,
            clock,
            recheck,
        })
    }

    pub fn scheduler(&mut self) -> &mut Scheduler {
        &mut self.scheduler
    }

    pub fn incidents(&self) -> &IncidentStore {
        &self.incidents
    }

    /// One step (see the module documentation). With `end_of_input` the sources are finished
    /// and every window up to the newest event is decided.
    pub fn step(&mut self, end_of_input: bool) -> Result<StepReport, ServiceError> {
        let mut report = StepReport::default();
        let detection = self.detector.poll(end_of_input)?;
        report.segments = detection.segments;
        report.events = detection.events;
        report.late_signals = detection.late.len();
        let now = self.clock.now_micros();
        record(
            &mut self.incidents,
            &self.routes,
            &detection.alerts,
            now,
            &mut report,
        )?;
        self.detector.commit()?;

        if self.recheck
            && let (Some(from), Some(to)) = (
                detection.late.iter().map(|late| late.key.time).min(),
                detection.late.iter().map(|late| late.key.time).max(),
            )
        {
            self.scheduler.reopen(
                Some(STREAM_RECHECK_JOB),
                TimeRange {
                    from: Some(from),
                    to: Some(to),
                },
            )?;
        }

        self.run_jobs(&mut report)?;
        self.deliver(&mut report)?;
        Ok(report)
    }

    /// Queues the runs of `job_id` whose windows hold any of `range` (a manual backfill),
    /// runs them and every other due job, and delivers their alerts.
    pub fn backfill(
        &mut self,
        job_id: &str,
        range: TimeRange,
    ) -> Result<(Vec<RunRecord>, StepReport), ServiceError> {
        let queued = self.scheduler.backfill(job_id, range)?;
        let mut report = StepReport::default();
        self.run_jobs(&mut report)?;
        self.deliver(&mut report)?;
        Ok((queued, report))
    }

    /// Runs every due job and records its alerts.
    fn run_jobs(&mut self, report: &mut StepReport) -> Result<(), ServiceError> {
        let mut runner = Runner {
            batch: &self.batch,
            sql: self.sql.as_deref_mut(),
        };
        let incidents = &mut self.incidents;
        let routes = &self.routes;
        let clock = &self.clock;
        let mut scheduled = StepReport::default();
        let runs = self.scheduler.run_due(&mut runner, &mut |alerts| {
            record(
                incidents,
                routes,
                alerts,
                clock.now_micros(),
                &mut scheduled,
            )
            .map_err(|error| error.to_string())
        })?;
        report.alerts += scheduled.alerts;
        report.duplicates += scheduled.duplicates;
        report.suppressed += scheduled.suppressed;
        report.incidents_created.extend(scheduled.incidents_created);
        report.job_runs += runs.len();
        report.job_failures += runs.iter().filter(|run| run.error.is_some()).count();
        Ok(())
    }

    /// Sends the due deliveries.
    fn deliver(&mut self, report: &mut StepReport) -> Result<(), ServiceError> {
        let deliveries = self.outbox.deliver_due(
            &mut self.sinks,
            self.clock.now_micros(),
            DELIVERIES_PER_STEP,
        )?;
        report.delivered += deliveries.delivered;
        report.pending_deliveries = deliveries.pending;
        Ok(())
    }
}

/// Records `alerts` into incidents and queues the new ones for every output, in one
/// transaction.
fn record(
    incidents: &mut IncidentStore,
    routes: &[OutputRoute],
    alerts: &[AlertRecord],
    now: i64,
    report: &mut StepReport,
) -> Result<(), IncidentError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let outcome = incidents.record_with(alerts, now, &mut |transaction, new| {
        outbox::enqueue_in(transaction, new, routes, now)
            .map(|_| ())
            .map_err(|error| error.to_string())
    })?;
    report.alerts += outcome.stored;
    report.duplicates += outcome.duplicates;
    report.suppressed += outcome.suppressed;
    report.incidents_created.extend(outcome.created);
    Ok(())
}

/// The jobs of a deployment: the stream recheck, `[[detect.jobs]]`, and every SQL rule.
fn jobs(rules: &DetectionRules, config: &DetectConfig) -> Result<Vec<Job>, ServiceError> {
    let mut jobs = Vec::new();
    let recheck = config.stream_recheck.as_micros();
    if recheck > 0 {
        let delay = config
            .allowed_lateness
            .as_micros()
            .saturating_add(config.poll_interval.as_micros());
        let schedule = Schedule::new(recheck, None, Some(delay)).map_err(|source| {
            ServiceError::JobSchedule {
                job: STREAM_RECHECK_JOB.into(),
                source,
            }
        })?;
        jobs.push(Job {
            id: STREAM_RECHECK_JOB.into(),
            schedule,
            kind: JobKind::Rules {
                rule_ids: Vec::new(),
            },
        });
    }
    for job in &config.jobs {
        let schedule =
            Schedule::parse(&job.interval, job.lookback.as_deref(), job.delay.as_deref()).map_err(
                |source| ServiceError::JobSchedule {
                    job: job.id.clone(),
                    source,
                },
            )?;
        jobs.push(Job {
            id: job.id.clone(),
            schedule,
            kind: JobKind::Rules {
                rule_ids: job.rules.clone(),
            },
        });
    }
    jobs.extend(rules.sql.iter().cloned().map(Job::sql));
    Ok(jobs)
}

/// Runs jobs: SQL rules through the backend, rule jobs through the batch (an empty rule list
/// is every streaming rule).
struct Runner<'a> {
    batch: &'a RuleBatch,
    sql: Option<&'a mut (dyn SqlBackend + 'static)>,
}

impl JobRunner for Runner<'_> {
    fn run(&mut self, job: &Job, range: TimeRange) -> Result<JobOutput, String> {
        match &job.kind {
            JobKind::Sql(rule) => {
                let Some(backend) = self.sql.as_deref_mut() else {
                    return Err("sql rules need the sql engine, which this process lacks".into());
                };
                let answer = backend.query(&rule.sql, range)?;
                Ok(JobOutput {
                    events_scanned: answer.events_scanned,
                    alerts: alerts_from_rows(rule, range, &answer.rows),
                })
            }
            JobKind::Rules { rule_ids } => {
                let only = (!rule_ids.is_empty()).then_some(rule_ids.as_slice());
                let output = self
                    .batch
                    .run(
                        range,
                        only,
                        AlertSource::Job {
                            job: job.id.clone(),
                        },
                    )
                    .map_err(|error| error.to_string())?;
                Ok(JobOutput {
                    events_scanned: output.events_scanned,
                    alerts: output.alerts,
                })
            }
        }
    }
}
