//! End-to-end tests of `weft ingest`: the real binary on real files, the result read back with
//! independent readers (the `parquet` crate's Arrow reader; DuckDB and pyarrow when Python has
//! them, which `scripts/test` installs).

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the weft binary runs")
}

fn summary_of(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "weft failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// Every row of every segment in the manifest, read with the `parquet` crate.
fn read_store(data_dir: &Path) -> Vec<RecordBatch> {
    let manifest = fs::read_to_string(data_dir.join("manifest.jsonl")).expect("manifest exists");
    let mut batches = Vec::new();
    for line in manifest.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("manifest line is JSON");
        let path = data_dir.join(entry["path"].as_str().expect("path"));
        let file = fs::File::open(&path).expect("segment listed in the manifest exists");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("valid parquet")
            .build()
            .expect("reader");
        let rows_before: usize = batches.iter().map(RecordBatch::num_rows).sum();
        for batch in reader {
            batches.push(batch.expect("readable batch"));
        }
        let rows_after: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(
            (rows_after - rows_before) as u64,
            entry["rows"].as_u64().expect("rows"),
            "manifest row count of {}",
            path.display()
        );
    }
    batches
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column_by_name(column).expect("column exists");
        let array = arrow_cast_to_strings(array.as_ref());
        values.extend(array);
    }
    values
}

fn arrow_cast_to_strings(array: &dyn Array) -> Vec<Option<String>> {
    if let Some(strings) = array.as_string_opt::<i32>() {
        return strings
            .iter()
            .map(|value| value.map(str::to_string))
            .collect();
    }
    let dictionary = array.as_any_dictionary();
    let values = dictionary.values().as_string::<i32>();
    let keys = dictionary.normalized_keys();
    (0..array.len())
        .map(|index| (!array.is_null(index)).then(|| values.value(keys[index]).to_string()))
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        Fixture { _dir: dir, root }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.join(name);
        fs::write(&path, bytes).expect("write fixture");
        path
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
}

const APP_LOG: &str = concat!(
    r#"{"ts":"2024-05-01T12:00:00Z","level":"warn","msg":"login failed","user":"alice","client_ip":"203.0.113.7"}"#,
    "\n",
    r#"{"ts":"2024-05-01T12:00:05Z","msg":"login ok","user":"alice","client_ip":"203.0.113.7"}"#,
    "\n",
    r#"{"ts":"2024-05-01T12:00:06Z","msg":"truncated"#,
    "\n",
);

#[test]
fn ingests_mixed_inputs_and_accounts_for_every_record() {
    let fixture = Fixture::new();
    let app = fixture.file("auth-service.log", APP_LOG.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"msg\":\"from gzip\",\"time\":\"2024-05-01T13:00:00Z\"}\n")
        .expect("compress");
    let compressed = fixture.file("gateway.log.gz", &gz.finish().expect("compress"));
    let mut odd = b"caf\xe9 au lait: a latin-1 line\n".to_vec();
    odd.extend_from_slice(format!("{}\n", "y".repeat(2 * 1024 * 1024)).as_bytes());
    let odd = fixture.file("odd.log", &odd);

    let output = run(weft()
        .arg("ingest")
        .arg("--json")
        .arg("--data-dir")
        .arg(fixture.data_dir())
        .args([&app, &compressed, &odd]));
    let summary = summary_of(&output);
    assert_eq!(summary["read"], 6);
    assert_eq!(summary["stored"], 4);
    assert_eq!(
        summary["dead_lettered"], 2,
        "a truncated JSON record and a 2 MiB line"
    );
    assert_eq!(summary["by_format"]["json"], 3);
    assert_eq!(summary["by_format"]["text"], 1);
    assert_eq!(summary["not_utf8"], 1);
    assert_eq!(summary["dead_letter_reasons"]["oversized"], 1);

    let batches = read_store(&fixture.data_dir());
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 4);
    let services: HashSet<String> = strings(&batches, "service").into_iter().flatten().collect();
    assert_eq!(
        services,
        HashSet::from(["auth-service".into(), "gateway".into(), "odd".into()])
    );
    let users = strings(&batches, "user");
    assert_eq!(
        users
            .iter()
            .flatten()
            .filter(|user| *user == "alice")
            .count(),
        2
    );
    let raws = strings(&batches, "raw");
    assert!(
        raws.iter()
            .flatten()
            .any(|raw| raw == APP_LOG.lines().next().expect("line"))
    );
    assert!(
        raws.iter()
            .flatten()
            .any(|raw| raw.starts_with("caf\u{fffd} au lait"))
    );
    let ids: HashSet<String> = strings(&batches, "event_id")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids.len(), 4, "event ids are unique");

    let dead_letters = fs::read_dir(fixture.data_dir().join("deadletter"))
        .expect("dead-letter directory")
        .map(|entry| fs::read_to_string(entry.expect("entry").path()).expect("readable"))
        .collect::<String>();
    let reasons: Vec<serde_json::Value> = dead_letters
        .lines()
        .map(|line| serde_json::from_str(line).expect("dead letter is JSON"))
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|letter| {
        letter["line"] == 3
            && letter["origin"]
                .as_str()
                .expect("origin")
                .ends_with("auth-service.log")
    }));
}

#[test]
fn event_ids_are_the_same_when_a_file_is_ingested_again() {
    let fixture = Fixture::new();
    let app = fixture.file("app.log", APP_LOG.as_bytes());
    let first = fixture.root.join("first");
    let second = fixture.root.join("second");
    for data_dir in [&first, &second] {
        summary_of(&run(weft()
            .arg("ingest")
            .arg("--json")
            .arg("--data-dir")
            .arg(data_dir)
            .arg(&app)));
    }
    let mut a = strings(&read_store(&first), "event_id");
    let mut b = strings(&read_store(&second), "event_id");
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn reads_stdin_with_an_explicit_format_and_service() {
    let fixture = Fixture::new();
    let mut child = weft()
        .args([
            "ingest",
            "--json",
            "--format",
            "json",
            "--service",
            "billing",
            "--data-dir",
        ])
        .arg(fixture.data_dir())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weft");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"{\"msg\":\"a\",\"service\":\"ignored\"}\nnot json\n")
        .expect("write stdin");
    let output = child.wait_with_output().expect("weft exits");
    let summary = summary_of(&output);
    assert_eq!(
        (
            summary["stored"].as_u64(),
            summary["dead_lettered"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let services = strings(&read_store(&fixture.data_dir()), "service");
    assert_eq!(
        services,
        [Some("billing".to_string())],
        "--service wins over the record"
    );
}

#[test]
fn missing_input_and_unknown_format_fail_clearly() {
    let fixture = Fixture::new();
    let output = run(weft()
        .arg("ingest")
        .arg("--data-dir")
        .arg(fixture.data_dir())
        .arg(fixture.root.join("absent.log")));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read") && stderr.contains("absent.log"),
        "{stderr}"
    );

    let app = fixture.file("app.log", b"{}\n");
    let output = run(weft()
        .args(["ingest", "--format", "yaml", "--data-dir"])
        .arg(fixture.data_dir())
        .arg(&app));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown format `yaml`"), "{stderr}");
}

#[test]
fn schema_and_formats_commands_print_the_registry() {
    let schema = run(weft().arg("schema"));
    assert!(schema.status.success());
    let text = String::from_utf8_lossy(&schema.stdout);
    assert!(text.contains("| `event_id` |"), "{text}");

    let formats = run(weft().arg("formats"));
    assert!(formats.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&formats.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    for expected in ["json", "text"] {
        assert!(names.iter().any(|name| name == expected), "{names:?}");
    }
}

/// DuckDB and pyarrow read the segments directly, as analysts' tools would.
#[test]
fn duckdb_and_pyarrow_read_the_segments() {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb, pyarrow"])
        .output();
    if !probe.is_ok_and(|output| output.status.success()) {
        eprintln!(
            "skipped: python3 with duckdb and pyarrow not found (scripts/test installs them)"
        );
        return;
    }
    let fixture = Fixture::new();
    let app = fixture.file("app.log", APP_LOG.as_bytes());
    summary_of(&run(weft()
        .arg("ingest")
        .arg("--json")
        .arg("--data-dir")
        .arg(fixture.data_dir())
        .arg(&app)));
    let script = r#"
import sys, duckdb, pyarrow.dataset as ds
root = sys.argv[1]
con = duckdb.connect()
rows = con.execute(f"select count(*), count(distinct event_id), max(user), min(time)::varchar from read_parquet('{root}/events/*/*/*.parquet', hive_partitioning=true)").fetchone()
table = ds.dataset(f"{root}/events", format="parquet", partitioning="hive").to_table()
attrs = table.column("attrs").to_pylist()[0]
print(rows[0], rows[1], rows[2], rows[3], table.num_rows, dict(attrs)["level"])
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(fixture.data_dir())
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(printed.trim(), "2 2 alice 2024-05-01 12:00:00+00 2 warn");
}

#[test]
fn configured_aliases_fill_columns_for_their_service() {
    let fixture = Fixture::new();
    let config = fixture.file(
        "weft.toml",
        br#"
[ingest.aliases]
"actor_login" = "user"

[ingest.services.checkout]
aliases = { "cust_ip" = "src_ip", "order_trace" = "trace_id" }
"#,
    );
    let input = fixture.file(
        "checkout.log",
        b"{\"actor_login\":\"carol\",\"cust_ip\":\"198.51.100.9\",\"order_trace\":\"abc123\",\"msg\":\"paid\"}\n",
    );
    summary_of(&run(weft()
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--json", "--data-dir"])
        .arg(fixture.data_dir())
        .arg(&input)));
    let batches = read_store(&fixture.data_dir());
    assert_eq!(strings(&batches, "user"), [Some("carol".to_string())]);
    assert_eq!(
        strings(&batches, "src_ip"),
        [Some("198.51.100.9".to_string())]
    );
    assert_eq!(strings(&batches, "trace_id"), [Some("abc123".to_string())]);

    let bad = fixture.file("bad.toml", b"[ingest]\nformat = \"auto\"\nmax_record = 5\n");
    let output = run(weft()
        .arg("--config")
        .arg(&bad)
        .args(["ingest", "--data-dir"])
        .arg(fixture.data_dir())
        .arg(&input));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("max_record"),
        "{stderr}"
    );
}
