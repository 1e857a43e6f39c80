//! weft's ingest side: the event schema, the parsers that turn raw log records into it, and the
//! event store that keeps the result.
//!
//! Data flows `Source -> Framer -> Parser -> Normalizer -> Arrow RecordBatch -> Parquet`:
//!
//! - [`schema`] owns the Arrow schema v1 of normalized events (DESIGN.md, `docs/schema.md`).
//! - [`parse`] holds one parser per format, registered in [`parse::FORMATS`], and the
//!   per-record format detection behind `--format auto`.
//! - [`store`] writes Parquet segments and the manifest; [`source::kafka`] (feature `kafka`)
//!   runs Kafka consumer-group workers whose offsets the manifest records;
//!   [`store::remote`] replicates the store to object storage and restores it (S3 with the
//!   default feature `s3`, a directory always).
//! - [`event::Event`] is what a parser produces; [`batch::EventBatchBuilder`] appends events
//!   straight into Arrow arrays.
//!
//! Invariants: parsers never panic on any input; every record read is either stored or
//! dead-lettered with a reason (`read == stored + dead_lettered`).

pub mod batch;
pub mod config;
pub mod deadletter;
pub mod event;
pub mod frame;
pub mod id;
pub mod index;
pub mod parse;
pub mod pipeline;
pub mod schema;
pub mod source;
pub mod store;
pub mod time;

pub use event::{Class, Event, Flag, Outcome};

/// The unit tests (and the Kafka benchmark among them) allocate with mimalloc, as the `weft`
/// binary does: glibc's allocator spends much of a worker's time in page faults.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
