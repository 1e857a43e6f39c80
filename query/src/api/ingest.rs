//! `GET /api/v1/ingest/stats`: ingest health from the manifest, the dead letters and one
//! aggregate over the last hour of events. See [`crate::ingest_stats`] for what each number
//! means and where it comes from.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::params::ApiQuery;
use super::rules::{RULES_TIMEOUT, run_blocking};
use crate::error::ApiError;
use crate::ingest_stats::{IngestStats, ServiceStats, manifest_stats};
use crate::rules::internal;
use crate::sql::to_rows;

/// `GET /api/v1/ingest/stats` takes no parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

const HOUR: i64 = 3_600_000_000;

pub async fn stats(
    State(state): State<AppState>,
    ApiQuery(_): ApiQuery<NoParameters>,
) -> Result<Json<IngestStats>, ApiError> {
    let now = chrono::Utc::now().timestamp_micros();
    let blocking_state = state.clone();
    let mut stats = run_blocking(RULES_TIMEOUT, move || {
        let data_dir = blocking_state.data_dir();
        let mut stats =
            manifest_stats(data_dir, now).map_err(|error| internal("manifest", error))?;
        stats.dead_letters = blocking_state
            .dead_letters()
            .refresh(data_dir)
            .map_err(|error| internal("dead letters", error))?;
        Ok(stats)
    })
    .await?;
    if stats.segments > 0 {
        let result = state
            .sql()
            .query_batches_between(
                "SELECT service, count(*) AS events FROM events GROUP BY service ORDER BY events DESC, service",
                now - HOUR,
                now,
            )
            .await
            .and_then(|batches| to_rows(&batches))?;
        stats.services = result
            .rows
            .into_iter()
            .filter_map(|row| {
                let service = row.first()?.as_str()?.to_string();
                let events = row.get(1)?.as_u64()?;
                Some(ServiceStats {
                    service,
                    events_last_hour: events,
                })
            })
            .collect();
    }
    Ok(Json(stats))
}
