//! The job routes: the history of scheduled detection jobs (SQL rules, rule jobs, the stream
//! recheck), as the detection store records it.
//!
//! - `GET /api/v1/jobs?job=&status=&limit=` → `{"runs": [...]}`, newest first; `status` is
//!   `queued`, `running`, `succeeded`, `failed`, `gap` or `filled`; `limit` 1 to 500
//!   (default 50).
//! - `GET /api/v1/jobs/gaps` → `{"jobs": [{"job_id": ..., "gaps": [...]}]}`: every job with
//!   open gaps (slots never run successfully; backfill them with `weft jobs backfill`).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use weft_correlate::db;
use weft_correlate::schedule::{JobHistory, RunRecord, RunStatus};

use super::AppState;
use super::incidents::{DEFAULT_LIMIT, limit, text_param};
use super::params::ApiQuery;
use super::rules::{RULES_TIMEOUT, run_blocking};
use crate::error::ApiError;
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
