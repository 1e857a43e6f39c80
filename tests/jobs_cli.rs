//! Scheduled detection end to end: a SQL rule backfilled over a past day (`weft jobs
//! backfill`), its history (`weft jobs list`), idempotent re-runs; late events re-evaluated
//! by the stream recheck job; ingest and detection as separate processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SQL_RULE: &str = "title: Failed logins for many accounts from one address (SQL)
id: sql-failures-per-source
status: experimental
level: high
tags:
    - attack.credential_access
    - attack.t1110.004
sql: |
    SELECT src_ip, count(*) AS count, count(DISTINCT user) AS users,
           min(time) AS first_seen, max(time) AS last_seen
    FROM events
    WHERE outcome = 'failure' AND src_ip IS NOT NULL
    GROUP BY src_ip
    HAVING count(DISTINCT user) >= 5
schedule:
    interval: 1h
";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/scenario").join(name)
}

fn weft(args: &[&str], data_dir: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("the weft binary runs");
    assert!(
        output.status.success(),
        "weft {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

fn ingest(data_dir: &Path, files: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command.arg("ingest").arg("--data-dir").arg(data_dir);
    for file in files {
        command.arg(fixture(file));
    }
    let output = command.output().expect("weft ingest runs");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_sql_rule_backfilled_over_a_past_day_raises_one_alert_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("failures.yml"), SQL_RULE).expect("rule");
    ingest(
        &data_dir,
        &[
            "gateway.log",
            "auth-service.log",
            "orders.log",
            "cluster-audit.log",
        ],
    );
    let rules_arg = rules.display().to_string();
    let backfill = [
        "jobs",
        "backfill",
        "sql-failures-per-source",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
        "--rules",
        &rules_arg,
    ];
    let first = weft(&backfill, &data_dir);
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("24 run(s) queued"), "{text}");
    assert!(text.contains("1 new alert(s), 1 new incident(s)"), "{text}");

    let runs = json_lines(&weft(
        &[
            "jobs",
            "list",
            "--json",
            "--job",
            "sql-failures-per-source",
            "--limit",
            "100",
        ],
        &data_dir,
    ));
    let succeeded: Vec<&Value> = runs
        .iter()
        .filter(|run| run["status"] == "succeeded" && run["trigger"] == "backfill")
        .collect();
    assert_eq!(succeeded.len(), 24, "{runs:#?}");
    let scanned: u64 = succeeded
        .iter()
        .filter_map(|run| run["events_scanned"].as_u64())
        .sum();
    assert_eq!(
        scanned, 267,
        "every stored event is in exactly one hourly window"
    );
    let with_alerts: Vec<&&Value> = succeeded
        .iter()
        .filter(|run| run["alerts"].as_u64() == Some(1))
        .collect();
    assert_eq!(with_alerts.len(), 1);
    // 2026-11-20T09:00:00Z, in UTC microseconds.
    assert_eq!(with_alerts[0]["from"], 1_795_165_200_000_000_i64);

    let incidents = json_lines(&weft(&["incidents", "list", "--json"], &data_dir));
    assert_eq!(incidents.len(), 1);
    let entities = incidents[0]["entities"].to_string();
    assert!(entities.contains("203.0.113.50"), "{entities}");
    assert_eq!(incidents[0]["severity"], "high");

    // The same backfill again raises nothing new.
    let again = weft(&backfill, &data_dir);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("0 new alert(s), 0 new incident(s)"), "{text}");
}

#[test]
fn late_events_are_reevaluated_by_the_stream_recheck() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let rules = root().join("rules").display().to_string();
    let mapping = root().join("rules/mapping.toml").display().to_string();
    let run = |files: &[&str]| {
        let mut args = vec![
            "run",
            "--once",
            "--json",
            "--rules",
            &rules,
            "--mapping",
            &mapping,
        ];
        let paths: Vec<String> = files
            .iter()
            .map(|file| fixture(file).display().to_string())
            .collect();
        args.extend(paths.iter().map(String::as_str));
        let output = weft(&args, &data_dir);
        serde_json::from_slice::<Value>(&output.stdout).expect("report")
    };
    // The later half of the scenario first: the stream moves past the gateway and auth
    // events, which then arrive late.
    run(&["orders.log", "cluster-audit.log"]);
    let late = run(&["gateway.log", "auth-service.log"]);
    assert!(late["late_signals"].as_u64().unwrap_or(0) > 0, "{late}");
    let incidents = json_lines(&weft(&["incidents", "list", "--json"], &data_dir));
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let id = incidents[0]["id"].as_str().expect("id");
    let detail: Value =
        serde_json::from_slice(&weft(&["incidents", "show", "--json", id], &data_dir).stdout)
            .expect("detail");
    let alerts = detail["alerts"].as_array().expect("alerts");
    for title in [
        "Credential stuffing succeeded",
        "Spike of 401/403 responses for one client",
    ] {
        let found = alerts
            .iter()
            .find(|alert| alert["alert"]["title"] == title)
            .unwrap_or_else(|| panic!("{title} missing: {alerts:#?}"));
        assert_eq!(found["source"]["kind"], "job", "{found}");
        assert_eq!(found["source"]["job"], "weft-stream-recheck");
    }
    let runs = json_lines(&weft(&["jobs", "list", "--json"], &data_dir));
    assert!(
        runs.iter().any(|run| run["job_id"] == "weft-stream-recheck"
            && run["trigger"] == "reopen"
            && run["status"] == "succeeded"
            && run["from"] == 1_795_165_200_000_000_i64),
        "{runs:#?}"
    );
}

#[test]
fn ingest_and_detection_run_as_separate_processes() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    ingest(&data_dir, &["gateway.log", "auth-service.log"]);
    ingest(&data_dir, &["orders.log", "cluster-audit.log"]);
    let rules = root().join("rules").display().to_string();
    let mapping = root().join("rules/mapping.toml").display().to_string();
    let output = weft(
        &[
            "run",
            "--once",
            "--json",
            "--rules",
            &rules,
            "--mapping",
            &mapping,
        ],
        &data_dir,
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("report");
    assert_eq!(report["segments"], 2, "{report}");
    // weft's own 6 and SigmaHQ's pod exec and secrets listing.
    assert_eq!(report["alerts"], 8, "{report}");
    let incidents = json_lines(&weft(&["incidents", "list", "--json"], &data_dir));
    assert_eq!(incidents.len(), 1);
}
