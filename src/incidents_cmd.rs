//! `weft incidents`: the incidents of a data directory, from the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_correlate::correlation::alert::format_time;
use weft_correlate::incident::{IncidentFilter, IncidentStatus, IncidentStore, Severity};

use crate::config::WeftConfig;

#[derive(Debug, Args)]
pub struct IncidentsArgs {
    #[command(subcommand)]
    command: IncidentsCommand,
}

#[derive(Debug, Subcommand)]
enum IncidentsCommand {
    /// List incidents, most severe first (merged ones are left out unless asked for).
    List {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only these statuses: open, acknowledged, closed, merged (comma-separated).
        #[arg(long, value_delimiter = ',')]
        status: Vec<IncidentStatus>,
        /// Only incidents at least this severe: informational, low, medium, high, critical.
        #[arg(long)]
        min_severity: Option<Severity>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line: id, title, severity, status, entities ({type, value}),
        /// alert_count, services, and more.
        #[arg(long)]
        json: bool,
    },
    /// Show one incident: its entities, alerts, evidence, comments and history.
    Show {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The incident's id (`weft incidents list` shows it).
        id: String,
        /// The whole incident as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: IncidentsArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        IncidentsCommand::List {
            data_dir,
            status,
            min_severity,
            limit,
            json,
        } => {
            let data_dir = config.data_dir(data_dir);
            let store = IncidentStore::open(&data_dir, &config.detect.incidents)
                .with_context(|| format!("cannot open the incidents of {}", data_dir.display()))?;
            let filter = IncidentFilter {
                statuses: status,
                min_severity,
                limit: Some(limit),
                ..IncidentFilter::default()
            };
            let incidents = store.list(&filter)?;
            if json {
                for incident in &incidents {
                    println!("{}", serde_json::to_string(incident)?);
                }
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<17}  {:<13}  {:<12}  {:>6}  {:<27}  title",
                "id", "severity", "status", "alerts", "last_seen"
            );
            for incident in &incidents {
                println!(
                    "{:<17}  {:<13}  {:<12}  {:>6}  {:<27}  {}",
                    incident.id,
                    incident.severity.as_str(),
                    incident.status.as_str(),
                    incident.alert_count,
                    format_time(incident.last_seen),
                    incident.title
                );
            }
            println!("{} incident(s)", incidents.len());
            Ok(ExitCode::SUCCESS)
        }
        IncidentsCommand::Show { data_dir, id, json } => {
            let data_dir = config.data_dir(data_dir);
            let store = IncidentStore::open(&data_dir, &config.detect.incidents)
                .with_context(|| format!("cannot open the incidents of {}", data_dir.display()))?;
            let Some(incident) = store.get(&id)? else {
                anyhow::bail!("no incident {id}; `weft incidents list` shows their ids");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&incident)?);
                return Ok(ExitCode::SUCCESS);
            }
            let summary = &incident.summary;
            println!("{}  {}", summary.id, summary.title);
            println!(
                "severity {}, status {}, assignee {}, {} alert(s) from {} rule(s)",
                summary.severity.as_str(),
                summary.status.as_str(),
                summary.assignee.as_deref().unwrap_or("-"),
                summary.alert_count,
                summary.rule_count
            );
            println!(
                "seen {} .. {}",
                format_time(summary.first_seen),
                format_time(summary.last_seen)
            );
            println!("services: {}", summary.services.join(", "));
            if !summary.tactics.is_empty() || !summary.techniques.is_empty() {
                println!(
                    "att&ck: {} {}",
                    summary.tactics.join(", "),
                    summary.techniques.join(", ")
                );
            }
            println!("entities:");
            for entity in &incident.entity_counts {
                println!(
                    "  {}={} ({} alert(s))",
                    entity.kind, entity.value, entity.alert_count
                );
            }
            println!("alerts:");
            for stored in &incident.alerts {
                println!(
                    "  {}  {:<13}  {}  ({} event(s))",
                    format_time(stored.alert.window_end),
                    stored.severity.as_str(),
                    stored.alert.title,
                    stored.alert.event_count
                );
            }
            println!("evidence: {} event(s)", incident.evidence_event_ids.len());
            for comment in &incident.comments {
                println!(
                    "comment by {} at {}: {}",
                    comment.author,
                    format_time(comment.time),
                    comment.text
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
