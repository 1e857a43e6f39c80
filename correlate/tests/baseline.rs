//! Learned baselines (`weft_correlate::baseline`) in the correlator: three weeks of service
//! calls learned per hour of the week, then a never-seen pair and a tenfold hour; normal
//! traffic alone raises nothing; checkpoints and restarts neither forget nor double-count;
//! the detector streaming stored segments across a restart reports what a backtest reports.

#[path = "support/correlation.rs"]
mod support;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use support::{Rules, SECOND};
use weft_correlate::correlation::backtest::{TimeRange, backtest};
use weft_correlate::correlation::{
    Alert, CorrelationSet, Correlator, CorrelatorConfig, ManualClock, Signal,
};
use weft_correlate::detect::{Detector, DetectorConfig};
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};
use weft_ingest::Event;
use weft_ingest::batch::RecordMeta;
use weft_ingest::store::{EventStore, FlushPolicy};

const HOUR: i64 = 3_600 * SECOND;
const WEEK: i64 = 168 * HOUR;
/// A week boundary since the epoch (hour-of-week slots are counted from the epoch, UTC).
const T0: i64 = 2_920 * WEEK;

const BASELINE: &str = "title: Service calls off their baseline
id: 7c1e0b7a-0d8e-4f55-9a31-5b8f2e6d4c10
level: medium
tags:
    - attack.lateral-movement
baseline:
    rules: [call]
    of: [caller, service]
    learn: 14d
    bucket: 1h
    seasonality: hour-of-week
    alert-on: [new-pair, spike]
";

/// Calls per hour of `caller -> service` at `hour` (since T0): busy on weekdays 9-17.
fn rate(pair: (&str, &str), hour: i64) -> i64 {
    let of_week = hour % 168;
    let busy = of_week / 24 < 5 && (9..17).contains(&(of_week % 24));
    match (pair, busy) {
        (("gateway", "auth"), true) => 20,
        (("gateway", "auth"), false) => 2,
        (("gateway", "orders"), true) => 10,
        (("gateway", "orders"), false) => 1,
        (("orders", "payments"), true) => 5,
        _ => 0,
    }
}

const PAIRS: [(&str, &str); 3] = [
    ("gateway", "auth"),
    ("gateway", "orders"),
    ("orders", "payments"),
];

/// The hour (since T0) of the tenfold burst: Saturday 03:00 of the third week.
const SPIKE_HOUR: i64 = 2 * 168 + 5 * 24 + 3;
/// The hour of the first call of a new pair: Tuesday 06:00 of the third week.
const NEW_PAIR_HOUR: i64 = 2 * 168 + 24 + 6;

/// Three weeks of calls, in time order; with `anomalies`, the new pair (three calls, and one
/// more a day later) and the burst.
fn calls(rules: &Rules, anomalies: bool) -> Vec<Signal> {
    let mut events: Vec<(i64, &str, &str)> = Vec::new();
    for hour in 0..3 * 168 {
        for (index, pair) in PAIRS.iter().enumerate() {
            let mut count = rate(*pair, hour);
            if anomalies && hour == SPIKE_HOUR && *pair == ("gateway", "auth") {
                count *= 10;
            }
            for n in 0..count {
                let time = T0 + hour * HOUR + n * (HOUR / count) + index as i64 * SECOND;
                events.push((time, pair.0, pair.1));
            }
        }
    }
    if anomalies {
        for time in [
            NEW_PAIR_HOUR * HOUR + 90 * SECOND,
            NEW_PAIR_HOUR * HOUR + 700 * SECOND,
            NEW_PAIR_HOUR * HOUR + 1_900 * SECOND,
            (NEW_PAIR_HOUR + 24) * HOUR + 5 * SECOND,
        ] {
            events.push((T0 + time, "orders", "ledger"));
        }
    }
    events.sort();
    events
        .iter()
        .map(|(time, caller, service)| {
            rules.signal("call", *time, &[("caller", caller), ("service", service)])
        })
        .collect()
}

fn sorted(mut alerts: Vec<Alert>) -> Vec<Alert> {
    alerts.sort_by(|left, right| {
        (left.window_end, &left.alert_id).cmp(&(right.window_end, &right.alert_id))
    });
    alerts
}

#[test]
fn a_new_pair_and_a_tenfold_hour_fire_once_each_after_training() {
    let rules = Rules::new(&["call"], BASELINE);
    let alerts = sorted(rules.replay(calls(&rules, true)));
    assert_eq!(alerts.len(), 2, "{alerts:#?}");

    let new_pair = &alerts[0];
    assert_eq!(new_pair.correlation_type, "baseline_new_pair");
    assert_eq!(
        new_pair.rule_id.as_deref(),
        Some("7c1e0b7a-0d8e-4f55-9a31-5b8f2e6d4c10")
    );
    assert_eq!(new_pair.level.as_deref(), Some("medium"));
    assert_eq!(
        new_pair.group.get("caller").map(String::as_str),
        Some("orders")
    );
    assert_eq!(
        new_pair.group.get("service").map(String::as_str),
        Some("ledger")
    );
    let first_call = T0 + NEW_PAIR_HOUR * HOUR + 90 * SECOND;
    assert_eq!(
        (new_pair.window_start, new_pair.window_end),
        (T0 + NEW_PAIR_HOUR * HOUR, first_call)
    );
    assert_eq!(new_pair.event_count, 1);

    let spike = &alerts[1];
    assert_eq!(spike.correlation_type, "baseline_spike");
    assert_eq!(
        spike.group.get("caller").map(String::as_str),
        Some("gateway")
    );
    assert_eq!(spike.group.get("service").map(String::as_str), Some("auth"));
    let bucket = T0 + SPIKE_HOUR * HOUR;
    assert_eq!(
        (spike.window_start, spike.window_end),
        (bucket, bucket + HOUR - 1)
    );
    assert_eq!(spike.event_count, 20);
    assert_eq!(spike.event_ids.len(), 20);
}

#[test]
fn normal_traffic_raises_nothing() {
    let rules = Rules::new(&["call"], BASELINE);
    let alerts = rules.replay(calls(&rules, false));
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn the_same_anomalies_during_training_are_learned_not_reported() {
    // Shifted two weeks earlier, the new pair and the burst fall in the training window.
    let rules = Rules::new(&["call"], BASELINE);
    let mut signals = calls(&rules, false);
    for offset in 0..3 {
        signals.push(rules.signal(
            "call",
            T0 + (NEW_PAIR_HOUR - 336) * HOUR + offset * SECOND,
            &[("caller", "orders"), ("service", "ledger")],
        ));
    }
    signals.sort_by_key(|signal| signal.key);
    assert!(rules.replay(signals).is_empty());
}

/// Streams `signals` in chunks with five seconds of allowed lateness, advancing after each
/// chunk; with `checkpoints`, every few chunks the state is written to a file and a new
/// correlator is restored from it (a restart).
fn stream(rules: &Rules, signals: &[Signal], checkpoints: Option<&Path>) -> Vec<Alert> {
    let config = CorrelatorConfig {
        allowed_lateness: 5 * SECOND,
        ..CorrelatorConfig::default()
    };
    let clock = Arc::new(ManualClock::new(0));
    let mut correlator = Correlator::new(rules.set.clone(), config, clock.clone());
    let mut alerts = Vec::new();
    for (index, chunk) in signals.chunks(397).enumerate() {
        for signal in chunk {
            correlator.observe(signal.clone());
        }
        alerts.extend(correlator.advance());
        if let Some(path) = checkpoints
            && index % 5 == 2
        {
            correlator
                .save_checkpoint(path)
                .expect("checkpoint written");
            drop(correlator);
            correlator =
                Correlator::load_checkpoint(rules.set.clone(), config, clock.clone(), path)
                    .expect("checkpoint restored");
        }
    }
    alerts.extend(correlator.flush());
    alerts
}

#[test]
fn restarts_from_checkpoints_neither_forget_nor_double_count() {
    let rules = Rules::new(&["call"], BASELINE);
    let signals = calls(&rules, true);
    let replayed = sorted(rules.replay(signals.clone()));
    assert_eq!(replayed.len(), 2);

    let streamed = sorted(stream(&rules, &signals, None));
    assert_eq!(streamed, replayed, "streaming equals the replay");

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("correlation.checkpoint.json");
    let restarted = sorted(stream(&rules, &signals, Some(&path)));
    assert_eq!(restarted, replayed, "restarts change nothing");
    let saved = std::fs::read_to_string(&path).expect("checkpoint exists");
    assert!(saved.contains("\"baseline\""), "the learned state is saved");
}

#[test]
fn pairs_beyond_the_cap_are_counted_and_not_alerted() {
    let rules = Rules::new(
        &["call"],
        &BASELINE.replace("learn: 14d", "learn: 14d\n    max-pairs: 2"),
    );
    let mut correlator = rules.correlator(CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    });
    for signal in calls(&rules, true) {
        correlator.observe(signal);
    }
    let alerts = correlator.flush();
    let metrics = &correlator.metrics().rules[0];
    assert!(metrics.dropped_by_group_cap > 0, "{metrics:?}");
    assert_eq!(metrics.peak_groups, 2);
    assert!(
        alerts
            .iter()
            .all(|alert| alert.correlation_type != "baseline_new_pair"),
        "{alerts:#?}"
    );
}

// The detector over a real event store, across a restart, against a backtest.

const STORE_RULES: &str = "title: Calls off their baseline
id: 2b5e9c41-7f3a-4d2e-8b6c-0a1d9e8f7c21
level: high
tags:
    - attack.lateral-movement
baseline:
    where:
        caller|exists: true
    of: [caller, service]
    learn: 6h
    bucket: 1h
    seasonality: none
";

fn call_event(time: i64, caller: &'static str) -> Event<'static> {
    let mut event = Event::new("json");
    event.time = Some(time);
    event.attrs = vec![(Cow::Borrowed("caller"), Cow::Borrowed(caller))];
    event
}

/// Twelve hours from `T0`: gateway calls auth three times an hour and orders twice; at hour 8
/// orders calls ledger for the first time; at hour 9 gateway calls auth thirty times.
fn store_events() -> Vec<(Event<'static>, &'static str)> {
    let mut events = Vec::new();
    for hour in 0..12 {
        let auth = if hour == 9 { 30 } else { 3 };
        for n in 0..auth {
            events.push((
                call_event(T0 + hour * HOUR + n * 100 * SECOND, "gateway"),
                "auth",
            ));
        }
        for n in 0..2 {
            events.push((
                call_event(
                    T0 + hour * HOUR + n * 1_000 * SECOND + 7 * SECOND,
                    "gateway",
                ),
                "orders",
            ));
        }
    }
    events.push((call_event(T0 + 8 * HOUR + 42 * SECOND, "orders"), "ledger"));
    events.sort_by_key(|(event, _)| event.time);
    events
}

fn publish(data_dir: &Path, range: std::ops::Range<usize>) {
    let events = store_events();
    let mut store = EventStore::open(data_dir, FlushPolicy::default()).expect("store opens");
    for index in range {
        let (event, service) = &events[index];
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: T0,
            event_id: &id,
            service,
            raw: "{}",
            not_utf8: false,
        };
        store
            .append(event, &meta, "calls.log", index as u64)
            .expect("append");
    }
    store.flush().expect("flush");
}

#[test]
fn the_detector_across_a_restart_reports_what_a_backtest_reports() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    let rules_dir = root.path().join("rules");
    std::fs::create_dir_all(&rules_dir).expect("rules dir");
    std::fs::write(rules_dir.join("baseline.yml"), STORE_RULES).expect("rules written");
    let loaded = load_paths(&[rules_dir], &Placeholders::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let mapping = FieldMapping::default();
    let matcher = Arc::new(SigmaMatcher::new(loaded.rules, &mapping));
    let set = Arc::new(
        CorrelationSet::new(matcher.rules(), &loaded.correlations, &mapping).expect("compiles"),
    );
    let open = || {
        Detector::open(
            &data_dir,
            Arc::clone(&matcher),
            Arc::clone(&set),
            DetectorConfig::default(),
            Arc::new(ManualClock::new(T0)),
        )
        .expect("detector opens")
    };

    let total = store_events().len();
    let half = total / 2;
    let mut streamed = Vec::new();
    publish(&data_dir, 0..half);
    let mut first = open();
    streamed.extend(first.poll(false).expect("poll").alerts);
    first.commit().expect("commit");
    drop(first);
    publish(&data_dir, half..total);
    let mut second = open();
    streamed.extend(second.poll(true).expect("poll").alerts);
    second.commit().expect("commit");

    let mut streamed: Vec<(String, String)> = streamed
        .into_iter()
        .map(|record| (record.alert.correlation_type, record.alert.alert_id))
        .collect();
    streamed.sort();
    let types: Vec<&str> = streamed.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(types, vec!["baseline_new_pair", "baseline_spike"]);

    let report = backtest(
        &data_dir,
        &matcher,
        Arc::clone(&set),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect("backtest");
    let mut replayed: Vec<(String, String)> = report
        .alerts
        .into_iter()
        .map(|alert| (alert.correlation_type, alert.alert_id))
        .collect();
    replayed.sort();
    assert_eq!(streamed, replayed);
}

#[test]
fn learned_baselines_survive_a_change_of_other_rules() {
    let before = Rules::new(&["call"], BASELINE);
    let other = "title: bursts\nid: 3e2f8a10-5c4b-4d6e-9f70-8a1b2c3d4e5f\ncorrelation:\n    type: event_count\n    rules: [other]\n    group-by: [caller]\n    timespan: 5m\n    condition:\n        gte: 100\n";
    let after = Rules::new(&["call", "other"], &format!("{BASELINE}---\n{other}"));
    let split = T0 + 400 * HOUR;
    let config = CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    };

    let mut first = before.correlator(config);
    let mut alerts = Vec::new();
    for signal in calls(&before, true) {
        if signal.key.time < split {
            first.observe(signal);
        }
    }
    alerts.extend(first.advance_to(split));
    let checkpoint = first.checkpoint();
    assert_ne!(checkpoint.rules, after.set.fingerprint());

    let resumed = |adopt: bool| {
        let mut second = after.correlator(config);
        if adopt {
            assert_eq!(second.adopt_baselines(&checkpoint), 1);
        }
        for signal in calls(&after, true) {
            if signal.key.time >= split {
                second.observe(signal);
            }
        }
        second.flush()
    };
    alerts.extend(resumed(true));
    let expected = sorted(before.replay(calls(&before, true)));
    assert_eq!(sorted(alerts), expected);
    // Without the adopted state the rule would start learning again and miss the burst.
    assert!(resumed(false).is_empty());
}

#[test]
fn two_partitions_delivered_out_of_order_within_the_lateness_alert_like_the_replay() {
    let rules = Rules::new(&["call"], BASELINE);
    // gateway -> auth comes from partition 1, which delivers three seconds behind partition 0.
    let mut signals = calls(&rules, true);
    for signal in &mut signals {
        if signal.values.first().and_then(Option::as_deref) == Some("gateway")
            && signal.values.get(1).and_then(Option::as_deref) == Some("auth")
        {
            signal.key.partition = 1;
        }
    }
    let replayed = sorted(rules.replay(signals.clone()));
    assert_eq!(replayed.len(), 2);

    let mut delivery = signals;
    delivery.sort_by_key(|signal| {
        let lag = if signal.key.partition == 1 {
            3 * SECOND
        } else {
            0
        };
        (signal.key.time + lag, signal.key.partition)
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("correlation.checkpoint.json");
    let streamed = sorted(stream(&rules, &delivery, Some(&path)));
    assert_eq!(streamed, replayed);
}

#[test]
fn a_baseline_state_of_another_format_version_is_refused() {
    let rules = Rules::new(&["call"], BASELINE);
    let config = CorrelatorConfig::default();
    let mut correlator = rules.correlator(config);
    for signal in calls(&rules, false).into_iter().take(100) {
        correlator.observe(signal);
    }
    correlator.flush();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("correlation.checkpoint.json");
    correlator.save_checkpoint(&path).expect("saved");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"baseline\":{\"version\":1,"), "{text:.300}");
    std::fs::write(
        &path,
        text.replace(
            "\"baseline\":{\"version\":1,",
            "\"baseline\":{\"version\":99,",
        ),
    )
    .expect("written");
    let clock = Arc::new(ManualClock::new(0));
    let error = Correlator::load_checkpoint(rules.set.clone(), config, clock, &path)
        .expect_err("another version is refused");
    assert!(error.to_string().contains("version 99"), "{error}");
}

#[test]
fn a_baseline_of_sums_reads_its_numeric_field() {
    let rule = "title: egress bytes\nid: 4a9c2e10-1b3d-4f5a-8c7e-9d0f1a2b3c4d\nlevel: medium\nbaseline:\n    rules: [call]\n    of: [caller, service]\n    sum: bytes\n    learn: 6h\n    bucket: 1h\n    seasonality: none\n    alert-on: [spike]\n    min-history: 3\n    deviation:\n        min: 1000000\n";
    let rules = Rules::new(&["call"], rule);
    let mut signals = Vec::new();
    for hour in 0..10 {
        for n in 0..5 {
            let bytes = if hour == 8 { "40000000" } else { "20000" };
            let fields = [
                ("caller", "payments"),
                ("service", "203.0.113.9"),
                ("bytes", bytes),
            ];
            signals.push(rules.signal("call", T0 + hour * HOUR + n * 60 * SECOND, &fields));
        }
    }
    let fields = [
        ("caller", "payments"),
        ("service", "203.0.113.9"),
        ("bytes", "n/a"),
    ];
    signals.push(rules.signal("call", T0 + 9 * HOUR + 30 * 60 * SECOND, &fields));
    let mut correlator = rules.correlator(CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    });
    for signal in signals {
        correlator.observe(signal);
    }
    let alerts = correlator.flush();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].correlation_type, "baseline_spike");
    assert_eq!(alerts[0].window_start, T0 + 8 * HOUR);
    assert_eq!(alerts[0].event_count, 5);
    assert_eq!(correlator.metrics().rules[0].missing_value, 1);
}
