//! Checkpoints: the correlator's whole state (watermarks, frontier, buffered signals, live
//! windows and timers, counters, late signals) written to a file and restored on start, so a
//! window that spans a restart fires exactly once.
//!
//! Take a checkpoint together with the ingest manifest's offsets: on restart, restore it and
//! resume the sources after those offsets. The file is written to a temporary name, fsynced
//! and renamed, so a crash leaves the previous checkpoint or the new one, never half of one.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::clock::Clock;
use super::compile::CorrelationSet;
use super::engine::{Correlator, CorrelatorConfig, CorrelatorState};
use super::error::CheckpointError;

/// The checkpoint format version this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 3;

/// The checkpoint's file name in the data directory.
pub const CHECKPOINT_FILE: &str = "correlation.checkpoint.json";

/// Where the correlator's checkpoint lives in `data_dir` (beside the ingest manifest).
pub fn checkpoint_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(CHECKPOINT_FILE)
}

/// A correlator's state, serializable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CorrelatorCheckpoint {
    pub version: u32,
    /// The rules it was taken with ([`CorrelationSet::fingerprint`]).
    pub rules: String,
    state: CorrelatorState,
}

impl Correlator {
    pub fn checkpoint(&self) -> CorrelatorCheckpoint {
        CorrelatorCheckpoint {
            version: CHECKPOINT_VERSION,
            rules: self.set().fingerprint(),
            state: self.state.clone(),
        }
    }

    /// A correlator that continues from `checkpoint`; refused if the rules changed.
    pub fn restore(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        clock: Arc<dyn Clock>,
        checkpoint: CorrelatorCheckpoint,
    ) -> Result<Correlator, CheckpointError> {
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version(
                checkpoint.version,
                CHECKPOINT_VERSION,
            ));
        }
        let expected = set.fingerprint();
        if checkpoint.rules != expected {
            return Err(CheckpointError::RulesChanged {
                expected,
                found: checkpoint.rules,
            });
        }
        // A learned baseline's state has a format version of its own.
        if let Some(found) = checkpoint
            .state
            .classes
            .iter()
            .flat_map(|class| &class.rules)
            .filter_map(|rule| rule.baseline.as_ref())
            .map(|state| state.version)
            .find(|version| *version != crate::baseline::BASELINE_STATE_VERSION)
        {
            return Err(CheckpointError::Version(
                found,
                crate::baseline::BASELINE_STATE_VERSION,
            ));
        }
        // The lateness classes follow the configured lateness too.
        let correlator = Correlator::with_state(set, config, clock, checkpoint.state);
        if !correlator.state_fits() {
            return Err(CheckpointError::RulesChanged {
                expected,
                found: format!("{} (other lateness classes)", checkpoint.rules),
            });
        }
        Ok(correlator)
    }

    /// Takes over the learned baselines (`crate::baseline`) of a checkpoint that cannot be
    /// restored as a whole (other rules changed): each baseline rule whose state key is
    /// unchanged continues from its saved state (its signals still buffered in the
    /// checkpoint are not taken). Returns how many rule states were adopted.
    pub fn adopt_baselines(&mut self, checkpoint: &CorrelatorCheckpoint) -> usize {
        let mut saved: std::collections::HashMap<&str, &crate::baseline::BaselineState> =
            std::collections::HashMap::new();
        for class in &checkpoint.state.classes {
            for rule in &class.rules {
                if let Some(state) = &rule.baseline
                    && state.version == crate::baseline::BASELINE_STATE_VERSION
                {
                    saved.entry(state.rule.as_str()).or_insert(state);
                }
            }
        }
        let keys: Vec<Option<String>> = self
            .set()
            .correlations()
            .iter()
            .map(|correlation| {
                correlation
                    .rule
                    .baseline
                    .as_ref()
                    .map(|_| crate::baseline::state_key(&correlation.rule))
            })
            .collect();
        let mut adopted = 0;
        for class in &mut self.state.classes {
            for (rule, key) in class.rules.iter_mut().zip(&keys) {
                if let Some(key) = key
                    && let Some(state) = saved.get(key.as_str())
                {
                    let mut state = (*state).clone();
                    rule.timers.clear();
                    if let Some(due) = state.next_due() {
                        rule.timers.push(std::cmp::Reverse((due, Box::default())));
                    }
                    rule.baseline = Some(Box::new(state));
                    adopted += 1;
                }
            }
        }
        adopted
    }

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename).
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), CheckpointError> {
        let io = |action: &'static str| {
            move |source| CheckpointError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let bytes =
            serde_json::to_vec(&self.checkpoint()).map_err(|source| CheckpointError::Format {
                path: path.to_path_buf(),
                source,
            })?;
        let temporary = path.with_extension("tmp");
        let mut file = fs::File::create(&temporary).map_err(io("create"))?;
        file.write_all(&bytes).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        fs::rename(&temporary, path).map_err(io("rename"))?;
        Ok(())
    }

    /// Restores from the file at `path`, or starts empty when there is none.
    pub fn load_checkpoint(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        clock: Arc<dyn Clock>,
        path: &Path,
    ) -> Result<Correlator, CheckpointError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Correlator::new(set, config, clock));
            }
            Err(source) => {
                return Err(CheckpointError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let checkpoint: CorrelatorCheckpoint =
            serde_json::from_slice(&bytes).map_err(|source| CheckpointError::Format {
                path: path.to_path_buf(),
                source,
            })?;
        Correlator::restore(set, config, clock, checkpoint)
    }
}
