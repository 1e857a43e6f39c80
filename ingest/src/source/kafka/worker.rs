//! A worker's state and what it does with it: read a message into the store (or the dead
//! letters), write checkpoints, take partitions over and give them up. The consumer's
//! rebalance callback ([`super::assignment`]) and the poll loop ([`super::run`]) share it.

use std::collections::HashMap;
use std::time::Instant;

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use tracing::{debug, warn};

use super::KafkaSourceError;
use super::assignment::WorkerContext;
use super::config::KafkaSettings;
use super::metrics::{KafkaMetrics, PendingCounts};
use super::offsets::{Admission, PartitionProgress};
use crate::config::IngestConfig;
use crate::parse::{self, ParseContext, Parser};
use crate::pipeline::{IngestError, Ingestor, RecordOrigin};
use crate::source::lag::{ConsumerLag, PartitionLag};
use crate::store::StoreError;
use crate::store::manifest::SegmentEntry;

/// Everything a worker holds between polls.
pub struct Worker {
    pub(super) ingestor: Ingestor,
    pub(super) settings: KafkaSettings,
    pub(super) ingest_config: IngestConfig,
    /// `--format`: the format of every topic.
    pub(super) format_override: Option<String>,
    pub(super) parsers: HashMap<String, Box<dyn Parser>>,
    pub(super) progress: PartitionProgress,
    pub(super) metrics: KafkaMetrics,
    /// Where each lag measurement is published for readers in the same process.
    pub(super) lag: ConsumerLag,
    /// An error a callback met; the poll loop stops with it.
    pub(super) fatal: Option<KafkaSourceError>,
    /// When a message was last read, or the assignment last changed.
    pub(super) last_activity: Instant,
    pub(super) last_metrics_log: Instant,
    /// The checkpoint being written on its own thread, if any.
    pub(super) in_flight: Option<InFlight>,
    /// Set while the data directory refuses writes and reading is paused.
    pub(super) stalled: Option<super::stall::Stall>,
}

/// A checkpoint being written on its own thread while the worker reads on.
#[derive(Debug)]
pub struct InFlight {
    writer: std::thread::JoinHandle<Result<Vec<SegmentEntry>, StoreError>>,
    started: Instant,
    /// Events it holds.
    rows: usize,
    /// What the metrics count as stored once it is durable.
    counts: PendingCounts,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Worker")
            .field("progress", &self.progress)
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// Drops the line end a shipper may leave on a record.
fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

impl Worker {
    fn parser_for(&mut self, topic: &str) -> Result<&mut Box<dyn Parser>, KafkaSourceError> {
        if !self.parsers.contains_key(topic) {
            let format = self
                .format_override
                .clone()
                .or_else(|| self.settings.formats.get(topic).cloned())
                .unwrap_or_else(|| self.ingest_config.format_for(Some(topic)).to_string());
            let options = self
                .ingest_config
                .parser_options(Some(topic))
                .map_err(IngestError::from)?;
            let parser = parse::build(&format, &options).ok_or_else(|| {
                IngestError::from(crate::config::ConfigError::UnknownFormat {
                    format: format.clone(),
                    context: format!(" for topic `{topic}`"),
                })
            })?;
            self.parsers.insert(topic.to_string(), parser);
        }
        Ok(self
            .parsers
            .get_mut(topic)
            .expect("the topic's parser was just inserted"))
    }

    /// Reads one message: its events are buffered for the next checkpoint, or it is
    /// dead-lettered.
    pub fn handle(&mut self, message: &BorrowedMessage<'_>) -> Result<(), KafkaSourceError> {
        let topic = message.topic();
        let partition = message.partition();
        let offset = message.offset();
        self.last_activity = Instant::now();
        let (admission, origin) = self.progress.admit(topic, partition, offset);
        match admission {
            Admission::Read => {}
            Admission::Duplicate => {
                self.metrics.duplicates_skipped += 1;
                return Ok(());
            }
            Admission::NotAssigned => {
                debug!(
                    topic,
                    partition, offset, "skipping a message of a partition not held"
                );
                return Ok(());
            }
        }
        let origin = origin.to_string();
        self.metrics.consumed(topic);
        let headers = message.headers();
        let service = self
            .settings
            .service
            .source_service(topic, message.key(), |name| {
                headers.and_then(|headers| {
                    headers
                        .iter()
                        .find(|header| header.key == name)
                        .and_then(|header| header.value)
                })
            });
        let record = RecordOrigin {
            origin: &origin,
            offset: u64::try_from(offset).unwrap_or(0),
            line: None,
            default_service: topic,
            service,
            topic_partition: Some((topic, partition)),
        };
        let reference_time = message.timestamp().to_millis().map_or_else(
            || chrono::Utc::now().timestamp_micros(),
            |millis| millis.saturating_mul(1000),
        );
        let context = ParseContext { reference_time };
        let before = (
            self.ingestor.summary().read,
            self.ingestor.summary().dead_lettered,
        );
        let payload = trim_line_end(message.payload().unwrap_or_default());
        let max_record = self.ingest_config.max_record_bytes;
        if payload.is_empty() {
            self.ingestor
                .reject("empty: the message has no payload", &record, payload)?;
        } else if payload.len() > max_record {
            self.ingestor
                .reject_oversized(&record, payload.len() as u64, payload, max_record)?;
        } else {
            // Take the parser out so that the ingestor can be borrowed beside it.
            self.parser_for(topic)?;
            let mut parser = self
                .parsers
                .remove(topic)
                .expect("parser_for inserted the topic's parser");
            let result = self
                .ingestor
                .ingest_record(parser.as_mut(), &context, &record, payload);
            self.parsers.insert(topic.to_string(), parser);
            result?;
        }
        let after = self.ingestor.summary();
        let dead_letters = after.dead_lettered - before.1;
        let events = (after.read - before.0).saturating_sub(dead_letters);
        self.metrics.read(topic, events, dead_letters);
        Ok(())
    }

    /// Whether a checkpoint is due: the buffer reached its size bound, or the oldest message
    /// read since the last checkpoint was read the time bound ago. Counting from that read, not
    /// from the last checkpoint, keeps the first records after a quiet spell from being written
    /// at once as a segment of their own.
    pub fn checkpoint_due(&self, now: Instant) -> bool {
        let (_, bytes) = self.ingestor.buffered();
        bytes >= self.settings.flush_bytes
            || self
                .progress
                .pending_since()
                .is_some_and(|since| now.duration_since(since) >= self.settings.flush_interval)
    }

    /// Makes what was read durable (dead letters, then segments and offsets in one checkpoint)
    /// and commits the offsets to Kafka, after the checkpoint being written in the background
    /// (if any). When another worker recorded one of the partitions meanwhile, drops what was
    /// buffered: with `giving_up` (a revocation) that is all; in the poll loop it is fatal,
    /// since the consumer's positions no longer match the manifest.
    pub fn checkpoint(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        mode: CommitMode,
        giving_up: bool,
    ) -> Result<(), KafkaSourceError> {
        self.finish_in_flight(consumer, mode, giving_up)?;
        let ranges = self.progress.pending_ranges();
        if ranges.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        match self.ingestor.checkpoint(ranges) {
            Ok(_) => {
                self.progress.completed();
                self.metrics.checkpointed(started.elapsed());
            }
            Err(IngestError::Store(error @ StoreError::Fenced { .. })) => {
                return self.fenced(error, giving_up);
            }
            Err(error) => return Err(error.into()),
        }
        self.commit(consumer, mode);
        Ok(())
    }

    /// Hands what was read since the last checkpoint (its dead letters made durable first) to
    /// a thread that writes it, and returns to reading. One checkpoint is written at a time:
    /// while the previous one is still being written this waits for it, and nothing is read
    /// meanwhile (librdkafka's bounded queue fills and fetching pauses), so a worker holds at
    /// most two checkpoints' events.
    pub fn checkpoint_in_background(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
    ) -> Result<(), KafkaSourceError> {
        self.finish_in_flight(consumer, CommitMode::Async, false)?;
        let ranges = self.progress.pending_ranges();
        if ranges.is_empty() {
            return Ok(());
        }
        let pending = self.ingestor.take_checkpoint(ranges)?;
        // The next checkpoint starts after these ranges. Should this one fail, the worker stops
        // (or, giving its partitions up, drops them) and every partition resumes from the
        // manifest, so nothing is skipped.
        self.progress.completed();
        let rows = pending.rows();
        let counts = self.metrics.take_pending();
        let writer = std::thread::Builder::new()
            .name("weft-checkpoint".to_string())
            .spawn(move || pending.write())
            .map_err(|error| {
                IngestError::Store(StoreError::io(
                    "starting the checkpoint writer for",
                    self.ingestor.store().data_dir(),
                    error,
                ))
            })?;
        self.in_flight = Some(InFlight {
            writer,
            started: Instant::now(),
            rows,
            counts,
        });
        Ok(())
    }

    /// Whether a checkpoint written in the background has finished, successfully or not.
    pub fn in_flight_finished(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|flight| flight.writer.is_finished())
    }

    /// Waits for the checkpoint being written in the background, if any: counts it and commits
    /// its offsets to Kafka, or handles its failure as [`Self::checkpoint`] does.
    pub fn finish_in_flight(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        mode: CommitMode,
        giving_up: bool,
    ) -> Result<(), KafkaSourceError> {
        let Some(flight) = self.in_flight.take() else {
            return Ok(());
        };
        let result = flight.writer.join().unwrap_or_else(|_| {
            Err(StoreError::io(
                "writing a checkpoint in",
                self.ingestor.store().data_dir(),
                std::io::Error::other("the checkpoint writer panicked"),
            ))
        });
        match result {
            Ok(written) => {
                self.ingestor.checkpoint_written(&written);
                self.metrics
                    .checkpoint_written(flight.counts, flight.started.elapsed());
                self.commit(consumer, mode);
                Ok(())
            }
            Err(error) => {
                self.ingestor.checkpoint_dropped(flight.rows);
                match error {
                    StoreError::Fenced { .. } => self.fenced(error, giving_up),
                    error => Err(IngestError::Store(error).into()),
                }
            }
        }
    }

    /// Another worker recorded one of the partitions: drops everything read but not durable.
    fn fenced(&mut self, error: StoreError, giving_up: bool) -> Result<(), KafkaSourceError> {
        self.metrics.fenced += 1;
        self.metrics.dropped_pending();
        self.ingestor.discard_buffered();
        self.progress.clear();
        if giving_up {
            warn!(%error, "dropping events of partitions another worker took over");
            return Ok(());
        }
        Err(IngestError::Store(error).into())
    }

    /// Commits the completed offsets to Kafka, for lag monitoring only.
    fn commit(&self, consumer: &BaseConsumer<WorkerContext>, mode: CommitMode) {
        let commits = self.progress.commit_list();
        if commits.count() > 0
            && let Err(error) = consumer.commit(&commits, mode)
        {
            warn!(%error, "cannot commit offsets to kafka; lag monitoring lags, delivery does not depend on it");
        }
    }

    /// Logs the counters when their interval has passed, with the lag figures of the
    /// client's last statistics (also published to [`Worker::lag`]). Nothing here waits for
    /// the broker: a slow answer to a watermark request would stall reading.
    pub fn log_metrics_if_due(&mut self, context: &WorkerContext, now: Instant) {
        if now.duration_since(self.last_metrics_log) < self.settings.metrics_interval {
            return;
        }
        self.last_metrics_log = now;
        self.metrics.lag.clear();
        let positions: Vec<(String, i32, Option<i64>)> = self
            .progress
            .positions()
            .map(|(topic, partition, next)| (topic.to_string(), partition, next))
            .collect();
        let mut published = Vec::with_capacity(positions.len());
        for (topic, partition, next) in positions {
            if let Some((low, high)) = context.watermarks(&topic, partition) {
                let next_offset = next.unwrap_or(low).max(low);
                let lag = (high - next_offset).max(0);
                self.metrics.lag.insert(format!("{topic}/{partition}"), lag);
                published.push(PartitionLag {
                    topic,
                    partition,
                    next_offset,
                    high_watermark: high,
                    lag,
                });
            }
        }
        self.lag
            .publish(chrono::Utc::now().timestamp_micros(), published);
        self.metrics.log();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_are_trimmed_once() {
        assert_eq!(trim_line_end(b"a\r\n"), b"a");
        assert_eq!(trim_line_end(b"a\n\n"), b"a\n");
        assert_eq!(trim_line_end(b""), b"");
    }
}
