//! `weft jobs`: the history of scheduled detection jobs, their gaps, and manual backfills.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_correlate::correlation::alert::format_time;
use weft_correlate::correlation::backtest::{TimeRange, parse_time};
use weft_correlate::db;
use weft_correlate::schedule::{JobHistory, RunRecord};

use crate::config::WeftConfig;

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    command: JobsCommand,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// The latest runs (each attempt, each gap), newest first.
    List {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this job's runs.
        #[arg(long)]
        job: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per run: job_id, from, to, status, attempt, events_scanned,
        /// alerts, duration_ms, error, ...
        #[arg(long)]
        json: bool,
    },
    /// Run a job over a past time range now (the runs whose windows hold any of it), e.g.
    /// to fill a gap; alerts already raised are not raised again.
    Backfill {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The job's id: a SQL rule's id, a [[detect.jobs]] id, or weft-stream-recheck.
        job: String,
        /// Start of the range (RFC 3339, YYYY-MM-DD or Unix seconds).
        #[arg(long)]
        from: String,
        /// End of the range, inclusive (same forms).
        #[arg(long)]
        to: String,
        /// Rule files or directories [default: detect.rules from the configuration].
        #[arg(long = "rules", value_name = "PATH", num_args = 1..)]
        rules: Vec<PathBuf>,
        /// Extra Sigma field mapping (TOML) [default: detect.mapping].
        #[arg(long, value_name = "FILE")]
        mapping: Vec<PathBuf>,
    },
}

pub fn run(args: JobsArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        JobsCommand::List {
            data_dir,
            job,
            limit,
            json,
        } => {
            let data_dir = config.data_dir(data_dir);
            let history = JobHistory::new(db::open(&data_dir)?).with_context(|| {
                format!("cannot read the job history of {}", data_dir.display())
            })?;
            let runs = history.runs(job.as_deref(), limit)?;
            print_runs(&runs, json)?;
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Backfill {
            data_dir,
            job,
            from,
            to,
            rules,
            mapping,
        } => {
            let data_dir = config.data_dir(data_dir);
            let time = |text: &str, end: bool| {
                parse_time(text, end).with_context(|| {
                    format!("`{text}` is not a time: use RFC 3339, YYYY-MM-DD or Unix seconds")
                })
            };
            let range = TimeRange {
                from: Some(time(&from, false)?),
                to: Some(time(&to, true)?),
            };
            let mut detect = config.detect.clone();
            if !rules.is_empty() {
                detect.rules = rules;
            }
            if !mapping.is_empty() {
                detect.mapping = mapping;
            }
            let (mut service, _) = crate::run_cmd::open_service(&detect, &data_dir)?;
            let (queued, report) = service
                .backfill(&job, range)
                .with_context(|| format!("cannot backfill {job}"))?;
            println!(
                "backfill of {job}: {} run(s) queued; {} run(s) done, {} failed; {} new alert(s), {} new incident(s)",
                queued.len(),
                report.job_runs,
                report.job_failures,
                report.alerts,
                report.incidents_created.len()
            );
            Ok(if report.job_failures > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn print_runs(runs: &[RunRecord], json: bool) -> anyhow::Result<()> {
    if json {
        for run in runs {
            println!("{}", serde_json::to_string(run)?);
        }
        return Ok(());
    }
    println!(
        "{:<28}  {:<10}  {:>3}  {:<27}  {:<27}  {:>10}  {:>6}  error",
        "job", "status", "try", "from", "to", "events", "alerts"
    );
    for run in runs {
        println!(
            "{:<28}  {:<10}  {:>3}  {:<27}  {:<27}  {:>10}  {:>6}  {}",
            run.job_id,
            run.status.as_str(),
            run.attempt,
            format_time(run.from),
            format_time(run.to),
            run.events_scanned,
            run.alerts,
            run.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
