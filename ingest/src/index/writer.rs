//! Building a segment's index from the batch written to its Parquet file.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use tantivy::{Index, IndexWriter, TantivyDocument};

use super::{IndexError, IndexSchema, register_tokenizers};
use crate::schema as columns;

/// Memory each indexing thread may buffer before it writes a segment of its own.
const THREAD_MEMORY: usize = 64 * 1024 * 1024;
/// Rows from which a segment's index is built by two threads (each builds half the documents
/// into an index segment of its own; searches read both). Below it, a second thread costs
/// more than it saves.
pub(super) const PARALLEL_ROWS: usize = 16 * 1024;

/// What building an index produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub rows: usize,
    /// Bytes of the index on disk.
    pub bytes: u64,
}

/// Builds the index of `batch` (rows of the event schema, in the order of the segment file) at
/// `path`, which must not exist: it is built under a temporary name beside it, synced and
/// renamed, so `path` either holds a whole index or nothing.
pub fn write_index(batch: &RecordBatch, path: &Path) -> Result<IndexStats, IndexError> {
    write_index_batches(std::slice::from_ref(batch), path)
}

/// Builds the index of a segment read back as several batches (its row groups, in file order):
/// row numbers continue from one batch to the next. Same publishing rules as [`write_index`].
pub fn write_index_batches(batches: &[RecordBatch], path: &Path) -> Result<IndexStats, IndexError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let temp = temp_path(path);
    if temp.exists() {
        fs::remove_dir_all(&temp).map_err(|error| io("removing a stale index", &temp, error))?;
    }
    fs::create_dir_all(&temp).map_err(|error| io("creating the index", &temp, error))?;
    let result = build(batches, &temp).and_then(|stats| {
        fs::rename(&temp, path).map_err(|error| io("publishing the index", path, error))?;
        fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(|error| io("syncing the directory", parent, error))?;
        Ok(stats)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&temp);
    }
    result
}

fn io(action: &'static str, path: &Path, error: std::io::Error) -> IndexError {
    IndexError::Io {
        action,
        path: path.to_path_buf(),
        error,
    }
}

fn build(batches: &[RecordBatch], dir: &Path) -> Result<IndexStats, IndexError> {
    let tantivy_error = |error| IndexError::Tantivy {
        path: dir.to_path_buf(),
        error,
    };
    let schema = IndexSchema::new();
    let index = Index::create_in_dir(dir, schema.schema.clone()).map_err(tantivy_error)?;
    register_tokenizers(&index);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let threads = indexing_threads(rows);
    let mut writer: IndexWriter<TantivyDocument> = index
        .writer_with_num_threads(threads, threads * THREAD_MEMORY)
        .map_err(tantivy_error)?;
    let mut first_row = 0u64;
    for batch in batches {
        add_batch(&mut writer, &schema, batch, first_row, dir)?;
        first_row += batch.num_rows() as u64;
    }
    writer.commit().map_err(tantivy_error)?;
    writer.wait_merging_threads().map_err(tantivy_error)?;
    Ok(IndexStats {
        rows: usize::try_from(first_row).unwrap_or(usize::MAX),
        bytes: directory_size(dir),
    })
}

/// How many threads index `rows` rows: two for a large segment on a machine with two cores or
/// more, otherwise one.
fn indexing_threads(rows: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if rows >= PARALLEL_ROWS && cores >= 2 {
        2
    } else {
        1
    }
}

/// Adds one document per row of `batch`; the first row is row `first_row` of the segment.
fn add_batch(
    writer: &mut IndexWriter<TantivyDocument>,
    schema: &IndexSchema,
    batch: &RecordBatch,
    first_row: u64,
    dir: &Path,
) -> Result<(), IndexError> {
    let rows = Rows::of(batch, dir)?;
    let field_text = |columns: &[(&'static str, tantivy::schema::Field)]| {
        columns
            .iter()
            .map(|&(name, field)| Ok((field, Text::of(batch, name, dir)?)))
            .collect::<Result<Vec<_>, IndexError>>()
    };
    let words = field_text(&schema.words)?;
    let keywords = field_text(&schema.keywords)?;
    let numbers = schema
        .numbers
        .iter()
        .map(|&(name, field)| {
            let column = column(batch, name, dir)?;
            Ok((field, column))
        })
        .collect::<Result<Vec<_>, IndexError>>()?;

    for row in 0..batch.num_rows() {
        let mut document = TantivyDocument::new();
        document.add_i64(schema.time, rows.time.value(row));
        document.add_u64(schema.row, first_row + row as u64);
        for (field, text) in words.iter().chain(&keywords) {
            text.each(row, |value| document.add_text(*field, value));
        }
        for (field, column) in &numbers {
            if let Some(values) = column.as_primitive_opt::<Int32Type>()
                && values.is_valid(row)
            {
                document.add_i64(*field, i64::from(values.value(row)));
            }
        }
        writer
            .add_document(document)
            .map_err(|error| IndexError::Tantivy {
                path: dir.to_path_buf(),
                error,
            })?;
    }
    Ok(())
}

fn column(batch: &RecordBatch, name: &'static str, dir: &Path) -> Result<ArrayRef, IndexError> {
    batch
        .column_by_name(name)
        .cloned()
        .ok_or_else(|| IndexError::MissingColumn {
            path: dir.to_path_buf(),
            column: name,
        })
}

/// Per-row access to the columns every document has.
struct Rows<'b> {
    time: &'b arrow_array::PrimitiveArray<TimestampMicrosecondType>,
}

impl<'b> Rows<'b> {
    fn of(batch: &'b RecordBatch, dir: &Path) -> Result<Self, IndexError> {
        let missing = |column| IndexError::MissingColumn {
            path: dir.to_path_buf(),
            column,
        };
        let time = batch
            .column_by_name(columns::TIME)
            .and_then(|column| column.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or_else(|| missing(columns::TIME))?;
        Ok(Rows { time })
    }
}

/// A text column of any of the schema's text encodings.
enum Text<'b> {
    Plain(&'b StringArray),
    Dictionary {
        keys: &'b arrow_array::PrimitiveArray<Int32Type>,
        values: &'b StringArray,
    },
    List(&'b arrow_array::ListArray),
    Absent,
}

impl<'b> Text<'b> {
    fn of(batch: &'b RecordBatch, name: &'static str, dir: &Path) -> Result<Self, IndexError> {
        let Some(array) = batch.column_by_name(name) else {
            return Err(IndexError::MissingColumn {
                path: dir.to_path_buf(),
                column: name,
            });
        };
        if let Some(strings) = array.as_string_opt::<i32>() {
            return Ok(Text::Plain(strings));
        }
        if let Some(dictionary) = array.as_dictionary_opt::<Int32Type>()
            && let Some(values) = dictionary.values().as_string_opt::<i32>()
        {
            return Ok(Text::Dictionary {
                keys: dictionary.keys(),
                values,
            });
        }
        if let Some(list) = array.as_list_opt::<i32>() {
            return Ok(Text::List(list));
        }
        Ok(Text::Absent)
    }

    /// Calls `add` with each non-empty value of `row`.
    fn each(&self, row: usize, mut add: impl FnMut(&str)) {
        match self {
            Text::Plain(strings) => {
                if strings.is_valid(row) && !strings.value(row).is_empty() {
                    add(strings.value(row));
                }
            }
            Text::Dictionary { keys, values } => {
                if keys.is_valid(row) {
                    let key = keys.value(row);
                    if let Ok(key) = usize::try_from(key)
                        && key < values.len()
                        && !values.value(key).is_empty()
                    {
                        add(values.value(key));
                    }
                }
            }
            Text::List(list) => {
                if list.is_valid(row) {
                    let items = list.value(row);
                    if let Some(items) = items.as_string_opt::<i32>() {
                        for item in items.iter().flatten() {
                            add(item);
                        }
                    }
                }
            }
            Text::Absent => {}
        }
    }
}

fn directory_size(dir: &Path) -> u64 {
    let files = fs::read_dir(dir).into_iter().flatten().flatten();
    files
        .filter_map(|entry| entry.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .map(|metadata| metadata.len())
        .sum()
}

/// The temporary name an index is built under before it is published as `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{}{name}", crate::store::segment::TEMP_PREFIX))
}
