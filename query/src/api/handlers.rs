//! The route handlers. Authentication, authorization, rate limits, headers and audit happen
//! around them (see `middleware`); a handler only sees requests it may answer.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::json::ApiJson;
use crate::auth::{Principal, TokenInfo, list_tokens};
use crate::error::ApiError;
use crate::sql::{to_arrow_ipc, to_rows};

/// The media type of Arrow IPC stream answers.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

#[derive(Debug, Serialize)]
pub struct Status {
    pub status: &'static str,
}

pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// 200 when the events directory is readable and the audit trail healthy; 503 otherwise. Says
/// nothing about the data.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let events_readable = std::fs::read_dir(state.data_dir().join("events")).is_ok();
    let audit_ok = state.audit().is_healthy();
    if events_readable && audit_ok {
        return Json(Status { status: "ready" }).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Status {
            status: "not_ready",
        }),
    )
        .into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = state.metrics().render();
    if let Some(replication) = &state.config().replication {
        body.push_str(&replication.render());
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

#[derive(Debug, Serialize)]
pub struct WhoAmI {
    pub name: String,
    pub role: &'static str,
    pub token_id: String,
}

pub async fn whoami(Extension(principal): Extension<Principal>) -> Json<WhoAmI> {
    Json(WhoAmI {
        name: principal.name,
        role: principal.role.as_str(),
        token_id: principal.token_id,
    })
}

/// Body of `POST /api/v1/sql`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One SELECT over the `events` table.
    pub query: String,
}

/// Runs one read-only query; JSON rows by default, an Arrow IPC stream when the `Accept`
/// header asks for it.
pub async fn sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SqlRequest>,
) -> Result<Response, ApiError> {
    state
        .metrics()
        .sql_queries
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(ARROW_STREAM));
    let _ticket = state.sql_admission().admit().await.inspect_err(|_| {
        state
            .metrics()
            .sql_refused_busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })?;
    let result = state.sql().query_batches(&request.query).await?;
    if wants_arrow {
        let body = to_arrow_ipc(&result)?;
        return Ok((
            [(header::CONTENT_TYPE, HeaderValue::from_static(ARROW_STREAM))],
            body,
        )
            .into_response());
    }
    Ok(Json(to_rows(&result)?).into_response())
}

#[derive(Debug, Serialize)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

pub async fn tokens(State(state): State<AppState>) -> Result<Json<TokenList>, ApiError> {
    let data_dir = state.data_dir().to_path_buf();
    let listed = tokio::task::spawn_blocking(move || list_tokens(&data_dir))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|error| {
            tracing::error!(%error, "listing tokens");
            ApiError::Internal
        })?;
    Ok(Json(TokenList { tokens: listed }))
}

pub async fn unrouted() -> ApiError {
    ApiError::NotFound("this route has no handler".to_string())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("see /api/v1/openapi.json for the routes".to_string())
}

pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}
