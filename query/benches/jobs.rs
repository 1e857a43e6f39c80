//! Scheduled detection jobs over one stored hour: two SQL rules through `SqlJobs` (DataFusion,
//! what the scheduler runs) and 100 SigmaHQ process_creation rules in batch through `RuleBatch`,
//! with DuckDB running the same SQL on the same Parquet files in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p weft-query --bench jobs         # the default size
//! WEFT_BENCH_JOBS_ROWS=18000000 cargo bench -p weft-query --bench jobs  # the issue's 5k events/s
//! WEFT_BENCH_JOBS_ROWS=200000 cargo bench -p weft-query --bench jobs    # a quick run
//! ```
//!
//! The hour of platform events (HTTP access, authentication, Kubernetes audit, Sysmon process
//! creation, network and DNS; a few percent suspicious) is generated from a fixed seed and
//! written through weft-ingest's `EventStore`, as `weft ingest` writes it, once, under
//! `<target>/bench-data/jobs-<rows>/` (`WEFT_BENCH_JOBS_DIR` puts it elsewhere) and reused
//! afterwards (`support/store.rs`; the SQL bench reads the same store). Every case runs `WEFT_BENCH_JOBS_RUNS` times (3 by default, the first on a page
//! cache the store build or the previous case warmed) and the median is reported. The Sigma
//! case needs `../shared/corpora/sigma-rules`; DuckDB needs `python3 -c "import duckdb"`
//! (`scripts/bench_jobs_duckdb.py`). Each skips with a message when missing.
//!
//! This is a plain `harness = false` program rather than criterion: one SQL run over the
//! hour takes seconds and one Sigma run tens of seconds, too long for criterion's sampling.

#[path = "support/store.rs"]
mod store;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use weft_correlate::correlation::CorrelatorConfig;
use weft_correlate::correlation::backtest::TimeRange;
use weft_correlate::detect::{DetectorConfig, EntityReader, RuleBatch};
use weft_correlate::record::AlertSource;
use weft_correlate::ruleset::DetectionRules;
use weft_correlate::service::SqlBackend;
use weft_correlate::sigma::{Placeholders, load_paths};
use weft_query::jobs::SqlJobs;
use weft_query::sql::SqlLimits;

use store::{DEFAULT_ROWS, HOUR, HOUR_START, build_store, env_number, measure, seconds, store_dir};

const SIGMA_RULES: usize = 100;

/// The SQL rules measured: (name, statement). Both run unchanged on DataFusion and DuckDB.
const SQL_RULES: [(&str, &str); 2] = [
    (
        "sql_password_spray",
        "SELECT src_ip, count(*) AS failures, count(DISTINCT user) AS users \
         FROM events WHERE class = 'authentication' AND outcome = 'failure' \
         GROUP BY src_ip HAVING count(DISTINCT user) >= 5",
    ),
    (
        "sql_denied_per_5min",
        "SELECT src_ip, date_trunc('hour', time) AS hour_start, \
         CAST(date_part('minute', time) AS INTEGER) \
           - CAST(date_part('minute', time) AS INTEGER) % 5 AS minute, \
         count(*) AS denied, count(DISTINCT url) AS urls \
         FROM events WHERE class = 'http_activity' AND http_status IN (401, 403) \
         GROUP BY 1, 2, 3 HAVING count(*) >= 20 ORDER BY denied DESC, src_ip LIMIT 100",
    ),
];

/// One line of the final table.
struct Row {
    case: String,
    engine: String,
    median: Duration,
    events: u64,
    found: String,
}

/// The first SigmaHQ process_creation rule files that hold `SIGMA_RULES` loadable rules.
fn sigma_rule_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/sigma-rules/rules/windows/process_creation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    let mut chosen = Vec::new();
    let mut loaded = 0;
    for file in files {
        if loaded == SIGMA_RULES {
            break;
        }
        let set = load_paths(std::slice::from_ref(&file), &Placeholders::default());
        if set.errors.is_empty() && !set.rules.is_empty() && loaded + set.rules.len() <= SIGMA_RULES
        {
            loaded += set.rules.len();
            chosen.push(file);
        }
    }
    Some(chosen)
}

fn duckdb_peer(dir: &Path, runs: u64, table: &mut Vec<Row>, weft: &[(String, Duration)]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_jobs_duckdb.py");
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .arg(dir)
        .arg(HOUR_START.to_string())
        .arg((HOUR_START + HOUR).to_string())
        .arg(runs.to_string());
    for (name, sql) in SQL_RULES {
        command.arg(format!("{name}={sql}"));
    }
    let output = match command.output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            println!(
                "duckdb skipped: {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return;
        }
        Err(error) => {
            println!("duckdb skipped: cannot run python3: {error}");
            return;
        }
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(answer) = serde_json::from_str::<serde_json::Value>(line) else {
            println!("duckdb: unexpected output {line:?}");
            continue;
        };
        let name = answer["name"].as_str().unwrap_or_default().to_string();
        let median = Duration::from_secs_f64(answer["median"].as_f64().unwrap_or_default());
        let runs: Vec<Duration> = answer["runs"]
            .as_array()
            .map(|runs| {
                runs.iter()
                    .filter_map(serde_json::Value::as_f64)
                    .map(Duration::from_secs_f64)
                    .collect()
            })
            .unwrap_or_default();
        let ratio = weft
            .iter()
            .find(|(case, _)| *case == name)
            .map(|(_, weft)| weft.as_secs_f64() / median.as_secs_f64());
        println!(
            "{name} duckdb {} ({} threads): median {:.2} s (runs {}), {} rows, {} events in the window; weft/duckdb {}",
            answer["version"].as_str().unwrap_or("?"),
            answer["threads"],
            median.as_secs_f64(),
            seconds(&runs),
            answer["rows"],
            answer["events_scanned"],
            ratio.map_or("?".to_string(), |ratio| format!("{ratio:.2}x")),
        );
        table.push(Row {
            case: name,
            engine: format!(
                "DuckDB {} (weft/duckdb {})",
                answer["version"].as_str().unwrap_or("?"),
                ratio.map_or("?".to_string(), |ratio| format!("{ratio:.2}x"))
            ),
            median,
            events: answer["events_scanned"].as_u64().unwrap_or_default(),
            found: format!("{} rows", answer["rows"]),
        });
    }
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only compile.
    if !std::env::args().any(|arg| arg == "--bench") {
        return Ok(());
    }
    let rows = env_number("WEFT_BENCH_JOBS_ROWS", DEFAULT_ROWS);
    let runs = env_number("WEFT_BENCH_JOBS_RUNS", 3);
    let dir = store_dir("WEFT_BENCH_JOBS_DIR", rows);
    build_store(&dir, rows)?;
    let range = TimeRange {
        from: Some(HOUR_START),
        to: Some(HOUR_START + HOUR - 1),
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "one hour of {rows} events ({:.0} events/s), {cores} cores, {runs} runs per case, median reported",
        rows as f64 / 3600.0
    );
    let mut table = Vec::new();

    // The SQL rules, as the scheduler runs them (a generous timeout: the default 30 s is a
    // production limit, not part of what is measured).
    let limits = SqlLimits {
        timeout: Duration::from_secs(3600),
        ..SqlLimits::default()
    };
    let mut jobs = SqlJobs::new(&dir, limits)?;
    let mut weft = Vec::new();
    for (name, sql) in SQL_RULES {
        let (median, timings, answer) = measure(runs, || {
            jobs.query(sql, range)
                .map_err(|error| anyhow::anyhow!("{name}: {error}"))
        })?;
        println!(
            "{name} weft SqlJobs: median {:.2} s (runs {}), {} rows, {} events in the window, {:.2} M events/s",
            median.as_secs_f64(),
            seconds(&timings),
            answer.rows.len(),
            answer.events_scanned,
            answer.events_scanned as f64 / median.as_secs_f64() / 1e6
        );
        weft.push((name.to_string(), median));
        table.push(Row {
            case: name.to_string(),
            engine: "weft SqlJobs (DataFusion)".to_string(),
            median,
            events: answer.events_scanned,
            found: format!("{} rows", answer.rows.len()),
        });
    }
    duckdb_peer(&dir, runs, &mut table, &weft);

    // 100 Sigma rules in batch, as a scheduled Sigma job runs them.
    match sigma_rule_files() {
        None => println!("sigma skipped: ../shared/corpora/sigma-rules not found"),
        Some(files) => {
            let rules = DetectionRules::load(&files, &[], None)?;
            let loaded = rules.sigma_count();
            let batch = RuleBatch::new(
                &dir,
                Arc::clone(&rules.matcher),
                Arc::clone(&rules.set),
                EntityReader::new(&DetectorConfig::default().entity_types),
                CorrelatorConfig {
                    allowed_lateness: 0,
                    ..CorrelatorConfig::default()
                },
            );
            let source = AlertSource::Job {
                job: "bench".to_string(),
            };
            let (median, timings, output) = measure(runs, || {
                batch
                    .run(range, None, source.clone())
                    .context("sigma batch")
            })?;
            let name = format!("sigma_batch_{loaded}_rules");
            println!(
                "{name} weft RuleBatch ({} files): median {:.2} s (runs {}), {} alerts, {} events, {:.0} events/s",
                files.len(),
                median.as_secs_f64(),
                seconds(&timings),
                output.alerts.len(),
                output.events_scanned,
                output.events_scanned as f64 / median.as_secs_f64()
            );
            table.push(Row {
                case: name,
                engine: "weft RuleBatch".to_string(),
                median,
                events: output.events_scanned,
                found: format!("{} alerts", output.alerts.len()),
            });
        }
    }

    println!();
    println!("| job ({rows} events, one hour) | engine | median wall time | events/s | found |");
    println!("| --- | --- | --- | --- | --- |");
    for row in table {
        println!(
            "| `{}` | {} | {:.2} s | {:.2} M | {} |",
            row.case,
            row.engine,
            row.median.as_secs_f64(),
            row.events as f64 / row.median.as_secs_f64() / 1e6,
            row.found
        );
    }
    Ok(())
}
