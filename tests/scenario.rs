//! The multi-service scenario (tests/fixtures/scenario, four services: an nginx gateway, a JSON
//! auth service, an orders service with trace ids, the Kubernetes audit log) through
//! `weft run --once` with weft's rule pack: one attack chain among benign traffic must become
//! exactly one incident with the right entities and alerts, also when weft is restarted in
//! the middle of the scenario, and running again creates nothing new. Its alerts reach a
//! signed webhook.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;

use serde_json::Value;

const SERVICES: [&str; 4] = [
    "gateway.log",
    "auth-service.log",
    "orders.log",
    "cluster-audit.log",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/scenario")
        .join(name)
        .display()
        .to_string()
}

/// `weft run --once` with the rule pack over `data_dir`, ingesting `files` first.
fn run_once(data_dir: &Path, files: &[&str], config: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command
        .args(["run", "--once", "--json", "--data-dir"])
        .arg(data_dir)
        .arg("--rules")
        .arg(root().join("rules"))
        .arg("--mapping")
        .arg(root().join("rules/mapping.toml"));
    for file in files {
        command.arg(fixture(file));
    }
    let output = command.output().expect("the weft binary runs");
    assert!(
        output.status.success(),
        "weft run --once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("the --json report is JSON")
}

fn incidents(data_dir: &Path) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["incidents", "list", "--json", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("the weft binary runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

fn incident_detail(data_dir: &Path, id: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["incidents", "show", "--json", "--data-dir"])
        .arg(data_dir)
        .arg(id)
        .output()
        .expect("the weft binary runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn alert_ids(detail: &Value) -> BTreeSet<String> {
    detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|alert| alert["alert"]["alert_id"].as_str().expect("id").to_string())
        .collect()
}

/// Alerts of the attack chain: six from weft's own rules, and two from SigmaHQ's Kubernetes
/// rules on the shell in the pod and the secrets listing. The benign traffic raises none (the
/// control plane's own secrets listings are filtered: rules/kubernetes/sigmahq_control_plane.yml).
const ATTACK_ALERTS: usize = 8;

/// Asserts the one incident of the attack chain and returns its id.
fn assert_one_attack_incident(data_dir: &Path) -> String {
    let incidents = incidents(data_dir);
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let incident = &incidents[0];
    for key in [
        "id",
        "title",
        "severity",
        "status",
        "entities",
        "alert_count",
        "services",
    ] {
        assert!(incident.get(key).is_some(), "missing {key}: {incident}");
    }
    assert_eq!(incident["status"], "open");
    assert_eq!(incident["alert_count"], ATTACK_ALERTS);
    let entities: BTreeSet<(String, String)> = incident["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|entity| {
            (
                entity["type"].as_str().expect("type").to_string(),
                entity["value"].as_str().expect("value").to_string(),
            )
        })
        .collect();
    for (kind, value) in [
        ("user", "alice"),
        ("src_ip", "203.0.113.50"),
        ("src_ip", "192.0.2.77"),
        ("session_id", "sess-9c1e"),
    ] {
        assert!(
            entities.contains(&(kind.to_string(), value.to_string())),
            "{kind}={value} missing from {entities:?}"
        );
    }
    // Benign users never appear.
    for benign in ["bob", "carol", "dave", "system:kube-controller-manager"] {
        assert!(
            !entities.iter().any(|(_, value)| value == benign),
            "{benign} in {entities:?}"
        );
    }
    let services: Vec<&str> = incident["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(services, ["auth", "cluster-audit", "gateway", "orders"]);
    // Seven rules fired (eight alerts): the severity is raised from high to critical.
    assert_eq!(incident["severity"], "critical");
    let id = incident["id"].as_str().expect("id").to_string();
    let detail = incident_detail(data_dir, &id);
    let titles: BTreeSet<&str> = detail["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|alert| alert["alert"]["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        BTreeSet::from([
            "Credential stuffing succeeded",
            "Exec or attach into a pod",
            "Secrets listed or read outside the control plane",
            "Session or token used from several addresses",
            "Spike of 401/403 responses for one client",
            // SigmaHQ's rules (rules/sigmahq/) on the same shell and secrets listing.
            "Kubernetes Secrets Enumeration",
            "Potential Remote Command Execution In Pod Container",
        ])
    );
    let techniques = detail["techniques"].as_array().expect("techniques");
    assert!(techniques.iter().any(|technique| technique == "T1609"));
    id
}

#[test]
fn one_attack_chain_across_four_services_is_one_incident() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let first = report(&run_once(&data_dir, &SERVICES, None));
    assert_eq!(first["alerts"], ATTACK_ALERTS, "{first}");
    assert_eq!(first["incidents_created"].as_array().map(Vec::len), Some(1));
    let id = assert_one_attack_incident(&data_dir);

    // Running again over the same data creates nothing new.
    let again = report(&run_once(&data_dir, &[], None));
    assert_eq!(again["alerts"], 0, "{again}");
    assert_eq!(again["segments"], 0, "{again}");
    assert_eq!(assert_one_attack_incident(&data_dir), id);
}

/// Without `--rules` or `[detect] rules`, `weft run` detects with the built-in pack: the
/// same incident as with the checkout's `rules/`.
#[test]
fn without_configured_rules_the_built_in_pack_detects_the_chain() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .current_dir(dir.path())
        .args(["run", "--once", "--json", "--data-dir"])
        .arg(&data_dir)
        .args(SERVICES.iter().map(|file| fixture(file)))
        .output()
        .expect("the weft binary runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("built-in rule pack"), "{stderr}");
    assert!(data_dir.join("builtin-rules/mapping.toml").exists());
    let first = report(&output);
    assert_eq!(first["alerts"], ATTACK_ALERTS, "{first}");
    assert_one_attack_incident(&data_dir);

    // Turned off, nothing is detected (and it says so).
    let off = dir.path().join("off.toml");
    std::fs::write(&off, "[detect]\nbuiltin_pack = false\n").expect("config written");
    let other = dir.path().join("other");
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--config")
        .arg(&off)
        .args(["run", "--once", "--json", "--data-dir"])
        .arg(&other)
        .args(SERVICES.iter().map(|file| fixture(file)))
        .output()
        .expect("the weft binary runs");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing is detected"));
    assert_eq!(report(&output)["alerts"], 0);
}

#[test]
fn a_restart_in_the_middle_of_the_scenario_still_yields_one_incident() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let whole = dir.path().join("whole");
    run_once(&whole, &SERVICES, None);
    let whole_id = assert_one_attack_incident(&whole);

    // The gateway and auth logs first, then weft stops; the rest after a restart.
    let halves = dir.path().join("halves");
    let before = report(&run_once(&halves, &SERVICES[..2], None));
    assert_eq!(before["alerts"], 2, "{before}");
    let after = report(&run_once(&halves, &SERVICES[2..], None));
    assert_eq!(after["alerts"], ATTACK_ALERTS - 2, "{after}");
    let halves_id = assert_one_attack_incident(&halves);

    // The same alerts under the same ids, the same incident id.
    assert_eq!(halves_id, whole_id);
    assert_eq!(
        alert_ids(&incident_detail(&halves, &halves_id)),
        alert_ids(&incident_detail(&whole, &whole_id))
    );
}

/// A received request: its headers (lowercase names) and body.
type Request = (Vec<(String, String)>, Vec<u8>);

/// A webhook receiver on 127.0.0.1: answers 200 to every POST and hands over each request's
/// headers and body.
fn receiver() -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hooks/weft", listener.local_addr().expect("addr"));
    let (sender, requests) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = Vec::new();
            let mut length = 0usize;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                    if name == "content-length" {
                        length = value.parse().unwrap_or(0);
                    }
                    headers.push((name, value.to_string()));
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if sender.send((headers, body)).is_err() {
                break;
            }
        }
    });
    (url, requests)
}

#[test]
fn alerts_reach_a_signed_webhook_once() {
    let (url, requests) = receiver();
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("weft.toml");
    std::fs::write(
        &config,
        format!(
            "[[detect.outputs.webhook]]\nname = \"soc\"\nurl = \"{url}\"\nsecret_env = \"WEFT_SCENARIO_WEBHOOK_SECRET\"\n"
        ),
    )
    .expect("config");
    let data_dir = dir.path().join("data");
    let secret = "scenario-secret-7d1f";
    let output = Command::new(env!("CARGO_BIN_EXE_weft"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--json", "--data-dir"])
        .arg(&data_dir)
        .arg("--rules")
        .arg(root().join("rules"))
        .arg("--mapping")
        .arg(root().join("rules/mapping.toml"))
        .args(SERVICES.iter().map(|file| fixture(file)))
        .env("WEFT_SCENARIO_WEBHOOK_SECRET", secret)
        .output()
        .expect("weft runs");
    assert!(output.status.success(), "{output:?}");
    let summary = report(&output);
    assert_eq!(summary["delivered"], ATTACK_ALERTS, "{summary}");
    assert_eq!(summary["pending_deliveries"], 0, "{summary}");
    let mut alert_ids = BTreeSet::new();
    for _ in 0..ATTACK_ALERTS {
        let (headers, body) = requests
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a delivery");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        assert!(weft_correlate::output::verify_signature(
            secret.as_bytes(),
            &header("x-weft-timestamp"),
            &body,
            &header("x-weft-signature"),
        ));
        let payload: Value = serde_json::from_slice(&body).expect("JSON payload");
        assert!(
            payload["incident_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("INC-"))
        );
        alert_ids.insert(
            payload["alert"]["alert_id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    assert_eq!(alert_ids.len(), ATTACK_ALERTS);
}
