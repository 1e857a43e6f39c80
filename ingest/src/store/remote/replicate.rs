//! Uploading durable segments and the manifest to a remote ([`Replicator`]), on a thread of
//! its own ([`Replicator::spawn`]), retried with backoff while the remote is unreachable.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{debug, info, warn};

use super::progress::Progress;
use super::{Remote, RemoteError};
use crate::index::index_path;
use crate::store::StoreError;
use crate::store::manifest::{MANIFEST_FILE, Manifest, ManifestLine, SegmentEntry, parse_lines};

/// The file whose lock makes one process at a time replicate a data directory.
pub const REPLICATION_LOCK_FILE: &str = "replication.lock";

/// How often replication looks for new segments, and how it retries.
#[derive(Debug, Clone, Copy)]
pub struct ReplicatorOptions {
    /// How often the local manifest is checked for new segments.
    pub poll: Duration,
    /// The wait after a first failure; it doubles with each failure in a row.
    pub first_retry: Duration,
    /// The longest wait between retries.
    pub max_retry: Duration,
}

impl Default for ReplicatorOptions {
    fn default() -> Self {
        ReplicatorOptions {
            poll: Duration::from_secs(1),
            first_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(60),
        }
    }
}

/// Counters of a replicator, readable from any thread.
#[derive(Debug, Default)]
pub struct ReplicationStats {
    segments: AtomicU64,
    bytes: AtomicU64,
    failures: AtomicU64,
    pending: AtomicU64,
    manifests: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ReplicationStats {
    /// Segments uploaded (Parquet file and index) since start.
    pub fn segments_uploaded(&self) -> u64 {
        self.segments.load(Ordering::Relaxed)
    }

    /// Bytes uploaded since start (Parquet files and index files).
    pub fn bytes_uploaded(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Passes that failed (each is retried).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Segments the local manifest lists that the remote does not hold yet, as of the last pass.
    pub fn pending_segments(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Times the remote manifest was written.
    pub fn manifests_written(&self) -> u64 {
        self.manifests.load(Ordering::Relaxed)
    }

    /// The error of the last pass, if it failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "weft_replication_segments_total",
                "Segments uploaded to the store's remote.",
                self.segments_uploaded(),
            ),
            (
                "weft_replication_bytes_total",
                "Bytes uploaded to the store's remote.",
                self.bytes_uploaded(),
            ),
            (
                "weft_replication_failures_total",
                "Replication passes that failed and were retried.",
                self.failures(),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP weft_replication_pending_segments Segments not yet on the store's remote.\n# TYPE weft_replication_pending_segments gauge\nweft_replication_pending_segments {}\n",
            self.pending_segments()
        ));
        out
    }

    fn set_error(&self, error: Option<String>) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = error;
    }
}

/// What one replication pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Segments uploaded by this pass.
    pub segments: usize,
    /// Bytes uploaded by this pass.
    pub bytes: u64,
    /// Segments listed locally and not on the remote after this pass (0: caught up).
    pub pending: usize,
    /// Whether this pass rewrote the remote manifest.
    pub manifest_written: bool,
    /// Another process holds the replication lock of this data directory and replicates it;
    /// this pass did nothing.
    pub other_process: bool,
}

/// Replicates one data directory to one remote. [`Replicator::sync`] runs a pass on the
/// calling thread; [`Replicator::spawn`] runs passes on a thread of its own.
#[derive(Debug)]
pub struct Replicator {
    data_dir: PathBuf,
    remote: Remote,
    options: ReplicatorOptions,
    runtime: tokio::runtime::Runtime,
    stats: Arc<ReplicationStats>,
    /// Checked against a listing of the remote on the first pass.
    progress: Option<Progress>,
    /// Lines of the remote manifest as last written by this replicator.
    published: Option<usize>,
    /// Size of the local manifest when the last pass caught up.
    caught_up_at: Option<u64>,
    lock: Option<fs::File>,
}

impl Replicator {
    pub fn new(
        data_dir: &Path,
        remote: Remote,
        options: ReplicatorOptions,
    ) -> Result<Replicator, RemoteError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::io("starting the replication runtime", data_dir, error))?;
        Ok(Replicator {
            data_dir: data_dir.to_path_buf(),
            remote,
            options,
            runtime,
            stats: Arc::default(),
            progress: None,
            published: None,
            caught_up_at: None,
            lock: None,
        })
    }

    pub fn stats(&self) -> Arc<ReplicationStats> {
        Arc::clone(&self.stats)
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// One pass: uploads, in manifest order, every listed segment the remote lacks (its index
    /// files, then its Parquet file, then a line in the replication record), then rewrites
    /// the remote manifest if the replicated prefix grew. Stops at the first failure, keeping
    /// what was uploaded; the next pass goes on from there.
    pub fn sync(&mut self) -> Result<SyncReport, RemoteError> {
        let outcome = self.sync_inner();
        match &outcome {
            Ok(report) => {
                self.stats.set_error(None);
                self.stats
                    .pending
                    .store(report.pending as u64, Ordering::Relaxed);
            }
            Err(error) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                self.stats.set_error(Some(error.to_string()));
            }
        }
        outcome
    }

    fn sync_inner(&mut self) -> Result<SyncReport, RemoteError> {
        if !self.take_lock()? {
            return Ok(SyncReport {
                other_process: true,
                ..SyncReport::default()
            });
        }
        let manifest = Manifest::new(&self.data_dir);
        let manifest_len = fs::metadata(manifest.path()).map_or(0, |metadata| metadata.len());
        if self.caught_up_at == Some(manifest_len) {
            return Ok(SyncReport::default());
        }
        let lines = manifest.load_lines()?;
        if self.progress.is_none() {
            self.progress = Some(self.verified_progress(&lines)?);
        }
        let mut report = SyncReport::default();
        let mut failure = None;
        for line in &lines {
            let ManifestLine::Segment(entry) = line else {
                continue;
            };
            if self.is_uploaded(entry) {
                continue;
            }
            match self.upload_segment(entry) {
                Ok(bytes) => {
                    if let Some(progress) = self.progress.as_mut() {
                        progress.record(std::slice::from_ref(entry))?;
                    }
                    report.segments += 1;
                    report.bytes += bytes;
                    self.stats.segments.fetch_add(1, Ordering::Relaxed);
                    self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
                    debug!(segment = %entry.segment, bytes, remote = %self.remote, "uploaded a segment");
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let prefix = replicated_prefix(&lines, |entry| self.is_uploaded(entry));
        if self.published != Some(prefix) {
            let written = self.put_manifest(&lines[..prefix]);
            match (written, &failure) {
                (Ok(()), _) => {
                    self.published = Some(prefix);
                    report.manifest_written = true;
                    self.stats.manifests.fetch_add(1, Ordering::Relaxed);
                }
                (Err(error), None) => failure = Some(error),
                (Err(_), Some(_)) => {}
            }
        }
        report.pending = lines
            .iter()
            .filter(|line| matches!(line, ManifestLine::Segment(entry) if !self.is_uploaded(entry)))
            .count();
        if let Some(error) = failure {
            return Err(error);
        }
        if report.pending == 0 {
            self.caught_up_at = Some(manifest_len);
        }
        if report.segments > 0 {
            info!(segments = report.segments, bytes = report.bytes, remote = %self.remote, "replicated segments");
        }
        Ok(report)
    }

    fn is_uploaded(&self, entry: &SegmentEntry) -> bool {
        self.progress
            .as_ref()
            .is_some_and(|progress| progress.contains(entry))
    }

    /// Takes the replication lock if this process does not hold it; false when another
    /// process does.
    fn take_lock(&mut self) -> Result<bool, RemoteError> {
        if self.lock.is_some() {
            return Ok(true);
        }
        let path = self.data_dir.join(REPLICATION_LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| StoreError::io("opening the replication lock", &path, error))?;
        match file.try_lock() {
            Ok(()) => {
                self.lock = Some(file);
                Ok(true)
            }
            Err(fs::TryLockError::WouldBlock) => Ok(false),
            Err(fs::TryLockError::Error(error)) => {
                Err(StoreError::io("locking the replication lock", &path, error).into())
            }
        }
    }

    /// The replication record, keeping only segments whose Parquet file the remote still
    /// holds at the size uploaded.
    /// Refuses a remote whose manifest lists segments this data directory does not: it holds
    /// another store, whose manifest replication would overwrite.
    fn verified_progress(&self, lines: &[ManifestLine]) -> Result<Progress, RemoteError> {
        let location = self.remote.location(MANIFEST_FILE);
        let remote_manifest = self
            .runtime
            .block_on(async { self.remote.store.get(&location).await?.bytes().await });
        match remote_manifest {
            Ok(text) => {
                let local: std::collections::HashSet<&str> = lines
                    .iter()
                    .filter_map(|line| match line {
                        ManifestLine::Segment(entry) => Some(entry.segment.as_str()),
                        ManifestLine::Checkpoint(_) => None,
                    })
                    .collect();
                let foreign = parse_lines(&text)
                    .filter(|line| {
                        matches!(line, Ok(ManifestLine::Segment(entry)) if !local.contains(entry.segment.as_str()))
                    })
                    .count();
                if foreign > 0 {
                    return Err(RemoteError::Foreign {
                        remote: self.remote.url.clone(),
                        segments: foreign,
                    });
                }
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(self.remote.error("downloading", &location, error)),
        }
        let mut progress = Progress::load(&self.data_dir, self.remote.url())?;
        if progress.is_empty() {
            return Ok(progress);
        }
        let prefix = self.remote.location("events");
        let listed: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.remote.store.list(Some(&prefix)).try_collect())
            .map_err(|error| self.remote.error("listing", &prefix, error))?;
        let listing: HashMap<String, u64> = listed
            .iter()
            .filter_map(|meta| Some((self.remote.relative(&meta.location)?, meta.size)))
            .collect();
        let dropped = progress.keep_listed(&listing);
        for path in &dropped {
            warn!(path, remote = %self.remote, "a segment recorded as replicated is not on the remote; uploading it again");
        }
        Ok(progress)
    }

    /// Uploads a segment's index files, then its Parquet file; returns the bytes uploaded.
    fn upload_segment(&self, entry: &SegmentEntry) -> Result<u64, RemoteError> {
        let segment_path = self.data_dir.join(&entry.path);
        let index = index_path(&segment_path);
        let mut uploads = Vec::new();
        if index.is_dir() {
            let files = fs::read_dir(&index)
                .map_err(|error| StoreError::io("listing a search index", &index, error))?;
            for file in files {
                let file =
                    file.map_err(|error| StoreError::io("listing a search index", &index, error))?;
                if file.path().is_file() {
                    let relative = relative_path(&self.data_dir, &file.path());
                    uploads.push((file.path(), relative));
                }
            }
        }
        uploads.push((segment_path.clone(), entry.path.clone()));
        let mut bytes = 0;
        for (local, relative) in uploads {
            let data = fs::read(&local)
                .map_err(|error| StoreError::io("reading a file to replicate", &local, error))?;
            if local == segment_path && data.len() as u64 != entry.bytes {
                return Err(StoreError::Corrupt {
                    path: local,
                    reason: format!(
                        "{} bytes, its manifest entry says {}",
                        data.len(),
                        entry.bytes
                    ),
                }
                .into());
            }
            bytes += data.len() as u64;
            let location = self.remote.location(&relative);
            self.runtime
                .block_on(self.remote.store.put(&location, PutPayload::from(data)))
                .map_err(|error| self.remote.error("uploading", &location, error))?;
        }
        Ok(bytes)
    }

    fn put_manifest(&self, lines: &[ManifestLine]) -> Result<(), RemoteError> {
        let mut text = String::new();
        for line in lines {
            text.push_str(&serde_json::to_string(line).expect("manifest lines always serialize"));
            text.push('\n');
        }
        let location = self.remote.location(MANIFEST_FILE);
        self.runtime
            .block_on(self.remote.store.put(&location, PutPayload::from(text)))
            .map_err(|error| self.remote.error("writing the manifest", &location, error))?;
        Ok(())
    }

    /// Runs passes on a thread of its own: one every [`ReplicatorOptions::poll`] (a pass
    /// with nothing new to upload reads only the manifest's size), and after a failure the
    /// next one after a backoff that doubles up to [`ReplicatorOptions::max_retry`].
    pub fn spawn(self) -> Result<ReplicatorHandle, RemoteError> {
        let stats = self.stats();
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("weft-replicate".to_string())
            .spawn(move || self.run(&receiver))
            .map_err(|error| RemoteError::Thread(error.to_string()))?;
        Ok(ReplicatorHandle {
            sender,
            thread,
            stats,
        })
    }

    fn run(mut self, commands: &mpsc::Receiver<Command>) -> Result<SyncReport, RemoteError> {
        let mut failures: u32 = 0;
        loop {
            let wait = match self.sync() {
                Ok(_) => {
                    failures = 0;
                    self.options.poll
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(&self.options, failures);
                    warn!(%error, failures, retry_in = ?wait, "replication failed; segments stay durable locally and are uploaded once the remote answers");
                    wait
                }
            };
            match commands.recv_timeout(wait) {
                Ok(Command::Finish { patience }) => return self.finish(patience),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(SyncReport::default()),
            }
        }
    }

    /// Passes until caught up, or until `patience` passes without a segment uploaded; the
    /// last pass's outcome.
    fn finish(&mut self, patience: Duration) -> Result<SyncReport, RemoteError> {
        let mut deadline = Instant::now() + patience;
        let mut failures: u32 = 0;
        loop {
            self.caught_up_at = None;
            let uploaded = self.stats.segments_uploaded();
            let outcome = self.sync();
            if self.stats.segments_uploaded() > uploaded {
                deadline = Instant::now() + patience;
            }
            match &outcome {
                Ok(report) if report.pending == 0 || report.other_process => return outcome,
                Ok(_) => {}
                Err(error) => {
                    warn!(%error, "replication failed; retrying until the remote answers or the wait runs out");
                }
            }
            if Instant::now() >= deadline {
                return outcome;
            }
            failures = failures.saturating_add(1);
            let wait = backoff(&self.options, failures);
            std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
}

fn backoff(options: &ReplicatorOptions, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    options
        .first_retry
        .saturating_mul(factor)
        .min(options.max_retry)
}

enum Command {
    Finish { patience: Duration },
}

/// A replicator running on its own thread. Dropping the handle stops it after its current
/// pass; [`ReplicatorHandle::finish`] first lets it catch up.
#[derive(Debug)]
pub struct ReplicatorHandle {
    sender: mpsc::Sender<Command>,
    thread: std::thread::JoinHandle<Result<SyncReport, RemoteError>>,
    stats: Arc<ReplicationStats>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Command::Finish")
    }
}

impl ReplicatorHandle {
    pub fn stats(&self) -> Arc<ReplicationStats> {
        Arc::clone(&self.stats)
    }

    /// Replicates until every listed segment is on the remote, or until `patience` passes
    /// without a segment uploaded, then stops the thread. Returns the last pass's outcome: a
    /// report with `pending > 0`, or the error of the last failed pass, when the remote did
    /// not catch up (the rest is uploaded by the next replicator over this data directory).
    pub fn finish(self, patience: Duration) -> Result<SyncReport, RemoteError> {
        let _ = self.sender.send(Command::Finish { patience });
        self.thread
            .join()
            .map_err(|_| RemoteError::Thread("it panicked".to_string()))?
    }
}

/// The number of leading manifest lines whose segments are all uploaded, never ending inside
/// a Kafka checkpoint (whose segments count only all together).
pub(super) fn replicated_prefix(
    lines: &[ManifestLine],
    uploaded: impl Fn(&SegmentEntry) -> bool,
) -> usize {
    let mut end = lines
        .iter()
        .position(|line| matches!(line, ManifestLine::Segment(entry) if !uploaded(entry)))
        .unwrap_or(lines.len());
    let Some(ManifestLine::Segment(SegmentEntry {
        checkpoint: Some(last),
        ..
    })) = lines[..end].last()
    else {
        return end;
    };
    let in_checkpoint = |line: &ManifestLine| matches!(line, ManifestLine::Segment(SegmentEntry { checkpoint: Some(checkpoint), .. }) if checkpoint.id == last.id);
    let listed = lines[..end]
        .iter()
        .filter(|line| in_checkpoint(line))
        .count();
    if listed < last.segments as usize {
        end = lines[..end].iter().position(in_checkpoint).unwrap_or(end);
    }
    end
}

/// `path` relative to `data_dir`, `/`-separated.
fn relative_path(data_dir: &Path, path: &Path) -> String {
    path.strip_prefix(data_dir)
        .unwrap_or(path)
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
