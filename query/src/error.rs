//! The API's errors: a small closed set, each mapped to one HTTP status and answered as a JSON
//! problem document (`application/problem+json`, RFC 9457). Internal causes are logged, never
//! sent to the caller.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a request was not answered with data.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input of any kind: bad JSON, unknown fields, bad SQL, out-of-range values.
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or credentials weft does not know.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// The caller's role is below the route's minimum.
    #[error("this route needs the {required} role; the token has {actual}")]
    Forbidden {
        required: &'static str,
        actual: &'static str,
    },
    #[error("no such route: {0}")]
    NotFound(String),
    /// The route exists but the thing it names (an incident id) does not.
    #[error("{0}")]
    NoSuchResource(String),
    /// The change cannot apply to the resource as it is (a merged incident).
    #[error("{0}")]
    Conflict(String),
    #[error("method {0} is not allowed on this route")]
    MethodNotAllowed(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The query is valid but needs more than the configured resources.
    #[error("{0}")]
    QueryTooExpensive(String),
    #[error("too many requests; retry after {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// The server runs as many of these requests as it takes; retry shortly.
    #[error("{what}; retry after {} s", retry_after.as_secs())]
    Busy { what: String, retry_after: Duration },
    #[error("the query did not finish within {} s; narrow the time range or aggregate", limit.as_secs())]
    Timeout { limit: Duration },
    /// The client did not send its request body within the configured time.
    #[error("the request body did not arrive within {} s; send it at once", limit.as_secs())]
    SlowBody { limit: Duration },
    /// Something on weft's side failed; the cause is logged, the caller sees a generic message.
    #[error("internal error; the server log has the details")]
    Internal,
}

/// The JSON problem document of every error response.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// A short, stable code for programs (`bad_request`, `forbidden`, ...).
    pub r#type: &'static str,
    pub title: &'static str,
    pub status: u16,
    /// What went wrong and, where it helps, what to do.
    pub detail: String,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NoSuchResource(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QueryTooExpensive(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } | ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::SlowBody { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad_request", "Bad request"),
            ApiError::Unauthenticated => ("unauthenticated", "Unauthenticated"),
            ApiError::Forbidden { .. } => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) | ApiError::NoSuchResource(_) => ("not_found", "Not found"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::MethodNotAllowed(_) => ("method_not_allowed", "Method not allowed"),
            ApiError::PayloadTooLarge { .. } => ("payload_too_large", "Payload too large"),
            ApiError::UnsupportedMediaType => ("unsupported_media_type", "Unsupported media type"),
            ApiError::QueryTooExpensive(_) => ("query_too_expensive", "Query too expensive"),
            ApiError::RateLimited { .. } => ("rate_limited", "Too many requests"),
            ApiError::Busy { .. } => ("busy", "Server busy"),
            ApiError::Timeout { .. } => ("timeout", "Query timed out"),
            ApiError::SlowBody { .. } => ("request_timeout", "Request timeout"),
            ApiError::Internal => ("internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (r#type, title) = self.code();
        Problem {
            r#type,
            title,
            status: self.status().as_u16(),
            detail: self.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::RateLimited { retry_after } | ApiError::Busy { retry_after, .. } => {
                let seconds = retry_after.as_secs().max(1);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            ApiError::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"weft\""),
                );
            }
            _ => {}
        }
        response
    }
}
