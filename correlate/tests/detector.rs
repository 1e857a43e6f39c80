//! The streaming detector over a real event store: segments published one after another (and
//! across a restart of the detector) raise the same alert, with the same id, as a backtest of
//! the whole store; a committed step is never matched again; alerts name the entities and
//! services of their evidence events.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use weft_correlate::correlation::backtest::{TimeRange, backtest};
use weft_correlate::correlation::{CorrelationSet, CorrelatorConfig, ManualClock};
use weft_correlate::detect::{Detector, DetectorConfig, EntityReader, RuleBatch};
use weft_correlate::record::{AlertSource, Entity};
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};
use weft_ingest::Event;
use weft_ingest::batch::RecordMeta;
use weft_ingest::store::{EventStore, FlushPolicy};

const RULES: &str = "title: Brute force then success
id: 6a1d8f0e-3c1b-4f7a-9d55-0b0f6c1e2a10
correlation:
    type: temporal_ordered
    rules:
        - many_failures
        - login_ok
    group-by:
        - User
    timespan: 10m
level: high
tags:
    - attack.credential_access
    - attack.t1110
---
title: Many failed logons
name: many_failures
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Failed logon
name: login_failed
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful logon
name: login_ok
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
---
title: Security log cleared
id: 0d1f7a55-2f4e-4c8e-bb5d-7f0c9a3b6e21
level: medium
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 1102
    condition: selection
";

/// 2026-05-01T12:00:00Z.
const NOON: i64 = 1_777_636_800_000_000;
const SECOND: i64 = 1_000_000;

fn event(time: i64, event_id: &'static str, user: &'static str) -> Event<'static> {
    let mut event = Event::new("windows");
    event.time = Some(time);
    event.user = Some(Cow::Borrowed(user));
    event.src_ip = Some(Cow::Borrowed("198.51.100.23"));
    event.attrs = vec![
        (Cow::Borrowed("Channel"), Cow::Borrowed("Security")),
        (Cow::Borrowed("EventID"), Cow::Borrowed(event_id)),
        (Cow::Borrowed("User"), Cow::Borrowed(user)),
    ];
    event
}

/// alice fails 12 times 20 s apart and then logs on; the log is cleared by bob.
fn events() -> Vec<Event<'static>> {
    let mut events = Vec::new();
    for index in 0..12 {
        events.push(event(NOON + index * 20 * SECOND, "4625", "alice"));
    }
    events.push(event(NOON + 5 * 60 * SECOND, "4624", "alice"));
    events.push(event(NOON + 6 * 60 * SECOND, "1102", "bob"));
    events.push(event(NOON + 30 * 60 * SECOND, "4688", "carol"));
    events
}

/// Appends `events[range]` as one segment.
fn publish(data_dir: &Path, range: std::ops::Range<usize>) {
    let events = events();
    let mut store = EventStore::open(data_dir, FlushPolicy::default()).expect("store opens");
    for index in range {
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: NOON,
            event_id: &id,
            service: "dc01",
            raw: "{}",
            not_utf8: false,
        };
        store
            .append(&events[index], &meta, "security.evtx", index as u64)
            .expect("append");
    }
    store.flush().expect("flush");
}

struct Rules {
    matcher: Arc<SigmaMatcher>,
    set: Arc<CorrelationSet>,
}

fn rules(root: &Path) -> Rules {
    let dir = root.join("rules");
    std::fs::create_dir_all(&dir).expect("rules dir");
    std::fs::write(dir.join("rules.yml"), RULES).expect("rules written");
    let loaded = load_paths(&[dir], &Placeholders::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let mapping = FieldMapping::default();
    let matcher = SigmaMatcher::new(loaded.rules, &mapping);
    let set = CorrelationSet::new(matcher.rules(), &loaded.correlations, &mapping)
        .expect("rules compile");
    Rules {
        matcher: Arc::new(matcher),
        set: Arc::new(set),
    }
}

fn detector(data_dir: &Path, rules: &Rules) -> Detector {
    Detector::open(
        data_dir,
        Arc::clone(&rules.matcher),
        Arc::clone(&rules.set),
        DetectorConfig::default(),
        Arc::new(ManualClock::new(NOON)),
    )
    .expect("detector opens")
}

#[test]
fn segments_streamed_across_a_restart_alert_like_a_backtest() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    let rules = rules(root.path());

    // The first eight failures: nothing fires yet.
    publish(&data_dir, 0..8);
    let mut first = detector(&data_dir, &rules);
    let step = first.poll(false).expect("poll");
    assert_eq!((step.segments, step.events), (1, 8));
    assert!(step.alerts.is_empty(), "{:#?}", step.alerts);
    first.commit().expect("commit");
    drop(first);

    // The rest arrives after a restart; the window spanning it still fires, once.
    publish(&data_dir, 8..15);
    let mut second = detector(&data_dir, &rules);
    let step = second.poll(true).expect("poll");
    assert_eq!((step.segments, step.events), (1, 7));
    second.commit().expect("commit");
    let mut alerts = step.alerts;
    alerts.sort_by(|left, right| left.alert.title.cmp(&right.alert.title));
    assert_eq!(alerts.len(), 2, "{alerts:#?}");

    let correlation = &alerts[0];
    assert_eq!(correlation.alert.title, "Brute force then success");
    assert_eq!(correlation.alert.event_count, 11);
    assert_eq!(correlation.source, AlertSource::Stream);
    assert!(correlation.entities.contains(&Entity::new("user", "alice")));
    assert!(
        correlation
            .entities
            .contains(&Entity::new("src_ip", "198.51.100.23"))
    );
    assert_eq!(correlation.services, vec!["dc01".to_string()]);

    let cleared = &alerts[1];
    assert_eq!(cleared.alert.title, "Security log cleared");
    assert_eq!(cleared.alert.correlation_type, "single");
    assert!(cleared.entities.contains(&Entity::new("user", "bob")));

    // The backtest of the whole store reports the same alert ids.
    let report = backtest(
        &data_dir,
        &rules.matcher,
        Arc::clone(&rules.set),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect("backtest");
    let mut streamed: Vec<&str> = alerts
        .iter()
        .map(|record| &*record.alert.alert_id)
        .collect();
    let mut replayed: Vec<&str> = report.alerts.iter().map(|alert| &*alert.alert_id).collect();
    streamed.sort();
    replayed.sort();
    assert_eq!(streamed, replayed);

    // Committed segments are never matched again.
    let mut third = detector(&data_dir, &rules);
    let step = third.poll(true).expect("poll");
    assert_eq!(step.segments, 0);
    assert!(step.alerts.is_empty());
}

#[test]
fn an_uncommitted_step_is_repeated_with_the_same_alert_ids() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    let rules = rules(root.path());
    publish(&data_dir, 0..15);
    let ids = |detector: &mut Detector| {
        let mut ids: Vec<String> = detector
            .poll(true)
            .expect("poll")
            .alerts
            .into_iter()
            .map(|record| record.alert.alert_id)
            .collect();
        ids.sort();
        ids
    };
    // A crash before commit: the next detector repeats the step.
    let crashed = ids(&mut detector(&data_dir, &rules));
    assert_eq!(crashed.len(), 2);
    let mut again = detector(&data_dir, &rules);
    assert_eq!(ids(&mut again), crashed);
}

#[test]
fn without_end_of_input_windows_wait_for_the_allowed_lateness() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    let rules = rules(root.path());
    publish(&data_dir, 0..13);
    let mut detector = detector(&data_dir, &rules);
    let step = detector.poll(false).expect("poll");
    // The success is the newest event: its window is not decided within the lateness.
    assert!(
        step.alerts
            .iter()
            .all(|record| record.alert.title != "Brute force then success"),
        "{:#?}",
        step.alerts
    );
    detector.commit().expect("commit");
    publish(&data_dir, 13..15);
    let step = detector.poll(false).expect("poll");
    assert!(
        step.alerts
            .iter()
            .any(|record| record.alert.title == "Brute force then success"),
        "{:#?}",
        step.alerts
    );
}

#[test]
fn a_batch_run_agrees_with_the_stream_and_keeps_only_the_rules_asked_for() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    let rules = rules(root.path());
    publish(&data_dir, 0..15);
    let mut streaming = detector(&data_dir, &rules);
    let mut streamed: Vec<_> = streaming.poll(true).expect("poll").alerts;
    streamed.sort_by(|left, right| left.alert.alert_id.cmp(&right.alert.alert_id));

    let batch = RuleBatch::new(
        &data_dir,
        Arc::clone(&rules.matcher),
        Arc::clone(&rules.set),
        EntityReader::new(&DetectorConfig::default().entity_types),
        CorrelatorConfig::default(),
    );
    let job = AlertSource::Job {
        job: "nightly".into(),
    };
    let mut all = batch
        .run(TimeRange::default(), None, job.clone())
        .expect("batch")
        .alerts;
    all.sort_by(|left, right| left.alert.alert_id.cmp(&right.alert.alert_id));
    assert_eq!(all.len(), streamed.len());
    for (batch, stream) in all.iter().zip(&streamed) {
        assert_eq!(batch.alert, stream.alert);
        assert_eq!(batch.entities, stream.entities);
        assert_eq!(batch.services, stream.services);
        assert_eq!(batch.source, job);
    }

    let only = batch
        .run(
            TimeRange::default(),
            Some(&["0d1f7a55-2f4e-4c8e-bb5d-7f0c9a3b6e21".to_string()]),
            job,
        )
        .expect("batch");
    assert_eq!(only.events_scanned, 15);
    assert_eq!(only.alerts.len(), 1);
    assert_eq!(only.alerts[0].alert.title, "Security log cleared");
}
