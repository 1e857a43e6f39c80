//! End-to-end tests of `weft rules check` and `weft rules test`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the weft binary runs")
}

const CURL_RULE: &str = "title: Curl against the API
id: 5b6f6e1a-0000-4000-8000-000000000101
status: test
level: high
logsource:
    category: webserver
detection:
    sel:
        c-useragent|startswith: 'curl/'
    condition: sel
";

const FAILED_LOGIN_RULE: &str = "title: Failed login
id: 5b6f6e1a-0000-4000-8000-000000000102
level: medium
logsource:
    category: authentication
detection:
    sel:
        outcome: failure
    condition: sel
";

/// A condition naming a selection that does not exist.
const BROKEN_RULE: &str = "title: Broken condition
id: 5b6f6e1a-0000-4000-8000-000000000103
logsource:
    category: webserver
detection:
    sel:
        c-uri|contains: '/admin'
    condition: sel and missing
";

fn rules_dir(dir: &Path, broken: bool) -> std::path::PathBuf {
    let rules = dir.join("rules");
    fs::create_dir_all(rules.join("nested")).expect("rules dir");
    fs::write(rules.join("curl.yml"), CURL_RULE).expect("write rule");
    fs::write(rules.join("nested/failed_login.yaml"), FAILED_LOGIN_RULE).expect("write rule");
    fs::write(rules.join("README.md"), "not a rule").expect("write readme");
    if broken {
        fs::write(rules.join("broken.yml"), BROKEN_RULE).expect("write rule");
    }
    rules
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// (event index, rule id) of each match of `weft rules test --json`, sorted.
fn matched(output: &Output) -> Vec<(u64, String)> {
    let mut matches: Vec<(u64, String)> = json_lines(output)
        .iter()
        .map(|line| {
            assert!(line["event_id"].is_string(), "{line}");
            (
                line["event_index"].as_u64().expect("event_index"),
                line["rule_id"].as_str().expect("rule_id").to_string(),
            )
        })
        .collect();
    matches.sort();
    matches
}

#[test]
fn check_reports_every_rule_and_the_totals_and_fails_on_a_refusal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir(dir.path(), true);
    let output = run(weft().args(["rules", "check", "--json"]).arg(&rules));
    assert_eq!(
        output.status.code(),
        Some(1),
        "a refused rule fails the check"
    );
    let lines = json_lines(&output);
    assert_eq!(
        lines.len(),
        4,
        "three documents, then the totals: {lines:?}"
    );
    let refused: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["status"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["id"], "5b6f6e1a-0000-4000-8000-000000000103");
    assert!(
        refused[0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("missing")),
        "the reason names the unknown selection: {}",
        refused[0]
    );
    assert_eq!(
        lines.last().expect("totals")["totals"],
        serde_json::json!({"loaded": 2, "refused": 1})
    );

    let fine = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir(fine.path(), false);
    let output = run(weft().args(["rules", "check"]).arg(&rules));
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("2 loaded, 0 refused"), "{text}");
}

#[test]
fn check_of_a_missing_path_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(weft()
        .args(["rules", "check", "--json"])
        .arg(dir.path().join("nowhere")));
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output);
    assert_eq!(lines[0]["status"], "refused");
    assert!(
        lines[0]["path"]
            .as_str()
            .is_some_and(|path| path.ends_with("nowhere"))
    );
}

#[test]
fn test_reports_which_events_each_rule_matches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir(dir.path(), false);
    let events = dir.path().join("events.json");
    fs::write(
        &events,
        concat!(
            "{\"time\":\"2026-11-23T10:00:00Z\",\"method\":\"GET\",\"status\":200,\"user_agent\":\"Mozilla/5.0\",\"url\":\"/\"}\n",
            "{\"time\":\"2026-11-23T10:00:01Z\",\"method\":\"GET\",\"status\":200,\"user_agent\":\"curl/8.5.0\",\"url\":\"/api\"}\n",
            "{\"time\":\"2026-11-23T10:00:02Z\",\"class\":\"authentication\",\"user\":\"bob\",\"outcome\":\"failure\"}\n",
        ),
    )
    .expect("write events");
    let output = run(weft()
        .args(["rules", "test", "--json", "--format", "json", "--rules"])
        .arg(&rules)
        .arg("--events")
        .arg(&events));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        matched(&output),
        vec![
            (1, "5b6f6e1a-0000-4000-8000-000000000101".to_string()),
            (2, "5b6f6e1a-0000-4000-8000-000000000102".to_string()),
        ]
    );
}

#[test]
fn test_of_an_unreadable_event_file_fails_with_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir(dir.path(), false);
    let output = run(weft()
        .args(["rules", "test", "--rules"])
        .arg(&rules)
        .arg("--events")
        .arg(dir.path().join("absent.json")));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("absent.json"), "{stderr}");
}

const SEQUENCE: &str = "title: Failed then curl
id: 5b6f6e1a-0000-4000-8000-000000000104
level: high
sequence:
    by: [who]
    maxspan: 5m
    steps:
        - rule: 5b6f6e1a-0000-4000-8000-000000000102
          by: [user]
        - rule: 5b6f6e1a-0000-4000-8000-000000000101
          by: [user]
";

const BRUTE_FORCE: &str = "title: Failed login
id: 5b6f6e1a-0000-4000-8000-000000000102
name: failed_login
level: medium
logsource:
    category: authentication
detection:
    sel:
        outcome: failure
    condition: sel
---
title: Many failed logins for one user
id: 5b6f6e1a-0000-4000-8000-000000000105
level: high
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - user
    timespan: 5m
    condition:
        gte: 3
";

#[test]
fn check_reports_weft_sequences_with_their_own_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = rules_dir(dir.path(), false);
    fs::write(rules.join("sequence.yml"), SEQUENCE).expect("write sequence");
    let output = run(weft().args(["rules", "check", "--json"]).arg(&rules));
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert!(
        lines
            .iter()
            .any(|line| line["id"] == "5b6f6e1a-0000-4000-8000-000000000104"
                && line["status"] == "loaded"),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().expect("totals")["totals"],
        serde_json::json!({"loaded": 3, "refused": 0})
    );

    // A step naming a rule that is not loaded: each document parses, the set cannot run.
    fs::write(
        rules.join("sequence.yml"),
        SEQUENCE.replace("000000000101", "000000000999"),
    )
    .expect("write sequence");
    let output = run(weft().args(["rules", "check"]).arg(&rules));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("000000000999"), "{stderr}");
}

#[test]
fn backtest_replays_the_store_and_prints_each_alert_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    fs::write(rules.join("brute_force.yml"), BRUTE_FORCE).expect("write rules");
    let events = dir.path().join("auth.json");
    let mut lines = String::new();
    for (time, user) in [
        ("10:00:00", "alice"),
        ("10:00:20", "alice"),
        ("10:00:40", "bob"),
        ("10:00:50", "alice"),
        ("10:01:10", "bob"),
    ] {
        lines.push_str(&format!(
            "{{\"time\":\"2026-11-23T{time}Z\",\"class\":\"authentication\",\"user\":\"{user}\",\"outcome\":\"failure\"}}\n"
        ));
    }
    fs::write(&events, lines).expect("write events");
    let data_dir = dir.path().join("data");
    let ingest = run(weft()
        .args(["ingest", "--format", "json", "--data-dir"])
        .arg(&data_dir)
        .arg(&events));
    assert!(ingest.status.success(), "{ingest:?}");

    let output = run(weft()
        .args(["rules", "backtest", "--json", "--rules"])
        .arg(&rules)
        .arg("--data-dir")
        .arg(&data_dir));
    assert!(output.status.success(), "{output:?}");
    let alerts = json_lines(&output);
    assert_eq!(
        alerts.len(),
        1,
        "alice failed three times, bob twice: {alerts:?}"
    );
    let alert = &alerts[0];
    assert_eq!(alert["rule_id"], "5b6f6e1a-0000-4000-8000-000000000105");
    assert_eq!(alert["group"], serde_json::json!({"user": "alice"}));
    assert_eq!(alert["event_count"], 3);
    assert_eq!(alert["event_ids"].as_array().map(Vec::len), Some(3));
    assert!(alert["alert_id"].is_string());

    let again = run(weft()
        .args(["rules", "backtest", "--json", "--rules"])
        .arg(&rules)
        .arg("--data-dir")
        .arg(&data_dir));
    assert_eq!(
        json_lines(&again),
        alerts,
        "a replay gives the same alert and id"
    );

    let outside = run(weft()
        .args([
            "rules",
            "backtest",
            "--json",
            "--from",
            "2026-11-24",
            "--rules",
        ])
        .arg(&rules)
        .arg("--data-dir")
        .arg(&data_dir));
    assert!(outside.status.success(), "{outside:?}");
    assert!(json_lines(&outside).is_empty(), "no events after --from");
}

#[test]
fn the_rule_pack_finds_the_example_attack() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let logs: Vec<std::path::PathBuf> = fs::read_dir(repo.join("examples/logs"))
        .expect("example logs")
        .map(|entry| entry.expect("entry").path())
        .collect();
    let ingest = run(weft()
        .arg("ingest")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(&logs));
    assert!(ingest.status.success(), "{ingest:?}");

    let output = run(weft()
        .args(["rules", "backtest", "--json", "--rules"])
        .arg(repo.join("rules"))
        .arg("--mapping")
        .arg(repo.join("rules/mapping.toml"))
        .arg("--data-dir")
        .arg(&data_dir));
    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = json_lines(&output)
        .iter()
        .map(|alert| alert["rule_name"].as_str().expect("rule_name").to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Exec or attach into a pod",
            // SigmaHQ's rules (rules/sigmahq/) on the same shell and secrets listing.
            "Kubernetes Secrets Enumeration",
            "Potential Remote Command Execution In Pod Container",
            "Secrets listed or read outside the control plane",
            "Session or token used from several addresses",
        ],
        "the example platform's attack, and nothing else"
    );
}

#[test]
fn check_reports_sql_rules_and_refuses_a_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("sql.yml"),
        "title: Top talkers\nid: sql-top-talkers\nsql: SELECT src_ip, count(*) AS count FROM events GROUP BY src_ip HAVING count(*) > 1000\nschedule: {interval: 5m}\n---\ntitle: Not a query\nid: sql-delete\nsql: DELETE FROM events\nschedule: {interval: 5m}\n",
    )
    .expect("rule written");
    let output = run(weft().args(["rules", "check"]).arg(dir.path()));
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("loaded") && text.contains("Top talkers"),
        "{text}"
    );
    assert!(
        text.contains("refused") && text.contains("invalid sql rule"),
        "{text}"
    );
    assert!(text.contains("1 loaded, 1 refused"), "{text}");
}

/// A service map and an egress allowlist as weft policies: only the calls and destinations no
/// line allows match; events without both fields are not judged.
#[test]
fn policies_match_what_their_allowlist_does_not_allow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("policies.yml");
    fs::write(
        &policy,
        "title: Service calls outside the service map
id: 0f3b8f0e-6a43-4c1e-9f61-2b7d3c1e5a10
level: high
policy:
    from: caller
    to: service
    allow:
        - gateway -> auth
        - gateway -> orders
        - orders -> payments
        - '* -> metrics'
---
title: Egress outside the allowed ranges
id: 3c9d2a71-8f4e-4b0a-a1d2-6e5f7c8b9a01
level: medium
policy:
    where:
        direction: egress
    from: service
    to: dst_ip
    allow:
        - '* -> 10.0.0.0/8'
        - payments -> 203.0.113.0/24
",
    )
    .expect("write policies");
    let check = run(weft().args(["rules", "check"]).arg(&policy));
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("2 loaded, 0 refused"));

    let events = dir.path().join("events.json");
    fs::write(
        &events,
        concat!(
            // 0-4: calls; 2 breaks the service map; 4 names no caller.
            "{\"time\":\"2026-11-23T10:00:00Z\",\"service\":\"auth\",\"caller\":\"gateway\"}\n",
            "{\"time\":\"2026-11-23T10:00:01Z\",\"service\":\"payments\",\"caller\":\"orders\"}\n",
            "{\"time\":\"2026-11-23T10:00:02Z\",\"service\":\"payments\",\"caller\":\"gateway\"}\n",
            "{\"time\":\"2026-11-23T10:00:03Z\",\"service\":\"metrics\",\"caller\":\"billing\"}\n",
            "{\"time\":\"2026-11-23T10:00:04Z\",\"service\":\"auth\"}\n",
            // 5-8: egress; 6 and 8 leave the allowed ranges.
            "{\"time\":\"2026-11-23T10:00:05Z\",\"service\":\"payments\",\"direction\":\"egress\",\"destination\":{\"ip\":\"203.0.113.9\"}}\n",
            "{\"time\":\"2026-11-23T10:00:06Z\",\"service\":\"orders\",\"direction\":\"egress\",\"destination\":{\"ip\":\"203.0.113.9\"}}\n",
            "{\"time\":\"2026-11-23T10:00:07Z\",\"service\":\"orders\",\"direction\":\"egress\",\"destination\":{\"ip\":\"10.1.2.3\"}}\n",
            "{\"time\":\"2026-11-23T10:00:08Z\",\"service\":\"payments\",\"direction\":\"egress\",\"destination\":{\"ip\":\"198.51.100.7\"}}\n",
        ),
    )
    .expect("write events");
    let output = run(weft()
        .args(["rules", "test", "--json", "--format", "json", "--rules"])
        .arg(&policy)
        .arg("--events")
        .arg(&events));
    assert!(output.status.success(), "{output:?}");
    let matches = matched(&output);
    let map = "0f3b8f0e-6a43-4c1e-9f61-2b7d3c1e5a10".to_string();
    let egress = "3c9d2a71-8f4e-4b0a-a1d2-6e5f7c8b9a01".to_string();
    assert_eq!(matches, vec![(2, map), (6, egress.clone()), (8, egress)]);

    // A broken policy is refused with the reason.
    fs::write(
        &policy,
        "title: broken\nid: 0f3b8f0e-6a43-4c1e-9f61-2b7d3c1e5a11\npolicy:\n    from: caller\n    to: service\n    allow:\n        - gateway auth\n",
    )
    .expect("write policy");
    let check = run(weft().args(["rules", "check"]).arg(&policy));
    assert!(!check.status.success());
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("invalid policy"),
        "{check:?}"
    );
}

/// The rule pack's own cases through the CLI (what CI runs): every rule file passes; a case
/// that expects the wrong count fails the command and says why.
#[test]
fn test_cases_runs_every_rule_files_own_events() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = run(weft()
        .args(["rules", "test", "--cases", "--rules"])
        .arg(root.join("rules"))
        .arg("--mapping")
        .arg(root.join("rules/mapping.toml")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");

    let dir = tempfile::tempdir().expect("temp dir");
    let rule = dir.path().join("curl.yml");
    fs::write(&rule, CURL_RULE).expect("rule");
    let cases = dir.path().join("curl.tests");
    fs::create_dir_all(&cases).expect("cases dir");
    fs::write(
        cases.join("positive.json"),
        "{\"time\":\"2026-11-23T10:00:01Z\",\"method\":\"GET\",\"status\":200,\"user_agent\":\"curl/8.5.0\",\"url\":\"/api\"}\n",
    )
    .expect("positive");
    fs::write(
        cases.join("negative.json"),
        "{\"time\":\"2026-11-23T10:00:01Z\",\"method\":\"GET\",\"status\":200,\"user_agent\":\"Mozilla/5.0\",\"url\":\"/api\"}\n",
    )
    .expect("negative");
    let expected = |alerts: usize| {
        format!(
            "rule = \"5b6f6e1a-0000-4000-8000-000000000101\"\nformat = \"json\"\npositive = \"positive.json\"\nalerts = {alerts}\nnegative = \"negative.json\"\n"
        )
    };
    fs::write(cases.join("expected.toml"), expected(1)).expect("expected");
    let passing = run(weft().args(["rules", "test", "--cases"]).arg(&rule));
    assert!(passing.status.success(), "{passing:?}");
    fs::write(cases.join("expected.toml"), expected(2)).expect("expected");
    let failing = run(weft()
        .args(["rules", "test", "--cases", "--json"])
        .arg(&rule));
    assert!(!failing.status.success(), "{failing:?}");
    let lines = json_lines(&failing);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["passed"], false);
    let failure = lines[0]["failures"][0].as_str().unwrap_or_default();
    assert!(
        failure.contains("fired it 1 time(s), expected 2"),
        "{failure}"
    );
}
