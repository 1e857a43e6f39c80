//! Raw records to normalized Arrow: parse every record and append its events to an
//! `EventBatchBuilder`, finishing a `RecordBatch` every 8,192 rows — the work ingest does per
//! record before Parquet encoding.
//!
//! `normalize` and `normalize_lines` measure a running stream: parser and builder live across
//! iterations, so each batch's buffers are sized like the batch before it, as in a worker.
//! `normalize_cold` and `normalize_lines_cold` start every iteration with a new parser and
//! builder, whose first batch grows its buffers from nothing.
//!
//! `WEFT_BENCH_CPU_TIME=1 cargo bench -p weft-ingest --bench normalize` times the running
//! streams by CPU time instead (see `cpu_time_report`), for comparisons on a loaded machine.
//!
//! `cargo bench -p weft-ingest --bench normalize` also writes the CloudTrail input to
//! `bench-data/cloudtrail.ndjson` in the target directory (`CARGO_TARGET_DIR`, else
//! `target`), which `scripts/bench` gives to pyarrow's JSON reader for the comparison in the
//! README.

use std::hint::black_box;

/// mimalloc: ingest allocates and frees many short strings per record and grows large Arrow
/// buffers; glibc's allocator spends much of the time in page faults on both.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::event::EventBuffer;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

#[path = "support/data.rs"]
mod data;

const INPUT_BYTES: usize = 8 * 1024 * 1024;

/// One ingest stream: the parser, the event buffer and the batch builder live across
/// iterations, as a worker's do (the event store keeps a builder per open hour). A batch
/// finishes every 8,192 rows whatever the iteration, so each is sized like the one before it,
/// as in a running worker; a builder's first batch, which grows its buffers from nothing, is
/// measured by `cold_normalize`.
struct Stream {
    parser: Box<dyn parse::Parser>,
    builder: EventBatchBuilder,
    buffer: EventBuffer,
}

impl Stream {
    fn new(format: &str) -> Stream {
        Stream {
            parser: parse::build(format, &ParserOptions::default()).expect("registered format"),
            builder: EventBatchBuilder::new(),
            buffer: EventBuffer::default(),
        }
    }

    /// Parses and appends every line of `input`; returns the events appended.
    fn normalize(&mut self, input: &str) -> usize {
        let context = ParseContext {
            reference_time: 1_714_564_800_000_000,
        };
        let mut appended = 0;
        // Records split as weft's framer splits them: at each newline, found with `memchr`.
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', input.as_bytes()).chain([input.len()]) {
            let Some(line) = input.get(start..end).filter(|line| !line.is_empty()) else {
                start = end + 1;
                continue;
            };
            start = end + 1;
            let mut events = self.buffer.take();
            if self.parser.parse(line, &context, &mut events).is_err() {
                self.buffer.give_back(events);
                continue;
            }
            for event in &events {
                let meta = RecordMeta {
                    ingest_time: 1_714_564_800_000_000,
                    event_id: "0123456789abcdef0123456789abcdef",
                    service: "bench",
                    raw: line,
                    not_utf8: false,
                };
                self.builder.append(event, &meta);
                appended += 1;
                if self.builder.len() == BATCH_ROWS {
                    black_box(self.builder.finish().expect("valid batch"));
                }
            }
            self.buffer.give_back(events);
        }
        appended
    }
}

/// Rows per `RecordBatch`.
const BATCH_ROWS: usize = 8192;

/// `input` through a new parser and builder, every batch finished: a builder's first batch
/// grows its buffers from nothing (a new worker, or an event hour's first segment).
fn cold_normalize(format: &str, input: &str) -> usize {
    let mut stream = Stream::new(format);
    let rows = stream.normalize(input);
    black_box(stream.builder.finish().expect("valid batch"));
    rows
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` when set, else the workspace's `target`.
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn bench_json(criterion: &mut Criterion) {
    let cloudtrail = data::lines(data::cloudtrail_record, 7, INPUT_BYTES);
    let target = target_dir().join("bench-data");
    if std::fs::create_dir_all(&target).is_ok() {
        let _ = std::fs::write(target.join("cloudtrail.ndjson"), &cloudtrail);
    }
    let app = data::lines(data::app_json_record, 11, INPUT_BYTES);
    let formats = ["json", "cloudtrail", "auto"]
        .into_iter()
        .filter(|format| *format == "auto" || parse::format(format).is_some());

    let mut group = criterion.benchmark_group("normalize");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(cloudtrail.len() as u64));
    for format in formats.clone() {
        let mut stream = Stream::new(format);
        group.bench_function(format!("cloudtrail_800B/{format}"), |bencher| {
            bencher.iter(|| black_box(stream.normalize(&cloudtrail)))
        });
    }
    group.throughput(Throughput::Bytes(app.len() as u64));
    let mut stream = Stream::new("json");
    group.bench_function("app_json/json", |bencher| {
        bencher.iter(|| black_box(stream.normalize(&app)))
    });
    group.finish();

    let mut group = criterion.benchmark_group("normalize_cold");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(cloudtrail.len() as u64));
    for format in formats {
        group.bench_function(format!("cloudtrail_800B/{format}"), |bencher| {
            bencher.iter(|| black_box(cold_normalize(format, &cloudtrail)))
        });
    }
    group.finish();
}

/// Line formats, measured in lines per second.
fn bench_lines(criterion: &mut Criterion) {
    let inputs = [
        (
            "syslog3164",
            data::lines(data::syslog_auth_record, 13, INPUT_BYTES),
        ),
        (
            "access_log",
            data::lines(data::access_record, 17, INPUT_BYTES),
        ),
        ("cef", data::lines(data::cef_record, 19, INPUT_BYTES)),
    ];
    let inputs: Vec<_> = inputs
        .into_iter()
        .filter(|(format, _)| parse::format(format).is_some())
        .collect();
    let mut group = criterion.benchmark_group("normalize_lines");
    group.sample_size(10);
    for (format, input) in &inputs {
        group.throughput(Throughput::Elements(input.lines().count() as u64));
        let mut stream = Stream::new(format);
        group.bench_function(*format, |bencher| {
            bencher.iter(|| black_box(stream.normalize(input)))
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("normalize_lines_cold");
    group.sample_size(10);
    for (format, input) in &inputs {
        group.throughput(Throughput::Elements(input.lines().count() as u64));
        group.bench_function(*format, |bencher| {
            bencher.iter(|| black_box(cold_normalize(format, input)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_json, bench_lines);

/// CPU time per sample of `WEFT_BENCH_CPU_TIME`: 100 scheduler ticks of 4 ms, so that the
/// tick the sample ends in moves its figure by 1% at most.
const SAMPLE_CPU_NANOS: u64 = 400_000_000;

/// This thread's CPU time so far, in nanoseconds (Linux `/proc/thread-self/schedstat`); 0
/// elsewhere.
fn cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// `WEFT_BENCH_CPU_TIME=1`: each format's running stream timed by CPU time rather than wall
/// time, the best of `WEFT_BENCH_PASSES` (5) samples. A loaded machine stretches wall time far
/// more than CPU time, so this compares builds on a shared machine.
///
/// A sample is as many passes over the input as take [`SAMPLE_CPU_NANOS`] of CPU time: the
/// kernel's per-thread figure advances in scheduler ticks (4 ms here), so one 20 ms pass read
/// alone rounds to a whole number of ticks (8 MiB in 16, 20 or 24 ms: 524, 420 or 350 MB/s,
/// the steps the figures of 2026-11-24 and before moved in).
fn cpu_time_report() {
    let passes = std::env::var("WEFT_BENCH_PASSES")
        .ok()
        .and_then(|passes| passes.parse().ok())
        .unwrap_or(5);
    let cloudtrail = data::lines(data::cloudtrail_record, 7, INPUT_BYTES);
    let inputs = [
        ("json", &cloudtrail, false),
        ("cloudtrail", &cloudtrail, false),
        ("auto", &cloudtrail, false),
        (
            "syslog3164",
            &data::lines(data::syslog_auth_record, 13, INPUT_BYTES),
            true,
        ),
        (
            "access_log",
            &data::lines(data::access_record, 17, INPUT_BYTES),
            true,
        ),
        ("cef", &data::lines(data::cef_record, 19, INPUT_BYTES), true),
    ];
    for (format, input, in_lines) in inputs {
        let mut stream = Stream::new(format);
        // A first pass sizes the builder's buffers.
        stream.normalize(input);
        // The best sample's CPU time per pass over the input.
        let mut best = f64::MAX;
        for _ in 0..passes {
            let start = cpu_nanos();
            let mut rounds = 0u32;
            let mut spent = 0;
            while spent < SAMPLE_CPU_NANOS {
                black_box(stream.normalize(input));
                rounds += 1;
                spent = cpu_nanos().saturating_sub(start).max(1);
            }
            best = best.min(spent as f64 / f64::from(rounds));
        }
        let seconds = best / 1e9;
        if in_lines {
            let lines = input.lines().count() as f64;
            println!(
                "{format:12} {:.3} M lines/s (CPU time)",
                lines / seconds / 1e6
            );
        } else {
            println!(
                "{format:12} {:.0} MB/s (CPU time)",
                input.len() as f64 / seconds / 1e6
            );
        }
    }
}

fn main() {
    if std::env::var_os("WEFT_BENCH_CPU_TIME").is_some() {
        cpu_time_report();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
