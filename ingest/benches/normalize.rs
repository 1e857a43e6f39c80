//! Raw records to normalized Arrow: parse every record and append its events to an
//! `EventBatchBuilder`, finishing a `RecordBatch` every 8,192 rows — the work ingest does per
//! record before Parquet encoding.
//!
//! `cargo bench -p weft-ingest --bench normalize` also writes the CloudTrail input to
//! `target/bench-data/cloudtrail.ndjson`, which `scripts/bench` gives to pyarrow's JSON reader
//! for the comparison in the README.

use std::hint::black_box;

/// mimalloc: ingest allocates and frees many short strings per record and grows large Arrow
/// buffers; glibc's allocator spends much of the time in page faults on both.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::event::EventBuffer;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

#[path = "support/data.rs"]
mod data;

const INPUT_BYTES: usize = 8 * 1024 * 1024;

/// Parses and appends every line of `input` with format `format`; returns rows produced.
fn normalize(format: &str, input: &str) -> usize {
    let mut parser = parse::build(format, &ParserOptions::default()).expect("registered format");
    let context = ParseContext {
        reference_time: 1_714_564_800_000_000,
    };
    let mut builder = EventBatchBuilder::new();
    let mut buffer = EventBuffer::default();
    let mut rows = 0;
    // Records split as weft's framer splits them: at each newline, found with `memchr`.
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', input.as_bytes()).chain([input.len()]) {
        let Some(line) = input.get(start..end).filter(|line| !line.is_empty()) else {
            start = end + 1;
            continue;
        };
        start = end + 1;
        let mut events = buffer.take();
        if parser.parse(line, &context, &mut events).is_err() {
            buffer.give_back(events);
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
            builder.append(event, &meta);
            if builder.len() == 8192 {
                rows += builder.finish().expect("valid batch").num_rows();
            }
        }
        buffer.give_back(events);
    }
    rows + builder.finish().expect("valid batch").num_rows()
}

fn bench_json(criterion: &mut Criterion) {
    let cloudtrail = data::lines(data::cloudtrail_record, 7, INPUT_BYTES);
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    if std::fs::create_dir_all(&target).is_ok() {
        let _ = std::fs::write(target.join("cloudtrail.ndjson"), &cloudtrail);
    }
    let app = data::lines(data::app_json_record, 11, INPUT_BYTES);

    let mut group = criterion.benchmark_group("normalize");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(cloudtrail.len() as u64));
    for format in ["json", "cloudtrail", "auto"] {
        if format != "auto" && parse::format(format).is_none() {
            continue;
        }
        group.bench_function(format!("cloudtrail_800B/{format}"), |bencher| {
            bencher.iter(|| black_box(normalize(format, &cloudtrail)))
        });
    }
    group.throughput(Throughput::Bytes(app.len() as u64));
    group.bench_function("app_json/json", |bencher| {
        bencher.iter(|| black_box(normalize("json", &app)))
    });
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
    let mut group = criterion.benchmark_group("normalize_lines");
    group.sample_size(10);
    for (format, input) in &inputs {
        if parse::format(format).is_none() {
            continue;
        }
        group.throughput(Throughput::Elements(input.lines().count() as u64));
        group.bench_function(*format, |bencher| {
            bencher.iter(|| black_box(normalize(format, input)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_json, bench_lines);
criterion_main!(benches);
