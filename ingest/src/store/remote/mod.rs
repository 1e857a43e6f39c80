//! Replicating the event store to object storage, and restoring a data directory from it.
//!
//! The local data directory stays the store: ingest writes and fsyncs segments there, and
//! readers (SQL, search) read them there. A *remote* (`[store] remote` in `weft.toml`) is a
//! copy of it in object storage, through the `object_store` crate: `s3://bucket/prefix` (S3 or
//! an S3-compatible server, with the `s3` feature) or `file:///absolute/path` (a local or
//! mounted directory).
//!
//! Layout of a remote, relative to its prefix — the data directory's own:
//!
//! ```text
//! manifest.jsonl                                     the replicated segments, written last
//! events/date=YYYY-MM-DD/hour=HH/<id>.parquet        a segment
//! events/date=YYYY-MM-DD/hour=HH/_<id>.parquet.idx/* its search index, uploaded before it
//! ```
//!
//! [`Replicator`] uploads, off the ingest path, every segment the local manifest lists and the
//! remote lacks, then rewrites the remote `manifest.jsonl` as the longest prefix of the local
//! manifest whose segments are all uploaded (never half a Kafka checkpoint). So the remote
//! manifest only ever lists complete segments, and a restored directory resumes Kafka
//! partitions where its segments end. What is uploaded is recorded in
//! `<data-dir>/replicated.jsonl` ([`progress`]) and checked against a listing of the remote
//! when replication starts, so a restart neither uploads a segment again nor skips one.
//!
//! [`restore`] builds a fresh data directory from a remote: it downloads the manifest, each
//! segment and its index, checks every segment against its manifest entry, and opens the
//! store, whose recovery rebuilds any index that does not check out.
//!
//! The store neither compacts nor deletes segments, so replication never deletes remote
//! objects.

mod progress;
mod replicate;
mod restore;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use serde::Deserialize;

use super::StoreError;
pub use replicate::{
    ReplicationStats, Replicator, ReplicatorHandle, ReplicatorOptions, SyncReport,
};
pub use restore::{RestoreReport, restore};

/// Why replicating to, or restoring from, a remote failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("invalid store remote `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("{action} `{location}` on {remote}: {error}")]
    Object {
        action: &'static str,
        location: String,
        remote: String,
        error: Box<object_store::Error>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path} is not empty: restore builds a fresh data directory; name a new or empty one")]
    NotEmpty { path: PathBuf },
    #[error(
        "{remote} holds no manifest.jsonl: nothing was replicated there (check the URL and prefix)"
    )]
    NoManifest { remote: String },
    #[error("{remote}: damaged `{location}`: {reason}")]
    Corrupt {
        remote: String,
        location: String,
        reason: String,
    },
    #[error(
        "{remote} holds another store: its manifest lists {segments} segment(s) this data directory does not; replicate to another prefix, or restore from it (`weft store restore`)"
    )]
    Foreign { remote: String, segments: usize },
    #[error("the replication thread stopped: {0}")]
    Thread(String),
}

/// The `[store]` section of `weft.toml`.
///
/// ```toml
/// [store]
/// remote = "s3://security-logs/weft/prod"   # or "file:///mnt/backup/weft"
/// ```
///
/// S3 credentials, region and endpoint come from the standard `AWS_*` environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL` for an S3-compatible server, `AWS_ALLOW_HTTP=true` for an endpoint
/// without TLS), never from this file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Object storage the store's segments and manifest are replicated to; none by default.
    pub remote: Option<String>,
}

impl StoreConfig {
    /// Checks the `remote` URL, without touching the remote (S3 settings from the
    /// environment are checked when replication starts).
    pub fn validate(&self) -> Result<(), RemoteError> {
        match &self.remote {
            Some(url) => RemoteUrl::check(url).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The configured remote, if any.
    pub fn remote(&self) -> Result<Option<Remote>, RemoteError> {
        self.remote.as_deref().map(Remote::parse).transpose()
    }
}

/// An object store and the prefix under which one data directory is replicated.
#[derive(Clone)]
pub struct Remote {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl fmt::Debug for Remote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Remote")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.url)
    }
}

impl Remote {
    /// Parses `s3://bucket/prefix` or `file:///absolute/path` and builds the object store
    /// (creating the directory of a `file://` remote if missing).
    pub fn parse(url: &str) -> Result<Remote, RemoteError> {
        match RemoteUrl::check(url)? {
            RemoteUrl::File(path) => {
                let invalid = |reason: String| RemoteError::InvalidUrl {
                    url: url.to_string(),
                    reason,
                };
                std::fs::create_dir_all(&path).map_err(|error| {
                    invalid(format!("cannot create {}: {error}", path.display()))
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&path)
                    .map_err(|error| invalid(error.to_string()))?;
                Ok(Remote::new(url, Arc::new(store), ""))
            }
            RemoteUrl::S3 { bucket, prefix } => build_s3(url, &bucket, &prefix),
        }
    }

    /// A remote over any object store (for tests, or a store built elsewhere); `url` names it
    /// in logs and in the replication record.
    pub fn new(url: &str, store: Arc<dyn ObjectStore>, prefix: &str) -> Remote {
        Remote {
            url: url.to_string(),
            store,
            prefix: ObjectPath::from(prefix),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object that holds `relative` (a `/`-separated path inside the data directory).
    fn location(&self, relative: &str) -> ObjectPath {
        let mut location = self.prefix.clone();
        for part in relative.split('/').filter(|part| !part.is_empty()) {
            location = location.join(part);
        }
        location
    }

    /// `location` relative to the prefix, as a data-directory path.
    fn relative(&self, location: &ObjectPath) -> Option<String> {
        let parts: Vec<String> = location
            .prefix_match(&self.prefix)?
            .map(|part| part.as_ref().to_string())
            .collect();
        Some(parts.join("/"))
    }

    fn error(
        &self,
        action: &'static str,
        location: &ObjectPath,
        error: object_store::Error,
    ) -> RemoteError {
        RemoteError::Object {
            action,
            location: location.to_string(),
            remote: self.url.clone(),
            error: Box::new(error),
        }
    }
}

/// A remote URL, checked without touching the remote.
enum RemoteUrl {
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl RemoteUrl {
    fn check(url: &str) -> Result<RemoteUrl, RemoteError> {
        let invalid = |reason: String| RemoteError::InvalidUrl {
            url: url.to_string(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|error| invalid(error.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let absolute = || {
                    invalid("a file URL names an absolute path: file:///path/to/dir".to_string())
                };
                if !url.starts_with("file:///") {
                    return Err(absolute());
                }
                Ok(RemoteUrl::File(
                    parsed.to_file_path().map_err(|()| absolute())?,
                ))
            }
            "s3" => {
                if !cfg!(feature = "s3") {
                    return Err(invalid(
                        "this weft was built without S3 support (the `s3` feature of weft-ingest)"
                            .to_string(),
                    ));
                }
                let bucket = parsed
                    .host_str()
                    .filter(|bucket| !bucket.is_empty())
                    .ok_or_else(|| invalid("no bucket: s3://bucket/prefix".to_string()))?;
                Ok(RemoteUrl::S3 {
                    bucket: bucket.to_string(),
                    prefix: parsed.path().to_string(),
                })
            }
            other => Err(invalid(format!(
                "unsupported scheme `{other}`; use s3://bucket/prefix or file:///path"
            ))),
        }
    }
}

#[cfg(feature = "s3")]
fn build_s3(url: &str, bucket: &str, prefix: &str) -> Result<Remote, RemoteError> {
    // weft retries a failed pass itself, with its own backoff; the client retries a request
    // only briefly, so that a pass against an unreachable endpoint fails within seconds.
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(30),
        ..object_store::RetryConfig::default()
    };
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry)
        .build()
        .map_err(|error| RemoteError::InvalidUrl {
            url: url.to_string(),
            reason: format!("{error} (S3 settings come from the AWS_* environment variables)"),
        })?;
    Ok(Remote::new(url, Arc::new(store), prefix))
}

#[cfg(not(feature = "s3"))]
fn build_s3(url: &str, _bucket: &str, _prefix: &str) -> Result<Remote, RemoteError> {
    Err(RemoteError::InvalidUrl {
        url: url.to_string(),
        reason: "this weft was built without S3 support (the `s3` feature of weft-ingest)"
            .to_string(),
    })
}

/// Whether a data directory can be restored into: missing, or an empty directory.
fn is_missing_or_empty(path: &Path) -> Result<bool, StoreError> {
    match std::fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(StoreError::io("listing", path, error)),
    }
}

#[cfg(test)]
mod tests;
