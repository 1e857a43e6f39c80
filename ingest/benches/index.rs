//! Building a segment's search index: events per second for CloudTrail-sized records, the
//! rows of one flushed segment at a time.
//!
//! `cargo bench -p weft-ingest --bench index`

use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::index::write_index;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

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

criterion_group!(benches, bench_index);
criterion_main!(benches);
