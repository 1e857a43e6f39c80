//! Sources that feed the ingest pipeline from outside the process. Files and stdin are read by
//! [`crate::pipeline`] itself; the Kafka consumer group lives in `kafka` (feature `kafka`),
//! and publishes its consumer lag through a [`lag::ConsumerLag`] handle.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod lag;
