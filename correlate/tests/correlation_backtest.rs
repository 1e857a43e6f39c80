//! Backtest over a real event store: the specification's example (multiple failed logins
//! followed by a successful login) on generated Windows Security events written with the
//! ingest store, through the Sigma matcher and the correlator; and the `weft rules backtest`
//! command module (compiled here from `src/backtest_cmd.rs`).

#[path = "../../src/backtest_cmd.rs"]
mod backtest_cmd;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use weft_correlate::correlation::backtest::{TimeRange, backtest, parse_time};
use weft_correlate::correlation::{CorrelationSet, CorrelatorConfig};
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};
use weft_ingest::Event;
use weft_ingest::batch::RecordMeta;
use weft_ingest::store::{EventStore, FlushPolicy};

/// The specification's "Failed Logins Followed by Successful Login" example, verbatim.
const SPEC_EXAMPLE: &str = "title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
";

/// 2026-05-01T12:00:00Z.
const NOON: i64 = 1_777_636_800_000_000;
const SECOND: i64 = 1_000_000;

fn windows_event(time: i64, event_id: &'static str, user: &'static str) -> Event<'static> {
    let mut event = Event::new("windows");
    event.time = Some(time);
    event.attrs = vec![
        (Cow::Borrowed("Channel"), Cow::Borrowed("Security")),
        (Cow::Borrowed("EventID"), Cow::Borrowed(event_id)),
        (Cow::Borrowed("User"), Cow::Borrowed(user)),
    ];
    event
}

/// alice: 12 failures 20 s apart, then a success; bob: 5 failures, then a success. Written out
/// of time order, across two segments.
fn write_store(data_dir: &Path) {
    let mut events = Vec::new();
    for index in 0..12 {
        events.push(windows_event(NOON + index * 20 * SECOND, "4625", "alice"));
    }
    events.push(windows_event(NOON + 5 * 60 * SECOND, "4624", "alice"));
    for index in 0..5 {
        events.push(windows_event(NOON + index * SECOND, "4625", "bob"));
    }
    events.push(windows_event(NOON + 60 * SECOND, "4624", "bob"));
    events.reverse();
    let mut store = EventStore::open(data_dir, FlushPolicy::default()).expect("store opens");
    for (index, event) in events.iter().enumerate() {
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: NOON,
            event_id: &id,
            service: "dc01",
            raw: "{}",
            not_utf8: false,
        };
        store
            .append(event, &meta, "security.evtx", index as u64)
            .expect("append");
        if index == 8 {
            store.flush().expect("flush");
        }
    }
    store.flush().expect("flush");
}

fn rules_dir(root: &Path) -> std::path::PathBuf {
    let dir = root.join("rules");
    std::fs::create_dir_all(&dir).expect("rules dir");
    std::fs::write(dir.join("mr_failed_then_success.yml"), SPEC_EXAMPLE).expect("rules written");
    dir
}

#[test]
fn spec_example_backtests_over_the_store() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    write_store(&data_dir);
    let rules = load_paths(&[rules_dir(root.path())], &Placeholders::default());
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let mapping = FieldMapping::default();
    let matcher = SigmaMatcher::new(rules.rules, &mapping);
    let set = Arc::new(
        CorrelationSet::new(matcher.rules(), &rules.correlations, &mapping).expect("compiles"),
    );
    let report = backtest(
        &data_dir,
        &matcher,
        set.clone(),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect("backtest runs");
    assert_eq!(report.events_read, 19);
    assert_eq!(report.segments_read, 2);
    assert_eq!(report.alerts.len(), 1, "{:#?}", report.alerts);
    let alert = &report.alerts[0];
    assert_eq!(
        alert.rule_id.as_deref(),
        Some("b180ead8-d58f-40b2-ae54-c8940995b9b6")
    );
    assert_eq!(alert.level.as_deref(), Some("high"));
    assert_eq!(
        alert.author.as_deref(),
        Some("Florian Roth (Nextron Systems)")
    );
    assert_eq!(alert.group.get("User").map(String::as_str), Some("alice"));
    // The first 10 failures fire the inner rule; the success follows within 10 minutes.
    assert_eq!(alert.event_count, 11);
    assert_eq!(alert.window_end, NOON + 5 * 60 * SECOND);

    // The same replay again: the same alert id.
    let again = backtest(
        &data_dir,
        &matcher,
        set.clone(),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect("backtest runs");
    assert_eq!(again.alerts, report.alerts);

    // A range that ends before the success: no alert.
    let early = backtest(
        &data_dir,
        &matcher,
        set,
        TimeRange {
            from: None,
            to: Some(NOON + 4 * 60 * SECOND),
        },
        CorrelatorConfig::default(),
    )
    .expect("backtest runs");
    assert!(early.alerts.is_empty());
}

#[test]
fn backtest_command_runs_with_json_and_table_output() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data");
    write_store(&data_dir);
    for json in [true, false] {
        let code = backtest_cmd::run(backtest_cmd::BacktestArgs {
            rules: vec![rules_dir(root.path())],
            from: Some("2026-05-01".into()),
            to: Some("2026-05-01T13:00:00Z".into()),
            data_dir: Some(data_dir.clone()),
            mapping: Vec::new(),
            json,
        })
        .expect("backtest command runs");
        assert_eq!(code, std::process::ExitCode::SUCCESS);
    }
    let bad = backtest_cmd::run(backtest_cmd::BacktestArgs {
        rules: vec![rules_dir(root.path())],
        from: Some("yesterday".into()),
        to: None,
        data_dir: Some(data_dir),
        mapping: Vec::new(),
        json: true,
    });
    assert!(bad.is_err());
}

#[test]
fn time_arguments() {
    assert_eq!(parse_time("2026-05-01T12:00:00Z", false), Some(NOON));
    assert_eq!(
        parse_time("2026-05-01", false),
        Some(NOON - 12 * 3_600 * SECOND)
    );
    assert_eq!(
        parse_time("2026-05-01", true),
        Some(NOON + 12 * 3_600 * SECOND - 1)
    );
    assert_eq!(parse_time("1777636800", false), Some(NOON));
    assert_eq!(parse_time("soon", false), None);
}

#[test]
fn json_lines_carry_the_documented_fields() {
    let alert = weft_correlate::correlation::Alert {
        alert_id: "a".into(),
        rule_id: Some("r".into()),
        rule_name: "n".into(),
        title: "t".into(),
        level: Some("high".into()),
        tags: Vec::new(),
        author: Some("Florian Roth (Nextron Systems)".into()),
        correlation_type: "event_count".into(),
        group: [("User".to_string(), "alice".to_string())].into(),
        window_start: NOON,
        window_end: NOON + SECOND,
        event_ids: vec!["e1".into()],
        event_count: 3,
    };
    let line = backtest_cmd::alert_json(&alert);
    let keys: Vec<&str> = line
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "alert_id",
        "author",
        "event_count",
        "event_ids",
        "group",
        "level",
        "rule_id",
        "rule_name",
        "window_end",
        "window_start",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(line["group"]["User"], "alice");
    assert_eq!(line["author"], "Florian Roth (Nextron Systems)");
    assert_eq!(line["window_start"], "2026-05-01T12:00:00.000000Z");
}

/// The scan reads only the range's events (DataFusion filters them in the Parquet reader), a
/// store whose path has glob characters is read as it is, and a damaged segment is an error
/// that names it.
#[test]
fn the_scan_reads_the_range_from_any_path_and_names_a_damaged_segment() {
    let root = tempfile::tempdir().expect("temporary directory");
    let data_dir = root.path().join("data [2026] *");
    write_store(&data_dir);
    let rules = load_paths(&[rules_dir(root.path())], &Placeholders::default());
    let mapping = FieldMapping::default();
    let matcher = SigmaMatcher::new(rules.rules, &mapping);
    let set = Arc::new(
        CorrelationSet::new(matcher.rules(), &rules.correlations, &mapping).expect("compiles"),
    );
    let whole = backtest(
        &data_dir,
        &matcher,
        set.clone(),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect("backtest runs");
    assert_eq!((whole.events_read, whole.alerts.len()), (19, 1));
    // From the minute on: alice's last 9 failures and her success, bob's success; his
    // failures and alice's first three are not read.
    let late = backtest(
        &data_dir,
        &matcher,
        set.clone(),
        TimeRange {
            from: Some(NOON + 60 * SECOND),
            to: Some(NOON + 10 * 60 * SECOND),
        },
        CorrelatorConfig::default(),
    )
    .expect("backtest runs");
    assert_eq!(late.events_read, 11);
    assert!(late.alerts.is_empty(), "9 failures are not 10");

    let segment = std::fs::read_dir(data_dir.join("events"))
        .expect("events directory")
        .flat_map(|day| std::fs::read_dir(day.expect("entry").path()).expect("day"))
        .flat_map(|hour| std::fs::read_dir(hour.expect("entry").path()).expect("hour"))
        .map(|file| file.expect("entry").path())
        .find(|path| {
            path.extension()
                .is_some_and(|extension| extension == "parquet")
        })
        .expect("a segment");
    let bytes = std::fs::read(&segment).expect("segment read");
    std::fs::write(&segment, &bytes[..bytes.len() / 2]).expect("segment truncated");
    let error = backtest(
        &data_dir,
        &matcher,
        set,
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .expect_err("a truncated segment fails the backtest");
    let name = segment
        .file_name()
        .and_then(|name| name.to_str())
        .expect("file name");
    assert!(error.to_string().contains(name), "{error}");
}
