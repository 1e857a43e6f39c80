//! `ApiQuery`: the query-string extractor of the API. Parameter types deny unknown fields, so a
//! misspelt or unsupported parameter, a repeated one, or one of the wrong shape is a 400 problem
//! naming it, never silently ignored.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The query string of a request, as `T`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::try_from_uri(&parts.uri).map_err(|rejection| {
            let text = rejection.body_text();
            let detail = text
                .strip_prefix("Failed to deserialize query string: ")
                .unwrap_or(&text);
            ApiError::BadRequest(format!("invalid query parameters: {detail}"))
        })?;
        Ok(ApiQuery(value))
    }
}

/// An RFC 3339 time parameter as UTC microseconds.
pub fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|time| Some(time.timestamp_micros()))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "`{name}` must be an RFC 3339 time such as 2026-11-23T09:00:00Z"
            ))
        })
}
