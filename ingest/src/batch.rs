//! Appending events straight into the Arrow arrays of schema v1.
//!
//! [`EventBatchBuilder`] holds one Arrow builder per column; [`EventBatchBuilder::append`]
//! copies an [`Event`]'s fields into them, together with what only the pipeline knows about the
//! record ([`RecordMeta`]). No per-record map or intermediate row is built.

use std::sync::Arc;

use arrow_array::builder::{
    Int32Builder, ListBuilder, MapBuilder, StringBuilder, StringDictionaryBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::ArrowError;

use crate::event::{Event, Flag, Text};
use crate::schema;

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
    event_id: StringBuilder,
    service: StringDictionaryBuilder<Int32Type>,
    host: StringDictionaryBuilder<Int32Type>,
    format: StringDictionaryBuilder<Int32Type>,
    class: StringDictionaryBuilder<Int32Type>,
    activity: StringDictionaryBuilder<Int32Type>,
    outcome: StringDictionaryBuilder<Int32Type>,
    severity: Int32Builder,
    user: StringBuilder,
    src_ip: StringBuilder,
    src_port: Int32Builder,
    dst_ip: StringBuilder,
    dst_port: Int32Builder,
    http_method: StringDictionaryBuilder<Int32Type>,
    url: StringBuilder,
    http_status: Int32Builder,
    user_agent: StringBuilder,
    process: StringBuilder,
    command_line: StringBuilder,
    resource: StringBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    request_id: StringBuilder,
    session_id: StringBuilder,
    message: StringBuilder,
    raw: StringBuilder,
    attrs: MapBuilder<StringBuilder, StringBuilder>,
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

fn timestamp_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

fn append_text(builder: &mut StringBuilder, value: &Text<'_>) {
    builder.append_option(value.as_deref());
}

fn append_dictionary(builder: &mut StringDictionaryBuilder<Int32Type>, value: Option<&str>) {
    match value {
        Some(value) => {
            builder.append_value(value);
        }
        None => builder.append_null(),
    }
}

impl EventBatchBuilder {
    pub fn new() -> Self {
        EventBatchBuilder {
            time: timestamp_builder(),
            ingest_time: timestamp_builder(),
            event_id: StringBuilder::new(),
            service: StringDictionaryBuilder::new(),
            host: StringDictionaryBuilder::new(),
            format: StringDictionaryBuilder::new(),
            class: StringDictionaryBuilder::new(),
            activity: StringDictionaryBuilder::new(),
            outcome: StringDictionaryBuilder::new(),
            severity: Int32Builder::new(),
            user: StringBuilder::new(),
            src_ip: StringBuilder::new(),
            src_port: Int32Builder::new(),
            dst_ip: StringBuilder::new(),
            dst_port: Int32Builder::new(),
            http_method: StringDictionaryBuilder::new(),
            url: StringBuilder::new(),
            http_status: Int32Builder::new(),
            user_agent: StringBuilder::new(),
            process: StringBuilder::new(),
            command_line: StringBuilder::new(),
            resource: StringBuilder::new(),
            trace_id: StringBuilder::new(),
            span_id: StringBuilder::new(),
            request_id: StringBuilder::new(),
            session_id: StringBuilder::new(),
            message: StringBuilder::new(),
            raw: StringBuilder::new(),
            attrs: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            flags: ListBuilder::new(StringBuilder::new()),
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
        self.event_id.append_value(meta.event_id);
        self.service.append_value(meta.service);
        append_dictionary(&mut self.host, event.host.as_deref());
        self.format.append_value(event.format);
        self.class.append_value(event.class.as_str());
        append_dictionary(&mut self.activity, event.activity.as_deref());
        append_dictionary(
            &mut self.outcome,
            event.outcome.map(|outcome| outcome.as_str()),
        );
        self.severity.append_option(event.severity);
        append_text(&mut self.user, &event.user);
        append_text(&mut self.src_ip, &event.src_ip);
        self.src_port.append_option(event.src_port);
        append_text(&mut self.dst_ip, &event.dst_ip);
        self.dst_port.append_option(event.dst_port);
        append_dictionary(&mut self.http_method, event.http_method.as_deref());
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
        self.raw.append_value(raw);
        self.bytes += raw.len() * 2 + 64;

        if event.attrs.is_empty() {
            self.attrs
                .append(false)
                .expect("a null map entry is always valid");
        } else {
            for (key, value) in &event.attrs {
                self.attrs.keys().append_value(key);
                self.attrs.values().append_value(value);
            }
            self.attrs
                .append(true)
                .expect("keys and values were appended in pairs");
        }

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

    /// Takes the rows appended so far as a `RecordBatch` and starts over.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.ingest_time.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.format.finish()),
            Arc::new(self.class.finish()),
            Arc::new(self.activity.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.severity.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.src_ip.finish()),
            Arc::new(self.src_port.finish()),
            Arc::new(self.dst_ip.finish()),
            Arc::new(self.dst_port.finish()),
            Arc::new(self.http_method.finish()),
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
            Arc::new(self.raw.finish()),
            Arc::new(self.attrs.finish()),
            Arc::new(self.flags.finish()),
        ];
        let batch = RecordBatch::try_new(schema::schema(), columns)?;
        // The next batch is likely shaped like this one: size every buffer for it up front, so
        // appending never regrows (and copies) a buffer.
        *self = EventBatchBuilder::presized_like(&batch);
        Ok(batch)
    }

    /// A builder whose buffers can hold a batch like `batch` without growing.
    fn presized_like(batch: &RecordBatch) -> EventBatchBuilder {
        let rows = batch.num_rows();
        let value_bytes = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|column| column.as_string_opt::<i32>())
                .map_or(0, |strings| strings.value_data().len())
        };
        let text = |name: &str| StringBuilder::with_capacity(rows, value_bytes(name));
        let dictionary = || StringDictionaryBuilder::with_capacity(rows, 64, 1024);
        let (attr_entries, attr_key_bytes, attr_value_bytes) = batch
            .column_by_name(schema::ATTRS)
            .and_then(|column| column.as_map_opt())
            .map_or((0, 0, 0), |map| {
                let bytes = |array: &ArrayRef| {
                    array
                        .as_string_opt::<i32>()
                        .map_or(0, |strings| strings.value_data().len())
                };
                (map.keys().len(), bytes(map.keys()), bytes(map.values()))
            });
        EventBatchBuilder {
            time: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ingest_time: TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            event_id: text(schema::EVENT_ID),
            service: dictionary(),
            host: dictionary(),
            format: dictionary(),
            class: dictionary(),
            activity: dictionary(),
            outcome: dictionary(),
            severity: Int32Builder::with_capacity(rows),
            user: text(schema::USER),
            src_ip: text(schema::SRC_IP),
            src_port: Int32Builder::with_capacity(rows),
            dst_ip: text(schema::DST_IP),
            dst_port: Int32Builder::with_capacity(rows),
            http_method: dictionary(),
            url: text(schema::URL),
            http_status: Int32Builder::with_capacity(rows),
            user_agent: text(schema::USER_AGENT),
            process: text(schema::PROCESS),
            command_line: text(schema::COMMAND_LINE),
            resource: text(schema::RESOURCE),
            trace_id: text(schema::TRACE_ID),
            span_id: text(schema::SPAN_ID),
            request_id: text(schema::REQUEST_ID),
            session_id: text(schema::SESSION_ID),
            message: text(schema::MESSAGE),
            raw: text(schema::RAW),
            attrs: MapBuilder::with_capacity(
                None,
                StringBuilder::with_capacity(attr_entries, attr_key_bytes),
                StringBuilder::with_capacity(attr_entries, attr_value_bytes),
                rows,
            ),
            flags: ListBuilder::with_capacity(StringBuilder::new(), rows),
            rows: 0,
            bytes: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
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
