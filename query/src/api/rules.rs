//! The rule routes: the catalogue, one rule with its YAML, changes to managed rules, and
//! rules tried on posted events or over the store. See [`crate::rules`] for the semantics.
//!
//! - `GET /api/v1/rules?kind=&enabled=&q=` → `{"rules": [...], "refused": [...]}`.
//! - `GET /api/v1/rules/{id}` → the rule's catalogue entry with `yaml`, its file's text.
//! - `POST /api/v1/rules` `{"yaml": "..."}` → 201 with the new rule's entry; 409 when an id
//!   or name is taken; 400 with the loader's reason when it is refused.
//! - `PUT /api/v1/rules/{id}` `{"yaml": "..."}` → the entry; 404 unknown, 409 for a rule of
//!   a configured path.
//! - `DELETE /api/v1/rules/{id}` → 204; managed rules only.
//! - `POST /api/v1/rules/{id}/enable`, `/disable` → the entry.
//! - `POST /api/v1/rules/test` `{"yaml"?, "rule_id"?, "events": [...], "format"?}` → matches
//!   per event, alerts, and per-event parse errors.
//! - `POST /api/v1/rules/{id}/backtest` `{"from": RFC 3339, "to": RFC 3339}` (at most
//!   [`MAX_BACKTEST_DAYS`] days) → the rule's alerts over the store.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use weft_correlate::db;
use weft_correlate::schedule::JobHistory;

use super::AppState;
use super::json::ApiJson;
use super::params::{ApiQuery, time_param};
use crate::error::ApiError;
use crate::rules::trial::{BacktestAnswer, TestReport, backtest_rule, test_events};
use crate::rules::{
    Catalogue, Decorations, Refused, RuleEntry, RuleSources, catalogue, internal, write,
};

/// Longest a rules call may run before the caller gets 503.
pub const RULES_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest backtest range.
pub const MAX_BACKTEST_DAYS: i64 = 31;
/// Longest rule id accepted in a path.
pub(crate) const MAX_ID_CHARS: usize = 256;

/// Parameters of `GET /api/v1/rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleListQuery {
    /// `sigma`, `correlation`, `sequence` or `sql`.
    pub kind: Option<String>,
    /// `true` or `false`.
    pub enabled: Option<String>,
    /// Text in the title, id, name or tags (case-insensitive).
    pub q: Option<String>,
}

/// The catalogue.
#[derive(Debug, Serialize)]
pub struct RuleList {
    pub rules: Vec<RuleEntry>,
    pub refused: Vec<Refused>,
}

/// One rule with its YAML.
#[derive(Debug, Serialize)]
pub struct RuleDetail {
    #[serde(flatten)]
    pub rule: RuleEntry,
    /// The text of the file that holds the rule.
    pub yaml: String,
}

/// Body of `POST /api/v1/rules` and `PUT /api/v1/rules/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub yaml: String,
}

/// Body of `POST /api/v1/rules/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Rules to try (not stored); without it, the deployment's rules.
    pub yaml: Option<String>,
    /// Only this rule's results.
    pub rule_id: Option<String>,
    /// JSON objects or raw log lines.
    pub events: Vec<serde_json::Value>,
    /// A format of `weft formats`, or `auto` (default).
    pub format: Option<String>,
}

/// Body of `POST /api/v1/rules/{id}/backtest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    pub from: String,
    pub to: String,
}

/// Runs `work` on a blocking thread under `limit`.
pub(super) async fn run_blocking<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let task = tokio::task::spawn_blocking(work);
    let Ok(joined) = tokio::time::timeout(limit, task).await else {
        return Err(ApiError::Timeout { limit });
    };
    joined.map_err(|error| {
        tracing::error!(%error, "blocking task failed");
        ApiError::Internal
    })?
}

pub(super) fn sources(state: &AppState) -> RuleSources {
    let config = state.config();
    RuleSources {
        data_dir: state.data_dir().to_path_buf(),
        configured: config.rules.clone(),
        mapping: config.mapping.clone(),
        placeholders: config.placeholders.clone(),
    }
}

/// The catalogue with hits and job history.
fn load_catalogue(state: &AppState, sources: &RuleSources) -> Result<Catalogue, ApiError> {
    let hits: HashMap<String, u64> = state
        .incidents()
        .alert_counts()
        .map_err(|error| internal("alert counts", error))?;
    let history = db::open(state.data_dir())
        .and_then(JobHistory::new)
        .map_err(|error| internal("job history", error))?;
    catalogue(
        sources,
        &Decorations {
            hits: &hits,
            history: Some(&history),
        },
    )
}

fn entry_of(catalogue: &Catalogue, id: &str) -> Result<RuleEntry, ApiError> {
    catalogue
        .find(id)
        .cloned()
        .ok_or_else(|| ApiError::NoSuchResource(format!("no rule has the id `{id}`")))
}

fn rule_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::BadRequest("invalid rule id".to_string()));
    };
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a rule id is 1 to {MAX_ID_CHARS} characters"
        )));
    }
    Ok(id)
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RuleListQuery>,
) -> Result<Json<RuleList>, ApiError> {
    let kind = query.kind.map(|kind| kind.trim().to_string());
    if let Some(kind) = &kind
        && !["sigma", "correlation", "sequence", "baseline", "sql"].contains(&kind.as_str())
    {
        return Err(ApiError::BadRequest(format!(
            "unknown kind {kind:?}; use sigma, correlation, sequence, baseline or sql"
        )));
    }
    let enabled = match query.enabled.as_deref().map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "`enabled` must be true or false, not {other:?}"
            )));
        }
    };
    let text = query.q.map(|q| q.trim().to_lowercase());
    let sources = sources(&state);
    let catalogue = run_blocking(RULES_TIMEOUT, move || load_catalogue(&state, &sources)).await?;
    let rules = catalogue
        .rules
        .into_iter()
        .filter(|rule| kind.as_deref().is_none_or(|kind| rule.kind == kind))
        .filter(|rule| enabled.is_none_or(|enabled| rule.enabled == enabled))
        .filter(|rule| {
            text.as_deref().is_none_or(|text| {
                std::iter::once(&rule.title)
                    .chain(std::iter::once(&rule.id))
                    .chain(rule.name.iter())
                    .chain(rule.tags.iter())
                    .any(|field| field.to_lowercase().contains(text))
            })
        })
        .collect();
    Ok(Json(RuleList {
        rules,
        refused: catalogue.refused,
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleDetail>, ApiError> {
    let id = rule_id(id)?;
    let sources = sources(&state);
    let detail = run_blocking(RULES_TIMEOUT, move || {
        let rule = entry_of(&load_catalogue(&state, &sources)?, &id)?;
        let yaml = std::fs::read_to_string(&rule.file)
            .map_err(|error| internal("reading a rule", error))?;
        Ok(RuleDetail { rule, yaml })
    })
    .await?;
    Ok(Json(detail))
}

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Response, ApiError> {
    let sources = sources(&state);
    let entry = run_blocking(RULES_TIMEOUT, move || {
        let id = write::create(&sources, &load_catalogue(&state, &sources)?, &body.yaml)?;
        entry_of(&load_catalogue(&state, &sources)?, &id)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<RuleEntry>, ApiError> {
    let id = rule_id(id)?;
    let sources = sources(&state);
    let entry = run_blocking(RULES_TIMEOUT, move || {
        let id = write::update(
            &sources,
            &load_catalogue(&state, &sources)?,
            &id,
            &body.yaml,
        )?;
        entry_of(&load_catalogue(&state, &sources)?, &id)
    })
    .await?;
    Ok(Json(entry))
}

pub async fn delete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = rule_id(id)?;
    let sources = sources(&state);
    run_blocking(RULES_TIMEOUT, move || {
        write::delete(&sources, &load_catalogue(&state, &sources)?, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    state: AppState,
    id: Result<Path<String>, PathRejection>,
    enabled: bool,
) -> Result<Json<RuleEntry>, ApiError> {
    let id = rule_id(id)?;
    let sources = sources(&state);
    let entry = run_blocking(RULES_TIMEOUT, move || {
        let id = write::set_enabled(&sources, &load_catalogue(&state, &sources)?, &id, enabled)?;
        entry_of(&load_catalogue(&state, &sources)?, &id)
    })
    .await?;
    Ok(Json(entry))
}

pub async fn enable(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleEntry>, ApiError> {
    set_enabled(state, id, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<RuleEntry>, ApiError> {
    set_enabled(state, id, false).await
}

pub async fn test(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TestRequest>,
) -> Result<Json<TestReport>, ApiError> {
    let sources = sources(&state);
    let format = request.format.unwrap_or_else(|| "auto".to_string());
    let report = run_blocking(RULES_TIMEOUT, move || {
        test_events(
            &sources,
            request.yaml.as_deref(),
            request.rule_id.as_deref(),
            &request.events,
            &format,
        )
    })
    .await?;
    Ok(Json(report))
}

pub async fn backtest(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ApiJson(request): ApiJson<BacktestRequest>,
) -> Result<Json<BacktestAnswer>, ApiError> {
    let id = rule_id(id)?;
    let from = time_param("from", Some(&request.from))?.unwrap_or_default();
    let to = time_param("to", Some(&request.to))?.unwrap_or_default();
    if from >= to {
        return Err(ApiError::BadRequest(
            "`from` must be before `to`".to_string(),
        ));
    }
    if to - from > MAX_BACKTEST_DAYS * 86_400 * 1_000_000 {
        return Err(ApiError::BadRequest(format!(
            "the range is longer than {MAX_BACKTEST_DAYS} days: backtest it in parts, or use `weft rules backtest`"
        )));
    }
    let sources = sources(&state);
    let answer = run_blocking(RULES_TIMEOUT, move || {
        entry_of(&load_catalogue(&state, &sources)?, &id)?;
        backtest_rule(&sources, &id, from, to)
    })
    .await?;
    Ok(Json(answer))
}
