//! Correlation throughput: signals per second through `event_count`, `value_count` and
//! `temporal_ordered` rules with 100,000 live group keys, memory per live key, and RSigma
//! (rsigma-eval 0.15, `CorrelationEngine`) on the same rules and stream as the ratio peer.
//!
//! Run: `cargo bench -p weft-correlate --bench correlation`. `WEFT_BENCH_ONLY=1` measures
//! weft alone. The stream is generated from a fixed seed: 200,000 signals over 100,000 users
//! (after a prefill that makes every user's group live), 1 ms apart in event time, one
//! partition, no lateness, `advance` every 1,024 signals.
//!
//! `percentile_window` measures what one `value_percentile` signal costs a window of 20,000
//! numbers (one number in, the oldest out, the 95th percentile read): the window's sketch
//! against the sorted list weft kept before sketching (`exact`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use weft_correlate::correlation::percentiles::Percentiles;
use weft_correlate::correlation::{
    CorrelationSet, Correlator, CorrelatorConfig, EventKey, ManualClock, Signal,
};
use weft_correlate::sigma::{FieldMapping, Placeholders, load_texts};

const KEYS: usize = 100_000;
const SIGNALS: usize = 200_000;

struct Case {
    name: &'static str,
    correlation: &'static str,
    /// Base rules the stream alternates between.
    rules: &'static [&'static str],
}

const CASES: [Case; 3] = [
    Case {
        name: "event_count",
        correlation: "title: many failures\nname: many_failures\ncorrelation:\n    type: event_count\n    rules: [00000000-0000-4000-8000-000000000000]\n    group-by: [User]\n    timespan: 1h\n    condition:\n        gte: 10\n",
        rules: &["failed"],
    },
    Case {
        name: "value_count",
        correlation: "title: sources\nname: sources\ncorrelation:\n    type: value_count\n    rules: [00000000-0000-4000-8000-000000000000]\n    group-by: [User]\n    timespan: 1h\n    condition:\n        field: SourceIp\n        gte: 10\n",
        rules: &["failed"],
    },
    Case {
        name: "temporal_ordered",
        correlation: "title: failure then success\nname: failure_then_success\ncorrelation:\n    type: temporal_ordered\n    rules: [00000000-0000-4000-8000-000000000000, 00000000-0000-4000-8000-000000000001]\n    group-by: [User]\n    timespan: 1h\n",
        rules: &["failed", "succeeded"],
    },
];

/// RSigma correlates only rules that have an `id`, and its `temporal_ordered` fires only on
/// references by id: the base rules get ids and the correlations refer to them by id.
fn base_rule(index: usize, name: &str) -> String {
    format!(
        "title: {name}\nid: 00000000-0000-4000-8000-{index:012}\nname: {name}\nlogsource:\n    product: test\ndetection:\n    selection:\n        activity: {name}\n    condition: selection\n"
    )
}

fn yaml(case: &Case) -> String {
    let mut documents: Vec<String> = case
        .rules
        .iter()
        .enumerate()
        .map(|(index, rule)| base_rule(index, rule))
        .collect();
    documents.push(case.correlation.to_string());
    documents.join("---\n")
}

fn compile(case: &Case) -> Arc<CorrelationSet> {
    let loaded = load_texts(&[(None, yaml(case))], &Placeholders::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    Arc::new(
        CorrelationSet::new(
            &loaded.rules,
            &loaded.correlations,
            &FieldMapping::default(),
        )
        .expect("rules compile"),
    )
}

/// xorshift64*, fixed seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One generated event: (time µs, base rule position, user, source ip).
type Generated = (i64, usize, usize, u32);

/// The prefill (each user once, in order) then the measured stream (random users).
fn generate(case: &Case) -> (Vec<Generated>, Vec<Generated>) {
    let mut random = Random(0x5eed_1234_abcd_0001);
    let prefill = (0..KEYS)
        .map(|user| (user as i64 * 1_000, 0, user, (random.next() % 16) as u32))
        .collect();
    let start = KEYS as i64 * 1_000;
    let stream = (0..SIGNALS)
        .map(|index| {
            // The last rule of a sequence (the success) is rarer: 1 in 16.
            let rule = if case.rules.len() > 1 && random.next().is_multiple_of(16) {
                case.rules.len() - 1
            } else {
                0
            };
            let user = (random.next() % KEYS as u64) as usize;
            (
                start + index as i64 * 1_000,
                rule,
                user,
                (random.next() % 16) as u32,
            )
        })
        .collect();
    (prefill, stream)
}

fn signal(set: &CorrelationSet, offset: u64, generated: &Generated) -> Signal {
    let (time, rule, user, source) = *generated;
    let user = format!("user{user}");
    let source = format!("10.0.{}.{}", source / 256, source % 256);
    set.signal(
        rule,
        EventKey {
            time,
            partition: 0,
            offset,
        },
        &format!("{offset:032x}"),
        |field| match field {
            "User" => Some(user.clone()),
            "SourceIp" => Some(source.clone()),
            _ => None,
        },
    )
}

fn config() -> CorrelatorConfig {
    CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    }
}

fn feed(correlator: &mut Correlator, signals: impl IntoIterator<Item = Signal>) -> usize {
    let mut alerts = 0;
    for (index, signal) in signals.into_iter().enumerate() {
        correlator.observe(signal);
        if index % 1_024 == 1_023 {
            alerts += correlator.advance().len();
        }
    }
    alerts + correlator.advance().len()
}

fn prefilled(set: &Arc<CorrelationSet>, prefill: &[Signal]) -> Correlator {
    let mut correlator = Correlator::new(set.clone(), config(), Arc::new(ManualClock::new(0)));
    feed(&mut correlator, prefill.iter().cloned());
    correlator
}

fn correlation(criterion: &mut Criterion) {
    let only_weft = std::env::var_os("WEFT_BENCH_ONLY").is_some();
    let mut group = criterion.benchmark_group("correlation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SIGNALS as u64));
    for case in &CASES {
        let set = compile(case);
        let (prefill, stream) = generate(case);
        let prefill_signals: Vec<Signal> = prefill
            .iter()
            .enumerate()
            .map(|(offset, generated)| signal(&set, offset as u64, generated))
            .collect();
        let stream_signals: Vec<Signal> = stream
            .iter()
            .enumerate()
            .map(|(offset, generated)| signal(&set, (KEYS + offset) as u64, generated))
            .collect();

        // Memory per live key: the engine's estimate (sizes and capacities of its state).
        let mut correlator = Correlator::new(set.clone(), config(), Arc::new(ManualClock::new(0)));
        for (offset, generated) in prefill.iter().enumerate() {
            correlator.observe(signal(&set, offset as u64, generated));
        }
        correlator.advance();
        let live = correlator.metrics().live_groups().max(1) as usize;
        let estimate = correlator.approximate_state_bytes() / live;

        // One timed pass for the printed summary, in chunks of 1,024 signals (observe, then
        // advance): an alert is out at most one chunk's time after its last event was read.
        let mut timed = prefilled(&set, &prefill_signals);
        let mut input = stream_signals.clone().into_iter();
        let mut chunk_seconds = Vec::new();
        let mut alerts = 0;
        let start = Instant::now();
        loop {
            let chunk_start = Instant::now();
            let mut observed = 0;
            for signal in input.by_ref().take(1_024) {
                timed.observe(signal);
                observed += 1;
            }
            if observed == 0 {
                break;
            }
            alerts += timed.advance().len();
            chunk_seconds.push(chunk_start.elapsed().as_secs_f64());
        }
        let weft_seconds = start.elapsed().as_secs_f64();
        chunk_seconds.sort_by(f64::total_cmp);
        let p99_ms = chunk_seconds
            .get(chunk_seconds.len() * 99 / 100)
            .copied()
            .unwrap_or_default()
            * 1_000.0;
        let live_after = timed.metrics().live_groups();
        drop(timed);
        let peer = if only_weft {
            String::from("rsigma skipped (WEFT_BENCH_ONLY)")
        } else {
            rsigma_pass(case, &prefill, &stream, weft_seconds)
        };
        println!(
            "correlation bench {}: {:.0} signals/s, alert latency p99 <= {p99_ms:.2} ms (1,024-signal chunks, no lateness), {alerts} alerts, {live} live keys before / {live_after} after, ~{estimate} B per live key; {peer}",
            case.name,
            SIGNALS as f64 / weft_seconds,
        );
        drop(correlator);

        group.bench_function(case.name, |bencher| {
            bencher.iter_batched(
                || (prefilled(&set, &prefill_signals), stream_signals.clone()),
                |(mut correlator, signals)| {
                    black_box(feed(&mut correlator, signals));
                    correlator // dropped outside the timing
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

/// RSigma on the same rules and events: detections evaluated outside the timing, then fed to
/// its correlation engine with the event's timestamp (seconds, its resolution).
fn rsigma_pass(
    case: &Case,
    prefill: &[Generated],
    stream: &[Generated],
    weft_seconds: f64,
) -> String {
    use rsigma_eval::{CorrelationConfig, CorrelationEngine, JsonEvent};
    let Ok(collection) = rsigma_parser::parse_sigma_yaml(&yaml(case)) else {
        return "rsigma could not parse the rules".into();
    };
    let mut engine = CorrelationEngine::new(CorrelationConfig {
        max_state_entries: 10 * KEYS,
        ..CorrelationConfig::default()
    });
    if engine.add_collection(&collection).is_err() {
        return "rsigma refused the rules".into();
    }
    let json = |generated: &Generated| {
        let (_, rule, user, source) = *generated;
        serde_json::json!({
            "activity": case.rules[rule],
            "User": format!("user{user}"),
            "SourceIp": format!("10.0.{}.{}", source / 256, source % 256),
        })
    };
    let prepare = |events: &[Generated]| -> Vec<(serde_json::Value, i64)> {
        events
            .iter()
            .map(|generated| (json(generated), generated.0 / 1_000_000))
            .collect()
    };
    let prefill = prepare(prefill);
    let stream = prepare(stream);
    for (event, seconds) in &prefill {
        let event = JsonEvent::borrow(event);
        let detections = engine.evaluate(&event);
        engine.process_with_detections(&event, detections, *seconds);
    }
    let detections: Vec<_> = stream
        .iter()
        .map(|(event, _)| engine.evaluate(&JsonEvent::borrow(event)))
        .collect();
    let start = Instant::now();
    let mut correlations = 0;
    for ((event, seconds), detections) in stream.iter().zip(detections) {
        let results =
            engine.process_with_detections(&JsonEvent::borrow(event), detections, *seconds);
        correlations += results
            .iter()
            .filter(|result| result.is_correlation())
            .count();
    }
    let seconds = start.elapsed().as_secs_f64();
    format!(
        "rsigma {:.0} signals/s ({correlations} correlation results, {} state entries), weft/rsigma {:.1}x",
        SIGNALS as f64 / seconds,
        engine.state_count(),
        seconds / weft_seconds
    )
}

/// A sliding window of `WINDOW` latency-like numbers: the numbers in arrival order.
fn latencies(count: usize) -> Vec<f64> {
    let mut random = Random(7);
    (0..count)
        .map(|_| (random.next() % 1_000_000) as f64 / 100.0 + 0.5)
        .collect()
}

fn percentile_window(criterion: &mut Criterion) {
    const WINDOW: usize = 20_000;
    let numbers = latencies(WINDOW * 4);
    let mut group = criterion.benchmark_group("percentile_window");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sketch", |bencher| {
        let mut kept = Percentiles::default();
        for number in &numbers[..WINDOW] {
            kept.insert(*number);
        }
        let mut next = WINDOW;
        bencher.iter(|| {
            let index = next % numbers.len();
            kept.insert(numbers[index]);
            kept.remove(numbers[(next - WINDOW) % numbers.len()], Vec::new);
            next += 1;
            black_box(kept.percentile(95.0))
        });
    });
    group.bench_function("exact", |bencher| {
        let mut sorted: Vec<f64> = numbers[..WINDOW].to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut next = WINDOW;
        bencher.iter(|| {
            let number = numbers[next % numbers.len()];
            let at = sorted.partition_point(|known| known.total_cmp(&number).is_lt());
            sorted.insert(at, number);
            let old = numbers[(next - WINDOW) % numbers.len()];
            let at = sorted.partition_point(|known| known.total_cmp(&old).is_lt());
            sorted.remove(at);
            next += 1;
            let rank = (0.95 * sorted.len() as f64).ceil() as usize;
            black_box(sorted[rank - 1])
        });
    });
    group.finish();
}

criterion_group!(benches, correlation, percentile_window);
criterion_main!(benches);
