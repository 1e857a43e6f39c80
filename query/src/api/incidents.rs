//! The incident routes: list and search, one incident in full, and analysts' changes.
//!
//! - `GET /api/v1/incidents?status=&min_severity=&assignee=&entity_type=&entity_value=&service=&q=&sort=&order=&limit=&offset=`
//!   → `{"incidents": [...], "total": N}`. `status` may repeat or hold a comma list (without
//!   it, every status but `merged`); `q` searches the incident index (tantivy syntax:
//!   `entity:alice`, `rule:spray`, `comment:scanner`, plain words) and combines with the other
//!   filters; `sort` is `severity` (default), `last_seen` or `created`, `order` `desc`
//!   (default) or `asc`; `limit` 1 to 500 (default 50).
//! - `GET /api/v1/incidents/{id}` → the incident with its alerts, entities with counts,
//!   evidence event ids, comments and history.
//! - `POST /api/v1/incidents/{id}/status` `{"status": "acknowledged", "note": "..."}` → the
//!   incident afterwards; the note is kept as a comment.
//! - `POST /api/v1/incidents/{id}/assign` `{"assignee": "name"}` (or `null` to unassign) → the
//!   incident afterwards.
//! - `POST /api/v1/incidents/{id}/comments` `{"text": "..."}` → 201 with the comment.
//!
//! Changes are recorded under the caller's token name. An unknown incident is 404; a change to
//! a merged incident, or to the status `merged`, is 409; every mistake in parameters or body
//! is a 400 naming it.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use weft_correlate::incident::{
    IncidentCounts, IncidentDetail, IncidentError, IncidentFilter, IncidentSort, IncidentStatus,
    Severity,
};
use weft_correlate::record::Entity;

use super::AppState;
use super::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::incidents::{IncidentPage, IncidentQuery, Incidents, IncidentsError, IndexError};

/// Incidents (or alerts) per page when the request does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// Most incidents (or alerts) one page may hold.
pub const MAX_LIMIT: u32 = 500;
/// Longest an incident call may run before the caller gets 503.
pub const INCIDENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest incident id, assignee or filter value accepted.
pub const MAX_NAME_CHARS: usize = 256;

/// Body of `POST /api/v1/incidents/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    /// Why; kept as the caller's comment on the incident.
    pub note: Option<String>,
}

/// Body of `POST /api/v1/incidents/{id}/assign`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The analyst's name, or `null` to unassign; required.
    #[serde(default, deserialize_with = "present")]
    pub assignee: Option<Option<String>>,
}

/// Body of `POST /api/v1/incidents/{id}/comments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
}

/// A field that is present, possibly `null` (missing is the outer `None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

pub async fn list(State(state): State<AppState>, uri: Uri) -> Result<Json<IncidentPage>, ApiError> {
    let query = list_query(&uri)?;
    let page = blocking(&state, move |incidents| incidents.list(&query)).await?;
    Ok(Json(page))
}

/// `GET /api/v1/incidents/counts`: how many incidents match the list's filters, per status and
/// per severity (the status filter, order and page aside).
pub async fn counts(
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Json<IncidentCounts>, ApiError> {
    let query = list_query(&uri)?;
    let counts = blocking(&state, move |incidents| incidents.counts(&query)).await?;
    Ok(Json(counts))
}

pub async fn detail(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = incident_id(id)?;
    let lookup = id.clone();
    let found = blocking(&state, move |incidents| incidents.get(&lookup)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::NoSuchResource(IncidentError::UnknownIncident { id }.to_string()))
}

pub async fn status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = incident_id(id)?;
    let status: IncidentStatus = request.status.parse().map_err(
        |error: weft_correlate::incident::model::UnknownStatus| {
            ApiError::BadRequest(error.to_string())
        },
    )?;
    let now = chrono::Utc::now().timestamp_micros();
    let detail = blocking(&state, move |incidents| {
        incidents.set_status(&id, status, request.note.as_deref(), &principal.name, now)
    })
    .await?;
    Ok(Json(detail))
}

pub async fn assign(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let id = incident_id(id)?;
    let Some(assignee) = request.assignee else {
        return Err(ApiError::BadRequest(
            "give `assignee`: an analyst's name, or null to unassign".to_string(),
        ));
    };
    if let Some(name) = &assignee {
        check_length("assignee", name)?;
    }
    let now = chrono::Utc::now().timestamp_micros();
    let detail = blocking(&state, move |incidents| {
        incidents.assign(&id, assignee.as_deref(), &principal.name, now)
    })
    .await?;
    Ok(Json(detail))
}

pub async fn comment(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(request): ApiJson<CommentRequest>,
) -> Result<Response, ApiError> {
    let id = incident_id(id)?;
    let now = chrono::Utc::now().timestamp_micros();
    let comment = blocking(&state, move |incidents| {
        incidents.comment(&id, &principal.name, &request.text, now)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(comment)).into_response())
}

/// The parameters of the list route. Parsed by hand rather than through a struct because
/// `status` may repeat.
fn list_query(uri: &Uri) -> Result<IncidentQuery, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|rejection| {
        ApiError::BadRequest(format!(
            "invalid query parameters: {}",
            rejection.body_text()
        ))
    })?;
    let mut filter = IncidentFilter {
        limit: Some(DEFAULT_LIMIT),
        ..IncidentFilter::default()
    };
    let mut search = None;
    let mut entity_type = None;
    let mut entity_value = None;
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &pairs {
        if name != "status" {
            if seen.contains(&name.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "`{name}` is given twice; give it once"
                )));
            }
            seen.push(name);
        }
        match name.as_str() {
            "status" => {
                for part in value.split(',').map(str::trim) {
                    if part.is_empty() {
                        return Err(ApiError::BadRequest(
                            "`status` has an empty value; give open, acknowledged, closed or merged"
                                .to_string(),
                        ));
                    }
                    let status: IncidentStatus = part.parse().map_err(
                        |error: weft_correlate::incident::model::UnknownStatus| {
                            ApiError::BadRequest(error.to_string())
                        },
                    )?;
                    if !filter.statuses.contains(&status) {
                        filter.statuses.push(status);
                    }
                }
            }
            "min_severity" => filter.min_severity = Some(severity(value)?),
            "assignee" => filter.assignee = Some(text_param(name, value)?),
            "entity_type" => entity_type = Some(text_param(name, value)?),
            "entity_value" => entity_value = Some(text_param(name, value)?),
            "service" => filter.service = Some(text_param(name, value)?),
            "q" => search = Some(value.clone()),
            "sort" => {
                filter.sort = match value.trim() {
                    "severity" => IncidentSort::Severity,
                    "last_seen" => IncidentSort::LastSeen,
                    "created" => IncidentSort::Created,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "unknown sort {other:?}; use severity, last_seen or created"
                        )));
                    }
                }
            }
            "order" => {
                filter.ascending = match value.trim() {
                    "asc" => true,
                    "desc" => false,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "unknown order {other:?}; use asc or desc"
                        )));
                    }
                }
            }
            "limit" => filter.limit = Some(limit(value)?),
            "offset" => filter.offset = offset(value)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter `{other}`; use status, min_severity, assignee, entity_type, entity_value, service, q, sort, order, limit or offset"
                )));
            }
        }
    }
    filter.entity = entity(entity_type, entity_value)?;
    Ok(IncidentQuery { filter, search })
}

/// A severity parameter.
pub(super) fn severity(value: &str) -> Result<Severity, ApiError> {
    value
        .parse()
        .map_err(|error: weft_correlate::incident::model::UnknownSeverity| {
            ApiError::BadRequest(error.to_string())
        })
}

/// `limit`: 1 to [`MAX_LIMIT`].
pub(super) fn limit(value: &str) -> Result<u32, ApiError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`limit` must be a whole number from 1 to {MAX_LIMIT}"
            ))
        })
}

/// `offset`: a whole number.
pub(super) fn offset(value: &str) -> Result<u32, ApiError> {
    value.trim().parse::<u32>().map_err(|_| {
        ApiError::BadRequest(format!(
            "`offset` must be a whole number from 0 to {}",
            u32::MAX
        ))
    })
}

/// `entity_type` and `entity_value` together, or neither.
pub(super) fn entity(
    entity_type: Option<String>,
    entity_value: Option<String>,
) -> Result<Option<Entity>, ApiError> {
    match (entity_type, entity_value) {
        (Some(kind), Some(value)) => Ok(Some(Entity::new(kind, value))),
        (None, None) => Ok(None),
        _ => Err(ApiError::BadRequest(
            "give `entity_type` and `entity_value` together (e.g. entity_type=user&entity_value=alice)"
                .to_string(),
        )),
    }
}

/// A text parameter: not empty, not too long.
pub(super) fn text_param(name: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "`{name}` is empty; give a value or leave it out"
        )));
    }
    check_length(name, value)?;
    Ok(value.to_string())
}

fn check_length(name: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "`{name}` is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// The `{id}` of an incident route.
pub(super) fn incident_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::BadRequest("invalid incident id".to_string()));
    };
    let valid = !id.is_empty()
        && id.len() <= MAX_NAME_CHARS
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'));
    if !valid {
        return Err(ApiError::BadRequest(format!(
            "an incident id is 1 to {MAX_NAME_CHARS} letters, digits, `-`, `_`, `.` or `:` (e.g. INC-3f2a9c01b7de)"
        )));
    }
    Ok(id)
}

/// Runs `work` on a blocking thread under [`INCIDENT_TIMEOUT`], mapping its errors to the
/// API's: analysts' mistakes are 400, 404 or 409; anything else is logged and internal.
pub(super) async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Incidents) -> Result<T, IncidentsError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    let task = tokio::task::spawn_blocking(move || work(state.incidents()));
    let Ok(joined) = tokio::time::timeout(INCIDENT_TIMEOUT, task).await else {
        return Err(ApiError::Timeout {
            limit: INCIDENT_TIMEOUT,
        });
    };
    let result = joined.map_err(|error| {
        tracing::error!(%error, "incident task failed");
        ApiError::Internal
    })?;
    result.map_err(api_error)
}

fn api_error(error: IncidentsError) -> ApiError {
    match error {
        IncidentsError::Store(error) => match error {
            IncidentError::UnknownIncident { .. } => ApiError::NoSuchResource(error.to_string()),
            IncidentError::Merged { .. } | IncidentError::InvalidTransition { .. } => {
                ApiError::Conflict(error.to_string())
            }
            IncidentError::EmptyComment { .. }
            | IncidentError::CommentTooLong { .. }
            | IncidentError::EmptyName { .. } => ApiError::BadRequest(error.to_string()),
            IncidentError::Store(_) | IncidentError::Config(_) | IncidentError::Hook(_) => {
                tracing::error!(%error, "incident store call failed");
                ApiError::Internal
            }
        },
        IncidentsError::Index(IndexError::Query(message)) => {
            ApiError::BadRequest(format!("invalid `q`: {message}"))
        }
        IncidentsError::Index(error) => {
            tracing::error!(%error, "incident index call failed");
            ApiError::Internal
        }
    }
}
