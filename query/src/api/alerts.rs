//! The alert route: stored alerts, newest first (window end, then id).
//!
//! `GET /api/v1/alerts?incident_id=&rule=&min_severity=&entity_type=&entity_value=&service=&since=&until=&limit=&offset=`
//! → `{"alerts": [...]}`. `rule` is a rule id or name; `since` (inclusive) and `until`
//! (exclusive) bound the alert's window end, as RFC 3339 times; `limit` 1 to 500 (default 50).
//! An unknown or repeated parameter, a bad severity, time or limit is a 400 naming it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use weft_correlate::incident::{AlertFilter, StoredAlert};

use super::AppState;
use super::incidents::{DEFAULT_LIMIT, blocking, entity, limit, offset, severity, text_param};
use super::params::{ApiQuery, time_param};
use crate::error::ApiError;

/// Parameters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only alerts of this incident (after merges, the surviving one).
    pub incident_id: Option<String>,
    /// Only alerts of this rule, by id or name.
    pub rule: Option<String>,
    pub min_severity: Option<String>,
    pub entity_type: Option<String>,
    pub entity_value: Option<String>,
    pub service: Option<String>,
    /// Earliest window end, RFC 3339, inclusive.
    pub since: Option<String>,
    /// Latest window end, RFC 3339, exclusive.
    pub until: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// One page of alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertPage {
    /// Newest first.
    pub alerts: Vec<StoredAlert>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<Json<AlertPage>, ApiError> {
    let filter = alert_filter(query)?;
    let alerts = blocking(&state, move |incidents| incidents.alerts(&filter)).await?;
    Ok(Json(AlertPage { alerts }))
}

fn alert_filter(query: AlertQuery) -> Result<AlertFilter, ApiError> {
    let text =
        |name: &str, value: Option<String>| value.map(|value| text_param(name, &value)).transpose();
    let since = time_param("since", query.since.as_deref())?;
    let until = time_param("until", query.until.as_deref())?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::BadRequest(
            "`since` must be before `until`".to_string(),
        ));
    }
    Ok(AlertFilter {
        incident_id: text("incident_id", query.incident_id)?,
        rule: text("rule", query.rule)?,
        min_severity: query.min_severity.as_deref().map(severity).transpose()?,
        entity: entity(
            text("entity_type", query.entity_type)?,
            text("entity_value", query.entity_value)?,
        )?,
        service: text("service", query.service)?,
        since,
        until,
        limit: Some(
            query
                .limit
                .as_deref()
                .map(limit)
                .transpose()?
                .unwrap_or(DEFAULT_LIMIT),
        ),
        offset: query
            .offset
            .as_deref()
            .map(offset)
            .transpose()?
            .unwrap_or(0),
    })
}
