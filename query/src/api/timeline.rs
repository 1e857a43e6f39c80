//! `GET /api/v1/incidents/{id}/timeline`: an incident's evidence events across services, in
//! event time, with the alerts that link them (see [`crate::incidents::timeline`]).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use weft_correlate::incident::IncidentError;

use super::AppState;
use super::events::blocking as search_blocking;
use super::incidents::{blocking, incident_id};
use crate::error::ApiError;
use crate::incidents::timeline::{Timeline, timeline as build};

pub async fn timeline(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Timeline>, ApiError> {
    let id = incident_id(id)?;
    let lookup = id.clone();
    let detail = blocking(&state, move |incidents| incidents.get(&lookup))
        .await?
        .ok_or_else(|| {
            ApiError::NoSuchResource(IncidentError::UnknownIncident { id }.to_string())
        })?;
    let timeline = search_blocking(&state, move |search| build(search, &detail)).await?;
    Ok(Json(timeline))
}
