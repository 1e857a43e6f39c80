//! `weft run`: the whole pipeline in one process. Log files given on the command line (and
//! Kafka, when `[kafka]` names brokers and topics) are ingested into the event store; the
//! detection service matches every published segment, correlates, runs scheduled jobs,
//! groups alerts into incidents and delivers them to the outputs; the analyst API serves the
//! same data directory. `--once` ingests what is available, detects, runs the due jobs,
//! and exits.
//!
//! The rules are the configured ones plus those managed through the API in
//! `<data_dir>/rules/`, less the disabled ones (`weft_correlate::ruleset`). Each step checks
//! that directory (file names, sizes and modification times, `disabled.json` included); when
//! it changed, the rules are loaded again and the detection service reopened: it restores
//! its checkpoint, and the open correlation windows of changed rules are dropped with a
//! warning. Rules that do not load keep the previous ones running.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use weft_correlate::correlation::SystemClock;
use weft_correlate::output::AlertSink;
use weft_correlate::ruleset::DetectionRules;
use weft_correlate::service::{DetectService, SqlBackend, StepReport};
use weft_ingest::pipeline::{IngestOptions, Ingestor, Input};
use weft_ingest::source::lag::ConsumerLag;
use weft_ingest::store::FlushPolicy;
use weft_query::jobs::SqlJobs;
use weft_query::sql::SqlLimits;
use weft_query::{ApiConfig, ApiSection, ServeConfig};

use crate::alert_kafka::KafkaAlertSink;
use crate::config::WeftConfig;
use weft_correlate::config::DetectConfig;

/// How long `--once` waits for Kafka to have nothing more to read.
const ONCE_KAFKA_IDLE: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Data directory [default: ./weft-data, or data_dir from the configuration].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Process everything available (the files given, Kafka until idle, due jobs over the
    /// stored events), print what was done, and exit. Running it again over the same data
    /// creates nothing new.
    #[arg(long)]
    once: bool,
    /// Rule files or directories [default: detect.rules from the configuration].
    #[arg(long = "rules", value_name = "PATH", num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Extra Sigma field mapping (TOML) [default: detect.mapping].
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Format of the files: `auto` detects it per record.
    #[arg(long)]
    format: Option<String>,
    /// Address of the analyst API. A non-loopback address needs TLS (`weft serve` options).
    #[arg(long, default_value = weft_query::serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Do not serve the API (detection and ingest only, e.g. beside separate `weft serve`
    /// processes).
    #[arg(long)]
    no_api: bool,
    /// Print the summary of `--once` as one JSON object.
    #[arg(long)]
    json: bool,
    /// Log files to ingest first (plain or gzip), or `-` for stdin.
    #[arg(value_name = "FILE")]
    inputs: Vec<String>,
}

pub fn run(args: RunArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir(args.data_dir.clone());
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    let mut detect = config.detect.clone();
    if !args.rules.is_empty() {
        detect.rules = args.rules.clone();
    }
    if !args.mapping.is_empty() {
        detect.mapping = args.mapping.clone();
    }
    if crate::rule_pack::apply_default(&mut detect, &data_dir)? {
        eprintln!(
            "no [detect] rules configured: detecting with weft's built-in rule pack ({} files in {})",
            crate::rule_pack::RULE_PACK.len(),
            data_dir.join(crate::rule_pack::DIR).display()
        );
    }
    // Segments the sources make durable are replicated to `[store] remote` meanwhile.
    let replication = crate::store_cmd::start_replication(&config.store, &data_dir)?;
    ingest_files(&args, &config, &data_dir)?;
    let (mut service, rules) = open_service(&detect, &data_dir)?;

    let kafka = config.kafka.brokers.is_some() && !config.kafka.topics.is_empty();
    // The worker publishes its lag here, and the API in this process reads it.
    let lag = ConsumerLag::default();
    let poll = detect.poll_interval.0;
    let outcome = std::thread::scope(|scope| -> anyhow::Result<ExitCode> {
        let kafka_worker = kafka.then(|| {
            let stop = Arc::clone(&stop);
            let config = config.clone();
            let data_dir = data_dir.clone();
            let once = args.once;
            let lag = lag.clone();
            scope.spawn(move || run_kafka(&config, &data_dir, once, &stop, lag))
        });
        if args.once {
            if let Some(worker) = kafka_worker {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("the kafka worker panicked"))??;
            }
            let report = service.step(true).context("detection failed")?;
            print_report(&report, args.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        if !args.no_api {
            let serve = ServeConfig {
                data_dir: data_dir.clone(),
                listen: args.listen,
                tls_cert: None,
                tls_key: None,
                insecure_no_tls: false,
                api: ApiConfig {
                    consumer_lag: kafka.then(|| lag.clone()),
                    replication: replication.as_ref().map(|handle| handle.stats()),
                    ..api_config(&detect, &config.api)?
                },
            };
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("weft-api".into())
                .spawn(move || {
                    if let Err(error) = weft_query::serve::serve_blocking(serve) {
                        eprintln!("error: the API stopped: {error}");
                        stop.store(true, Ordering::SeqCst);
                    }
                })
                .context("cannot start the API thread")?;
            eprintln!("api: http://{}", args.listen);
        }
        eprintln!(
            "detecting over {} with {} rule(s); stop with Ctrl-C",
            data_dir.display(),
            rules.sigma_count() + rules.sql.len()
        );
        let mut fingerprint = rules_fingerprint(&data_dir);
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            let now = rules_fingerprint(&data_dir);
            if now != fingerprint {
                fingerprint = now;
                match open_service(&detect, &data_dir) {
                    Ok((reopened, rules)) => {
                        service = reopened;
                        eprintln!(
                            "rules changed: detecting with {} rule(s)",
                            rules.sigma_count() + rules.sql.len()
                        );
                    }
                    Err(error) => {
                        eprintln!(
                            "error: the changed rules do not load, keeping the previous ones: {error:#}"
                        );
                    }
                }
            }
            match service.step(false) {
                Ok(report) if report.alerts > 0 || !report.incidents_created.is_empty() => {
                    tracing::info!(
                        alerts = report.alerts,
                        incidents = report.incidents_created.len(),
                        "detection step"
                    );
                }
                Ok(_) => {}
                Err(error) => eprintln!("error: detection step failed, retrying: {error:#}"),
            }
            let wait = poll.saturating_sub(started.elapsed());
            let deadline = Instant::now() + wait;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Some(worker) = kafka_worker {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("the kafka worker panicked"))??;
        }
        // What the sources delivered before the stop is still detected.
        service.step(false).context("detection failed")?;
        Ok(ExitCode::SUCCESS)
    });
    crate::store_cmd::finish_replication(replication);
    outcome
}

/// The API's configuration: `[api]` (OIDC bearer tokens), with the detection side's rule
/// paths (rules created through the API are checked against them).
pub fn api_config(detect: &DetectConfig, api: &ApiSection) -> anyhow::Result<ApiConfig> {
    Ok(ApiConfig {
        rules: detect.rules.clone(),
        mapping: detect.mapping.clone(),
        placeholders: detect.placeholders.clone(),
        oidc: api.build().context("invalid [api] configuration")?,
        rate_limits: api.rate_limits,
        public_metrics: api.public_metrics,
        client_timeout: api.client_timeout(),
        sql_admission: api.sql,
        ..ApiConfig::default()
    })
}

/// What identifies the state of the managed rules: every file of `<data_dir>/rules/` with
/// its size and modification time, sorted. Cheap: one directory listing.
pub fn rules_fingerprint(data_dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let managed = weft_correlate::ruleset::managed_dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&managed) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, u64, Option<SystemTime>)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            Some((entry.path(), metadata.len(), metadata.modified().ok()))
        })
        .filter(|(path, _, _)| path.extension().is_none_or(|extension| extension != "tmp"))
        .collect();
    files.sort();
    files
}

/// Loads the rules (configured and managed, less the disabled ones) and opens the detection
/// service of `data_dir`, with its outputs (webhooks and Kafka) and the SQL engine for SQL
/// rules.
pub fn open_service(
    detect: &DetectConfig,
    data_dir: &Path,
) -> anyhow::Result<(DetectService, DetectionRules)> {
    let rules = DetectionRules::load_deployment(
        data_dir,
        &detect.rules,
        &detect.mapping,
        detect.placeholders.as_deref(),
    )
    .context("cannot load the detection rules")?;
    for warning in &rules.warnings {
        eprintln!("warning: {warning}");
    }
    if detect.rules.is_empty() && rules.sigma_count() + rules.sql.len() == 0 {
        eprintln!(
            "warning: no rules configured ([detect] rules or --rules, builtin_pack = false): nothing is detected until rules are created through the API"
        );
    }
    let mut outputs = detect.outputs.build().context("invalid [detect.outputs]")?;
    for kafka in outputs.kafka.clone() {
        let sink: Box<dyn AlertSink> = Box::new(KafkaAlertSink::new(kafka.clone()));
        outputs.sinks.insert(kafka.name.clone(), sink);
    }
    let sql: Box<dyn SqlBackend> = Box::new(
        SqlJobs::new(data_dir, SqlLimits::default())
            .with_context(|| format!("cannot open the event store {}", data_dir.display()))?,
    );
    let service = DetectService::open(
        data_dir,
        &rules,
        detect,
        outputs,
        Some(sql),
        Arc::new(SystemClock),
    )
    .with_context(|| format!("cannot start detection over {}", data_dir.display()))?;
    Ok((service, rules))
}

fn ingest_files(args: &RunArgs, config: &WeftConfig, data_dir: &Path) -> anyhow::Result<()> {
    if args.inputs.is_empty() {
        return Ok(());
    }
    let options = IngestOptions {
        format: args.format.clone(),
        service: None,
        config: config.ingest.clone(),
        flush: FlushPolicy::default(),
    };
    let mut ingestor = Ingestor::open(data_dir, options)
        .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
    for input in &args.inputs {
        ingestor
            .ingest(&Input::from_arg(input))
            .with_context(|| format!("cannot ingest {input}"))?;
    }
    let summary = ingestor
        .finish()
        .context("cannot make the stored events durable")?;
    eprintln!(
        "ingested {} records: stored {}, dead-lettered {}",
        summary.read, summary.stored, summary.dead_lettered
    );
    Ok(())
}

fn run_kafka(
    config: &WeftConfig,
    data_dir: &Path,
    once: bool,
    stop: &AtomicBool,
    lag: ConsumerLag,
) -> anyhow::Result<()> {
    use weft_ingest::source::kafka::{self, KafkaRun};
    let settings = config.kafka.clone().build(std::env::vars())?;
    kafka::run(KafkaRun {
        data_dir,
        settings,
        ingest: IngestOptions {
            format: None,
            service: None,
            config: config.ingest.clone(),
            flush: FlushPolicy::default(),
        },
        until_idle: once.then_some(ONCE_KAFKA_IDLE),
        stop,
        lag,
    })
    .context("the kafka worker stopped")?;
    Ok(())
}

fn print_report(report: &StepReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
    println!(
        "detected over {} new segment(s), {} event(s): {} new alert(s), {} duplicate(s), {} suppressed",
        report.segments, report.events, report.alerts, report.duplicates, report.suppressed
    );
    println!(
        "incidents: {} new; jobs: {} run(s), {} failed; deliveries: {} sent, {} pending",
        report.incidents_created.len(),
        report.job_runs,
        report.job_failures,
        report.delivered,
        report.pending_deliveries
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_changes_with_the_managed_rules() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert!(rules_fingerprint(dir.path()).is_empty());
        let managed = weft_correlate::ruleset::managed_dir(dir.path());
        std::fs::create_dir_all(&managed).expect("directory");
        std::fs::write(managed.join("a.yml"), "title: a\n").expect("written");
        let first = rules_fingerprint(dir.path());
        assert_eq!(first.len(), 1);
        std::fs::write(managed.join("a.yml.tmp"), "title: b\n").expect("written");
        assert_eq!(
            rules_fingerprint(dir.path()),
            first,
            "temporary files are ignored"
        );
        std::fs::write(managed.join("disabled.json"), "[\"a\"]").expect("written");
        assert_ne!(rules_fingerprint(dir.path()), first);
        let second = rules_fingerprint(dir.path());
        std::fs::write(managed.join("a.yml"), "title: a, longer\n").expect("written");
        assert_ne!(rules_fingerprint(dir.path()), second);
    }
}
