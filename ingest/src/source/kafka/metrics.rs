//! Counters of a Kafka worker: records consumed, stored and dead-lettered per topic, consumer
//! lag per partition, checkpoint (flush) latency. Kept here until the API exports them at
//! `/metrics` (as `weft_kafka_<noun>_total`); logged every `metrics_interval_secs` meanwhile.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tracing::info;

/// Counts of one topic.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct TopicCounters {
    /// Records read from the topic.
    pub consumed: u64,
    /// Events durable in the store.
    pub stored: u64,
    /// Records produced to the dead-letter topic (counted when durable).
    pub dead_lettered: u64,
}

/// Events and dead letters per topic that a checkpoint makes durable.
#[derive(Debug, Default)]
pub struct PendingCounts(BTreeMap<String, (u64, u64)>);

/// Everything a worker counts.
#[derive(Debug, Default, Clone, Serialize)]
pub struct KafkaMetrics {
    pub topics: BTreeMap<String, TopicCounters>,
    /// Messages behind the partition's high watermark, per `topic/partition`, as of the last
    /// log.
    pub lag: BTreeMap<String, i64>,
    /// Checkpoints written (segments plus offsets).
    pub checkpoints: u64,
    pub flush_latency_last_ms: u64,
    pub flush_latency_max_ms: u64,
    pub flush_latency_total_ms: u64,
    /// Assignments and revocations handled.
    pub rebalances: u64,
    /// Checkpoints refused because another worker had recorded the partition.
    pub fenced: u64,
    /// Messages delivered again around a seek, skipped.
    pub duplicates_skipped: u64,
    /// Errors the client reported while consuming (it retries by itself).
    pub client_errors: u64,
    /// Times the data directory refused a write and reading paused until it took one again.
    pub write_stalls: u64,
    /// Per topic: events and dead letters since the last checkpoint.
    #[serde(skip)]
    pending: BTreeMap<String, (u64, u64)>,
}

impl KafkaMetrics {
    pub fn consumed(&mut self, topic: &str) {
        self.topic(topic).consumed += 1;
    }

    /// A record of `topic` became `events` buffered events and `dead_letters` dead letters.
    pub fn read(&mut self, topic: &str, events: u64, dead_letters: u64) {
        let pending = match self.pending.get_mut(topic) {
            Some(pending) => pending,
            None => self.pending.entry(topic.to_string()).or_default(),
        };
        pending.0 += events;
        pending.1 += dead_letters;
    }

    /// The pending counts became durable in a checkpoint that took `latency`.
    pub fn checkpointed(&mut self, latency: Duration) {
        let pending = self.take_pending();
        self.checkpoint_written(pending, latency);
    }

    /// The counts since the last checkpoint, handed to a checkpoint being written.
    pub fn take_pending(&mut self) -> PendingCounts {
        PendingCounts(std::mem::take(&mut self.pending))
    }

    /// A checkpoint holding `pending` became durable after `latency`.
    pub fn checkpoint_written(&mut self, pending: PendingCounts, latency: Duration) {
        for (topic, (events, dead_letters)) in pending.0 {
            let counters = self.topic(&topic);
            counters.stored += events;
            counters.dead_lettered += dead_letters;
        }
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.checkpoints += 1;
        self.flush_latency_last_ms = millis;
        self.flush_latency_max_ms = self.flush_latency_max_ms.max(millis);
        self.flush_latency_total_ms += millis;
    }

    /// The pending reads were dropped (they are read again).
    pub fn dropped_pending(&mut self) {
        self.pending.clear();
    }

    fn topic(&mut self, topic: &str) -> &mut TopicCounters {
        if !self.topics.contains_key(topic) {
            self.topics
                .insert(topic.to_string(), TopicCounters::default());
        }
        self.topics
            .get_mut(topic)
            .expect("the topic's counters were just inserted")
    }

    /// Logs the counters at INFO.
    pub fn log(&self) {
        for (topic, counters) in &self.topics {
            info!(
                topic = %topic,
                consumed = counters.consumed,
                stored = counters.stored,
                dead_lettered = counters.dead_lettered,
                "kafka topic counters"
            );
        }
        let lag: Vec<String> = self
            .lag
            .iter()
            .map(|(partition, lag)| format!("{partition}={lag}"))
            .collect();
        info!(
            lag = %lag.join(","),
            checkpoints = self.checkpoints,
            flush_latency_last_ms = self.flush_latency_last_ms,
            flush_latency_max_ms = self.flush_latency_max_ms,
            rebalances = self.rebalances,
            fenced = self.fenced,
            duplicates_skipped = self.duplicates_skipped,
            client_errors = self.client_errors,
            "kafka worker counters"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_dead_lettered_count_only_when_checkpointed() {
        let mut metrics = KafkaMetrics::default();
        metrics.consumed("logs");
        metrics.consumed("logs");
        metrics.read("logs", 1, 0);
        metrics.read("logs", 0, 1);
        assert_eq!(metrics.topics["logs"].stored, 0);
        metrics.checkpointed(Duration::from_millis(12));
        assert_eq!(
            metrics.topics["logs"],
            TopicCounters {
                consumed: 2,
                stored: 1,
                dead_lettered: 1
            }
        );
        metrics.read("logs", 5, 0);
        metrics.dropped_pending();
        metrics.checkpointed(Duration::from_millis(3));
        assert_eq!(metrics.topics["logs"].stored, 1);
        assert_eq!((metrics.flush_latency_max_ms, metrics.checkpoints), (12, 2));
    }
}
