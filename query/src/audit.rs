//! The audit trail: every API request becomes a weft event (service `weft`, class
//! `api_activity`) in the event store, so analysts query who looked at what with the same tools
//! as any other log.
//!
//! Requests hand their [`AuditRecord`] to a dedicated writer thread through a bounded queue and
//! never wait on the disk. The thread appends the records to an [`EventStore`] and flushes them
//! as Parquet segments at least every flush interval. A failure is never silent: it is logged,
//! counted (`weft_audit_write_failures_total`, `weft_audit_dropped_total`) and turns `/readyz`
//! to 503 until a write succeeds again.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use weft_ingest::batch::RecordMeta;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::store::{EventStore, FlushPolicy, StoreError};

use crate::metrics::Metrics;

/// The `service` of audit events.
pub const AUDIT_SERVICE: &str = "weft";
/// The `format` of audit events (they are written, not parsed).
pub const AUDIT_FORMAT: &str = "weft_audit";

/// One answered request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    /// When the request arrived, UTC microseconds.
    pub time: i64,
    /// Token name, or `anonymous`.
    pub user: String,
    /// The token's id, when one authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The token's role, when one authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub method: String,
    /// The route pattern from the route table, or `unmatched`.
    pub route: &'static str,
    /// The path asked for (at most 512 bytes).
    pub path: String,
    pub status: u16,
    pub duration_micros: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// How the audit writer batches.
#[derive(Debug, Clone, Copy)]
pub struct AuditConfig {
    /// Records waiting for the writer; when full, new records are dropped and counted.
    pub queue: usize,
    /// Longest time a record waits before it is written as part of a segment.
    pub flush_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            queue: 65_536,
            flush_interval: Duration::from_secs(5),
        }
    }
}

/// Why the audit trail could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("opening the event store for the audit trail: {0}")]
    Store(#[from] StoreError),
    #[error("starting the audit writer thread: {0}")]
    Thread(std::io::Error),
    #[error("the audit writer has stopped")]
    Stopped,
    #[error("writing audit events: {0}")]
    Write(String),
}

enum Message {
    Record(Box<AuditRecord>),
    Flush(SyncSender<Result<(), String>>),
}

/// The sending side of the audit trail, shared by all requests.
#[derive(Debug)]
pub struct AuditLog {
    sender: Mutex<Option<SyncSender<Message>>>,
    healthy: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens the store in `data_dir` and starts the writer thread.
    pub fn start(
        data_dir: &Path,
        config: AuditConfig,
        metrics: Arc<Metrics>,
    ) -> Result<AuditLog, AuditError> {
        let store = EventStore::open(data_dir, FlushPolicy::default())?;
        let (sender, receiver) = mpsc::sync_channel(config.queue.max(1));
        let healthy = Arc::new(AtomicBool::new(true));
        let writer = Writer {
            store,
            origin: format!(
                "weft-audit:{}:{}",
                std::process::id(),
                chrono::Utc::now().timestamp_micros()
            ),
            sequence: 0,
            healthy: healthy.clone(),
            metrics: metrics.clone(),
            data_dir: data_dir.to_path_buf(),
        };
        let worker = std::thread::Builder::new()
            .name("weft-audit".to_string())
            .spawn(move || writer.run(receiver, config.flush_interval))
            .map_err(AuditError::Thread)?;
        Ok(AuditLog {
            sender: Mutex::new(Some(sender)),
            healthy,
            metrics,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues `record` without waiting. A full queue or a stopped writer drops it, counted and
    /// logged, and marks the trail unhealthy.
    pub fn record(&self, record: AuditRecord) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let Some(sender) = sender else {
            self.dropped("the audit writer has stopped");
            return;
        };
        match sender.try_send(Message::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.dropped("the audit queue is full"),
            Err(TrySendError::Disconnected(_)) => self.dropped("the audit writer has stopped"),
        }
    }

    fn dropped(&self, reason: &'static str) {
        self.metrics.audit_dropped.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Relaxed);
        tracing::error!(
            reason,
            "dropping an audit record; check the data directory's disk and the audit writer"
        );
    }

    /// Whether the last audit write succeeded and nothing was dropped since.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Writes every queued record now and waits until they are durable (blocking: call from a
    /// blocking context).
    pub fn flush(&self) -> Result<(), AuditError> {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(AuditError::Stopped)?;
        let (reply, done) = mpsc::sync_channel(1);
        sender
            .send(Message::Flush(reply))
            .map_err(|_| AuditError::Stopped)?;
        done.recv()
            .map_err(|_| AuditError::Stopped)?
            .map_err(AuditError::Write)
    }

    /// Writes what is queued and stops the writer thread.
    pub fn shutdown(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take(),
        );
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(worker) = worker
            && worker.join().is_err()
        {
            tracing::error!("the audit writer thread panicked; recent audit records may be lost");
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Writer {
    store: EventStore,
    origin: String,
    sequence: u64,
    healthy: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    data_dir: PathBuf,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Message>, interval: Duration) {
        let mut oldest: Option<Instant> = None;
        loop {
            let wait = oldest.map_or(interval, |since| interval.saturating_sub(since.elapsed()));
            match receiver.recv_timeout(wait) {
                Ok(Message::Record(record)) => {
                    self.append(&record);
                    oldest.get_or_insert_with(Instant::now);
                }
                Ok(Message::Flush(reply)) => {
                    let result = self.flush();
                    oldest = None;
                    let _ = reply.send(result);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if oldest.is_some() {
                        let _ = self.flush();
                        oldest = None;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.flush();
                    return;
                }
            }
        }
    }

    fn append(&mut self, record: &AuditRecord) {
        self.sequence += 1;
        let raw = serde_json::to_string(record).unwrap_or_default();
        let event = audit_event(record);
        let event_id = weft_ingest::id::event_id(&self.origin, self.sequence, 0);
        let meta = RecordMeta {
            ingest_time: chrono::Utc::now().timestamp_micros(),
            event_id: &event_id,
            service: AUDIT_SERVICE,
            raw: &raw,
            not_utf8: false,
        };
        match self
            .store
            .append(&event, &meta, &self.origin, self.sequence)
        {
            Ok(written) => self.written(written.iter().map(|entry| entry.rows).sum()),
            Err(error) => {
                let pending = self.store.buffered_rows() as u64;
                self.failed(&error.to_string(), pending);
            }
        }
    }

    fn flush(&mut self) -> Result<(), String> {
        let pending = self.store.buffered_rows() as u64;
        match self.store.flush() {
            Ok(written) => {
                self.written(written.iter().map(|entry| entry.rows).sum());
                Ok(())
            }
            Err(error) => {
                let message = error.to_string();
                self.failed(&message, pending);
                Err(message)
            }
        }
    }

    fn written(&self, rows: u64) {
        if rows > 0 {
            self.metrics.audit_events.fetch_add(rows, Ordering::Relaxed);
            self.healthy.store(true, Ordering::Relaxed);
        }
    }

    /// Counts a failed write; `lost` records were buffered and are dropped with it.
    fn failed(&mut self, error: &str, lost: u64) {
        self.store.discard();
        self.metrics
            .audit_write_failures
            .fetch_add(1, Ordering::Relaxed);
        self.metrics
            .audit_dropped
            .fetch_add(lost, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Relaxed);
        tracing::error!(%error, lost, data_dir = %self.data_dir.display(), "cannot write audit events; check the data directory");
    }
}

/// The weft event an audit record becomes.
pub fn audit_event(record: &AuditRecord) -> Event<'_> {
    let mut event = Event::new(AUDIT_FORMAT);
    event.time = Some(record.time);
    event.class = Class::ApiActivity;
    event.activity = Some(Cow::Borrowed(activity(&record.method)));
    event.outcome = Some(Outcome::from_http_status(i32::from(record.status)));
    event.severity = Some(weft_ingest::event::severity::INFORMATIONAL);
    event.service = Some(Cow::Borrowed(AUDIT_SERVICE));
    event.user = Some(Cow::Borrowed(record.user.as_str()));
    event.src_ip = record.client_ip.as_deref().map(Cow::Borrowed);
    event.src_port = record.client_port.map(i32::from);
    event.http_method = Some(Cow::Borrowed(record.method.as_str()));
    event.url = Some(Cow::Borrowed(record.path.as_str()));
    event.http_status = Some(i32::from(record.status));
    event.user_agent = record.user_agent.as_deref().map(Cow::Borrowed);
    event.resource = Some(Cow::Borrowed(record.route));
    event.message = Some(Cow::Owned(format!(
        "{} {} {} by {}{} in {} ms",
        record.method,
        record.path,
        record.status,
        record.user,
        record
            .role
            .map(|role| format!(" ({role})"))
            .unwrap_or_default(),
        record.duration_micros / 1000
    )));
    let mut attrs: Vec<(Cow<'_, str>, Cow<'_, str>)> = vec![
        (Cow::Borrowed("route"), Cow::Borrowed(record.route)),
        (
            Cow::Borrowed("duration_micros"),
            Cow::Owned(record.duration_micros.to_string()),
        ),
    ];
    if let Some(role) = record.role {
        attrs.push((Cow::Borrowed("role"), Cow::Borrowed(role)));
    }
    if let Some(token_id) = &record.token_id {
        attrs.push((Cow::Borrowed("token_id"), Cow::Borrowed(token_id.as_str())));
    }
    event.attrs = attrs;
    event
}

/// The OCSF API activity a method stands for.
fn activity(method: &str) -> &'static str {
    match method {
        "POST" => "create",
        "PUT" | "PATCH" => "update",
        "DELETE" => "delete",
        _ => "read",
    }
}
