//! Recovery on start: finishing or undoing whatever a crashed writer left in a data directory,
//! segments and their search indexes alike (see [`recover`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tracing::warn;

use super::StoreError;
use super::manifest::{Manifest, SegmentEntry};
use super::segment::{self, TEMP_PREFIX};
use super::segment_index::{IndexState, check_index, rebuild_index};
use crate::index::{INDEX_PREFIX, INDEX_SUFFIX, segment_of_index};

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
    /// Indexes whose segment was never published (or was removed or quarantined), removed.
    pub orphan_indexes: Vec<PathBuf>,
    /// Listed segments whose index was missing or damaged, and was rebuilt from the segment.
    pub rebuilt_indexes: Vec<PathBuf>,
    /// Listed segments whose index could not be rebuilt, with why. Search does not see their
    /// events until it is; everything else (SQL, detection) does.
    pub index_failures: Vec<(PathBuf, String)>,
}

pub(super) fn merge_recovery(total: &mut Recovery, more: Recovery) {
    total.removed_temp.extend(more.removed_temp);
    total.adopted.extend(more.adopted);
    total.quarantined.extend(more.quarantined);
    total.abandoned.extend(more.abandoned);
    total.orphan_indexes.extend(more.orphan_indexes);
    total.rebuilt_indexes.extend(more.rebuilt_indexes);
    total.index_failures.extend(more.index_failures);
    total.bad_manifest_lines = more.bad_manifest_lines;
}

/// Brings a data directory to a consistent state after a crash:
/// - `.tmp-*` files (segments whose write never finished) are removed;
/// - complete segments missing from the manifest (renamed, then the crash) are adopted from
///   the entry in their footer — for a Kafka checkpoint, only when every segment of the
///   checkpoint is there; the segments of a checkpoint cut short are removed, since their
///   offsets were never recorded and are read again;
/// - segment files that cannot be read are moved to `quarantine/` and reported;
/// - index build directories (`.tmp-*.parquet.idx/`) are removed, and so are indexes whose
///   segment is not there (the crash fell between publishing the index and the segment);
/// - a listed segment whose index is missing or damaged gets it rebuilt from its Parquet file
///   (opening every index to check it costs about a millisecond per segment).
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
    let mut found = Found::default();
    collect(&data_dir.join("events"), &mut found)?;
    for path in found.temp_dirs {
        warn!(path = %path.display(), "removing a search index whose build did not finish");
        fs::remove_dir_all(&path).map_err(|error| StoreError::io("removing", &path, error))?;
        recovery.removed_temp.push(path);
    }
    let files = found.files;
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
    let listed = loaded.entries.iter().chain(&adopted);
    for entry in listed {
        repair_index(&data_dir.join(&entry.path), entry.rows, &mut recovery);
    }
    for index in found.index_dirs {
        let segment = segment_of_index(&index);
        if segment.is_file() {
            continue;
        }
        warn!(path = %index.display(), "removing a search index whose segment is not there");
        fs::remove_dir_all(&index).map_err(|error| StoreError::io("removing", &index, error))?;
        recovery.orphan_indexes.push(index);
    }
    Ok(recovery)
}

/// Rebuilds the index of a listed segment if it is missing or damaged. A failure is reported in
/// `recovery` and logged; it does not stop the store from opening.
fn repair_index(segment_path: &Path, rows: u64, recovery: &mut Recovery) {
    if !segment_path.is_file() {
        return;
    }
    let state = check_index(segment_path, rows);
    if state == IndexState::Whole {
        return;
    }
    match &state {
        IndexState::Damaged(reason) => {
            warn!(path = %segment_path.display(), %reason, "rebuilding a damaged search index");
        }
        _ => warn!(path = %segment_path.display(), "building a missing search index"),
    }
    match rebuild_index(segment_path) {
        Ok(_) => recovery.rebuilt_indexes.push(segment_path.to_path_buf()),
        Err(error) => {
            tracing::error!(path = %segment_path.display(), %error, "cannot rebuild a segment's search index; search misses its events until it is rebuilt");
            recovery
                .index_failures
                .push((segment_path.to_path_buf(), error.to_string()));
        }
    }
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

/// What the events directory holds.
#[derive(Debug, Default)]
struct Found {
    /// Files outside index directories (segments, temporary segments, strays).
    files: Vec<PathBuf>,
    /// Published index directories (`_*.parquet.idx`).
    index_dirs: Vec<PathBuf>,
    /// Index directories being built (`.tmp-*`).
    temp_dirs: Vec<PathBuf>,
}

fn collect(directory: &Path, found: &mut Found) -> Result<(), StoreError> {
    let entries = match fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(StoreError::io("listing", directory, error)),
    };
    for entry in entries {
        let entry = entry.map_err(|error| StoreError::io("listing", directory, error))?;
        let path = entry.path();
        if !path.is_dir() {
            found.files.push(path);
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX) {
            found.temp_dirs.push(path);
        } else if name.starts_with(INDEX_PREFIX) && name.ends_with(INDEX_SUFFIX) {
            found.index_dirs.push(path);
        } else {
            collect(&path, found)?;
        }
    }
    Ok(())
}
