//! Sigma matching throughput: SigmaHQ's `rules/windows/process_creation` rules over generated
//! Sysmon process creation events (~1% suspicious), weft's batch matcher against RSigma
//! (rsigma-eval) on the same rules and events, with the hit sets compared.
//!
//! Run: `cargo bench -p weft-correlate --bench sigma` (needs `../shared/corpora`; prints that
//! it skipped otherwise). `WEFT_BENCH_ONLY=1` measures weft alone (for profiling).

#[path = "support/process_events.rs"]
mod process_events;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::{Class, Event};

const EVENTS: usize = 20_000;
const SEED: u64 = 0x5EED_0001;
/// sigma-rust is measured on the first events only (it is slow).
const SIGMA_RUST_EVENTS: usize = 300;

fn weft_batch(events: &[process_events::ProcessEvent]) -> RecordBatch {
    let mut builder = EventBatchBuilder::new();
    for (index, fields) in events.iter().enumerate() {
        let mut event = Event::new("windows");
        event.class = Class::ProcessActivity;
        event.activity = Some(Cow::Borrowed("launch"));
        for (key, value) in fields {
            match *key {
                "Image" => event.process = Some(Cow::Borrowed(value.as_str())),
                "CommandLine" => event.command_line = Some(Cow::Borrowed(value.as_str())),
                "User" => event.user = Some(Cow::Borrowed(value.as_str())),
                _ => {}
            }
            event
                .attrs
                .push((Cow::Borrowed(*key), Cow::Borrowed(value.as_str())));
        }
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: 0,
            event_id: &id,
            service: "bench",
            raw: "{}",
            not_utf8: false,
        };
        builder.append(&event, &meta);
    }
    builder.finish().expect("valid batch")
}

fn json_events(events: &[process_events::ProcessEvent]) -> Vec<serde_json::Value> {
    events
        .iter()
        .map(|fields| {
            serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.to_string(), serde_json::Value::String(value.clone())))
                    .collect(),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/sigma-rules/rules/windows/process_creation");
    if !dir.is_dir() {
        eprintln!("skipped: ../shared/corpora not found (the SigmaHQ rules live there)");
        return;
    }
    let events = process_events::process_events(EVENTS, SEED);
    let batch = weft_batch(&events);
    let json = json_events(&events);

    let set = load_paths(std::slice::from_ref(&dir), &Placeholders::default());
    let loaded = set.rules.len();
    let matcher = SigmaMatcher::new(set.rules, &FieldMapping::default());

    if std::env::var_os("WEFT_BENCH_VERBOSE").is_some() {
        for index in matcher.unfiltered_rule_indices() {
            println!("unfiltered: {}", matcher.rules()[index].meta.title);
        }
    }
    if std::env::var_os("WEFT_BENCH_ONLY").is_some() {
        // Profiling weft alone: no peer engine, no comparison.
        let mut group = c.benchmark_group("sigma_process_creation");
        group.throughput(Throughput::Elements(EVENTS as u64));
        group.sample_size(10);
        group.bench_function("weft_batch", |b| {
            b.iter(|| matcher.match_batch(&batch).expect("schema v1").len())
        });
        group.finish();
        return;
    }
    let mut engine = rsigma_eval::Engine::new();
    let mut rsigma_rules = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("rules")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .collect();
    files.sort();
    for file in files {
        let Ok(collection) = rsigma_parser::parse_sigma_file(&file) else {
            continue;
        };
        for rule in &collection.rules {
            if engine.add_rule(rule).is_ok() {
                rsigma_rules += 1;
            }
        }
    }

    // One timed pass each, and the hit sets.
    let start = Instant::now();
    let weft_matches = matcher.match_batch(&batch).expect("schema v1");
    let weft_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut rsigma_hits = BTreeSet::new();
    for (index, event) in json.iter().enumerate() {
        for result in engine.evaluate(&rsigma_eval::JsonEvent::borrow(event)) {
            if let Some(id) = &result.header.rule_id {
                rsigma_hits.insert((index, id.clone()));
            }
        }
    }
    let rsigma_seconds = start.elapsed().as_secs_f64();
    let weft_hits: BTreeSet<(usize, String)> = weft_matches
        .iter()
        .filter_map(|found| {
            matcher.rules()[found.rule]
                .meta
                .id
                .clone()
                .map(|id| (found.row, id))
        })
        .collect();
    let only_weft: Vec<_> = weft_hits.difference(&rsigma_hits).collect();
    let only_rsigma: Vec<_> = rsigma_hits.difference(&weft_hits).collect();
    println!(
        "sigma bench: {EVENTS} events; weft {loaded} rules, {:.0} events/s ({} unfiltered rules); rsigma {rsigma_rules} rules, {:.0} events/s; ratio {:.1}x",
        EVENTS as f64 / weft_seconds,
        matcher.unfiltered_rules(),
        EVENTS as f64 / rsigma_seconds,
        rsigma_seconds / weft_seconds,
    );
    println!(
        "hit sets: weft {} hits, rsigma {} hits, {} only weft, {} only rsigma{}",
        weft_hits.len(),
        rsigma_hits.len(),
        only_weft.len(),
        only_rsigma.len(),
        if only_weft.is_empty() && only_rsigma.is_empty() {
            " (identical)"
        } else {
            ""
        }
    );
    for hit in only_weft.iter().take(10) {
        println!("  only weft: {hit:?}");
    }
    for hit in only_rsigma.iter().take(10) {
        println!("  only rsigma: {hit:?}");
    }

    // sigma-rust: each rule on each event, on the first events and the rules it loads.
    let mut sigma_rust_rules = Vec::new();
    for entry in std::fs::read_dir(&dir)
        .expect("rules")
        .filter_map(|entry| entry.ok())
    {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Ok(rule) = sigma_rust::rule_from_yaml(&text) {
            sigma_rust_rules.push(rule);
        }
    }
    let peer_events: Vec<_> = json
        .iter()
        .take(SIGMA_RUST_EVENTS)
        .map(|event| sigma_rust::event_from_json(&event.to_string()).expect("event json"))
        .collect();
    let start = Instant::now();
    let mut sigma_rust_hits = BTreeSet::new();
    for (index, event) in peer_events.iter().enumerate() {
        for rule in &sigma_rust_rules {
            if rule.is_match(event)
                && let Some(id) = &rule.id
            {
                sigma_rust_hits.insert((index, id.clone()));
            }
        }
    }
    let sigma_rust_seconds = start.elapsed().as_secs_f64();
    let sigma_rust_ids: BTreeSet<&String> = sigma_rust_rules
        .iter()
        .filter_map(|rule| rule.id.as_ref())
        .collect();
    let weft_subset: BTreeSet<(usize, String)> = weft_hits
        .iter()
        .filter(|(row, id)| *row < SIGMA_RUST_EVENTS && sigma_rust_ids.contains(id))
        .cloned()
        .collect();
    println!(
        "sigma-rust: {} rules, {:.0} events/s (first {SIGMA_RUST_EVENTS} events); ratio {:.1}x; hit sets {}",
        sigma_rust_rules.len(),
        SIGMA_RUST_EVENTS as f64 / sigma_rust_seconds,
        (sigma_rust_seconds / SIGMA_RUST_EVENTS as f64) / (weft_seconds / EVENTS as f64),
        if weft_subset == sigma_rust_hits {
            "identical"
        } else {
            "differ"
        }
    );

    let mut group = c.benchmark_group("sigma_process_creation");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.bench_function("weft_batch", |b| {
        b.iter(|| matcher.match_batch(&batch).expect("schema v1").len())
    });
    let sample: Vec<_> = json.iter().take(2_000).collect();
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.bench_function("rsigma_eval", |b| {
        b.iter(|| {
            sample
                .iter()
                .map(|event| {
                    engine
                        .evaluate(&rsigma_eval::JsonEvent::borrow(event))
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
