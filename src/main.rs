//! The `weft` command: CLI wiring only. Each subcommand parses its arguments and hands over to
//! the crates that do the work.

/// mimalloc: ingest allocates and frees many short strings per record and grows large Arrow
/// buffers; glibc's allocator spends much of the time in page faults on both.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod alert_kafka;
mod backtest_cmd;
mod config;
mod dashboards_cmd;
mod demo;
mod incidents_cmd;
mod ingest_cmd;
mod jobs_cmd;
mod rule_pack;
mod rules_cmd;
mod run_cmd;
mod serve_cmd;
mod ship_cmd;
mod store_cmd;
mod token_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// weft: security log correlation for microservice platforms.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Also read from WEFT_CONFIG.
    #[arg(long, global = true, env = "WEFT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run weft on a simulated platform: a day of logs with attacks woven in, ingested and
    /// detected, the API on 127.0.0.1:8080, and live traffic until Ctrl-C.
    Demo(demo::DemoArgs),
    /// Measure the rule pack on the simulated platform: five attack chains woven into a week
    /// of benign traffic must each become one incident, the traffic alone none; prints the
    /// false-positive rate per million benign events.
    Scenarios(demo::scenario::ScenarioArgs),
    /// Run weft: ingest (files given, Kafka when configured), streaming detection, scheduled
    /// jobs, incidents, alert outputs and the analyst API in one process.
    Run(run_cmd::RunArgs),
    /// List and show incidents.
    Incidents(incidents_cmd::IncidentsArgs),
    /// Scheduled detection jobs: their runs and gaps, and backfills.
    Jobs(jobs_cmd::JobsArgs),
    /// List the dashboards the API serves, and check dashboard files.
    Dashboards(dashboards_cmd::DashboardsArgs),
    /// Read log files (plain or .gz), stdin, or Kafka topics (--kafka), normalize the records,
    /// and store them as Parquet.
    Ingest(ingest_cmd::IngestArgs),
    /// Send log lines (files or stdin) to a Kafka topic, one record per line.
    Ship(ship_cmd::ShipArgs),
    /// Check Sigma rules and try them on sample events.
    Rules(rules_cmd::RulesArgs),
    /// Replicate the event store to object storage ([store] remote), or restore a data
    /// directory from it.
    Store(store_cmd::StoreArgs),
    /// Serve the analyst API (HTTPS with --tls-cert/--tls-key).
    Serve(serve_cmd::ServeArgs),
    /// Create, list and revoke API tokens.
    Token(token_cmd::TokenArgs),
    /// Prepare a data directory, write a default weft.toml, and print the first admin token.
    Init(token_cmd::InitArgs),
    /// Print the normalized event schema and which formats fill which columns.
    Schema,
    /// List the log formats weft reads, one per line, the format name first.
    Formats,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEFT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| run_cmd::run(args, config)),
        Command::Incidents(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| incidents_cmd::run(args, config)),
        Command::Jobs(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| jobs_cmd::run(args, config)),
        Command::Dashboards(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| dashboards_cmd::run(args, config)),
        Command::Ingest(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| ingest_cmd::run(args, config)),
        Command::Demo(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| demo::run(args, config)),
        Command::Scenarios(args) => demo::scenario::run(args),
        Command::Ship(args) => ship_cmd::run(args),
        Command::Rules(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| rules_cmd::run(args, config)),
        Command::Store(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| store_cmd::run(args, config)),
        Command::Serve(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| serve_cmd::run(args, config)),
        Command::Token(args) => config::WeftConfig::load(cli.config.as_deref())
            .and_then(|config| token_cmd::run(args, config)),
        Command::Init(args) => {
            // The file `weft init` is about to write may not exist yet.
            let existing = cli.config.as_deref().filter(|path| path.exists());
            config::WeftConfig::load(existing)
                .and_then(|config| token_cmd::init(args, config, cli.config.clone()))
        }
        Command::Schema => {
            print!("{}", weft_ingest::schema::SCHEMA_DOC);
            Ok(ExitCode::SUCCESS)
        }
        Command::Formats => {
            print_formats();
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_formats() {
    let width = weft_ingest::parse::FORMATS
        .iter()
        .map(|spec| spec.name.len())
        .max()
        .unwrap_or(0);
    for spec in weft_ingest::parse::FORMATS {
        let aliases = if spec.also_known_as.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", spec.also_known_as.join(", "))
        };
        println!("{:width$}  {}{aliases}", spec.name, spec.description);
    }
}
