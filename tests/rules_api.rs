//! End to end: a rule created through the API of a running `weft run` detects events ingested
//! afterwards, without a restart.

#[path = "support/http.rs"]
mod http;

use http::{free_address, request};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RULE_ID: &str = "7d2c55e1-0000-4000-8000-0000000000e2";

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

/// The running `weft run`, stopped with SIGTERM (killed if it does not stop).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_rule_created_through_the_api_detects_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let config = dir.path().join("weft.toml");
    std::fs::write(&config, "[detect]\npoll_interval = \"200ms\"\n").expect("config");
    let token = weft()
        .args([
            "token",
            "create",
            "--name",
            "e2e",
            "--role",
            "admin",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .expect("weft token runs");
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();

    let address = free_address();
    let mut child = weft()
        .arg("--config")
        .arg(&config)
        .args(["run", "--listen", &address.to_string(), "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weft run starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let running = Running(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "weft run never listened");
        std::thread::sleep(Duration::from_millis(50));
    }

    let rule = format!(
        "title: E2E canary\nid: {RULE_ID}\nlevel: high\nlogsource:\n    category: authentication\ndetection:\n    keywords:\n        - e2e-canary-7731\n    condition: keywords\n"
    );
    let body = serde_json::json!({ "yaml": rule }).to_string();
    let (status, answer) = request(address, "POST", "/api/v1/rules", Some(&token), Some(&body));
    assert_eq!(status, 201, "{answer}");

    // The detector reloads its rules on its next step.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("weft run reports the reloaded rules");
        if line.contains("rules changed") {
            break;
        }
    }

    let log = dir.path().join("app.log");
    // No time in the record: its event time is its ingest time, now.
    std::fs::write(
        &log,
        "{\"user\": \"mallory\", \"message\": \"login e2e-canary-7731 failed\"}\n",
    )
    .expect("log written");
    let ingest = weft()
        .args(["ingest", "--data-dir"])
        .arg(&data_dir)
        .arg(&log)
        .output()
        .expect("weft ingest runs");
    assert!(ingest.status.success(), "{ingest:?}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = request(
            address,
            "GET",
            &format!("/api/v1/alerts?rule={RULE_ID}"),
            Some(&token),
            None,
        );
        assert_eq!(status, 200, "{answer}");
        if answer.contains(RULE_ID) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no alert of the new rule: {answer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let (status, catalogue) = request(address, "GET", "/api/v1/rules", Some(&token), None);
    assert_eq!(status, 200);
    assert!(catalogue.contains("\"hits\":1"), "{catalogue}");

    let mut running = running;
    let stopped = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = running.0.try_wait().expect("try_wait") {
            assert!(
                status.success(),
                "weft run stops cleanly on SIGTERM: {status}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "weft run did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
