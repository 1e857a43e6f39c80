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
    let mut matches: Vec<(u64, String)> = json_lines(&output)
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
    assert_eq!(
        matches,
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
