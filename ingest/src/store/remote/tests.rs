use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::replicate::replicated_prefix;
use super::*;
use crate::batch::RecordMeta;
use crate::event::Event;
use crate::store::manifest::{Checkpoint, ManifestLine, PartitionRange, SegmentEntry};
use crate::store::segment_index::read_segment;
use crate::store::{EventStore, FlushPolicy};

const HOUR: i64 = 3_600_000_000;

fn meta(raw: &str) -> RecordMeta<'_> {
    RecordMeta {
        ingest_time: 0,
        event_id: "id",
        service: "svc",
        raw,
        not_utf8: false,
    }
}

fn event_at(time: i64, message: String) -> Event<'static> {
    let mut event = Event::new("text");
    event.time = Some(time);
    event.message = Some(Cow::Owned(message));
    event
}

/// Writes `hours` segments of three events each, one flush per hour, plus one Kafka
/// checkpoint of two segments; returns the store's segments.
fn fill(data_dir: &std::path::Path, hours: i64) -> Vec<SegmentEntry> {
    let mut store = EventStore::open(data_dir, FlushPolicy::default()).expect("open");
    for hour in 0..hours {
        for row in 0..3 {
            let message = format!("hour {hour} row {row}");
            store
                .append(
                    &event_at(hour * HOUR + row, message),
                    &meta("raw"),
                    "file:/x",
                    row as u64,
                )
                .expect("append");
        }
        store.flush().expect("flush");
    }
    for hour in [hours, hours + 1] {
        store
            .append(
                &event_at(hour * HOUR, format!("kafka {hour}")),
                &meta("k"),
                "kafka:logs/0",
                0,
            )
            .expect("append");
    }
    store
        .checkpoint(vec![PartitionRange {
            topic: "logs".to_string(),
            partition: 0,
            first_offset: 0,
            last_offset: 9,
        }])
        .expect("checkpoint");
    store.segments().expect("segments")
}

fn fast() -> ReplicatorOptions {
    ReplicatorOptions {
        poll: Duration::from_millis(10),
        first_retry: Duration::from_millis(5),
        max_retry: Duration::from_millis(20),
    }
}

/// Every segment of `restored` holds exactly the rows of the same segment of `original`, and
/// both list the same segments.
fn assert_same_events(original: &std::path::Path, restored: &std::path::Path) {
    let before = EventStore::open(original, FlushPolicy::default())
        .expect("open")
        .segments()
        .expect("segments");
    let after = EventStore::open(restored, FlushPolicy::default())
        .expect("open")
        .segments()
        .expect("segments");
    assert_eq!(before, after, "the same manifest entries");
    for entry in &before {
        let expected = read_segment(&original.join(&entry.path)).expect("read original");
        let actual = read_segment(&restored.join(&entry.path)).expect("read restored");
        assert_eq!(expected, actual, "segment {}", entry.segment);
        assert_eq!(
            crate::store::segment_index::check_index(&restored.join(&entry.path), entry.rows),
            crate::store::segment_index::IndexState::Whole
        );
    }
}

#[test]
fn a_local_directory_remote_round_trips_the_store() {
    let data = tempfile::tempdir().expect("tempdir");
    let remote_dir = tempfile::tempdir().expect("tempdir");
    let restored = tempfile::tempdir().expect("tempdir");
    let segments = fill(data.path(), 3);
    assert_eq!(segments.len(), 5);

    let url = format!("file://{}", remote_dir.path().join("weft").display());
    let remote = Remote::parse(&url).expect("a file remote");
    let mut replicator = Replicator::new(data.path(), remote.clone(), fast()).expect("replicator");
    let report = replicator.sync().expect("sync");
    assert_eq!(report.segments, 5);
    assert_eq!(report.pending, 0);
    assert!(report.manifest_written);
    assert!(remote_dir.path().join("weft/manifest.jsonl").is_file());
    assert_eq!(
        replicator.sync().expect("nothing new"),
        SyncReport::default()
    );
    let metrics = replicator.stats().render();
    assert!(
        metrics.contains("weft_replication_segments_total 5\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("weft_replication_pending_segments 0\n"),
        "{metrics}"
    );

    let target = restored.path().join("data");
    let restore_report = restore(&remote, &target).expect("restore");
    assert_eq!(restore_report.segments, 5);
    assert_eq!(restore_report.rows, 3 * 3 + 2);
    assert!(
        restore_report.recovery.rebuilt_indexes.is_empty(),
        "indexes arrive whole"
    );
    assert_same_events(data.path(), &target);
    let resumes = |dir: &std::path::Path| {
        EventStore::open(dir, FlushPolicy::default())
            .expect("open")
            .resume_offsets()
            .expect("offsets")
    };
    assert_eq!(
        resumes(data.path()),
        resumes(&target),
        "Kafka resumes alike"
    );

    // The restored directory, replicating to the same remote, has nothing to upload.
    let mut again = Replicator::new(&target, remote, fast()).expect("replicator");
    assert_eq!(again.sync().expect("sync").segments, 0);
}

#[test]
fn a_remote_holding_another_store_is_refused_not_overwritten() {
    let first = tempfile::tempdir().expect("tempdir");
    let second = tempfile::tempdir().expect("tempdir");
    fill(first.path(), 1);
    fill(second.path(), 1);
    let store = Arc::new(InMemory::new());
    let remote = Remote::new("memory://shared", store, "weft");
    Replicator::new(first.path(), remote.clone(), fast())
        .expect("replicator")
        .sync()
        .expect("sync");
    let before = remote_segments(&remote);
    let mut other = Replicator::new(second.path(), remote.clone(), fast()).expect("replicator");
    let refused = other.sync();
    assert!(
        matches!(refused, Err(RemoteError::Foreign { segments: 3, .. })),
        "{refused:?}"
    );
    assert_eq!(
        remote_segments(&remote),
        before,
        "the first store's manifest stays"
    );
}

#[test]
fn restore_refuses_a_directory_that_is_not_empty_or_a_remote_without_manifest() {
    let remote = Remote::new("memory://empty", Arc::new(InMemory::new()), "p");
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        restore(&remote, &dir.path().join("new")),
        Err(RemoteError::NoManifest { .. })
    ));
    std::fs::write(dir.path().join("file"), b"x").expect("write");
    assert!(matches!(
        restore(&remote, dir.path()),
        Err(RemoteError::NotEmpty { .. })
    ));
}

#[test]
fn remote_urls_are_checked() {
    for bad in [
        "file:relative/dir",
        "ftp://host/x",
        "not a url",
        "s3:///no-bucket",
    ] {
        assert!(
            matches!(Remote::parse(bad), Err(RemoteError::InvalidUrl { .. })),
            "{bad}"
        );
    }
    let unmade = tempfile::tempdir().expect("tempdir");
    let path = unmade.path().join("not-yet");
    let config = StoreConfig {
        remote: Some(format!("file://{}", path.display())),
    };
    config.validate().expect("valid");
    assert!(
        !path.exists(),
        "checking a URL does not create its directory"
    );
    config.remote().expect("builds").expect("configured");
    assert!(path.is_dir(), "building a file remote does");
    let config: StoreConfig = toml::from_str("").expect("empty section");
    assert!(config.remote().expect("valid").is_none());
    assert!(toml::from_str::<StoreConfig>("remot = \"s3://b\"").is_err());
}

/// An in-memory object store that refuses writes as told: the first `refuse_first` ones, and
/// every one once `budget` writes went through. Counts the Parquet files written;
/// [`FaultyStore::sharing`] is a second view of the same objects and count with a budget of
/// its own.
#[derive(Debug)]
struct FaultyStore {
    inner: Arc<InMemory>,
    refuse_first: AtomicUsize,
    budget: AtomicUsize,
    parquet_puts: Arc<AtomicUsize>,
}

impl FaultyStore {
    fn refusing_first(failures: usize) -> FaultyStore {
        FaultyStore {
            inner: Arc::new(InMemory::new()),
            refuse_first: AtomicUsize::new(failures),
            budget: AtomicUsize::new(usize::MAX),
            parquet_puts: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn sharing(&self, budget: usize) -> FaultyStore {
        FaultyStore {
            inner: self.inner.clone(),
            refuse_first: AtomicUsize::new(0),
            budget: AtomicUsize::new(budget),
            parquet_puts: self.parquet_puts.clone(),
        }
    }
}

/// Takes one from `counter`; false when it was already zero.
fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

impl std::fmt::Display for FaultyStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("FaultyStore")
    }
}

#[async_trait::async_trait]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let refusal = if take_one(&self.refuse_first) {
            Some("connection refused")
        } else if !take_one(&self.budget) {
            Some("connection reset")
        } else {
            None
        };
        if let Some(reason) = refusal {
            return Err(object_store::Error::Generic {
                store: "FaultyStore",
                source: reason.into(),
            });
        }
        if location.as_ref().ends_with(".parquet") {
            self.parquet_puts.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// The segments the remote manifest lists.
fn remote_segments(remote: &Remote) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let location = remote.location("manifest.jsonl");
    let text = match runtime.block_on(async { remote.store.get(&location).await?.bytes().await }) {
        Ok(text) => text,
        Err(object_store::Error::NotFound { .. }) => return Vec::new(),
        Err(error) => panic!("reading the remote manifest: {error}"),
    };
    crate::store::manifest::parse_lines(&text)
        .filter_map(|line| match line.expect("remote manifest lines parse") {
            ManifestLine::Segment(entry) => Some(entry.segment),
            ManifestLine::Checkpoint(_) => None,
        })
        .collect()
}

#[test]
fn a_failing_remote_is_retried_in_the_background_and_loses_nothing() {
    let data = tempfile::tempdir().expect("tempdir");
    let restored = tempfile::tempdir().expect("tempdir");
    let flaky = Arc::new(FaultyStore::refusing_first(7));
    let remote = Remote::new("memory://flaky", flaky.clone(), "weft");
    let handle = Replicator::new(data.path(), remote.clone(), fast())
        .expect("replicator")
        .spawn()
        .expect("spawn");
    let segments = fill(data.path(), 4);
    let report = handle.finish(Duration::from_secs(30)).expect("caught up");
    assert_eq!(report.pending, 0);
    assert_eq!(
        flaky.refuse_first.load(Ordering::SeqCst),
        0,
        "every failure was met"
    );
    assert_eq!(
        flaky.parquet_puts.load(Ordering::SeqCst),
        segments.len(),
        "each segment once"
    );
    let listed = remote_segments(&remote);
    assert_eq!(listed.len(), segments.len());
    let target = restored.path().join("data");
    restore(&remote, &target).expect("restore");
    assert_same_events(data.path(), &target);
}

#[test]
fn the_remote_manifest_lists_only_uploaded_segments_and_a_restart_resumes() {
    let data = tempfile::tempdir().expect("tempdir");
    let segments = fill(data.path(), 3);
    let index_files = std::fs::read_dir(crate::index::index_path(
        &data.path().join(&segments[0].path),
    ))
    .expect("index dir")
    .count();
    let flaky = Arc::new(FaultyStore::refusing_first(0));
    let remote = Remote::new("memory://flaky", flaky.clone(), "weft");

    // The remote takes the files of two segments, then refuses every write.
    let limited = Arc::new(flaky.sharing(2 * (index_files + 1)));
    let mut interrupted = Replicator::new(
        data.path(),
        Remote::new("memory://flaky", limited, "weft"),
        fast(),
    )
    .expect("replicator");
    assert!(interrupted.sync().is_err(), "the remote stopped answering");
    assert_eq!(interrupted.stats().failures(), 1);
    assert_eq!(flaky.parquet_puts.load(Ordering::SeqCst), 2);
    assert!(
        remote_segments(&remote).len() <= 2,
        "the remote manifest lists only segments whose files are there"
    );
    drop(interrupted);

    // A restart uploads the rest, and only the rest.
    let mut resumed = Replicator::new(data.path(), remote.clone(), fast()).expect("replicator");
    let report = resumed.sync().expect("sync");
    assert_eq!(
        report.segments,
        segments.len() - 2,
        "the first two are not uploaded again"
    );
    assert_eq!(flaky.parquet_puts.load(Ordering::SeqCst), segments.len());
    assert_eq!(remote_segments(&remote).len(), segments.len());
    drop(resumed);

    // A remote that lost a segment recorded as replicated gets it again on the next start.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let lost = remote.location(&segments[1].path);
    runtime.block_on(flaky.inner.delete(&lost)).expect("delete");
    let mut restarted = Replicator::new(data.path(), remote, fast()).expect("replicator");
    assert_eq!(restarted.sync().expect("sync").segments, 1);
}

fn segment_line(segment: &str, checkpoint: Option<(&str, u32)>) -> ManifestLine {
    ManifestLine::Segment(SegmentEntry {
        segment: segment.to_string(),
        path: format!("events/{segment}.parquet"),
        rows: 1,
        bytes: 1,
        min_time: 0,
        max_time: 0,
        created: 0,
        schema_version: "1".to_string(),
        sources: Vec::new(),
        checkpoint: checkpoint.map(|(id, segments)| Checkpoint {
            id: id.to_string(),
            segments,
            offsets: Vec::new(),
        }),
    })
}

#[test]
fn the_replicated_prefix_stops_at_the_first_missing_segment_and_never_splits_a_checkpoint() {
    let lines = vec![
        segment_line("a", None),
        segment_line("b", Some(("c1", 2))),
        segment_line("c", Some(("c1", 2))),
        segment_line("d", None),
    ];
    let uploaded = |names: &'static [&'static str]| {
        move |entry: &SegmentEntry| names.contains(&entry.segment.as_str())
    };
    assert_eq!(
        replicated_prefix(&lines, uploaded(&["a", "b", "c", "d"])),
        4
    );
    assert_eq!(replicated_prefix(&lines, uploaded(&["a", "b", "c"])), 3);
    assert_eq!(
        replicated_prefix(&lines, uploaded(&["a", "b"])),
        1,
        "half of c1"
    );
    assert_eq!(replicated_prefix(&lines, uploaded(&["a", "c", "d"])), 1);
    assert_eq!(replicated_prefix(&lines, uploaded(&["b", "c", "d"])), 0);
}

/// Against an S3-compatible server (moto, started by `scripts/test-s3`): set
/// `WEFT_TEST_S3_URL=s3://bucket/prefix` and the `AWS_*` variables of the server.
#[cfg(feature = "s3")]
#[test]
fn an_s3_remote_round_trips_the_store() {
    let Ok(url) = std::env::var("WEFT_TEST_S3_URL") else {
        eprintln!(
            "skipped: WEFT_TEST_S3_URL is not set (scripts/test-s3 starts an S3 server and sets it)"
        );
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let restored = tempfile::tempdir().expect("tempdir");
    let segments = fill(data.path(), 2);
    let remote = Remote::parse(&url).expect("an S3 remote");
    let mut replicator = Replicator::new(data.path(), remote.clone(), fast()).expect("replicator");
    let report = replicator.sync().expect("sync to S3");
    assert_eq!(report.segments, segments.len());
    let target = restored.path().join("data");
    restore(&remote, &target).expect("restore from S3");
    assert_same_events(data.path(), &target);
}
