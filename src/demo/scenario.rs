//! `weft scenarios`: how well weft's rule pack does on the simulated platform. It generates the
//! same benign traffic twice from one seed, once with the five attack chains woven in and once
//! alone, runs each through weft as `weft demo` does (log files, ingest into an event store,
//! streaming detection with the built-in pack, the scheduled SQL rules over the whole span,
//! incidents grouped by entity), and judges the result (`verdict.rs`): each chain must be
//! exactly one incident with its entities and services and no benign entity, and the benign
//! traffic alone must raise no incident. The alerts and incidents of the benign run, per
//! million benign events, are the pack's false-positive rate on this platform.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use weft_correlate::config::DetectConfig;
use weft_correlate::incident::model::{IncidentStatus, IncidentSummary, StoredAlert};
use weft_correlate::incident::{AlertFilter, IncidentFilter};

use super::attacks::{Weave, Woven};
use super::logs::LogDir;
use super::simulation::Simulation;
use super::verdict::{Measured, Verdict};
use super::{HOUR, detect_history, ingest_logs};

/// Marks a directory this command created, so that a later run may replace it.
const MARKER: &str = ".weft-scenario";

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Working directory: its `chains/` and `benign/` hold each run's logs, event store and
    /// incidents (replaced when a previous run of this command left them).
    #[arg(long, default_value = "weft-scenarios")]
    work_dir: PathBuf,
    /// Seed of the simulation: the same seed, span and scale give the same events and results.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Hours of traffic (the chains are spread over them, about a day and a half apart at 168).
    #[arg(long, default_value_t = 168, value_parser = clap::value_parser!(u32).range(24..=336))]
    hours: u32,
    /// Scale of the benign traffic (1.0: about 80,000 events a day).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// End of the simulated span, RFC 3339.
    #[arg(long, value_name = "TIME", default_value = "2026-11-24T00:00:00Z")]
    end: String,
    /// Print the verdict as one JSON object instead of Markdown tables.
    #[arg(long)]
    json: bool,
}

/// The parameters of one pair of runs, as the report states them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Setup {
    pub seed: u64,
    pub hours: u32,
    pub scale: f64,
    pub end: String,
}

pub fn run(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    anyhow::ensure!(
        args.scale.is_finite() && args.scale > 0.0 && args.scale <= 20.0,
        "--scale must be above 0 and at most 20"
    );
    let end = chrono::DateTime::parse_from_rfc3339(&args.end)
        .with_context(|| {
            format!(
                "--end {:?} is not an RFC 3339 time (2026-11-24T00:00:00Z)",
                args.end
            )
        })?
        .timestamp_micros();
    let start = end - i64::from(args.hours) * HOUR;
    std::fs::create_dir_all(&args.work_dir).with_context(|| {
        format!(
            "cannot create the working directory {}",
            args.work_dir.display()
        )
    })?;
    let setup = Setup {
        seed: args.seed,
        hours: args.hours,
        scale: args.scale,
        end: args.end.clone(),
    };
    let chains = Weave {
        chains: true,
        debugging_exec: false,
    };
    let benign = Weave {
        chains: false,
        debugging_exec: false,
    };
    // The two runs are independent (their own directories and stores): side by side.
    let chained_dir = args.work_dir.join("chains");
    let benign_dir = args.work_dir.join("benign");
    let (with_chains, benign_only) = std::thread::scope(|scope| {
        let chained = scope.spawn(|| measure(&setup, chains, (start, end), &chained_dir));
        let benign_only = measure(&setup, benign, (start, end), &benign_dir);
        let with_chains = chained
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (with_chains, benign_only)
    });
    let (with_chains, benign_only) = (with_chains?, benign_only?);
    let verdict = Verdict::judge(
        setup,
        with_chains,
        benign_only,
        started.elapsed().as_secs_f64(),
    );
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", serde_json::to_string(&verdict)?)?;
    } else {
        write!(stdout, "{}", verdict.markdown())?;
    }
    stdout.flush()?;
    Ok(if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One run: the traffic generated into `dir`, ingested, detected, and what came out.
fn measure(setup: &Setup, weave: Weave, span: (i64, i64), dir: &Path) -> anyhow::Result<Measured> {
    let started = Instant::now();
    fresh_directory(dir)?;
    let (start, end) = span;
    let mut simulation = Simulation::new(setup.seed, setup.scale, weave);
    let day = simulation.day(start, end);
    let events = day.records.len() as u64;
    let woven: Vec<Woven> = day.woven;
    let mut logs = LogDir::create(&dir.join("logs"))?;
    logs.append(day.records)?;
    eprintln!(
        "{}: generated {events} log lines in {:.1} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    let summary = ingest_logs(&logs, dir)?;
    eprintln!(
        "{}: ingested {} records (stored {}, dead-lettered {}) after {:.1} s",
        dir.display(),
        summary.read,
        summary.stored,
        summary.dead_lettered,
        started.elapsed().as_secs_f64()
    );

    let pack = crate::rule_pack::write(&dir.join("rules"))?;
    let detect = DetectConfig {
        rules: vec![pack.rules.clone()],
        mapping: vec![pack.mapping.clone()],
        ..DetectConfig::default()
    };
    let (mut service, rules) = crate::run_cmd::open_service(&detect, dir)?;
    detect_history(&mut service, &rules, start, end)?;
    let store = service.incidents();
    let incidents: Vec<IncidentSummary> = store
        .list(&IncidentFilter {
            ascending: true,
            ..IncidentFilter::default()
        })
        .context("cannot read the incidents")?
        .into_iter()
        .filter(|incident| incident.status != IncidentStatus::Merged)
        .collect();
    let alerts: Vec<StoredAlert> = store
        .alerts(&AlertFilter::default())
        .context("cannot read the alerts")?;
    eprintln!(
        "{}: {} alert(s), {} incident(s) after {:.1} s",
        dir.display(),
        alerts.len(),
        incidents.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Measured {
        events,
        stored: summary.stored,
        dead_lettered: summary.dead_lettered,
        woven,
        incidents,
        alerts,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Makes `dir` an empty directory of this command's, refusing to replace anything else.
fn fresh_directory(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let ours = dir.join(MARKER).exists();
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        anyhow::ensure!(
            ours || empty,
            "{} exists and was not made by weft scenarios; choose another --work-dir",
            dir.display()
        );
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot remove the previous run in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join(MARKER), b"")
        .with_context(|| format!("cannot write {}", dir.join(MARKER).display()))?;
    Ok(())
}
