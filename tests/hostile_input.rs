//! Hostile input through the real `weft ingest`: every record of the corpus in
//! `tests/fixtures/hostile/` (and of generated ones too large to keep in the repository) must be
//! accounted for by every format — stored, or dead-lettered with its reason and exact bytes —
//! and weft must exit cleanly. A panic, a lost record or a miscount fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the hostile corpus is in the repository")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "hostile corpus files: {files:?}");
    files
}

fn formats() -> Vec<String> {
    let output = weft().arg("formats").output().expect("weft runs");
    assert!(output.status.success());
    let mut formats: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(formats.len() >= 15, "formats: {formats:?}");
    formats.push("auto".to_string());
    formats
}

/// What one `weft ingest --json` run reported, and the dead letters it wrote.
struct Run {
    summary: serde_json::Value,
    dead_letters: Vec<serde_json::Value>,
    stored_rows: u64,
}

fn ingest(data_dir: &Path, format: &str, input: &Path) -> Run {
    let output = weft()
        .args(["ingest", "--json", "--format", format, "--data-dir"])
        .arg(data_dir)
        .arg(input)
        .output()
        .expect("weft runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "format {format} on {}: weft failed: {stderr}",
        input.display()
    );
    assert!(
        !stderr.contains("panicked"),
        "format {format} on {}: {stderr}",
        input.display()
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints one JSON object");
    let mut dead_letters = Vec::new();
    if let Ok(entries) = fs::read_dir(data_dir.join("deadletter")) {
        for entry in entries {
            let text = fs::read_to_string(entry.expect("entry").path()).expect("dead letters");
            dead_letters.extend(
                text.lines()
                    .map(|line| serde_json::from_str(line).expect("a dead letter is JSON")),
            );
        }
    }
    let stored_rows = fs::read_to_string(data_dir.join("manifest.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("manifest line");
            entry["rows"].as_u64().expect("rows")
        })
        .sum();
    Run {
        summary,
        dead_letters,
        stored_rows,
    }
}

fn count(summary: &serde_json::Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("summary has `{key}`: {summary}"))
}

/// `read == stored + dead_lettered`, every stored event is in a segment, every dead letter is
/// on disk with a reason and the record's bytes, and no non-blank line went unaccounted for.
fn assert_accounted(run: &Run, format: &str, input: &Path, raw: &[u8]) {
    let context = format!("format {format} on {}", input.display());
    let (read, stored, dead) = (
        count(&run.summary, "read"),
        count(&run.summary, "stored"),
        count(&run.summary, "dead_lettered"),
    );
    assert_eq!(read, stored + dead, "{context}: {}", run.summary);
    assert_eq!(run.stored_rows, stored, "{context}: rows in segments");
    assert_eq!(
        run.dead_letters.len() as u64,
        dead,
        "{context}: dead letters"
    );
    for letter in &run.dead_letters {
        assert!(
            letter["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty()),
            "{context}: a dead letter without a reason: {letter}"
        );
        let bytes = STANDARD
            .decode(letter["raw_base64"].as_str().expect("raw_base64"))
            .expect("raw_base64 is base64");
        assert_eq!(bytes.len() as u64, count(letter, "size"), "{context}");
        let offset = count(letter, "offset") as usize;
        assert_eq!(
            raw.get(offset..offset + bytes.len()),
            Some(bytes.as_slice()),
            "{context}: a dead letter's bytes are the record's bytes at its offset"
        );
    }
    let metadata = run.summary["metadata"].as_u64().unwrap_or(0);
    assert!(
        read + metadata > 0,
        "{context}: nothing read from a non-empty input: {}",
        run.summary
    );
}

#[test]
fn every_format_accounts_for_every_hostile_record() {
    let formats = formats();
    for input in fixtures() {
        let raw = fs::read(&input).expect("fixture");
        for format in &formats {
            let data_dir = tempfile::tempdir().expect("tempdir");
            let run = ingest(data_dir.path(), format, &input);
            assert_accounted(&run, format, &input, &raw);
        }
    }
}

#[test]
fn auto_detection_stores_what_it_can_and_dead_letters_the_rest() {
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/json.ndjson");
    let data_dir = tempfile::tempdir().expect("tempdir");
    let run = ingest(data_dir.path(), "auto", &json);
    assert_accounted(&run, "auto", &json, &fs::read(&json).expect("fixture"));
    assert!(
        count(&run.summary, "stored") > 0,
        "well-formed objects among the hostile ones are stored: {}",
        run.summary
    );
    assert!(
        count(&run.summary, "dead_lettered") > 0,
        "malformed JSON is dead-lettered, not stored as if it were fine: {}",
        run.summary
    );
}

#[test]
fn oversized_deep_and_huge_records_are_dead_lettered_or_stored_never_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("generated.log");
    let ten_megabytes = format!("{{\"msg\":\"{}\"}}", "A".repeat(10 * 1024 * 1024));
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    let deep_object = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
    let huge_number = format!("{{\"n\":{}}}", "9".repeat(10_000));
    let records = [
        "{\"msg\":\"before\"}".to_string(),
        ten_megabytes,
        deep,
        deep_object,
        huge_number,
        "{\"msg\":\"after\"}".to_string(),
    ];
    let raw = records.join("\n") + "\n";
    fs::write(&input, &raw).expect("write input");

    for format in ["auto", "json", "text"] {
        let data_dir = dir.path().join(format!("data-{format}"));
        let run = ingest(&data_dir, format, &input);
        assert_accounted(&run, format, &input, raw.as_bytes());
        let oversized: Vec<&serde_json::Value> = run
            .dead_letters
            .iter()
            .filter(|letter| {
                letter["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("oversized"))
            })
            .collect();
        assert_eq!(
            oversized.len(),
            1,
            "format {format}: the 10 MB record exceeds the 1 MiB default limit: {}",
            run.summary
        );
        assert_eq!(count(oversized[0], "size"), records[1].len() as u64);
        assert!(
            count(&run.summary, "stored") >= 2,
            "format {format}: the records around the hostile ones are stored: {}",
            run.summary
        );
    }
}
