//! The correlation engine: Sigma correlation rules (v2.1 types and v2.2 boolean temporal
//! conditions) evaluated over the signals of the Sigma matcher, in event-time sliding windows
//! with per-partition watermarks, bounded and checkpointed state, and deterministic alerts.
//!
//! - [`compile`]: references resolved by id or name, cycles refused, evaluation order, fields.
//! - [`signal`]: what flows in (rule matches with their fields) and [`extract`] builds them
//!   from a `RecordBatch` and the matcher's matches.
//! - [`watermark`]: per-partition watermarks, idle partitions, the frontier.
//! - [`window`]: a group's window and its incremental aggregates; [`aggregate`] (`event_count`,
//!   `value_count`, `value_sum`, `value_avg`, `value_percentile`, its numbers kept exact or
//!   sketched by [`percentiles`]) and [`temporal`]
//!   (`temporal`, `temporal_ordered`, boolean conditions with `not`) decide on it.
//! - [`engine::Correlator`]: `observe` signals, `advance` to the watermark, `flush`, alerts out;
//!   [`operator`] is one rule's groups, timers, sweeps and firing.
//! - [`sequence`]: weft's sequence extension (per-step join keys, repeats, absence, until).
//! - [`alert`], [`metrics`], [`checkpoint`]; [`backtest`] replays the Parquet store, read by
//!   [`scan`] (DataFusion).
//!
//! `correlate/CORRELATION.md` documents the semantics (boundaries, ties, late data).

pub mod aggregate;
pub mod alert;
pub mod backtest;
pub mod checkpoint;
pub mod clock;
pub mod compile;
pub mod condition;
pub mod engine;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod operator;
pub mod percentiles;
pub mod scan;
pub mod sequence;
pub mod signal;
pub mod temporal;
pub mod watermark;
pub mod window;

pub use alert::Alert;
pub use checkpoint::CorrelatorCheckpoint;
pub use clock::{Clock, ManualClock, SystemClock};
pub use compile::{CompiledCorrelation, CorrelationKind, CorrelationSet, Mode};
pub use engine::{Correlator, CorrelatorConfig};
pub use error::{BacktestError, CheckpointError, CorrelationError};
pub use metrics::{CorrelatorMetrics, RuleMetrics};
pub use sequence::{SequenceRule, parse_sequences};
pub use signal::{EventKey, Evidence, LateSignal, Signal, Source};
