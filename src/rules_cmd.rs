//! `weft rules`: check Sigma rules and try them on sample events.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_correlate::cases::Cases;
use weft_correlate::correlation::CorrelationSet;
use weft_correlate::correlation::sequence::{LoadedSequences, load_sequence_paths};
use weft_correlate::schedule::load_sql_rules;
use weft_correlate::sigma::report::{check_json_lines, match_records, read_event_file};
use weft_correlate::sigma::{FieldMapping, Placeholders, RuleSet, SigmaMatcher, load_paths};

use crate::backtest_cmd;
use crate::config::WeftConfig;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Load rules (files or directories, recursively: Sigma rules, correlations and weft
    /// sequences) and report each one as loaded or refused with the reason; exits 1 when any
    /// rule is refused or the correlations cannot run together.
    Check {
        #[command(flatten)]
        rules: RuleSource,
        /// One JSON object per line per rule (path, id, title, status, reason), then totals.
        #[arg(long)]
        json: bool,
    },
    /// Run rules over sample events and report which events each rule matches; with
    /// --cases, run every rule file's own test events (`<rule>.tests/expected.toml`) and
    /// exit 1 when any fails.
    Test {
        #[command(flatten)]
        rules: RuleSource,
        /// Event files: JSON lines, JSON objects back to back, a JSON array, or log lines.
        #[arg(
            long = "events",
            value_name = "FILE",
            required_unless_present = "cases",
            conflicts_with = "cases",
            num_args = 1..
        )]
        events: Vec<PathBuf>,
        /// Run each rule file's test cases: the events of `<rule>.tests/` must fire it as
        /// `expected.toml` says (correlations and sequences included), and the negative ones
        /// must not.
        #[arg(long)]
        cases: bool,
        /// Format of the events (see `weft formats`); `auto` detects it per record.
        #[arg(long, default_value = "auto")]
        format: String,
        /// One JSON object per line per match (rule_id, rule_title, level, event_index,
        /// event_id).
        #[arg(long)]
        json: bool,
    },
    /// Replay stored events through rules, correlations and sequences, and print the alerts
    /// they would have raised.
    Backtest(backtest_cmd::BacktestArgs),
}

/// Where rules come from, and how their fields and placeholders resolve.
#[derive(Debug, Args)]
struct RuleSource {
    /// Rule files or directories (recursively, *.yml and *.yaml).
    #[arg(long = "rules", value_name = "PATH", num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Rule paths given without --rules.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Extra field mapping (TOML, see correlate/SIGMA.md), applied over the default one.
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Values of %placeholders% (TOML: name = ["value", ...]).
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
}

impl RuleSource {
    fn paths(&self) -> Vec<PathBuf> {
        self.rules.iter().chain(&self.paths).cloned().collect()
    }

    fn placeholders(&self) -> anyhow::Result<Placeholders> {
        let Some(path) = &self.placeholders else {
            return Ok(Placeholders::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Placeholders::from_toml(&text)
            .with_context(|| format!("invalid placeholders in {}", path.display()))
    }

    fn load(&self) -> anyhow::Result<(RuleSet, FieldMapping)> {
        let paths = self.paths();
        if paths.is_empty() {
            anyhow::bail!("no rules given: pass rule files or directories");
        }
        let placeholders = self.placeholders()?;
        let texts = self
            .mapping
            .iter()
            .map(|path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mapping = FieldMapping::from_toml(&texts).context("invalid field mapping")?;
        Ok((load_paths(&paths, &placeholders), mapping))
    }
}

pub fn run(args: RulesArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        RulesCommand::Check { rules, json } => check(&rules, json),
        RulesCommand::Test {
            rules,
            cases: true,
            json,
            ..
        } => test_cases(&rules, json),
        RulesCommand::Test {
            rules,
            events,
            format,
            json,
            ..
        } => test(&rules, &events, &format, json),
        RulesCommand::Backtest(mut args) => {
            args.data_dir = Some(config.data_dir(args.data_dir.take()));
            backtest_cmd::run(args)
        }
    }
}

fn check(source: &RuleSource, json: bool) -> anyhow::Result<ExitCode> {
    let (mut set, mapping) = source.load()?;
    let sequences: LoadedSequences = load_sequence_paths(&source.paths());
    set.checks.extend(sequences.checks());
    set.checks.extend(load_sql_rules(&source.paths()).checks());
    // Rules that load one by one may still not run together (a sequence step naming a rule
    // that is not there, a correlation cycle through a sequence).
    let matcher = SigmaMatcher::new(std::mem::take(&mut set.rules), &mapping);
    let together = CorrelationSet::with_sequences(
        matcher.rules(),
        &set.correlations,
        &sequences.rules,
        &mapping,
    )
    .err();
    if json {
        for line in check_json_lines(&set) {
            println!("{line}");
        }
    } else {
        for check in &set.checks {
            let path = check
                .path
                .as_deref()
                .map(|path| path.display().to_string())
                .unwrap_or_default();
            let name = check.title.as_deref().unwrap_or("(untitled)");
            match &check.reason {
                Some(reason) => println!("{:7}  {path}  {name}: {reason}", check.status),
                None => println!("{:7}  {path}  {name}", check.status),
            }
        }
        let totals = set.totals();
        println!("{} loaded, {} refused", totals.loaded, totals.refused);
    }
    if let Some(error) = &together {
        eprintln!("error: the correlation rules cannot run together: {error}");
    }
    Ok(if set.totals().refused == 0 && together.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn test(
    source: &RuleSource,
    events: &[PathBuf],
    format: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (set, mapping) = source.load()?;
    for error in &set.errors {
        eprintln!("warning: {error}");
    }
    let matcher = SigmaMatcher::new(set.rules, &mapping);
    let mut matches = 0usize;
    for path in events {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let origin = path.display().to_string();
        let batch = read_event_file(&origin, &bytes, format)?;
        for record in match_records(&matcher, &batch)? {
            matches += 1;
            if json {
                println!("{}", serde_json::to_string(&record)?);
            } else {
                println!(
                    "{origin}  event {}  {}  [{}] {}",
                    record.event_index,
                    record.rule_id.as_deref().unwrap_or("-"),
                    record.level.unwrap_or("-"),
                    record.rule_title
                );
            }
        }
    }
    if !json {
        println!("{matches} match(es)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `weft rules test --cases`: every rule file's own test events.
fn test_cases(source: &RuleSource, json: bool) -> anyhow::Result<ExitCode> {
    let paths = source.paths();
    if paths.is_empty() {
        anyhow::bail!("no rules given: pass rule files or directories");
    }
    let (_, mapping) = source.load()?;
    let cases = match Cases::load(&paths, &mapping, &source.placeholders()?) {
        Ok(cases) => cases,
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            eprintln!(
                "{} rule document(s) do not load; no case ran",
                problems.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let outcomes = cases.run().map_err(anyhow::Error::msg)?;
    let failed = outcomes.iter().filter(|outcome| !outcome.passed()).count();
    for outcome in &outcomes {
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "file": outcome.file.display().to_string(),
                    "rule": outcome.rule,
                    "title": outcome.title,
                    "passed": outcome.passed(),
                    "failures": outcome.failures,
                })
            );
            continue;
        }
        let name = outcome.title.as_deref().unwrap_or("(no case)");
        if outcome.passed() {
            println!("pass  {}  {name}", outcome.file.display());
        } else {
            println!("FAIL  {}  {name}", outcome.file.display());
            for failure in &outcome.failures {
                println!("      {failure}");
            }
        }
    }
    if !json {
        println!(
            "{} rule file(s) tested, {} passed, {failed} failed",
            outcomes.len(),
            outcomes.len() - failed
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
