//! The manifest: the list of durable segments, one JSON line per segment, append-only.
//!
//! A segment exists for readers once its line is in `<data-dir>/manifest.jsonl`. The line
//! records, per source (a file, or later a Kafka partition), the range of offsets whose
//! records the segment holds: that is what resumption after a crash reads. The same entry is
//! also stored in the segment's own Parquet footer (key [`SEGMENT_METADATA_KEY`]), so a
//! segment renamed into place just before a crash, whose manifest line was never written, is
//! adopted on the next start rather than lost.

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
            match serde_json::from_slice::<SegmentEntry>(&line) {
                Ok(entry) => loaded.entries.push(entry),
                Err(error) => loaded.bad_lines.push((index + 1, error.to_string())),
            }
        }
        Ok(loaded)
    }

    /// Appends entries and fsyncs: after this returns, the segments are durable and visible.
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
        }
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
