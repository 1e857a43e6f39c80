//! Ingest health for `GET /api/v1/ingest/stats`, from what the store records:
//!
//! - the manifest: segments, events and bytes in total and per source origin (`file:<path>`,
//!   `kafka:<topic>/<partition>`; a segment holding several origins counts for each, its
//!   events for the first), the newest event time (freshness), and the ingest rate over the
//!   last 5 minutes and the last hour, by the time segments were published (events become
//!   visible when their segment is published, so this is the rate readers see);
//! - the Kafka checkpoints of the manifest: per partition, the next offset to read. Lag needs
//!   the broker's high watermark: the Kafka worker logs it (and exports it at `/metrics`
//!   where it runs the API);
//! - the consumer lag per partition (high watermark minus next offset) where a Kafka worker
//!   runs in the same process (`weft run`) and has measured it; elsewhere the answer says it
//!   is not known here rather than guessing;
//! - events per service over the last hour of event time, per minute, with the rates of the
//!   last 5 minutes and the last hour: one DataFusion aggregate over the segments of that
//!   hour (the manifest does not record services) grouped by service and minute
//!   ([`service_stats`]);
//! - dead letters in `<data_dir>/deadletter/*.ndjson`, per reason (the text before its first
//!   `:`, so per-record details do not make every reason unique) and per origin. Files are
//!   append-only: each is read on from where the previous count stopped ([`DeadLetterTally`]).
//!   Dead letters of Kafka go to `<topic>.dlq` topics and are not counted here.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use weft_ingest::source::lag::{LagSnapshot, PartitionLag};
use weft_ingest::store::manifest::Manifest;

/// Microseconds per second.
const SECOND: i64 = 1_000_000;

/// Events and segments of one source origin.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OriginStats {
    pub origin: String,
    pub segments: u64,
    pub events: u64,
    pub last_offset: u64,
    /// When its newest segment was published, RFC 3339.
    pub last_published: Option<String>,
}

/// Events over a recent span of publish time.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Rate {
    pub seconds: u64,
    pub events: u64,
    pub events_per_second: f64,
}

/// The next offset of one Kafka partition, from the manifest's checkpoints.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
}

/// Minutes in the per-service series (the last hour).
pub const SERVICE_MINUTES: usize = 60;

/// Events of one service over the last hour of event time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStats {
    pub service: String,
    pub events_last_hour: u64,
    pub events_last_5m: u64,
    pub events_per_second_last_5m: f64,
    pub events_per_second_last_hour: f64,
    /// Events per minute of event time, oldest first: minute `i` starts at
    /// [`IngestStats::services_from`] + `i` minutes.
    pub per_minute: Vec<u64>,
}

/// The consumer lag of the Kafka worker in this process, as last measured.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct KafkaLag {
    /// Whether a Kafka worker runs in this process and has measured its lag.
    pub known: bool,
    /// When it was measured, RFC 3339.
    pub measured_at: Option<String>,
    pub partitions: Vec<PartitionLag>,
}

/// Dead letters counted so far.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeadLetterCounts {
    pub total: u64,
    pub by_reason: BTreeMap<String, u64>,
    pub by_origin: BTreeMap<String, u64>,
    /// Lines that were not dead-letter records.
    pub unreadable: u64,
}

impl DeadLetterCounts {
    fn add(&mut self, other: &DeadLetterCounts) {
        self.total += other.total;
        self.unreadable += other.unreadable;
        for (reason, count) in &other.by_reason {
            *self.by_reason.entry(reason.clone()).or_default() += count;
        }
        for (origin, count) in &other.by_origin {
            *self.by_origin.entry(origin.clone()).or_default() += count;
        }
    }
}

/// The whole answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestStats {
    pub segments: u64,
    pub events: u64,
    pub bytes: u64,
    /// The newest event time in the store, RFC 3339.
    pub newest_event: Option<String>,
    pub oldest_event: Option<String>,
    pub last_published: Option<String>,
    pub last_5m: Rate,
    pub last_1h: Rate,
    pub origins: Vec<OriginStats>,
    /// Where the per-minute series of `services` starts, RFC 3339 (an hour before now).
    pub services_from: Option<String>,
    pub services: Vec<ServiceStats>,
    pub kafka: Vec<PartitionOffset>,
    pub kafka_lag: KafkaLag,
    pub dead_letters: DeadLetterCounts,
    pub notes: Vec<&'static str>,
}

/// `micros` (UTC) as RFC 3339 with microseconds.
pub fn rfc3339(micros: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The manifest's part of the stats, at `now` (UTC microseconds).
pub fn manifest_stats(data_dir: &Path, now: i64) -> std::io::Result<IngestStats> {
    let loaded = Manifest::new(data_dir)
        .load()
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    let mut stats = IngestStats::default();
    let mut origins: BTreeMap<String, OriginStats> = BTreeMap::new();
    let mut newest: Option<i64> = None;
    let mut oldest: Option<i64> = None;
    let mut published: Option<i64> = None;
    let (mut last_5m, mut last_1h) = (0u64, 0u64);
    for entry in &loaded.entries {
        stats.segments += 1;
        stats.events += entry.rows;
        stats.bytes += entry.bytes;
        newest = newest.max(Some(entry.max_time));
        oldest = Some(oldest.map_or(entry.min_time, |oldest| oldest.min(entry.min_time)));
        published = published.max(Some(entry.created));
        if entry.created >= now - 300 * SECOND {
            last_5m += entry.rows;
        }
        if entry.created >= now - 3600 * SECOND {
            last_1h += entry.rows;
        }
        for (position, source) in entry.sources.iter().enumerate() {
            let origin = origins
                .entry(source.origin.clone())
                .or_insert_with(|| OriginStats {
                    origin: source.origin.clone(),
                    ..OriginStats::default()
                });
            origin.segments += 1;
            if position == 0 {
                origin.events += entry.rows;
            }
            origin.last_offset = origin.last_offset.max(source.last_offset);
            let newer = origin
                .last_published
                .as_ref()
                .is_none_or(|last| rfc3339(entry.created).is_some_and(|created| created > *last));
            if newer {
                origin.last_published = rfc3339(entry.created);
            }
        }
    }
    stats.newest_event = newest.and_then(rfc3339);
    stats.oldest_event = oldest.and_then(rfc3339);
    stats.last_published = published.and_then(rfc3339);
    let rate = |seconds: u64, events: u64| Rate {
        seconds,
        events,
        events_per_second: events as f64 / seconds as f64,
    };
    stats.last_5m = rate(300, last_5m);
    stats.last_1h = rate(3600, last_1h);
    stats.origins = origins.into_values().collect();
    stats.kafka = loaded
        .next_offsets()
        .into_iter()
        .map(|((topic, partition), next_offset)| PartitionOffset {
            topic,
            partition,
            next_offset,
        })
        .collect();
    stats.notes = vec![
        "rates count events by the time their segment was published",
        "services: events per minute of the last hour of event time, and their rates",
    ];
    Ok(stats)
}

/// The lag part of the stats: `None` when no Kafka worker runs in this process.
pub fn kafka_lag(snapshot: Option<LagSnapshot>) -> (KafkaLag, &'static str) {
    let Some(snapshot) = snapshot else {
        return (
            KafkaLag::default(),
            "kafka lag is not known here: no Kafka worker runs in this process (see the worker's log)",
        );
    };
    let Some(measured_at) = snapshot.measured_at else {
        return (
            KafkaLag::default(),
            "kafka lag is not measured yet: the worker measures it every metrics_interval_secs",
        );
    };
    (
        KafkaLag {
            known: true,
            measured_at: rfc3339(measured_at),
            partitions: snapshot.partitions,
        },
        "kafka lag: the broker's high watermark minus the worker's next offset, as last measured",
    )
}

/// Per-service stats from rows of (service, minute index since the start of the hour, events),
/// busiest service first.
pub fn service_stats(rows: impl IntoIterator<Item = (String, i64, u64)>) -> Vec<ServiceStats> {
    let mut minutes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (service, minute, events) in rows {
        let Ok(minute) = usize::try_from(minute) else {
            continue;
        };
        if minute >= SERVICE_MINUTES {
            continue;
        }
        minutes
            .entry(service)
            .or_insert_with(|| vec![0; SERVICE_MINUTES])[minute] += events;
    }
    let mut services: Vec<ServiceStats> = minutes
        .into_iter()
        .map(|(service, per_minute)| {
            let events_last_hour: u64 = per_minute.iter().sum();
            let events_last_5m: u64 = per_minute[SERVICE_MINUTES - 5..].iter().sum();
            ServiceStats {
                service,
                events_last_hour,
                events_last_5m,
                events_per_second_last_5m: events_last_5m as f64 / 300.0,
                events_per_second_last_hour: events_last_hour as f64 / 3600.0,
                per_minute,
            }
        })
        .collect();
    services.sort_by(|a, b| {
        b.events_last_hour
            .cmp(&a.events_last_hour)
            .then_with(|| a.service.cmp(&b.service))
    });
    services
}

/// One dead-letter line (the fields counted).
#[derive(Debug, Deserialize)]
struct DeadLetterLine {
    reason: String,
    origin: String,
}

/// Dead letters counted per file, read incrementally: each file's complete lines up to
/// `read` bytes are counted in `counts`.
#[derive(Debug, Default)]
pub struct DeadLetterTally {
    files: HashMap<PathBuf, (u64, DeadLetterCounts)>,
}

impl DeadLetterTally {
    /// Counts the new lines of every file in `<data_dir>/deadletter/` and returns the totals.
    pub fn refresh(&mut self, data_dir: &Path) -> std::io::Result<DeadLetterCounts> {
        let dir = data_dir.join("deadletter");
        let mut seen = Vec::new();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry?.path();
                    if path
                        .extension()
                        .is_some_and(|extension| extension == "ndjson")
                    {
                        self.count_file(&path)?;
                        seen.push(path);
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        self.files.retain(|path, _| seen.contains(path));
        let mut totals = DeadLetterCounts::default();
        for (_, counts) in self.files.values() {
            totals.add(counts);
        }
        Ok(totals)
    }

    fn count_file(&mut self, path: &Path) -> std::io::Result<()> {
        let length = std::fs::metadata(path)?.len();
        let (read, counts) = self.files.entry(path.to_path_buf()).or_default();
        if length < *read {
            // Replaced by a shorter file: count it again.
            *read = 0;
            *counts = DeadLetterCounts::default();
        }
        if length == *read {
            return Ok(());
        }
        let mut file = std::fs::File::open(path)?;
        file.seek(SeekFrom::Start(*read))?;
        let mut bytes = Vec::new();
        file.take(length - *read).read_to_end(&mut bytes)?;
        let Some(end) = bytes.iter().rposition(|byte| *byte == b'\n') else {
            return Ok(()); // a line being written: counted once complete
        };
        for line in bytes[..end].split(|byte| *byte == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<DeadLetterLine>(line) {
                Ok(letter) => {
                    counts.total += 1;
                    let reason = letter
                        .reason
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    *counts.by_reason.entry(reason).or_default() += 1;
                    *counts.by_origin.entry(letter.origin).or_default() += 1;
                }
                Err(_) => counts.unreadable += 1,
            }
        }
        *read += end as u64 + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_rates_come_from_the_minutes_of_the_hour() {
        let rows = vec![
            ("api".to_string(), 0, 60),
            ("api".to_string(), 59, 300),
            ("api".to_string(), 55, 300),
            ("auth".to_string(), 10, 7),
            ("auth".to_string(), 60, 9),
            ("auth".to_string(), -1, 9),
        ];
        let services = service_stats(rows);
        assert_eq!(services.len(), 2);
        let api = &services[0];
        assert_eq!(api.service, "api");
        assert_eq!((api.events_last_hour, api.events_last_5m), (660, 600));
        assert_eq!(api.events_per_second_last_5m, 2.0);
        assert_eq!(api.per_minute.len(), SERVICE_MINUTES);
        assert_eq!(api.per_minute[59], 300);
        assert_eq!(
            services[1].events_last_hour, 7,
            "minutes outside the hour are left out"
        );
    }

    #[test]
    fn lag_is_unknown_without_a_worker_in_the_process() {
        let (lag, note) = kafka_lag(None);
        assert!(!lag.known);
        assert!(note.contains("not known here"));
        let (lag, _) = kafka_lag(Some(LagSnapshot::default()));
        assert!(!lag.known, "nothing measured yet");
        let (lag, _) = kafka_lag(Some(LagSnapshot {
            measured_at: Some(0),
            partitions: Vec::new(),
        }));
        assert!(lag.known);
        assert_eq!(
            lag.measured_at.as_deref(),
            Some("1970-01-01T00:00:00.000000Z")
        );
    }

    #[test]
    fn counts_dead_letters_incrementally_and_waits_for_whole_lines() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let letters = dir.path().join("deadletter");
        std::fs::create_dir_all(&letters).expect("directory");
        let file = letters.join("run.ndjson");
        let line = |reason: &str, origin: &str| {
            format!(
                "{{\"received\":\"2026-11-23T08:00:00Z\",\"reason\":\"{reason}\",\"origin\":\"{origin}\",\"offset\":0,\"size\":1,\"raw_base64\":\"\",\"raw_preview\":\"\"}}\n"
            )
        };
        std::fs::write(&file, line("not json: expected value", "file:a.log")).expect("written");
        let mut tally = DeadLetterTally::default();
        let counts = tally.refresh(dir.path()).expect("counted");
        assert_eq!(counts.total, 1);
        assert_eq!(counts.by_reason.get("not json"), Some(&1));

        let mut more = line("too large: 9 bytes", "file:b.log");
        more.push_str("{\"partial\":");
        let mut text = std::fs::read_to_string(&file).expect("read");
        text.push_str(&more);
        std::fs::write(&file, text).expect("written");
        let counts = tally.refresh(dir.path()).expect("counted");
        assert_eq!(counts.total, 2, "the partial line waits");
        assert_eq!(counts.by_origin.get("file:b.log"), Some(&1));
        assert_eq!(counts.unreadable, 0);
    }
}
