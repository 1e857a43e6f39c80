//! The event routes: search, time histogram, and one event by id.
//!
//! - `GET /api/v1/events/search?q=&from=&to=&limit=&cursor=` →
//!   `{"events": [...], "total": N, "cursor": "..." | null}`
//! - `GET /api/v1/events/histogram?q=&from=&to=&interval=` →
//!   `{"interval": "1h", "buckets": [{"start": "...", "count": N}], "total": N}`
//! - `GET /api/v1/events/{event_id}` → the event with every column, its raw record included.
//!
//! `q` is a tantivy query (`user:alice AND message:"failed password"`); `from` (inclusive) and
//! `to` (exclusive) are RFC 3339 times. Every mistake in the parameters — an unknown or repeated
//! parameter, bad query syntax, a time that does not parse, `from` not before `to`, a limit out
//! of range, a cursor weft did not make — is a 400 problem naming it. The search itself runs on
//! a blocking thread under a timeout.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::params::{ApiQuery, time_param};
use crate::error::{ApiError, Problem};
use crate::search::{
    Cursor, DEFAULT_LIMIT, EventPage, EventSearch, Histogram, MAX_LIMIT, SearchError, SearchParams,
    histogram,
};

/// Longest a search may run before the caller gets 503.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest event id accepted.
const MAX_EVENT_ID_CHARS: usize = 128;

/// Parameters of `GET /api/v1/events/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Query text; missing or empty matches every event.
    #[serde(default)]
    pub q: String,
    /// Earliest event time, RFC 3339, inclusive.
    pub from: Option<String>,
    /// Latest event time, RFC 3339, exclusive.
    pub to: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Parameters of `GET /api/v1/events/histogram`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramQuery {
    #[serde(default)]
    pub q: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Bucket width: `30s`, `5m`, `1h`, `1d`; chosen from the range when missing.
    pub interval: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "`limit` must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let cursor = query
        .cursor
        .as_deref()
        .map(Cursor::decode)
        .transpose()
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let params = SearchParams {
        query: query.q,
        from: time_param("from", query.from.as_deref())?,
        to: time_param("to", query.to.as_deref())?,
        limit,
        cursor,
    };
    let page = blocking(&state, move |search| search.search(&params)).await?;
    Ok(Json(page))
}

pub async fn histogram(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HistogramQuery>,
) -> Result<Json<Histogram>, ApiError> {
    let from = time_param("from", query.from.as_deref())?;
    let to = time_param("to", query.to.as_deref())?;
    let interval = query
        .interval
        .as_deref()
        .map(histogram::parse_interval)
        .transpose()
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let text = query.q;
    let histogram = blocking(&state, move |search| {
        search.histogram(&text, from, to, interval)
    })
    .await?;
    Ok(Json(histogram))
}

pub async fn event(
    State(state): State<AppState>,
    event_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(event_id)) = event_id else {
        return Err(ApiError::BadRequest("invalid event id".to_string()));
    };
    let valid = !event_id.is_empty()
        && event_id.len() <= MAX_EVENT_ID_CHARS
        && event_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'));
    if !valid {
        return Err(ApiError::BadRequest(format!(
            "an event id is 1 to {MAX_EVENT_ID_CHARS} letters, digits, `-`, `_`, `.` or `:`"
        )));
    }
    let lookup = event_id.clone();
    let found = blocking(&state, move |search| search.event(&lookup)).await?;
    match found {
        Some(event) => Ok(Json(event).into_response()),
        None => Ok(no_such_event(&event_id)),
    }
}

/// 404 for an id no stored event has (a problem document like every error).
fn no_such_event(event_id: &str) -> Response {
    let problem = Problem {
        r#type: "not_found",
        title: "Not found",
        status: StatusCode::NOT_FOUND.as_u16(),
        detail: format!("no stored event has the id {event_id}"),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (StatusCode::NOT_FOUND, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Runs `work` on a blocking thread under [`SEARCH_TIMEOUT`], mapping search errors to the
/// API's: the caller's mistakes are 400, anything else is logged and internal.
pub(super) async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&EventSearch) -> Result<T, SearchError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    let task = tokio::task::spawn_blocking(move || work(state.search()));
    let joined = match tokio::time::timeout(SEARCH_TIMEOUT, task).await {
        Ok(joined) => joined,
        Err(_) => {
            return Err(ApiError::Timeout {
                limit: SEARCH_TIMEOUT,
            });
        }
    };
    let result = joined.map_err(|error| {
        tracing::error!(%error, "event search task failed");
        ApiError::Internal
    })?;
    result.map_err(|error| match error {
        SearchError::Query(message) | SearchError::Request(message) => {
            ApiError::BadRequest(message)
        }
        SearchError::Segment { .. } | SearchError::Index(_) => {
            tracing::error!(%error, "event search failed inside weft");
            ApiError::Internal
        }
    })
}
