//! `weft dashboards`: the dashboards the API serves (shipped and the users' files in
//! `<data_dir>/dashboards/`), and a check of definition files before they are installed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_dashboards::catalogue::{DashboardSource, load_catalogue, user_dir};
use weft_dashboards::definition::Dashboard;

use crate::config::WeftConfig;

#[derive(Debug, Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    command: DashboardsCommand,
}

#[derive(Debug, Subcommand)]
enum DashboardsCommand {
    /// The dashboards of a data directory, and the files that do not load with the reason.
    List {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check dashboard files (as `<id>.json`): exit 1 with the reason when one is invalid.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: DashboardsArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        DashboardsCommand::List { data_dir } => {
            let dir = user_dir(&config.data_dir(data_dir));
            let catalogue = load_catalogue(&dir);
            println!(
                "{:<24}  {:>6}  {:<6}  {:<40}  source",
                "id", "panels", "range", "title"
            );
            for (dashboard, source) in &catalogue.dashboards {
                let source = match source {
                    DashboardSource::Builtin => "built in".to_string(),
                    DashboardSource::File(path) => path.display().to_string(),
                };
                println!(
                    "{:<24}  {:>6}  {:<6}  {:<40}  {source}",
                    dashboard.id,
                    dashboard.panels.len(),
                    dashboard.range,
                    dashboard.title
                );
            }
            for refused in &catalogue.refused {
                eprintln!("refused {}: {}", refused.path.display(), refused.reason);
            }
            Ok(if catalogue.refused.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        DashboardsCommand::Check { files } => {
            let mut failed = false;
            for file in files {
                let id = file
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .unwrap_or_default();
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                match Dashboard::parse(id, &bytes) {
                    Ok(dashboard) => println!(
                        "ok {}: {:?}, {} panels",
                        file.display(),
                        dashboard.title,
                        dashboard.panels.len()
                    ),
                    Err(error) => {
                        failed = true;
                        println!("invalid {}: {error}", file.display());
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
