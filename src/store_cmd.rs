//! `weft store`: replicating the event store to object storage (`[store] remote`) and
//! restoring a data directory from it; and the replication that `weft ingest` and `weft run`
//! keep going in the background while the remote is configured.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_ingest::store::remote::{
    Remote, Replicator, ReplicatorHandle, ReplicatorOptions, StoreConfig, restore,
};

use crate::config::WeftConfig;

/// How long `weft ingest` and `weft run` wait, when done, for the remote to take another
/// segment before leaving the rest to the next run.
const FINISH_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Build a fresh data directory from a remote: download the manifest and every segment
    /// it lists with its search index, and check them.
    Restore {
        /// The remote: s3://bucket/prefix or file:///path [default: store.remote].
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The data directory to create (missing or empty).
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Upload to store.remote every segment it lacks, then its manifest, and exit.
    Replicate {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The remote [default: store.remote].
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

pub fn run(args: StoreArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        StoreCommand::Restore { from, data_dir } => {
            let remote = remote(from, &config)?;
            let report = restore(&remote, &data_dir)
                .with_context(|| format!("cannot restore {} from {remote}", data_dir.display()))?;
            println!(
                "restored {} segment(s), {} events ({} bytes) from {remote} into {}",
                report.segments,
                report.rows,
                report.bytes,
                data_dir.display()
            );
            if !report.recovery.rebuilt_indexes.is_empty() {
                println!(
                    "rebuilt {} search index(es) that did not check out",
                    report.recovery.rebuilt_indexes.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Replicate { data_dir, to } => {
            let data_dir = config.data_dir(data_dir);
            let remote = remote(to, &config)?;
            let mut replicator =
                Replicator::new(&data_dir, remote.clone(), ReplicatorOptions::default())?;
            let report = replicator
                .sync()
                .with_context(|| format!("cannot replicate {} to {remote}", data_dir.display()))?;
            if report.other_process {
                println!("another weft process replicates {}", data_dir.display());
            } else {
                println!(
                    "uploaded {} segment(s) ({} bytes) to {remote}; {} pending",
                    report.segments, report.bytes, report.pending
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn remote(url: Option<String>, config: &WeftConfig) -> anyhow::Result<Remote> {
    let url = url
        .or_else(|| config.store.remote.clone())
        .context("no remote: pass its URL, or set `remote` in the [store] section")?;
    Ok(Remote::parse(&url)?)
}

/// Starts background replication of `data_dir` when `[store] remote` is set.
pub fn start_replication(
    store: &StoreConfig,
    data_dir: &Path,
) -> anyhow::Result<Option<ReplicatorHandle>> {
    let Some(remote) = store.remote()? else {
        return Ok(None);
    };
    let handle = Replicator::new(data_dir, remote, ReplicatorOptions::default())?.spawn()?;
    Ok(Some(handle))
}

/// Lets background replication catch up (while the remote takes a segment at least every
/// 30 s) and stops it; says on stderr what is left when it could not.
pub fn finish_replication(handle: Option<ReplicatorHandle>) {
    let Some(handle) = handle else {
        return;
    };
    let stats = handle.stats();
    match handle.finish(FINISH_PATIENCE) {
        Ok(report) if report.other_process => eprintln!(
            "another weft process over this data directory replicates it to the store's remote"
        ),
        Ok(report) if report.pending == 0 => eprintln!(
            "replicated {} segment(s) ({} bytes) to the store's remote",
            stats.segments_uploaded(),
            stats.bytes_uploaded()
        ),
        Ok(report) => eprintln!(
            "warning: {} segment(s) not yet on the store's remote; the next weft run over this data directory uploads them",
            report.pending
        ),
        Err(error) => eprintln!(
            "warning: replication to the store's remote failed ({error}); the segments are durable locally and the next weft run over this data directory uploads them"
        ),
    }
}
