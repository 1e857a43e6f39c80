//! The webhook output: each alert is one signed JSON `POST`.
//!
//! Headers: `Content-Type: application/json`, `X-Weft-Delivery: <delivery id>`,
//! `X-Weft-Timestamp: <unix seconds of this attempt>`, `X-Weft-Signature: sha256=<hex>` (see
//! [`sign`](mod@super::sign) for how a receiver verifies it), plus the output's configured headers.
//! Redirects are not followed (a signed alert goes where it was configured to go, or nowhere).
//! Any 2xx answer is success; the response body is ignored.

use std::fmt;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue};

use super::sign::sign;
use super::sink::{AlertSink, Delivery, DeliveryError};

/// The most of a response body read into an error message.
const ERROR_BODY_LIMIT: u64 = 4096;

/// A webhook output's runtime: an HTTP agent with the output's timeout, its url, headers and
/// signing secret. Built by [`OutputConfig::build`](super::OutputConfig::build).
pub struct WebhookSink {
    name: String,
    url: String,
    /// `scheme://host[:port]`, what messages show instead of the url (whose path may be a
    /// secret token).
    origin: String,
    secret: Vec<u8>,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    agent: ureq::Agent,
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("headers", &self.headers.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// A sink for a url, secret and headers that the configuration has already validated.
    pub(super) fn new(
        name: String,
        url: String,
        origin: String,
        secret: Vec<u8>,
        headers: Vec<(HeaderName, HeaderValue)>,
        timeout: Duration,
    ) -> WebhookSink {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        WebhookSink {
            name,
            url,
            origin,
            secret,
            headers,
            timeout,
            agent,
        }
    }

    /// The output's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn transport_error(&self, error: ureq::Error) -> DeliveryError {
        let origin = &self.origin;
        match error {
            ureq::Error::Timeout(which) => DeliveryError::Retryable(format!(
                "the webhook receiver at {origin} did not answer within {:?} ({which}); will retry",
                self.timeout
            )),
            ureq::Error::HostNotFound => DeliveryError::Retryable(format!(
                "cannot resolve the webhook host of {origin}; check the output's url, will retry"
            )),
            ureq::Error::BadUri(_)
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::Http(_) => DeliveryError::Permanent(format!(
                "cannot build a request to {origin}: {error}; fix the output's configuration"
            )),
            other => DeliveryError::Retryable(format!(
                "cannot reach the webhook receiver at {origin}: {other}; will retry"
            )),
        }
    }
}

impl AlertSink for WebhookSink {
    fn deliver(&mut self, delivery: &Delivery) -> Result<(), DeliveryError> {
        let timestamp = delivery.attempted_at.div_euclid(1_000_000);
        let signature = sign(&self.secret, timestamp, delivery.body.as_bytes());
        let mut request = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-weft-delivery", &delivery.delivery_id)
            .header("x-weft-timestamp", timestamp.to_string())
            .header("x-weft-signature", signature);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let mut response = request
            .send(delivery.body.as_bytes())
            .map_err(|error| self.transport_error(error))?;
        let status = response.status().as_u16();
        // Read (a bounded part of) the body so the connection can be reused; what it says
        // only matters for an error.
        let detail = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_LIMIT)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(DeliveryError::from_http_status(status, &detail))
    }
}
