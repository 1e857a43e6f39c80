//! The correlation engine's errors: compiling correlation rules, restoring checkpoints,
//! reading the store for a backtest.

use std::path::PathBuf;

use super::scan::ScanError;
use crate::sigma::MatchError;

/// Why a set of correlation rules cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorrelationError {
    #[error(
        "correlation `{rule}` refers to `{reference}`, which is neither the id nor the name of a loaded rule; load the referenced rule with it"
    )]
    UnknownReference { rule: String, reference: String },
    #[error("correlation rules refer to each other in a cycle: {0}; break the cycle")]
    Cycle(String),
    #[error("correlation `{rule}`: {reason}")]
    Invalid { rule: String, reason: String },
}

/// Why a checkpoint cannot be written or restored.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot {action} correlation checkpoint {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "correlation checkpoint {path} is not valid: {source}; delete it to start from empty state"
    )]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "correlation checkpoint was written for other rules ({found}), the loaded rules are ({expected}); delete it to start from empty state"
    )]
    RulesChanged { expected: String, found: String },
    #[error("correlation checkpoint has version {0}, this weft reads version {1}")]
    Version(u32, u32),
}

/// Why a backtest failed.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Rules(#[from] CorrelationError),
    #[error("cannot read the event store: {0}")]
    Store(#[from] weft_ingest::store::StoreError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("cannot match rules on the stored events: {0}")]
    Match(#[from] MatchError),
}
