//! End-to-end tests of `weft init`, `weft token` and `weft serve`: the binary, a real socket.

#[path = "support/http.rs"]
mod http;

use http::{free_address, get};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the weft binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data_dir: &std::path::Path, address: SocketAddr) -> Server {
    let mut child = weft()
        .args(["serve", "--listen", &address.to_string(), "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weft serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(address).is_err() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("weft serve exited ({status}): {stderr}");
        }
        assert!(Instant::now() < deadline, "weft serve never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

#[test]
fn init_prints_one_admin_token_that_the_server_accepts_until_it_is_revoked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let init = run(weft()
        .current_dir(dir.path())
        .arg("init")
        .arg("--data-dir")
        .arg(&data_dir));
    assert!(init.status.success(), "{init:?}");
    // A documented default configuration next to it, which weft reads.
    let written = std::fs::read_to_string(dir.path().join("weft.toml")).expect("weft.toml written");
    assert!(written.contains("[detect.incidents]"), "{written}");
    let listed = run(weft()
        .current_dir(dir.path())
        .args(["--config", "weft.toml", "incidents", "list", "--data-dir"])
        .arg(&data_dir));
    assert!(listed.status.success(), "{listed:?}");
    let admin = stdout(&init).trim().to_string();
    assert_eq!(
        stdout(&init).lines().count(),
        1,
        "the secret alone on stdout"
    );
    assert!(admin.len() >= 32, "a long secret: {admin}");
    let token_file =
        std::fs::read_to_string(data_dir.join("auth/tokens.json")).expect("the token file");
    assert!(token_file.contains("\"admin\""), "{token_file}");
    assert!(!token_file.contains(&admin), "only a hash is stored");

    let again = run(weft()
        .current_dir(dir.path())
        .arg("init")
        .arg("--data-dir")
        .arg(&data_dir));
    assert!(
        !again.status.success(),
        "a second init mints no second admin"
    );
    assert!(stdout(&again).is_empty());

    let viewer = run(weft()
        .args([
            "token",
            "create",
            "--name",
            "dashboard",
            "--role",
            "viewer",
            "--data-dir",
        ])
        .arg(&data_dir));
    assert!(viewer.status.success(), "{viewer:?}");
    let viewer = stdout(&viewer).trim().to_string();
    let bad_role = run(weft()
        .args([
            "token",
            "create",
            "--name",
            "x",
            "--role",
            "root",
            "--data-dir",
        ])
        .arg(&data_dir));
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("root"));

    let list = run(weft()
        .args(["token", "list", "--json", "--data-dir"])
        .arg(&data_dir));
    assert!(list.status.success(), "{list:?}");
    let listed: Vec<serde_json::Value> = stdout(&list)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    let roles: Vec<(&str, &str)> = listed
        .iter()
        .map(|token| {
            (
                token["name"].as_str().expect("name"),
                token["role"].as_str().expect("role"),
            )
        })
        .collect();
    assert_eq!(roles, vec![("admin", "admin"), ("dashboard", "viewer")]);
    assert!(!stdout(&list).contains(&admin) && !stdout(&list).contains(&viewer));

    let address = free_address();
    let _server = serve(&data_dir, address);
    assert_eq!(get(address, "/healthz", None).0, 200);
    assert_eq!(get(address, "/api/v1/whoami", None).0, 401);
    assert_eq!(get(address, "/api/v1/whoami", Some("wrong")).0, 401);
    let (status, body) = get(address, "/api/v1/whoami", Some(&admin));
    assert_eq!(status, 200, "{body}");
    let whoami: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(whoami["role"], "admin");
    let (status, body) = get(address, "/api/v1/whoami", Some(&viewer));
    assert_eq!(status, 200, "{body}");

    let revoke = run(weft()
        .args(["token", "revoke", "dashboard", "--data-dir"])
        .arg(&data_dir));
    assert!(revoke.status.success(), "{revoke:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(address, "/api/v1/whoami", Some(&viewer)).0 != 401 {
        assert!(
            Instant::now() < deadline,
            "the running server still accepts a revoked token"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_refuses_plain_http_on_a_network_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(weft()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path()));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--insecure-no-tls"), "{stderr}");
}
