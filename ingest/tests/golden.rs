//! Golden tests: every input under `tests/golden/<format>/` is framed and parsed with that
//! format, and the events (one JSON object per line, errors as `{"error": ...}`) must equal
//! `<case>.expected.ndjson` beside it. `BLESS=1 cargo test -p weft-ingest --test golden`
//! rewrites every expectation, `BLESS=<format>` only that format's; review the diff before
//! committing.

use std::fs;
use std::path::{Path, PathBuf};

use weft_ingest::frame::frame_all;
use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::time::parse_rfc3339;

/// Year-less timestamps (RFC 3164) resolve against this instant in golden tests.
const REFERENCE_TIME: &str = "2025-06-15T00:00:00Z";
const MAX_RECORD: usize = 1024 * 1024;

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn is_input(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    path.is_file()
        && !name.ends_with(".expected.ndjson")
        && !name.ends_with(".md")
        && !name.starts_with('.')
}

/// The expected-output text for one input file.
fn render(format: &str, input: &[u8]) -> String {
    let context = ParseContext {
        reference_time: parse_rfc3339(REFERENCE_TIME).expect("valid reference time"),
    };
    let mut parser = parse::build(format, &ParserOptions::default())
        .unwrap_or_else(|| panic!("golden directory `{format}` names no registered format"));
    let mut output = String::new();
    for (position, bytes, oversized) in frame_all(input, MAX_RECORD).expect("in-memory input") {
        if oversized {
            output.push_str(&format!(
                "{{\"line\":{},\"oversized\":true}}\n",
                position.line
            ));
            continue;
        }
        let record = String::from_utf8_lossy(&bytes);
        let mut events = Vec::new();
        match parser.parse(&record, &context, &mut events) {
            Ok(()) => {
                for event in &events {
                    output.push_str(&serde_json::to_string(event).expect("events serialize"));
                    output.push('\n');
                }
            }
            Err(error) => {
                let line = serde_json::json!({"line": position.line, "error": error.to_string()});
                output.push_str(&line.to_string());
                output.push('\n');
            }
        }
    }
    output
}

#[test]
fn golden_files_match() {
    let bless = std::env::var("BLESS").ok();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut formats: Vec<PathBuf> = fs::read_dir(golden_root())
        .expect("tests/golden exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.is_dir())
        .collect();
    formats.sort();
    for format_dir in formats {
        let format = format_dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("utf-8 name")
            .to_string();
        let mut inputs: Vec<PathBuf> = fs::read_dir(&format_dir)
            .expect("readable directory")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| is_input(path))
            .collect();
        inputs.sort();
        for input in inputs {
            let bytes = fs::read(&input).expect("readable input");
            let actual = render(&format, &bytes);
            let stem = input
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("utf-8 name");
            let expected_path = input.with_file_name(format!("{stem}.expected.ndjson"));
            checked += 1;
            if bless
                .as_deref()
                .is_some_and(|target| target == "1" || target == format)
            {
                fs::write(&expected_path, &actual).expect("writable golden file");
                continue;
            }
            match fs::read_to_string(&expected_path) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => failures.push(format!(
                    "{}: output differs from {}\n{}",
                    input.display(),
                    expected_path.display(),
                    first_difference(&expected, &actual)
                )),
                Err(_) => failures.push(format!(
                    "{}: no {} (run with BLESS=1 and review it)",
                    input.display(),
                    expected_path.display()
                )),
            }
        }
    }
    assert!(
        checked > 0,
        "no golden inputs found under {}",
        golden_root().display()
    );
    assert!(
        failures.is_empty(),
        "{} golden file(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (number, (want, got)) in expected.lines().zip(actual.lines()).enumerate() {
        if want != got {
            return format!(
                "line {}:\n  expected: {want}\n  actual:   {got}",
                number + 1
            );
        }
    }
    format!(
        "line counts differ: expected {}, actual {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[test]
fn every_format_has_golden_cases() {
    for spec in parse::FORMATS {
        let directory = golden_root().join(spec.name);
        let inputs = fs::read_dir(&directory)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| is_input(&entry.path()))
                    .count()
            })
            .unwrap_or(0);
        assert!(
            inputs > 0,
            "format `{}` has no golden inputs in {}",
            spec.name,
            directory.display()
        );
    }
}
