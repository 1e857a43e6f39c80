//! `weft demo`: weft on a simulated microservice platform, in one process with no Kafka.
//!
//! It writes a day of logs of seven services (an nginx gateway, a JSON auth service, orders
//! and payments with OpenTelemetry trace ids, sshd/sudo on a bastion, the Kubernetes audit
//! log, CloudTrail) with attack chains woven in to `<data_dir>/demo-logs/`, ingests them,
//! runs weft's built-in rule pack over them, serves the API and prints its URL and an admin
//! token. Then it keeps the platform running: every second, new traffic is appended to the
//! logs, ingested and detected, and every few minutes someone probes the gateway.

mod attacks;
mod formats;
mod live;
mod logs;
mod operations;
mod platform;
mod rng;
pub mod scenario;
mod simulation;
mod verdict;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use weft_correlate::config::DetectConfig;
use weft_correlate::correlation::backtest::TimeRange;
use weft_ingest::pipeline::{IngestOptions, IngestSummary, Ingestor, Input};
use weft_ingest::store::FlushPolicy;
use weft_query::{ApiConfig, Role, ServeConfig};

use self::attacks::Weave;
use self::live::LiveIngest;
use self::logs::{LogDir, Service};
use self::simulation::Simulation;

const HOUR: i64 = 3_600_000_000;
/// Where the demo keeps its copy of the rule pack, under the data directory.
const DEMO_RULES: &str = "demo-rules";
/// How long the API may take to start listening.
const API_START: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory (created if missing; its `demo-logs/` holds the generated logs).
    #[arg(long, default_value = "weft-data")]
    data_dir: PathBuf,
    /// Address of the API and UI.
    #[arg(long, default_value = weft_query::serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Seed of the simulation: the same seed (and the same --end) gives byte-identical logs.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Hours of history to generate before now.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=168))]
    hours: u32,
    /// Scale of the benign traffic (1.0: about 80,000 events a day).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// End of the generated history, RFC 3339 [default: now].
    #[arg(long, value_name = "TIME")]
    end: Option<String>,
    /// Generate, ingest and detect the history, serve it, but generate no live traffic.
    #[arg(long)]
    no_live: bool,
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Runs the demo. Of the configuration only the `[api]` section applies (authentication, rate
/// limits, client timeouts): the demo brings its own data directory, rules and traffic.
pub fn run(args: DemoArgs, config: crate::config::WeftConfig) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    anyhow::ensure!(
        args.scale.is_finite() && (0.0..=20.0).contains(&args.scale),
        "--scale must be between 0 and 20"
    );
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    let end = match &args.end {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| {
                format!("--end {text:?} is not an RFC 3339 time (2026-11-20T12:00:00Z)")
            })?
            .timestamp_micros(),
        None => now_micros(),
    };
    let start = end - i64::from(args.hours) * HOUR;
    let data_dir = &args.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;

    let pack = crate::rule_pack::write(&data_dir.join(DEMO_RULES))?;
    let detect = DetectConfig {
        rules: vec![pack.rules.clone()],
        mapping: vec![pack.mapping.clone()],
        ..DetectConfig::default()
    };
    let (mut service, rules) = crate::run_cmd::open_service(&detect, data_dir)?;
    let token = admin_token(data_dir)?;
    let api = crate::run_cmd::api_config(&detect, &config.api)?;
    start_api(data_dir, args.listen, api, &stop)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "url: http://{}/", args.listen)?;
    writeln!(stdout, "admin token: {token}")?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "answering after {:.1} s with {} built-in rules ({} files in {}); stop with Ctrl-C",
        started.elapsed().as_secs_f64(),
        rules.sigma_count() + rules.sql.len(),
        pack.files,
        pack.rules.display()
    );

    // The history loads while the API answers: its incidents appear when it is detected.
    let log_dir = data_dir.join("demo-logs");
    let mut simulation = Simulation::new(args.seed, args.scale, Weave::DEMO);
    let fresh = !log_dir.exists();
    let mut logs = if !fresh {
        eprintln!(
            "{} already holds a demo; continuing it (remove the directory for a new one)",
            data_dir.display()
        );
        // A different stream than the stored day's, so that no id repeats.
        simulation = Simulation::new(args.seed ^ now_micros() as u64, args.scale, Weave::DEMO);
        LogDir::open(&log_dir)?
    } else {
        generate_history(&mut simulation, start, end, &log_dir, args.hours)?
    };
    let (alerts, created) = if fresh {
        detect_history(&mut service, &rules, start, end)?
    } else {
        let report = service.step(true).context("detection failed")?;
        (report.alerts, report.incidents_created.len())
    };
    eprintln!(
        "history ready after {:.1} s: {} alert(s), {} new incident(s), {} incident(s) in all",
        started.elapsed().as_secs_f64(),
        alerts,
        created,
        service.incidents().count(&Default::default()).unwrap_or(0)
    );

    if args.no_live {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(ExitCode::SUCCESS);
    }
    run_live(
        &mut simulation,
        &mut logs,
        &mut service,
        data_dir,
        end,
        &stop,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the history's logs to `log_dir` and ingests them.
fn generate_history(
    simulation: &mut Simulation,
    start: i64,
    end: i64,
    log_dir: &Path,
    hours: u32,
) -> anyhow::Result<LogDir> {
    let generating = Instant::now();
    let day = simulation.day(start, end);
    let events = day.records.len();
    let mut logs = LogDir::create(log_dir)?;
    let appended = logs.append(day.records)?;
    eprintln!(
        "generated {events} log lines over {hours} h in {:.1} s into {}:",
        generating.elapsed().as_secs_f64(),
        log_dir.display()
    );
    for file in &appended {
        eprintln!("  {:14} {:>7} lines", file.service.name(), file.lines.len());
    }
    for woven in &day.woven {
        eprintln!(
            "  at {}: {}",
            formats::rfc3339_seconds(woven.time),
            woven.name
        );
    }

    let ingesting = Instant::now();
    let data_dir = log_dir.parent().unwrap_or(log_dir);
    let summary = ingest_logs(&logs, data_dir)?;
    eprintln!(
        "ingested {} records in {:.1} s: stored {}, dead-lettered {}",
        summary.read,
        ingesting.elapsed().as_secs_f64(),
        summary.stored,
        summary.dead_lettered
    );
    Ok(logs)
}

/// Detects the stored history: the streaming rules over every stored event, then the
/// scheduled SQL rules over the whole history once, as a backfill would (from then on the
/// scheduler runs them as their slots come due). Returns the alerts and the new incidents.
fn detect_history(
    service: &mut weft_correlate::service::DetectService,
    rules: &weft_correlate::ruleset::DetectionRules,
    start: i64,
    end: i64,
) -> anyhow::Result<(usize, usize)> {
    let report = service.step(true).context("detection failed")?;
    let mut alerts = report.alerts;
    let mut created = report.incidents_created.len();
    for rule in &rules.sql {
        let range = TimeRange {
            from: Some(start),
            to: Some(end),
        };
        let (_, report) = service.backfill(&rule.id, range).with_context(|| {
            format!("cannot run the scheduled rule {} over the history", rule.id)
        })?;
        alerts += report.alerts;
        created += report.incidents_created.len();
    }
    Ok((alerts, created))
}

/// Ingests every service's log file of `logs` into the event store of `data_dir`.
fn ingest_logs(logs: &LogDir, data_dir: &Path) -> anyhow::Result<IngestSummary> {
    let options = IngestOptions {
        format: None,
        service: None,
        config: Default::default(),
        flush: FlushPolicy::default(),
    };
    let mut ingestor = Ingestor::open(data_dir, options)
        .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
    for service in Service::ALL {
        let path = logs.path(service);
        ingestor
            .ingest(&Input::File(path.clone()))
            .with_context(|| format!("cannot ingest {}", path.display()))?;
    }
    ingestor
        .finish()
        .context("cannot make the stored events durable")
}

/// An admin token for the demo: `demo`, or `demo-<n>` when the data directory has tokens.
fn admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let existing = weft_query::list_tokens(data_dir).context("cannot read the token file")?;
    let taken = |name: &str| {
        existing
            .iter()
            .any(|token| token.name == name && token.revoked.is_none())
    };
    let name = if existing.is_empty() {
        "demo".to_string()
    } else {
        (existing.len() + 1..)
            .map(|index| format!("demo-{index}"))
            .find(|name| !taken(name))
            .unwrap_or_else(|| "demo-new".to_string())
    };
    let token = weft_query::create_token(data_dir, &name, Role::Admin)
        .context("cannot create the admin token")?;
    Ok(token.secret)
}

/// Serves the API on its own thread and waits until it accepts connections.
fn start_api(
    data_dir: &Path,
    listen: SocketAddr,
    api: ApiConfig,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let serve = ServeConfig {
        data_dir: data_dir.to_path_buf(),
        listen,
        tls_cert: None,
        tls_key: None,
        insecure_no_tls: false,
        // The rules catalogue of the API lists the built-in pack.
        api,
    };
    let failed = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(stop);
        let failed = Arc::clone(&failed);
        std::thread::Builder::new()
            .name("weft-api".into())
            .spawn(move || {
                if let Err(error) = weft_query::serve::serve_blocking(serve) {
                    eprintln!("error: the API stopped: {error}");
                    failed.store(true, Ordering::SeqCst);
                }
                stop.store(true, Ordering::SeqCst);
            })
            .context("cannot start the API thread")?;
    }
    let deadline = Instant::now() + API_START;
    while TcpStream::connect(listen).is_err() {
        anyhow::ensure!(
            !failed.load(Ordering::SeqCst),
            "the API could not start on {listen}; pass another address with --listen"
        );
        anyhow::ensure!(
            Instant::now() < deadline,
            "the API did not start listening on {listen} within {} s",
            API_START.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Every second: new traffic appended to the logs, ingested, detected.
fn run_live(
    simulation: &mut Simulation,
    logs: &mut LogDir,
    service: &mut weft_correlate::service::DetectService,
    data_dir: &Path,
    end: i64,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut live = LiveIngest::open(data_dir)?;
    let mut from = end.max(now_micros());
    let mut probes = 0;
    while !stop.load(Ordering::SeqCst) {
        let tick = Instant::now();
        while !stop.load(Ordering::SeqCst) && tick.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let now = now_micros().max(from);
        let records = simulation.advance(from, now);
        from = now;
        let appended = logs.append(records)?;
        live.ingest(&appended, now)?;
        if simulation.probes() > probes {
            probes = simulation.probes();
            eprintln!("live: a scanner starts probing the gateway");
        }
        match service.step(false) {
            Ok(report) => {
                for incident in &report.incidents_created {
                    eprintln!("live: new incident {incident}");
                }
            }
            Err(error) => eprintln!("error: detection step failed, retrying: {error:#}"),
        }
    }
    // What was appended before the stop is still detected.
    service.step(false).context("detection failed")?;
    Ok(())
}
