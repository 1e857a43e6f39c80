//! Partition assignment and revocation, handled explicitly in the consumer's rebalance
//! callback:
//!
//! - on **assign**, the worker repairs whatever a crashed writer left in the store, reads the
//!   manifest's next offset for each partition and starts each partition there (the beginning
//!   for partitions the manifest never saw) — Kafka's committed offsets are not consulted;
//! - on **revoke**, it writes a checkpoint of everything read, commits, and only then gives
//!   the partitions up.
//!
//! The group uses the eager protocol (`range`), so every rebalance revokes all partitions
//! before assigning the new set.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use tracing::{debug, error, info, warn};

use super::KafkaSourceError;
use super::throttle::{ERROR_LOG_INTERVAL, ErrorLogThrottle};
use super::worker::Worker;

/// The consumer's context: the worker's state behind a lock, taken by the poll loop between
/// polls and by the rebalance callback during them.
pub struct WorkerContext {
    worker: Mutex<Worker>,
    /// Each partition's (low, high) watermark as librdkafka's last statistics had it.
    watermarks: Mutex<HashMap<(String, i32), (i64, i64)>>,
    /// Client errors repeat at every reconnect attempt: each is logged once per interval.
    errors: Mutex<ErrorLogThrottle>,
}

impl std::fmt::Debug for WorkerContext {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WorkerContext")
            .finish_non_exhaustive()
    }
}

impl WorkerContext {
    pub fn new(worker: Worker) -> Self {
        WorkerContext {
            worker: Mutex::new(worker),
            watermarks: Mutex::new(HashMap::new()),
            errors: Mutex::new(ErrorLogThrottle::new(ERROR_LOG_INTERVAL)),
        }
    }

    /// Whether a client error is to be logged now: `Some(repeats)` (how often it happened
    /// unlogged since it was last logged), or `None` within [`ERROR_LOG_INTERVAL`] of that.
    pub fn admit_error(&self, error: &str) -> Option<u64> {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(error, Instant::now())
    }

    /// The (low, high) watermark of a partition from the client's last statistics, if they
    /// had one (they arrive every `metrics_interval`, from the fetches the consumer makes).
    pub fn watermarks(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.watermarks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(topic.to_string(), partition))
            .copied()
    }

    /// The worker's state. A panic elsewhere never leaves it half-updated in a way that loses
    /// data (the manifest decides), so a poisoned lock is taken over.
    pub fn worker(&self) -> MutexGuard<'_, Worker> {
        self.worker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn assign(&self, consumer: &BaseConsumer<WorkerContext>, assigned: &mut TopicPartitionList) {
        let mut worker = self.worker();
        worker.metrics.rebalances += 1;
        worker.last_activity = Instant::now();
        // The manifest decides where partitions resume: what is being written goes in first.
        if let Err(error) = worker.finish_in_flight(consumer, CommitMode::Sync, true) {
            error!(%error, "cannot record what was read before the assignment");
            worker.fatal = Some(error);
            return;
        }
        let resume = match worker.ingestor.store_mut().resume_offsets() {
            Ok(resume) => resume,
            Err(error) => {
                error!(%error, "cannot read the manifest to resume the assigned partitions");
                worker.fatal = Some(KafkaSourceError::Ingest(error.into()));
                return;
            }
        };
        if let Err(error) = worker.progress.assign(assigned, &resume) {
            worker.fatal = Some(KafkaSourceError::Client(error));
            return;
        }
        let partitions: Vec<String> = assigned
            .elements()
            .iter()
            .map(|element| {
                format!(
                    "{}/{}@{:?}",
                    element.topic(),
                    element.partition(),
                    element.offset()
                )
            })
            .collect();
        info!(partitions = %partitions.join(","), "assigned partitions, resuming from the manifest");
        drop(worker);
        if let Err(error) = consumer.assign(assigned) {
            self.worker().fatal = Some(KafkaSourceError::Client(error));
        }
    }

    fn revoke(&self, consumer: &BaseConsumer<WorkerContext>) {
        let mut worker = self.worker();
        worker.metrics.rebalances += 1;
        worker.last_activity = Instant::now();
        if let Err(error) = worker.checkpoint(consumer, CommitMode::Sync, true) {
            error!(%error, "cannot record what was read before giving partitions up; it is read again");
            worker.metrics.dropped_pending();
            worker.ingestor.discard_buffered();
            worker.fatal.get_or_insert(error);
        }
        worker.progress.clear();
        info!("revoked partitions after recording what was read");
        drop(worker);
        if let Err(error) = consumer.unassign() {
            warn!(%error, "cannot unassign revoked partitions");
        }
    }
}

impl ClientContext for WorkerContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => error!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Warning => warn!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                info!(facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Debug => debug!(facility, "librdkafka: {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let Some(repeats) = self.admit_error(&error.to_string()) else {
            return;
        };
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            warn!(
                reason,
                repeats,
                "no kafka broker is reachable; retrying until one answers (check the broker addresses and that the broker is up)"
            );
        } else {
            warn!(%error, reason, repeats, "kafka client error; the client retries");
        }
    }

    fn stats(&self, statistics: Statistics) {
        let mut known = HashMap::new();
        for (name, topic) in &statistics.topics {
            for (&partition, figures) in &topic.partitions {
                // librdkafka lists an internal partition -1, and -1 for what it does not know.
                if partition >= 0 && figures.hi_offset >= 0 {
                    known.insert(
                        (name.clone(), partition),
                        (figures.lo_offset.max(0), figures.hi_offset),
                    );
                }
            }
        }
        *self
            .watermarks
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = known;
    }
}

impl ConsumerContext for WorkerContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        error: RDKafkaRespErr,
        partitions: &mut TopicPartitionList,
    ) {
        match error {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.assign(consumer, partitions)
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.revoke(consumer),
            other => {
                warn!(error = ?other, "rebalance failed; giving partitions up");
                self.revoke(consumer);
            }
        }
    }
}
