use std::borrow::Cow;

use super::*;
use crate::batch::{EventBatchBuilder, RecordMeta};
use crate::event::{Class, Event, Outcome};

const HOUR: i64 = 3_600_000_000;

/// Events of a few services, one per minute from `HOUR`, each a little different.
fn batch() -> arrow_array::RecordBatch {
    let mut builder = EventBatchBuilder::new();
    for minute in 0..12i64 {
        let mut event = Event::new("json");
        event.time = Some(HOUR + minute * 60_000_000);
        let (user, message, status) = match minute % 4 {
            0 => ("alice", "Failed password for alice", 401),
            1 => ("Bob", "Accepted publickey for bob", 200),
            2 => ("carol", "GET /admin returned an error", 503),
            _ => ("alice", "session opened", 200),
        };
        event.user = Some(Cow::Borrowed(user));
        event.message = Some(Cow::Borrowed(message));
        event.http_status = Some(status);
        event.class = if minute % 2 == 0 {
            Class::Authentication
        } else {
            Class::HttpActivity
        };
        event.outcome = Some(if status >= 400 {
            Outcome::Failure
        } else {
            Outcome::Success
        });
        event.src_ip = Some(Cow::Owned(format!("10.0.0.{}", minute % 3)));
        if minute == 7 {
            event.attrs = vec![
                (Cow::Borrowed("userIdentity.type"), Cow::Borrowed("Root")),
                (
                    Cow::Borrowed("requestParameters.bucketName"),
                    Cow::Borrowed("billing-exports"),
                ),
            ];
        }
        let raw = if minute == 7 {
            r#"{"note":"record 7","userIdentity":{"type":"Root"},"requestParameters":{"bucketName":"billing-exports"}}"#.to_string()
        } else {
            format!("record {minute} of the test")
        };
        let id = format!("event-{minute}");
        builder.append(
            &event,
            &RecordMeta {
                ingest_time: HOUR,
                event_id: &id,
                service: if minute < 6 { "gateway" } else { "auth" },
                raw: &raw,
                not_utf8: false,
            },
        );
    }
    builder.finish().expect("valid batch")
}

fn index() -> (tempfile::TempDir, SegmentIndex) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("segment.parquet.idx");
    let stats = write_index(&batch(), &path).expect("index builds");
    assert_eq!(stats.rows, 12);
    assert!(stats.bytes > 0);
    assert!(
        !crate::index::writer::temp_path(&path).exists(),
        "the temporary build directory is gone once published"
    );
    let index = SegmentIndex::open(&path).expect("index opens");
    (dir, index)
}

fn rows(index: &SegmentIndex, query: &str) -> Vec<u64> {
    let request = SearchRequest {
        query: query.to_string(),
        limit: 100,
        ..SearchRequest::default()
    };
    let found = index.search(&request).expect("query runs");
    assert_eq!(
        found.total,
        found.hits.len(),
        "{query}: all hits fit one page"
    );
    found.hits.iter().map(|hit| hit.row).collect()
}

#[test]
fn fields_words_phrases_and_ranges() {
    let (_dir, index) = index();
    assert_eq!(
        rows(&index, "user:alice"),
        [11, 8, 7, 4, 3, 0],
        "newest first"
    );
    assert_eq!(
        rows(&index, "user:BOB"),
        [9, 5, 1],
        "whole values match in any case"
    );
    assert_eq!(rows(&index, "\"failed password\""), [8, 4, 0]);
    assert_eq!(
        rows(&index, "failed alice"),
        [8, 4, 0],
        "words must all match"
    );
    assert!(
        rows(&index, "\"password failed\"").is_empty(),
        "phrases keep word order"
    );
    assert_eq!(rows(&index, "http_status:[500 TO 599]"), [10, 6, 2]);
    assert_eq!(
        rows(&index, "service:auth AND class:authentication"),
        [10, 8, 6]
    );
    assert_eq!(rows(&index, "src_ip:10.0.0.2"), [11, 8, 5, 2]);
    assert_eq!(
        rows(&index, "src_ip:10.0.0.2 AND NOT user:carol"),
        [11, 8, 5]
    );
    assert_eq!(rows(&index, "src_ip:10.0.0.2 -user:carol"), [11, 8, 5]);
    assert_eq!(
        rows(
            &index,
            "user:alice AND NOT (class:authentication OR src_ip:10.0.0.0)"
        ),
        [11, 7]
    );
    assert_eq!(rows(&index, "outcome:failure"), [10, 8, 6, 4, 2, 0]);
    assert!(
        index
            .search(&SearchRequest {
                query: "attrs.userIdentity.type:root".to_string(),
                limit: 10,
                ..SearchRequest::default()
            })
            .is_err(),
        "attrs is not indexed (SQL answers questions about one original field)"
    );
    assert_eq!(
        rows(&index, "billing"),
        [7],
        "attribute values are searched in raw"
    );
    assert_eq!(rows(&index, "event_id:event-3"), [3]);
    assert_eq!(
        rows(&index, "record"),
        (0..12).rev().collect::<Vec<_>>(),
        "raw is searched"
    );
    assert_eq!(
        rows(&index, "").len(),
        12,
        "an empty query matches every row"
    );
}

#[test]
fn time_ranges_and_pages() {
    let (_dir, index) = index();
    let minute = 60_000_000;
    let request = SearchRequest {
        from: Some(HOUR + 2 * minute),
        to: Some(HOUR + 5 * minute),
        limit: 100,
        ..SearchRequest::default()
    };
    let found = index.search(&request).expect("query runs");
    let rows: Vec<u64> = found.hits.iter().map(|hit| hit.row).collect();
    assert_eq!(rows, [4, 3, 2], "from inclusive, to exclusive");

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = index
            .search(&SearchRequest {
                query: "record".to_string(),
                limit: 5,
                after,
                ..SearchRequest::default()
            })
            .expect("query runs");
        assert_eq!(page.total, 12, "the total is the same on every page");
        let Some(last) = page.hits.last() else { break };
        after = Some((last.time, last.row));
        pages.push(page.hits.iter().map(|hit| hit.row).collect::<Vec<_>>());
    }
    assert_eq!(
        pages,
        [vec![11, 10, 9, 8, 7], vec![6, 5, 4, 3, 2], vec![1, 0]]
    );
}

#[test]
fn invalid_queries_are_reported_not_run() {
    let (_dir, index) = index();
    for query in ["user:(alice", "http_status:[500 TO", "nosuchfield:x"] {
        let error = index
            .search(&SearchRequest {
                query: query.to_string(),
                limit: 10,
                ..SearchRequest::default()
            })
            .expect_err(query);
        assert!(matches!(error, SearchError::Query(_)), "{query}: {error}");
    }
}

#[test]
fn an_existing_path_is_not_overwritten_half_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("segment.parquet.idx");
    write_index(&batch(), &path).expect("first build");
    assert!(
        write_index(&batch(), &path).is_err(),
        "a published index is never replaced"
    );
    assert!(SegmentIndex::open(&path).is_ok(), "and stays readable");
}
