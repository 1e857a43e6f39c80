//! `GET /api/v1/rules/hits?from=&to=&buckets=&rule=`: stored alerts per rule per time bucket
//! (by the alert's window end), for every rule in one call, so the catalogue can draw a
//! sparkline per rule; with `rule` (an id or name), only that rule.
//!
//! `from` and `to` are RFC 3339 times (default: the 24 hours before now), at most
//! [`MAX_RANGE_DAYS`] days apart; `buckets` is 1 to [`MAX_BUCKETS`] (default
//! [`DEFAULT_BUCKETS`]). Buckets are equally wide, a whole number of seconds, so the last one
//! may end after `to`: the answer's `to` is where it ends. Rules without alerts in the range
//! are left out.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::incidents::{blocking, text_param};
use super::params::{ApiQuery, time_param};
use crate::error::ApiError;
use crate::ingest_stats::rfc3339;

/// Most buckets one answer holds.
pub const MAX_BUCKETS: usize = 500;
/// Buckets without `buckets`.
pub const DEFAULT_BUCKETS: usize = 24;
/// Longest range.
pub const MAX_RANGE_DAYS: i64 = 366;

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

/// Parameters of `GET /api/v1/rules/hits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub buckets: Option<String>,
    /// Only this rule, by id or name.
    pub rule: Option<String>,
}

/// The alerts of one rule per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleHits {
    /// The rule's id (its name for rules without an id), as the catalogue's `id`.
    pub rule: String,
    pub total: u64,
    /// One count per bucket, oldest first.
    pub counts: Vec<u64>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HitsAnswer {
    /// Start of the first bucket, RFC 3339.
    pub from: Option<String>,
    /// End of the last bucket, RFC 3339.
    pub to: Option<String>,
    pub bucket_seconds: i64,
    pub buckets: usize,
    /// Rules with alerts in the range, most alerts first.
    pub rules: Vec<RuleHits>,
}

/// The range and buckets a query asks for: (from, bucket width, buckets), in microseconds.
fn plan(query: &HitsQuery, now: i64) -> Result<(i64, i64, usize), ApiError> {
    let to = time_param("to", query.to.as_deref())?.unwrap_or(now);
    let from = time_param("from", query.from.as_deref())?.unwrap_or(to.saturating_sub(DAY));
    if from >= to {
        return Err(ApiError::BadRequest(
            "`from` must be before `to`".to_string(),
        ));
    }
    if to - from > MAX_RANGE_DAYS * DAY {
        return Err(ApiError::BadRequest(format!(
            "the range is longer than {MAX_RANGE_DAYS} days; ask for a shorter one"
        )));
    }
    let buckets = match query.buckets.as_deref().map(str::trim) {
        None => DEFAULT_BUCKETS,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|buckets| (1..=MAX_BUCKETS).contains(buckets))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "`buckets` must be a whole number from 1 to {MAX_BUCKETS}"
                ))
            })?,
    };
    let count = i64::try_from(buckets).unwrap_or(1);
    // Whole seconds, rounded up so the buckets cover the range.
    let span = to - from;
    let width = (span + count - 1) / count;
    let width = ((width + SECOND - 1) / SECOND).max(1) * SECOND;
    Ok((from, width, buckets))
}

pub async fn hits(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HitsQuery>,
) -> Result<Json<HitsAnswer>, ApiError> {
    let now = chrono::Utc::now().timestamp_micros();
    let (from, width, buckets) = plan(&query, now)?;
    let rule = query
        .rule
        .as_deref()
        .map(|rule| text_param("rule", rule))
        .transpose()?;
    let counts = blocking(&state, move |incidents| {
        incidents.alert_buckets(from, width, buckets, rule.as_deref())
    })
    .await?;
    let mut rules: Vec<RuleHits> = counts
        .into_iter()
        .map(|(rule, counts)| RuleHits {
            rule,
            total: counts.iter().sum(),
            counts,
        })
        .collect();
    rules.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.rule.cmp(&b.rule)));
    let span = width.saturating_mul(i64::try_from(buckets).unwrap_or(1));
    Ok(Json(HitsAnswer {
        from: rfc3339(from),
        to: rfc3339(from.saturating_add(span)),
        bucket_seconds: width / SECOND,
        buckets,
        rules,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: Option<&str>, to: Option<&str>, buckets: Option<&str>) -> HitsQuery {
        HitsQuery {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            buckets: buckets.map(str::to_string),
            rule: None,
        }
    }

    #[test]
    fn buckets_are_whole_seconds_covering_the_range() {
        let (from, width, buckets) = plan(&query(None, None, None), 10 * DAY).expect("valid");
        assert_eq!((from, width, buckets), (9 * DAY, 3600 * SECOND, 24));
        let (_, width, _) = plan(
            &query(
                Some("2026-11-23T00:00:00Z"),
                Some("2026-11-23T00:00:10Z"),
                Some("3"),
            ),
            0,
        )
        .expect("valid");
        assert_eq!(width, 4 * SECOND, "10 s in 3 buckets: 4 s each");
    }

    #[test]
    fn refuses_backward_long_ranges_and_bad_bucket_counts() {
        let now = 400 * DAY;
        for bad in [
            query(
                Some("2026-11-24T00:00:00Z"),
                Some("2026-11-23T00:00:00Z"),
                None,
            ),
            query(
                Some("2020-01-01T00:00:00Z"),
                Some("2026-01-01T00:00:00Z"),
                None,
            ),
            query(None, None, Some("0")),
            query(None, None, Some("100000")),
            query(None, None, Some("ten")),
            query(Some("yesterday"), None, None),
        ] {
            assert!(
                matches!(plan(&bad, now), Err(ApiError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }
}
