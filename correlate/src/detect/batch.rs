//! Sigma and correlation rules run in batch over a range of stored events: a scheduled job,
//! a backfill, or the re-evaluation of windows that late events reopened. The same matcher and
//! correlator as the stream, so the alert ids agree with what streaming raised for the same
//! events and recording both creates nothing twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::context::{EntityReader, EventContext};
use crate::correlation::backtest::{TimeRange, backtest_with_contexts};
use crate::correlation::{BacktestError, CorrelationSet, CorrelatorConfig};
use crate::record::{AlertRecord, AlertSource};
use crate::sigma::SigmaMatcher;

/// What a batch run found.
#[derive(Debug, Default)]
pub struct BatchOutput {
    pub events_scanned: u64,
    pub alerts: Vec<AlertRecord>,
}

/// The loaded rules, ready to run over any range of the store.
#[derive(Debug, Clone)]
pub struct RuleBatch {
    data_dir: PathBuf,
    matcher: Arc<SigmaMatcher>,
    set: Arc<CorrelationSet>,
    entities: EntityReader,
    config: CorrelatorConfig,
}

impl RuleBatch {
    pub fn new(
        data_dir: &Path,
        matcher: Arc<SigmaMatcher>,
        set: Arc<CorrelationSet>,
        entities: EntityReader,
        config: CorrelatorConfig,
    ) -> RuleBatch {
        RuleBatch {
            data_dir: data_dir.to_path_buf(),
            matcher,
            set,
            entities,
            config,
        }
    }

    /// Runs the rules over the events in `range` (inclusive). With `only`, keeps the alerts of
    /// the rules named there (by id or name); their correlations' inner rules run too, since
    /// the correlation needs them.
    pub fn run(
        &self,
        range: TimeRange,
        only: Option<&[String]>,
        source: AlertSource,
    ) -> Result<BatchOutput, BacktestError> {
        let report = backtest_with_contexts(
            &self.data_dir,
            &self.matcher,
            Arc::clone(&self.set),
            range,
            self.config,
            Some(&self.entities),
        )?;
        let wanted = |rule_id: Option<&str>, rule_name: &str| {
            only.is_none_or(|names| {
                names
                    .iter()
                    .any(|name| Some(name.as_str()) == rule_id || name == rule_name)
            })
        };
        let lookup =
            |event_id: &str| -> Option<EventContext> { report.contexts.get(event_id).cloned() };
        let alerts = report
            .alerts
            .iter()
            .filter(|alert| wanted(alert.rule_id.as_deref(), &alert.rule_name))
            .map(|alert| self.entities.record(alert.clone(), &lookup, source.clone()))
            .collect();
        Ok(BatchOutput {
            events_scanned: report.events_read,
            alerts,
        })
    }
}
