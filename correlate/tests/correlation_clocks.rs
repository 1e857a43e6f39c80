//! Correlation under bad and unusual clocks: out-of-order delivery, events stamped days in
//! the future or the past, windows across DST changes and leap days. Event time is UTC
//! microseconds throughout, so calendar quirks of local time never reach a window
//! (`docs/clocks.md`).

#[path = "support/correlation.rs"]
mod support;

use std::sync::Arc;

use support::{Rules, SECOND};
use weft_correlate::correlation::{Alert, Correlator, CorrelatorConfig, ManualClock, Signal};
use weft_ingest::time::parse_rfc3339;

const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn at(text: &str) -> i64 {
    parse_rfc3339(text).expect("a valid RFC 3339 time")
}

fn event_count(timespan: &str, count: u32) -> String {
    format!(
        "title: many failures\nid: 5b0c31a4-2f7e-4c55-9d8e-3f1f6a1b2c01\nname: many_failures\ncorrelation:\n    type: event_count\n    rules:\n        - failed\n    group-by:\n        - User\n    timespan: {timespan}\n    condition:\n        gte: {count}\n"
    )
}

fn user(name: &str) -> [(&str, &str); 1] {
    [("User", name)]
}

/// A correlator whose processing clock stands at `now`, capping event times `skew` ahead.
fn streaming(
    rules: &Rules,
    lateness: i64,
    skew: Option<i64>,
    now: i64,
) -> (Correlator, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now));
    let correlator = Correlator::new(
        rules.set.clone(),
        CorrelatorConfig {
            allowed_lateness: lateness,
            max_future_skew: skew,
            ..CorrelatorConfig::default()
        },
        clock.clone(),
    );
    (correlator, clock)
}

/// Observes every signal, advancing after each, then ends the stream.
fn stream(correlator: &mut Correlator, signals: Vec<Signal>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for signal in signals {
        correlator.observe(signal);
        alerts.extend(correlator.advance());
    }
    alerts.extend(correlator.flush());
    alerts
}

fn alert_ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|alert| alert.alert_id.as_str()).collect()
}

#[test]
fn shuffled_event_times_alert_like_ordered_ones_exactly_once() {
    let rules = Rules::new(&["failed"], &event_count("10m", 3));
    let base = at("2026-11-24T12:00:00Z");
    // Alice fails three times within ten minutes, bob twice, carol three times but spread
    // over twenty minutes: one alert, for alice.
    let ordered = vec![
        rules.signal("failed", base, &user("alice")),
        rules.signal("failed", base + MINUTE, &user("bob")),
        rules.signal("failed", base + 2 * MINUTE, &user("alice")),
        rules.signal("failed", base + 3 * MINUTE, &user("carol")),
        rules.signal("failed", base + 4 * MINUTE, &user("bob")),
        rules.signal("failed", base + 5 * MINUTE, &user("alice")),
        rules.signal("failed", base + 13 * MINUTE, &user("carol")),
        rules.signal("failed", base + 23 * MINUTE, &user("carol")),
    ];
    // The same events delivered with their times going backwards and forwards (at most six
    // minutes behind the newest, within the allowed lateness).
    let shuffled: Vec<Signal> = [3, 5, 0, 2, 1, 4, 7, 6]
        .into_iter()
        .map(|index| ordered[index].clone())
        .collect();
    let (mut in_order, _) = streaming(&rules, 10 * MINUTE, Some(HOUR), base);
    let expected = stream(&mut in_order, ordered.clone());
    let (mut out_of_order, _) = streaming(&rules, 10 * MINUTE, Some(HOUR), base);
    let alerts = stream(&mut out_of_order, shuffled);
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(
        expected[0].group.get("User").map(String::as_str),
        Some("alice")
    );
    assert_eq!(alert_ids(&alerts), alert_ids(&expected));
    assert_eq!(alerts, expected);
    assert_eq!(alerts, rules.replay(ordered));
    assert_eq!(out_of_order.metrics().late_signals, 0);
}

#[test]
fn an_event_days_in_the_future_does_not_make_later_events_late() {
    let rules = Rules::new(&["failed"], &event_count("10m", 3));
    let now = at("2026-11-24T12:00:00Z");
    let (mut correlator, clock) = streaming(&rules, 30 * SECOND, Some(MINUTE), now);
    // A sender whose clock is three days fast.
    correlator.observe(rules.signal("failed", now + 3 * DAY, &user("mallory")));
    assert!(correlator.advance().is_empty());
    assert_eq!(correlator.metrics().future_times_capped, 1);
    // Correctly stamped events keep arriving; none of them is late, and they correlate.
    let mut alerts = Vec::new();
    for minute in 0..3 {
        clock.advance(MINUTE);
        correlator.observe(rules.signal("failed", now + minute * MINUTE, &user("alice")));
        alerts.extend(correlator.advance());
    }
    clock.advance(MINUTE);
    correlator.observe_progress(0, now + 3 * MINUTE);
    alerts.extend(correlator.advance());
    assert_eq!(correlator.metrics().late_signals, 0);
    assert!(correlator.take_late().is_empty());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].group.get("User").map(String::as_str),
        Some("alice")
    );
    // The future event is not lost: it waits for its own time and is evaluated then.
    assert_eq!(correlator.metrics().pending_signals, 1);
    assert!(correlator.flush().is_empty());
    assert_eq!(correlator.metrics().signals_observed, 4);
    assert_eq!(correlator.metrics().pending_signals, 0);
}

#[test]
fn without_the_cap_an_event_days_ahead_makes_later_events_late() {
    // The behaviour the cap exists for, pinned so that the default of the library (no cap:
    // replays have no processing time) stays a deliberate choice.
    let rules = Rules::new(&["failed"], &event_count("10m", 3));
    let now = at("2026-11-24T12:00:00Z");
    let (mut correlator, _) = streaming(&rules, 30 * SECOND, None, now);
    correlator.observe(rules.signal("failed", now + 3 * DAY, &user("mallory")));
    assert!(correlator.advance().is_empty());
    correlator.observe(rules.signal("failed", now, &user("alice")));
    assert!(correlator.advance().is_empty());
    assert_eq!(correlator.metrics().late_signals, 1);
    assert_eq!(correlator.metrics().future_times_capped, 0);
}

#[test]
fn an_event_days_in_the_past_is_late_counted_and_kept_for_re_evaluation() {
    let rules = Rules::new(&["failed"], &event_count("10m", 2));
    let now = at("2026-11-24T12:00:00Z");
    let (mut correlator, _) = streaming(&rules, 30 * SECOND, Some(MINUTE), now);
    correlator.observe(rules.signal("failed", now, &user("alice")));
    correlator.observe_progress(0, now + MINUTE);
    assert!(correlator.advance().is_empty());
    // A record replayed from a spool, stamped four days ago.
    let old = now - 4 * DAY;
    correlator.observe(rules.signal("failed", old, &user("alice")));
    assert!(correlator.advance().is_empty());
    assert_eq!(correlator.metrics().late_signals, 1);
    let late = correlator.take_late();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].key.time, old);
    assert_eq!(late[0].frontier, now + 30 * SECOND);
    assert!(!late[0].event_id.is_empty());
    // It never reaches the stream's windows (they are decided); the recheck job gets it.
    assert!(correlator.flush().is_empty());
}

#[test]
fn windows_across_dst_changes_are_plain_utc() {
    let rules = Rules::new(&["failed"], &event_count("30m", 3));
    // EU summer time began 2024-03-31 at 01:00 UTC (local clocks jumped 02:00 -> 03:00);
    // US daylight time began 2024-03-10 at 07:00 UTC in New York (02:00 -> 03:00 EST/EDT);
    // EU winter time began 2024-10-27 at 01:00 UTC (local 03:00 -> 02:00, an hour repeated).
    for change in [
        "2024-03-31T01:00:00Z",
        "2024-03-10T07:00:00Z",
        "2024-10-27T01:00:00Z",
    ] {
        let change = at(change);
        // Twenty UTC minutes across the change: one window, although local wall clocks
        // show them an hour and twenty minutes (or forty minutes before the repeat) apart.
        let close = vec![
            rules.signal("failed", change - 10 * MINUTE, &user("alice")),
            rules.signal("failed", change, &user("alice")),
            rules.signal("failed", change + 10 * MINUTE, &user("alice")),
        ];
        let alerts = rules.replay(close);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].event_count, 3);
        assert_eq!(alerts[0].window_end, change + 10 * MINUTE);
        assert_eq!(alerts[0].window_start, change + 10 * MINUTE - 30 * MINUTE);
        // Fifty UTC minutes apart never share a 30-minute window, whatever local time says.
        let apart = vec![
            rules.signal("failed", change - 25 * MINUTE, &user("bob")),
            rules.signal("failed", change, &user("bob")),
            rules.signal("failed", change + 25 * MINUTE, &user("bob")),
        ];
        assert!(rules.replay(apart).is_empty());
    }
}

#[test]
fn a_window_across_a_leap_day_counts_its_24_hours() {
    let rules = Rules::new(&["failed"], &event_count("2d", 3));
    // Feb 28 -> Feb 29 -> Mar 1 of 2024: 48 hours, exactly the timespan (inclusive).
    let leap = vec![
        rules.signal("failed", at("2024-02-28T12:00:00Z"), &user("alice")),
        rules.signal("failed", at("2024-02-29T12:00:00Z"), &user("alice")),
        rules.signal("failed", at("2024-03-01T12:00:00Z"), &user("alice")),
    ];
    let alerts = rules.replay(leap.clone());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].window_end - alerts[0].window_start, 2 * DAY);
    // Streaming with the signals shuffled gives the same alert.
    let (mut correlator, _) = streaming(&rules, DAY, None, 0);
    let shuffled = vec![leap[1].clone(), leap[0].clone(), leap[2].clone()];
    assert_eq!(stream(&mut correlator, shuffled), alerts);
    // One microsecond more and the leap day makes the span too long.
    let longer = vec![
        rules.signal("failed", at("2024-02-28T12:00:00Z"), &user("bob")),
        rules.signal("failed", at("2024-02-29T12:00:00Z"), &user("bob")),
        rules.signal("failed", at("2024-03-01T12:00:00.000001Z"), &user("bob")),
    ];
    assert!(rules.replay(longer).is_empty());
    // In 2023 Feb 28 -> Mar 1 is one day: well within.
    let common = vec![
        rules.signal("failed", at("2023-02-28T00:00:00Z"), &user("carol")),
        rules.signal("failed", at("2023-02-28T23:00:00Z"), &user("carol")),
        rules.signal("failed", at("2023-03-01T23:59:59Z"), &user("carol")),
    ];
    assert_eq!(rules.replay(common).len(), 1);
}
