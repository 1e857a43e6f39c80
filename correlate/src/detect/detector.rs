//! The streaming detector: follows the event store's manifest, matches every new segment with
//! the compiled Sigma rules, feeds the correlator, and turns what fires into
//! [`AlertRecord`]s.
//!
//! It reads published segments, not the ingest stream, so ingest workers and the detector can
//! run in one process or in several against the same data directory, and a segment is matched
//! exactly when it is durable. Each source origin (a file, a Kafka partition) is one
//! correlator partition with its own watermark; rows keep their order inside a segment, which
//! breaks ties on equal timestamps deterministically.
//!
//! A step is [`Detector::poll`] (read and match new segments, collect alerts) followed, once
//! the caller has recorded those alerts, by [`Detector::commit`]. A crash between the two
//! repeats the step on restart and produces the same alert ids.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;
use weft_ingest::schema;
use weft_ingest::store::manifest::{Manifest, SegmentEntry};

use super::context::{EntityReader, EventContext};
use super::segment::segment_batches;
use super::state::{self, DetectorState, Step};
use crate::correlation::alert::single_event_alert;
use crate::correlation::extract::{event_times, signals_from_batch};
use crate::correlation::{
    Alert, Clock, CorrelationSet, Correlator, CorrelatorConfig, CorrelatorMetrics, LateSignal,
};
use crate::db::{self, DbError};
use crate::record::{AlertRecord, AlertSource, DEFAULT_ENTITY_TYPES};
use crate::sigma::columns::ColumnReader;
use crate::sigma::{MatchError, SigmaMatcher};

/// How the detector runs.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    pub correlator: CorrelatorConfig,
    /// Entity types read from evidence events (schema columns or `attrs` keys).
    pub entity_types: Vec<String>,
    /// Evidence contexts are kept this long in event time behind the newest event,
    /// microseconds; longer than any correlation window.
    pub evidence_retention: i64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            correlator: CorrelatorConfig::default(),
            entity_types: DEFAULT_ENTITY_TYPES
                .iter()
                .map(|kind| kind.to_string())
                .collect(),
            evidence_retention: 7 * 24 * 3_600 * 1_000_000,
        }
    }
}

/// Why a detection step failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot read the event store: {0}")]
    Store(#[from] weft_ingest::store::StoreError),
    #[error("cannot read segment {path}: {reason}")]
    Segment { path: PathBuf, reason: String },
    #[error("cannot match rules on segment {path}: {source}")]
    Match { path: PathBuf, source: MatchError },
}

/// What one step found.
#[derive(Debug, Default)]
pub struct Detection {
    pub alerts: Vec<AlertRecord>,
    /// Signals that arrived after their windows were decided, for re-evaluation.
    pub late: Vec<LateSignal>,
    pub segments: usize,
    pub events: u64,
}

/// The streaming detector over one data directory.
#[derive(Debug)]
pub struct Detector {
    data_dir: PathBuf,
    connection: Connection,
    matcher: Arc<SigmaMatcher>,
    correlator: Correlator,
    entities: EntityReader,
    config: DetectorConfig,
    clock: Arc<dyn Clock>,
    state: DetectorState,
    processed: BTreeSet<String>,
    /// This step's segments and contexts, written by [`Detector::commit`].
    new_segments: Vec<String>,
    new_contexts: Vec<(String, EventContext)>,
}

impl Detector {
    /// A detector that continues from the state saved in `data_dir`'s detection store. When
    /// the correlation rules changed since, their open windows are dropped (with a warning)
    /// and the correlator starts empty but for the learned baselines of unchanged baseline
    /// rules ([`Correlator::adopt_baselines`]); matched segments stay matched.
    pub fn open(
        data_dir: &Path,
        matcher: Arc<SigmaMatcher>,
        set: Arc<CorrelationSet>,
        config: DetectorConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Detector, DetectError> {
        let connection = db::open(data_dir)?;
        state::ensure_schema(&connection)?;
        let (mut saved, _) = state::load_or_quarantine(&connection, data_dir, clock.now_micros())?;
        let processed = state::processed_segments(&connection)?;
        let correlator = match saved.correlator.take() {
            None => Correlator::new(Arc::clone(&set), config.correlator, Arc::clone(&clock)),
            Some(checkpoint) if checkpoint.rules != set.fingerprint() => {
                tracing::warn!(
                    "the correlation rules changed: correlation windows open before the restart \
                     are dropped"
                );
                let mut correlator =
                    Correlator::new(Arc::clone(&set), config.correlator, Arc::clone(&clock));
                let adopted = correlator.adopt_baselines(&checkpoint);
                if adopted > 0 {
                    tracing::info!(adopted, "learned baselines of unchanged rules are kept");
                }
                correlator
            }
            Some(checkpoint) => Correlator::restore(
                Arc::clone(&set),
                config.correlator,
                Arc::clone(&clock),
                checkpoint,
            )
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "correlation windows open before the restart are dropped");
                Correlator::new(Arc::clone(&set), config.correlator, Arc::clone(&clock))
            }),
        };
        Ok(Detector {
            data_dir: data_dir.to_path_buf(),
            connection,
            matcher,
            correlator,
            entities: EntityReader::new(&config.entity_types),
            config,
            clock,
            state: saved,
            processed,
            new_segments: Vec::new(),
            new_contexts: Vec::new(),
        })
    }

    pub fn metrics(&self) -> &CorrelatorMetrics {
        self.correlator.metrics()
    }

    pub fn entity_reader(&self) -> &EntityReader {
        &self.entities
    }

    /// Matches the segments published since the last step and returns the alerts that fired.
    /// With `end_of_input` the sources are known to be finished (`weft run --once`): every
    /// window ending at or before the newest event is decided now instead of waiting for the
    /// allowed lateness.
    pub fn poll(&mut self, end_of_input: bool) -> Result<Detection, DetectError> {
        let loaded = Manifest::new(&self.data_dir).load()?;
        let mut detection = Detection::default();
        let mut alerts = Vec::new();
        for entry in &loaded.entries {
            if self.processed.contains(&entry.segment) || self.new_segments.contains(&entry.segment)
            {
                continue;
            }
            self.match_segment(entry, &mut alerts)?;
            detection.segments += 1;
            detection.events += entry.rows;
        }
        alerts.extend(self.correlator.advance());
        if end_of_input && let Some(max_time) = self.state.max_time {
            alerts.extend(self.correlator.advance_to(max_time.saturating_add(1)));
        }
        detection.late = self.correlator.take_late();
        let pending: HashMap<&str, &EventContext> = self
            .new_contexts
            .iter()
            .map(|(id, context)| (id.as_str(), context))
            .collect();
        let lookup = |event_id: &str| -> Option<EventContext> {
            if let Some(context) = pending.get(event_id) {
                return Some((*context).clone());
            }
            state::context(&self.connection, event_id).unwrap_or_else(|error| {
                tracing::warn!(%error, event_id, "cannot read evidence context");
                None
            })
        };
        detection.alerts = alerts
            .into_iter()
            .map(|alert| self.entities.record(alert, &lookup, AlertSource::Stream))
            .collect();
        Ok(detection)
    }

    fn match_segment(
        &mut self,
        entry: &SegmentEntry,
        alerts: &mut Vec<Alert>,
    ) -> Result<(), DetectError> {
        let path = self.data_dir.join(&entry.path);
        let origin = entry
            .sources
            .first()
            .map_or(entry.segment.as_str(), |source| source.origin.as_str());
        let partition = self.state.partition(origin);
        let mut offset = self.state.offsets.get(&partition).copied().unwrap_or(0);
        let set = Arc::clone(self.correlator.set());
        let match_error = |source| DetectError::Match {
            path: path.clone(),
            source,
        };
        let batches = segment_batches(&path).map_err(|reason| DetectError::Segment {
            path: path.clone(),
            reason,
        })?;
        for batch in batches {
            let batch = batch.map_err(|error| DetectError::Segment {
                path: path.clone(),
                reason: error.to_string(),
            })?;
            let matches = self.matcher.match_batch(&batch).map_err(match_error)?;
            if !matches.is_empty() {
                let rows: BTreeSet<usize> = matches.iter().map(|found| found.row).collect();
                let contexts = self.entities.contexts(&batch, rows).map_err(match_error)?;
                self.new_contexts.extend(contexts);
                let times = event_times(&batch).map_err(match_error)?;
                let ids = ColumnReader::new(&batch, schema::EVENT_ID).map_err(match_error)?;
                for found in &matches {
                    if set.is_standalone(found.rule) && found.row < batch.num_rows() {
                        let event_id = ids.text(found.row).unwrap_or_default();
                        alerts.push(single_event_alert(
                            &set.rule_meta()[found.rule],
                            times.value(found.row),
                            &event_id,
                        ));
                    }
                }
                let base = offset;
                let signals =
                    signals_from_batch(&set, &batch, &matches, partition, &|row| base + row as u64)
                        .map_err(match_error)?;
                for signal in signals {
                    self.correlator.observe(signal);
                }
            }
            offset += batch.num_rows() as u64;
        }
        self.correlator.observe_progress(partition, entry.max_time);
        self.state.offsets.insert(partition, offset);
        self.state.max_time = Some(
            self.state
                .max_time
                .map_or(entry.max_time, |max| max.max(entry.max_time)),
        );
        self.new_segments.push(entry.segment.clone());
        Ok(())
    }

    /// Saves this step (matched segments, correlator state, evidence contexts) in one
    /// transaction. Call it after the step's alerts were recorded.
    pub fn commit(&mut self) -> Result<(), DetectError> {
        self.state.correlator = Some(self.correlator.checkpoint());
        let forget_before = self
            .state
            .max_time
            .map(|max| max.saturating_sub(self.config.evidence_retention));
        let now = self.clock.now_micros();
        state::save(
            &mut self.connection,
            Step {
                state: Some(&self.state),
                segments: &self.new_segments,
                contexts: &self.new_contexts,
                forget_before,
            },
            now,
        )?;
        self.state.correlator = None;
        self.processed.extend(self.new_segments.drain(..));
        self.new_contexts.clear();
        Ok(())
    }
}
