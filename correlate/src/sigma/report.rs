//! What `weft rules check` and `weft rules test` print: the library side of those commands
//! (the binary wires arguments and output). `check` reports each document's verdict and
//! totals; `test` reads event files (JSON lines, JSON objects back to back, or a JSON array),
//! normalizes them with an ingest parser and reports every (event, rule) match.

use arrow_array::RecordBatch;
use serde::Serialize;
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::frame::frame_all;
use weft_ingest::id::event_id;
use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::schema;

use super::columns::ColumnReader;
use super::error::MatchError;
use super::loader::{CheckTotals, RuleCheck, RuleSet};
use super::matcher::SigmaMatcher;

/// Largest record read from an event file.
const MAX_RECORD: usize = 16 * 1024 * 1024;

/// Errors of reading an event file for `rules test`.
#[derive(Debug, thiserror::Error)]
pub enum EventFileError {
    #[error("unknown format `{0}`: see `weft formats`")]
    Format(String),
    #[error("cannot read {origin}: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin}: event {index}: {reason}")]
    Record {
        origin: String,
        index: usize,
        reason: String,
    },
    #[error("{origin}: cannot build the event batch: {reason}")]
    Batch { origin: String, reason: String },
}

/// The `--json` lines of `weft rules check`: one per document, then the totals.
pub fn check_json_lines(set: &RuleSet) -> Vec<String> {
    #[derive(Serialize)]
    struct Totals<'a> {
        totals: &'a CheckTotals,
    }
    let mut lines: Vec<String> = set
        .checks
        .iter()
        .map(|check: &RuleCheck| serde_json::to_string(check).unwrap_or_default())
        .collect();
    lines.push(
        serde_json::to_string(&Totals {
            totals: &set.totals(),
        })
        .unwrap_or_default(),
    );
    lines
}

/// Whether a file of events holds JSON: it starts with an object, or with an array whose first
/// element is JSON (`[{`, `[[`, `[]`, ...). A line such as Apache's error log
/// (`[Fri Nov 20 10:00:01.123456 2026] [core:notice] ...`) also starts with `[`, but not with a
/// JSON value inside it.
fn starts_with_json(bytes: &[u8]) -> bool {
    let mut significant = bytes.iter().filter(|byte| !byte.is_ascii_whitespace());
    match significant.next() {
        Some(b'{') => true,
        Some(b'[') => matches!(
            significant.next(),
            Some(b'{' | b'[' | b']' | b'"' | b'-' | b'0'..=b'9')
        ),
        _ => false,
    }
}

/// Reads the events of one file as `format` (`auto` detects per record) into a batch; its
/// events are numbered in input order. A record that the parser rejects is an error here:
/// `rules test` is about exact event positions.
pub fn read_event_file(
    origin: &str,
    bytes: &[u8],
    format: &str,
) -> Result<RecordBatch, EventFileError> {
    let mut parser = parse::build(format, &ParserOptions::default())
        .ok_or_else(|| EventFileError::Format(format.to_string()))?;
    let mut records: Vec<(u64, String)> = Vec::new();
    if starts_with_json(bytes) {
        // JSON: objects one per line, back to back, or in arrays.
        let mut stream =
            serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>();
        loop {
            let offset = stream.byte_offset() as u64;
            let Some(value) = stream.next() else { break };
            let value = value.map_err(|error| EventFileError::Record {
                origin: origin.to_string(),
                index: records.len(),
                reason: format!("invalid JSON: {error}"),
            })?;
            match value {
                serde_json::Value::Array(items) => {
                    records.extend(items.iter().map(|item| (offset, item.to_string())));
                }
                other => records.push((offset, other.to_string())),
            }
        }
    } else {
        let frames = frame_all(bytes, MAX_RECORD).map_err(|source| EventFileError::Read {
            origin: origin.to_string(),
            source,
        })?;
        for (position, record, _) in frames {
            records.push((
                position.offset,
                String::from_utf8_lossy(&record).into_owned(),
            ));
        }
    }
    let context = ParseContext { reference_time: 0 };
    let mut builder = EventBatchBuilder::new();
    for (index, (offset, record)) in records.iter().enumerate() {
        let mut events = Vec::new();
        parser
            .parse(record, &context, &mut events)
            .map_err(|error| EventFileError::Record {
                origin: origin.to_string(),
                index,
                reason: error.to_string(),
            })?;
        for (part, event) in events.iter().enumerate() {
            let id = event_id(
                origin,
                *offset + index as u64,
                u32::try_from(part).unwrap_or(u32::MAX),
            );
            // As `weft ingest` attributes it: the service the record names, else the file.
            let meta = RecordMeta {
                ingest_time: 0,
                event_id: &id,
                service: event.service.as_deref().unwrap_or(origin),
                raw: record,
                not_utf8: false,
            };
            builder.append(event, &meta);
        }
    }
    builder.finish().map_err(|error| EventFileError::Batch {
        origin: origin.to_string(),
        reason: error.to_string(),
    })
}

/// One line of `weft rules test --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchRecord {
    pub rule_id: Option<String>,
    pub rule_title: String,
    pub level: Option<&'static str>,
    /// 0-based position of the event in the input.
    pub event_index: usize,
    pub event_id: Option<String>,
}

/// Every match of the batch as report records, by event then rule.
pub fn match_records(
    matcher: &SigmaMatcher,
    batch: &RecordBatch,
) -> Result<Vec<MatchRecord>, MatchError> {
    let ids = ColumnReader::new(batch, schema::EVENT_ID)?;
    Ok(matcher
        .match_batch(batch)?
        .into_iter()
        .map(|found| {
            let meta = &matcher.rules()[found.rule].meta;
            MatchRecord {
                rule_id: meta.id.clone(),
                rule_title: meta.title.clone(),
                level: meta.level.map(|level| level.as_str()),
                event_index: found.row,
                event_id: ids.text(found.row).map(|id| id.into_owned()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::{FieldMapping, Placeholders, load_texts};

    const RULE: &str = "title: Curl to a raw address\nid: 5b6f6e1a-0000-4000-8000-000000000003\nlevel: high\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        c-useragent|startswith: 'curl/'\n    condition: sel\n";

    #[test]
    fn reads_lines_concatenated_objects_and_arrays_alike() {
        let set = load_texts(&[(None, RULE.to_string())], &Placeholders::default());
        let matcher = SigmaMatcher::new(set.rules, &FieldMapping::default());
        let lines = "{\"status\": 200, \"user_agent\": \"Mozilla/5.0\"}\n{\"status\": 200, \"user_agent\": \"curl/8.1\"}\n";
        let concatenated = "{\"status\": 200, \"user_agent\": \"Mozilla/5.0\"} {\"status\": 200,\n \"user_agent\": \"curl/8.1\"}";
        let array = "[{\"status\": 200, \"user_agent\": \"Mozilla/5.0\"}, {\"status\": 200, \"user_agent\": \"curl/8.1\"}]";
        for input in [lines, concatenated, array] {
            let batch = read_event_file("events.json", input.as_bytes(), "json").expect("readable");
            assert_eq!(batch.num_rows(), 2, "{input}");
            let records = match_records(&matcher, &batch).expect("schema v1");
            assert_eq!(records.len(), 1, "{input}");
            assert_eq!(records[0].event_index, 1);
            assert_eq!(records[0].level, Some("high"));
            assert_eq!(records[0].rule_title, "Curl to a raw address");
            assert!(records[0].event_id.is_some());
        }
        assert!(matches!(
            read_event_file("x", b"{}", "nope"),
            Err(EventFileError::Format(_))
        ));
    }

    #[test]
    fn reads_apache_error_lines_as_lines_not_json() {
        let lines = "[Fri Nov 20 10:00:01.123456 2026] [core:notice] [pid 1021:tid 140201] AH00052: child pid 4242 exit signal Segmentation fault (11)\n[Fri Nov 20 10:00:02 2026] [error] [client 127.0.0.1] client denied by server configuration: /srv\n";
        let batch = read_event_file("error.log", lines.as_bytes(), "apache_error")
            .expect("apache error lines");
        assert_eq!(batch.num_rows(), 2);
        assert!(starts_with_json(b" [\n  {\"a\": 1}]"));
        assert!(starts_with_json(b"[]"));
        assert!(!starts_with_json(b"[Fri Nov 20 10:00:01 2026] [error] x"));
    }

    #[test]
    fn check_lines_end_with_totals() {
        let set = load_texts(
            &[
                (None, RULE.to_string()),
                (None, "title: broken\n".to_string()),
            ],
            &Placeholders::default(),
        );
        let lines = check_json_lines(&set);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("\"status\":\"refused\""), "{}", lines[0]);
        assert!(lines[1].contains("\"status\":\"loaded\""), "{}", lines[1]);
        assert_eq!(lines[2], "{\"totals\":{\"loaded\":1,\"refused\":1}}");
    }
}
