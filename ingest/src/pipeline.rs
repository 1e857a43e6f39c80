//! The ingest pipeline: source -> framer -> parser -> event store, with every record accounted
//! for. Files and stdin are read here ([`Ingestor::ingest`]); other sources (Kafka) hand each
//! record to [`Ingestor::ingest_record`] and make progress durable with
//! [`Ingestor::checkpoint`].
//!
//! A record is *read* when the framer yields it (a line, a JSON document) — or, for records
//! holding several events (`{"Records": [...]}`, a Kubernetes `EventList`, an OTLP batch), once
//! per event it holds. Each read record is then either *stored* (durable in a segment listed in
//! the manifest) or *dead-lettered* with its reason and raw bytes. Format metadata lines that
//! describe the records around them (Zeek's `#fields` headers) carry no event and are counted
//! apart, as `metadata`. [`IngestSummary::is_balanced`] checks `read == stored +
//! dead_lettered`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::batch::RecordMeta;
use crate::config::IngestConfig;
use crate::deadletter::DeadLetterWriter;
use crate::event::{Event, EventBuffer};
use crate::frame::{Frame, Framer};
use crate::parse::{self, ParseContext, Parser};
use crate::store::{EventStore, FlushPolicy, PendingCheckpoint, StoreError};

/// Why ingestion stopped. Bad records never cause this; they are dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {path}: {error}")]
    Source { path: String, error: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot write a dead letter: {0}")]
    DeadLetter(Box<dyn std::error::Error + Send + Sync>),
}

/// One record for the dead-letter output.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterRecord<'r> {
    pub reason: &'r str,
    pub record: &'r RecordOrigin<'r>,
    /// Size of the record in the source, in bytes.
    pub size: u64,
    /// The record's bytes (up to the framer's hard cap for oversized records).
    pub bytes: &'r [u8],
    /// When weft received it, UTC microseconds.
    pub received: i64,
}

/// Where records that cannot be stored go: a directory in embedded mode, a Kafka topic for
/// Kafka sources. A record counts as done once its dead letter is durable, which
/// [`DeadLetterSink::flush`] guarantees for everything written before it (it blocks until
/// then, or fails).
pub trait DeadLetterSink: Send {
    fn write(&mut self, letter: &DeadLetterRecord<'_>) -> Result<(), IngestError>;
    fn flush(&mut self) -> Result<(), IngestError>;
    /// Dead letters written so far.
    fn written(&self) -> u64;
    /// Where the dead letters are, for messages.
    fn location(&self) -> String;
}

impl DeadLetterSink for DeadLetterWriter {
    fn write(&mut self, letter: &DeadLetterRecord<'_>) -> Result<(), IngestError> {
        DeadLetterWriter::write(
            self,
            letter.reason,
            letter.record.origin,
            letter.record.offset,
            letter.record.line,
            letter.size,
            letter.bytes,
            letter.received,
        )?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        Ok(DeadLetterWriter::flush(self)?)
    }

    fn written(&self) -> u64 {
        DeadLetterWriter::written(self)
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// `-` is stdin; anything else a file path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    /// How the input is named in messages.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// The service a file's records default to: its name without extensions (`auth` for
    /// `auth.log.gz`).
    pub fn default_service(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_string(),
            Input::File(path) => path
                .file_name()
                .map(|name| name.to_string_lossy())
                .and_then(|name| name.split('.').next().map(str::to_string))
                .filter(|stem| !stem.is_empty())
                .unwrap_or_else(|| "unknown".to_string()),
        }
    }
}

/// Counts of one ingest run.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    pub read: u64,
    pub stored: u64,
    pub dead_lettered: u64,
    /// Format metadata lines (Zeek headers) that carry no event.
    pub metadata: u64,
    pub by_format: BTreeMap<String, u64>,
    pub by_class: BTreeMap<String, u64>,
    /// Dead letters by kind of reason (`oversized`, `json`, `syslog3164`, ...).
    pub dead_letter_reasons: BTreeMap<String, u64>,
    /// Events stored at ingest time because the record had no usable time.
    pub time_missing: u64,
    /// Records that were not valid UTF-8 (stored as lossy text, flagged).
    pub not_utf8: u64,
    pub bytes: u64,
    pub segments: u64,
    /// Where this run's dead letters are, if it wrote any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_file: Option<String>,
}

impl IngestSummary {
    /// `read == stored + dead_lettered`: every record is accounted for.
    pub fn is_balanced(&self) -> bool {
        self.read == self.stored + self.dead_lettered
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Copy)]
pub struct RecordOrigin<'o> {
    /// The source: `file:<path>`, `stdin:<start>`, `kafka:<topic>/<partition>`.
    pub origin: &'o str,
    /// Byte offset in a file, or the Kafka offset.
    pub offset: u64,
    /// 1-based line number, for sources that have lines.
    pub line: Option<u64>,
    /// Service of the record's events when neither `--service` nor the record names one.
    pub default_service: &'o str,
    /// Service the source assigns the record (a Kafka header or key), before the record's own.
    pub service: Option<&'o str>,
    /// The Kafka topic and partition of the record, for Kafka sources.
    pub topic_partition: Option<(&'o str, i32)>,
}

/// Options of one ingest run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// `--format`: overrides the configuration's format for every input.
    pub format: Option<String>,
    /// `--service`: the service of every input's events.
    pub service: Option<String>,
    pub config: IngestConfig,
    pub flush: FlushPolicy,
}

/// Counts bytes read from a source, for progress reporting.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// Ingests inputs into one data directory.
pub struct Ingestor {
    store: EventStore,
    dead_letters: Box<dyn DeadLetterSink>,
    options: IngestOptions,
    summary: IngestSummary,
    /// Bytes read from the current input's file (compressed size for `.gz`).
    progress: Arc<AtomicU64>,
    /// The event vector's allocation, reused from record to record.
    events: EventBuffer,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ingestor")
            .field("summary", &self.summary)
            .finish()
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Adds one to `name`'s count, allocating the key only the first time it is seen.
fn count(counts: &mut BTreeMap<String, u64>, name: &str) {
    match counts.get_mut(name) {
        Some(count) => *count += 1,
        None => {
            counts.insert(name.to_string(), 1);
        }
    }
}

/// The kind of a dead letter's reason, for counting: the format a parser error names, else
/// the first word.
fn reason_kind(reason: &str) -> String {
    let reason = reason.strip_prefix("not ").unwrap_or(reason);
    reason
        .split([':', ' '])
        .next()
        .unwrap_or("unknown")
        .to_string()
}

impl Ingestor {
    /// Opens the data directory (recovering from any interrupted write) for a run.
    pub fn open(data_dir: &Path, options: IngestOptions) -> Result<Ingestor, IngestError> {
        let run = format!("{}-{}", now_micros(), std::process::id());
        let dead_letters = Box::new(DeadLetterWriter::new(data_dir, &run));
        Ingestor::open_with_dead_letters(data_dir, options, dead_letters)
    }

    /// Opens the data directory with another dead-letter output (a Kafka topic).
    pub fn open_with_dead_letters(
        data_dir: &Path,
        options: IngestOptions,
        dead_letters: Box<dyn DeadLetterSink>,
    ) -> Result<Ingestor, IngestError> {
        options.config.validate()?;
        if let Some(format) = &options.format
            && format != "auto"
            && parse::format(format).is_none()
        {
            return Err(crate::config::ConfigError::UnknownFormat {
                format: format.clone(),
                context: String::new(),
            }
            .into());
        }
        let store = EventStore::open(data_dir, options.flush)?;
        Ok(Ingestor {
            dead_letters,
            store,
            options,
            summary: IngestSummary::default(),
            progress: Arc::new(AtomicU64::new(0)),
            events: EventBuffer::default(),
        })
    }

    /// The store, e.g. to see what recovery did on open.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The store, for sources that manage checkpoints ([`EventStore::resume_offsets`]).
    pub fn store_mut(&mut self) -> &mut EventStore {
        &mut self.store
    }

    /// A counter of bytes read from the current input, for a progress bar.
    pub fn progress_counter(&self) -> Arc<AtomicU64> {
        self.progress.clone()
    }

    /// Counts so far (`stored` counts only what is durable).
    pub fn summary(&self) -> &IngestSummary {
        &self.summary
    }

    /// Reads one input to its end.
    pub fn ingest(&mut self, input: &Input) -> Result<(), IngestError> {
        let source_error = |error: io::Error| IngestError::Source {
            path: input.display(),
            error,
        };
        let (reader, origin, reference_time): (Box<dyn Read>, String, i64) = match input {
            Input::Stdin => (
                Box::new(io::stdin()),
                format!("stdin:{}", now_micros()),
                now_micros(),
            ),
            Input::File(path) => {
                let file = File::open(path).map_err(source_error)?;
                let metadata = file.metadata().map_err(source_error)?;
                if metadata.is_dir() {
                    return Err(source_error(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "is a directory",
                    )));
                }
                let modified = metadata
                    .modified()
                    .ok()
                    .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or_else(now_micros, |since| since.as_micros() as i64);
                let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                (
                    Box::new(file),
                    format!("file:{}", absolute.display()),
                    modified,
                )
            }
        };
        self.progress.store(0, Ordering::Relaxed);
        let counted = CountingReader {
            inner: reader,
            count: self.progress.clone(),
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, counted);
        let is_gzip = buffered
            .fill_buf()
            .map_err(source_error)?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead> = if is_gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::bufread::MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };

        let default_service = input.default_service();
        let service_key = self
            .options
            .service
            .clone()
            .unwrap_or(default_service.clone());
        let config = &self.options.config;
        let format = self
            .options
            .format
            .clone()
            .unwrap_or_else(|| config.format_for(Some(&service_key)).to_string());
        let parser_options = config.parser_options(Some(&service_key))?;
        let mut parser = parse::build(&format, &parser_options).ok_or_else(|| {
            crate::config::ConfigError::UnknownFormat {
                format: format.clone(),
                context: String::new(),
            }
        })?;
        let context = ParseContext { reference_time };
        let max_record = config.max_record_bytes;
        let mut framer = Framer::new(reader, None, max_record);
        loop {
            let frame = framer.next_frame().map_err(source_error)?;
            let Some(frame) = frame else { break };
            match frame {
                Frame::Oversized {
                    position,
                    size,
                    bytes,
                } => {
                    let record = RecordOrigin {
                        origin: &origin,
                        offset: position.offset,
                        line: Some(position.line),
                        default_service: &default_service,
                        service: None,
                        topic_partition: None,
                    };
                    self.reject_oversized(&record, size, bytes, max_record)?;
                }
                Frame::Record { position, bytes } => {
                    let record = RecordOrigin {
                        origin: &origin,
                        offset: position.offset,
                        line: Some(position.line),
                        default_service: &default_service,
                        service: None,
                        topic_partition: None,
                    };
                    self.ingest_record(parser.as_mut(), &context, &record, bytes)?;
                }
            }
        }
        Ok(())
    }

    /// Dead-letters a record longer than the size limit.
    pub fn reject_oversized(
        &mut self,
        record: &RecordOrigin<'_>,
        size: u64,
        bytes: &[u8],
        max_record: usize,
    ) -> Result<(), IngestError> {
        let reason = format!(
            "oversized: record of {size} bytes exceeds the limit of {max_record} bytes (ingest.max_record_bytes)"
        );
        self.summary.read += 1;
        self.summary.bytes += size;
        self.dead_letter(&reason, record, size, bytes, now_micros())
    }

    /// Dead-letters a record a source refuses before parsing (an empty Kafka message).
    pub fn reject(
        &mut self,
        reason: &str,
        record: &RecordOrigin<'_>,
        bytes: &[u8],
    ) -> Result<(), IngestError> {
        self.summary.read += 1;
        self.summary.bytes += bytes.len() as u64;
        self.dead_letter(reason, record, bytes.len() as u64, bytes, now_micros())
    }

    /// Parses one record and stores its events, or dead-letters it with the parser's reason.
    /// Every source (files, stdin, Kafka) hands its records over here.
    pub fn ingest_record(
        &mut self,
        parser: &mut dyn Parser,
        context: &ParseContext,
        record: &RecordOrigin<'_>,
        bytes: &[u8],
    ) -> Result<(), IngestError> {
        let ingest_time = now_micros();
        self.summary.bytes += bytes.len() as u64;
        let (text, not_utf8) = match std::str::from_utf8(bytes) {
            Ok(text) => (std::borrow::Cow::Borrowed(text), false),
            Err(_) => (String::from_utf8_lossy(bytes), true),
        };
        let mut events: Vec<Event<'_>> = self.events.take();
        if let Err(error) = parser.parse(&text, context, &mut events) {
            self.events.give_back(events);
            self.summary.read += 1;
            let reason = error.to_string();
            return self.dead_letter(&reason, record, bytes.len() as u64, bytes, ingest_time);
        }
        if events.is_empty() {
            self.events.give_back(events);
            self.summary.metadata += 1;
            return Ok(());
        }
        if not_utf8 {
            self.summary.not_utf8 += 1;
        }
        for (index, event) in events.iter().enumerate() {
            self.summary.read += 1;
            let event_id = crate::id::event_id(record.origin, record.offset, index as u32);
            let service = self
                .options
                .service
                .as_deref()
                .or(record.service)
                .or(event.service.as_deref())
                .unwrap_or(record.default_service);
            let meta = RecordMeta {
                ingest_time,
                event_id: &event_id,
                service,
                raw: &text,
                not_utf8,
            };
            count(&mut self.summary.by_format, event.format);
            count(&mut self.summary.by_class, event.class.as_str());
            if event.time.is_none() {
                self.summary.time_missing += 1;
            }
            let written = self
                .store
                .append(event, &meta, record.origin, record.offset)?;
            self.count_written(&written);
        }
        self.events.give_back(events);
        Ok(())
    }

    fn dead_letter(
        &mut self,
        reason: &str,
        record: &RecordOrigin<'_>,
        size: u64,
        bytes: &[u8],
        received: i64,
    ) -> Result<(), IngestError> {
        self.dead_letters.write(&DeadLetterRecord {
            reason,
            record,
            size,
            bytes,
            received,
        })?;
        self.summary.dead_lettered += 1;
        *self
            .summary
            .dead_letter_reasons
            .entry(reason_kind(reason))
            .or_default() += 1;
        Ok(())
    }

    fn count_written(&mut self, written: &[crate::store::manifest::SegmentEntry]) {
        for entry in written {
            self.summary.stored += entry.rows;
            self.summary.segments += 1;
        }
    }

    /// Makes every dead letter and every buffered event durable as one checkpoint that
    /// completes `offsets` (see [`EventStore::checkpoint`]). Returns the segments written.
    pub fn checkpoint(
        &mut self,
        offsets: Vec<crate::store::manifest::PartitionRange>,
    ) -> Result<Vec<crate::store::manifest::SegmentEntry>, IngestError> {
        self.dead_letters.flush()?;
        let written = self.store.checkpoint(offsets)?;
        self.count_written(&written);
        Ok(written)
    }

    /// Makes every dead letter durable and takes the buffered events out as one checkpoint
    /// that completes `offsets`, to be written with [`PendingCheckpoint::write`] (on another
    /// thread, while reading goes on) and then counted with [`Self::checkpoint_written`].
    pub fn take_checkpoint(
        &mut self,
        offsets: Vec<crate::store::manifest::PartitionRange>,
    ) -> Result<PendingCheckpoint, IngestError> {
        self.dead_letters.flush()?;
        Ok(self.store.take_checkpoint(offsets))
    }

    /// Counts the segments a [`PendingCheckpoint`] wrote as stored.
    pub fn checkpoint_written(&mut self, written: &[crate::store::manifest::SegmentEntry]) {
        self.count_written(written);
    }

    /// A [`PendingCheckpoint`] of `rows` events was not written: like buffered events that
    /// are discarded, their records will be read again, so they no longer count as read.
    pub fn checkpoint_dropped(&mut self, rows: usize) {
        self.summary.read = self.summary.read.saturating_sub(rows as u64);
    }

    /// Drops the buffered events: their records will be read again (by this worker or the one
    /// that took their partitions over), so they no longer count as read.
    pub fn discard_buffered(&mut self) {
        self.summary.read = self
            .summary
            .read
            .saturating_sub(self.store.buffered_rows() as u64);
        self.store.discard();
    }

    /// Events buffered and not yet durable, and their approximate size.
    pub fn buffered(&self) -> (usize, usize) {
        (self.store.buffered_rows(), self.store.buffered_bytes())
    }

    /// Makes everything durable and returns the run's counts.
    pub fn finish(mut self) -> Result<IngestSummary, IngestError> {
        self.dead_letters.flush()?;
        let written = self.store.flush()?;
        self.count_written(&written);
        if self.dead_letters.written() > 0 {
            self.summary.dead_letter_file = Some(self.dead_letters.location());
        }
        Ok(self.summary)
    }

    /// The counts so far, for sources that end with checkpoints rather than [`Self::finish`].
    pub fn into_summary(mut self) -> IngestSummary {
        if self.dead_letters.written() > 0 {
            self.summary.dead_letter_file = Some(self.dead_letters.location());
        }
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> IngestOptions {
        IngestOptions {
            format: None,
            service: None,
            config: IngestConfig::default(),
            flush: FlushPolicy::default(),
        }
    }

    #[test]
    fn every_record_is_stored_or_dead_lettered() {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("app.log");
        let long = "x".repeat(200);
        std::fs::write(
            &input,
            format!("{{\"msg\":\"ok\",\"ts\":\"2024-05-01T00:00:00Z\"}}\n{{\"broken\":\nplain text line\n{long}\n\n"),
        )
        .expect("write input");
        let mut options = options();
        options.config.max_record_bytes = 100;
        let mut ingestor = Ingestor::open(&dir.path().join("data"), options).expect("open");
        ingestor.ingest(&Input::File(input)).expect("ingest");
        let summary = ingestor.finish().expect("finish");
        assert_eq!(summary.read, 4, "blank lines are not records");
        assert_eq!(summary.stored, 2);
        assert_eq!(summary.dead_lettered, 2);
        assert!(summary.is_balanced());
        assert_eq!(summary.dead_letter_reasons.get("oversized"), Some(&1));
        assert_eq!(summary.dead_letter_reasons.get("json"), Some(&1));
        assert_eq!(summary.by_format.get("text"), Some(&1));
        assert_eq!(summary.time_missing, 1);
        let dead = std::fs::read_to_string(summary.dead_letter_file.expect("dead letters written"))
            .expect("dead-letter file");
        assert_eq!(dead.lines().count(), 2);
    }

    #[test]
    fn gzip_input_is_detected_by_its_magic_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("events.data");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(b"{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n")
            .expect("compress");
        std::fs::write(&input, encoder.finish().expect("compress")).expect("write");
        let mut ingestor = Ingestor::open(&dir.path().join("data"), options()).expect("open");
        ingestor.ingest(&Input::File(input)).expect("ingest");
        let summary = ingestor.finish().expect("finish");
        assert_eq!((summary.read, summary.stored), (2, 2));
        assert_eq!(summary.by_format.get("json"), Some(&2));
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut ingestor = Ingestor::open(&dir.path().join("data"), options()).expect("open");
        let error = ingestor
            .ingest(&Input::File(dir.path().join("nope.log")))
            .expect_err("missing file");
        assert!(error.to_string().starts_with("cannot read "), "{error}");
    }

    #[test]
    fn default_service_is_the_file_stem() {
        assert_eq!(
            Input::from_arg("/var/log/auth.log.gz").default_service(),
            "auth"
        );
        assert_eq!(Input::from_arg("-").default_service(), "stdin");
    }
}
