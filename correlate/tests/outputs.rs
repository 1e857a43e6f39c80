//! Alert outputs end to end: configuration, signed webhooks against a real HTTP server on
//! 127.0.0.1, and the durable outbox (retries with backoff on an injected clock, permanent
//! failures, a reopened store).

use std::collections::BTreeMap;
use std::env::VarError;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use weft_correlate::correlation::{Alert, Clock, ManualClock};
use weft_correlate::db;
use weft_correlate::output::{
    AlertPayload, AlertSink, Delivery, DeliveryError, DeliveryStatus, Outbox, OutputConfig,
    OutputConfigError, OutputRoute, Outputs, RetryPolicy, Sinks, sign, verify_signature,
};
use weft_correlate::record::{AlertRecord, AlertSource, Entity};
use weft_correlate::sigma::rule::Level;

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_777_636_800 * SECOND;
const SECRET: &str = "whsec_test";

// ---------------------------------------------------------------------------------------------
// fixtures

fn record(alert_id: &str, level: Option<&str>) -> AlertRecord {
    let alert = Alert {
        alert_id: alert_id.to_string(),
        rule_id: Some("rule-1".into()),
        rule_name: "brute_force".into(),
        title: "Brute force then success".into(),
        level: level.map(str::to_string),
        tags: vec!["attack.credential_access".into()],
        author: None,
        correlation_type: "event_count".into(),
        group: BTreeMap::from([("user".to_string(), "alice".to_string())]),
        window_start: T0 - 60 * SECOND,
        window_end: T0,
        event_ids: vec!["e1".into(), "e2".into()],
        event_count: 2,
    };
    AlertRecord::new(
        alert,
        vec![Entity::new("user", "alice")],
        vec!["auth".into()],
        AlertSource::Stream,
    )
}

fn env(name: &str) -> Result<String, VarError> {
    match name {
        "WEFT_TEST_SOC_SECRET" => Ok(SECRET.into()),
        "WEFT_TEST_SOC_AUTH" => Ok("Bearer t0ken".into()),
        "WEFT_TEST_EMPTY" => Ok(String::new()),
        _ => Err(VarError::NotPresent),
    }
}

fn webhook_config(url: &str, extra: &str) -> anyhow::Result<OutputConfig> {
    let text = format!(
        r#"
        [retry]
        initial_backoff_secs = 1
        max_backoff_secs = 4
        max_attempts = 5

        [[webhook]]
        name = "soc"
        url = "{url}"
        secret_env = "WEFT_TEST_SOC_SECRET"
        timeout_secs = 1
        headers = {{ "X-Tenant" = "payments" }}
        headers_from_env = {{ "Authorization" = "WEFT_TEST_SOC_AUTH" }}
        {extra}
        "#
    );
    Ok(toml::from_str(&text)?)
}

fn webhook(url: &str) -> anyhow::Result<Outputs> {
    Ok(webhook_config(url, "")?.build_with_env(env)?)
}

// ---------------------------------------------------------------------------------------------
// a scripted HTTP receiver

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Lowercase names.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Answers one request per connection with the next scripted status (`None`: read the
/// request, then hang up without answering) and records every request.
struct Receiver {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(script: Vec<Option<u16>>) -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/hooks/weft", listener.local_addr()?);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for status in script {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                if answer(stream, status, &recorded).is_err() {
                    return;
                }
            }
        });
        Ok(Receiver { url, requests })
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("receiver lock").clone()
    }
}

fn answer(
    stream: TcpStream,
    status: Option<u16>,
    recorded: &Mutex<Vec<Request>>,
) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().context("method")?.to_string();
    let path = parts.next().context("path")?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').context("header")?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers
        .get("content-length")
        .context("content-length")?
        .parse()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    recorded.lock().expect("receiver lock").push(Request {
        method,
        path,
        headers,
        body,
    });
    let Some(status) = status else {
        // Hold the connection open past the client's timeout without answering.
        std::thread::sleep(Duration::from_secs(3));
        return Ok(());
    };
    let text = format!("status {status}");
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()?;
    Ok(())
}

fn outbox_in_memory(policy: RetryPolicy) -> anyhow::Result<Outbox> {
    Ok(Outbox::open(db::open_in_memory()?)?.with_policy(policy))
}

// ---------------------------------------------------------------------------------------------
// signatures

#[test]
fn signature_matches_a_known_answer_and_verifies() {
    let body = br#"{"alert_id":"a1"}"#;
    let header = sign(SECRET.as_bytes(), 1_777_636_800, body);
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
    //   b"1777636800.{\"alert_id\":\"a1\"}", hashlib.sha256).hexdigest())'
    assert_eq!(
        header,
        "sha256=1e29913c3cbb46318e2a6115045c604987352d7f1837cccfd1bb8441e16cf736"
    );
    assert!(verify_signature(
        SECRET.as_bytes(),
        "1777636800",
        body,
        &header
    ));
    assert!(!verify_signature(b"other", "1777636800", body, &header));
    assert!(!verify_signature(
        SECRET.as_bytes(),
        "1777636801",
        body,
        &header
    ));
    assert!(!verify_signature(
        SECRET.as_bytes(),
        "1777636800",
        br#"{"alert_id":"a2"}"#,
        &header
    ));
}

// ---------------------------------------------------------------------------------------------
// webhook deliveries through the outbox

#[test]
fn delivers_a_signed_json_post() -> anyhow::Result<()> {
    let receiver = Receiver::start(vec![Some(200)])?;
    let Outputs {
        routes, mut sinks, ..
    } = webhook(&receiver.url)?;
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    let records = [(record("a1", Some("high")), Some("incident-7".to_string()))];
    assert_eq!(outbox.enqueue(&records, &routes, T0)?, 1);

    let report = outbox.deliver_due(&mut sinks, T0, 10)?;
    assert_eq!(
        (report.delivered, report.retried, report.pending),
        (1, 0, 0)
    );

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/weft");
    let header = |name: &str| request.headers.get(name).map(String::as_str);
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("x-tenant"), Some("payments"));
    assert_eq!(header("authorization"), Some("Bearer t0ken"));
    assert_eq!(header("x-weft-timestamp"), Some("1777636800"));
    let signature = header("x-weft-signature").context("signature header")?;
    assert!(verify_signature(
        SECRET.as_bytes(),
        "1777636800",
        &request.body,
        signature
    ));

    let payload: AlertPayload = serde_json::from_slice(&request.body)?;
    assert_eq!(
        header("x-weft-delivery"),
        Some(payload.delivery_id.as_str())
    );
    assert_eq!(payload.output, "soc");
    assert_eq!(payload.incident_id.as_deref(), Some("incident-7"));
    assert_eq!(payload.record, records[0].0);

    let state = outbox.delivery("soc", "a1")?.context("stored delivery")?;
    assert_eq!(state.status, DeliveryStatus::Delivered);
    assert_eq!(state.delivered_at, Some(T0));
    assert_eq!(state.delivery_id, payload.delivery_id);
    Ok(())
}

#[test]
fn server_errors_are_retried_with_backoff_until_delivered() -> anyhow::Result<()> {
    let receiver = Receiver::start(vec![Some(500), Some(503), Some(200)])?;
    let Outputs {
        routes,
        mut sinks,
        retry,
        ..
    } = webhook(&receiver.url)?;
    let mut outbox = outbox_in_memory(retry)?;
    let clock = ManualClock::new(T0);
    outbox.enqueue(
        &[(record("a1", Some("high")), None)],
        &routes,
        clock.now_micros(),
    )?;

    let first = outbox.deliver_due(&mut sinks, clock.now_micros(), 10)?;
    assert_eq!((first.delivered, first.retried, first.pending), (0, 1, 1));
    let state = outbox.delivery("soc", "a1")?.context("stored")?;
    assert_eq!(state.attempts, 1);
    assert_eq!(state.next_attempt_at, T0 + SECOND);
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("http 500"))
    );

    // Not due yet: nothing is sent.
    clock.advance(SECOND / 2);
    let early = outbox.deliver_due(&mut sinks, clock.now_micros(), 10)?;
    assert_eq!((early.delivered, early.retried), (0, 0));
    assert_eq!(receiver.requests().len(), 1);

    clock.advance(SECOND / 2);
    let second = outbox.deliver_due(&mut sinks, clock.now_micros(), 10)?;
    assert_eq!(second.retried, 1);
    let state = outbox.delivery("soc", "a1")?.context("stored")?;
    assert_eq!(state.attempts, 2);
    assert_eq!(state.next_attempt_at, clock.now_micros() + 2 * SECOND);

    clock.advance(2 * SECOND);
    let third = outbox.deliver_due(&mut sinks, clock.now_micros(), 10)?;
    assert_eq!((third.delivered, third.pending), (1, 0));
    let state = outbox.delivery("soc", "a1")?.context("stored")?;
    assert_eq!(state.status, DeliveryStatus::Delivered);
    assert_eq!(state.attempts, 3);

    // Every attempt carried the same delivery id and body, signed for its own timestamp.
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.body, requests[0].body);
        assert_eq!(
            request.headers.get("x-weft-delivery"),
            requests[0].headers.get("x-weft-delivery")
        );
        let timestamp = request.headers.get("x-weft-timestamp").context("ts")?;
        let signature = request.headers.get("x-weft-signature").context("sig")?;
        assert!(verify_signature(
            SECRET.as_bytes(),
            timestamp,
            &request.body,
            signature
        ));
    }
    Ok(())
}

#[test]
fn a_client_error_fails_permanently_and_is_kept_for_redelivery() -> anyhow::Result<()> {
    let receiver = Receiver::start(vec![Some(400), Some(204)])?;
    let Outputs {
        routes, mut sinks, ..
    } = webhook(&receiver.url)?;
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    outbox.enqueue(&[(record("a1", None), None)], &routes, T0)?;

    let report = outbox.deliver_due(&mut sinks, T0, 10)?;
    assert_eq!((report.failed_permanently, report.pending), (1, 0));
    let state = outbox.delivery("soc", "a1")?.context("kept")?;
    assert_eq!(state.status, DeliveryStatus::Failed);
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("http 400"))
    );
    let stats = outbox.stats()?;
    assert_eq!(stats.get("soc").map(|stats| stats.failed), Some(1));

    // Failed deliveries are not retried on their own, however much later.
    let later = outbox.deliver_due(&mut sinks, T0 + 3_600 * SECOND, 10)?;
    assert_eq!(later, Default::default());

    assert!(outbox.redeliver("soc", "a1", T0 + 10 * SECOND)?);
    assert!(!outbox.redeliver("soc", "a1", T0 + 10 * SECOND)?);
    let again = outbox.deliver_due(&mut sinks, T0 + 10 * SECOND, 10)?;
    assert_eq!(again.delivered, 1);
    assert_eq!(receiver.requests().len(), 2);
    Ok(())
}

#[test]
fn connection_refused_is_retried() -> anyhow::Result<()> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let Outputs {
        routes, mut sinks, ..
    } = webhook(&format!("http://127.0.0.1:{port}/hook"))?;
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    let records = [(record("a1", None), None), (record("a2", None), None)];
    outbox.enqueue(&records, &routes, T0)?;

    let report = outbox.deliver_due(&mut sinks, T0, 10)?;
    // One attempt per call against a receiver that is down; the other alert waits its turn.
    assert_eq!(
        (report.delivered, report.retried, report.failed_permanently),
        (0, 1, 0)
    );
    assert_eq!(report.pending, 2);
    let state = outbox.delivery("soc", "a1")?.context("kept")?;
    assert_eq!((state.status, state.attempts), (DeliveryStatus::Pending, 1));
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("cannot reach"))
    );
    assert!(!state.last_error.unwrap_or_default().contains("/hook"));
    Ok(())
}

#[test]
fn a_receiver_that_does_not_answer_times_out_and_is_retried() -> anyhow::Result<()> {
    let receiver = Receiver::start(vec![None])?;
    let Outputs {
        routes, mut sinks, ..
    } = webhook(&receiver.url)?;
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    outbox.enqueue(&[(record("a1", None), None)], &routes, T0)?;
    let started = std::time::Instant::now();
    let report = outbox.deliver_due(&mut sinks, T0, 10)?;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(report.retried, 1);
    let state = outbox.delivery("soc", "a1")?.context("kept")?;
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("did not answer"))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the outbox, with scripted sinks

/// A sink answering from a script (`Ok` when it runs out), recording what it was given.
struct ScriptedSink {
    script: Vec<Result<(), DeliveryError>>,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

impl AlertSink for ScriptedSink {
    fn deliver(&mut self, delivery: &Delivery) -> Result<(), DeliveryError> {
        self.seen.lock().expect("lock").push(delivery.clone());
        if self.script.is_empty() {
            Ok(())
        } else {
            self.script.remove(0)
        }
    }
}

fn scripted(
    name: &str,
    script: Vec<Result<(), DeliveryError>>,
) -> (Sinks, Arc<Mutex<Vec<Delivery>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = ScriptedSink {
        script,
        seen: Arc::clone(&seen),
    };
    let mut sinks: Sinks = BTreeMap::new();
    sinks.insert(name.to_string(), Box::new(sink));
    (sinks, seen)
}

#[test]
fn enqueue_is_idempotent() -> anyhow::Result<()> {
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    let routes = [OutputRoute::all("soc"), OutputRoute::all("alerts")];
    let records = [(record("a1", None), None), (record("a2", None), None)];
    assert_eq!(outbox.enqueue(&records, &routes, T0)?, 4);
    assert_eq!(outbox.enqueue(&records, &routes, T0 + SECOND)?, 0);
    assert_eq!(outbox.enqueue(&records[..1], &routes[..1], T0)?, 0);
    assert_eq!(outbox.pending()?, 4);

    let (mut sinks, seen) = scripted("soc", vec![]);
    outbox.deliver_due(&mut sinks, T0, 10)?;
    // Delivered alerts enqueued again (a replay) are not sent again.
    assert_eq!(outbox.enqueue(&records, &routes, T0 + 2 * SECOND)?, 0);
    outbox.deliver_due(&mut sinks, T0 + 2 * SECOND, 10)?;
    let seen = seen.lock().expect("lock");
    let ids: Vec<&str> = seen.iter().map(|d| d.alert_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    Ok(())
}

#[test]
fn the_outbox_survives_a_reopen_of_the_store() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let mut outbox = Outbox::open(db::open(dir.path())?)?;
        outbox.enqueue(
            &[(record("a1", Some("critical")), Some("i1".into()))],
            &[OutputRoute::all("soc")],
            T0,
        )?;
        // Dropped before any delivery, as in a crash.
    }
    let mut outbox = Outbox::open(db::open(dir.path())?)?;
    assert_eq!(outbox.pending()?, 1);
    let (mut sinks, seen) = scripted("soc", vec![]);
    let report = outbox.deliver_due(&mut sinks, T0 + SECOND, 10)?;
    assert_eq!((report.delivered, report.pending), (1, 0));
    let seen = seen.lock().expect("lock");
    assert_eq!(seen[0].incident_id.as_deref(), Some("i1"));
    assert_eq!(seen[0].attempted_at, T0 + SECOND);
    let payload: AlertPayload = serde_json::from_str(&seen[0].body)?;
    assert_eq!(payload.record.alert.alert_id, "a1");
    Ok(())
}

#[test]
fn deliveries_without_a_sink_stay_pending() -> anyhow::Result<()> {
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    let routes = [OutputRoute::all("soc"), OutputRoute::all("removed")];
    outbox.enqueue(&[(record("a1", None), None)], &routes, T0)?;
    let (mut sinks, _) = scripted("soc", vec![]);
    let report = outbox.deliver_due(&mut sinks, T0, 10)?;
    assert_eq!((report.delivered, report.pending), (1, 1));
    let stats = outbox.stats()?;
    let removed = stats
        .get("removed")
        .context("stats of the removed output")?;
    assert_eq!((removed.pending, removed.oldest_pending_at), (1, Some(T0)));
    // The sink comes back (configuration restored): the delivery goes out.
    let (mut sinks, seen) = scripted("removed", vec![]);
    outbox.deliver_due(&mut sinks, T0 + SECOND, 10)?;
    assert_eq!(seen.lock().expect("lock").len(), 1);
    assert_eq!(outbox.pending()?, 0);
    Ok(())
}

#[test]
fn retries_stop_after_max_attempts_but_the_alert_is_kept() -> anyhow::Result<()> {
    let policy = RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(4), 4);
    let mut outbox = outbox_in_memory(policy)?;
    outbox.enqueue(
        &[(record("a1", None), None)],
        &[OutputRoute::all("soc")],
        T0,
    )?;
    let down = || Err(DeliveryError::Retryable("down".into()));
    let (mut sinks, seen) = scripted("soc", vec![down(), down(), down(), down(), down()]);
    let mut now = T0;
    let mut waits = Vec::new();
    for _ in 0..4 {
        outbox.deliver_due(&mut sinks, now, 10)?;
        let state = outbox.delivery("soc", "a1")?.context("kept")?;
        waits.push(state.next_attempt_at - now);
        now = state.next_attempt_at;
    }
    // 1 s, 2 s, 4 s, then capped; the fourth attempt was the last.
    assert_eq!(&waits[..3], [SECOND, 2 * SECOND, 4 * SECOND]);
    let state = outbox.delivery("soc", "a1")?.context("kept")?;
    assert_eq!((state.status, state.attempts), (DeliveryStatus::Failed, 4));
    assert_eq!(seen.lock().expect("lock").len(), 4);
    assert_eq!(policy.backoff(10), 4 * SECOND);
    assert_eq!(outbox.redeliver_failed("soc", now)?, 1);
    assert_eq!(outbox.pending()?, 1);
    Ok(())
}

#[test]
fn deliveries_go_out_in_order_within_the_limit() -> anyhow::Result<()> {
    let mut outbox = outbox_in_memory(RetryPolicy::default())?;
    let records: Vec<_> = ["c", "a", "b"]
        .into_iter()
        .map(|id| (record(id, None), None))
        .collect();
    outbox.enqueue(&records, &[OutputRoute::all("soc")], T0)?;
    let (mut sinks, seen) = scripted("soc", vec![]);
    let report = outbox.deliver_due(&mut sinks, T0, 2)?;
    assert_eq!((report.delivered, report.pending), (2, 1));
    outbox.deliver_due(&mut sinks, T0, 2)?;
    let seen = seen.lock().expect("lock");
    let ids: Vec<&str> = seen.iter().map(|d| d.alert_id.as_str()).collect();
    assert_eq!(ids, ["c", "a", "b"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// configuration

#[test]
fn min_level_filters_what_is_enqueued() -> anyhow::Result<()> {
    let config: OutputConfig = toml::from_str(
        r#"
        [[kafka]]
        name = "alerts"
        brokers = "kafka-1:9092, kafka-2:9092"
        topic = "weft.alerts"
        min_level = "high"

        [[kafka]]
        name = "all"
        brokers = "kafka-1:9092"
        topic = "weft.all"
        "#,
    )?;
    let outputs = config.build_with_env(env)?;
    assert_eq!(outputs.kafka[0].brokers, "kafka-1:9092,kafka-2:9092");
    assert_eq!(outputs.routes[0].min_level, Some(Level::High));
    let mut outbox = outbox_in_memory(outputs.retry)?;
    let records = [
        (record("info", Some("informational")), None),
        (record("medium", Some("medium")), None),
        (record("high", Some("high")), None),
        (record("critical", Some("critical")), None),
        (record("none", None), None),
    ];
    assert_eq!(outbox.enqueue(&records, &outputs.routes, T0)?, 2 + 5);
    assert!(outbox.delivery("alerts", "high")?.is_some());
    assert!(outbox.delivery("alerts", "critical")?.is_some());
    assert!(outbox.delivery("alerts", "medium")?.is_none());
    assert!(outbox.delivery("alerts", "none")?.is_none());
    assert!(outbox.delivery("all", "none")?.is_some());
    Ok(())
}

#[test]
fn a_missing_secret_is_a_clear_build_error() -> anyhow::Result<()> {
    let config: OutputConfig = toml::from_str(
        r#"
        [[webhook]]
        name = "soc"
        url = "https://soc.example.com/hook"
        secret_env = "WEFT_TEST_SURELY_UNSET_SECRET_4F1C"
        "#,
    )?;
    // The real environment: nobody sets this variable.
    let error = config.build().expect_err("the secret is missing");
    assert!(matches!(error, OutputConfigError::MissingEnv { .. }));
    assert_eq!(
        error.to_string(),
        "detect.outputs.soc: the environment variable WEFT_TEST_SURELY_UNSET_SECRET_4F1C is not \
         set; set it to the webhook's hmac signing secret"
    );
    let empty = OutputConfig {
        webhook: vec![weft_correlate::output::WebhookConfig {
            secret_env: "WEFT_TEST_EMPTY".into(),
            ..config.webhook[0].clone()
        }],
        ..config
    };
    let error = empty.build_with_env(env).expect_err("the secret is empty");
    assert!(error.to_string().contains("is empty"));
    Ok(())
}

#[test]
fn invalid_configurations_are_refused() -> anyhow::Result<()> {
    let refused = |extra: &str, url: &str| -> anyhow::Result<String> {
        let error = webhook_config(url, extra)?
            .build_with_env(env)
            .err()
            .context("must be refused")?;
        Ok(error.to_string())
    };
    let https = "https://soc.example.com/hook";
    assert!(refused("", "ftp://soc.example.com/")?.contains("https://"));
    assert!(refused("", "https://user:pw@soc.example.com/")?.contains("credentials"));
    assert!(refused("", "not a url")?.contains("not a valid url"));
    assert!(refused(r#"min_level = "severe""#, https)?.contains("not a Sigma level"));
    let auth_in_file = webhook_config(https, "")?;
    let mut auth_in_file = auth_in_file;
    auth_in_file.webhook[0]
        .headers
        .insert("Authorization".into(), "Bearer x".into());
    let error = auth_in_file.build_with_env(env).err().context("refused")?;
    assert!(error.to_string().contains("headers_from_env"));
    let mut reserved = webhook_config(https, "")?;
    reserved.webhook[0]
        .headers
        .insert("X-Weft-Signature".into(), "x".into());
    assert!(reserved.build_with_env(env).is_err());
    let mut twice = webhook_config(https, "")?;
    twice.webhook.push(twice.webhook[0].clone());
    let error = twice.build_with_env(env).err().context("refused")?;
    assert!(matches!(error, OutputConfigError::DuplicateName(_)));
    // Unknown keys are refused by the parser.
    assert!(
        toml::from_str::<OutputConfig>(
            "[[webhook]]\nname = \"x\"\nurl = \"https://x\"\nsecret_env = \"S\"\nsecrets = \"s\""
        )
        .is_err()
    );
    // Plain http to another host is allowed (with a warning).
    assert!(
        webhook_config("http://soc.example.com/hook", "")?
            .build_with_env(env)
            .is_ok()
    );
    Ok(())
}
