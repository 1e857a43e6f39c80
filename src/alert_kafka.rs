//! The Kafka alerts output (`[[detect.outputs.kafka]]`): each alert is one JSON record on the
//! topic, keyed by its alert id, and counts as delivered once the brokers acknowledged it
//! (`acks=all`). The outbox in the detection store retries it until then.

use std::time::Duration;

use weft_correlate::output::{AlertSink, Delivery, DeliveryError, KafkaOutput};
use weft_ingest::source::kafka::ship::Shipper;

/// How long one alert waits for the brokers' acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

pub struct KafkaAlertSink {
    output: KafkaOutput,
    shipper: Option<Shipper>,
}

impl std::fmt::Debug for KafkaAlertSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KafkaAlertSink")
            .field("output", &self.output.name)
            .field("topic", &self.output.topic)
            .finish()
    }
}

impl KafkaAlertSink {
    pub fn new(output: KafkaOutput) -> KafkaAlertSink {
        KafkaAlertSink {
            output,
            shipper: None,
        }
    }
}

impl AlertSink for KafkaAlertSink {
    fn deliver(&mut self, delivery: &Delivery) -> Result<(), DeliveryError> {
        if self.shipper.is_none() {
            let shipper =
                Shipper::new(&self.output.brokers, &self.output.topic).map_err(|error| {
                    DeliveryError::Retryable(format!("cannot create the producer: {error}"))
                })?;
            self.shipper = Some(shipper);
        }
        let Some(shipper) = self.shipper.as_mut() else {
            return Err(DeliveryError::Retryable("no producer".into()));
        };
        shipper
            .send_acknowledged(
                delivery.body.as_bytes(),
                Some(delivery.alert_id.as_bytes()),
                ACK_TIMEOUT,
            )
            .map_err(|error| DeliveryError::Retryable(error.to_string()))
    }
}
