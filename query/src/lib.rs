//! weft's query side: readers of the event store (SQL over the Parquet segments, full-text
//! search over their index), the incident store, and the authenticated HTTP API analysts use.
//!
//! It reads what `weft-ingest` wrote and what `weft-correlate` found; it never writes events.

/// The schema version of the event store this crate reads.
pub const EVENT_SCHEMA_VERSION: &str = weft_correlate::EVENT_SCHEMA_VERSION;
