//! Building a fresh data directory from a remote ([`restore`]).

use std::fs;
use std::io::Write;
use std::path::Path;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use tracing::info;

use super::progress::Progress;
use super::{Remote, RemoteError, is_missing_or_empty};
use crate::index::index_path;
use crate::store::manifest::{MANIFEST_FILE, ManifestLine, SegmentEntry, parse_lines};
use crate::store::segment::{TEMP_PREFIX, read_segment_entry, sync_dir};
use crate::store::{EventStore, FlushPolicy, Recovery, StoreError};

/// What [`restore`] built.
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// Segments downloaded and checked.
    pub segments: usize,
    /// Their events.
    pub rows: u64,
    /// Bytes downloaded (Parquet files and index files).
    pub bytes: u64,
    /// What opening the restored store repaired (an index that did not check out is rebuilt
    /// from its segment).
    pub recovery: Recovery,
}

/// Builds the data directory `data_dir` (missing or empty) from `remote`: downloads the remote
/// manifest, then each segment it lists (its index files, then its Parquet file under a
/// temporary name, renamed once checked: the size, the footer's entry and its row count must
/// match the manifest's), then writes the manifest, records the segments as replicated to
/// `remote`, and opens the store, whose recovery checks every index.
///
/// On failure the directory is left partly built and without a manifest: remove it and run
/// the restore again.
pub fn restore(remote: &Remote, data_dir: &Path) -> Result<RestoreReport, RemoteError> {
    if !is_missing_or_empty(data_dir)? {
        return Err(RemoteError::NotEmpty {
            path: data_dir.to_path_buf(),
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| StoreError::io("starting the restore runtime", data_dir, error))?;
    let manifest_location = remote.location(MANIFEST_FILE);
    let manifest_text = match runtime
        .block_on(async { remote.store.get(&manifest_location).await?.bytes().await })
    {
        Ok(bytes) => bytes,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(RemoteError::NoManifest {
                remote: remote.url.clone(),
            });
        }
        Err(error) => return Err(remote.error("downloading", &manifest_location, error)),
    };
    let mut entries = Vec::new();
    for line in parse_lines(&manifest_text) {
        match line {
            Ok(ManifestLine::Segment(entry)) => entries.push(entry),
            Ok(ManifestLine::Checkpoint(_)) => {}
            Err((number, reason)) => {
                return Err(RemoteError::Corrupt {
                    remote: remote.url.clone(),
                    location: manifest_location.to_string(),
                    reason: format!("line {number}: {reason}"),
                });
            }
        }
    }
    fs::create_dir_all(data_dir.join("events"))
        .map_err(|error| StoreError::io("creating the data directory", data_dir, error))?;
    let mut report = RestoreReport::default();
    for entry in &entries {
        report.bytes += download_segment(remote, &runtime, data_dir, entry)?;
        report.segments += 1;
        report.rows += entry.rows;
    }
    let manifest_path = data_dir.join(MANIFEST_FILE);
    fs::File::create(&manifest_path)
        .and_then(|mut file| {
            file.write_all(&manifest_text)?;
            file.sync_all()
        })
        .map_err(|error| StoreError::io("writing the manifest", &manifest_path, error))?;
    sync_dir(data_dir)?;
    Progress::load(data_dir, remote.url())?.record(&entries)?;
    let store = EventStore::open(data_dir, FlushPolicy::default())?;
    report.recovery = store.recovery().clone();
    info!(segments = report.segments, rows = report.rows, bytes = report.bytes, remote = %remote, data_dir = %data_dir.display(), "restored the event store");
    Ok(report)
}

/// Downloads one segment's index files and Parquet file and checks the latter; returns the
/// bytes downloaded.
fn download_segment(
    remote: &Remote,
    runtime: &tokio::runtime::Runtime,
    data_dir: &Path,
    entry: &SegmentEntry,
) -> Result<u64, RemoteError> {
    let segment_path = data_dir.join(&entry.path);
    let directory = segment_path
        .parent()
        .expect("segment paths always have a partition directory")
        .to_path_buf();
    let index = index_path(&segment_path);
    fs::create_dir_all(&index)
        .map_err(|error| StoreError::io("creating a search index directory", &index, error))?;
    let index_relative = format!(
        "{}/{}",
        entry.path.rsplit_once('/').map_or("", |(parent, _)| parent),
        index
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let index_location = remote.location(&index_relative);
    let index_objects: Vec<object_store::ObjectMeta> = runtime
        .block_on(remote.store.list(Some(&index_location)).try_collect())
        .map_err(|error| remote.error("listing", &index_location, error))?;
    let mut bytes = 0;
    for object in index_objects {
        let Some(name) = object.location.filename() else {
            continue;
        };
        let data = get(remote, runtime, &object.location)?;
        bytes += data.len() as u64;
        let path = index.join(name);
        fs::write(&path, &data)
            .map_err(|error| StoreError::io("writing a search index file", &path, error))?;
    }

    let location = remote.location(&entry.path);
    let data = get(remote, runtime, &location)?;
    let corrupt = |reason: String| RemoteError::Corrupt {
        remote: remote.url.clone(),
        location: location.to_string(),
        reason,
    };
    if data.len() as u64 != entry.bytes {
        return Err(corrupt(format!(
            "{} bytes, the manifest says {}",
            data.len(),
            entry.bytes
        )));
    }
    bytes += data.len() as u64;
    let file_name = segment_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp_path = directory.join(format!("{TEMP_PREFIX}{file_name}"));
    fs::File::create(&temp_path)
        .and_then(|mut file| {
            file.write_all(&data)?;
            file.sync_all()
        })
        .map_err(|error| StoreError::io("writing a segment", &temp_path, error))?;
    let footer = match read_segment_entry(&temp_path) {
        Ok(footer) => footer,
        Err(error) => {
            let _ = fs::remove_file(&temp_path);
            return Err(corrupt(error.to_string()));
        }
    };
    if footer.segment != entry.segment || footer.rows != entry.rows || footer.path != entry.path {
        let _ = fs::remove_file(&temp_path);
        return Err(corrupt(format!(
            "its footer describes segment {} ({} rows at {}), the manifest {} ({} rows at {})",
            footer.segment, footer.rows, footer.path, entry.segment, entry.rows, entry.path
        )));
    }
    fs::rename(&temp_path, &segment_path)
        .map_err(|error| StoreError::io("publishing a segment", &segment_path, error))?;
    sync_dir(&directory)?;
    Ok(bytes)
}

fn get(
    remote: &Remote,
    runtime: &tokio::runtime::Runtime,
    location: &object_store::path::Path,
) -> Result<bytes::Bytes, RemoteError> {
    runtime
        .block_on(async { remote.store.get(location).await?.bytes().await })
        .map_err(|error| remote.error("downloading", location, error))
}
