//! Detection under SIGKILL: the multi-service scenario arrives one service at a time, and the
//! detection process is killed at random moments (while segments are matched, windows are
//! open, incidents are written, jobs run) and restarted. In the end every expected alert is
//! stored exactly once, under the same ids as an undisturbed run, in exactly one incident.

#[path = "support/random.rs"]
mod random;

use random::Random;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const SERVICES: [&str; 4] = [
    "gateway.log",
    "auth-service.log",
    "orders.log",
    "cluster-audit.log",
];

/// Kills per arriving service file.
const KILLS_PER_STEP: usize = 4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn ingest(data_dir: &Path, file: &str) {
    let output = weft()
        .arg("ingest")
        .arg("--data-dir")
        .arg(data_dir)
        .arg(root().join("tests/fixtures/scenario").join(file))
        .output()
        .expect("weft ingest runs");
    assert!(output.status.success(), "{output:?}");
}

fn detect(data_dir: &Path) -> Command {
    let mut command = weft();
    command
        .args(["run", "--once", "--no-api", "--json", "--data-dir"])
        .arg(data_dir)
        .arg("--rules")
        .arg(root().join("rules"))
        .arg("--mapping")
        .arg(root().join("rules/mapping.toml"));
    command
}

/// The stored alerts' ids, and the incidents.
fn outcome(data_dir: &Path) -> (BTreeSet<String>, Vec<Value>) {
    let output = weft()
        .args([
            "incidents",
            "list",
            "--json",
            "--status",
            "open,acknowledged,closed,merged",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("weft incidents runs");
    assert!(output.status.success(), "{output:?}");
    let incidents: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    let mut alerts = BTreeSet::new();
    for incident in &incidents {
        let id = incident["id"].as_str().expect("id");
        let shown = weft()
            .args(["incidents", "show", "--json", "--data-dir"])
            .arg(data_dir)
            .arg(id)
            .output()
            .expect("weft incidents show runs");
        let detail: Value = serde_json::from_slice(&shown.stdout).expect("detail");
        for alert in detail["alerts"].as_array().expect("alerts") {
            let alert_id = alert["alert"]["alert_id"].as_str().expect("alert id");
            assert!(
                alerts.insert(alert_id.to_string()),
                "{alert_id} stored twice"
            );
        }
    }
    (alerts, incidents)
}

#[test]
fn detection_killed_at_random_moments_still_raises_every_alert_once() {
    let dir = tempfile::tempdir().expect("temporary directory");

    // The reference: the same arrival order, never killed.
    let calm = dir.path().join("calm");
    for file in SERVICES {
        ingest(&calm, file);
        let output = detect(&calm).output().expect("weft run");
        assert!(output.status.success(), "{output:?}");
    }
    let (expected, calm_incidents) = outcome(&calm);
    assert_eq!(calm_incidents.len(), 1, "{calm_incidents:#?}");
    assert!(expected.len() >= 6, "{expected:?}");

    let killed = dir.path().join("killed");
    let mut random = Random::new();
    let mut kills = 0;
    for file in SERVICES {
        ingest(&killed, file);
        for _ in 0..KILLS_PER_STEP {
            let mut child = detect(&killed)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("weft run starts");
            std::thread::sleep(Duration::from_millis(random.below(400)));
            if child.try_wait().expect("status").is_none() {
                child.kill().expect("SIGKILL");
                kills += 1;
            }
            let _ = child.wait();
        }
        let output = detect(&killed).output().expect("weft run");
        assert!(output.status.success(), "{output:?}");
    }
    eprintln!("{kills} kills landed while detection ran");
    let (stored, incidents) = outcome(&killed);
    assert_eq!(stored, expected, "the same alerts, each once");
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(incidents[0]["id"], calm_incidents[0]["id"]);
}
