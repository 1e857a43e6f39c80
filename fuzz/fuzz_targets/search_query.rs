//! The event search's query entry point, over arbitrary query text: the syntax check the API
//! runs before searching, then the search itself over a small segment index (every page of
//! it, and a histogram). Nothing may panic, a query the check accepts never fails for its
//! syntax, and no query takes unbounded time or memory (libFuzzer's -timeout and -rss_limit_mb
//! report one that does).

#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::event::{Class, Event};
use weft_ingest::index::{
    SearchError, SearchRequest, SegmentIndex, TimeBuckets, check_query, write_index,
};

const HOUR: i64 = 1_750_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let checked = check_query(query);
    let index = index();
    let mut request = SearchRequest {
        query: query.to_string(),
        limit: 7,
        ..SearchRequest::default()
    };
    match index.search(&request) {
        Ok(page) => {
            assert!(
                checked.is_ok(),
                "searched a query the check refused: {query:?}"
            );
            assert!(page.hits.len() <= page.total && page.hits.len() <= 7);
            // The next pages, as a client pages through them.
            let mut pages = 0;
            let mut last = page.hits.last().map(|hit| (hit.time, hit.row));
            while let Some(after) = last {
                pages += 1;
                assert!(pages <= 100, "paging never ends: {query:?}");
                request.after = Some(after);
                let next = index
                    .search(&request)
                    .expect("a later page of a valid query runs");
                assert_eq!(next.total, page.total, "the total changed between pages");
                last = next.hits.last().map(|hit| (hit.time, hit.row));
            }
            let buckets = TimeBuckets {
                start: HOUR,
                interval: 60_000_000,
                buckets: 60,
            };
            request.after = None;
            let counts = index
                .histogram(&request, buckets)
                .expect("a valid query counts");
            assert!(counts.iter().sum::<u64>() as usize <= page.total);
        }
        Err(SearchError::Query(_)) => {
            assert!(
                checked.is_err(),
                "the check accepted a query the index refused: {query:?}"
            );
        }
        Err(_) => {}
    }
});

/// A segment index of 200 events, built once.
fn index() -> &'static SegmentIndex {
    static INDEX: OnceLock<(tempfile::TempDir, SegmentIndex)> = OnceLock::new();
    let (_, index) = INDEX.get_or_init(|| {
        let mut builder = EventBatchBuilder::new();
        let users = ["alice", "bob", "Carol", "svc-reporting", "root"];
        for row in 0..200i64 {
            let mut event = Event::new("json");
            event.time = Some(HOUR + row * 17_000_000);
            event.class = if row % 3 == 0 {
                Class::Authentication
            } else {
                Class::HttpActivity
            };
            let user = users[(row % 5) as usize];
            event.user = Some(Cow::Borrowed(user));
            event.http_status = Some([200, 401, 403, 404, 500][(row % 5) as usize]);
            event.src_ip = Some(Cow::Owned(format!("203.0.113.{}", row % 11)));
            let message = format!(
                "Failed password for {user} from 203.0.113.{} port {}",
                row % 11,
                40_000 + row
            );
            event.message = Some(Cow::Owned(message.clone()));
            let id = format!("event-{row}");
            builder.append(
                &event,
                &RecordMeta {
                    ingest_time: HOUR,
                    event_id: &id,
                    service: ["gateway", "auth", "orders"][(row % 3) as usize],
                    raw: &message,
                    not_utf8: false,
                },
            );
        }
        let batch = builder.finish().expect("events always make a valid batch");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("segment.parquet.idx");
        write_index(&batch, &path).expect("the index builds");
        let index = SegmentIndex::open(&path).expect("the index opens");
        (dir, index)
    });
    index
}
