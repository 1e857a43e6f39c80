//! Analysts' SQL over one stored hour: each query runs through `SqlEngine::query_batches` (what
//! `POST /api/v1/sql` runs: a fresh session over the whole `events` table, planning, execution,
//! the result as Arrow batches) and, right after, through DuckDB on the same Parquet files with
//! the same SQL text (or the noted dialect variant), a fresh connection per run, the result
//! fetched as Arrow. Each pair is checked to return the same rows.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p weft-query --bench sql          # the default size
//! WEFT_BENCH_SQL_ROWS=18000000 cargo bench -p weft-query --bench sql  # 5k events/s
//! WEFT_BENCH_SQL_QUERIES=message_like,user_timeline cargo bench ...   # some queries only
//! ```
//!
//! The hour is the jobs bench's (`support/store.rs`): generated from a fixed seed, written
//! through weft-ingest's `EventStore` once under `<target>/bench-data/jobs-<rows>/`
//! (`WEFT_BENCH_SQL_DIR` puts it elsewhere) and reused by both benches. Every query runs
//! `WEFT_BENCH_SQL_RUNS` times on each engine (5 by default) and the median is reported, with
//! weft's median over DuckDB's and the geometric mean of those ratios. DuckDB runs through
//! `scripts/bench_sql_duckdb.py` and needs `python3 -c "import duckdb"` (`scripts/bench-sql`
//! installs it); without it only weft's times are printed.

#[path = "support/store.rs"]
mod store;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use weft_query::sql::{SqlEngine, SqlLimits, to_rows};

use store::{DEFAULT_ROWS, HOUR_START, build_store, env_number, measure, seconds, store_dir};

/// What of a result both engines must agree on.
#[derive(Clone, Copy, PartialEq)]
enum Agree {
    /// Every value of every row, in order (numbers to a relative 1e-9).
    Values,
    /// The row count and the first `n` columns (the rest are approximations that differ by
    /// algorithm).
    Leading(usize),
}

/// One analyst query.
struct Query {
    name: &'static str,
    /// What an analyst asks, for the table.
    about: &'static str,
    sql: &'static str,
    /// DuckDB's text when its dialect differs, and why.
    duckdb: Option<(&'static str, &'static str)>,
    agree: Agree,
}

const QUERIES: &[Query] = &[
    Query {
        name: "counts_by_service",
        about: "events per service",
        sql: "SELECT service, count(*) AS events FROM events \
              GROUP BY service ORDER BY events DESC, service",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "status_by_service",
        about: "HTTP requests per service and status",
        sql: "SELECT service, http_status, count(*) AS requests FROM events \
              WHERE class = 'http_activity' \
              GROUP BY service, http_status ORDER BY service, http_status",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "failures_by_service",
        about: "events and failures per service (`count(*) FILTER`)",
        sql: "SELECT service, count(*) AS events, \
                count(*) FILTER (WHERE outcome = 'failure') AS failures \
              FROM events GROUP BY service ORDER BY failures DESC, service",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "top_users_auth_failures",
        about: "top 20 users by authentication failures, with their source addresses",
        sql: "SELECT user, count(*) AS failures, count(DISTINCT src_ip) AS addresses \
              FROM events WHERE class = 'authentication' AND outcome = 'failure' \
              GROUP BY user ORDER BY failures DESC, user LIMIT 20",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "events_per_5min",
        about: "events per 5-minute bucket and class",
        sql: "SELECT date_bin(INTERVAL '5 minutes', time) AS bucket, class, count(*) AS events \
              FROM events GROUP BY 1, 2 ORDER BY 1, 2",
        duckdb: Some((
            "SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, class, \
               count(*) AS events \
             FROM events GROUP BY 1, 2 ORDER BY 1, 2",
            "`time_bucket` for `date_bin`",
        )),
        agree: Agree::Values,
    },
    Query {
        name: "message_like",
        about: "who probes `/admin/.env` (`message LIKE '%/admin/.env%'`)",
        sql: "SELECT src_ip, count(*) AS probes FROM events \
              WHERE message LIKE '%/admin/.env%' \
              GROUP BY src_ip ORDER BY probes DESC, src_ip",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "failed_auth_then_http_200",
        about: "addresses that failed authentication and later got HTTP 200s (join of two classes)",
        sql: "WITH failed AS ( \
                SELECT src_ip, count(*) AS failures, min(time) AS first_failure FROM events \
                WHERE class = 'authentication' AND outcome = 'failure' GROUP BY src_ip), \
              served AS ( \
                SELECT src_ip, count(*) AS requests, max(time) AS last_request FROM events \
                WHERE class = 'http_activity' AND http_status = 200 GROUP BY src_ip) \
              SELECT f.src_ip, f.failures, s.requests, f.first_failure, s.last_request \
              FROM failed f JOIN served s ON s.src_ip = f.src_ip \
              WHERE s.last_request > f.first_failure \
              ORDER BY f.failures DESC, s.requests DESC, f.src_ip LIMIT 1000",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "failure_then_success_elsewhere",
        about: "users with a success from another address within 10 min of a failure (event self-join)",
        sql: "SELECT f.user, count(*) AS pairs, count(DISTINCT f.src_ip) AS failing_addresses \
              FROM events f JOIN events s ON s.user = f.user \
              WHERE f.class = 'authentication' AND f.outcome = 'failure' \
                AND s.class = 'authentication' AND s.outcome = 'success' \
                AND s.time > f.time AND s.time <= f.time + INTERVAL '10 minutes' \
                AND s.src_ip <> f.src_ip \
              GROUP BY f.user ORDER BY pairs DESC, f.user LIMIT 100",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "distinct_counts",
        about: "distinct users, addresses and hosts per service",
        sql: "SELECT service, count(DISTINCT user) AS users, \
                count(DISTINCT src_ip) AS addresses, count(DISTINCT host) AS hosts \
              FROM events GROUP BY service ORDER BY service",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "requests_per_address_percentiles",
        about: "p50/p90/p99 of HTTP requests per client address (exact `percentile_cont`)",
        sql: "WITH per_address AS ( \
                SELECT src_ip, count(*) AS requests FROM events \
                WHERE class = 'http_activity' GROUP BY src_ip) \
              SELECT count(*) AS addresses, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY requests) AS p50, \
                percentile_cont(0.9) WITHIN GROUP (ORDER BY requests) AS p90, \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY requests) AS p99 \
              FROM per_address",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "approx_per_service",
        about: "approximate distinct addresses and p50/p95 message length per service",
        sql: "SELECT service, approx_distinct(src_ip) AS addresses, \
                approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY length(message)) AS p50_length, \
                approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY length(message)) AS p95_length \
              FROM events GROUP BY service ORDER BY service",
        duckdb: Some((
            "SELECT service, approx_count_distinct(src_ip) AS addresses, \
               approx_quantile(length(message), 0.5) AS p50_length, \
               approx_quantile(length(message), 0.95) AS p95_length \
             FROM events GROUP BY service ORDER BY service",
            "`approx_count_distinct`, `approx_quantile` for `approx_distinct`, `approx_percentile_cont`",
        )),
        agree: Agree::Leading(1),
    },
    Query {
        name: "attrs_key_filter",
        about: "parents of PowerShell launches (`attrs['OriginalFileName']` filter)",
        sql: "SELECT attrs['ParentImage'] AS parent, attrs['IntegrityLevel'] AS integrity, \
                count(*) AS launches, count(DISTINCT host) AS hosts \
              FROM events WHERE attrs['OriginalFileName'] = 'PowerShell.EXE' \
              GROUP BY 1, 2 ORDER BY launches DESC, parent, integrity",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "top_endpoints_5xx",
        about: "top 20 endpoints by 5xx responses (`regexp_replace` drops the id)",
        sql: "SELECT service, regexp_replace(url, '/[0-9]+$', '') AS endpoint, \
                count(*) AS errors, count(DISTINCT src_ip) AS clients \
              FROM events WHERE class = 'http_activity' AND http_status >= 500 \
              GROUP BY 1, 2 ORDER BY errors DESC, service, endpoint LIMIT 20",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "time_range",
        about: "authentication failures of one minute, as rows",
        sql: "SELECT time, service, user, src_ip, message FROM events \
              WHERE time >= '2026-11-23T10:20:00Z' AND time < '2026-11-23T10:21:00Z' \
                AND class = 'authentication' AND outcome = 'failure' \
              ORDER BY time, event_id",
        duckdb: None,
        agree: Agree::Values,
    },
    Query {
        name: "user_timeline",
        about: "one user's latest 100 events, as rows",
        sql: "SELECT time, service, class, outcome, src_ip, message FROM events \
              WHERE user = 'user1234' ORDER BY time DESC, event_id LIMIT 100",
        duckdb: None,
        agree: Agree::Values,
    },
];

/// What the DuckDB peer answered for one query.
struct Peer {
    version: String,
    threads: String,
    median: Duration,
    runs: Vec<Duration>,
    rows: Vec<Value>,
}

fn duckdb_peer(dir: &Path, runs: u64, query: &Query) -> Result<Peer, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_sql_duckdb.py");
    let sql = query.duckdb.map_or(query.sql, |(sql, _)| sql);
    let output = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .arg(runs.to_string())
        .arg(sql)
        .output()
        .map_err(|error| format!("cannot run python3: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let answer: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("unexpected output from {}: {error}", script.display()))?;
    let runs = answer["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(Value::as_f64)
                .map(Duration::from_secs_f64)
                .collect()
        })
        .unwrap_or_default();
    Ok(Peer {
        version: answer["version"].as_str().unwrap_or("?").to_string(),
        threads: answer["threads"].to_string(),
        median: Duration::from_secs_f64(answer["median"].as_f64().unwrap_or_default()),
        runs,
        rows: answer["rows"].as_array().cloned().unwrap_or_default(),
    })
}

fn same_value(weft: &Value, duckdb: &Value) -> bool {
    match (weft, duckdb) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
        }
        _ => weft == duckdb,
    }
}

/// `None` when the results agree as `agree` asks, else the first difference.
fn difference(weft: &[Vec<Value>], duckdb: &[Value], agree: Agree) -> Option<String> {
    if weft.len() != duckdb.len() {
        return Some(format!(
            "{} rows from weft, {} from duckdb",
            weft.len(),
            duckdb.len()
        ));
    }
    for (index, (ours, theirs)) in weft.iter().zip(duckdb).enumerate() {
        let theirs = theirs.as_array().map(Vec::as_slice).unwrap_or_default();
        let columns = match agree {
            Agree::Values => ours.len().max(theirs.len()),
            Agree::Leading(columns) => columns,
        };
        let same = (0..columns).all(|column| match (ours.get(column), theirs.get(column)) {
            (Some(a), Some(b)) => same_value(a, b),
            _ => false,
        });
        if !same {
            return Some(format!(
                "row {index}: weft {}, duckdb {}",
                Value::from(ours.clone()),
                Value::from(theirs.to_vec())
            ));
        }
    }
    None
}

/// One line of the final table.
struct Line {
    query: &'static Query,
    weft: Duration,
    duckdb: Option<Duration>,
    rows: usize,
    agreement: String,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_string())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only compile.
    if !std::env::args().any(|arg| arg == "--bench") {
        return Ok(());
    }
    let rows = env_number("WEFT_BENCH_SQL_ROWS", DEFAULT_ROWS);
    let runs = env_number("WEFT_BENCH_SQL_RUNS", 5);
    let only: Option<Vec<String>> = std::env::var("WEFT_BENCH_SQL_QUERIES").ok().map(|names| {
        names
            .split(',')
            .map(|name| name.trim().to_string())
            .collect()
    });
    let dir = store_dir("WEFT_BENCH_SQL_DIR", rows);
    build_store(&dir, rows)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let start = chrono::DateTime::from_timestamp_micros(HOUR_START)
        .map_or_else(|| "?".to_string(), |time| time.to_rfc3339());
    println!(
        "one hour from {start} of {rows} events, {cores} cores, {runs} runs per query and engine, \
         median reported; load average {}",
        load_average()
    );

    // The API's limits but a generous timeout: the 30 s default is a production limit, not
    // part of what is measured.
    let limits = SqlLimits {
        timeout: Duration::from_secs(3600),
        ..SqlLimits::default()
    };
    let engine = SqlEngine::new(&dir, limits)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .context("tokio runtime")?;

    let mut lines = Vec::new();
    let mut duckdb_skipped = None;
    for query in QUERIES {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|name| name == query.name))
        {
            continue;
        }
        let (median, timings, answer) = measure(runs, || {
            runtime
                .block_on(engine.query_batches(query.sql))
                .map_err(|error| anyhow::anyhow!("{}: {error}", query.name))
        })?;
        let answer = to_rows(&answer).map_err(|error| anyhow::anyhow!("{error}"))?;
        println!(
            "{} weft: median {:.3} s (runs {}), {} rows{}",
            query.name,
            median.as_secs_f64(),
            seconds(&timings),
            answer.rows.len(),
            if answer.truncated { " (truncated)" } else { "" }
        );
        let mut line = Line {
            query,
            weft: median,
            duckdb: None,
            rows: answer.rows.len(),
            agreement: "not compared".to_string(),
        };
        if duckdb_skipped.is_none() {
            match duckdb_peer(&dir, runs, query) {
                Ok(peer) => {
                    let ratio = median.as_secs_f64() / peer.median.as_secs_f64();
                    line.agreement = match difference(&answer.rows, &peer.rows, query.agree) {
                        None if query.agree == Agree::Values => "same rows".to_string(),
                        None => "same row count and keys".to_string(),
                        Some(difference) => format!("DIFFERENT: {difference}"),
                    };
                    println!(
                        "{} duckdb {} ({} threads): median {:.3} s (runs {}), {} rows; \
                         weft/duckdb {ratio:.2}x; {}",
                        query.name,
                        peer.version,
                        peer.threads,
                        peer.median.as_secs_f64(),
                        seconds(&peer.runs),
                        peer.rows.len(),
                        line.agreement
                    );
                    line.duckdb = Some(peer.median);
                }
                Err(reason) => {
                    println!("duckdb skipped: {reason}");
                    duckdb_skipped = Some(reason);
                }
            }
        }
        lines.push(line);
    }

    println!();
    println!("load average at the end {}", load_average());
    println!("| query ({rows} events, one hour) | weft | DuckDB | weft/DuckDB | rows | results |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut log_ratios = Vec::new();
    for line in &lines {
        let ratio = line
            .duckdb
            .map(|duckdb| line.weft.as_secs_f64() / duckdb.as_secs_f64());
        if let Some(ratio) = ratio {
            log_ratios.push(ratio.ln());
        }
        let dialect = line
            .query
            .duckdb
            .map_or(String::new(), |(_, why)| format!("; DuckDB: {why}"));
        println!(
            "| `{}`: {}{dialect} | {:.3} s | {} | {} | {} | {} |",
            line.query.name,
            line.query.about,
            line.weft.as_secs_f64(),
            line.duckdb.map_or("-".to_string(), |time| format!(
                "{:.3} s",
                time.as_secs_f64()
            )),
            ratio.map_or("-".to_string(), |ratio| format!("{ratio:.2}×")),
            line.rows,
            line.agreement
        );
    }
    if !log_ratios.is_empty() {
        let mean = (log_ratios.iter().sum::<f64>() / log_ratios.len() as f64).exp();
        println!(
            "geometric mean of weft/DuckDB over {} queries: {mean:.2}× (goal ≤ 1.2×: {})",
            log_ratios.len(),
            if mean <= 1.2 { "met" } else { "not met" }
        );
    }
    Ok(())
}
