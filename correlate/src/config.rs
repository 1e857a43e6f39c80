//! `[detect]` in `weft.toml`: which rules run, how the stream is detected, scheduled jobs,
//! incidents and alert outputs.
//!
//! ```toml
//! [detect]
//! rules = ["rules"]
//! mapping = ["rules/mapping.toml"]
//! poll_interval = "2s"
//! allowed_lateness = "5s"
//!
//! # Sigma or correlation rules run on a schedule over the stored events.
//! [[detect.jobs]]
//! id = "nightly-exfiltration"
//! rules = ["b161ef6d-af71-41c0-ab24-a1c2f994a4b6"]
//! interval = "1h"
//! lookback = "2h"
//! delay = "5m"
//!
//! [detect.incidents]
//! lookback = "24h"
//!
//! [detect.scheduler]
//! max_catch_up = 24
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::incident::IncidentConfig;
use crate::incident::config::HumanDuration;
use crate::output::OutputConfig;
use crate::schedule::SchedulerConfig;

/// The detection side's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Rule files or directories (recursively, `*.yml`/`*.yaml`): Sigma rules, correlation
    /// rules, weft sequences and SQL rules. Empty: weft's built-in pack (unless
    /// `builtin_pack = false`).
    pub rules: Vec<PathBuf>,
    /// With no `rules`, load weft's built-in rule pack (written to
    /// `<data_dir>/builtin-rules/` at start). `false`: without `rules`, nothing is detected
    /// but rules created through the API.
    pub builtin_pack: bool,
    /// Extra Sigma field mappings (TOML), applied over the default one; the rule pack needs
    /// `rules/mapping.toml`.
    pub mapping: Vec<PathBuf>,
    /// Values of Sigma `%placeholders%` (TOML: `name = ["value", ...]`).
    pub placeholders: Option<PathBuf>,
    /// How often the detector looks for newly published segments.
    pub poll_interval: HumanDuration,
    /// How far behind its source's newest event an event may arrive and still be correlated
    /// in the stream; later ones are re-evaluated by the stream recheck job.
    pub allowed_lateness: HumanDuration,
    /// A source silent this long no longer holds correlation windows open.
    pub idle_timeout: HumanDuration,
    /// How far ahead of this machine's clock an event's time may be and still move the
    /// stream's watermark to itself. An event stamped further ahead (a sender's clock days
    /// fast) moves it only to this machine's time: it is still stored and correlated at its
    /// own time, but cannot make every correctly stamped event after it late
    /// (`docs/clocks.md`).
    pub max_future_skew: HumanDuration,
    /// The stream recheck: every interval, the streaming rules run again in batch over the
    /// previous interval (after the allowed lateness), and windows that late events touched
    /// are re-run; what the stream already raised is not raised twice. `"0s"` turns it off.
    pub stream_recheck: HumanDuration,
    /// Sigma and correlation rules run on a schedule.
    pub jobs: Vec<JobConfig>,
    pub incidents: IncidentConfig,
    pub scheduler: SchedulerConfig,
    pub outputs: OutputConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            rules: Vec::new(),
            builtin_pack: true,
            mapping: Vec::new(),
            placeholders: None,
            poll_interval: HumanDuration(std::time::Duration::from_secs(2)),
            allowed_lateness: HumanDuration(std::time::Duration::from_secs(5)),
            idle_timeout: HumanDuration(std::time::Duration::from_secs(30)),
            max_future_skew: HumanDuration(std::time::Duration::from_secs(60)),
            stream_recheck: HumanDuration(std::time::Duration::from_secs(3_600)),
            jobs: Vec::new(),
            incidents: IncidentConfig::default(),
            scheduler: SchedulerConfig::default(),
            outputs: OutputConfig::default(),
        }
    }
}

/// A scheduled job of Sigma or correlation rules (SQL rules carry their own `schedule`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The job's id, under which its history is kept.
    pub id: String,
    /// Rule ids or names; their alerts are what the job reports.
    pub rules: Vec<String>,
    /// How often it runs (runs are aligned to multiples of it, UTC).
    pub interval: String,
    /// The event-time window each run covers, ending at the run's slot; default: the interval.
    pub lookback: Option<String>,
    /// How long after its slot a run waits for late ingest.
    pub delay: Option<String>,
}
