//! The dead-letter topic: records that cannot be stored are produced to
//! `<topic>.dlq` (configurable) with their raw bytes as the value and headers saying why and
//! where they came from. A checkpoint flushes the producer first and fails if any dead letter
//! was not delivered, so an offset never counts as done before its dead letter is in Kafka.
//!
//! Headers: `weft.reason`, `weft.topic`, `weft.partition`, `weft.offset`, `weft.received`
//! (UTC microseconds).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use crate::pipeline::{DeadLetterRecord, DeadLetterSink, IngestError};

/// Longest wait for the dead letters of a checkpoint to be acknowledged.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts dead letters the broker did not take.
#[derive(Debug, Default)]
pub struct DeliveryTracker {
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl DeliveryTracker {
    /// Records not delivered so far, and the last error.
    pub fn failures(&self) -> (u64, String) {
        let last = self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        (self.failed.load(Ordering::SeqCst), last)
    }
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            self.failed.fetch_add(1, Ordering::SeqCst);
            *self
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error.to_string());
        }
    }
}

/// Why a dead letter could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("producing to dead-letter topic {topic}: {error}")]
    Produce { topic: String, error: KafkaError },
    #[error("waiting for dead letters to be acknowledged: {0}")]
    Flush(KafkaError),
    #[error(
        "{count} dead letter(s) were not delivered (last error: {last}); check the dead-letter topics exist and the brokers accept writes"
    )]
    Undelivered { count: u64, last: String },
}

impl From<DeadLetterError> for IngestError {
    fn from(error: DeadLetterError) -> Self {
        IngestError::DeadLetter(Box::new(error))
    }
}

/// A [`DeadLetterSink`] producing to Kafka.
pub struct KafkaDeadLetters {
    producer: ThreadedProducer<DeliveryTracker>,
    topic_template: String,
    written: u64,
    failures_seen: u64,
}

impl std::fmt::Debug for KafkaDeadLetters {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaDeadLetters")
            .field("topic_template", &self.topic_template)
            .field("written", &self.written)
            .finish()
    }
}

impl KafkaDeadLetters {
    /// A producer with the worker's client settings; `topic_template` names the dead-letter
    /// topic, `{topic}` standing for the record's topic.
    pub fn new(client: &ClientConfig, topic_template: &str) -> Result<Self, KafkaError> {
        let mut config = client.clone();
        config
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000");
        Ok(KafkaDeadLetters {
            producer: config.create_with_context(DeliveryTracker::default())?,
            topic_template: topic_template.to_string(),
            written: 0,
            failures_seen: 0,
        })
    }
}

impl DeadLetterSink for KafkaDeadLetters {
    fn write(&mut self, letter: &DeadLetterRecord<'_>) -> Result<(), IngestError> {
        let (topic, partition) = letter
            .record
            .topic_partition
            .unwrap_or((letter.record.origin, -1));
        let dead_letter_topic = self.topic_template.replace("{topic}", topic);
        let partition_text = partition.to_string();
        let offset_text = letter.record.offset.to_string();
        let received_text = letter.received.to_string();
        let headers = OwnedHeaders::new_with_capacity(5)
            .insert(Header {
                key: "weft.reason",
                value: Some(letter.reason),
            })
            .insert(Header {
                key: "weft.topic",
                value: Some(topic),
            })
            .insert(Header {
                key: "weft.partition",
                value: Some(&partition_text),
            })
            .insert(Header {
                key: "weft.offset",
                value: Some(&offset_text),
            })
            .insert(Header {
                key: "weft.received",
                value: Some(&received_text),
            });
        let mut record = BaseRecord::<(), [u8]>::to(&dead_letter_topic)
            .payload(letter.bytes)
            .headers(headers);
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                    if Instant::now() < deadline =>
                {
                    record = returned;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((error, _)) => {
                    return Err(DeadLetterError::Produce {
                        topic: dead_letter_topic,
                        error,
                    }
                    .into());
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(DeadLetterError::Flush)?;
        let (failed, last) = self.producer.context().failures();
        if failed > self.failures_seen {
            let count = failed - self.failures_seen;
            self.failures_seen = failed;
            return Err(DeadLetterError::Undelivered { count, last }.into());
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn location(&self) -> String {
        format!("kafka topic {}", self.topic_template)
    }
}
