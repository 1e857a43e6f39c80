//! weft's sequence extension: per-step join keys (stitching one request across services by
//! `trace_id`), `maxspan`, repeat counts, absence between steps and after the last one, and
//! `until`.

#[path = "support/correlation.rs"]
mod support;

use support::{Rules, SECOND};

const MINUTE: i64 = 60 * SECOND;

const STITCHED: &str = "title: Request from the gateway to the database without authorization
id: 7f0c1e52-5d7a-4a43-9c8e-000000000001
level: high
sequence:
    by: [request]
    maxspan: 30s
    steps:
        - rule: gateway_request
          by: [trace_id]
        - rule: authz_check
          by: [attrs.trace]
          absent: true
        - rule: db_query
          by: [dbTraceId]
";

#[test]
fn stitches_one_request_across_services_by_per_step_keys() {
    let rules = Rules::sequences(&["gateway_request", "authz_check", "db_query"], STITCHED);
    let alerts = rules.replay(vec![
        rules.signal("gateway_request", 0, &[("trace_id", "t1")]),
        rules.signal("gateway_request", 0, &[("trace_id", "t2")]),
        rules.signal("authz_check", SECOND, &[("attrs.trace", "t2")]),
        rules.signal("db_query", 2 * SECOND, &[("dbTraceId", "t1")]),
        rules.signal("db_query", 2 * SECOND, &[("dbTraceId", "t2")]),
        // t3: the query comes after maxspan.
        rules.signal("gateway_request", 0, &[("trace_id", "t3")]),
        rules.signal("db_query", 31 * SECOND, &[("dbTraceId", "t3")]),
    ]);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.group["request"], "t1");
    assert_eq!(alert.correlation_type, "sequence");
    assert_eq!(alert.event_count, 2);
    assert_eq!((alert.window_start, alert.window_end), (0, 2 * SECOND));
}

const REPEATED: &str = "title: Brute force then success, until logout
name: brute_then_success
sequence:
    by: [User]
    maxspan: 5m
    steps:
        - rule: failed
          repeat: 3
        - rule: succeeded
    until: logout
";

#[test]
fn repeat_counts_and_until_cancel() {
    let rules = Rules::sequences(&["failed", "succeeded", "logout"], REPEATED);
    let user = |name: &'static str| [("User", name)];
    let alerts = rules.replay(vec![
        // alice: 3 failures then success: alert.
        rules.signal("failed", 0, &user("alice")),
        rules.signal("failed", SECOND, &user("alice")),
        rules.signal("failed", 2 * SECOND, &user("alice")),
        rules.signal("succeeded", 3 * SECOND, &user("alice")),
        // bob: only 2 failures.
        rules.signal("failed", 0, &user("bob")),
        rules.signal("failed", SECOND, &user("bob")),
        rules.signal("succeeded", 3 * SECOND, &user("bob")),
        // carol: 3 failures, logout, success: cancelled.
        rules.signal("failed", 0, &user("carol")),
        rules.signal("failed", SECOND, &user("carol")),
        rules.signal("failed", 2 * SECOND, &user("carol")),
        rules.signal("logout", 2 * SECOND + 1, &user("carol")),
        rules.signal("succeeded", 3 * SECOND, &user("carol")),
    ]);
    let users: Vec<&str> = alerts
        .iter()
        .map(|alert| alert.group["User"].as_str())
        .collect();
    assert_eq!(users, vec!["alice"]);
    assert_eq!(alerts[0].event_count, 4);
}

const NOT_FOLLOWED: &str = "title: Password reset not followed by a login within 10 minutes
name: reset_without_login
sequence:
    by: [User]
    maxspan: 10m
    steps:
        - password_reset
        - rule: login
          absent: true
";

#[test]
fn absence_after_the_last_step_fires_when_the_span_ends() {
    let rules = Rules::sequences(&["password_reset", "login"], NOT_FOLLOWED);
    let user = |name: &'static str| [("User", name)];
    let alerts = rules.replay(vec![
        rules.signal("password_reset", 0, &user("alice")),
        rules.signal("login", 5 * MINUTE, &user("alice")),
        rules.signal("password_reset", 0, &user("bob")),
        rules.signal("login", 10 * MINUTE + 1, &user("bob")),
    ]);
    let users: Vec<&str> = alerts
        .iter()
        .map(|alert| alert.group["User"].as_str())
        .collect();
    assert_eq!(users, vec!["bob"]);
    assert_eq!(
        (alerts[0].window_start, alerts[0].window_end),
        (0, 10 * MINUTE)
    );
}

#[test]
fn sequences_survive_a_checkpoint_restart() {
    use std::sync::Arc;
    use weft_correlate::correlation::{Correlator, CorrelatorConfig, ManualClock};
    let rules = Rules::sequences(&["failed", "succeeded", "logout"], REPEATED);
    let config = CorrelatorConfig {
        allowed_lateness: 0,
        ..CorrelatorConfig::default()
    };
    let mut before = rules.correlator(config);
    for at in 0..3 {
        before.observe(rules.signal("failed", at * SECOND, &[("User", "alice")]));
    }
    assert!(before.advance().is_empty());
    let bytes = serde_json::to_vec(&before.checkpoint()).expect("serializes");
    let mut after = Correlator::restore(
        rules.set.clone(),
        config,
        Arc::new(ManualClock::new(0)),
        serde_json::from_slice(&bytes).expect("deserializes"),
    )
    .expect("restores");
    after.observe(rules.signal("succeeded", 4 * SECOND, &[("User", "alice")]));
    assert_eq!(after.flush().len(), 1);
}
