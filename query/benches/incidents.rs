//! Incident queue and incident search latency over a large detection store.
//!
//! ```text
//! cargo bench -p weft-query --bench incidents                                # 1M incidents
//! WEFT_BENCH_INCIDENTS=100000 cargo bench -p weft-query --bench incidents    # a quick run
//! ```
//!
//! The store is written once through weft-correlate's incident store, as the detector writes
//! it (batches of 20,000 alerts, each alert with its own user and address, so each opens its
//! own incident; one in ten then acknowledged or closed in one bulk change per batch), under
//! `<target>/tmp/incidents-<n>/` (`WEFT_BENCH_INCIDENTS_DIR` puts it elsewhere), and reused;
//! the time it took is printed. The incident index is then built (or brought up to date) and
//! timed. Every case is run once (printed as its first call: the queue's first call sorts
//! each segment of the index once), then `WEFT_BENCH_INCIDENTS_RUNS` times (200 by default)
//! from one client and from 10 clients at once, and the p50 and p99 of the latencies are
//! printed, with the matching totals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weft_correlate::correlation::Alert;
use weft_correlate::correlation::alert::alert_id;
use weft_correlate::incident::{
    IncidentConfig, IncidentFilter, IncidentSort, IncidentStatus, IncidentStore, Severity,
};
use weft_correlate::record::{AlertRecord, AlertSource, Entity};
use weft_query::incidents::{IncidentQuery, Incidents};

/// 2026-11-01T00:00:00Z.
const START: i64 = 1_793_491_200_000_000;
const MINUTE: i64 = 60_000_000;
/// Alerts per `record` call (one transaction), as a detector catching up on a backlog writes.
const BATCH: u64 = 20_000;
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const RULES: [(&str, &str, &[&str]); 6] = [
    (
        "password_spray",
        "Password spray",
        &["attack.credential_access", "attack.t1110.003"],
    ),
    (
        "token_reuse",
        "Session token reused from a new address",
        &["attack.defense_evasion", "attack.t1550.001"],
    ),
    (
        "pod_exec",
        "Interactive exec into a pod",
        &["attack.execution", "attack.t1609"],
    ),
    (
        "secrets_read",
        "Secrets read by an unusual identity",
        &["attack.credential_access", "attack.t1552.007"],
    ),
    (
        "egress",
        "Unusual egress from a workload",
        &["attack.exfiltration", "attack.t1041"],
    ),
    (
        "admin_route",
        "Admin route called by a non-admin",
        &["attack.privilege_escalation", "attack.t1078"],
    ),
];
const SERVICES: [&str; 8] = [
    "gateway",
    "auth",
    "orders",
    "payments",
    "cluster-audit",
    "cloudtrail",
    "bastion",
    "search",
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn store_dir(incidents: u64) -> PathBuf {
    std::env::var_os("WEFT_BENCH_INCIDENTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("incidents-{incidents}")),
        PathBuf::from,
    )
}

fn alert(index: u64) -> AlertRecord {
    let (rule, title, tags) = RULES[(index % RULES.len() as u64) as usize];
    let end = START + i64::try_from(index).unwrap_or(0) * MINUTE / 10;
    let user = format!("user-{index}");
    let address = format!(
        "10.{}.{}.{}",
        (index >> 16) & 0xff,
        (index >> 8) & 0xff,
        index & 0xff
    );
    let alert = Alert {
        alert_id: alert_id(rule, &user, &format!("e-{index}")),
        rule_id: Some(format!("{rule}-id")),
        rule_name: rule.to_string(),
        title: format!("{title} ({user})"),
        level: Some(LEVELS[(index * 7 % 5) as usize].to_string()),
        tags: tags.iter().map(|tag| tag.to_string()).collect(),
        author: None,
        correlation_type: "event_count".to_string(),
        group: BTreeMap::new(),
        window_start: end - MINUTE,
        window_end: end,
        event_ids: vec![format!("e-{index}")],
        event_count: 1,
    };
    let services = vec![
        SERVICES[(index % 8) as usize].to_string(),
        SERVICES[(index / 8 % 8) as usize].to_string(),
    ];
    AlertRecord::new(
        alert,
        vec![Entity::new("user", &user), Entity::new("src_ip", &address)],
        services,
        AlertSource::Stream,
    )
}

fn build_store(dir: &Path, incidents: u64) -> anyhow::Result<()> {
    let done = dir.join("complete");
    if done.is_file() {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let mut store = IncidentStore::open(dir, &IncidentConfig::default())?;
    // A larger page cache than SQLite's 2 MB default, as an operator would give a detector
    // with a store this size; the writes themselves are the detector's and the analysts'.
    store
        .connection()
        .execute_batch("PRAGMA cache_size = -262144")?;
    let mut next = 0;
    while next < incidents {
        let end = (next + BATCH).min(incidents);
        let records: Vec<AlertRecord> = (next..end).map(alert).collect();
        let now = START + i64::try_from(end).unwrap_or(0);
        let outcome = store.record(&records, now)?;
        // Some incidents acknowledged or closed, as a working team leaves them (one bulk
        // triage per batch).
        let changes: Vec<(&str, IncidentStatus)> = outcome
            .created
            .iter()
            .enumerate()
            .filter_map(|(offset, id)| {
                let index = next + offset as u64;
                if !index.is_multiple_of(10) {
                    return None;
                }
                let status = if index.is_multiple_of(20) {
                    IncidentStatus::Closed
                } else {
                    IncidentStatus::Acknowledged
                };
                Some((id.as_str(), status))
            })
            .collect();
        store.set_statuses(&changes, "dana", now)?;
        let before = next;
        next = end;
        if next / 100_000 != before / 100_000 {
            eprintln!(
                "  {next} incidents written in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    std::fs::write(done, b"")?;
    eprintln!(
        "wrote {incidents} incidents in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Case {
    name: &'static str,
    query: IncidentQuery,
    /// `GET /api/v1/incidents/counts` rather than the list.
    counts: bool,
}

fn cases(incidents: u64) -> Vec<Case> {
    let queue = IncidentFilter {
        statuses: vec![IncidentStatus::Open, IncidentStatus::Acknowledged],
        limit: Some(50),
        ..IncidentFilter::default()
    };
    let search = |text: String| IncidentQuery {
        filter: queue.clone(),
        search: Some(text),
    };
    vec![
        Case {
            name: "queue: open + acknowledged, by severity, first 50",
            query: IncidentQuery {
                filter: queue.clone(),
                search: None,
            },
            counts: false,
        },
        Case {
            name: "queue: >= high, by last seen, page 3",
            query: IncidentQuery {
                filter: IncidentFilter {
                    min_severity: Some(Severity::High),
                    sort: IncidentSort::LastSeen,
                    offset: 100,
                    ..queue.clone()
                },
                search: None,
            },
            counts: false,
        },
        Case {
            name: "queue: closed, by created, oldest first, page 11",
            query: IncidentQuery {
                filter: IncidentFilter {
                    statuses: vec![IncidentStatus::Closed],
                    sort: IncidentSort::Created,
                    ascending: true,
                    offset: 500,
                    ..queue.clone()
                },
                search: None,
            },
            counts: false,
        },
        Case {
            name: "queue counts: per status and severity, >= medium",
            query: IncidentQuery {
                filter: IncidentFilter {
                    min_severity: Some(Severity::Medium),
                    ..queue.clone()
                },
                search: None,
            },
            counts: true,
        },
        Case {
            name: "search: one user (entity:user-N)",
            query: search(format!("entity:user-{}", incidents / 2 + 1)),
            counts: false,
        },
        Case {
            name: "search: a technique (1 in 6)",
            query: search("technique:t1609".to_string()),
            counts: false,
        },
        Case {
            name: "search: words in titles (1 in 6)",
            query: search("spray".to_string()),
            counts: false,
        },
        Case {
            name: "search: rule and service (1 in 48)",
            query: search("rule:pod_exec AND service:payments".to_string()),
            counts: false,
        },
        Case {
            name: "search counts: a technique (1 in 6)",
            query: search("technique:t1609".to_string()),
            counts: true,
        },
    ]
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1_000.0)
}

/// Runs the case once; returns how many incidents it matches.
fn run(store: &Incidents, case: &Case) -> anyhow::Result<u64> {
    Ok(if case.counts {
        store.counts(&case.query)?.total
    } else {
        store.list(&case.query)?.total
    })
}

fn main() -> anyhow::Result<()> {
    // `cargo bench --no-run` builds this; `cargo test --benches` runs it with `--bench` absent.
    if !std::env::args().any(|argument| argument == "--bench") {
        return Ok(());
    }
    let incidents = env_number("WEFT_BENCH_INCIDENTS", 1_000_000);
    let runs = env_number("WEFT_BENCH_INCIDENTS_RUNS", 200);
    let dir = store_dir(incidents);
    build_store(&dir, incidents)?;
    let store = Arc::new(Incidents::open(&dir)?);
    let started = Instant::now();
    let refresh = store
        .index()
        .refresh(&IncidentStore::open(&dir, &IncidentConfig::default())?)?;
    eprintln!(
        "incident index ready ({refresh:?}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "| case ({incidents} incidents) | matching | 1 client p50 / p99 | 10 clients p50 / p99 |"
    );
    println!("| --- | --- | --- | --- |");
    for case in cases(incidents) {
        let started = Instant::now();
        let total = run(&store, &case)?;
        eprintln!("{}: first call {}", case.name, millis(started.elapsed()));
        let mut one = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            std::hint::black_box(run(&store, &case)?);
            one.push(started.elapsed());
        }
        one.sort();
        let mut handles = Vec::new();
        let case = Arc::new(case);
        for _ in 0..10 {
            let store = Arc::clone(&store);
            let case = Arc::clone(&case);
            handles.push(std::thread::spawn(move || {
                let mut timings = Vec::new();
                for _ in 0..runs / 10 + 1 {
                    let started = Instant::now();
                    if run(&store, &case).is_err() {
                        break;
                    }
                    timings.push(started.elapsed());
                }
                timings
            }));
        }
        let mut ten: Vec<Duration> = handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect();
        ten.sort();
        println!(
            "| {} | {total} | {} / {} | {} / {} |",
            case.name,
            millis(percentile(&one, 0.5)),
            millis(percentile(&one, 0.99)),
            millis(percentile(&ten, 0.5)),
            millis(percentile(&ten, 0.99)),
        );
    }
    Ok(())
}
