//! The event store: Parquet segments partitioned by event hour, and the manifest that lists
//! them.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data-dir>/manifest.jsonl                          one line per durable segment
//! <data-dir>/events/date=YYYY-MM-DD/hour=HH/*.parquet  segments (zstd Parquet, schema v1)
//! <data-dir>/events/date=YYYY-MM-DD/hour=HH/_*.parquet.idx/ each segment's search index
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
//!
//! With a remote (`[store] remote`), [`remote::Replicator`] copies durable segments and the
//! manifest to object storage off the write path, and [`remote::restore`] builds a data
//! directory back from it (`replicated.jsonl` and `replication.lock` in the data directory are
//! its record and lock).

pub mod manifest;
mod recover;
pub mod remote;
pub mod segment;
pub mod segment_index;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::batch::{EventBatchBuilder, RecordMeta};
use crate::event::Event;
use crate::schema::SCHEMA_VERSION;
use manifest::{Checkpoint, CheckpointLine, Manifest, PartitionRange, SegmentEntry, SourceRange};
use recover::merge_recovery;
pub use recover::{Recovery, recover};

/// Microseconds in an hour: segments never span two event hours.
const HOUR_MICROS: i64 = 3_600_000_000;
/// The file [`EventStore::probe_write`] writes and removes.
pub const PROBE_FILE: &str = ".write-probe";
/// Its size: a megabyte, so that a disk with a few kilobytes left does not pass for writable.
pub const PROBE_BYTES: usize = 1 << 20;
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
    #[error("writing a segment's search index: {0}")]
    Index(#[from] crate::index::IndexError),
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

    /// Whether the data directory takes writes: writes, fsyncs and removes a file of
    /// [`PROBE_BYTES`] beside the manifest. A worker paused by a refused write
    /// ([`crate::source::kafka::stall`]) resumes once this succeeds.
    pub fn probe_write(&self) -> Result<(), StoreError> {
        use std::io::Write;
        let path = self.data_dir.join(PROBE_FILE);
        let written = fs::File::create(&path).and_then(|mut file| {
            file.write_all(&vec![0u8; PROBE_BYTES])?;
            file.sync_all()
        });
        let removed = fs::remove_file(&path);
        written
            .and(removed)
            .map_err(|error| StoreError::io("writing a probe file", &path, error))
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
    /// partition past where `offsets` start (another worker took it over); the buffered events
    /// are gone either way.
    pub fn checkpoint(
        &mut self,
        offsets: Vec<PartitionRange>,
    ) -> Result<Vec<SegmentEntry>, StoreError> {
        self.take_checkpoint(offsets).write()
    }

    /// Takes every buffered hour out of the store as one checkpoint that completes `offsets`,
    /// to be written by [`PendingCheckpoint::write`] on this thread or another: a Kafka worker
    /// reads on while its previous checkpoint is written. The store buffers anew meanwhile.
    pub fn take_checkpoint(&mut self, offsets: Vec<PartitionRange>) -> PendingCheckpoint {
        let created = chrono::Utc::now().timestamp_micros();
        let checkpoint_id = self.next_segment_id(created);
        let buffers = std::mem::take(&mut self.buffers);
        let hours: Vec<(i64, HourBuffer, String)> = buffers
            .into_iter()
            .filter(|(_, buffer)| !buffer.builder.is_empty())
            .map(|(hour, buffer)| (hour, buffer, self.next_segment_id(created)))
            .collect();
        PendingCheckpoint {
            data_dir: self.data_dir.clone(),
            checkpoint: Checkpoint {
                id: checkpoint_id,
                segments: u32::try_from(hours.len()).unwrap_or(u32::MAX),
                offsets,
            },
            created,
            hours,
        }
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
        let Some(buffer) = self.buffers.remove(&hour) else {
            return Ok(None);
        };
        let created = chrono::Utc::now().timestamp_micros();
        let segment = self.next_segment_id(created);
        let entry = write_buffer(&self.data_dir, hour, buffer, segment, None)?;
        if let Some(entry) = &entry {
            self.manifest.append(std::slice::from_ref(entry))?;
        }
        Ok(entry)
    }

    /// Every durable segment, in manifest order.
    pub fn segments(&self) -> Result<Vec<SegmentEntry>, StoreError> {
        Ok(self.manifest.load()?.entries)
    }
}

/// Buffered hours taken out of the store as one checkpoint ([`EventStore::take_checkpoint`]),
/// not yet written.
#[derive(Debug)]
pub struct PendingCheckpoint {
    data_dir: PathBuf,
    checkpoint: Checkpoint,
    created: i64,
    /// Each hour's events and the id of its segment.
    hours: Vec<(i64, HourBuffer, String)>,
}

impl PendingCheckpoint {
    /// Events the checkpoint holds.
    pub fn rows(&self) -> usize {
        self.hours
            .iter()
            .map(|(_, buffer, _)| buffer.builder.len())
            .sum()
    }

    /// Writes the checkpoint: under the store's lock, checks that the manifest resumes every
    /// partition where the checkpoint starts (else [`StoreError::Fenced`], writing nothing),
    /// writes each hour's segment, then appends their manifest lines at once (or one checkpoint
    /// line when no event was buffered). Returns the segments written.
    pub fn write(self) -> Result<Vec<SegmentEntry>, StoreError> {
        let _lock = lock_store(&self.data_dir)?;
        let manifest = Manifest::new(&self.data_dir);
        let recorded = manifest.load()?.next_offsets();
        for range in &self.checkpoint.offsets {
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
        let mut written = Vec::with_capacity(self.hours.len());
        for (hour, buffer, segment) in self.hours {
            written.extend(write_buffer(
                &self.data_dir,
                hour,
                buffer,
                segment,
                Some(&self.checkpoint),
            )?);
        }
        if written.is_empty() {
            manifest.append_checkpoint(&CheckpointLine {
                checkpoint: self.checkpoint,
                created: self.created,
            })?;
        } else {
            manifest.append(&written)?;
        }
        Ok(written)
    }
}

/// Writes one hour's buffer as the segment `segment`, without its manifest line.
fn write_buffer(
    data_dir: &Path,
    hour: i64,
    mut buffer: HourBuffer,
    segment: String,
    checkpoint: Option<&Checkpoint>,
) -> Result<Option<SegmentEntry>, StoreError> {
    let Some((min_time, max_time)) = buffer.builder.time_range() else {
        return Ok(None);
    };
    let batch = buffer.builder.finish()?;
    let created = chrono::Utc::now().timestamp_micros();
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
    segment::write_segment(data_dir, &batch, entry).map(Some)
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

#[cfg(test)]
mod tests;
