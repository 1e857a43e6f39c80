//! One segment's matching rows: how many there are, and the newest of them by `(time, row)`.
//!
//! Both read only the index's fast fields and postings. Counting alone lets tantivy take the
//! quickest way (a term's document frequency when nothing else narrows it); the newest rows are
//! collected only from the segments that can still place a row on the page.

use std::path::PathBuf;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::{DocId, IndexReader, SegmentReader};
use weft_ingest::index::{Hit, IndexError, ROW, SegmentIndex};
use weft_ingest::schema as columns;

use super::SearchError;

/// A segment's index, opened for counting and collecting its newest matches.
pub struct SegmentHitsReader {
    path: PathBuf,
    reader: IndexReader,
}

impl std::fmt::Debug for SegmentHitsReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SegmentHitsReader")
            .field("path", &self.path)
            .finish()
    }
}

impl SegmentHitsReader {
    /// Reads through `index`'s own reader (the index is opened once per segment).
    pub fn new(index: &SegmentIndex) -> SegmentHitsReader {
        SegmentHitsReader {
            path: index.path().to_path_buf(),
            reader: index.reader().clone(),
        }
    }

    fn failed(&self, error: tantivy::TantivyError) -> SearchError {
        SearchError::Index(IndexError::Tantivy {
            path: self.path.clone(),
            error,
        })
    }

    /// Rows matching `query`.
    pub fn count(&self, query: &dyn Query) -> Result<u64, SearchError> {
        let count = self
            .reader
            .searcher()
            .search(query, &Count)
            .map_err(|error| self.failed(error))?;
        Ok(count as u64)
    }

    /// The newest `limit` rows matching `query` that sort after `after` (newest first by
    /// `(time, row)`: rows at or above `after` were returned on earlier pages), and, when
    /// `count`, how many rows match in all (counted in the same pass).
    pub fn newest(
        &self,
        query: &dyn Query,
        limit: usize,
        after: Option<(i64, u64)>,
        count: bool,
    ) -> Result<(Vec<Hit>, Option<u64>), SearchError> {
        let top = TopDocs::with_limit(limit.max(1)).order_by(move |segment: &SegmentReader| {
            let fast = segment.fast_fields();
            let time = fast.i64(columns::TIME).ok();
            let row = fast.u64(ROW).ok();
            move |doc: DocId| {
                let key = (
                    time.as_ref()
                        .and_then(|column| column.first(doc))
                        .unwrap_or(i64::MIN),
                    row.as_ref()
                        .and_then(|column| column.first(doc))
                        .unwrap_or(0),
                );
                // Rows up to the cursor sort last and are dropped below.
                match after {
                    Some(cursor) if key >= cursor => None,
                    _ => Some(key),
                }
            }
        });
        let searcher = self.reader.searcher();
        let (count, top) = if count {
            let (count, top) = searcher
                .search(query, &(Count, top))
                .map_err(|error| self.failed(error))?;
            (Some(count as u64), top)
        } else {
            let top = searcher
                .search(query, &top)
                .map_err(|error| self.failed(error))?;
            (None, top)
        };
        let hits = top
            .into_iter()
            .filter_map(|(key, _)| key.map(|(time, row)| Hit { time, row }))
            .take(limit)
            .collect();
        Ok((hits, count))
    }
}
