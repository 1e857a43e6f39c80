//! The segments search reads: the manifest's list, reloaded when it grows, and each segment's
//! opened index and Parquet footer, kept open between requests.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::PageIndexPolicy;
use weft_ingest::index::{SegmentIndex, index_path};
use weft_ingest::store::manifest::{Manifest, SegmentEntry};

use super::SearchError;
use super::cache::RecentMap;
use super::hits::SegmentHitsReader;
use super::query::CountKey;

/// Query counts remembered per segment.
const COUNTS_PER_SEGMENT: usize = 256;

/// One segment, opened for search: its manifest entry, its index, and (once rows are read) its
/// Parquet footer with the page offsets.
#[derive(Debug)]
pub struct OpenSegment {
    pub entry: SegmentEntry,
    pub path: PathBuf,
    pub index: SegmentIndex,
    /// The same index, for counting matches and collecting the newest of them.
    pub hits: SegmentHitsReader,
    /// Rows matching a query in the segment, by query and range: a segment never changes, and
    /// every page of a search, and every refresh of it, counts the same.
    pub counts: RecentMap<CountKey, u64>,
    footer: OnceLock<ArrowReaderMetadata>,
}

impl OpenSegment {
    /// The Parquet footer, read once. With the offset index, a reader given a row selection
    /// reads only the pages holding the selected rows.
    pub fn footer(&self) -> Result<ArrowReaderMetadata, SearchError> {
        if let Some(footer) = self.footer.get() {
            return Ok(footer.clone());
        }
        let file = File::open(&self.path).map_err(|error| SearchError::Segment {
            path: self.path.clone(),
            reason: error.to_string(),
        })?;
        let options = ArrowReaderOptions::new()
            .with_column_index_policy(PageIndexPolicy::Skip)
            .with_offset_index_policy(PageIndexPolicy::Optional);
        let footer =
            ArrowReaderMetadata::load(&file, options).map_err(|error| SearchError::Segment {
                path: self.path.clone(),
                reason: error.to_string(),
            })?;
        Ok(self.footer.get_or_init(|| footer).clone())
    }
}

/// The manifest as last read, and the segments opened so far.
#[derive(Debug, Default)]
struct Cache {
    /// Size of the manifest when it was read (it only grows).
    manifest_bytes: Option<u64>,
    entries: Arc<Vec<SegmentEntry>>,
    open: HashMap<String, Arc<OpenSegment>>,
}

/// The segments of one data directory.
#[derive(Debug)]
pub struct Segments {
    data_dir: PathBuf,
    manifest: Manifest,
    cache: Mutex<Cache>,
}

impl Segments {
    pub fn new(data_dir: &Path) -> Segments {
        Segments {
            data_dir: data_dir.to_path_buf(),
            manifest: Manifest::new(data_dir),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Every listed segment, in manifest order.
    pub fn entries(&self) -> Result<Arc<Vec<SegmentEntry>>, SearchError> {
        let bytes = match std::fs::metadata(self.manifest.path()) {
            Ok(metadata) => Some(metadata.len()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(SearchError::Segment {
                    path: self.manifest.path().to_path_buf(),
                    reason: error.to_string(),
                });
            }
        };
        {
            let cache = self.lock();
            if cache.manifest_bytes == bytes {
                return Ok(cache.entries.clone());
            }
        }
        let loaded = self.manifest.load().map_err(|error| SearchError::Segment {
            path: self.manifest.path().to_path_buf(),
            reason: error.to_string(),
        })?;
        let entries = Arc::new(loaded.entries);
        let mut cache = self.lock();
        cache.manifest_bytes = bytes;
        cache.entries = entries.clone();
        let listed: std::collections::HashSet<&str> =
            entries.iter().map(|entry| entry.segment.as_str()).collect();
        cache
            .open
            .retain(|segment, _| listed.contains(segment.as_str()));
        Ok(entries)
    }

    /// The listed segments holding events in `[from, to)`, newest first.
    pub fn overlapping(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<SegmentEntry>, SearchError> {
        let mut selected: Vec<SegmentEntry> = self
            .entries()?
            .iter()
            .filter(|entry| from.is_none_or(|from| entry.max_time >= from))
            .filter(|entry| to.is_none_or(|to| entry.min_time < to))
            .cloned()
            .collect();
        selected.sort_by(|a, b| (b.max_time, &b.segment).cmp(&(a.max_time, &a.segment)));
        Ok(selected)
    }

    /// The segment `entry` opened for search (opened on first use, then shared).
    pub fn open(&self, entry: &SegmentEntry) -> Result<Arc<OpenSegment>, SearchError> {
        if let Some(open) = self.lock().open.get(&entry.segment) {
            return Ok(open.clone());
        }
        let path = self.data_dir.join(&entry.path);
        let index =
            SegmentIndex::open(&index_path(&path)).map_err(|error| SearchError::Segment {
                path: path.clone(),
                reason: error.to_string(),
            })?;
        let hits = SegmentHitsReader::new(&index);
        let open = Arc::new(OpenSegment {
            entry: entry.clone(),
            path,
            index,
            hits,
            counts: RecentMap::new(COUNTS_PER_SEGMENT),
            footer: OnceLock::new(),
        });
        self.lock().open.insert(entry.segment.clone(), open.clone());
        Ok(open)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves the cache consistent (every write is one
        // assignment), so a poisoned lock is still usable.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
