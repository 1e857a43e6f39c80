//! The whole per-record path of ingest, over arbitrary bytes: parse, then append every event to
//! an Arrow batch and finish it.
//!
//! Input: one selector byte, then the data. The selector's low seven bits pick a registered
//! format (modulo the number of formats); with its high bit clear the data is one record, with
//! it set the data is a source whose lines are records, all read by one parser (as Zeek's
//! `#fields` header governs the lines after it). Every record goes to the chosen format's
//! parser and to `auto`. Nothing may panic, a failed parse pushes nothing, and the finished
//! batch holds one valid row per event.

#![no_main]

use arrow_array::Array;
use libfuzzer_sys::fuzz_target;
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::event::Event;
use weft_ingest::parse::{self, FORMATS, ParseContext, Parser, ParserOptions};
use weft_ingest::{id, schema};

/// 2025-06-15T15:06:40Z, the time year-less timestamps are resolved against.
const REFERENCE_TIME: i64 = 1_750_000_000_000_000;
/// When the fuzzed records are "received".
const INGEST_TIME: i64 = 1_750_000_100_000_000;
const ORIGIN: &str = "fuzz:parse_any_format";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let spec = &FORMATS[usize::from(selector & 0x7f) % FORMATS.len()];
    let options = ParserOptions::default();
    let mut chosen = parse::build(spec.name, &options).expect("every registered format builds");
    let mut auto = parse::build("auto", &options).expect("auto is always available");
    let mut builder = EventBatchBuilder::new();
    let mut rows = 0;
    if selector & 0x80 == 0 {
        rows += ingest(&mut *chosen, &mut builder, 0, rest);
        rows += ingest(&mut *auto, &mut builder, 0, rest);
    } else {
        let mut offset = 0u64;
        for line in rest.split(|&byte| byte == b'\n') {
            let record = line.strip_suffix(b"\r").unwrap_or(line);
            if !record.iter().all(u8::is_ascii_whitespace) {
                rows += ingest(&mut *chosen, &mut builder, offset, record);
                rows += ingest(&mut *auto, &mut builder, offset, record);
            }
            offset += line.len() as u64 + 1;
        }
    }
    assert_eq!(builder.len(), rows);
    let batch = builder.finish().expect("events always make a valid batch");
    assert_eq!(batch.num_rows(), rows);
    assert_eq!(batch.schema().fields(), schema::schema().fields());
    for (column, field) in batch.columns().iter().zip(batch.schema().fields()) {
        if let Err(error) = column.to_data().validate_full() {
            panic!("column {} is invalid: {error}", field.name());
        }
    }
    assert!(builder.is_empty(), "finish starts a new batch");
    let empty = builder.finish().expect("an empty batch is valid");
    assert_eq!(empty.num_rows(), 0);
});

/// What the pipeline does with one record: parse it and append its events. Returns the rows
/// appended.
fn ingest(
    parser: &mut dyn Parser,
    builder: &mut EventBatchBuilder,
    offset: u64,
    bytes: &[u8],
) -> usize {
    let context = ParseContext {
        reference_time: REFERENCE_TIME,
    };
    let (text, not_utf8) = match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    };
    let mut events: Vec<Event<'_>> = Vec::new();
    if parser.parse(&text, &context, &mut events).is_err() {
        assert!(events.is_empty(), "a failed parse pushed events");
        return 0;
    }
    for (index, event) in events.iter().enumerate() {
        let event_id = id::event_id(ORIGIN, offset, index as u32);
        let meta = RecordMeta {
            ingest_time: INGEST_TIME,
            event_id: &event_id,
            service: event.service.as_deref().unwrap_or("fuzz"),
            raw: &text,
            not_utf8,
        };
        builder.append(event, &meta);
    }
    events.len()
}
