//! Appending events straight into the Arrow arrays of schema v1.
//!
//! [`EventBatchBuilder`] holds one Arrow builder per column; [`EventBatchBuilder::append`]
//! copies an [`Event`]'s fields into them, together with what only the pipeline knows about the
//! record ([`RecordMeta`]). No per-record map or intermediate row is built.

mod column;

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, MapArray, RecordBatch, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType};

use crate::event::{Event, Flag, Text};
use crate::schema;
use column::{DictionaryColumn, EntryText, TextColumn};

/// What the pipeline knows about the record an event came from.
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta<'r> {
    /// When weft received the record, UTC microseconds.
    pub ingest_time: i64,
    /// The event's deterministic id (see [`crate::event_id`]).
    pub event_id: &'r str,
    /// The service the event is attributed to.
    pub service: &'r str,
    /// The whole record as text (lossy UTF-8 if it was not UTF-8).
    pub raw: &'r str,
    /// The record was not valid UTF-8.
    pub not_utf8: bool,
}

/// Builds `RecordBatch`es of schema v1, one event at a time.
pub struct EventBatchBuilder {
    time: TimestampMicrosecondBuilder,
    ingest_time: TimestampMicrosecondBuilder,
    event_id: TextColumn,
    service: DictionaryColumn,
    host: DictionaryColumn,
    format: DictionaryColumn,
    class: DictionaryColumn,
    activity: DictionaryColumn,
    outcome: DictionaryColumn,
    severity: Int32Builder,
    user: TextColumn,
    src_ip: TextColumn,
    src_port: Int32Builder,
    dst_ip: TextColumn,
    dst_port: Int32Builder,
    http_method: DictionaryColumn,
    url: TextColumn,
    http_status: Int32Builder,
    user_agent: TextColumn,
    process: TextColumn,
    command_line: TextColumn,
    resource: TextColumn,
    trace_id: TextColumn,
    span_id: TextColumn,
    request_id: TextColumn,
    session_id: TextColumn,
    message: TextColumn,
    raw: EntryText,
    attrs: AttrsColumn,
    flags: ListBuilder<StringBuilder>,
    rows: usize,
    bytes: usize,
    min_time: i64,
    max_time: i64,
}

impl std::fmt::Debug for EventBatchBuilder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EventBatchBuilder")
            .field("rows", &self.rows)
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Default for EventBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn timestamp_builder(rows: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC")
}

fn append_text(column: &mut TextColumn, value: &Text<'_>) {
    column.push_option(value.as_deref());
}

/// The `attrs` map column: per row, a run of (key, value) entries, or null when there are none.
#[derive(Debug)]
struct AttrsColumn {
    keys: EntryText,
    values: EntryText,
    /// One more entry than rows: where each row's entries start, then the end.
    offsets: Vec<i32>,
    validity: NullBufferBuilder,
}

impl AttrsColumn {
    fn with_capacity(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        AttrsColumn {
            keys: EntryText::with_capacity(0, 0),
            values: EntryText::with_capacity(0, 0),
            offsets,
            validity: NullBufferBuilder::new(rows),
        }
    }

    #[inline]
    fn push(&mut self, attrs: &[(Cow<'_, str>, Cow<'_, str>)]) {
        if attrs.is_empty() {
            self.validity.append_null();
        } else {
            for (key, value) in attrs {
                self.keys.push(key);
                self.values.push(value);
            }
            self.validity.append_non_null();
        }
        // Past `i32::MAX` entries the offsets stop growing and `finish` reports the map as
        // invalid; a batch is flushed long before.
        self.offsets
            .push(i32::try_from(self.keys.len()).unwrap_or(i32::MAX));
    }

    /// The map so far as an array; the builder starts over, sized like this batch.
    fn finish(&mut self) -> Result<MapArray, ArrowError> {
        let rows = self.offsets.len() - 1;
        // Every part starts over before any error is returned.
        let keys = self.keys.finish();
        let values = self.values.finish();
        let mut next_offsets = Vec::with_capacity(rows + 1);
        next_offsets.push(0);
        let offsets = std::mem::replace(&mut self.offsets, next_offsets);
        let validity = std::mem::replace(&mut self.validity, NullBufferBuilder::new(rows)).finish();
        let keys: ArrayRef = Arc::new(keys?);
        let values: ArrayRef = Arc::new(values?);
        let DataType::Map(entries_field, ordered) = schema::attrs_type() else {
            return Err(ArrowError::SchemaError("attrs is not a map".into()));
        };
        let DataType::Struct(fields) = entries_field.data_type().clone() else {
            return Err(ArrowError::SchemaError(
                "attrs entries are not a struct".into(),
            ));
        };
        let entries = StructArray::try_new(fields, vec![keys, values], None)?;
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        MapArray::try_new(entries_field, offsets, entries, validity, ordered)
    }
}
impl EventBatchBuilder {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    fn with_capacity(rows: usize) -> Self {
        EventBatchBuilder {
            time: timestamp_builder(rows),
            ingest_time: timestamp_builder(rows),
            event_id: TextColumn::with_capacity(rows, 0),
            service: DictionaryColumn::with_capacity(rows),
            host: DictionaryColumn::with_capacity(rows),
            format: DictionaryColumn::with_capacity(rows),
            class: DictionaryColumn::with_capacity(rows),
            activity: DictionaryColumn::with_capacity(rows),
            outcome: DictionaryColumn::with_capacity(rows),
            severity: Int32Builder::with_capacity(rows),
            user: TextColumn::new(),
            src_ip: TextColumn::new(),
            src_port: Int32Builder::with_capacity(rows),
            dst_ip: TextColumn::new(),
            dst_port: Int32Builder::with_capacity(rows),
            http_method: DictionaryColumn::with_capacity(rows),
            url: TextColumn::new(),
            http_status: Int32Builder::with_capacity(rows),
            user_agent: TextColumn::new(),
            process: TextColumn::new(),
            command_line: TextColumn::new(),
            resource: TextColumn::new(),
            trace_id: TextColumn::new(),
            span_id: TextColumn::new(),
            request_id: TextColumn::new(),
            session_id: TextColumn::new(),
            message: TextColumn::new(),
            raw: EntryText::with_capacity(0, 0),
            attrs: AttrsColumn::with_capacity(rows),
            flags: ListBuilder::with_capacity(StringBuilder::new(), rows),
            rows: 0,
            bytes: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// A rough count of the bytes held, for flush decisions.
    pub fn estimated_bytes(&self) -> usize {
        self.bytes
    }

    /// Smallest and largest event time appended, if any row was.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        (self.rows > 0).then_some((self.min_time, self.max_time))
    }

    /// The event time a row for `event` gets: its own, or the ingest time.
    pub fn effective_time(event: &Event<'_>, meta: &RecordMeta<'_>) -> i64 {
        event.time.unwrap_or(meta.ingest_time)
    }

    /// Appends one event as a row.
    pub fn append(&mut self, event: &Event<'_>, meta: &RecordMeta<'_>) {
        let time = Self::effective_time(event, meta);
        self.min_time = self.min_time.min(time);
        self.max_time = self.max_time.max(time);
        self.time.append_value(time);
        self.ingest_time.append_value(meta.ingest_time);
        self.event_id.push(meta.event_id);
        self.service.push(meta.service);
        self.host.push_option(event.host.as_deref());
        self.format.push(event.format);
        self.class.push(event.class.as_str());
        self.activity.push_option(event.activity.as_deref());
        self.outcome
            .push_option(event.outcome.map(|outcome| outcome.as_str()));
        self.severity.append_option(event.severity);
        append_text(&mut self.user, &event.user);
        append_text(&mut self.src_ip, &event.src_ip);
        self.src_port.append_option(event.src_port);
        append_text(&mut self.dst_ip, &event.dst_ip);
        self.dst_port.append_option(event.dst_port);
        self.http_method.push_option(event.http_method.as_deref());
        append_text(&mut self.url, &event.url);
        self.http_status.append_option(event.http_status);
        append_text(&mut self.user_agent, &event.user_agent);
        append_text(&mut self.process, &event.process);
        append_text(&mut self.command_line, &event.command_line);
        append_text(&mut self.resource, &event.resource);
        append_text(&mut self.trace_id, &event.trace_id);
        append_text(&mut self.span_id, &event.span_id);
        append_text(&mut self.request_id, &event.request_id);
        append_text(&mut self.session_id, &event.session_id);
        append_text(&mut self.message, &event.message);
        let raw = event.raw.unwrap_or(meta.raw);
        self.raw.push(raw);
        self.bytes += raw.len() * 2 + 64;
        self.attrs.push(&event.attrs);

        let time_missing = event.time.is_none();
        if event.flags.is_empty() && !time_missing && !meta.not_utf8 {
            self.flags.append(false);
        } else {
            let values = self.flags.values();
            for flag in event.flags.iter() {
                values.append_value(flag.as_str());
            }
            if time_missing && !event.flags.contains(&Flag::TimeMissing) {
                values.append_value(Flag::TimeMissing.as_str());
            }
            if meta.not_utf8 && !event.flags.contains(&Flag::NotUtf8) {
                values.append_value(Flag::NotUtf8.as_str());
            }
            self.flags.append(true);
        }
        self.rows += 1;
    }

    /// Takes the rows appended so far as a `RecordBatch` and starts over. Every column sizes
    /// its buffers for a batch like this one, since the next is likely shaped the same.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.ingest_time.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.service.finish()?),
            Arc::new(self.host.finish()?),
            Arc::new(self.format.finish()?),
            Arc::new(self.class.finish()?),
            Arc::new(self.activity.finish()?),
            Arc::new(self.outcome.finish()?),
            Arc::new(self.severity.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.src_ip.finish()),
            Arc::new(self.src_port.finish()),
            Arc::new(self.dst_ip.finish()),
            Arc::new(self.dst_port.finish()),
            Arc::new(self.http_method.finish()?),
            Arc::new(self.url.finish()),
            Arc::new(self.http_status.finish()),
            Arc::new(self.user_agent.finish()),
            Arc::new(self.process.finish()),
            Arc::new(self.command_line.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.request_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.raw.finish()?),
            Arc::new(self.attrs.finish()?),
            Arc::new(self.flags.finish()),
        ];
        self.time = timestamp_builder(rows);
        self.ingest_time = timestamp_builder(rows);
        for column in [
            &mut self.severity,
            &mut self.src_port,
            &mut self.dst_port,
            &mut self.http_status,
        ] {
            *column = Int32Builder::with_capacity(rows);
        }
        self.flags = ListBuilder::with_capacity(StringBuilder::new(), rows);
        self.rows = 0;
        self.bytes = 0;
        self.min_time = i64::MAX;
        self.max_time = i64::MIN;
        RecordBatch::try_new(schema::schema(), columns)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use arrow_array::cast::AsArray;
    use arrow_array::{Array, Int32Array, StringArray};

    use super::*;
    use crate::event::{Class, Outcome};

    fn meta<'r>(raw: &'r str) -> RecordMeta<'r> {
        RecordMeta {
            ingest_time: 1_000,
            event_id: "id-1",
            service: "auth",
            raw,
            not_utf8: false,
        }
    }

    #[test]
    fn builds_a_batch_of_the_v1_schema() {
        let mut builder = EventBatchBuilder::new();
        let mut event = Event::new("json");
        event.time = Some(42);
        event.class = Class::Authentication;
        event.outcome = Some(Outcome::Failure);
        event.user = Some(Cow::Borrowed("alice"));
        event.src_port = Some(22);
        event.attrs = vec![(Cow::Borrowed("a.b"), Cow::Borrowed("1"))];
        builder.append(&event, &meta("{\"a\":{\"b\":1}}"));
        builder.append(&Event::new("text"), &meta("plain"));
        assert_eq!(builder.time_range(), Some((42, 1_000)));

        let batch = builder.finish().expect("valid batch");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), schema::schema());
        let user = batch
            .column_by_name(schema::USER)
            .expect("column")
            .as_string::<i32>();
        assert_eq!(user.value(0), "alice");
        assert!(user.is_null(1));
        let port: &Int32Array = batch
            .column_by_name(schema::SRC_PORT)
            .expect("column")
            .as_primitive();
        assert_eq!(port.value(0), 22);
        let flags = batch
            .column_by_name(schema::FLAGS)
            .expect("column")
            .as_list::<i32>();
        assert!(flags.is_null(0));
        let second: StringArray = flags.value(1).as_string::<i32>().clone();
        assert_eq!(
            second.value(0),
            "time_missing",
            "no time: ingest time is used and flagged"
        );
        let attrs = batch
            .column_by_name(schema::ATTRS)
            .expect("column")
            .as_map();
        assert_eq!(attrs.value(0).len(), 1);
        assert!(attrs.is_null(1));
        assert!(builder.is_empty(), "finish starts over");
    }

    #[test]
    fn batches_the_caller_keeps_keep_their_contents_while_the_builder_goes_on() {
        let mut builder = EventBatchBuilder::new();
        let mut event = Event::new("json");
        event.time = Some(1);
        let raws = ["first record", "second record", "third record"];
        let attrs = [("k1", "v1"), ("k2", "v2"), ("k3", "v3")];
        let mut kept = Vec::new();
        for round in 0..6 {
            let (key, value) = attrs[round % 3];
            event.attrs = vec![(Cow::Borrowed(key), Cow::Borrowed(value))];
            builder.append(&event, &meta(raws[round % 3]));
            let batch = builder.finish().expect("valid batch");
            // Every other batch stays alive while the builder goes on.
            if round % 2 == 0 {
                kept.push((round, batch));
            }
        }
        for (round, batch) in &kept {
            let raw = batch
                .column_by_name(schema::RAW)
                .expect("column")
                .as_string::<i32>();
            assert_eq!(raw.value(0), raws[round % 3], "batch {round}");
            let map = batch
                .column_by_name(schema::ATTRS)
                .expect("column")
                .as_map();
            let entry = map.value(0);
            let (key, value) = attrs_pair(&entry);
            assert_eq!(
                (key.as_str(), value.as_str()),
                attrs[round % 3],
                "batch {round}"
            );
        }
    }

    fn attrs_pair(entry: &arrow_array::StructArray) -> (String, String) {
        let key = entry.column(0).as_string::<i32>().value(0).to_string();
        let value = entry.column(1).as_string::<i32>().value(0).to_string();
        (key, value)
    }

    #[test]
    fn not_utf8_records_are_flagged() {
        let mut builder = EventBatchBuilder::new();
        let mut event = Event::new("text");
        event.time = Some(1);
        let mut record = meta("caf\u{fffd}");
        record.not_utf8 = true;
        builder.append(&event, &record);
        let batch = builder.finish().expect("valid batch");
        let flags = batch
            .column_by_name(schema::FLAGS)
            .expect("column")
            .as_list::<i32>();
        assert_eq!(flags.value(0).as_string::<i32>().value(0), "not_utf8");
    }
}
