//! Kafka ingest workers: a consumer group whose members read their partitions into the event
//! store, exactly once, with the manifest as the source of truth.
//!
//! - [`config`]: the `[kafka]` section and its validated [`config::KafkaSettings`].
//! - [`assignment`]: the rebalance callback: on assign, resume every partition from the
//!   manifest; on revoke, checkpoint before giving partitions up.
//! - [`offsets`]: per-partition progress, the offset ranges a checkpoint completes.
//! - [`worker`]: one message into the store or the dead letters; checkpoints.
//! - [`dead_letter`]: the dead-letter topic producer.
//! - [`service`]: the rule that names a record's service.
//! - [`metrics`]: the worker's counters.
//! - [`stall`]: a data directory that refuses writes pauses reading until it takes them again.
//! - [`throttle`]: client errors logged once per interval, with their repeats.
//! - [`ship`]: the producer behind `weft ship`.
//!
//! Delivery: a checkpoint ([`crate::store::EventStore::checkpoint`]) writes the buffered
//! events as segments whose manifest lines carry, per partition, the offsets the checkpoint
//! completed; dead letters are acknowledged by the broker before it. A worker killed at any
//! instant loses only what no checkpoint recorded, and whoever resumes the partition reads
//! exactly that again. Kafka's committed offsets follow the manifest, for lag monitoring only.
//!
//! Pipelining and back-pressure: the worker reads and parses on one thread; a due checkpoint
//! is taken out of the store whole ([`crate::store::EventStore::take_checkpoint`]) and written
//! (index, Parquet, manifest) on a thread of its own while reading goes on. One checkpoint is
//! written at a time: when the next is due before the last is durable, the poll loop waits for
//! it. The queues are therefore librdkafka's prefetch queue (bounded by `fetch_queue_kbytes`; a
//! full queue stops fetching, which pauses the partitions at the broker), the store's buffer
//! (bounded by `flush_bytes`) and the one checkpoint being written (at most `flush_bytes`
//! too). Memory stays bounded whatever the backlog. Offsets are committed to Kafka once their
//! checkpoint is durable; should writing fail, the worker stops and every partition resumes
//! from the manifest.

/// The Kafka client weft is built on, for callers that configure or inspect topics.
pub use rdkafka;

pub mod assignment;
pub mod config;
pub mod dead_letter;
pub mod metrics;
pub mod offsets;
pub mod service;
pub mod ship;
pub mod stall;
pub mod throttle;
pub mod worker;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use serde::Serialize;
use tracing::{info, warn};

use self::assignment::WorkerContext;
use self::config::KafkaSettings;
use self::dead_letter::KafkaDeadLetters;
use self::metrics::KafkaMetrics;
use self::offsets::PartitionProgress;
use self::service::ServiceRule;
use self::worker::Worker;
use crate::pipeline::{IngestError, IngestOptions, IngestSummary, Ingestor};
use crate::source::lag::ConsumerLag;

/// How long one poll waits for a message; also the granularity of shutdown and idle checks.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Why a worker stopped. Bad records never cause this; they are dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSourceError {
    #[error("kafka client: {0}")]
    Client(#[from] KafkaError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Config(#[from] config::KafkaConfigError),
}

/// What a worker run did.
#[derive(Debug, Clone, Serialize)]
pub struct KafkaSummary {
    #[serde(flatten)]
    pub ingest: IngestSummary,
    pub kafka: KafkaMetrics,
}

/// One worker run.
#[derive(Debug)]
pub struct KafkaRun<'a> {
    pub data_dir: &'a Path,
    pub settings: KafkaSettings,
    pub ingest: IngestOptions,
    /// Stop once the worker has held an assignment and read nothing for this long.
    pub until_idle: Option<Duration>,
    /// Set by a signal handler: flush, record, leave the group, return.
    pub stop: &'a AtomicBool,
    /// Where the worker publishes its consumer lag (a default handle when nobody reads it).
    pub lag: ConsumerLag,
}

/// The librdkafka configuration of a worker's consumer.
pub fn consumer_config(settings: &KafkaSettings) -> ClientConfig {
    let session_ms = settings.session_timeout.as_millis();
    let heartbeat_ms = (session_ms / 3).clamp(100, 3_000);
    let mut config = client_config(settings);
    config
        .set("group.id", &settings.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("partition.assignment.strategy", "range")
        .set("session.timeout.ms", session_ms.to_string())
        .set("heartbeat.interval.ms", heartbeat_ms.to_string())
        // Partitions' watermarks for the lag figures come with librdkafka's statistics, from
        // the fetches it makes anyway: asking the broker for them would block the poll loop.
        .set(
            "statistics.interval.ms",
            settings
                .metrics_interval
                .as_millis()
                .clamp(1_000, 60_000)
                .to_string(),
        )
        .set(
            "queued.max.messages.kbytes",
            settings.fetch_queue_kbytes.to_string(),
        );
    for (property, value) in &settings.client {
        config.set(property, value);
    }
    config
}

/// The settings every client of a worker shares (consumer and dead-letter producer).
fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.brokers);
    for (property, value) in &settings.client {
        config.set(property, value);
    }
    config
}

/// Runs a worker until `stop` is set, it has been idle for `until_idle`, or a fatal error.
/// Either way it writes a last checkpoint and leaves the group before returning.
pub fn run(run: KafkaRun<'_>) -> Result<KafkaSummary, KafkaSourceError> {
    let KafkaRun {
        data_dir,
        settings,
        mut ingest,
        until_idle,
        stop,
        lag,
    } = run;
    if let ServiceRule::Field(field) = &settings.service {
        ingest
            .config
            .aliases
            .insert(field.clone(), crate::schema::SERVICE.to_string());
    }
    // The worker decides when to write: never behind a checkpoint's back.
    ingest.flush = crate::store::FlushPolicy {
        max_rows: usize::MAX,
        max_bytes: usize::MAX,
        max_open_hours: usize::MAX,
    };
    let ingest_config = ingest.config.clone();
    let format_override = ingest.format.clone();
    let dead_letters =
        KafkaDeadLetters::new(&client_config(&settings), &settings.dead_letter_topic)?;
    let ingestor = Ingestor::open_with_dead_letters(data_dir, ingest, Box::new(dead_letters))?;
    let now = Instant::now();
    let worker = Worker {
        ingestor,
        settings: settings.clone(),
        ingest_config,
        format_override,
        parsers: HashMap::new(),
        progress: PartitionProgress::default(),
        metrics: KafkaMetrics::default(),
        lag,
        fatal: None,
        last_activity: now,
        last_metrics_log: now,
        in_flight: None,
        stalled: None,
    };
    let consumer: BaseConsumer<WorkerContext> =
        consumer_config(&settings).create_with_context(WorkerContext::new(worker))?;
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    info!(topics = %settings.topics.join(","), group = %settings.group, "kafka worker started");

    let result = poll_loop(&consumer, until_idle, stop);
    let context = consumer.context().clone();
    let last = {
        let mut worker = context.worker();
        match result {
            Ok(()) => worker.checkpoint(&consumer, CommitMode::Sync, false),
            Err(error) => {
                // A checkpoint written in the background is complete in itself: let it finish.
                if let Err(error) = worker.finish_in_flight(&consumer, CommitMode::Sync, true) {
                    warn!(%error, "the checkpoint being written failed too");
                }
                // What was read since the last checkpoint may be incomplete (a record whose dead
                // letter failed): record none of it; it is read again.
                worker.metrics.dropped_pending();
                worker.ingestor.discard_buffered();
                worker.progress.clear();
                Err(error)
            }
        }
    };
    // Closing the consumer leaves the group now, not at the end of a session timeout; its
    // revocation has nothing left to record.
    drop(consumer);
    last?;
    let mut worker = context.worker();
    if let Some(error) = worker.fatal.take() {
        return Err(error);
    }
    worker.metrics.log();
    Ok(KafkaSummary {
        ingest: worker.ingestor.summary().clone(),
        kafka: worker.metrics.clone(),
    })
}

fn poll_loop(
    consumer: &BaseConsumer<WorkerContext>,
    until_idle: Option<Duration>,
    stop: &AtomicBool,
) -> Result<(), KafkaSourceError> {
    while !stop.load(Ordering::Relaxed) {
        let message = consumer.poll(POLL_INTERVAL);
        let mut worker = consumer.context().worker();
        if let Some(error) = worker.fatal.take() {
            return Err(error);
        }
        let now = Instant::now();
        if worker.is_stalled() {
            // A message fetched before the pause is read again after the seek that resumes.
            drop(message);
            worker.retry_write(consumer, now)?;
            worker.log_metrics_if_due(consumer.context(), now);
            continue;
        }
        match message {
            Some(Ok(message)) => worker.handle(&message)?,
            Some(Err(error)) => {
                worker.metrics.client_errors += 1;
                if let Some(repeats) = consumer.context().admit_error(&error.to_string()) {
                    warn!(%error, repeats, "kafka consumer error; the client retries");
                }
            }
            None => {}
        }
        let now = Instant::now();
        let written = if worker.checkpoint_due(now) {
            worker.checkpoint_in_background(consumer)
        } else if worker.in_flight_finished() {
            worker.finish_in_flight(consumer, CommitMode::Async, false)
        } else {
            Ok(())
        };
        match written {
            Ok(()) => {}
            Err(error) if stall::is_write_refused(&error) => worker.stall(consumer, &error)?,
            Err(error) => return Err(error),
        }
        worker.log_metrics_if_due(consumer.context(), now);
        if let Some(idle) = until_idle
            && !worker.progress.is_empty()
            && now.duration_since(worker.last_activity) >= idle
        {
            info!(
                idle_secs = idle.as_secs_f64(),
                "idle with partitions assigned; stopping"
            );
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod bench;
