//! The rule pack's scheduled SQL rules (`rules/**` documents with `sql:`) on their own test
//! events: each positive file, ingested and run through the rule's hourly slots over the range
//! its `expected.toml` names (`weft jobs backfill`, the path a scheduled run takes), raises the
//! expected alerts; each negative file raises none. The pack's Sigma, correlation and sequence
//! rules are tested in `correlate/tests/rule_pack.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule: String,
    format: String,
    positive: String,
    alerts: usize,
    negative: String,
    from: String,
    to: String,
}

fn weft() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft"))
}

fn sql_rule_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sql_rule_files(&path, found)?;
        } else if path.extension().is_some_and(|extension| extension == "yml")
            && std::fs::read_to_string(&path)?
                .lines()
                .any(|line| line.starts_with("sql:"))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// New alerts of running `rule` over `events` (a log file) through the rule's slots.
fn alerts_of(rule_file: &Path, expected: &Expected, events: &Path) -> anyhow::Result<usize> {
    let data = tempfile::tempdir()?;
    let ingest = weft()
        .args(["ingest", "--format", &expected.format, "--data-dir"])
        .arg(data.path())
        .arg(events)
        .output()?;
    anyhow::ensure!(
        ingest.status.success(),
        "ingesting {}: {}",
        events.display(),
        String::from_utf8_lossy(&ingest.stderr)
    );
    let backfill = weft()
        .args([
            "jobs",
            "backfill",
            &expected.rule,
            "--from",
            &expected.from,
            "--to",
            &expected.to,
        ])
        .arg("--rules")
        .arg(rule_file)
        .arg("--data-dir")
        .arg(data.path())
        .output()?;
    let stdout = String::from_utf8_lossy(&backfill.stdout).to_string();
    anyhow::ensure!(
        backfill.status.success(),
        "backfill of {}: {stdout}{}",
        expected.rule,
        String::from_utf8_lossy(&backfill.stderr)
    );
    // "backfill of ID: N run(s) queued; N run(s) done, 0 failed; N new alert(s), ..."
    let alerts = stdout
        .split("; ")
        .find_map(|part| {
            part.strip_suffix(" new alert(s)").or_else(|| {
                part.split(", ")
                    .next()
                    .and_then(|first| first.strip_suffix(" new alert(s)"))
            })
        })
        .and_then(|count| count.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no alert count in {stdout:?}"))?;
    Ok(alerts)
}

#[test]
fn every_sql_rule_of_the_pack_passes_its_test_events() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files = Vec::new();
    sql_rule_files(&root, &mut files)?;
    assert!(!files.is_empty(), "the pack has scheduled SQL rules");
    for file in &files {
        let tests = file.with_extension("tests");
        let expected: Expected =
            toml::from_str(&std::fs::read_to_string(tests.join("expected.toml"))?)?;
        assert!(
            expected.alerts > 0,
            "{}: a positive case expects an alert",
            file.display()
        );
        let positive = alerts_of(file, &expected, &tests.join(&expected.positive))?;
        assert_eq!(
            positive,
            expected.alerts,
            "{}: positive events",
            file.display()
        );
        let negative = alerts_of(file, &expected, &tests.join(&expected.negative))?;
        assert_eq!(negative, 0, "{}: negative events", file.display());
    }
    Ok(())
}
