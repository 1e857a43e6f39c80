//! The event store: Parquet segments partitioned by event hour, and the manifest that lists
//! them.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data-dir>/manifest.jsonl                          one line per durable segment
//! <data-dir>/events/date=YYYY-MM-DD/hour=HH/*.parquet  segments (zstd Parquet, schema v1)
//! <data-dir>/deadletter/                             records that could not be stored
//! <data-dir>/quarantine/                             files found damaged on start
//! ```
//!
//! [`EventStore`] buffers events per event hour and writes a segment when a buffer is full or
//! on [`EventStore::flush`]. A segment is visible once its manifest line is written; on
//! [`EventStore::open`] the store finishes or undoes whatever a crash interrupted (see
//! [`recover`]).

pub mod manifest;
pub mod segment;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::batch::{EventBatchBuilder, RecordMeta};
use crate::event::Event;
use crate::schema::SCHEMA_VERSION;
use manifest::{Manifest, SegmentEntry, SourceRange};
use segment::TEMP_PREFIX;

/// Microseconds in an hour: segments never span two event hours.
const HOUR_MICROS: i64 = 3_600_000_000;

/// Why the store could not do what was asked. Every variant is an operator matter (disk,
/// permissions, damaged files), never a bad record.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("writing parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("building a record batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("damaged segment {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

impl StoreError {
    pub fn io(action: &'static str, path: &Path, error: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            error,
        }
    }
}

/// When a buffer becomes a segment.
#[derive(Debug, Clone, Copy)]
pub struct FlushPolicy {
    /// Rows in one hour's buffer that trigger a segment.
    pub max_rows: usize,
    /// Approximate bytes in one hour's buffer that trigger a segment.
    pub max_bytes: usize,
    /// More distinct event hours than this buffered at once flushes them all.
    pub max_open_hours: usize,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            max_rows: 256 * 1024,
            max_bytes: 128 * 1024 * 1024,
            max_open_hours: 48,
        }
    }
}

/// Events of one event hour waiting to be written.
#[derive(Debug, Default)]
struct HourBuffer {
    builder: EventBatchBuilder,
    sources: BTreeMap<String, (u64, u64)>,
}

/// What [`recover`] did on start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Incomplete segment files removed.
    pub removed_temp: Vec<PathBuf>,
    /// Complete segments missing from the manifest, added to it.
    pub adopted: Vec<PathBuf>,
    /// Damaged files moved to `quarantine/`.
    pub quarantined: Vec<PathBuf>,
    /// Manifest lines that were not valid (cut short by a crash).
    pub bad_manifest_lines: usize,
}

/// Buffers events per hour and writes them as segments.
#[derive(Debug)]
pub struct EventStore {
    data_dir: PathBuf,
    manifest: Manifest,
    policy: FlushPolicy,
    buffers: BTreeMap<i64, HourBuffer>,
    sequence: u64,
    recovery: Recovery,
}

impl EventStore {
    /// Opens (creating if needed) the store in `data_dir` and recovers from any interrupted
    /// write.
    pub fn open(data_dir: &Path, policy: FlushPolicy) -> Result<EventStore, StoreError> {
        fs::create_dir_all(data_dir.join("events"))
            .map_err(|error| StoreError::io("creating the data directory", data_dir, error))?;
        let manifest = Manifest::new(data_dir);
        let recovery = recover(data_dir, &manifest)?;
        Ok(EventStore {
            data_dir: data_dir.to_path_buf(),
            manifest,
            policy,
            buffers: BTreeMap::new(),
            sequence: 0,
            recovery,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// What opening the store had to repair.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Buffers one event. `origin` and `offset` say where its record came from; the segment
    /// holding it records the range. Returns the segments this call made durable (when a
    /// buffer filled up).
    pub fn append(
        &mut self,
        event: &Event<'_>,
        meta: &RecordMeta<'_>,
        origin: &str,
        offset: u64,
    ) -> Result<Vec<SegmentEntry>, StoreError> {
        let time = EventBatchBuilder::effective_time(event, meta);
        let hour = time.div_euclid(HOUR_MICROS);
        let buffer = self.buffers.entry(hour).or_default();
        buffer.builder.append(event, meta);
        match buffer.sources.get_mut(origin) {
            Some(range) => {
                range.0 = range.0.min(offset);
                range.1 = range.1.max(offset);
            }
            None => {
                buffer.sources.insert(origin.to_string(), (offset, offset));
            }
        }
        let full = buffer.builder.len() >= self.policy.max_rows
            || buffer.builder.estimated_bytes() >= self.policy.max_bytes;
        if full {
            let entry = self.write_hour(hour)?;
            return Ok(entry.into_iter().collect());
        }
        if self.buffers.len() > self.policy.max_open_hours {
            return self.flush();
        }
        Ok(Vec::new())
    }

    /// Rows buffered and not yet durable.
    pub fn buffered_rows(&self) -> usize {
        self.buffers
            .values()
            .map(|buffer| buffer.builder.len())
            .sum()
    }

    /// Writes every buffer as a segment. Returns the segments made durable.
    pub fn flush(&mut self) -> Result<Vec<SegmentEntry>, StoreError> {
        let hours: Vec<i64> = self.buffers.keys().copied().collect();
        let mut written = Vec::new();
        for hour in hours {
            written.extend(self.write_hour(hour)?);
        }
        Ok(written)
    }

    fn next_segment_id(&mut self, created: i64) -> String {
        self.sequence += 1;
        let entropy = xxhash_rust::xxh3::xxh3_64(
            format!("{}:{}:{}", std::process::id(), created, self.sequence).as_bytes(),
        );
        format!("{created:016x}-{:08x}", entropy as u32)
    }

    fn write_hour(&mut self, hour: i64) -> Result<Option<SegmentEntry>, StoreError> {
        let Some(mut buffer) = self.buffers.remove(&hour) else {
            return Ok(None);
        };
        let Some((min_time, max_time)) = buffer.builder.time_range() else {
            return Ok(None);
        };
        let batch = buffer.builder.finish()?;
        let created = chrono::Utc::now().timestamp_micros();
        let segment = self.next_segment_id(created);
        let path = segment::partition_dir(hour * HOUR_MICROS).join(format!("{segment}.parquet"));
        let entry = SegmentEntry {
            segment,
            path: path.to_string_lossy().into_owned(),
            rows: batch.num_rows() as u64,
            bytes: 0,
            min_time,
            max_time,
            created,
            schema_version: SCHEMA_VERSION.to_string(),
            sources: buffer
                .sources
                .into_iter()
                .map(|(origin, (first_offset, last_offset))| SourceRange {
                    origin,
                    first_offset,
                    last_offset,
                })
                .collect(),
        };
        let entry = segment::write_segment(&self.data_dir, &batch, entry)?;
        self.manifest.append(std::slice::from_ref(&entry))?;
        Ok(Some(entry))
    }

    /// Every durable segment, in manifest order.
    pub fn segments(&self) -> Result<Vec<SegmentEntry>, StoreError> {
        Ok(self.manifest.load()?.entries)
    }
}

/// Brings a data directory to a consistent state after a crash:
/// - `.tmp-*` files (segments whose write never finished) are removed;
/// - complete segments missing from the manifest (renamed, then the crash) are adopted from
///   the entry in their footer;
/// - segment files that cannot be read are moved to `quarantine/` and reported.
pub fn recover(data_dir: &Path, manifest: &Manifest) -> Result<Recovery, StoreError> {
    let loaded = manifest.load()?;
    let mut recovery = Recovery {
        bad_manifest_lines: loaded.bad_lines.len(),
        ..Recovery::default()
    };
    for (line, error) in &loaded.bad_lines {
        warn!(line, %error, path = %manifest.path().display(), "ignoring a damaged manifest line");
    }
    let known: std::collections::HashSet<&str> = loaded
        .entries
        .iter()
        .map(|entry| entry.path.as_str())
        .collect();
    let mut files = Vec::new();
    collect_files(&data_dir.join("events"), &mut files)?;
    let mut adopted = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with(TEMP_PREFIX) {
            warn!(path = %path.display(), "removing a segment whose write did not finish");
            fs::remove_file(&path).map_err(|error| StoreError::io("removing", &path, error))?;
            recovery.removed_temp.push(path);
            continue;
        }
        if !name.ends_with(".parquet") {
            continue;
        }
        let relative = path
            .strip_prefix(data_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if known.contains(relative.as_str()) {
            continue;
        }
        match segment::read_segment_entry(&path) {
            Ok(mut entry) if entry.path == relative => {
                warn!(path = %path.display(), "adopting a segment missing from the manifest");
                entry.path = relative;
                adopted.push(entry);
                recovery.adopted.push(path);
            }
            Ok(_) | Err(_) => {
                let target = quarantine(data_dir, &path)?;
                warn!(path = %path.display(), quarantined = %target.display(), "moved a damaged or unknown segment to quarantine");
                recovery.quarantined.push(path);
            }
        }
    }
    manifest.append(&adopted)?;
    Ok(recovery)
}

fn quarantine(data_dir: &Path, path: &Path) -> Result<PathBuf, StoreError> {
    let directory = data_dir.join("quarantine");
    fs::create_dir_all(&directory)
        .map_err(|error| StoreError::io("creating", &directory, error))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = directory.join(name);
    fs::rename(path, &target).map_err(|error| StoreError::io("quarantining", path, error))?;
    Ok(target)
}

fn collect_files(directory: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(StoreError::io("listing", directory, error)),
    };
    for entry in entries {
        let entry = entry.map_err(|error| StoreError::io("listing", directory, error))?;
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn meta(raw: &str) -> RecordMeta<'_> {
        RecordMeta {
            ingest_time: 0,
            event_id: "id",
            service: "svc",
            raw,
            not_utf8: false,
        }
    }

    fn event_at(time: i64) -> Event<'static> {
        let mut event = Event::new("text");
        event.time = Some(time);
        event.message = Some(Cow::Borrowed("hello"));
        event
    }

    #[test]
    fn segments_split_by_event_hour_and_record_source_ranges() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        store
            .append(&event_at(0), &meta("a"), "file:/x", 0)
            .expect("append");
        store
            .append(&event_at(10), &meta("b"), "file:/x", 2)
            .expect("append");
        store
            .append(&event_at(HOUR_MICROS + 5), &meta("c"), "file:/x", 4)
            .expect("append");
        let written = store.flush().expect("flush");
        assert_eq!(written.len(), 2);
        assert_eq!(written[0].rows, 2);
        assert_eq!(
            written[0].path.rsplit_once('/').expect("a file").0,
            "events/date=1970-01-01/hour=00"
        );
        assert_eq!(
            written[1].path.rsplit_once('/').expect("a file").0,
            "events/date=1970-01-01/hour=01"
        );
        assert_eq!(written[0].sources[0].first_offset, 0);
        assert_eq!(written[0].sources[0].last_offset, 2);
        assert_eq!(store.segments().expect("manifest").len(), 2);
        assert!(dir.path().join(&written[0].path).is_file());
    }

    #[test]
    fn full_buffers_become_segments_without_flush() {
        let dir = tempfile::tempdir().expect("temp dir");
        let policy = FlushPolicy {
            max_rows: 2,
            ..FlushPolicy::default()
        };
        let mut store = EventStore::open(dir.path(), policy).expect("open");
        assert!(
            store
                .append(&event_at(1), &meta("a"), "o", 0)
                .expect("append")
                .is_empty()
        );
        let written = store
            .append(&event_at(2), &meta("b"), "o", 1)
            .expect("append");
        assert_eq!(written.len(), 1);
        assert_eq!(store.buffered_rows(), 0);
    }

    #[test]
    fn recovery_removes_temp_files_adopts_orphans_and_quarantines_junk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        store
            .append(&event_at(1), &meta("a"), "o", 0)
            .expect("append");
        let written = store.flush().expect("flush");
        let segment_path = dir.path().join(&written[0].path);
        let partition = segment_path.parent().expect("partition").to_path_buf();
        // A crash after the rename but before the manifest line: lose the manifest.
        fs::remove_file(dir.path().join(manifest::MANIFEST_FILE)).expect("remove manifest");
        fs::write(partition.join(".tmp-half.parquet"), b"PAR1 half").expect("temp file");
        fs::write(partition.join("junk.parquet"), b"not parquet").expect("junk");

        let store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
        let recovery = store.recovery();
        assert_eq!(recovery.removed_temp.len(), 1);
        assert_eq!(recovery.adopted, [segment_path]);
        assert_eq!(recovery.quarantined.len(), 1);
        assert!(dir.path().join("quarantine/junk.parquet").is_file());
        let segments = store.segments().expect("manifest");
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].rows, 1);
        assert_eq!(segments[0].sources, written[0].sources);
    }
}
