//! The stored hour the query benches read: platform events (HTTP access, authentication,
//! Kubernetes audit, Sysmon process creation, network and DNS; a few percent suspicious)
//! generated from a fixed seed and written through weft-ingest's `EventStore`, as `weft ingest`
//! writes it, once per size, then reused. Shared by `jobs.rs` and `sql.rs`.

#![allow(dead_code)]

#[path = "../../../correlate/benches/support/process_events.rs"]
mod process_events;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use weft_ingest::batch::RecordMeta;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::store::{EventStore, FlushPolicy};

/// One hour at 1k events/s. Writing 5k events/s (18M rows) through the event store takes
/// ~18 min on the 2-core development machine (16k events/s; the segment index dominates), so
/// the default is the smaller documented size.
pub const DEFAULT_ROWS: u64 = 3_600_000;
/// 2026-11-23T10:00:00Z, the stored hour's start.
pub const HOUR_START: i64 = 1_795_428_000_000_000;
pub const HOUR: i64 = 3_600_000_000;
const SEED: u64 = 0x00B5_EED5;

const WEB_SERVICES: [&str; 5] = ["gateway", "orders", "payments", "search", "catalog"];
const PATHS: [&str; 8] = [
    "/api/v1/orders",
    "/api/v1/payments",
    "/api/v1/search",
    "/api/v1/catalog/items",
    "/api/v1/cart",
    "/api/v1/users/me",
    "/healthz",
    "/static/app.js",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
];
const K8S_VERBS: [&str; 5] = ["get", "list", "watch", "update", "create"];
const K8S_RESOURCES: [&str; 5] = ["pods", "configmaps", "deployments", "secrets", "services"];
const USERS: u64 = 5_000;
/// Client addresses in the 10.0.0.0/8 platform network.
const CLIENTS: u64 = 40_000;
/// Attackers: password sprayers and scanners, from documentation ranges.
const ATTACKERS: u64 = 40;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Where the store of `rows` events lives: `dir_variable` when set, else
/// `<target>/bench-data/jobs-<rows>/` (the jobs bench wrote it first; the SQL bench reads the
/// same one).
pub fn store_dir(dir_variable: &str, rows: u64) -> PathBuf {
    std::env::var_os(dir_variable).map_or_else(
        || {
            // CARGO_TARGET_TMPDIR is `<target>/tmp`.
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .unwrap_or(Path::new("target"))
                .join("bench-data")
                .join(format!("jobs-{rows}"))
        },
        PathBuf::from,
    )
}

/// A fixed-seed pseudo-random sequence (SplitMix64).
struct Seed(u64);

impl Seed {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn client_ip(index: u64) -> String {
    format!(
        "10.{}.{}.{}",
        (index >> 16) % 256,
        (index >> 8) % 256,
        index % 256
    )
}

fn attacker_ip(index: u64) -> String {
    if index.is_multiple_of(2) {
        format!("203.0.113.{}", 10 + index)
    } else {
        format!("198.51.100.{}", 10 + index)
    }
}

/// The text fields of one generated event, owned so the event can borrow them.
#[derive(Default)]
struct Fields {
    user: Option<String>,
    src_ip: String,
    dst_ip: Option<String>,
    url: Option<String>,
    resource: Option<String>,
    host: String,
    message: String,
    raw: String,
}

/// Writes one hour of `rows` events, unless the store is already complete.
pub fn build_store(dir: &Path, rows: u64) -> anyhow::Result<()> {
    let done = dir.join("bench-complete");
    if std::fs::read_to_string(&done).is_ok_and(|text| text.trim() == rows.to_string()) {
        println!("reusing the store of {rows} events in {}", dir.display());
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    println!("writing {rows} events (one hour) to {}", dir.display());
    let started = Instant::now();
    let mut store = EventStore::open(dir, FlushPolicy::default())?;
    let mut seed = Seed(SEED);
    let mut processes: Vec<process_events::ProcessEvent> = Vec::new();
    let mut process_chunk = 0;
    let step = rows / 10;
    for offset in 0..rows {
        let time = HOUR_START + i64::try_from(offset)? * HOUR / i64::try_from(rows)?;
        let mut fields = Fields::default();
        let mut event = Event::new("json");
        event.time = Some(time);
        let service;
        let kind = seed.below(1000);
        let user_number = seed.below(USERS);
        let user = format!("user{user_number}");
        // A user's usual addresses: two per user.
        let home_ip = client_ip((user_number * 2 + seed.below(2)) * 7 % CLIENTS);
        let request_id = seed.next();
        match kind {
            // HTTP access, 45%; 1% of all events a scanner's 401/403s.
            0..450 => {
                service = WEB_SERVICES[seed.below(5) as usize];
                let scanner = kind < 10;
                let (ip, status, path) = if scanner {
                    let status = if seed.below(2) == 0 { 401 } else { 403 };
                    let path = format!(
                        "/admin/{}",
                        ["config", "users", "backup", ".env"][seed.below(4) as usize]
                    );
                    (attacker_ip(seed.below(ATTACKERS)), status, path)
                } else {
                    let status = match seed.below(1000) {
                        0..930 => 200,
                        930..960 => 404,
                        960..975 => 401,
                        975..985 => 403,
                        985..995 => 500,
                        _ => 503,
                    };
                    let path = PATHS[seed.below(PATHS.len() as u64) as usize];
                    let path = format!("{path}/{}", seed.below(100_000));
                    (client_ip(seed.below(CLIENTS)), status, path)
                };
                let method = if seed.below(4) == 0 { "POST" } else { "GET" };
                let agent = if scanner {
                    "zgrab/0.x"
                } else {
                    AGENTS[seed.below(4) as usize]
                };
                let bytes = seed.below(40_000);
                event.format = "nginx";
                event.class = Class::HttpActivity;
                event.activity = Some(Cow::Borrowed(if method == "GET" { "get" } else { "post" }));
                event.outcome = Some(if status < 400 {
                    Outcome::Success
                } else {
                    Outcome::Failure
                });
                event.http_method = Some(Cow::Borrowed(method));
                event.http_status = Some(status);
                event.user_agent = Some(Cow::Borrowed(agent));
                fields.message = format!("{method} {path} HTTP/1.1 {status}");
                fields.raw = format!(
                    r#"{ip} - - [23/Nov/2026:10:00:00 +0000] "{method} {path} HTTP/1.1" {status} {bytes} "-" "{agent}" rid={request_id:016x}"#
                );
                fields.src_ip = ip;
                fields.url = Some(path);
                fields.host = format!("{service}-{}", seed.below(6));
            }
            // Authentication, 20%; 1% of all events a sprayer's failures over many users.
            450..650 => {
                service = "auth";
                let sprayer = kind < 460;
                let failed = sprayer || seed.below(100) < 4;
                let ip = if sprayer {
                    attacker_ip(seed.below(ATTACKERS))
                } else {
                    home_ip.clone()
                };
                let outcome = if failed { "failure" } else { "success" };
                event.class = Class::Authentication;
                event.activity = Some(Cow::Borrowed("logon"));
                event.outcome = Some(if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                });
                event.severity = Some(if failed { 3 } else { 1 });
                fields.message = format!("login {outcome} for {user} from {ip}");
                fields.raw = format!(
                    r#"{{"ts":{time},"level":"info","event":"login","user":"{user}","ip":"{ip}","outcome":"{outcome}","method":"password","request_id":"{request_id:016x}"}}"#
                );
                fields.user = Some(user);
                fields.src_ip = ip;
                fields.host = format!("auth-{}", seed.below(3));
            }
            // Kubernetes API activity, 15%.
            650..800 => {
                service = "k8s-audit";
                let verb = K8S_VERBS[seed.below(5) as usize];
                let resource = K8S_RESOURCES[seed.below(5) as usize];
                let namespace = WEB_SERVICES[seed.below(5) as usize];
                let account = if seed.below(10) == 0 {
                    format!("{user}@corp.example")
                } else {
                    format!("system:serviceaccount:{namespace}:deployer")
                };
                let denied = seed.below(100) == 0;
                let code = if denied { 403 } else { 200 };
                event.format = "k8s_audit";
                event.class = Class::ApiActivity;
                event.activity = Some(Cow::Borrowed(verb));
                event.outcome = Some(if denied {
                    Outcome::Failure
                } else {
                    Outcome::Success
                });
                let object = format!("{resource}/{namespace}-{}", seed.below(500));
                fields.message = format!("{verb} {namespace}/{object} by {account}: {code}");
                fields.raw = format!(
                    r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"{verb}","user":{{"username":"{account}"}},"sourceIPs":["{home_ip}"],"objectRef":{{"resource":"{resource}","namespace":"{namespace}"}},"responseStatus":{{"code":{code}}},"auditID":"{request_id:016x}"}}"#
                );
                fields.user = Some(account);
                fields.src_ip = home_ip;
                fields.resource = Some(object);
                fields.host = "kube-apiserver-0".to_string();
            }
            // Sysmon process creation on workstations, 12% (about 1% of them suspicious).
            800..920 => {
                service = "endpoint";
                if process_chunk == processes.len() {
                    processes = process_events::process_events(4096, seed.next());
                    process_chunk = 0;
                }
                let fields_of = &processes[process_chunk];
                process_chunk += 1;
                event.format = "windows";
                event.class = Class::ProcessActivity;
                event.activity = Some(Cow::Borrowed("launch"));
                let mut raw = String::from("{");
                for (key, value) in fields_of {
                    match *key {
                        "Image" => event.process = Some(Cow::Borrowed(value.as_str())),
                        "CommandLine" => {
                            event.command_line = Some(Cow::Borrowed(value.as_str()));
                            fields.message.clone_from(value);
                        }
                        "User" => fields.user = Some(value.clone()),
                        _ => {}
                    }
                    event
                        .attrs
                        .push((Cow::Borrowed(*key), Cow::Borrowed(value.as_str())));
                    if raw.len() > 1 {
                        raw.push(',');
                    }
                    raw.push_str(&format!("{key:?}:{value:?}"));
                }
                raw.push('}');
                fields.raw = raw;
                fields.src_ip = client_ip(user_number * 7 % CLIENTS);
                fields.host = format!("ws-{:04}", user_number % 800);
            }
            // Network flows and DNS, 8%.
            _ => {
                let dns = kind < 960;
                service = if dns { "dns" } else { "firewall" };
                let ip = client_ip(seed.below(CLIENTS));
                let port = 1024 + seed.below(60_000);
                event.class = if dns {
                    Class::DnsActivity
                } else {
                    Class::NetworkActivity
                };
                event.format = "syslog5424";
                event.activity = Some(Cow::Borrowed(if dns { "query" } else { "connect" }));
                event.outcome = Some(Outcome::Success);
                event.src_port = i32::try_from(port).ok();
                event.dst_port = Some(if dns { 53 } else { 443 });
                let target = format!("172.16.{}.{}", seed.below(16), seed.below(256));
                fields.message = if dns {
                    format!("query A api{}.internal.example from {ip}", seed.below(50))
                } else {
                    format!("allow tcp {ip}:{port} -> {target}:443")
                };
                fields.raw = format!(
                    "<134>1 2026-11-23T10:00:00Z {service}-0 {service} - - - {}",
                    fields.message
                );
                fields.src_ip = ip;
                fields.dst_ip = Some(target);
                fields.host = format!("{service}-0");
            }
        }
        event.user = fields.user.as_deref().map(Cow::Borrowed);
        event.src_ip = Some(Cow::Borrowed(&fields.src_ip));
        event.dst_ip = fields.dst_ip.as_deref().map(Cow::Borrowed);
        event.url = fields.url.as_deref().map(Cow::Borrowed);
        event.resource = fields.resource.as_deref().map(Cow::Borrowed);
        event.host = Some(Cow::Borrowed(&fields.host));
        event.message = Some(Cow::Borrowed(&fields.message));
        let request_id = format!("{request_id:016x}");
        event.request_id = Some(Cow::Borrowed(&request_id));
        let event_id = weft_ingest::id::event_id("bench-jobs", offset, 0);
        store.append(
            &event,
            &RecordMeta {
                ingest_time: time + 1_500_000,
                event_id: &event_id,
                service,
                raw: &fields.raw,
                not_utf8: false,
            },
            "bench-jobs",
            offset,
        )?;
        if step > 0 && (offset + 1) % step == 0 {
            let elapsed = started.elapsed().as_secs_f64();
            println!(
                "  {:>3}%: {} events in {elapsed:.0} s ({:.0} events/s)",
                (offset + 1) * 100 / rows,
                offset + 1,
                (offset + 1) as f64 / elapsed
            );
        }
    }
    store.flush()?;
    let segments = store.segments()?;
    let elapsed = started.elapsed();
    std::fs::write(&done, rows.to_string())?;
    println!(
        "wrote {rows} events in {} segments ({} MB of Parquet) in {:.0} s: {:.0} events/s through EventStore (Parquet and index)",
        segments.len(),
        segments.iter().map(|entry| entry.bytes).sum::<u64>() / 1_000_000,
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// The median of `runs` timings of `case`, with what its last run returned.
pub fn measure<T>(
    runs: u64,
    mut case: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Duration, Vec<Duration>, T)> {
    let mut timings = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        last = Some(case()?);
        timings.push(started.elapsed());
    }
    let mut sorted = timings.clone();
    sorted.sort();
    let last = last.context("at least one run")?;
    Ok((sorted[sorted.len() / 2], timings, last))
}

pub fn seconds(timings: &[Duration]) -> String {
    timings
        .iter()
        .map(|timing| format!("{:.2}", timing.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}
