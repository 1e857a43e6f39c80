//! A small producer of log lines, behind `weft ship`: for demos, benchmarks and tests.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::dead_letter::DeliveryTracker;

/// Why records could not be shipped.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("kafka producer: {0}")]
    Client(#[from] KafkaError),
    #[error("{count} record(s) were not delivered to {topic} (last error: {last})")]
    Undelivered {
        topic: String,
        count: u64,
        last: String,
    },
}

/// Sends records to one topic and waits for the broker to acknowledge them.
pub struct Shipper {
    producer: BaseProducer<DeliveryTracker>,
    topic: String,
    sent: u64,
}

impl std::fmt::Debug for Shipper {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Shipper")
            .field("topic", &self.topic)
            .field("sent", &self.sent)
            .finish()
    }
}

impl Shipper {
    pub fn new(brokers: &str, topic: &str) -> Result<Shipper, ShipError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("linger.ms", "10")
            .set("message.timeout.ms", "60000")
            .create_with_context(DeliveryTracker::default())?;
        Ok(Shipper {
            producer,
            topic: topic.to_string(),
            sent: 0,
        })
    }

    /// Queues one record, waiting while the producer's queue is full.
    pub fn send(&mut self, payload: &[u8], key: Option<&[u8]>) -> Result<(), ShipError> {
        let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
        self.producer.poll(Duration::ZERO);
        self.sent += 1;
        Ok(())
    }

    /// Sends one record and waits until the broker acknowledged it (alerts, where each record
    /// must be known delivered before it is marked so).
    pub fn send_acknowledged(
        &mut self,
        payload: &[u8],
        key: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<(), ShipError> {
        let (failures_before, _) = self.producer.context().failures();
        self.send(payload, key)?;
        self.producer.flush(timeout)?;
        let (failures, last) = self.producer.context().failures();
        if failures > failures_before {
            return Err(ShipError::Undelivered {
                topic: self.topic.clone(),
                count: failures - failures_before,
                last,
            });
        }
        Ok(())
    }

    /// Waits until every record is acknowledged; fails if any was not delivered.
    pub fn finish(self, timeout: Duration) -> Result<u64, ShipError> {
        self.producer.flush(timeout)?;
        let (count, last) = self.producer.context().failures();
        if count > 0 {
            return Err(ShipError::Undelivered {
                topic: self.topic,
                count,
                last,
            });
        }
        Ok(self.sent)
    }
}
