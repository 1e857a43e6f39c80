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

/// `(raw, time µs, flags, date=/hour= of its segment)` of every stored event.
fn stored_times(data_dir: &Path) -> Vec<(String, i64, String, String)> {
    let manifest = fs::read_to_string(data_dir.join("manifest.jsonl")).expect("manifest exists");
    let mut rows = Vec::new();
    for line in manifest.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("manifest line is JSON");
        let relative = entry["path"].as_str().expect("path").to_string();
        let partition: Vec<&str> = relative
            .split('/')
            .filter(|part| part.starts_with("date=") || part.starts_with("hour="))
            .collect();
        let partition = partition.join("/");
        let file = fs::File::open(data_dir.join(&relative)).expect("segment exists");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("valid parquet")
            .build()
            .expect("reader");
        for batch in reader {
            let batch = batch.expect("readable batch");
            let raws = strings(std::slice::from_ref(&batch), "raw");
            let times = batch
                .column_by_name("time")
                .expect("time column")
                .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                .clone();
            let flags = batch.column_by_name("flags").expect("flags column");
            let flags = flags.as_list::<i32>();
            for (row, raw) in raws.into_iter().enumerate() {
                let flag_text = if flags.is_null(row) {
                    String::new()
                } else {
                    arrow_cast_to_strings(flags.value(row).as_ref())
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(",")
                };
                rows.push((
                    raw.expect("raw is never null"),
                    times.value(row),
                    flag_text,
                    partition.clone(),
                ));
            }
        }
    }
    rows
}

fn micros_of(rfc3339: &str) -> i64 {
    weft_ingest::time::parse_rfc3339(rfc3339).expect("valid time")
}

/// `date=YYYY-MM-DD/hour=HH` of a UTC instant.
fn partition_of(rfc3339: &str) -> String {
    format!("date={}/hour={}", &rfc3339[..10], &rfc3339[11..13])
}

/// Ingests `path` with `format` into a fresh data directory; checks the accounting.
fn ingest_with(fixture: &Fixture, name: &str, format: &str, path: &Path) -> (PathBuf, u64) {
    let data_dir = fixture.root.join(format!("data-{name}"));
    let summary = summary_of(&run(weft()
        .args(["ingest", "--json", "--format", format, "--data-dir"])
        .arg(&data_dir)
        .arg(path)));
    let read = summary["read"].as_u64().expect("read");
    let stored = summary["stored"].as_u64().expect("stored");
    let dead = summary["dead_lettered"].as_u64().expect("dead_lettered");
    assert_eq!(read, stored + dead, "{summary}");
    (data_dir, dead)
}

#[test]
fn clock_oddities_land_at_their_utc_instant_and_partition() {
    let fixture = Fixture::new();
    // (local time with its offset, the UTC instant it is): both sides of the US (New York,
    // 2024-03-10) and EU (2024-03-31) spring-forward, the EU fall-back hour that happens twice
    // (2024-10-27), a leap day, years in the past and in the future.
    let access = [
        ("10/Mar/2024:01:59:59 -0500", "2024-03-10T06:59:59Z"),
        ("10/Mar/2024:03:00:00 -0400", "2024-03-10T07:00:00Z"),
        ("31/Mar/2024:01:59:59 +0100", "2024-03-31T00:59:59Z"),
        ("31/Mar/2024:03:00:00 +0200", "2024-03-31T01:00:00Z"),
        ("27/Oct/2024:02:30:00 +0200", "2024-10-27T00:30:00Z"),
        ("27/Oct/2024:02:30:00 +0100", "2024-10-27T01:30:00Z"),
        ("29/Feb/2024:23:30:00 -0100", "2024-03-01T00:30:00Z"),
        ("29/Feb/2024:12:00:00 +0000", "2024-02-29T12:00:00Z"),
        ("01/Jan/2001:00:00:00 +0000", "2001-01-01T00:00:00Z"),
        ("24/Nov/2031:12:00:00 +0000", "2031-11-24T12:00:00Z"),
    ];
    let mut text = String::new();
    for (index, (local, _)) in access.iter().enumerate() {
        text.push_str(&format!(
            "203.0.113.7 - - [{local}] \"GET /r{index} HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n"
        ));
    }
    // No Feb 29 in 2023: the record is kept, its time flagged as missing, never lost.
    text.push_str("203.0.113.7 - - [29/Feb/2023:12:00:00 +0000] \"GET /bad HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n");
    let path = fixture.file("access.log", text.as_bytes());
    let (data_dir, dead) = ingest_with(&fixture, "access", "access_log", &path);
    let rows = stored_times(&data_dir);
    for (index, (local, utc)) in access.iter().enumerate() {
        let needle = format!("/r{index} ");
        let row = rows
            .iter()
            .find(|row| row.0.contains(&needle))
            .unwrap_or_else(|| panic!("{local} is stored: {rows:?}"));
        assert_eq!(row.1, micros_of(utc), "{local}");
        assert_eq!(row.3, partition_of(utc), "{local}");
        assert_eq!(row.2, "", "{local}: nothing to flag");
    }
    // The access log's time is its only clock: an impossible one is a dead letter that says
    // why, with the record's bytes.
    assert!(!rows.iter().any(|row| row.0.contains("/bad ")));
    assert_eq!(dead, 1);
    let letters: String = fs::read_dir(data_dir.join("deadletter"))
        .expect("dead letters")
        .map(|entry| fs::read_to_string(entry.expect("entry").path()).expect("read"))
        .collect();
    assert!(
        letters.contains("unreadable time `29/Feb/2023:12:00:00 +0000`"),
        "{letters}"
    );

    // RFC 3164 has no year: it is inferred from the file's time (here just after New Year
    // 2025) and flagged; Feb 29 resolves to the nearest year that has one (2024).
    let syslog = fixture.file(
        "syslog.log",
        b"<13>Dec 31 23:59:59 host app: old year\n<13>Jan  1 00:00:10 host app: new year\n<13>Feb 29 12:00:00 host app: leap day\n<13>2023-02-29T12:00:00Z host app: impossible\n",
    );
    let new_year = std::time::UNIX_EPOCH
        + std::time::Duration::from_micros(micros_of("2025-01-01T00:00:30Z") as u64);
    fs::File::options()
        .write(true)
        .open(&syslog)
        .expect("open fixture")
        .set_modified(new_year)
        .expect("set the file's time");
    let (data_dir, _) = ingest_with(&fixture, "syslog", "syslog3164", &syslog);
    let rows = stored_times(&data_dir);
    for (message, utc) in [
        ("old year", "2024-12-31T23:59:59Z"),
        ("new year", "2025-01-01T00:00:10Z"),
        ("leap day", "2024-02-29T12:00:00Z"),
    ] {
        let row = rows
            .iter()
            .find(|row| row.0.contains(message))
            .unwrap_or_else(|| panic!("{message} is stored: {rows:?}"));
        assert_eq!(row.1, micros_of(utc), "{message}");
        assert_eq!(row.3, partition_of(utc), "{message}");
        assert!(row.2.contains("year_inferred"), "{message}: {row:?}");
    }
    assert!(
        rows.iter().any(|row| row.0.contains("impossible")),
        "a syslog line with an impossible date is stored (as text after its header): {rows:?}"
    );

    // RFC 3339 in JSON: a leap day with an offset; an impossible one flagged, not lost.
    let json = fixture.file(
        "app.ndjson",
        b"{\"time\":\"2024-02-29T23:59:59.5+01:00\",\"msg\":\"leap\"}\n{\"time\":\"2023-02-29T10:00:00Z\",\"msg\":\"impossible\"}\n",
    );
    let (data_dir, dead) = ingest_with(&fixture, "json", "json", &json);
    let rows = stored_times(&data_dir);
    let leap = rows
        .iter()
        .find(|row| row.0.contains("leap"))
        .expect("the leap day is stored");
    assert_eq!(leap.1, micros_of("2024-02-29T22:59:59.5Z"));
    assert_eq!(leap.3, "date=2024-02-29/hour=22");
    // A JSON record is more than its time: stored at ingest time, flagged `time_missing`.
    assert_eq!(dead, 0);
    let impossible = rows
        .iter()
        .find(|row| row.0.contains("impossible"))
        .expect("the record with an impossible time is stored");
    assert!(impossible.2.contains("time_missing"), "{impossible:?}");
}
