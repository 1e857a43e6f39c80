//! Helpers shared by the Sigma integration tests: corpora location and event batches.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use weft_ingest::Event;
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};

/// `../shared/corpora` beside the checkout, or `None` (after saying so) when absent.
pub fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpora not found (the Sigma corpora live there)");
        None
    }
}

/// A schema v1 batch of the given events.
pub fn batch(events: &[Event<'_>]) -> RecordBatch {
    let mut builder = EventBatchBuilder::new();
    for (index, event) in events.iter().enumerate() {
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: 0,
            event_id: &id,
            service: "test",
            raw: "{}",
            not_utf8: false,
        };
        builder.append(event, &meta);
    }
    builder.finish().expect("valid batch")
}
