//! Reading chosen rows of a segment, and turning them into the JSON events the API returns.
//!
//! Only the row groups holding the rows are read, and within them, with the row selection and
//! the Parquet offset index, only the pages holding them: a page of 100 results reads a few
//! pages per column, never the segment.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use serde_json::{Map, Value};
use weft_ingest::schema as columns;

use super::SearchError;
use super::segments::OpenSegment;

/// A JSON event: column name to value; null columns are left out.
pub type JsonEvent = Map<String, Value>;

/// Which columns to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Every column but `raw` and `attrs` (search results: the normalized facts).
    Normalized,
    /// Every column (one event with its raw record).
    All,
}

/// Reads `rows` (row numbers of the segment, any order) and returns their events by row.
pub fn read_rows(
    segment: &OpenSegment,
    rows: &[u64],
    columns: Columns,
) -> Result<BTreeMap<u64, JsonEvent>, SearchError> {
    let mut wanted: Vec<u64> = rows.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let failed = |reason: String| SearchError::Segment {
        path: segment.path.clone(),
        reason,
    };
    let footer = segment.footer()?;
    let (row_groups, ranges, selected_rows) = selection(&footer, &wanted);
    let file = File::open(&segment.path).map_err(|error| failed(error.to_string()))?;
    let mask = projection(&footer, columns, &row_groups);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, footer)
        .with_projection(mask)
        .with_row_groups(row_groups)
        .with_row_selection(RowSelection::from_consecutive_ranges(
            ranges.into_iter(),
            selected_rows,
        ))
        .with_batch_size(wanted.len())
        .build()
        .map_err(|error| failed(error.to_string()))?;
    let mut events = BTreeMap::new();
    let mut next = wanted.iter();
    for batch in reader {
        let batch = batch.map_err(|error| failed(error.to_string()))?;
        for index in 0..batch.num_rows() {
            let Some(&row) = next.next() else {
                return Err(failed(
                    "the segment returned more rows than asked".to_string(),
                ));
            };
            events.insert(row, event(&batch, index));
        }
    }
    if events.len() != wanted.len() {
        return Err(failed(format!(
            "asked for {} rows, read {}",
            wanted.len(),
            events.len()
        )));
    }
    Ok(events)
}

/// The row groups holding `rows` (sorted), and the ranges of `rows` within those row groups
/// read one after the other, with how many rows those row groups hold.
fn selection(
    footer: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    rows: &[u64],
) -> (Vec<usize>, Vec<Range<usize>>, usize) {
    let mut row_groups = Vec::new();
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut group_start = 0u64;
    let mut selected_before = 0usize;
    let mut remaining = rows.iter().peekable();
    for (group, metadata) in footer.metadata().row_groups().iter().enumerate() {
        let group_rows = u64::try_from(metadata.num_rows()).unwrap_or(0);
        let group_end = group_start + group_rows;
        let mut used = false;
        while let Some(&&row) = remaining.peek() {
            if row >= group_end {
                break;
            }
            remaining.next();
            let Ok(offset) = usize::try_from(row - group_start) else {
                continue;
            };
            let at = selected_before + offset;
            used = true;
            match ranges.last_mut() {
                Some(last) if last.end == at => last.end = at + 1,
                _ => ranges.push(at..at + 1),
            }
        }
        if used {
            row_groups.push(group);
            selected_before += usize::try_from(group_rows).unwrap_or(0);
        }
        group_start = group_end;
    }
    (row_groups, ranges, selected_before)
}

/// The columns to read from `row_groups`. Search results leave null columns out, so a
/// top-level column whose values are all null in every one of those row groups (by the
/// footer's statistics) is not read at all: a service's events leave many columns empty, and
/// each column read costs a page read and a decompression per row.
fn projection(
    footer: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    columns: Columns,
    row_groups: &[usize],
) -> ProjectionMask {
    let schema = footer.parquet_schema();
    match columns {
        Columns::All => ProjectionMask::all(),
        Columns::Normalized => {
            let metadata = footer.metadata();
            // Roots of one primitive leaf whose values are all null in the row groups read.
            // Lists and maps are always read (an empty list is not a null).
            let mut leaves_of_root = vec![0usize; footer.schema().fields().len()];
            for leaf in 0..schema.num_columns() {
                if let Some(count) = leaves_of_root.get_mut(schema.get_column_root_idx(leaf)) {
                    *count += 1;
                }
            }
            let all_null = |leaf: usize| {
                let root = schema.get_column_root_idx(leaf);
                leaves_of_root.get(root) == Some(&1)
                    && schema.column(leaf).max_rep_level() == 0
                    && row_groups.iter().all(|&group| {
                        let row_group = metadata.row_group(group);
                        row_group
                            .column(leaf)
                            .statistics()
                            .and_then(|statistics| statistics.null_count_opt())
                            .is_some_and(|nulls| {
                                i64::try_from(nulls)
                                    .is_ok_and(|nulls| nulls == row_group.num_rows())
                            })
                    })
            };
            let empty_roots: std::collections::HashSet<usize> = (0..schema.num_columns())
                .filter(|&leaf| all_null(leaf))
                .map(|leaf| schema.get_column_root_idx(leaf))
                .collect();
            let roots = footer
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(index, field)| {
                    !matches!(field.name().as_str(), columns::RAW | columns::ATTRS)
                        && !empty_roots.contains(index)
                })
                .map(|(index, _)| index);
            ProjectionMask::roots(schema, roots)
        }
    }
}

/// Row `index` of `batch` as a JSON object.
pub fn event(batch: &RecordBatch, index: usize) -> JsonEvent {
    let mut event = Map::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if let Some(value) = value(column, index) {
            event.insert(field.name().clone(), value);
        }
    }
    event
}

/// The JSON value of one cell: times as RFC 3339 (microseconds, UTC), numbers as numbers,
/// `flags` as a list, `attrs` as an object; `None` when null.
fn value(column: &ArrayRef, index: usize) -> Option<Value> {
    if column.is_null(index) {
        return None;
    }
    match column.data_type() {
        DataType::Timestamp(..) => {
            let micros = column
                .as_primitive_opt::<TimestampMicrosecondType>()?
                .value(index);
            Some(Value::String(rfc3339(micros)))
        }
        DataType::Int32 => Some(Value::from(
            column.as_primitive_opt::<Int32Type>()?.value(index),
        )),
        DataType::Utf8 => Some(Value::String(
            column.as_string_opt::<i32>()?.value(index).to_string(),
        )),
        DataType::Dictionary(..) => {
            let dictionary = column.as_dictionary_opt::<Int32Type>()?;
            let key = usize::try_from(dictionary.keys().value(index)).ok()?;
            let values = dictionary.values().as_string_opt::<i32>()?;
            (key < values.len()).then(|| Value::String(values.value(key).to_string()))
        }
        DataType::List(_) => {
            let items = column.as_list_opt::<i32>()?.value(index);
            let strings = items.as_string_opt::<i32>()?;
            Some(Value::Array(
                strings
                    .iter()
                    .flatten()
                    .map(|item| Value::String(item.to_string()))
                    .collect(),
            ))
        }
        DataType::Map(..) => {
            let entries = column.as_map_opt()?.value(index);
            let keys = entries.column(0).as_string_opt::<i32>()?;
            let values = entries.column(1).as_string_opt::<i32>()?;
            let mut object = Map::new();
            for entry in 0..entries.len() {
                let value = if values.is_null(entry) {
                    Value::Null
                } else {
                    Value::String(values.value(entry).to_string())
                };
                object.insert(keys.value(entry).to_string(), value);
            }
            Some(Value::Object(object))
        }
        _ => None,
    }
}

/// UTC microseconds as RFC 3339 with microseconds (`2026-11-23T09:00:01.000000Z`).
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros).map_or_else(
        || micros.to_string(),
        |time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_500_000), "1970-01-01T00:00:01.500000Z");
    }
}
