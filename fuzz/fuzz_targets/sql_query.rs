//! The SQL entry point (`POST /api/v1/sql` and scheduled SQL rules), over arbitrary query
//! text: the read-only check, then planning and running the query over a small event store
//! with tight limits. Nothing may panic, nothing the query does may write to the data
//! directory (DDL, COPY, INSERT and file access are refused before planning), and a query
//! either answers within the limits or fails with an error.

#![no_main]

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use weft_ingest::batch::RecordMeta;
use weft_ingest::event::{Class, Event};
use weft_ingest::store::{EventStore, FlushPolicy};
use weft_query::sql::{SqlEngine, SqlLimits, check_read_only};

const HOUR: i64 = 1_750_000_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    files: Vec<PathBuf>,
    engine: SqlEngine,
    runtime: tokio::runtime::Runtime,
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = fixture();
    let checked = check_read_only(query);
    let answer = fixture.runtime.block_on(fixture.engine.query_rows(query));
    if answer.is_ok() {
        assert!(checked.is_ok(), "ran a query the check refused: {query:?}");
    }
    assert_eq!(
        files(&fixture.data_dir),
        fixture.files,
        "the query changed the data directory: {query:?}"
    );
});

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data_dir = dir.path().join("data");
        let mut store =
            EventStore::open(&data_dir, FlushPolicy::default()).expect("the store opens");
        for row in 0..100i64 {
            let mut event = Event::new("json");
            event.time = Some(HOUR + row * 30_000_000);
            event.class = Class::Authentication;
            event.user = Some(Cow::Owned(format!("user-{}", row % 7)));
            event.src_ip = Some(Cow::Owned(format!("203.0.113.{}", row % 13)));
            event.http_status = Some(if row % 4 == 0 { 401 } else { 200 });
            let id = format!("event-{row}");
            let meta = RecordMeta {
                ingest_time: HOUR,
                event_id: &id,
                service: if row % 2 == 0 { "auth" } else { "gateway" },
                raw: "{}",
                not_utf8: false,
            };
            store
                .append(&event, &meta, "fuzz", row as u64)
                .expect("buffered");
        }
        store.flush().expect("the segment is written");
        let limits = SqlLimits {
            timeout: Duration::from_secs(2),
            memory_bytes: 64 * 1024 * 1024,
            max_rows: 1_000,
            ..SqlLimits::default()
        };
        let engine = SqlEngine::new(&data_dir, limits).expect("the engine opens");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Fixture {
            files: files(&data_dir),
            data_dir,
            _dir: dir,
            engine,
            runtime,
        }
    })
}

/// Every file and directory under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push(path);
        }
    }
    found.sort();
    found
}
