//! `weft rules backtest`: replay stored events through Sigma rules and correlations and print
//! the alerts they would have raised (the same matcher and correlator as the stream).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use weft_correlate::correlation::alert::format_time;
use weft_correlate::correlation::backtest::{self, TimeRange};
use weft_correlate::correlation::{Alert, CorrelatorConfig};
use weft_correlate::ruleset::DetectionRules;

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Rule files or directories (recursively, *.yml and *.yaml): Sigma rules, correlation
    /// rules and weft sequences.
    #[arg(long = "rules", value_name = "PATH", required = true, num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// First event time to replay (RFC 3339, `YYYY-MM-DD`, or Unix seconds); default: the
    /// oldest stored event.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Last event time to replay, inclusive (same forms); default: the newest stored event.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Data directory holding the event store [default: ./weft-data, or data_dir from the
    /// configuration].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Extra Sigma field mapping (TOML), applied over the default one; the rule pack's is
    /// `rules/mapping.toml`.
    #[arg(long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,
    /// One JSON object per line per alert (alert_id, rule_id, rule_name, level, group,
    /// window_start, window_end, event_ids, event_count).
    #[arg(long)]
    pub json: bool,
}

fn parse_time(text: &str, end_of_day: bool) -> anyhow::Result<i64> {
    backtest::parse_time(text, end_of_day).with_context(|| {
        format!("`{text}` is not a time: use RFC 3339 (2026-05-01T12:00:00Z), YYYY-MM-DD or Unix seconds")
    })
}

/// The `--json` line of an alert.
pub fn alert_json(alert: &Alert) -> serde_json::Value {
    serde_json::json!({
        "alert_id": alert.alert_id,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "level": alert.level,
        "author": alert.author,
        "group": alert.group,
        "window_start": format_time(alert.window_start),
        "window_end": format_time(alert.window_end),
        "event_ids": alert.event_ids,
        "event_count": alert.event_count,
    })
}

pub fn run(args: BacktestArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("weft-data"));
    let range = TimeRange {
        from: args
            .from
            .as_deref()
            .map(|text| parse_time(text, false))
            .transpose()
            .context("invalid --from")?,
        to: args
            .to
            .as_deref()
            .map(|text| parse_time(text, true))
            .transpose()
            .context("invalid --to")?,
    };
    let rules =
        DetectionRules::load(&args.rules, &args.mapping, None).context("cannot load the rules")?;
    for warning in &rules.warnings {
        eprintln!("warning: {warning}");
    }
    let report = backtest::backtest(
        &data_dir,
        &rules.matcher,
        Arc::clone(&rules.set),
        range,
        CorrelatorConfig::default(),
    )
    .with_context(|| format!("backtest over {} failed", data_dir.display()))?;
    if args.json {
        for alert in &report.alerts {
            println!("{}", alert_json(alert));
        }
    } else {
        println!(
            "{:<27}  {:<27}  {:<13}  {:>6}  {:<40}  group",
            "window_start", "window_end", "level", "events", "rule"
        );
        for alert in &report.alerts {
            let group: Vec<String> = alert
                .group
                .iter()
                .map(|(field, value)| format!("{field}={value}"))
                .collect();
            println!(
                "{:<27}  {:<27}  {:<13}  {:>6}  {:<40}  {}",
                format_time(alert.window_start),
                format_time(alert.window_end),
                alert.level.as_deref().unwrap_or("-"),
                alert.event_count,
                alert.rule_name,
                group.join(" ")
            );
        }
        let metrics = &report.metrics;
        println!(
            "{} alert(s); {} segment(s), {} event(s), {} correlated signal(s); {} dropped by caps",
            report.alerts.len(),
            report.segments_read,
            report.events_read,
            report.signals,
            metrics
                .rules
                .iter()
                .map(|rule| rule.dropped_by_group_cap + rule.evicted_by_event_cap)
                .sum::<u64>()
        );
    }
    Ok(ExitCode::SUCCESS)
}
