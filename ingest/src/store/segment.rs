//! Writing one segment: its search index and a zstd Parquet file written to a temporary name,
//! both at once; the index published, then the file fsynced, renamed into
//! `events/date=YYYY-MM-DD/hour=HH/`, and its directory fsynced.
//!
//! A segment and its index are a pair named by convention: the index of `<id>.parquet` is the
//! directory `_<id>.parquet.idx/` beside it ([`crate::index::index_path`]). The index is
//! published first, so a segment file never exists without its index; a crash between the two
//! leaves an index without a segment, which recovery removes.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnPath;

use super::StoreError;
use super::manifest::{SEGMENT_METADATA_KEY, SegmentEntry};
use crate::index::{index_path, write_index};
use crate::schema as columns;

/// Rows per Parquet row group: large enough for efficient scans, small enough for pruning.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Rows per Parquet data page, at most. Search reads single rows through the offset index and
/// decompresses every page holding one: small pages keep that to a few kilobytes per column.
/// Measured with `cargo bench -p weft-query --bench search` (2M events, one day): with these
/// pages and `PLAIN_COLUMNS`, a newest-100 search over the day takes 32 ms instead of 252 ms
/// with Parquet's defaults (1 MiB pages, dictionaries everywhere), and the files are 4% smaller.
pub const PAGE_ROWS: usize = 1024;
/// Columns whose values are mostly different: no Parquet dictionary. A dictionary of such a
/// column only grows to its size limit (1 MiB) and is abandoned, and a reader of one row must
/// first decompress that whole dictionary page.
const PLAIN_COLUMNS: [&str; 15] = [
    columns::TIME,
    columns::INGEST_TIME,
    columns::SRC_IP,
    columns::SRC_PORT,
    columns::DST_IP,
    columns::EVENT_ID,
    columns::MESSAGE,
    columns::RAW,
    columns::URL,
    columns::USER_AGENT,
    columns::COMMAND_LINE,
    columns::TRACE_ID,
    columns::SPAN_ID,
    columns::REQUEST_ID,
    columns::SESSION_ID,
];
/// Prefix of segments being written; such files are incomplete and removed on start.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The directory of the hour that starts at `hour_start` (UTC microseconds), relative to the
/// data directory.
pub fn partition_dir(hour_start: i64) -> PathBuf {
    match chrono::DateTime::from_timestamp_micros(hour_start) {
        Some(time) => PathBuf::from(format!(
            "events/date={}/hour={}",
            time.format("%Y-%m-%d"),
            time.format("%H")
        )),
        None => PathBuf::from("events/date=out-of-range/hour=00"),
    }
}

/// The Parquet settings of segments; `entry_json` is the manifest entry kept in the footer.
pub fn writer_properties(entry_json: String) -> Result<WriterProperties, StoreError> {
    let level = ZstdLevel::try_new(3).map_err(StoreError::Parquet)?;
    let mut builder = WriterProperties::builder();
    for column in PLAIN_COLUMNS {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    Ok(builder
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            SEGMENT_METADATA_KEY.to_string(),
            entry_json,
        )]))
        .build())
}

/// Writes `batch` as the segment described by `entry` (whose `path` says where), durably: its
/// search index and its Parquet file (under a temporary name) are built at the same time, on
/// two threads; the index is published first, then the Parquet file. Returns the entry with
/// its file size filled in. On failure neither is left behind.
pub fn write_segment(
    data_dir: &Path,
    batch: &RecordBatch,
    mut entry: SegmentEntry,
) -> Result<SegmentEntry, StoreError> {
    let final_path = data_dir.join(&entry.path);
    let directory = final_path
        .parent()
        .expect("segment paths always have a partition directory")
        .to_path_buf();
    fs::create_dir_all(&directory)
        .map_err(|error| StoreError::io("creating the partition directory", &directory, error))?;
    let file_name = final_path
        .file_name()
        .expect("segment paths always end in a file name")
        .to_string_lossy()
        .into_owned();
    let temp_path = directory.join(format!("{TEMP_PREFIX}{file_name}"));

    let index = index_path(&final_path);
    let (indexed, written) = std::thread::scope(|scope| {
        let indexing = scope.spawn(|| write_index(batch, &index));
        let written = write_parquet(batch, &entry, &temp_path);
        let indexed = indexing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (indexed, written)
    });
    let published = indexed
        .map_err(StoreError::from)
        .and(written)
        .and_then(|()| {
            fs::rename(&temp_path, &final_path)
                .map_err(|error| StoreError::io("publishing a segment", &final_path, error))?;
            sync_dir(&directory)
        });
    if let Err(error) = published {
        let _ = fs::remove_file(&temp_path);
        let _ = fs::remove_dir_all(&index);
        return Err(error);
    }
    entry.bytes = fs::metadata(&final_path)
        .map_err(|error| StoreError::io("reading a segment's size", &final_path, error))?
        .len();
    Ok(entry)
}

/// Writes the Parquet file of a segment at `temp_path` and syncs it; publishing it (the
/// rename) is the caller's.
fn write_parquet(
    batch: &RecordBatch,
    entry: &SegmentEntry,
    temp_path: &Path,
) -> Result<(), StoreError> {
    let entry_json = serde_json::to_string(entry).expect("manifest entries always serialize");
    let file = File::create(temp_path)
        .map_err(|error| StoreError::io("creating a segment", temp_path, error))?;
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(writer_properties(entry_json)?))
            .map_err(StoreError::Parquet)?;
    writer.write(batch).map_err(StoreError::Parquet)?;
    let file = writer.into_inner().map_err(StoreError::Parquet)?;
    file.sync_all()
        .map_err(|error| StoreError::io("syncing a segment", temp_path, error))
}

/// Fsyncs a directory so that a rename inside it is durable.
pub fn sync_dir(directory: &Path) -> Result<(), StoreError> {
    File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| StoreError::io("syncing a directory", directory, error))
}

/// Reads the manifest entry a segment carries in its footer, checking that the file is a
/// complete Parquet file whose row count matches the entry.
pub fn read_segment_entry(path: &Path) -> Result<SegmentEntry, StoreError> {
    let file =
        File::open(path).map_err(|error| StoreError::io("opening a segment", path, error))?;
    let reader = SerializedFileReader::new(file).map_err(StoreError::Parquet)?;
    let metadata = reader.metadata().file_metadata();
    let json = metadata
        .key_value_metadata()
        .and_then(|pairs| pairs.iter().find(|pair| pair.key == SEGMENT_METADATA_KEY))
        .and_then(|pair| pair.value.clone())
        .ok_or_else(|| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("no `{SEGMENT_METADATA_KEY}` entry in its footer"),
        })?;
    let mut entry: SegmentEntry =
        serde_json::from_str(&json).map_err(|error| StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("invalid `{SEGMENT_METADATA_KEY}` entry: {error}"),
        })?;
    let rows = u64::try_from(metadata.num_rows()).unwrap_or(0);
    if rows != entry.rows {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("footer says {rows} rows, its entry {}", entry.rows),
        });
    }
    entry.bytes = fs::metadata(path)
        .map_err(|error| StoreError::io("reading a segment's size", path, error))?
        .len();
    Ok(entry)
}
