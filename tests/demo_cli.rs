//! End-to-end tests of `weft demo`: the binary generates a day of platform logs with attack
//! chains, ingests and detects them, serves the API with an admin token, and the chains are
//! incidents spanning several services; the same seed writes the same logs.

#[path = "support/http.rs"]
mod http;

use http::{free_address, get};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A fixed end of the history, so that runs write the same bytes.
const END: &str = "2026-11-20T12:00:00Z";
/// Debug builds on a busy machine ingest slowly.
const DEADLINE: Duration = Duration::from_secs(600);

/// A running `weft demo`, killed when dropped.
struct Demo {
    child: Child,
    stderr: PathBuf,
    url: String,
    token: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start(dir: &Path, name: &str, seed: u64, address: SocketAddr, extra: &[&str]) -> Demo {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args([
                "demo",
                "--no-live",
                "--end",
                END,
                "--seed",
                &seed.to_string(),
            ])
            .arg("--data-dir")
            .arg(dir.join(name))
            .args(["--listen", &address.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("weft demo starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut next = |prefix: &str| -> String {
            let line = lines.next().and_then(Result::ok).unwrap_or_else(|| {
                panic!(
                    "weft demo printed no {prefix:?} line: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
            line.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_string()
        };
        let url = next("url: ");
        let token = next("admin token: ");
        Demo {
            child,
            stderr,
            url,
            token,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until stderr says the history is detected.
    fn wait_for_history(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        while !self.stderr().contains("history ready") {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("weft demo exited ({status}): {}", self.stderr());
            }
            assert!(Instant::now() < deadline, "no history: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn hashes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("demo-logs")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("log file"))
        })
        .collect()
}

#[test]
fn demo_serves_the_attack_chains_as_incidents() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let address = free_address();
    let started = Instant::now();
    let mut demo = Demo::start(dir.path(), "data", 7, address, &["--scale", "0.25"]);
    assert_eq!(demo.url, format!("http://{address}/"));
    assert!(demo.token.starts_with("weft_"), "{}", demo.token);
    let (status, body) = get(address, "/healthz", None);
    assert_eq!(status, 200, "{body}");
    eprintln!("answering after {:.1} s", started.elapsed().as_secs_f64());
    let (status, _) = get(address, "/api/v1/incidents", None);
    assert_eq!(status, 401, "the API needs the token");

    demo.wait_for_history();
    eprintln!(
        "history ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (status, body) = get(address, "/api/v1/incidents", Some(&demo.token));
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).expect("JSON");
    let incidents = page["incidents"].as_array().expect("incidents");
    let by_entity = |kind: &str, matches: &dyn Fn(&str) -> bool| -> &Value {
        let found: Vec<&Value> = incidents
            .iter()
            .filter(|incident| {
                incident["entities"].as_array().is_some_and(|entities| {
                    entities.iter().any(|entity| {
                        entity["type"] == kind && entity["value"].as_str().is_some_and(matches)
                    })
                })
            })
            .collect();
        assert_eq!(found.len(), 1, "one incident of {kind}: {body}");
        found[0]
    };
    let by_user = |user: &str| by_entity("user", &|value| value == user);
    let services = |incident: &Value| -> Vec<String> {
        incident["services"]
            .as_array()
            .expect("services")
            .iter()
            .filter_map(|service| service.as_str().map(str::to_string))
            .collect()
    };
    // The account takeover: gateway, auth, orders, the cluster and AWS, as one incident.
    let takeover = by_user("priya");
    assert_eq!(
        services(takeover),
        ["auth", "cloudtrail", "cluster-audit", "gateway", "orders"],
        "{takeover}"
    );
    assert_eq!(takeover["severity"], "critical", "{takeover}");
    // The bastion takeover reaches the cluster and AWS.
    assert_eq!(
        services(by_user("deploy")),
        ["bastion", "cloudtrail", "cluster-audit"]
    );
    // The cloud key abuse: found behind the gateway, used in AWS and the cluster.
    let key_abuse = by_user("svc-reporting");
    assert!(key_abuse["rule_count"].as_u64() >= Some(3), "{key_abuse}");
    assert_eq!(
        services(key_abuse),
        ["cloudtrail", "cluster-audit", "gateway"],
        "{key_abuse}"
    );
    // The session hijack: a shopper's session replayed from 185.220.101.0/24.
    let hijack = by_entity("src_ip", &|value| value.starts_with("185.220.101."));
    assert_eq!(
        services(hijack),
        ["auth", "gateway", "orders", "payments"],
        "{hijack}"
    );
    // MFA fatigue: the engineer's sign-on, then the cluster and AWS.
    let fatigue = by_user("sofia");
    assert_eq!(
        services(fatigue),
        ["auth", "cloudtrail", "cluster-audit"],
        "{fatigue}"
    );
    assert_eq!(fatigue["severity"], "critical", "{fatigue}");
    // The engineer's exec while debugging: a true alert, benign, on its own.
    assert_eq!(services(by_user("tomasz")), ["cluster-audit"]);
    // Nothing else: the CI deployer's rollouts no longer raise SigmaHQ's sidecar-injection
    // rule (rules/kubernetes/sigmahq_deploy_pipelines.yml).
    assert_eq!(incidents.len(), 6, "{body}");
}

#[test]
fn the_same_seed_writes_the_same_logs() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let small = ["--hours", "4", "--scale", "0.1"];
    let mut logs = Vec::new();
    for (name, seed) in [("first", 3), ("second", 3), ("other", 4)] {
        let mut demo = Demo::start(dir.path(), name, seed, free_address(), &small);
        demo.wait_for_history();
        logs.push(hashes(&dir.path().join(name).join("demo-logs")));
    }
    assert_eq!(logs[0].len(), 7, "one file per service");
    assert!(logs[0].values().all(|bytes| !bytes.is_empty()));
    assert!(logs[0] == logs[1], "the same seed wrote different logs");
    assert!(logs[0] != logs[2], "another seed wrote the same logs");
}
