//! Streaming equals batch: random multi-service event streams, delivered per partition out of
//! order within the allowed lateness, interleaved across partitions at random, with random
//! checkpoint/restore restarts, produce exactly the alerts of a replay of the sorted stream
//! (Sigma correlations of every type but percentile, chains, absence, and weft sequences).

#[path = "support/correlation.rs"]
mod support;

use std::sync::Arc;

use proptest::prelude::*;
use support::{Rules, SECOND};
use weft_correlate::correlation::{
    Correlator, CorrelatorCheckpoint, CorrelatorConfig, ManualClock, Signal,
};

const RULES: &str = "title: many failures
name: many_failed
correlation:
    type: event_count
    rules: [login_failed]
    group-by: [User]
    timespan: 1m
    condition:
        gte: 3
---
title: spraying sources
name: sources
correlation:
    type: value_count
    rules: [login_failed, login_ok]
    group-by: [User]
    timespan: 2m
    condition:
        field: SourceIp
        gte: 3
---
title: failure then success
name: failure_then_success
correlation:
    type: temporal_ordered
    rules: [login_failed, login_ok]
    group-by: [User]
    timespan: 30s
---
title: token without mfa
name: token_without_mfa
correlation:
    type: temporal
    rules: [login_ok, token, mfa]
    group-by: [User]
    timespan: 1m
    condition: login_ok and token and not mfa
---
title: a single upload
name: lone_upload
correlation:
    type: event_count
    rules: [upload]
    group-by: [User]
    timespan: 45s
    condition:
        lt: 2
---
title: brute force then success
name: brute_then_success
correlation:
    type: temporal_ordered
    rules: [many_failed, login_ok]
    group-by: [User]
    timespan: 2m
---
title: upload volume
name: upload_volume
correlation:
    type: value_sum
    rules: [upload]
    group-by: [SourceIp]
    timespan: 1m
    condition:
        field: bytes
        gt: 150
---
title: upload average
name: upload_average
correlation:
    type: value_avg
    rules: [upload]
    group-by: [User]
    timespan: 1m
    condition:
        field: bytes
        gte: 60
";

/// weft sequences over the same rules: repeats, absence between steps, trailing absence,
/// `until`, and a step that is a correlation.
const SEQUENCES: &str = "title: failures then token without mfa
name: failures_token
sequence:
    by: [User]
    maxspan: 90s
    steps:
        - rule: login_failed
          repeat: 2
        - rule: mfa
          absent: true
        - token
    until: upload
---
title: success not followed by mfa
name: success_without_mfa
sequence:
    by: [account]
    maxspan: 40s
    steps:
        - rule: login_ok
          by: [User]
        - rule: mfa
          by: [User]
          absent: true
---
title: brute force then upload
name: brute_then_upload
sequence:
    by: [User]
    maxspan: 3m
    steps:
        - many_failed
        - upload
";

const BASE: [&str; 5] = ["login_failed", "login_ok", "token", "mfa", "upload"];
const LATENESS: i64 = 20 * SECOND;

#[derive(Debug, Clone)]
struct Generated {
    partition: u32,
    rule: usize,
    /// Event time in tenths of a second (coarse, so equal timestamps happen).
    tenths: i64,
    user: u8,
    source: u8,
    bytes: u8,
    /// Delivery delay within the lateness, microseconds.
    jitter: i64,
}

fn event() -> impl Strategy<Value = Generated> {
    (
        0u32..3,
        0usize..5,
        0i64..3_000,
        0u8..3,
        0u8..4,
        0u8..100,
        0i64..=LATENESS,
    )
        .prop_map(
            |(partition, rule, tenths, user, source, bytes, jitter)| Generated {
                partition,
                rule,
                tenths,
                user,
                source,
                bytes,
                jitter,
            },
        )
}

/// Per partition, the delivery order (by time plus jitter) and the offsets it gives.
fn deliveries(rules: &Rules, events: &[Generated]) -> Vec<Vec<Signal>> {
    let mut partitions: Vec<Vec<&Generated>> = vec![Vec::new(); 3];
    for generated in events {
        partitions[generated.partition as usize].push(generated);
    }
    partitions
        .into_iter()
        .enumerate()
        .map(|(partition, mut list)| {
            list.sort_by_key(|generated| generated.tenths * SECOND / 10 + generated.jitter);
            list.into_iter()
                .enumerate()
                .map(|(offset, generated)| {
                    let user = format!("user{}", generated.user);
                    let source = format!("10.0.0.{}", generated.source);
                    let bytes = generated.bytes.to_string();
                    rules.signal_at(
                        BASE[generated.rule],
                        generated.tenths * SECOND / 10,
                        partition as u32,
                        offset as u64,
                        &[
                            ("User", user.as_str()),
                            ("SourceIp", source.as_str()),
                            ("bytes", bytes.as_str()),
                        ],
                    )
                })
                .collect()
        })
        .collect()
}

fn restart(rules: &Rules, correlator: Correlator, config: CorrelatorConfig) -> Correlator {
    let bytes = serde_json::to_vec(&correlator.checkpoint()).expect("checkpoint serializes");
    drop(correlator);
    let checkpoint: CorrelatorCheckpoint =
        serde_json::from_slice(&bytes).expect("checkpoint deserializes");
    Correlator::restore(
        rules.set.clone(),
        config,
        Arc::new(ManualClock::new(0)),
        checkpoint,
    )
    .expect("checkpoint restores")
}

/// The rules above with some correlations waiting longer than the configured lateness
/// (`allowed-lateness`): a chained correlation reading a shorter-waiting one, a sequence, and a
/// correlation whose input feeds others that keep the default.
fn with_rule_lateness() -> (String, String) {
    let rules = RULES
        .replace(
            "name: brute_then_success\ncorrelation:\n",
            "name: brute_then_success\ncorrelation:\n    allowed-lateness: 40s\n",
        )
        .replace(
            "name: upload_volume\ncorrelation:\n",
            "name: upload_volume\ncorrelation:\n    allowed-lateness: 1m\n",
        );
    let sequences = SEQUENCES.replace(
        "name: failures_token\nsequence:\n",
        "name: failures_token\nsequence:\n    allowed-lateness: 30s\n",
    );
    (rules, sequences)
}

/// Streams `events` in the order `picks` draws, with restarts, and compares the alerts with
/// the replay of the sorted stream.
fn streamed_equals_batch(
    rules: &Rules,
    events: &[Generated],
    picks: Vec<(u32, u8)>,
) -> Result<(), TestCaseError> {
    let mut queues = deliveries(rules, events);
    let mut sorted: Vec<Signal> = queues.iter().flatten().cloned().collect();
    sorted.sort_by_key(|signal| signal.key);
    let batch = rules.replay(sorted);

    let config = CorrelatorConfig {
        allowed_lateness: LATENESS,
        ..CorrelatorConfig::default()
    };
    let mut correlator = Correlator::new(rules.set.clone(), config, Arc::new(ManualClock::new(0)));
    for partition in 0..3 {
        correlator.assign_partition(partition);
    }
    for queue in &mut queues {
        queue.reverse();
    }
    let mut streamed = Vec::new();
    let mut picks = picks.into_iter();
    loop {
        let (partition, action) = picks.next().unwrap_or((0, 0));
        let Some(queue) = (0..3)
            .map(|step| ((partition + step) % 3) as usize)
            .find(|candidate| !queues[*candidate].is_empty())
        else {
            break;
        };
        if let Some(signal) = queues[queue].pop() {
            correlator.observe(signal);
        }
        match action {
            0 => correlator = restart(rules, correlator, config),
            1..=5 => streamed.extend(correlator.advance()),
            _ => {}
        }
    }
    streamed.extend(correlator.advance());
    correlator = restart(rules, correlator, config);
    streamed.extend(correlator.flush());
    prop_assert_eq!(correlator.metrics().late_signals, 0);
    // The same alerts, each once (emission order across rules follows the watermark).
    let by_id = |mut alerts: Vec<weft_correlate::correlation::Alert>| {
        alerts.sort_by(|left, right| left.alert_id.cmp(&right.alert_id));
        alerts
    };
    let (streamed, batch) = (by_id(streamed), by_id(batch));
    let mut ids: Vec<&str> = batch.iter().map(|alert| alert.alert_id.as_str()).collect();
    ids.dedup();
    prop_assert_eq!(ids.len(), batch.len());
    prop_assert_eq!(streamed, batch);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn shuffled_streams_with_restarts_equal_the_sorted_replay(
        events in prop::collection::vec(event(), 1..160),
        picks in prop::collection::vec((0u32..3, 0u8..10), 0..400),
    ) {
        let rules = Rules::mixed(&BASE, Some(RULES), SEQUENCES);
        streamed_equals_batch(&rules, &events, picks)?;
    }

    #[test]
    fn per_rule_lateness_keeps_streams_equal_to_the_sorted_replay(
        events in prop::collection::vec(event(), 1..160),
        picks in prop::collection::vec((0u32..3, 0u8..10), 0..400),
    ) {
        let (correlations, sequences) = with_rule_lateness();
        let rules = Rules::mixed(&BASE, Some(&correlations), &sequences);
        streamed_equals_batch(&rules, &events, picks)?;
    }
}

#[test]
fn rule_lateness_forms_classes_and_chains_wait_for_what_they_read() {
    let (correlations, sequences) = with_rule_lateness();
    let rules = Rules::mixed(&BASE, Some(&correlations), &sequences);
    let config = CorrelatorConfig {
        allowed_lateness: LATENESS,
        ..CorrelatorConfig::default()
    };
    let correlator = rules.correlator(config);
    let classes: Vec<(i64, Vec<String>)> = correlator
        .lateness_classes()
        .into_iter()
        .map(|(lateness, mut names)| {
            names.sort();
            (lateness / SECOND, names)
        })
        .collect();
    let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
    assert_eq!(
        classes,
        vec![
            (
                20,
                names(&[
                    "brute_then_upload",
                    "failure_then_success",
                    "lone_upload",
                    "many_failed",
                    "sources",
                    "success_without_mfa",
                    "token_without_mfa",
                    "upload_average",
                ])
            ),
            (30, names(&["failures_token"])),
            (40, names(&["brute_then_success"])),
            (60, names(&["upload_volume"])),
        ]
    );
}

/// The property above is only as strong as its streams: a fixed stream drawn the same way
/// fires every rule (so every rule type takes part in the comparison; `many_failed` reports
/// nothing of its own, as only correlations refer to it, but feeds two of them).
#[test]
fn generated_streams_fire_every_rule() {
    let rules = Rules::mixed(&BASE, Some(RULES), SEQUENCES);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let events: Vec<Generated> = (0..600)
        .map(|_| Generated {
            partition: next(3) as u32,
            rule: next(5) as usize,
            tenths: next(3_000) as i64,
            user: next(3) as u8,
            source: next(4) as u8,
            bytes: next(100) as u8,
            jitter: next(LATENESS as u64) as i64,
        })
        .collect();
    let mut sorted: Vec<Signal> = deliveries(&rules, &events).into_iter().flatten().collect();
    sorted.sort_by_key(|signal| signal.key);
    let alerts = rules.replay(sorted);
    let mut fired: Vec<&str> = alerts
        .iter()
        .map(|alert| alert.rule_name.as_str())
        .collect();
    fired.sort_unstable();
    fired.dedup();
    assert_eq!(
        fired,
        vec![
            "brute_then_success",
            "brute_then_upload",
            "failure_then_success",
            "failures_token",
            "lone_upload",
            "sources",
            "success_without_mfa",
            "token_without_mfa",
            "upload_average",
            "upload_volume",
        ]
    );
}

/// A signal later than the default lateness but within a rule's own `allowed-lateness` is
/// evaluated by that rule and counted late for the others, never silently lost.
#[test]
fn a_rule_that_waits_longer_takes_a_signal_the_default_calls_late() {
    let correlations = "title: patient count
name: patient
correlation:
    type: event_count
    rules: [login_failed]
    group-by: [User]
    timespan: 10s
    allowed-lateness: 1m
    condition:
        gte: 2
---
title: prompt count
name: prompt
correlation:
    type: event_count
    rules: [login_failed]
    group-by: [User]
    timespan: 10s
    condition:
        gte: 2
";
    let rules = Rules::new(&["login_failed", "login_ok"], correlations);
    let mut correlator = rules.correlator(CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    });
    correlator.assign_partition(0);
    let user = [("User", "alice")];
    correlator.observe(rules.signal_at("login_failed", 0, 0, 0, &user));
    // An unrelated event 30 s later moves the partition's watermark.
    correlator.observe(rules.signal_at("login_ok", 30 * SECOND, 0, 1, &user));
    let early = correlator.advance();
    assert!(early.is_empty(), "{early:?}");
    // The second failure, 5 s after the first, arrives now: 25 s late.
    correlator.observe(rules.signal_at("login_failed", 5 * SECOND, 0, 2, &user));
    let mut alerts = correlator.advance();
    alerts.extend(correlator.flush());
    let fired: Vec<&str> = alerts
        .iter()
        .map(|alert| alert.rule_name.as_str())
        .collect();
    assert_eq!(fired, vec!["patient"]);
    assert_eq!(alerts[0].event_count, 2);
    assert_eq!(correlator.metrics().late_signals, 1);
    let late = correlator.take_late();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].key.time, 5 * SECOND);
}
