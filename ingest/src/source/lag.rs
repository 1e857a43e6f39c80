//! Consumer lag shared between a Kafka worker and whoever reports on it in the same process:
//! the worker publishes, per partition it holds, how far its next offset is behind the
//! broker's high watermark each time it measures it (every `metrics_interval_secs`); `weft
//! run` hands the same [`ConsumerLag`] to the API, which shows the latest measurement in
//! `GET /api/v1/ingest/stats`. Lives outside the `kafka` feature so that readers can name it
//! without the Kafka client.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// The lag of one partition at the time of a measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The next offset the worker will read (its low watermark before it read anything).
    pub next_offset: i64,
    /// The offset after the last message the broker holds.
    pub high_watermark: i64,
    /// `high_watermark - next_offset`, at least 0.
    pub lag: i64,
}

/// One measurement of every partition the worker held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LagSnapshot {
    /// When it was measured, UTC microseconds; `None` before the first measurement.
    pub measured_at: Option<i64>,
    pub partitions: Vec<PartitionLag>,
}

/// A handle to the latest lag measurement. Cheap to clone; clones share the measurement.
#[derive(Debug, Clone, Default)]
pub struct ConsumerLag {
    latest: Arc<Mutex<LagSnapshot>>,
}

impl ConsumerLag {
    /// Replaces the measurement (the worker's side).
    pub fn publish(&self, measured_at: i64, mut partitions: Vec<PartitionLag>) {
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        *latest = LagSnapshot {
            measured_at: Some(measured_at),
            partitions,
        };
    }

    /// The latest measurement (the reader's side).
    pub fn snapshot(&self) -> LagSnapshot {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_latest_measurement_in_partition_order() {
        let worker = ConsumerLag::default();
        let reader = worker.clone();
        assert_eq!(reader.snapshot(), LagSnapshot::default());
        let lag = |partition, next_offset, high_watermark| PartitionLag {
            topic: "logs".to_string(),
            partition,
            next_offset,
            high_watermark,
            lag: high_watermark - next_offset,
        };
        worker.publish(7, vec![lag(1, 5, 9), lag(0, 3, 3)]);
        let snapshot = reader.snapshot();
        assert_eq!(snapshot.measured_at, Some(7));
        assert_eq!(snapshot.partitions, vec![lag(0, 3, 3), lag(1, 5, 9)]);
    }
}
