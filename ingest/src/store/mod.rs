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
//! <data-dir>/store.lock                              held while segments are published
//! ```
//!
//! [`EventStore`] buffers events per event hour and writes a segment when a buffer is full or
//! on [`EventStore::flush`]. A segment is visible once its manifest line is written; on
//! [`EventStore::open`] the store finishes or undoes whatever a crash interrupted (see
//! [`recover`]).
//!
//! Kafka workers write with [`EventStore::checkpoint`] instead: all buffered hours at once, as
//! one [`Checkpoint`] that also records the offsets it completed. Several workers (processes)
//! may share a data directory: publishing segments and recovery hold an exclusive lock on
//! `store.lock`, so recovery never mistakes another worker's write in progress for a crash.

pub mod manifest;
pub mod segment;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::batch::{EventBatchBuilder, RecordMeta};
use crate::event::Event;
use crate::schema::SCHEMA_VERSION;
use manifest::{Checkpoint, CheckpointLine, Manifest, PartitionRange, SegmentEntry, SourceRange};
use segment::TEMP_PREFIX;

/// Microseconds in an hour: segments never span two event hours.
const HOUR_MICROS: i64 = 3_600_000_000;
/// The lock file that serializes publishing and recovery between processes.
pub const LOCK_FILE: &str = "store.lock";

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
    /// Another worker recorded offsets of a partition this checkpoint covers: this worker no
    /// longer owns it and must drop what it buffered and resume from the manifest.
    #[error(
        "partition {topic}/{partition} moved on: the manifest resumes it at {recorded}, this checkpoint starts at {first_offset}; dropping the buffered events and resuming from the manifest"
    )]
    Fenced {
        topic: String,
        partition: i32,
        recorded: i64,
        first_offset: i64,
    },
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
    /// Segments of a Kafka checkpoint whose write did not finish, removed: their records are
    /// read again from Kafka.
    pub abandoned: Vec<PathBuf>,
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
        let recovery = {
            let _lock = lock_store(data_dir)?;
            recover(data_dir, &manifest)?
        };
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

    /// Approximate bytes buffered and not yet durable.
    pub fn buffered_bytes(&self) -> usize {
        self.buffers
            .values()
            .map(|buffer| buffer.builder.estimated_bytes())
            .sum()
    }

    /// Drops every buffered event (a Kafka worker that lost its partitions reads them again).
    pub fn discard(&mut self) {
        self.buffers.clear();
    }

    /// Repairs whatever a crashed writer left (see [`recover`]) and returns where each Kafka
    /// partition resumes: one past the last offset the manifest records as completed.
    pub fn resume_offsets(&mut self) -> Result<BTreeMap<(String, i32), i64>, StoreError> {
        let _lock = lock_store(&self.data_dir)?;
        let recovery = recover(&self.data_dir, &self.manifest)?;
        merge_recovery(&mut self.recovery, recovery);
        Ok(self.manifest.load()?.next_offsets())
    }

    /// Writes every buffered hour as one checkpoint that completes `offsets`: the segments, then
    /// their manifest lines in one append (or a checkpoint line when nothing is buffered).
    /// Fails with [`StoreError::Fenced`], writing nothing, when the manifest already records a
    /// partition past where `offsets` start (another worker took it over).
    pub fn checkpoint(
        &mut self,
        offsets: Vec<PartitionRange>,
    ) -> Result<Vec<SegmentEntry>, StoreError> {
        let _lock = lock_store(&self.data_dir)?;
        let recorded = self.manifest.load()?.next_offsets();
        for range in &offsets {
            if let Some(&next) = recorded.get(&(range.topic.clone(), range.partition))
                && next != range.first_offset
            {
                return Err(StoreError::Fenced {
                    topic: range.topic.clone(),
                    partition: range.partition,
                    recorded: next,
                    first_offset: range.first_offset,
                });
            }
        }
        let hours: Vec<i64> = self
            .buffers
            .iter()
            .filter(|(_, buffer)| !buffer.builder.is_empty())
            .map(|(hour, _)| *hour)
            .collect();
        let created = chrono::Utc::now().timestamp_micros();
        let checkpoint = Checkpoint {
            id: self.next_segment_id(created),
            segments: u32::try_from(hours.len()).unwrap_or(u32::MAX),
            offsets,
        };
        self.buffers.retain(|hour, _| hours.contains(hour));
        let mut written = Vec::new();
        for hour in hours {
            written.extend(self.write_buffer(hour, Some(&checkpoint))?);
        }
        if written.is_empty() {
            self.manifest.append_checkpoint(&CheckpointLine {
                checkpoint,
                created,
            })?;
        } else {
            self.manifest.append(&written)?;
        }
        Ok(written)
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
        let _lock = lock_store(&self.data_dir)?;
        let entry = self.write_buffer(hour, None)?;
        if let Some(entry) = &entry {
            self.manifest.append(std::slice::from_ref(entry))?;
        }
        Ok(entry)
    }

    /// Writes one hour's buffer as a segment file, without its manifest line.
    fn write_buffer(
        &mut self,
        hour: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<SegmentEntry>, StoreError> {
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
            checkpoint: checkpoint.cloned(),
        };
        segment::write_segment(&self.data_dir, &batch, entry).map(Some)
    }

    /// Every durable segment, in manifest order.
    pub fn segments(&self) -> Result<Vec<SegmentEntry>, StoreError> {
        Ok(self.manifest.load()?.entries)
    }
}

/// Takes the store's lock (blocking until no other process publishes or recovers). Released
/// when the returned file is dropped, or when the process dies.
fn lock_store(data_dir: &Path) -> Result<fs::File, StoreError> {
    let path = data_dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| StoreError::io("opening the store lock", &path, error))?;
    file.lock()
        .map_err(|error| StoreError::io("locking the store", &path, error))?;
    Ok(file)
}

fn merge_recovery(total: &mut Recovery, more: Recovery) {
    total.removed_temp.extend(more.removed_temp);
    total.adopted.extend(more.adopted);
    total.quarantined.extend(more.quarantined);
    total.abandoned.extend(more.abandoned);
    total.bad_manifest_lines = more.bad_manifest_lines;
}

/// Brings a data directory to a consistent state after a crash:
/// - `.tmp-*` files (segments whose write never finished) are removed;
/// - complete segments missing from the manifest (renamed, then the crash) are adopted from
///   the entry in their footer — for a Kafka checkpoint, only when every segment of the
///   checkpoint is there; the segments of a checkpoint cut short are removed, since their
///   offsets were never recorded and are read again;
/// - segment files that cannot be read are moved to `quarantine/` and reported.
///
/// Callers hold the store's lock.
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
    let mut checkpoint_orphans: BTreeMap<String, Vec<(PathBuf, SegmentEntry)>> = BTreeMap::new();
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
            Ok(entry) if entry.path == relative && entry.checkpoint.is_some() => {
                let id = entry
                    .checkpoint
                    .as_ref()
                    .map(|checkpoint| checkpoint.id.clone())
                    .unwrap_or_default();
                checkpoint_orphans
                    .entry(id)
                    .or_default()
                    .push((path, entry));
            }
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
    for (id, orphans) in checkpoint_orphans {
        let listed = loaded
            .entries
            .iter()
            .filter(|entry| entry.checkpoint.as_ref().is_some_and(|c| c.id == id))
            .count();
        let expected = orphans
            .first()
            .and_then(|(_, entry)| entry.checkpoint.as_ref())
            .map_or(0, |checkpoint| checkpoint.segments as usize);
        if listed + orphans.len() >= expected {
            for (path, entry) in orphans {
                warn!(path = %path.display(), checkpoint = %id, "adopting a segment missing from the manifest");
                adopted.push(entry);
                recovery.adopted.push(path);
            }
        } else {
            for (path, _) in orphans {
                warn!(path = %path.display(), checkpoint = %id, "removing a segment of a checkpoint that did not finish; its records are read again");
                fs::remove_file(&path).map_err(|error| StoreError::io("removing", &path, error))?;
                recovery.abandoned.push(path);
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

    fn range(partition: i32, first_offset: i64, last_offset: i64) -> PartitionRange {
        PartitionRange {
            topic: "logs".to_string(),
            partition,
            first_offset,
            last_offset,
        }
    }

    fn next_of(store: &mut EventStore, partition: i32) -> Option<i64> {
        store
            .resume_offsets()
            .expect("resume offsets")
            .get(&("logs".to_string(), partition))
            .copied()
    }

    #[test]
    fn a_checkpoint_writes_every_hour_and_records_its_offsets() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        assert_eq!(next_of(&mut store, 0), None);
        store
            .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
            .expect("append");
        store
            .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 2)
            .expect("append");
        let written = store
            .checkpoint(vec![range(0, 0, 3), range(1, 7, 7)])
            .expect("checkpoint");
        assert_eq!(written.len(), 2);
        assert!(
            written
                .iter()
                .all(|entry| entry.checkpoint.as_ref().is_some_and(|c| c.segments == 2))
        );
        assert_eq!(store.buffered_rows(), 0);
        assert_eq!(next_of(&mut store, 0), Some(4));
        assert_eq!(next_of(&mut store, 1), Some(8));
        // Nothing buffered (all dead-lettered): the offsets are still recorded.
        store.checkpoint(vec![range(0, 4, 9)]).expect("checkpoint");
        assert_eq!(next_of(&mut store, 0), Some(10));
        let reopened = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
        assert_eq!(reopened.segments().expect("manifest").len(), 2);
    }

    #[test]
    fn a_checkpoint_starting_elsewhere_than_the_manifest_is_fenced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        store.checkpoint(vec![range(0, 0, 9)]).expect("checkpoint");
        store
            .append(&event_at(1), &meta("a"), "kafka:logs/0", 5)
            .expect("append");
        let error = store.checkpoint(vec![range(0, 5, 5)]).expect_err("fenced");
        assert!(
            matches!(
                error,
                StoreError::Fenced {
                    recorded: 10,
                    first_offset: 5,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(
            store.segments().expect("manifest").len(),
            0,
            "nothing written"
        );
        store.discard();
        assert_eq!(store.buffered_rows(), 0);
    }

    #[test]
    fn recovery_adopts_complete_checkpoints_and_removes_partial_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        store
            .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
            .expect("append");
        store
            .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 1)
            .expect("append");
        let complete = store.checkpoint(vec![range(0, 0, 1)]).expect("checkpoint");
        store
            .append(&event_at(1), &meta("c"), "kafka:logs/0", 2)
            .expect("append");
        store
            .append(
                &event_at(2 * HOUR_MICROS + 1),
                &meta("d"),
                "kafka:logs/0",
                3,
            )
            .expect("append");
        let partial = store.checkpoint(vec![range(0, 2, 3)]).expect("checkpoint");
        // A crash before any manifest line of both checkpoints, and, for the second, after only
        // one of its two segments was renamed into place.
        fs::remove_file(dir.path().join(manifest::MANIFEST_FILE)).expect("remove manifest");
        fs::remove_file(dir.path().join(&partial[1].path)).expect("remove a segment");

        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
        assert_eq!(store.recovery().adopted.len(), 2);
        assert_eq!(
            store.recovery().abandoned,
            [dir.path().join(&partial[0].path)]
        );
        assert!(!dir.path().join(&partial[0].path).exists());
        let mut adopted: Vec<String> = store
            .segments()
            .expect("manifest")
            .into_iter()
            .map(|entry| entry.path)
            .collect();
        adopted.sort();
        let mut expected: Vec<String> = complete.into_iter().map(|entry| entry.path).collect();
        expected.sort();
        assert_eq!(adopted, expected);
        assert_eq!(
            next_of(&mut store, 0),
            Some(2),
            "the partial checkpoint is read again"
        );
    }

    #[test]
    fn a_torn_manifest_append_is_completed_from_the_segment_footers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
        store
            .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
            .expect("append");
        store
            .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 1)
            .expect("append");
        store.checkpoint(vec![range(0, 0, 1)]).expect("checkpoint");
        let manifest_path = dir.path().join(manifest::MANIFEST_FILE);
        let text = fs::read_to_string(&manifest_path).expect("manifest");
        let first_line = text.lines().next().expect("a line");
        fs::write(&manifest_path, format!("{first_line}\n{{\"segm")).expect("tear");
        let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
        assert_eq!(store.recovery().adopted.len(), 1);
        assert_eq!(store.segments().expect("manifest").len(), 2);
        assert_eq!(next_of(&mut store, 0), Some(2));
    }
}
