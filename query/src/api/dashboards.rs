//! The dashboard routes: the definitions weft ships and users add to
//! `<data_dir>/dashboards/`, and their panels run server-side.
//!
//! - `GET /api/v1/dashboards` → `{"dashboards": [...], "refused": [...]}`: every dashboard
//!   (id, title, description, default range, panel count, where it comes from) and every file
//!   that did not load, with the reason.
//! - `GET /api/v1/dashboards/{id}` → the definition.
//! - `GET /api/v1/dashboards/{id}/panels/{panel}?from=&to=` → the panel's answer over the
//!   range (`columns`, `rows`, `bucket`; see [`crate::panels`]). Without `to`, now; without
//!   `from`, the dashboard's range before `to`.
//!
//! A dashboard's queries come from files the operator controls, so viewers may run them; the
//! SQL still goes through the read-only check and the limits of `POST /api/v1/sql`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use weft_dashboards::catalogue::{Catalogue, DashboardSource, load_catalogue, user_dir};
use weft_dashboards::definition::{Dashboard, PanelQuery, RANGE_SECONDS, valid_id};

use super::AppState;
use super::params::{ApiQuery, time_param};
use super::rules::{RULES_TIMEOUT, run_blocking};
use crate::error::ApiError;
use crate::panels::{self, PanelAnswer, PanelRange};

const SECOND: i64 = 1_000_000;

/// One dashboard in the list.
#[derive(Debug, Serialize)]
pub struct DashboardEntry {
    pub id: String,
    pub title: String,
    pub description: String,
    pub range: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u32>,
    pub panels: usize,
    /// `builtin`, or the user's file name.
    pub source: String,
}

/// A file that did not load: its name under the dashboards directory and why.
#[derive(Debug, Serialize)]
pub struct RefusedEntry {
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct DashboardList {
    pub dashboards: Vec<DashboardEntry>,
    pub refused: Vec<RefusedEntry>,
}

/// One dashboard's definition and where it comes from.
#[derive(Debug, Serialize)]
pub struct DashboardDetail {
    #[serde(flatten)]
    pub dashboard: Dashboard,
    pub source: String,
}

/// The list and definition routes take no parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

/// Parameters of a panel run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelQueryParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn source_name(source: &DashboardSource) -> String {
    match source {
        DashboardSource::Builtin => "builtin".to_string(),
        DashboardSource::File(path) => file_name(path),
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

async fn catalogue(state: &AppState) -> Result<Catalogue, ApiError> {
    let dir = user_dir(state.data_dir());
    run_blocking(RULES_TIMEOUT, move || Ok(load_catalogue(&dir))).await
}

fn path_id(id: Result<Path<String>, PathRejection>, what: &str) -> Result<String, ApiError> {
    match id {
        Ok(Path(id)) if valid_id(&id) => Ok(id),
        _ => Err(ApiError::BadRequest(format!(
            "a {what} id is 1 to 64 lower-case letters, digits, `-` and `_`"
        ))),
    }
}

fn find(catalogue: Catalogue, id: &str) -> Result<(Dashboard, DashboardSource), ApiError> {
    catalogue
        .dashboards
        .into_iter()
        .find(|(dashboard, _)| dashboard.id == id)
        .ok_or_else(|| ApiError::NoSuchResource(format!("no dashboard has the id `{id}`")))
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(_): ApiQuery<NoParameters>,
) -> Result<Json<DashboardList>, ApiError> {
    let catalogue = catalogue(&state).await?;
    let dashboards = catalogue
        .dashboards
        .iter()
        .map(|(dashboard, source)| DashboardEntry {
            id: dashboard.id.clone(),
            title: dashboard.title.clone(),
            description: dashboard.description.clone(),
            range: dashboard.range.clone(),
            refresh_seconds: dashboard.refresh_seconds,
            panels: dashboard.panels.len(),
            source: source_name(source),
        })
        .collect();
    let refused = catalogue
        .refused
        .iter()
        .map(|refused| RefusedEntry {
            file: file_name(&refused.path),
            reason: refused.reason.clone(),
        })
        .collect();
    Ok(Json(DashboardList {
        dashboards,
        refused,
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    ApiQuery(_): ApiQuery<NoParameters>,
) -> Result<Json<DashboardDetail>, ApiError> {
    let id = path_id(id, "dashboard")?;
    let (dashboard, source) = find(catalogue(&state).await?, &id)?;
    Ok(Json(DashboardDetail {
        dashboard,
        source: source_name(&source),
    }))
}

/// The range of a panel run: the parameters, else the dashboard's default ending now.
fn range(
    dashboard: &Dashboard,
    params: &PanelQueryParams,
    now: i64,
) -> Result<PanelRange, ApiError> {
    let from = time_param("from", params.from.as_deref())?;
    let to = time_param("to", params.to.as_deref())?.unwrap_or(now);
    let default_span =
        i64::try_from(dashboard.range_seconds()).unwrap_or(i64::MAX / SECOND) * SECOND;
    let from = from.unwrap_or_else(|| to.saturating_sub(default_span));
    if from >= to {
        return Err(ApiError::BadRequest(
            "`from` must be earlier than `to`".to_string(),
        ));
    }
    let longest = i64::try_from(RANGE_SECONDS.1).unwrap_or(i64::MAX) * SECOND;
    if to.saturating_sub(from) > longest {
        return Err(ApiError::BadRequest(format!(
            "a dashboard range is at most {} days",
            RANGE_SECONDS.1 / 86_400
        )));
    }
    Ok(PanelRange { from, to })
}

pub async fn panel(
    State(state): State<AppState>,
    ids: Result<Path<(String, String)>, PathRejection>,
    ApiQuery(params): ApiQuery<PanelQueryParams>,
) -> Result<Json<PanelAnswer>, ApiError> {
    let Ok(Path((id, panel_id))) = ids else {
        return Err(ApiError::BadRequest(
            "invalid dashboard or panel id".to_string(),
        ));
    };
    let id = path_id(Ok(Path(id)), "dashboard")?;
    let panel_id = path_id(Ok(Path(panel_id)), "panel")?;
    let (dashboard, _) = find(catalogue(&state).await?, &id)?;
    let range = range(&dashboard, &params, chrono::Utc::now().timestamp_micros())?;
    let Some(panel) = dashboard.panel(&panel_id).cloned() else {
        return Err(ApiError::NoSuchResource(format!(
            "dashboard `{id}` has no panel `{panel_id}`"
        )));
    };
    let result = match &panel.query {
        PanelQuery::Sql(sql) => panels::run_sql(state.sql(), sql, range).await?,
        PanelQuery::Search(query) => {
            let query = query.clone();
            let (columns, rows) = super::events::blocking(&state, move |search| {
                panels::run_search(search, &query, range)
            })
            .await?;
            (columns, rows, false)
        }
        PanelQuery::Incidents(query) => {
            let query = query.clone();
            let (columns, rows) = super::incidents::blocking(&state, move |incidents| {
                panels::run_incidents(incidents, &query, range)
            })
            .await?;
            (columns, rows, false)
        }
    };
    Ok(Json(panels::answer(&panel, range, result)?))
}
