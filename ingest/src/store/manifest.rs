//! The manifest: the list of durable segments, one JSON line per segment, append-only.
//!
//! A segment exists for readers once its line is in `<data-dir>/manifest.jsonl`. The line
//! records, per source (a file, or later a Kafka partition), the range of offsets whose
//! records the segment holds: that is what resumption after a crash reads. The same entry is
//! also stored in the segment's own Parquet footer (key [`SEGMENT_METADATA_KEY`]), so a
//! segment renamed into place just before a crash, whose manifest line was never written, is
//! adopted on the next start rather than lost.
//!
//! Segments written from Kafka belong to a *checkpoint* ([`Checkpoint`]): the segments one
//! flush wrote (one per event hour) plus, per partition, the range of offsets the flush
//! completed — every record in the range is in one of those segments or was dead-lettered.
//! A flush whose records were all dead-lettered writes a checkpoint line without segments
//! ([`CheckpointLine`]). Recovery makes checkpoints all-or-nothing, so [`next_offsets`] — the
//! offset each partition resumes from — is the largest completed offset plus one.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;

/// File name of the manifest inside the data directory.
pub const MANIFEST_FILE: &str = "manifest.jsonl";
/// Key of the segment's manifest entry in its Parquet key-value metadata.
pub const SEGMENT_METADATA_KEY: &str = "weft.segment";

/// The offsets of one source a segment holds, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRange {
    /// `file:<path>` or `kafka:<topic>/<partition>`.
    pub origin: String,
    pub first_offset: u64,
    pub last_offset: u64,
}

/// The offsets of one Kafka partition a checkpoint completed, inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRange {
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// What one flush of a Kafka worker completed: its segments and its offset ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Unique id of the flush; every segment of the flush carries it.
    pub id: String,
    /// How many segments the flush wrote. A checkpoint counts only when all are present.
    pub segments: u32,
    pub offsets: Vec<PartitionRange>,
}

/// A manifest line for a checkpoint that wrote no segment (its records were all
/// dead-lettered or held no event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointLine {
    pub checkpoint: Checkpoint,
    /// When it was written, UTC microseconds.
    pub created: i64,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ManifestLine {
    Segment(SegmentEntry),
    Checkpoint(CheckpointLine),
}

/// One durable segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Unique, time-sortable segment id.
    pub segment: String,
    /// Path of the Parquet file, relative to the data directory.
    pub path: String,
    pub rows: u64,
    /// Size of the Parquet file in bytes (0 in the copy inside the file itself).
    #[serde(default)]
    pub bytes: u64,
    /// Smallest and largest event time in the segment, UTC microseconds.
    pub min_time: i64,
    pub max_time: i64,
    /// When the segment was written, UTC microseconds.
    pub created: i64,
    pub schema_version: String,
    #[serde(default)]
    pub sources: Vec<SourceRange>,
    /// The Kafka checkpoint the segment belongs to (segments from files have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// The manifest of a data directory.
#[derive(Debug)]
pub struct Manifest {
    path: PathBuf,
}

/// What loading the manifest found.
#[derive(Debug, Default)]
pub struct LoadedManifest {
    pub entries: Vec<SegmentEntry>,
    /// Checkpoints that wrote no segment.
    pub checkpoints: Vec<CheckpointLine>,
    /// Lines that were not valid entries (a line cut short by a crash), with their number.
    pub bad_lines: Vec<(usize, String)>,
}

impl Manifest {
    pub fn new(data_dir: &Path) -> Self {
        Manifest {
            path: data_dir.join(MANIFEST_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every entry. A missing manifest is empty; unreadable lines are reported, not fatal.
    pub fn load(&self) -> Result<LoadedManifest, StoreError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LoadedManifest::default());
            }
            Err(error) => return Err(StoreError::io("reading the manifest", &self.path, error)),
        };
        let mut loaded = LoadedManifest::default();
        for (index, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line =
                line.map_err(|error| StoreError::io("reading the manifest", &self.path, error))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<ManifestLine>(&line) {
                Ok(ManifestLine::Segment(entry)) => loaded.entries.push(entry),
                Ok(ManifestLine::Checkpoint(checkpoint)) => loaded.checkpoints.push(checkpoint),
                Err(error) => loaded.bad_lines.push((index + 1, error.to_string())),
            }
        }
        Ok(loaded)
    }

    /// Reads every valid line in file order (segments and checkpoints interleaved, as
    /// written); unreadable lines are skipped, as by [`Manifest::load`].
    pub fn load_lines(&self) -> Result<Vec<ManifestLine>, StoreError> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(StoreError::io("reading the manifest", &self.path, error)),
        };
        Ok(parse_lines(&text).filter_map(Result::ok).collect())
    }

    /// Appends entries and fsyncs: after this returns, the segments are durable and visible.
    /// The entries are written with one `write`, so a checkpoint's lines go in together.
    pub fn append(&self, entries: &[SegmentEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for entry in entries {
            text.push_str(
                &serde_json::to_string(entry).expect("manifest entries always serialize"),
            );
            text.push('\n');
        }
        self.append_text(text)
    }

    /// Appends a checkpoint that wrote no segment, and fsyncs.
    pub fn append_checkpoint(&self, line: &CheckpointLine) -> Result<(), StoreError> {
        let mut text = serde_json::to_string(line).expect("checkpoint lines always serialize");
        text.push('\n');
        self.append_text(text)
    }

    fn append_text(&self, mut text: String) -> Result<(), StoreError> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|error| StoreError::io("opening the manifest", &self.path, error))?;
        // A previous crash may have left a partial last line; start on a fresh line.
        let needs_newline = file
            .metadata()
            .map(|metadata| metadata.len() > 0)
            .unwrap_or(false)
            && !ends_with_newline(&self.path);
        if needs_newline {
            text.insert(0, '\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|error| StoreError::io("appending to the manifest", &self.path, error))
    }
}

impl LoadedManifest {
    /// Every checkpoint the manifest records, once each (a checkpoint's segments share one).
    pub fn checkpoints(&self) -> impl Iterator<Item = &Checkpoint> {
        let mut seen = std::collections::HashSet::new();
        self.entries
            .iter()
            .filter_map(|entry| entry.checkpoint.as_ref())
            .chain(self.checkpoints.iter().map(|line| &line.checkpoint))
            .filter(move |checkpoint| seen.insert(checkpoint.id.as_str()))
    }

    /// The offset each Kafka partition resumes from: one past the largest offset a checkpoint
    /// completed. Partitions the manifest never saw are absent (they start from the beginning).
    /// Only meaningful after recovery, which leaves no checkpoint half-written.
    pub fn next_offsets(&self) -> BTreeMap<(String, i32), i64> {
        next_offsets(self.checkpoints())
    }
}

/// Each non-blank line of manifest text, parsed, with its number on error.
pub fn parse_lines(text: &[u8]) -> impl Iterator<Item = Result<ManifestLine, (usize, String)>> {
    text.split(|byte| *byte == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(index, line)| {
            serde_json::from_slice::<ManifestLine>(line)
                .map_err(|error| (index + 1, error.to_string()))
        })
}

/// One past the largest completed offset per `(topic, partition)` over `checkpoints`.
pub fn next_offsets<'c>(
    checkpoints: impl IntoIterator<Item = &'c Checkpoint>,
) -> BTreeMap<(String, i32), i64> {
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for checkpoint in checkpoints {
        for range in &checkpoint.offsets {
            let resume = range.last_offset.saturating_add(1);
            next.entry((range.topic.clone(), range.partition))
                .and_modify(|offset| *offset = (*offset).max(resume))
                .or_insert(resume);
        }
    }
    next
}

fn ends_with_newline(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))
        .and_then(|_| file.read_exact(&mut last))
        .map(|()| last[0] == b'\n')
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(segment: &str) -> SegmentEntry {
        SegmentEntry {
            segment: segment.to_string(),
            path: format!("events/{segment}.parquet"),
            rows: 3,
            bytes: 100,
            min_time: 1,
            max_time: 2,
            created: 3,
            schema_version: "1".to_string(),
            sources: vec![SourceRange {
                origin: "file:/x".to_string(),
                first_offset: 0,
                last_offset: 10,
            }],
            checkpoint: None,
        }
    }

    fn range(topic: &str, partition: i32, first_offset: i64, last_offset: i64) -> PartitionRange {
        PartitionRange {
            topic: topic.to_string(),
            partition,
            first_offset,
            last_offset,
        }
    }

    fn kafka_entry(
        segment: &str,
        checkpoint: &str,
        segments: u32,
        offsets: Vec<PartitionRange>,
    ) -> SegmentEntry {
        SegmentEntry {
            checkpoint: Some(Checkpoint {
                id: checkpoint.to_string(),
                segments,
                offsets,
            }),
            ..entry(segment)
        }
    }

    #[test]
    fn next_offsets_are_one_past_the_largest_completed_offset_per_partition() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = Manifest::new(dir.path());
        manifest.append(&[entry("file")]).expect("append");
        manifest
            .append(&[
                kafka_entry(
                    "a",
                    "c1",
                    2,
                    vec![range("logs", 0, 0, 99), range("logs", 1, 0, 9)],
                ),
                kafka_entry(
                    "b",
                    "c1",
                    2,
                    vec![range("logs", 0, 0, 99), range("logs", 1, 0, 9)],
                ),
            ])
            .expect("append");
        manifest
            .append_checkpoint(&CheckpointLine {
                checkpoint: Checkpoint {
                    id: "c2".to_string(),
                    segments: 0,
                    offsets: vec![range("logs", 1, 10, 14), range("audit", 0, 5, 5)],
                },
                created: 1,
            })
            .expect("append");
        let loaded = manifest.load().expect("load");
        assert_eq!(loaded.entries.len(), 3);
        assert_eq!(loaded.checkpoints.len(), 1);
        assert!(loaded.bad_lines.is_empty());
        assert_eq!(loaded.checkpoints().count(), 2, "c1 counted once");
        let next = loaded.next_offsets();
        assert_eq!(next.get(&("logs".to_string(), 0)), Some(&100));
        assert_eq!(next.get(&("logs".to_string(), 1)), Some(&15));
        assert_eq!(next.get(&("audit".to_string(), 0)), Some(&6));
        assert_eq!(next.len(), 3);
    }

    #[test]
    fn file_segments_do_not_carry_a_checkpoint_field() {
        let line = serde_json::to_string(&entry("a")).expect("serializes");
        assert!(!line.contains("checkpoint"), "{line}");
    }

    #[test]
    fn appends_and_loads_entries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = Manifest::new(dir.path());
        assert!(manifest.load().expect("empty").entries.is_empty());
        manifest.append(&[entry("a")]).expect("append");
        manifest.append(&[entry("b"), entry("c")]).expect("append");
        let loaded = manifest.load().expect("load");
        assert_eq!(loaded.entries.len(), 3);
        assert_eq!(loaded.entries[2], entry("c"));
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_reported_and_later_appends_survive() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = Manifest::new(dir.path());
        manifest.append(&[entry("a")]).expect("append");
        std::fs::OpenOptions::new()
            .append(true)
            .open(manifest.path())
            .and_then(|mut file| file.write_all(b"{\"segment\":\"b\",\"pa"))
            .expect("simulate a torn write");
        manifest.append(&[entry("c")]).expect("append");
        let loaded = manifest.load().expect("load");
        let names: Vec<&str> = loaded
            .entries
            .iter()
            .map(|entry| entry.segment.as_str())
            .collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(loaded.bad_lines.len(), 1);
        assert_eq!(loaded.bad_lines[0].0, 2);
    }
}
