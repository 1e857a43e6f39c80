//! `GET /api/v1/ingest/stats`: ingest health from the manifest, the dead letters, the Kafka
//! worker's lag (where it runs in this process) and one aggregate over the last hour of
//! events. See [`crate::ingest_stats`] for what each number means and where it comes from.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::params::ApiQuery;
use super::rules::{RULES_TIMEOUT, run_blocking};
use crate::error::ApiError;
use crate::ingest_stats::{IngestStats, kafka_lag, manifest_stats, rfc3339, service_stats};
use crate::rules::internal;
use crate::sql::to_rows;

/// `GET /api/v1/ingest/stats` takes no parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;

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
    let (lag, note) = kafka_lag(
        state
            .config()
            .consumer_lag
            .as_ref()
            .map(|lag| lag.snapshot()),
    );
    stats.kafka_lag = lag;
    stats.notes.push(note);
    let from = now - HOUR;
    stats.services_from = rfc3339(from);
    if stats.segments > 0 {
        // One aggregate: events per service and minute of the hour; the rates are sums of it.
        let query = format!(
            "SELECT service, CAST((CAST(time AS BIGINT) - {from}) / {MINUTE} AS BIGINT) AS minute, \
             count(*) AS events FROM events GROUP BY 1, 2"
        );
        let result = state
            .sql()
            .query_batches_between(&query, from, now)
            .await
            .and_then(|batches| to_rows(&batches))?;
        stats.services = service_stats(result.rows.into_iter().filter_map(|row| {
            let service = row.first()?.as_str()?.to_string();
            let minute = row.get(1)?.as_i64()?;
            let events = row.get(2)?.as_u64()?;
            Some((service, minute, events))
        }));
    }
    Ok(Json(stats))
}
