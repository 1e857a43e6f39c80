//! Column builders shaped for ingest's append pattern.
//!
//! Ingest's dictionary columns (`service`, `format`, `class`, ...) nearly always repeat the
//! previous row's value, and Arrow's dictionary builder hashes every value it is given:
//! [`DictionaryColumn`] remembers the last entry and hashes only on a change. Its keys become an
//! Arrow array once per batch, checked against the values, so a malformed column is an error,
//! never undefined data.
//!
//! Each builder sizes its next batch like the one it just finished, so steady-state appends do
//! not regrow (and copy) a buffer; the largest ([`EntryText`]) also write the next batch into
//! the buffers of the one before, once that batch is dropped.

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{DictionaryArray, Int32Array, StringArray};
use arrow_buffer::{Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::ArrowError;
use rustc_hash::FxHashMap;

/// A capacity for the next batch from this one's size, with an eighth more: the next batch is
/// larger than this one about half of the time, and a little room then spares its buffer a
/// doubling (a copy of all it holds, into fresh pages).
pub(super) fn with_slack(size: usize) -> usize {
    size.saturating_add(size / 8)
}

/// A `Utf8` column. Arrow's builder is already lean for plain text; this adds only the sizing
/// of the next batch.
#[derive(Debug)]
pub(super) struct TextColumn(StringBuilder);

impl TextColumn {
    pub(super) fn with_capacity(rows: usize, bytes: usize) -> Self {
        TextColumn(StringBuilder::with_capacity(rows, bytes))
    }

    pub(super) fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// Rows appended.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Bytes of text appended.
    pub(super) fn bytes(&self) -> usize {
        self.0.values_slice().len()
    }

    #[inline]
    pub(super) fn push(&mut self, value: &str) {
        self.0.append_value(value);
    }

    #[inline]
    pub(super) fn push_option(&mut self, value: Option<&str>) {
        self.0.append_option(value);
    }

    /// The value of row `row`, as appended.
    fn value(&self, row: usize) -> &[u8] {
        let offsets = self.0.offsets_slice();
        let start = offsets[row] as usize;
        let end = offsets[row + 1] as usize;
        &self.0.values_slice()[start..end]
    }

    /// The column so far as an array; the builder starts over, sized like this batch.
    pub(super) fn finish(&mut self) -> StringArray {
        let fresh = TextColumn::with_capacity(with_slack(self.len()), with_slack(self.bytes()));
        std::mem::replace(self, fresh).0.finish()
    }
}

/// A `Utf8` column without nulls, for `raw` and the keys and values of `attrs`: an append is a
/// copy of the bytes and an offset, without the null bookkeeping and overflow check of Arrow's
/// builder, which add up over the twenty-odd entries of a row. The text is checked to be UTF-8
/// once, when the array is made.
///
/// These are a batch's largest buffers, and the builder takes them back once the batch made
/// from them is dropped: [`finish`](Self::finish) keeps a reference to the buffers it hands
/// out, and the next `finish` refills them if that reference is the last one (else it
/// allocates, as when nothing was handed out yet). A running stream then writes into memory it
/// already touched, instead of fresh pages the kernel zeroes first; a builder keeps one
/// batch's worth of these buffers between batches.
#[derive(Debug)]
pub(super) struct EntryText {
    bytes: Vec<u8>,
    /// One more than entries: where each starts, then the end.
    offsets: Vec<i32>,
    /// The buffers of the array the last `finish` made.
    lent: Option<(Buffer, Buffer)>,
}

impl EntryText {
    pub(super) fn with_capacity(entries: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(entries + 1);
        offsets.push(0);
        EntryText {
            bytes: Vec::with_capacity(bytes),
            offsets,
            lent: None,
        }
    }

    /// Entries appended.
    pub(super) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Bytes of text appended.
    pub(super) fn bytes(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    pub(super) fn push(&mut self, value: &str) {
        self.bytes.extend_from_slice(value.as_bytes());
        // Past `i32::MAX` bytes the offsets stop growing and `finish` reports the column as
        // invalid; a batch is flushed long before.
        self.offsets
            .push(i32::try_from(self.bytes.len()).unwrap_or(i32::MAX));
    }

    /// The entries so far as an array; the builder starts over, sized like this batch, in the
    /// buffers of the previous batch when they are free.
    pub(super) fn finish(&mut self) -> Result<StringArray, ArrowError> {
        let (entries, bytes) = (with_slack(self.len()), with_slack(self.bytes()));
        let (free_bytes, free_offsets) = match self.lent.take() {
            Some((bytes, offsets)) => (bytes.into_vec().ok(), offsets.into_vec().ok()),
            None => (None, None),
        };
        let mut next_offsets = empty_with_capacity(free_offsets, entries + 1);
        next_offsets.push(0);
        let values = Buffer::from_vec(std::mem::replace(
            &mut self.bytes,
            empty_with_capacity(free_bytes, bytes),
        ));
        let offsets = Buffer::from_vec(std::mem::replace(&mut self.offsets, next_offsets));
        self.lent = Some((values.clone(), offsets.clone()));
        StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), values, None)
    }
}

/// An empty vector with room for `capacity` items: `free` emptied when it has the room, else a
/// new allocation (growing `free` would copy its stale contents).
fn empty_with_capacity<T>(free: Option<Vec<T>>, capacity: usize) -> Vec<T> {
    match free {
        Some(mut free) if free.capacity() >= capacity => {
            free.clear();
            free
        }
        _ => Vec::with_capacity(capacity),
    }
}

/// Whether two short texts are equal: a byte loop, cheaper than a call to `memcmp` for the
/// few bytes of a dictionary value (`cef`, `http_activity`, a host name).
#[inline]
fn same_bytes(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).all(|(a, b)| a == b)
}

/// A `Dictionary<Int32, Utf8>` column for low-cardinality text.
#[derive(Debug)]
pub(super) struct DictionaryColumn {
    keys: Vec<i32>,
    validity: NullBufferBuilder,
    /// Distinct values, in order of first appearance: key `k` is row `k`.
    values: TextColumn,
    lookup: FxHashMap<Box<str>, i32>,
    /// The key appended last: most rows repeat it.
    last: Option<i32>,
}

impl DictionaryColumn {
    pub(super) fn with_capacity(rows: usize) -> Self {
        DictionaryColumn {
            keys: Vec::with_capacity(rows),
            validity: NullBufferBuilder::new(rows),
            values: TextColumn::with_capacity(16, 256),
            lookup: FxHashMap::default(),
            last: None,
        }
    }

    #[cfg(test)]
    pub(super) fn new() -> Self {
        Self::with_capacity(0)
    }

    #[inline]
    pub(super) fn push(&mut self, value: &str) {
        let key = match self.last {
            Some(last) if same_bytes(self.values.value(last as usize), value.as_bytes()) => last,
            _ => self.key_of(value),
        };
        self.last = Some(key);
        self.keys.push(key);
        self.validity.append_non_null();
    }

    #[inline]
    pub(super) fn push_option(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.push(value),
            None => {
                self.keys.push(0);
                self.validity.append_null();
            }
        }
    }

    fn key_of(&mut self, value: &str) -> i32 {
        if let Some(&key) = self.lookup.get(value) {
            return key;
        }
        // A batch never holds more than i32::MAX rows, so neither more distinct values.
        let key = i32::try_from(self.values.len()).unwrap_or(i32::MAX);
        self.values.push(value);
        self.lookup.insert(value.into(), key);
        key
    }

    /// The column so far as an array; the builder starts over, sized like this batch.
    pub(super) fn finish(&mut self) -> Result<DictionaryArray<Int32Type>, ArrowError> {
        let fresh = DictionaryColumn::with_capacity(self.keys.len());
        let DictionaryColumn {
            keys,
            mut validity,
            mut values,
            ..
        } = std::mem::replace(self, fresh);
        let keys = Int32Array::try_new(ScalarBuffer::from(keys), validity.finish())?;
        DictionaryArray::try_new(keys, Arc::new(values.finish()))
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;

    #[test]
    fn text_columns_keep_values_and_nulls() {
        let mut column = TextColumn::new();
        column.push("alice");
        column.push_option(None);
        column.push("");
        column.push_option(Some("bob"));
        let array = column.finish();
        assert_eq!(array.len(), 4);
        assert_eq!(array.value(0), "alice");
        assert!(array.is_null(1));
        assert!(array.is_valid(2));
        assert_eq!(array.value(2), "");
        assert_eq!(array.value(3), "bob");
        assert_eq!(column.len(), 0, "finish starts over");
        column.push("again");
        assert_eq!(column.finish().value(0), "again");
    }

    #[test]
    fn dictionary_columns_share_repeated_values() {
        let mut column = DictionaryColumn::new();
        for value in ["auth", "auth", "gateway", "auth", "gateway"] {
            column.push(value);
        }
        column.push_option(None);
        let array = column.finish().expect("valid");
        assert_eq!(array.len(), 6);
        assert_eq!(array.values().len(), 2, "two distinct values");
        let values = array.values().as_string::<i32>();
        let decoded: Vec<Option<&str>> = (0..5)
            .map(|row| Some(values.value(array.keys().value(row) as usize)))
            .collect();
        assert_eq!(
            decoded,
            ["auth", "auth", "gateway", "auth", "gateway"].map(Some)
        );
        assert!(array.is_null(5));
    }

    #[test]
    fn entry_texts_keep_values_and_start_over() {
        let mut column = EntryText::with_capacity(0, 0);
        for value in ["cef.version", "", "caf\u{e9}", "src"] {
            column.push(value);
        }
        let array = column.finish().expect("valid");
        let values: Vec<&str> = array.iter().map(|value| value.unwrap_or("null")).collect();
        assert_eq!(values, ["cef.version", "", "caf\u{e9}", "src"]);
        assert_eq!(array.null_count(), 0);
        assert_eq!(column.len(), 0, "finish starts over");
        column.push("again");
        assert_eq!(column.finish().expect("valid").value(0), "again");
        assert_eq!(
            EntryText::with_capacity(0, 0)
                .finish()
                .expect("valid")
                .len(),
            0
        );
    }

    #[test]
    fn entry_texts_refill_the_buffers_of_a_dropped_array() {
        let mut column = EntryText::with_capacity(4, 64);
        column.push("first");
        let first = column.finish().expect("valid");
        let first_bytes = first.values().as_ptr();
        column.push("second");
        drop(first);
        let second = column.finish().expect("valid");
        assert_eq!(
            column.bytes.as_ptr(),
            first_bytes,
            "the dropped array's buffer"
        );
        column.push("third");
        let third = column.finish().expect("valid");
        assert_ne!(
            column.bytes.as_ptr(),
            second.values().as_ptr(),
            "a live array's buffer is never written"
        );
        column.push("fourth");
        let fourth = column.finish().expect("valid");
        assert_eq!(second.value(0), "second");
        assert_eq!(third.value(0), "third");
        assert_eq!(fourth.value(0), "fourth");
        assert_eq!(fourth.len(), 1);
    }

    #[test]
    fn an_empty_column_is_a_valid_empty_array() {
        assert_eq!(TextColumn::new().finish().len(), 0);
        assert_eq!(DictionaryColumn::new().finish().expect("valid").len(), 0);
    }
}
