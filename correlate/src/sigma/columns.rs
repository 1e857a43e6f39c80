//! Reading schema v1 columns of a `RecordBatch` as text: string, dictionary, integer and
//! timestamp columns, and the `attrs` map.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, Int32Array, MapArray, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::DataType;
use weft_ingest::schema;

use super::error::MatchError;

/// The columns Sigma keywords search, besides every `attrs` value: the message; the URL and
/// user agent, which are all an access log line says beyond its attributes; and the command
/// line, which auditd writes as separate arguments (`a0`, `a1`, ...) that weft joins.
pub const KEYWORD_COLUMNS: [&str; 4] = [
    schema::MESSAGE,
    schema::URL,
    schema::USER_AGENT,
    schema::COMMAND_LINE,
];

/// One column, readable as text per row.
#[derive(Debug, Clone, Copy)]
pub enum ColumnReader<'b> {
    Utf8(&'b StringArray),
    Dictionary(&'b Int32Array, &'b StringArray),
    Int(&'b Int32Array),
    Time(&'b TimestampMicrosecondArray),
    /// The batch has no such column.
    Missing,
}

impl<'b> ColumnReader<'b> {
    pub fn new(batch: &'b RecordBatch, name: &'static str) -> Result<ColumnReader<'b>, MatchError> {
        let Some(array) = batch.column_by_name(name) else {
            return Ok(ColumnReader::Missing);
        };
        Ok(match array.data_type() {
            DataType::Utf8 => ColumnReader::Utf8(array.as_string::<i32>()),
            DataType::Dictionary(key, value)
                if **key == DataType::Int32 && **value == DataType::Utf8 =>
            {
                let dictionary = array.as_dictionary::<Int32Type>();
                let values = dictionary
                    .values()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or(MatchError::Column(name))?;
                ColumnReader::Dictionary(dictionary.keys(), values)
            }
            DataType::Int32 => ColumnReader::Int(array.as_primitive::<Int32Type>()),
            DataType::Timestamp(_, _) => ColumnReader::Time(
                array
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .ok_or(MatchError::Column(name))?,
            ),
            _ => return Err(MatchError::Column(name)),
        })
    }

    /// The value at `row` as text; `None` when null.
    pub fn text(&self, row: usize) -> Option<Cow<'b, str>> {
        match self {
            ColumnReader::Utf8(array) => {
                array.is_valid(row).then(|| Cow::Borrowed(array.value(row)))
            }
            ColumnReader::Dictionary(keys, values) => {
                if !keys.is_valid(row) {
                    return None;
                }
                let key = usize::try_from(keys.value(row)).ok()?;
                (key < values.len() && values.is_valid(key))
                    .then(|| Cow::Borrowed(values.value(key)))
            }
            ColumnReader::Int(array) => array
                .is_valid(row)
                .then(|| Cow::Owned(array.value(row).to_string())),
            ColumnReader::Time(array) => {
                if !array.is_valid(row) {
                    return None;
                }
                let time = chrono::DateTime::from_timestamp_micros(array.value(row))?;
                Some(Cow::Owned(
                    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                ))
            }
            ColumnReader::Missing => None,
        }
    }

    /// The dictionary key at `row` (for caching per distinct value), if dictionary-encoded.
    pub fn dictionary_key(&self, row: usize) -> Option<i32> {
        match self {
            ColumnReader::Dictionary(keys, _) if keys.is_valid(row) => Some(keys.value(row)),
            _ => None,
        }
    }
}

/// The `attrs` map column.
#[derive(Debug, Clone, Copy)]
pub struct AttrsReader<'b> {
    map: Option<&'b MapArray>,
    keys: Option<&'b StringArray>,
    values: Option<&'b StringArray>,
}

impl<'b> AttrsReader<'b> {
    pub fn new(batch: &'b RecordBatch) -> Result<AttrsReader<'b>, MatchError> {
        let Some(array) = batch.column_by_name(schema::ATTRS) else {
            return Ok(AttrsReader {
                map: None,
                keys: None,
                values: None,
            });
        };
        let map = array
            .as_map_opt()
            .ok_or(MatchError::Column(schema::ATTRS))?;
        let keys = map
            .keys()
            .as_string_opt::<i32>()
            .ok_or(MatchError::Column(schema::ATTRS))?;
        let values = map
            .values()
            .as_string_opt::<i32>()
            .ok_or(MatchError::Column(schema::ATTRS))?;
        Ok(AttrsReader {
            map: Some(map),
            keys: Some(keys),
            values: Some(values),
        })
    }

    /// The `(key, value)` entries of `row`; null values are left out.
    pub fn entries(&self, row: usize) -> impl Iterator<Item = (&'b str, &'b str)> + use<'b> {
        let (range, keys, values) = match (self.map, self.keys, self.values) {
            (Some(map), Some(keys), Some(values)) if map.is_valid(row) => {
                let offsets = map.value_offsets();
                let start = usize::try_from(offsets[row]).unwrap_or(0);
                let end = usize::try_from(offsets[row + 1]).unwrap_or(start);
                (start..end, Some(keys), Some(values))
            }
            _ => (0..0, None, None),
        };
        range.filter_map(move |entry| {
            let (keys, values) = (keys?, values?);
            values
                .is_valid(entry)
                .then(|| (keys.value(entry), values.value(entry)))
        })
    }
}
