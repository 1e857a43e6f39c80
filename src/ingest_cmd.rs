//! `weft ingest`: files or stdin into the event store, with a summary of what happened to
//! every record; or, with `--kafka`, a Kafka consumer-group worker.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use weft_ingest::pipeline::{IngestOptions, IngestSummary, Ingestor, Input};
use weft_ingest::store::FlushPolicy;

use crate::config::WeftConfig;

/// Inputs larger than this (in total) get a progress bar on a terminal.
const PROGRESS_THRESHOLD_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Data directory [default: ./weft-data, or data_dir from the configuration].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Format of the inputs: `auto` detects it per record; `weft formats` lists the names.
    #[arg(long)]
    format: Option<String>,
    /// Service the events belong to [default: from the record, else the file name].
    #[arg(long)]
    service: Option<String>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Files to read (plain or gzip), or `-` for stdin.
    #[arg(required_unless_present = "kafka", value_name = "FILE")]
    inputs: Vec<String>,
}

/// `weft ingest --kafka`: run as a worker of a Kafka consumer group.
#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Read Kafka topics as a member of a consumer group instead of files ([kafka] in the
    /// configuration). Stops on SIGTERM/SIGINT after recording what it read.
    #[arg(long, conflicts_with = "inputs")]
    kafka: bool,
    /// Bootstrap servers, HOST:PORT[,HOST:PORT...] [default: kafka.brokers].
    #[arg(long, requires = "kafka")]
    brokers: Option<String>,
    /// Topics, comma-separated; a name starting with ^ is a regular expression
    /// [default: kafka.topics].
    #[arg(long, requires = "kafka", value_delimiter = ',')]
    topics: Vec<String>,
    /// Consumer group id [default: kafka.group].
    #[arg(long, requires = "kafka")]
    group: Option<String>,
    /// Exit once partitions are assigned and nothing was read for SECS (batch use, tests).
    #[arg(long, requires = "kafka", value_name = "SECS")]
    until_idle: Option<f64>,
}

pub fn run(args: IngestArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir(args.data_dir.clone());
    let store_config = config.store.clone();
    if args.kafka.kafka {
        return run_kafka(args, config, data_dir);
    }
    let options = IngestOptions {
        format: args.format,
        service: args.service,
        config: config.ingest,
        flush: FlushPolicy::default(),
    };
    let mut ingestor = Ingestor::open(&data_dir, options)
        .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
    let recovery = ingestor.store().recovery().clone();
    if !recovery.quarantined.is_empty() {
        eprintln!(
            "warning: moved {} damaged segment file(s) to {}",
            recovery.quarantined.len(),
            data_dir.join("quarantine").display()
        );
    }

    let replication = crate::store_cmd::start_replication(&store_config, &data_dir)?;
    let inputs: Vec<Input> = args.inputs.iter().map(|arg| Input::from_arg(arg)).collect();
    let progress = Progress::start(&inputs, ingestor.progress_counter());
    let mut failure = None;
    for input in &inputs {
        if let Err(error) = ingestor.ingest(input) {
            failure = Some(error);
            break;
        }
        progress.input_done(input);
    }
    progress.finish();
    let summary = ingestor
        .finish()
        .context("cannot make the stored events durable")?;
    crate::store_cmd::finish_replication(replication);

    if args.json {
        println!(
            "{}",
            serde_json::to_string(&summary).context("cannot print the summary")?
        );
    } else {
        print_summary(&summary, &data_dir);
    }
    if let Some(error) = failure {
        return Err(anyhow::Error::new(error)
            .context("ingest stopped; the summary above counts what was done"));
    }
    if !summary.is_balanced() {
        anyhow::bail!(
            "records unaccounted for: read {} != stored {} + dead-lettered {}",
            summary.read,
            summary.stored,
            summary.dead_lettered
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_kafka(args: IngestArgs, config: WeftConfig, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    use weft_ingest::source::kafka::{self, KafkaRun};
    let mut kafka_config = config.kafka;
    let kafka_args = args.kafka;
    if kafka_args.brokers.is_some() {
        kafka_config.brokers = kafka_args.brokers;
    }
    if !kafka_args.topics.is_empty() {
        kafka_config.topics = kafka_args.topics;
    }
    if kafka_args.group.is_some() {
        kafka_config.group = kafka_args.group;
    }
    let settings = kafka_config.build(std::env::vars())?;
    let until_idle = match kafka_args.until_idle {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Some(Duration::from_secs_f64(secs)),
        Some(secs) => anyhow::bail!("--until-idle must be a number of seconds, not {secs}"),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .context("cannot install the signal handlers")?;
    }
    let options = IngestOptions {
        format: args.format,
        service: args.service,
        config: config.ingest,
        flush: FlushPolicy::default(),
    };
    let replication = crate::store_cmd::start_replication(&config.store, &data_dir)?;
    let summary = kafka::run(KafkaRun {
        data_dir: &data_dir,
        settings,
        ingest: options,
        until_idle,
        stop: &stop,
        lag: Default::default(),
    });
    crate::store_cmd::finish_replication(replication);
    let summary = summary.with_context(|| {
        format!(
            "kafka worker stopped (data directory {})",
            data_dir.display()
        )
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&summary).context("cannot print the summary")?
        );
    } else {
        print_summary(&summary.ingest, &data_dir);
        for (topic, counts) in &summary.kafka.topics {
            println!(
                "topic {topic}: consumed {}, stored {}, dead-lettered {}",
                counts.consumed, counts.stored, counts.dead_lettered
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(summary: &IngestSummary, data_dir: &std::path::Path) {
    println!(
        "read {} records ({} bytes): stored {}, dead-lettered {}",
        summary.read, summary.bytes, summary.stored, summary.dead_lettered
    );
    println!(
        "events in {} new segment(s) under {}",
        summary.segments,
        data_dir.display()
    );
    if let Some(file) = &summary.dead_letter_file {
        let reasons: Vec<String> = summary
            .dead_letter_reasons
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        println!("dead letters ({}) in {file}", reasons.join(", "));
    }
    let list = |counts: &std::collections::BTreeMap<String, u64>| {
        counts
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("by format: {}", list(&summary.by_format));
    println!("by class: {}", list(&summary.by_class));
    if summary.time_missing > 0 || summary.not_utf8 > 0 || summary.metadata > 0 {
        println!(
            "flagged: {} without a usable time (stored at ingest time), {} not UTF-8; {} format metadata lines",
            summary.time_missing, summary.not_utf8, summary.metadata
        );
    }
}

/// A progress bar over the inputs' bytes, drawn only on a terminal and for large inputs.
struct Progress {
    bar: Option<ProgressBar>,
    done_bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(inputs: &[Input], current: Arc<AtomicU64>) -> Progress {
        let total: u64 = inputs
            .iter()
            .filter_map(|input| match input {
                Input::File(path) => std::fs::metadata(path).ok().map(|metadata| metadata.len()),
                Input::Stdin => None,
            })
            .sum();
        let done_bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        if total < PROGRESS_THRESHOLD_BYTES || !std::io::IsTerminal::is_terminal(&std::io::stderr())
        {
            return Progress {
                bar: None,
                done_bytes,
                stop,
                ticker: None,
            };
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let ticker = {
            let bar = bar.clone();
            let done = done_bytes.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    bar.set_position(
                        done.load(Ordering::Relaxed) + current.load(Ordering::Relaxed),
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Progress {
            bar: Some(bar),
            done_bytes,
            stop,
            ticker: Some(ticker),
        }
    }

    fn input_done(&self, input: &Input) {
        if let Input::File(path) = input
            && let Ok(metadata) = std::fs::metadata(path)
        {
            self.done_bytes.fetch_add(metadata.len(), Ordering::Relaxed);
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
