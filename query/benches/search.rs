//! Event search latency: term or phrase plus a time range, newest 100, over a generated store.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p weft-query --bench search
//! WEFT_BENCH_EVENTS=10000000 cargo bench -p weft-query --bench search   # the issue's 10M
//! ```
//!
//! The store (one day of a platform's events, written through weft-ingest's event store as
//! `weft ingest` writes it: Parquet segments per event hour, each with its search index) is
//! generated from a fixed seed on first run under the target directory and reused afterwards;
//! `WEFT_BENCH_STORE=DIR` puts it elsewhere; `WEFT_BENCH_GENERATE_ONLY=1` builds (or keeps) the
//! store and exits, for `scripts/bench-search`, which measures the same queries over HTTP.
//!
//! criterion measures one client twice per query: `cold/` is the first time a query is asked
//! (a fresh [`EventSearch`] whose segment indexes are open but which has counted and read
//! nothing yet), the plain names are the query asked again (counts and rows remembered, as
//! when an analyst pages or a dashboard refreshes). Then 10 clients run the queries at once
//! from a fresh `EventSearch`, and the p50/p99 of their latencies is printed, for their first
//! round (everything cold, indexes opened on first use) and for the rest.

use std::borrow::Cow;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group};
use weft_ingest::batch::RecordMeta;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::store::{EventStore, FlushPolicy};
use weft_query::search::{EventSearch, SearchParams};

/// 2026-11-23T00:00:00Z.
const DAY_START: i64 = 1_795_392_000_000_000;
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
const SERVICES: [&str; 8] = [
    "gateway",
    "auth",
    "payments",
    "orders",
    "search",
    "k8s",
    "billing",
    "inventory",
];

fn events() -> u64 {
    std::env::var("WEFT_BENCH_EVENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000_000)
}

fn store_dir(events: u64) -> PathBuf {
    std::env::var_os("WEFT_BENCH_STORE").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("search-store-{events}")),
        PathBuf::from,
    )
}

/// A fixed-seed pseudo-random sequence (SplitMix64).
struct Seed(u64);

impl Seed {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Writes `count` events spread evenly over one day, unless the store is already complete.
fn build_store(dir: &Path, count: u64) -> anyhow::Result<()> {
    let done = dir.join("bench-complete");
    if done.exists() {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let started = Instant::now();
    let mut store = EventStore::open(dir, FlushPolicy::default())?;
    let mut seed = Seed(7);
    let step = DAY / i64::try_from(count)?.max(1);
    for offset in 0..count {
        let random = seed.next();
        let user_number = random % 5_000;
        let user = if user_number == 0 {
            "alice".to_string()
        } else {
            format!("user{user_number}")
        };
        let service = SERVICES[(random >> 16) as usize % SERVICES.len()];
        let ip = format!(
            "10.{}.{}.{}",
            (random >> 24) % 256,
            (random >> 32) % 256,
            (random >> 40) % 256
        );
        let port = 1024 + (random >> 48) % 60_000;
        let (class, outcome, message) = match (random >> 8) % 6 {
            0 => (
                Class::Authentication,
                Outcome::Failure,
                format!("Failed password for {user} from {ip} port {port} ssh2"),
            ),
            1 => (
                Class::Authentication,
                Outcome::Success,
                format!("Accepted publickey for {user} from {ip} port {port} ssh2"),
            ),
            2 => (
                Class::HttpActivity,
                Outcome::Success,
                format!("GET /api/v1/orders/{} 200", random % 100_000),
            ),
            3 => (
                Class::HttpActivity,
                Outcome::Failure,
                format!(
                    "POST /api/v1/payments returned 503 after {} ms",
                    random % 900
                ),
            ),
            4 => (
                Class::ProcessActivity,
                Outcome::Success,
                format!("exec /usr/bin/curl -s http://{ip}/health"),
            ),
            _ => (
                Class::AccountChange,
                Outcome::Success,
                format!("session opened for user {user} by (uid=0)"),
            ),
        };
        let time = DAY_START + i64::try_from(offset)? * step;
        let mut event = Event::new("json");
        event.time = Some(time);
        event.class = class;
        event.outcome = Some(outcome);
        event.user = Some(Cow::Borrowed(&user));
        event.src_ip = Some(Cow::Borrowed(&ip));
        event.src_port = i32::try_from(port).ok();
        event.message = Some(Cow::Borrowed(&message));
        let raw = format!(
            r#"{{"ts":{time},"service":"{service}","user":"{user}","src":"{ip}:{port}","msg":"{message}","request_id":"{:016x}"}}"#,
            seed.next()
        );
        let event_id = weft_ingest::id::event_id("bench", offset, 0);
        store.append(
            &event,
            &RecordMeta {
                ingest_time: time,
                event_id: &event_id,
                service,
                raw: &raw,
                not_utf8: false,
            },
            "bench",
            offset,
        )?;
    }
    store.flush()?;
    let segments = store.segments()?;
    let elapsed = started.elapsed();
    std::fs::write(&done, b"")?;
    println!(
        "built a store of {count} events in {} segments, {} MB of Parquet and {} MB of index, in {:.0} s ({:.0} events/s)",
        segments.len(),
        segments.iter().map(|entry| entry.bytes).sum::<u64>() / 1_000_000,
        directory_bytes(&dir.join("events"), true) / 1_000_000,
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Bytes of the files under `dir` (only inside index directories when `indexes`).
fn directory_bytes(dir: &Path, indexes: bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let is_index = path.to_string_lossy().ends_with(".idx");
            total += if is_index && indexes {
                directory_bytes(&path, false)
            } else {
                directory_bytes(&path, indexes)
            };
        } else if !indexes {
            total += entry.metadata().map_or(0, |metadata| metadata.len());
        }
    }
    total
}

/// The benchmarked searches: (name, query, from, to).
fn queries() -> Vec<(&'static str, &'static str, i64, i64)> {
    vec![
        (
            "term_1h",
            "user:alice",
            DAY_START + 12 * HOUR,
            DAY_START + 13 * HOUR,
        ),
        ("term_24h", "service:payments", DAY_START, DAY_START + DAY),
        (
            "phrase_6h",
            "message:\"failed password\"",
            DAY_START + 6 * HOUR,
            DAY_START + 12 * HOUR,
        ),
        (
            "term_and_phrase_24h",
            "user:alice AND message:\"failed password\"",
            DAY_START,
            DAY_START + DAY,
        ),
    ]
}

fn params(query: &str, from: i64, to: i64) -> SearchParams {
    SearchParams {
        query: query.to_string(),
        from: Some(from),
        to: Some(to),
        limit: 100,
        cursor: None,
    }
}

fn setup() -> EventSearch {
    let count = events();
    let dir = store_dir(count);
    if let Err(error) = build_store(&dir, count) {
        panic!("cannot build the bench store in {}: {error}", dir.display());
    }
    EventSearch::new(&dir)
}

/// What opening the store costs now that recovery checks every segment's index.
fn report_recovery() {
    let dir = store_dir(events());
    let started = Instant::now();
    match EventStore::open(&dir, FlushPolicy::default()) {
        Ok(store) => println!(
            "opening the store (recovery checks {} indexes): {:.1} ms",
            store.segments().map_or(0, |segments| segments.len()),
            started.elapsed().as_secs_f64() * 1e3
        ),
        Err(error) => println!("cannot open the bench store: {error}"),
    }
}

/// A fresh search over the store with every segment index open: nothing counted or read yet.
fn opened(dir: &Path) -> EventSearch {
    let search = EventSearch::new(dir);
    // Looking up an id no event has opens every segment's index and reads no row.
    match search.event("no-such-event") {
        Ok(None) => search,
        other => panic!("the bench store answers the lookup with nothing: {other:?}"),
    }
}

fn bench_search(criterion: &mut Criterion) {
    let search = setup();
    let dir = store_dir(events());
    let mut group = criterion.benchmark_group(format!("search_{}_events", events()));
    group.sample_size(10);
    for (name, query, from, to) in queries() {
        let params = params(query, from, to);
        group.bench_function(format!("cold/{name}"), |bencher| {
            bencher.iter_batched(
                || opened(&dir),
                |search| black_box(search.search(&params).expect("search")),
                BatchSize::PerIteration,
            )
        });
    }
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));
    for (name, query, from, to) in queries() {
        let params = params(query, from, to);
        let page = search.search(&params).expect("the bench query runs");
        println!("{name}: {query} matches {} events", page.total);
        group.bench_function(name, |bencher| {
            bencher.iter(|| black_box(search.search(&params).expect("search")))
        });
    }
    group.finish();
}

/// 10 clients at once, each running every query in turn; prints latency percentiles.
fn concurrent_clients() {
    const CLIENTS: usize = 10;
    const ROUNDS: usize = 50;
    let search = setup();
    let queries = queries();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let search = &search;
                let queries = &queries;
                scope.spawn(move || {
                    let mut latencies = Vec::with_capacity(ROUNDS * queries.len());
                    for round in 0..ROUNDS {
                        let (_, query, from, to) = queries[(client + round) % queries.len()];
                        let started = Instant::now();
                        black_box(search.search(&params(query, from, to)).expect("search"));
                        latencies.push(started.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    // Each client's first search ran before it had seen any answer: the cold round.
    let first_round: Vec<Duration> = latencies.iter().step_by(ROUNDS).copied().collect();
    let rest: Vec<Duration> = latencies
        .iter()
        .enumerate()
        .filter(|(index, _)| index % ROUNDS != 0)
        .map(|(_, latency)| *latency)
        .collect();
    for (label, mut latencies) in [("first round (cold)", first_round), ("after it", rest)] {
        latencies.sort();
        let percentile = |p: f64| {
            let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
            latencies.get(index).copied().unwrap_or_default()
        };
        println!(
            "{CLIENTS} concurrent clients over {} events, {label}: {} searches, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            events(),
            latencies.len(),
            percentile(0.50).as_secs_f64() * 1e3,
            percentile(0.99).as_secs_f64() * 1e3,
            percentile(1.0).as_secs_f64() * 1e3,
        );
    }
}

criterion_group!(benches, bench_search);

fn main() {
    if std::env::var_os("WEFT_BENCH_GENERATE_ONLY").is_some() {
        let count = events();
        let dir = store_dir(count);
        if let Err(error) = build_store(&dir, count) {
            panic!("cannot build the bench store in {}: {error}", dir.display());
        }
        println!("store of {count} events in {}", dir.display());
        return;
    }
    benches();
    if std::env::args().any(|arg| arg == "--bench") {
        report_recovery();
        concurrent_clients();
    }
    Criterion::default().configure_from_args().final_summary();
}
