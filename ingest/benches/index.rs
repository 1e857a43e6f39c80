//! Building a segment's search index: events per second for CloudTrail-sized records, the
//! rows of one flushed segment at a time; and what the index adds to writing a segment
//! (`segment/parquet_only`: the Parquet file alone, as segments were written before they had
//! an index; `segment/with_index`: `write_segment`, index then Parquet).
//!
//! `cargo bench -p weft-ingest --bench index`

use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::index::write_index;
use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::store::manifest::SegmentEntry;
use weft_ingest::store::segment;

#[allow(dead_code)]
#[path = "support/data.rs"]
mod data;

const ROWS: usize = 20_000;

fn batch() -> arrow_array::RecordBatch {
    let input = data::lines(data::cloudtrail_record, 7, ROWS * 900);
    let mut parser = parse::build("cloudtrail", &ParserOptions::default()).expect("registered");
    let context = ParseContext {
        reference_time: 1_714_564_800_000_000,
    };
    let mut builder = EventBatchBuilder::new();
    for line in input.lines().take(ROWS) {
        let mut events = Vec::new();
        if parser.parse(line, &context, &mut events).is_err() {
            continue;
        }
        for event in &events {
            builder.append(
                event,
                &RecordMeta {
                    ingest_time: 1_714_564_800_000_000,
                    event_id: "0123456789abcdef0123456789abcdef",
                    service: "bench",
                    raw: line,
                    not_utf8: false,
                },
            );
        }
    }
    builder.finish().expect("valid batch")
}

fn bench_index(criterion: &mut Criterion) {
    let batch = batch();
    let mut group = criterion.benchmark_group("index");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.num_rows() as u64));
    group.bench_function("cloudtrail_800B", |bencher| {
        bencher.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| black_box(write_index(&batch, &dir.path().join("segment.idx")).expect("index")),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench_segment(criterion: &mut Criterion) {
    let batch = batch();
    let mut group = criterion.benchmark_group("segment");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.num_rows() as u64));
    group.bench_function("parquet_only", |bencher| {
        bencher.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let file = std::fs::File::create(dir.path().join("segment.parquet")).expect("file");
                let properties = segment::writer_properties("{}".to_string()).expect("properties");
                let mut writer =
                    parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
                        .expect("writer");
                writer.write(&batch).expect("write");
                let file = writer.into_inner().expect("close");
                file.sync_all().expect("sync");
                black_box(dir)
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("with_index", |bencher| {
        bencher.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let entry = SegmentEntry {
                    segment: "bench".to_string(),
                    path: "events/date=2024-05-01/hour=12/bench.parquet".to_string(),
                    rows: batch.num_rows() as u64,
                    bytes: 0,
                    min_time: 0,
                    max_time: 0,
                    created: 0,
                    schema_version: "1".to_string(),
                    sources: Vec::new(),
                    checkpoint: None,
                };
                black_box(segment::write_segment(dir.path(), &batch, entry).expect("segment"));
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_index, bench_segment);
criterion_main!(benches);
