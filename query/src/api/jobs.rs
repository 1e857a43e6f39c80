//! The job routes: the history of scheduled detection jobs (SQL rules, rule jobs, the stream
//! recheck), as the detection store records it.
//!
//! - `GET /api/v1/jobs?job=&status=&limit=` → `{"runs": [...]}`, newest first; `status` is
//!   `queued`, `running`, `succeeded`, `failed`, `gap` or `filled`; `limit` 1 to 500
//!   (default 50).
//! - `GET /api/v1/jobs/gaps` → `{"jobs": [{"job_id": ..., "gaps": [...]}]}`: every job with
//!   open gaps (slots never run successfully; backfill them with `weft jobs backfill`).
//! - `GET /api/v1/jobs/status` → `{"jobs": [...]}`: per job (every job with a history, and
//!   every SQL rule of the deployment) its latest run, its latest successful run, when its
//!   next slot is due (SQL rules that are enabled; other jobs' schedules are not known
//!   here), and its open gap count.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use weft_correlate::db;
use weft_correlate::ruleset::read_disabled;
use weft_correlate::schedule::spec::format_duration;
use weft_correlate::schedule::{JobHistory, RunRecord, RunStatus, load_sql_rules};

use super::AppState;
use super::incidents::{DEFAULT_LIMIT, limit, text_param};
use super::ingest::NoParameters;
use super::params::ApiQuery;
use super::rules::{RULES_TIMEOUT, run_blocking};
use crate::error::ApiError;
use crate::ingest_stats::rfc3339;
use crate::rules::internal;

/// Rows read to find the jobs that have a history.
const JOB_SCAN: usize = 100_000;

/// Parameters of `GET /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    pub job: Option<String>,
    pub status: Option<String>,
    pub limit: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RunList {
    pub runs: Vec<RunRecord>,
}

/// The open gaps of one job.
#[derive(Debug, Serialize)]
pub struct JobGaps {
    pub job_id: String,
    pub gaps: Vec<RunRecord>,
}

#[derive(Debug, Serialize)]
pub struct GapList {
    pub jobs: Vec<JobGaps>,
}

/// The state of one scheduled job.
#[derive(Debug, Serialize)]
pub struct JobState {
    pub job_id: String,
    /// `sql` for a SQL rule of the deployment, `other` for jobs known only by their history.
    pub kind: &'static str,
    /// A SQL rule's interval, as written.
    pub interval: Option<String>,
    /// Whether a SQL rule is enabled (`None` for other jobs).
    pub enabled: Option<bool>,
    /// The newest row of its history.
    pub last_run: Option<RunRecord>,
    /// Its succeeded run with the latest slot.
    pub last_success: Option<RunRecord>,
    /// When the next slot of an enabled SQL rule is due, RFC 3339.
    pub next_due: Option<String>,
    pub open_gaps: usize,
}

#[derive(Debug, Serialize)]
pub struct JobStatusList {
    pub jobs: Vec<JobState>,
}

const STATUSES: [RunStatus; 6] = [
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Gap,
    RunStatus::Filled,
];

fn history(state: &AppState) -> Result<JobHistory, ApiError> {
    db::open(state.data_dir())
        .and_then(JobHistory::new)
        .map_err(|error| internal("job history", error))
}

pub async fn runs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> Result<Json<RunList>, ApiError> {
    let job = query.job.map(|job| text_param("job", &job)).transpose()?;
    let status = match query.status.as_deref().map(str::trim) {
        None => None,
        Some(text) => Some(
            STATUSES
                .into_iter()
                .find(|status| status.as_str() == text)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "unknown status {text:?}; use queued, running, succeeded, failed, gap or filled"
                    ))
                })?,
        ),
    };
    let limit = query
        .limit
        .as_deref()
        .map(limit)
        .transpose()?
        .unwrap_or(DEFAULT_LIMIT) as usize;
    let runs = run_blocking(RULES_TIMEOUT, move || {
        let history = history(&state)?;
        let Some(status) = status else {
            return history
                .runs(job.as_deref(), limit)
                .map_err(|error| internal("job history", error));
        };
        Ok(history
            .runs(job.as_deref(), JOB_SCAN)
            .map_err(|error| internal("job history", error))?
            .into_iter()
            .filter(|run| run.status == status)
            .take(limit)
            .collect())
    })
    .await?;
    Ok(Json(RunList { runs }))
}

pub async fn gaps(State(state): State<AppState>) -> Result<Json<GapList>, ApiError> {
    let jobs = run_blocking(RULES_TIMEOUT, move || {
        let history = history(&state)?;
        let ids: BTreeSet<String> = history
            .runs(None, JOB_SCAN)
            .map_err(|error| internal("job history", error))?
            .into_iter()
            .map(|run| run.job_id)
            .collect();
        let mut jobs = Vec::new();
        for job_id in ids {
            let gaps = history
                .gaps(&job_id)
                .map_err(|error| internal("job history", error))?;
            if !gaps.is_empty() {
                jobs.push(JobGaps { job_id, gaps });
            }
        }
        Ok(jobs)
    })
    .await?;
    Ok(Json(GapList { jobs }))
}

pub async fn status(
    State(state): State<AppState>,
    ApiQuery(_): ApiQuery<NoParameters>,
) -> Result<Json<JobStatusList>, ApiError> {
    let sources = super::rules::sources(&state);
    let now = chrono::Utc::now().timestamp_micros();
    let jobs = run_blocking(RULES_TIMEOUT, move || {
        let history = history(&state)?;
        let disabled =
            read_disabled(state.data_dir()).map_err(|error| internal("disabled rules", error))?;
        let mut jobs: BTreeMap<String, JobState> = BTreeMap::new();
        for rule in load_sql_rules(&sources.paths()).rules {
            let enabled = !disabled.contains(&rule.id);
            let schedule = &rule.schedule;
            let next_slot = schedule.latest_due(now).saturating_add(schedule.interval());
            jobs.insert(
                rule.id.clone(),
                JobState {
                    job_id: rule.id.clone(),
                    kind: "sql",
                    interval: Some(format_duration(schedule.interval())),
                    enabled: Some(enabled),
                    last_run: None,
                    last_success: None,
                    next_due: enabled
                        .then(|| rfc3339(schedule.due_at(next_slot)))
                        .flatten(),
                    open_gaps: 0,
                },
            );
        }
        let known: BTreeSet<String> = history
            .runs(None, JOB_SCAN)
            .map_err(|error| internal("job history", error))?
            .into_iter()
            .map(|run| run.job_id)
            .collect();
        for job_id in known {
            jobs.entry(job_id.clone()).or_insert_with(|| JobState {
                job_id,
                kind: "other",
                interval: None,
                enabled: None,
                last_run: None,
                last_success: None,
                next_due: None,
                open_gaps: 0,
            });
        }
        for job in jobs.values_mut() {
            let failed = |error| internal("job history", error);
            job.last_run = history
                .runs(Some(&job.job_id), 1)
                .map_err(failed)?
                .into_iter()
                .next();
            job.last_success = history.last_completed(&job.job_id).map_err(failed)?;
            job.open_gaps = history.gaps(&job.job_id).map_err(failed)?.len();
        }
        Ok(jobs.into_values().collect())
    })
    .await?;
    Ok(Json(JobStatusList { jobs }))
}
