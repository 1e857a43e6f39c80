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
//! - events per service over the last hour of event time: one DataFusion aggregate over the
//!   segments of that hour (the manifest does not record services);
//! - dead letters in `<data_dir>/deadletter/*.ndjson`, per reason (the text before its first
//!   `:`, so per-record details do not make every reason unique) and per origin. Files are
//!   append-only: each is read on from where the previous count stopped ([`DeadLetterTally`]).
//!   Dead letters of Kafka go to `<topic>.dlq` topics and are not counted here.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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

/// Events of one service over the last hour of event time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStats {
    pub service: String,
    pub events_last_hour: u64,
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
    pub services: Vec<ServiceStats>,
    pub kafka: Vec<PartitionOffset>,
    pub dead_letters: DeadLetterCounts,
    pub notes: Vec<&'static str>,
}

fn rfc3339(micros: i64) -> Option<String> {
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
        "kafka lag needs the broker's high watermark: see the worker's log or /metrics",
        "services: events of the last hour of event time",
    ];
    Ok(stats)
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
