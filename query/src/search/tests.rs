use std::borrow::Cow;
use std::path::Path;

use weft_ingest::batch::RecordMeta;
use weft_ingest::event::Event;
use weft_ingest::store::{EventStore, FlushPolicy};

use super::*;

const MINUTE: i64 = 60_000_000;
/// 2026-11-23T00:00:00Z.
const DAY_START: i64 = 1_795_392_000_000_000;

/// `count` events in segments of at most `max_rows`: event `n` at `minute(n)` minutes, by
/// alice when `alice(n)`, else bob.
fn write_store(
    data_dir: &Path,
    count: u64,
    max_rows: usize,
    minute: impl Fn(u64) -> i64,
    alice: impl Fn(u64) -> bool,
) {
    let policy = FlushPolicy {
        max_rows,
        ..FlushPolicy::default()
    };
    let mut store = EventStore::open(data_dir, policy).expect("store");
    for offset in 0..count {
        let mut event = Event::new("json");
        event.time = Some(DAY_START + minute(offset) * MINUTE);
        let user = if alice(offset) { "alice" } else { "bob" };
        event.user = Some(Cow::Borrowed(user));
        event.message = Some(Cow::Owned(format!("failed password attempt {offset}")));
        let id = format!("event-{offset}");
        let raw = format!("{{\"n\":{offset}}}");
        store
            .append(
                &event,
                &RecordMeta {
                    ingest_time: DAY_START,
                    event_id: &id,
                    service: "gateway",
                    raw: &raw,
                    not_utf8: false,
                },
                "test",
                offset,
            )
            .expect("append");
    }
    store.flush().expect("flush");
}

/// 20 events, three segments per hour of at most 3 rows; several share a time, so the
/// order across segments rests on the tie-break. Times 0, 0, 1, 1, 2, 2, ... minutes.
fn store(data_dir: &Path) {
    write_store(data_dir, 20, 3, |n| n as i64 / 2, |n| n % 2 == 0);
}

fn ids(page: &EventPage) -> Vec<String> {
    page.events
        .iter()
        .map(|event| event["event_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn all_pages(search: &EventSearch, params: SearchParams) -> (Vec<String>, Vec<u64>) {
    let mut params = params;
    let mut seen = Vec::new();
    let mut totals = Vec::new();
    loop {
        let page = search.search(&params).expect("search");
        seen.extend(ids(&page));
        totals.push(page.total);
        let Some(cursor) = page.cursor else { break };
        params.cursor = Some(Cursor::decode(&cursor).expect("our own cursor"));
        assert!(totals.len() < 500, "pages end");
    }
    (seen, totals)
}

#[test]
fn pages_over_many_segments_return_every_match_once_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    store(dir.path());
    let search = EventSearch::new(dir.path());
    let one_page = search
        .search(&SearchParams {
            query: "failed".to_string(),
            limit: 100,
            ..SearchParams::default()
        })
        .expect("search");
    assert_eq!(one_page.total, 20);
    assert_eq!(one_page.cursor, None, "everything fits one page");
    let times: Vec<&str> = one_page
        .events
        .iter()
        .map(|event| event["time"].as_str().unwrap_or_default())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert!(
        one_page
            .events
            .iter()
            .all(|event| event.get("raw").is_none())
    );

    for limit in [1, 3, 7] {
        let (seen, totals) = all_pages(
            &search,
            SearchParams {
                query: "failed".to_string(),
                limit,
                ..SearchParams::default()
            },
        );
        assert_eq!(
            seen,
            ids(&one_page),
            "pages of {limit} concatenate to one page"
        );
        assert!(totals.iter().all(|&total| total == 20));
    }
}

#[test]
fn fields_and_time_ranges_narrow_the_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    store(dir.path());
    let search = EventSearch::new(dir.path());
    let page = search
        .search(&SearchParams {
            query: "user:alice AND message:\"failed password\"".to_string(),
            from: Some(DAY_START + 2 * MINUTE),
            to: Some(DAY_START + 5 * MINUTE),
            limit: 10,
            cursor: None,
        })
        .expect("search");
    assert_eq!(ids(&page), ["event-8", "event-6", "event-4"]);
    assert_eq!(page.total, 3);
    assert_eq!(page.events[0]["user"], "alice");
    assert_eq!(page.events[0]["service"], "gateway");
    assert_eq!(page.events[0]["time"], "2026-11-23T00:04:00.000000Z");
}

#[test]
fn bad_requests_are_the_callers_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let search = EventSearch::new(dir.path());
    let params = |query: &str, from, to, limit| SearchParams {
        query: query.to_string(),
        from,
        to,
        limit,
        cursor: None,
    };
    assert!(matches!(
        search.search(&params("user:(alice", None, None, 10)),
        Err(SearchError::Query(_))
    ));
    assert!(matches!(
        search.search(&params("nosuchfield:x", None, None, 10)),
        Err(SearchError::Query(_))
    ));
    assert!(matches!(
        search.search(&params("", Some(5), Some(5), 10)),
        Err(SearchError::Request(_))
    ));
    assert!(matches!(
        search.search(&params("", None, None, MAX_LIMIT + 1)),
        Err(SearchError::Request(_))
    ));
    assert!(matches!(
        search.search(&params(&"a".repeat(MAX_QUERY_BYTES + 1), None, None, 10)),
        Err(SearchError::Request(_))
    ));
    let empty = search
        .search(&params("", None, None, 10))
        .expect("an empty store answers");
    assert_eq!((empty.total, empty.cursor), (0, None));
    let histogram = search
        .histogram("", None, None, None)
        .expect("an empty store answers");
    assert!(histogram.buckets.is_empty());
    assert!(matches!(
        search.histogram("", None, None, Some(0)),
        Err(SearchError::Request(_))
    ));
}

#[test]
fn the_histogram_counts_matches_per_bucket() {
    let dir = tempfile::tempdir().expect("tempdir");
    store(dir.path());
    let search = EventSearch::new(dir.path());
    let histogram = search
        .histogram(
            "user:alice",
            Some(DAY_START),
            Some(DAY_START + 10 * MINUTE),
            Some(2 * MINUTE),
        )
        .expect("histogram");
    assert_eq!(histogram.interval, "2m");
    let counts: Vec<u64> = histogram
        .buckets
        .iter()
        .map(|bucket| bucket.count)
        .collect();
    assert_eq!(counts, [2, 2, 2, 2, 2]);
    assert_eq!(histogram.total, 10);
    assert_eq!(histogram.buckets[1].start, "2026-11-23T00:02:00.000000Z");

    let whole = search.histogram("", None, None, None).expect("histogram");
    assert_eq!(whole.total, 20, "without a range: every stored event");
    assert_eq!(whole.interval, "5s");
}

#[test]
fn one_event_by_id_with_its_raw_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    store(dir.path());
    let search = EventSearch::new(dir.path());
    let event = search
        .event("event-13")
        .expect("lookup")
        .expect("the event exists");
    assert_eq!(event["raw"], "{\"n\":13}");
    assert_eq!(event["user"], "bob");
    assert_eq!(event["message"], "failed password attempt 13");
    assert_eq!(search.event("event-99").expect("lookup"), None);
    assert_eq!(
        search
            .event("EVENT-13")
            .expect("lookup")
            .map(|event| event["raw"].clone()),
        Some("{\"n\":13}".into()),
        "ids match in any case, as every keyword does"
    );
}

/// 30 events at three times only (ten each), in segments of at most 4 rows: equal times run
/// across segment boundaries, and several segments end at the same time.
fn tied_store(data_dir: &Path) {
    write_store(data_dir, 30, 4, |n| n as i64 / 10, |n| n % 3 == 0);
}

#[test]
fn pages_stop_early_without_losing_rows_at_equal_times_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    tied_store(dir.path());
    let cases = [
        ("", None, None),
        ("user:alice", None, None),
        ("failed", Some(DAY_START), Some(DAY_START + 3 * MINUTE)),
        // Ranges that cut segments: the time clause applies inside them.
        ("failed", Some(DAY_START + 1), Some(DAY_START + 2 * MINUTE)),
        (
            "user:bob",
            Some(DAY_START + MINUTE),
            Some(DAY_START + MINUTE + 1),
        ),
        (
            "user:alice",
            Some(DAY_START - MINUTE),
            Some(DAY_START + 2 * MINUTE + 1),
        ),
    ];
    for (query, from, to) in cases {
        let params = SearchParams {
            query: query.to_string(),
            from,
            to,
            limit: MAX_LIMIT,
            cursor: None,
        };
        // A fresh search, whose page never fills: every segment collects, nothing is skipped.
        let everything = EventSearch::new(dir.path())
            .search(&params)
            .expect("search");
        assert!(!everything.events.is_empty(), "{query}: matches something");
        assert_eq!(everything.total, everything.events.len() as u64);
        let search = EventSearch::new(dir.path());
        for limit in [1, 2, 3, 4, 5, 9, 10, 11] {
            let (seen, totals) = all_pages(
                &search,
                SearchParams {
                    limit,
                    ..params.clone()
                },
            );
            assert_eq!(
                seen,
                ids(&everything),
                "{query} {from:?}..{to:?}: pages of {limit} concatenate to one page"
            );
            assert!(
                totals.iter().all(|&total| total == everything.total),
                "{query}: every page has the total, counted or remembered: {totals:?}"
            );
        }
    }
}

fn position(time: i64, segment: &str, row: u64) -> Position {
    Position {
        time,
        segment: segment.to_string(),
        row,
    }
}

fn entry(segment: &str, min_time: i64, max_time: i64) -> SegmentEntry {
    SegmentEntry {
        segment: segment.to_string(),
        path: String::new(),
        rows: 1,
        bytes: 0,
        min_time,
        max_time,
        created: 0,
        schema_version: String::new(),
        sources: Vec::new(),
        checkpoint: None,
    }
}

#[test]
fn a_segment_is_only_counted_when_none_of_its_rows_can_be_on_the_page() {
    let page = [position(50, "b", 3), position(40, "b", 2)];
    // Not full yet: every segment may add rows.
    assert!(may_place(&entry("a", 0, 10), &page, 3, None));
    // Full of rows newer than everything in the segment.
    assert!(!may_place(&entry("a", 0, 39), &page, 2, None));
    // A row at the page's oldest time may still sort above it (the segment id breaks ties).
    assert!(may_place(&entry("c", 0, 40), &page, 2, None));
    assert!(!may_place(&entry("a", 0, 40), &page, 2, None));
    // Its rows were all returned before the cursor.
    let cursor = position(30, "b", 5);
    assert!(!may_place(&entry("c", 31, 60), &[], 2, Some(&cursor)));
    assert!(!may_place(&entry("c", 30, 60), &[], 2, Some(&cursor)));
    assert!(may_place(&entry("a", 30, 60), &[], 2, Some(&cursor)));
    assert!(may_place(&entry("b", 30, 60), &[], 2, Some(&cursor)));
}

/// 1,200 events a second apart in one segment: every 7th of the first 1,100 says "failed
/// password", the others hold both words in another order, as do the newest 100, so the
/// newest rows holding the words are not matches and the phrase check has to widen.
fn phrase_store(data_dir: &Path) -> Vec<u64> {
    let mut store = EventStore::open(data_dir, FlushPolicy::default()).expect("store");
    let mut phrases = Vec::new();
    for offset in 0..1_200u64 {
        let mut event = Event::new("json");
        event.time = Some(DAY_START + offset as i64 * 1_000_000);
        event.user = Some(Cow::Borrowed("alice"));
        let message = if offset < 1_100 && offset % 7 == 0 {
            phrases.push(offset);
            "failed password for alice"
        } else if offset < 1_100 {
            "password was not failed"
        } else {
            "password failed twice"
        };
        event.message = Some(Cow::Borrowed(message));
        let id = format!("event-{offset}");
        store
            .append(
                &event,
                &RecordMeta {
                    ingest_time: DAY_START,
                    event_id: &id,
                    service: "gateway",
                    raw: "{}",
                    not_utf8: false,
                },
                "test",
                offset,
            )
            .expect("append");
    }
    store.flush().expect("flush");
    phrases.reverse();
    phrases
}

#[test]
fn phrases_are_checked_on_the_newest_rows_with_their_words_first_and_widen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let phrases = phrase_store(dir.path());
    let expected = |offsets: &mut dyn Iterator<Item = u64>| -> Vec<String> {
        offsets.map(|offset| format!("event-{offset}")).collect()
    };
    let search = EventSearch::new(dir.path());
    for limit in [1, 10, 25, 100] {
        let (seen, totals) = all_pages(
            &search,
            SearchParams {
                query: "message:\"failed password\"".to_string(),
                limit,
                ..SearchParams::default()
            },
        );
        assert_eq!(
            seen,
            expected(&mut phrases.iter().copied()),
            "pages of {limit}"
        );
        assert!(totals.iter().all(|&total| total == 158), "{totals:?}");
    }
    // A negated phrase stays a phrase: rows with the words in another order still match.
    let (seen, totals) = all_pages(
        &search,
        SearchParams {
            query: "password AND NOT message:\"failed password\"".to_string(),
            limit: 100,
            ..SearchParams::default()
        },
    );
    let others = (0..1_200u64)
        .rev()
        .filter(|offset| !phrases.contains(offset));
    assert_eq!(seen, expected(&mut others.into_iter()));
    assert!(totals.iter().all(|&total| total == 1_042));
    // A phrase beside a word, within a range that cuts the segment.
    let page = search
        .search(&SearchParams {
            query: "alice AND message:\"failed password\"".to_string(),
            from: Some(DAY_START + 100 * 1_000_000),
            to: Some(DAY_START + 1_150 * 1_000_000),
            limit: 5,
            ..SearchParams::default()
        })
        .expect("search");
    assert_eq!(ids(&page), expected(&mut phrases.iter().copied().take(5)));
    assert_eq!(page.total, 158 - 15);
}
