//! End-to-end tests of the event store's object storage: `weft ingest` with `[store] remote`
//! replicates what it stores, and `weft store restore` builds a data directory whose SQL and
//! search answers are those of the original. Against a local directory always; against S3
//! when `scripts/test-s3` runs an S3-compatible server and sets `WEFT_TEST_S3_URL`.

use std::path::Path;
use std::process::{Command, Output};

use weft_query::search::{EventSearch, SearchParams};
use weft_query::sql::{SqlEngine, SqlLimits};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/scenario");

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "weft failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What SQL and search answer over a data directory.
fn answers(data_dir: &Path) -> (serde_json::Value, serde_json::Value) {
    let engine = SqlEngine::new(data_dir, SqlLimits::default()).expect("sql engine");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sql = runtime
        .block_on(engine.query_rows(
            "SELECT event_id, time, service, format, class, user, src_ip, message, raw \
             FROM events ORDER BY event_id",
        ))
        .expect("sql answers");
    let search = EventSearch::new(data_dir)
        .search(&SearchParams {
            query: "failed".to_string(),
            limit: 500,
            ..SearchParams::default()
        })
        .expect("search answers");
    (
        serde_json::to_value(&sql).expect("rows serialize"),
        serde_json::to_value(&search).expect("page serializes"),
    )
}

/// Ingests the scenario's logs with `remote` configured, restores from it into a new
/// directory, and compares the answers.
fn round_trip(remote: &str) {
    let work = tempfile::tempdir().expect("tempdir");
    let config = work.path().join("weft.toml");
    std::fs::write(&config, format!("[store]\nremote = \"{remote}\"\n")).expect("config");
    let original = work.path().join("original");
    let ingested = succeeded(
        weft()
            .arg("--config")
            .arg(&config)
            .arg("ingest")
            .arg("--data-dir")
            .arg(&original)
            .arg(Path::new(FIXTURES).join("gateway.log"))
            .arg(Path::new(FIXTURES).join("auth-service.log"))
            .output()
            .expect("weft ingest runs"),
    );
    let stderr = String::from_utf8_lossy(&ingested.stderr);
    assert!(stderr.contains("replicated"), "{stderr}");

    let restored = work.path().join("restored");
    let restore = succeeded(
        weft()
            .args(["store", "restore", "--from", remote, "--data-dir"])
            .arg(&restored)
            .output()
            .expect("weft store restore runs"),
    );
    let stdout = String::from_utf8_lossy(&restore.stdout);
    assert!(stdout.contains("restored"), "{stdout}");

    let (sql, search) = answers(&original);
    assert!(
        sql["rows"].as_array().is_some_and(|rows| rows.len() > 100),
        "the scenario's events are stored: {sql}"
    );
    assert!(search["total"].as_u64().is_some_and(|total| total > 0));
    assert_eq!(answers(&restored), (sql, search));

    // A second restore into the same, now full, directory is refused.
    let again = weft()
        .args(["store", "restore", "--from", remote, "--data-dir"])
        .arg(&restored)
        .output()
        .expect("weft runs");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

#[test]
fn a_directory_remote_restores_what_sql_and_search_answered() {
    let remote = tempfile::tempdir().expect("tempdir");
    round_trip(&format!(
        "file://{}",
        remote.path().join("bucket").display()
    ));
}

#[test]
fn an_s3_remote_restores_what_sql_and_search_answered() {
    let Ok(url) = std::env::var("WEFT_TEST_S3_URL") else {
        eprintln!(
            "skipped: WEFT_TEST_S3_URL is not set (scripts/test-s3 starts an S3 server and sets it)"
        );
        return;
    };
    round_trip(&format!("{url}/cli"));
}

/// `weft run --once` with `[store] remote` replicates the segments its files became before it
/// exits, and a run with nothing new uploads nothing again.
#[test]
fn weft_run_replicates_before_it_exits() {
    let work = tempfile::tempdir().expect("tempdir");
    let remote_dir = work.path().join("remote");
    let remote = format!("file://{}", remote_dir.display());
    let config = work.path().join("weft.toml");
    std::fs::write(&config, format!("[store]\nremote = \"{remote}\"\n")).expect("config");
    let data_dir = work.path().join("data");
    let run = |inputs: &[std::path::PathBuf]| {
        succeeded(
            weft()
                .arg("--config")
                .arg(&config)
                .args(["run", "--once", "--no-api", "--json", "--data-dir"])
                .arg(&data_dir)
                .args(inputs)
                .output()
                .expect("weft run runs"),
        )
    };
    let first = run(&[Path::new(FIXTURES).join("orders.log")]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("replicated 1 segment(s)"), "{stderr}");
    let local = std::fs::read_to_string(data_dir.join("manifest.jsonl")).expect("manifest");
    let copied = std::fs::read_to_string(remote_dir.join("manifest.jsonl")).expect("remote");
    assert_eq!(local, copied);

    let second = run(&[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("replicated 0 segment(s)"), "{stderr}");
}
