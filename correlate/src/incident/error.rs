//! What can go wrong reading or changing incidents.

use crate::db::DbError;

use super::config::ConfigError;
use super::model::IncidentStatus;

/// An incident operation that failed. Analysts' mistakes (unknown id, a change a merged
/// incident cannot take, an empty comment) are their own variants, so the API can answer them
/// as client errors.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Store(#[from] DbError),
    #[error("invalid incident configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("no incident {id}; list incidents to find its id")]
    UnknownIncident { id: String },
    #[error("incident {id} was merged into {into}; change {into} instead")]
    Merged { id: String, into: String },
    #[error("incident {id} cannot go from {from} to {to}; weft alone merges incidents")]
    InvalidTransition {
        id: String,
        from: IncidentStatus,
        to: IncidentStatus,
    },
    #[error("the comment on {id} is empty; write some text")]
    EmptyComment { id: String },
    #[error("the comment on {id} is {len} bytes; keep it under {max} bytes")]
    CommentTooLong { id: String, len: usize, max: usize },
    #[error("the {what} is empty; give a name")]
    EmptyName { what: &'static str },
    #[error("the new alerts could not be handed on, nothing was recorded: {0}")]
    Hook(String),
}

impl From<rusqlite::Error> for IncidentError {
    fn from(error: rusqlite::Error) -> IncidentError {
        IncidentError::Store(DbError::Sql(error))
    }
}

impl From<serde_json::Error> for IncidentError {
    fn from(error: serde_json::Error) -> IncidentError {
        IncidentError::Store(DbError::Corrupt {
            what: "incident json column".into(),
            reason: error.to_string(),
        })
    }
}
