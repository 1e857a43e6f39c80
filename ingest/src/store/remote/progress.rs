//! The replication record: `<data-dir>/replicated.jsonl`, one line per segment uploaded whole
//! (its index, then its Parquet file) to a remote, appended and fsynced after the upload.
//!
//! A line names the remote it was uploaded to, so pointing `[store] remote` elsewhere starts
//! that remote from scratch. A line cut short by a crash is ignored (its segment is uploaded
//! again). The record says what this directory uploaded; what the remote still holds is
//! checked against a listing when replication starts ([`Progress::keep_listed`]).

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::StoreError;
use crate::store::manifest::SegmentEntry;

/// File name of the record inside the data directory.
pub const PROGRESS_FILE: &str = "replicated.jsonl";

#[derive(Debug, Serialize, Deserialize)]
struct ProgressLine {
    remote: String,
    segment: String,
    path: String,
    bytes: u64,
}

/// The segments uploaded to one remote.
#[derive(Debug)]
pub struct Progress {
    file: PathBuf,
    remote: String,
    /// Segment path (relative to the data directory) -> Parquet bytes uploaded.
    uploaded: HashMap<String, u64>,
    /// The record ends in a line cut short by a crash: the next append starts a new line.
    torn: bool,
}

impl Progress {
    /// Reads what the record says was uploaded to `remote`.
    pub fn load(data_dir: &Path, remote: &str) -> Result<Progress, StoreError> {
        let file = data_dir.join(PROGRESS_FILE);
        let text = match std::fs::read(&file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                return Err(StoreError::io(
                    "reading the replication record",
                    &file,
                    error,
                ));
            }
        };
        let uploaded = text
            .split(|byte| *byte == b'\n')
            .filter_map(|line| serde_json::from_slice::<ProgressLine>(line).ok())
            .filter(|line| line.remote == remote)
            .map(|line| (line.path, line.bytes))
            .collect();
        Ok(Progress {
            file,
            remote: remote.to_string(),
            uploaded,
            torn: !text.is_empty() && !text.ends_with(b"\n"),
        })
    }

    /// Whether `entry`'s segment is uploaded.
    pub fn contains(&self, entry: &SegmentEntry) -> bool {
        self.uploaded.get(&entry.path) == Some(&entry.bytes)
    }

    /// Whether nothing is recorded as uploaded.
    pub fn is_empty(&self) -> bool {
        self.uploaded.is_empty()
    }

    /// Keeps only the segments whose Parquet file the remote holds, at the size uploaded
    /// (`listing`: relative path -> size); returns the paths dropped, to be uploaded again.
    pub fn keep_listed(&mut self, listing: &HashMap<String, u64>) -> Vec<String> {
        let mut dropped = Vec::new();
        self.uploaded.retain(|path, bytes| {
            let kept = listing.get(path) == Some(bytes);
            if !kept {
                dropped.push(path.clone());
            }
            kept
        });
        dropped
    }

    /// Records `entries` as uploaded, durably (one append, fsynced).
    pub fn record(&mut self, entries: &[SegmentEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for entry in entries {
            let line = ProgressLine {
                remote: self.remote.clone(),
                segment: entry.segment.clone(),
                path: entry.path.clone(),
                bytes: entry.bytes,
            };
            text.push_str(&serde_json::to_string(&line).expect("progress lines always serialize"));
            text.push('\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(|error| StoreError::io("opening the replication record", &self.file, error))?;
        if self.torn {
            text.insert(0, '\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|error| {
                StoreError::io("appending to the replication record", &self.file, error)
            })?;
        self.torn = false;
        for entry in entries {
            self.uploaded.insert(entry.path.clone(), entry.bytes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(segment: &str, bytes: u64) -> SegmentEntry {
        SegmentEntry {
            segment: segment.to_string(),
            path: format!("events/{segment}.parquet"),
            rows: 1,
            bytes,
            min_time: 0,
            max_time: 0,
            created: 0,
            schema_version: "1".to_string(),
            sources: Vec::new(),
            checkpoint: None,
        }
    }

    #[test]
    fn records_survive_a_reload_per_remote_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut progress = Progress::load(dir.path(), "s3://a/p").expect("load");
        assert!(progress.is_empty());
        progress.record(&[entry("x", 10)]).expect("record");
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(PROGRESS_FILE))
            .and_then(|mut file| file.write_all(b"{\"remote\":\"s3://a/p\",\"seg"))
            .expect("simulate a torn append");
        let mut progress = Progress::load(dir.path(), "s3://a/p").expect("load");
        progress.record(&[entry("y", 20)]).expect("record");

        let reloaded = Progress::load(dir.path(), "s3://a/p").expect("load");
        assert!(reloaded.contains(&entry("x", 10)));
        assert!(reloaded.contains(&entry("y", 20)));
        assert!(
            !reloaded.contains(&entry("y", 21)),
            "another size is another file"
        );
        assert!(
            Progress::load(dir.path(), "s3://b/p")
                .expect("load")
                .is_empty()
        );

        let mut kept = reloaded;
        let listing = HashMap::from([("events/x.parquet".to_string(), 10)]);
        assert_eq!(kept.keep_listed(&listing), ["events/y.parquet"]);
        assert!(kept.contains(&entry("x", 10)));
        assert!(!kept.contains(&entry("y", 20)));
    }
}
