//! Streaming detection over the event store: new segments are matched by the compiled Sigma
//! rules as soon as they are published, correlated in event time, and what fires becomes
//! [`crate::record::AlertRecord`]s with the entities of its evidence events.
//!
//! - [`detector`]: the [`Detector`] step (`poll`, then `commit` once alerts are recorded).
//! - [`context`]: evidence events' time, service and entity values; alerts' records.
//! - [`batch`]: the same rules over a range of stored events (jobs, backfills, late data).
//! - [`state`]: the detector's checkpoint in the detection store.
//! - [`segment`]: reading a segment's batches.

pub mod batch;
pub mod context;
pub mod detector;
pub mod segment;
pub mod state;

pub use batch::{BatchOutput, RuleBatch};
pub use context::{EntityReader, EventContext};
pub use detector::{DetectError, Detection, Detector, DetectorConfig};
