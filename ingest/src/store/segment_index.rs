//! Keeping every listed segment paired with a whole search index.
//!
//! [`segment::write_segment`](super::segment::write_segment) publishes a segment's index before
//! its Parquet file, so a crash leaves at worst an index build directory (`.tmp-*.parquet.idx`)
//! or an index whose segment never arrived. Recovery ([`super::recover`]) removes both, and
//! rebuilds from the Parquet file the index of any listed segment whose index is missing (a
//! store written before segments had indexes, an index deleted by hand) or damaged (it does not
//! open, or holds another number of rows than the segment).

use std::fs::{self, File};
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::StoreError;
use super::segment::ROW_GROUP_ROWS;
use crate::index::{IndexStats, SegmentIndex, index_path, write_index_batches};

/// The state of a segment's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexState {
    /// It opens and holds one document per row of the segment.
    Whole,
    /// There is no index directory.
    Missing,
    /// It is there but unusable, for the reason given.
    Damaged(String),
}

/// Checks the index of the segment at `segment_path`, which has `rows` rows.
pub fn check_index(segment_path: &Path, rows: u64) -> IndexState {
    let path = index_path(segment_path);
    if !path.exists() {
        return IndexState::Missing;
    }
    match SegmentIndex::open(&path) {
        Ok(index) if index.num_rows() == rows => IndexState::Whole,
        Ok(index) => IndexState::Damaged(format!(
            "it holds {} rows, its segment {rows}",
            index.num_rows()
        )),
        Err(error) => IndexState::Damaged(error.to_string()),
    }
}

/// Reads a segment's rows back, one batch per row group (at most [`ROW_GROUP_ROWS`] rows), in
/// file order.
pub fn read_segment(segment_path: &Path) -> Result<Vec<RecordBatch>, StoreError> {
    let file = File::open(segment_path)
        .map_err(|error| StoreError::io("opening a segment", segment_path, error))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(ROW_GROUP_ROWS)
        .build()?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch?);
    }
    Ok(batches)
}

/// Builds the index of the segment at `segment_path` from its Parquet file, replacing whatever
/// index directory is there.
pub fn rebuild_index(segment_path: &Path) -> Result<IndexStats, StoreError> {
    let batches = read_segment(segment_path)?;
    let path = index_path(segment_path);
    if path.exists() {
        fs::remove_dir_all(&path)
            .map_err(|error| StoreError::io("removing a damaged index", &path, error))?;
    }
    Ok(write_index_batches(&batches, &path)?)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::batch::{EventBatchBuilder, RecordMeta};
    use crate::event::Event;
    use crate::index::SearchRequest;
    use crate::store::manifest::SegmentEntry;
    use crate::store::segment::write_segment;

    fn segment(data_dir: &Path, rows: usize) -> SegmentEntry {
        let mut builder = EventBatchBuilder::new();
        for row in 0..rows {
            let mut event = Event::new("text");
            event.time = Some(row as i64);
            event.message = Some(Cow::Owned(format!("message {row}")));
            builder.append(
                &event,
                &RecordMeta {
                    ingest_time: 0,
                    event_id: "id",
                    service: "svc",
                    raw: "raw",
                    not_utf8: false,
                },
            );
        }
        let batch = builder.finish().expect("batch");
        let entry = SegmentEntry {
            segment: "s".to_string(),
            path: "events/date=1970-01-01/hour=00/s.parquet".to_string(),
            rows: rows as u64,
            bytes: 0,
            min_time: 0,
            max_time: rows as i64,
            created: 0,
            schema_version: "1".to_string(),
            sources: Vec::new(),
            checkpoint: None,
        };
        write_segment(data_dir, &batch, entry).expect("segment")
    }

    #[test]
    fn a_written_segment_has_a_whole_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entry = segment(dir.path(), 5);
        let path = dir.path().join(&entry.path);
        assert_eq!(check_index(&path, 5), IndexState::Whole);
        let index = SegmentIndex::open(&index_path(&path)).expect("opens");
        let found = index
            .search(&SearchRequest {
                query: "message:3".to_string(),
                limit: 10,
                ..SearchRequest::default()
            })
            .expect("searches");
        assert_eq!(found.hits.first().map(|hit| hit.row), Some(3));
    }

    #[test]
    fn a_missing_or_damaged_index_is_rebuilt_from_the_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entry = segment(dir.path(), 3);
        let path = dir.path().join(&entry.path);
        let index = index_path(&path);
        fs::remove_dir_all(&index).expect("remove the index");
        assert_eq!(check_index(&path, 3), IndexState::Missing);
        assert_eq!(rebuild_index(&path).expect("rebuilds").rows, 3);
        assert_eq!(check_index(&path, 3), IndexState::Whole);

        fs::write(index.join("meta.json"), b"{not meta").expect("damage");
        assert!(matches!(check_index(&path, 3), IndexState::Damaged(_)));
        rebuild_index(&path).expect("rebuilds");
        assert_eq!(check_index(&path, 3), IndexState::Whole);
        assert!(
            matches!(check_index(&path, 4), IndexState::Damaged(_)),
            "a row count that differs from the segment's is damage"
        );
    }
}
