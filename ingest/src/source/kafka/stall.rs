//! A data directory that refuses writes (the disk is full, a volume went read-only, a
//! directory's permissions changed): the worker stops reading, says why, and tries again every
//! [`RETRY_INTERVAL`] until a write succeeds; then every partition resumes from the manifest.
//! Nothing is lost and nothing is stored twice: what was read since the last checkpoint was
//! dropped and is read again, and the manifest only ever records what is durable.
//!
//! Reading stops by pausing the assigned partitions at the client: the worker keeps polling, so
//! it stays in its group, and nothing piles up in memory.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use tracing::{error, info, warn};

use super::KafkaSourceError;
use super::assignment::WorkerContext;
use super::worker::Worker;
use crate::pipeline::IngestError;
use crate::store::StoreError;

/// How often a stalled worker tries to write again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// How long a seek may take before the worker gives up (the client is local; a seek only
/// fails when the partition is no longer assigned).
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// The worker stopped reading because the data directory refused a write.
#[derive(Debug)]
pub struct Stall {
    since: Instant,
    next_try: Instant,
    attempts: u64,
}

/// Whether `error` is the data directory refusing a write, which passes, rather than a lost
/// partition, damaged data or the broker, which the caller handles otherwise.
pub fn is_write_refused(error: &KafkaSourceError) -> bool {
    matches!(
        error,
        KafkaSourceError::Ingest(IngestError::Store(
            StoreError::Io { .. } | StoreError::Parquet(_) | StoreError::Index(_)
        ))
    )
}

impl Worker {
    /// Whether reading is paused until the data directory takes writes again.
    pub fn is_stalled(&self) -> bool {
        self.stalled.is_some()
    }

    /// A write failed with `error` ([`is_write_refused`]): drops what was read since the last
    /// checkpoint and pauses every assigned partition.
    pub fn stall(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        error: &KafkaSourceError,
    ) -> Result<(), KafkaSourceError> {
        error!(
            %error,
            retry_secs = RETRY_INTERVAL.as_secs(),
            "cannot write to the data directory: reading is paused until a write succeeds; what was read since the last checkpoint is read again then"
        );
        self.metrics.write_stalls += 1;
        self.metrics.dropped_pending();
        self.ingestor.discard_buffered();
        // A revocation or a shutdown while stalled must not record these reads as completed.
        self.progress.drop_pending();
        consumer.pause(&consumer.assignment()?)?;
        let now = Instant::now();
        self.stalled = Some(Stall {
            since: now,
            next_try: now + RETRY_INTERVAL,
            attempts: 0,
        });
        Ok(())
    }

    /// While stalled, when a try is due: writes a probe file and repairs the store as on start
    /// ([`crate::store::EventStore::resume_offsets`]); once both succeed, seeks every partition
    /// to where the manifest resumes it and resumes reading. Returns whether the worker is still
    /// stalled.
    pub fn retry_write(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        now: Instant,
    ) -> Result<bool, KafkaSourceError> {
        let Some(stall) = self.stalled.as_mut() else {
            return Ok(false);
        };
        if now < stall.next_try {
            return Ok(true);
        }
        stall.attempts += 1;
        let store = self.ingestor.store_mut();
        let resume = match store.probe_write().and_then(|()| store.resume_offsets()) {
            Ok(resume) => resume,
            Err(error) => {
                warn!(
                    %error,
                    stalled_secs = stall.since.elapsed().as_secs(),
                    attempts = stall.attempts,
                    "the data directory still refuses writes; reading stays paused"
                );
                stall.next_try = now + RETRY_INTERVAL;
                return Ok(true);
            }
        };
        let stalled_secs = stall.since.elapsed().as_secs_f64();
        for (topic, partition, offset) in self.progress.reset(&resume) {
            consumer.seek(&topic, partition, offset, SEEK_TIMEOUT)?;
        }
        consumer.resume(&consumer.assignment()?)?;
        self.stalled = None;
        info!(
            stalled_secs,
            "the data directory takes writes again; every partition resumes from the manifest"
        );
        Ok(false)
    }
}
