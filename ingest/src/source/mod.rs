//! Sources that feed the ingest pipeline from outside the process. Files and stdin are read by
//! [`crate::pipeline`] itself; the Kafka consumer group lives in [`kafka`].

#[cfg(feature = "kafka")]
pub mod kafka;
