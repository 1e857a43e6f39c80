//! Alert outputs: where alerts go once they are stored, and the durable delivery that gets
//! them there.
//!
//! Config → build → runtime: [`OutputConfig`] (`[detect.outputs]` in `weft.toml`, see
//! [`config`]) is validated once by [`OutputConfig::build`], which reads secrets from the
//! environment and yields [`Outputs`]: the routes (which output takes which alerts, by Sigma
//! level), the webhook sinks, and the Kafka outputs whose sinks the `weft` binary adds.
//!
//! Delivery goes through the [`Outbox`] in the detection store: alerts are enqueued there in
//! the same moment they are stored, and [`Outbox::deliver_due`] sends them through any
//! [`AlertSink`], retrying with backoff. A failing or missing output never loses an alert: it
//! stays in the store, pending or `failed`, counted by [`Outbox::stats`], until it is
//! delivered or redelivered.
//!
//! - [`config`]: the configuration and its validation.
//! - [`route`]: which alerts an output receives.
//! - [`sink`]: the [`AlertSink`] contract and [`DeliveryError`] (retryable or permanent).
//! - [`payload`]: the JSON document an output receives.
//! - [`webhook`]: the signed JSON POST sink; [`sign`](mod@sign) documents how receivers verify it.
//! - [`outbox`]: the durable deliveries, retries and health counts.

pub mod config;
pub mod outbox;
pub mod payload;
pub mod route;
pub mod sign;
pub mod sink;
pub mod webhook;

pub use config::{
    KafkaOutput, KafkaOutputConfig, OutputConfig, OutputConfigError, Outputs, RetryConfig,
    WebhookConfig,
};
pub use outbox::{
    DeliveryReport, DeliveryState, DeliveryStatus, Outbox, OutboxError, OutputStats, RetryPolicy,
};
pub use payload::AlertPayload;
pub use route::OutputRoute;
pub use sign::{sign, verify_signature};
pub use sink::{AlertSink, Delivery, DeliveryError, Sinks};
pub use webhook::WebhookSink;
