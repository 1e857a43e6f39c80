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

/// A segment large enough to be indexed by two threads: every row is found once, by word, by
/// phrase and by its event id, with the same row numbers and order as a one-thread index.
#[test]
fn a_large_segment_indexed_by_two_threads_finds_every_row_once() {
    let rows = super::writer::PARALLEL_ROWS + 1_000;
    let mut builder = EventBatchBuilder::new();
    for row in 0..rows {
        let mut event = Event::new("json");
        event.time = Some(HOUR + row as i64 * 1_000);
        let message = format!("request {} from tenant-{}", row, row % 7);
        event.message = Some(Cow::Owned(message.clone()));
        let id = format!("event-{row}");
        builder.append(
            &event,
            &RecordMeta {
                ingest_time: HOUR,
                event_id: &id,
                service: "gateway",
                raw: &message,
                not_utf8: false,
            },
        );
    }
    let batch = builder.finish().expect("valid batch");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("segment.parquet.idx");
    assert_eq!(write_index(&batch, &path).expect("index builds").rows, rows);
    let index = SegmentIndex::open(&path).expect("index opens");
    assert!(
        index.reader().searcher().segment_readers().len() >= 2,
        "two threads, an index segment each"
    );
    assert_eq!(index.num_rows(), rows as u64);

    let mut seen = vec![false; rows];
    let mut after = None;
    loop {
        let page = index
            .search(&SearchRequest {
                query: "request".to_string(),
                limit: 5_000,
                after,
                ..SearchRequest::default()
            })
            .expect("query runs");
        assert_eq!(page.total, rows, "every row holds the word");
        let Some(last) = page.hits.last() else { break };
        for pair in page.hits.windows(2) {
            assert!(pair[0].row > pair[1].row, "newest first: {pair:?}");
        }
        for hit in &page.hits {
            let row = usize::try_from(hit.row).expect("row fits");
            assert!(!seen[row], "row {row} found twice");
            assert_eq!(hit.time, HOUR + row as i64 * 1_000, "row {row}'s time");
            seen[row] = true;
        }
        after = Some((last.time, last.row));
    }
    assert!(seen.iter().all(|seen| *seen), "every row found");

    let tenant: Vec<u64> = (0..rows as u64).filter(|row| row % 7 == 3).collect();
    let found = index
        .search(&SearchRequest {
            query: "\"from tenant 3\"".to_string(),
            limit: rows,
            ..SearchRequest::default()
        })
        .expect("phrase runs");
    let mut found: Vec<u64> = found.hits.iter().map(|hit| hit.row).collect();
    found.sort_unstable();
    assert_eq!(found, tenant);
    for row in [0, rows / 2, rows - 1] {
        let hit = index
            .find_event(&format!("event-{row}"))
            .expect("lookup runs")
            .expect("found");
        assert_eq!(hit.row, row as u64);
    }
}
