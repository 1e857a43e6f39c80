//! The sink contract: one delivery attempt of one alert to one output.

/// One delivery of one alert to one output, as the outbox hands it to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Stable across attempts and restarts (a hash of output and alert id): receivers
    /// deduplicate on it, because delivery is at least once.
    pub delivery_id: String,
    /// The output's name.
    pub output: String,
    pub alert_id: String,
    /// The incident the alert was grouped into, when it was known at enqueue time.
    pub incident_id: Option<String>,
    /// 1 on the first attempt.
    pub attempt: u32,
    /// When this attempt is made, UTC microseconds (the `now` given to the outbox).
    pub attempted_at: i64,
    /// The JSON document to send, an [`AlertPayload`](super::AlertPayload), fixed at enqueue
    /// time: every attempt sends the same bytes.
    pub body: String,
}

/// Why a delivery attempt failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver may accept the same delivery later: it is down, overloaded, slow or
    /// unreachable (HTTP 5xx, 408, 429, timeouts, connection errors). The outbox retries with
    /// backoff.
    #[error("{0}")]
    Retryable(String),
    /// The receiver refused the delivery and will refuse it again (HTTP 4xx other than 408
    /// and 429, an unusable url). The outbox keeps it as `failed` for an operator to fix the
    /// output and redeliver.
    #[error("{0}")]
    Permanent(String),
}

impl DeliveryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Retryable(_))
    }

    /// The error for an HTTP response with a status that is not 2xx; `detail` is the start of
    /// the response body, if any.
    pub fn from_http_status(status: u16, detail: &str) -> DeliveryError {
        let detail = detail.trim();
        let mut message = format!("the receiver answered http {status}");
        if !detail.is_empty() {
            message.push_str(": ");
            message.extend(detail.chars().take(200));
        }
        match status {
            408 | 429 | 500..=599 => {
                message.push_str("; will retry");
                DeliveryError::Retryable(message)
            }
            300..=399 => {
                message.push_str(
                    "; redirects are not followed, set the output's url to the final address",
                );
                DeliveryError::Permanent(message)
            }
            _ => {
                message.push_str("; fix the receiver or the output, then redeliver");
                DeliveryError::Permanent(message)
            }
        }
    }
}

/// Where alerts go: a webhook, a Kafka topic, anything that can take one JSON document at a
/// time.
///
/// Contract: `deliver` makes one attempt and blocks until the receiver has acknowledged it or
/// failed (sinks must bound that time, for example with a request timeout). `Ok(())` means
/// the receiver has the alert; the outbox then marks it delivered and never sends it again.
/// An error says whether a later attempt may succeed; the outbox keeps the alert either way.
/// Sinks do not retry themselves: the outbox owns retries and backoff.
///
/// weft implements the webhook sink ([`WebhookSink`](super::WebhookSink)); the Kafka sink is
/// implemented by the `weft` binary, which owns the Kafka producer.
pub trait AlertSink: Send {
    fn deliver(&mut self, delivery: &Delivery) -> Result<(), DeliveryError>;
}

/// The sinks of the configured outputs, by output name.
pub type Sinks = std::collections::BTreeMap<String, Box<dyn AlertSink>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_http_statuses() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                DeliveryError::from_http_status(status, "").is_retryable(),
                "{status}"
            );
        }
        for status in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert!(
                !DeliveryError::from_http_status(status, "").is_retryable(),
                "{status}"
            );
        }
        let error = DeliveryError::from_http_status(503, &"x".repeat(1000));
        assert!(error.to_string().len() < 300);
    }
}
