use std::borrow::Cow;

use super::*;

fn meta(raw: &str) -> RecordMeta<'_> {
    RecordMeta {
        ingest_time: 0,
        event_id: "id",
        service: "svc",
        raw,
        not_utf8: false,
    }
}

fn event_at(time: i64) -> Event<'static> {
    let mut event = Event::new("text");
    event.time = Some(time);
    event.message = Some(Cow::Borrowed("hello"));
    event
}

#[test]
fn segments_split_by_event_hour_and_record_source_ranges() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(0), &meta("a"), "file:/x", 0)
        .expect("append");
    store
        .append(&event_at(10), &meta("b"), "file:/x", 2)
        .expect("append");
    store
        .append(&event_at(HOUR_MICROS + 5), &meta("c"), "file:/x", 4)
        .expect("append");
    let written = store.flush().expect("flush");
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].rows, 2);
    assert_eq!(
        written[0].path.rsplit_once('/').expect("a file").0,
        "events/date=1970-01-01/hour=00"
    );
    assert_eq!(
        written[1].path.rsplit_once('/').expect("a file").0,
        "events/date=1970-01-01/hour=01"
    );
    assert_eq!(written[0].sources[0].first_offset, 0);
    assert_eq!(written[0].sources[0].last_offset, 2);
    assert_eq!(store.segments().expect("manifest").len(), 2);
    assert!(dir.path().join(&written[0].path).is_file());
}

#[test]
fn full_buffers_become_segments_without_flush() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = FlushPolicy {
        max_rows: 2,
        ..FlushPolicy::default()
    };
    let mut store = EventStore::open(dir.path(), policy).expect("open");
    assert!(
        store
            .append(&event_at(1), &meta("a"), "o", 0)
            .expect("append")
            .is_empty()
    );
    let written = store
        .append(&event_at(2), &meta("b"), "o", 1)
        .expect("append");
    assert_eq!(written.len(), 1);
    assert_eq!(store.buffered_rows(), 0);
}

#[test]
fn recovery_removes_temp_files_adopts_orphans_and_quarantines_junk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(1), &meta("a"), "o", 0)
        .expect("append");
    let written = store.flush().expect("flush");
    let segment_path = dir.path().join(&written[0].path);
    let partition = segment_path.parent().expect("partition").to_path_buf();
    // A crash after the rename but before the manifest line: lose the manifest.
    fs::remove_file(dir.path().join(manifest::MANIFEST_FILE)).expect("remove manifest");
    fs::write(partition.join(".tmp-half.parquet"), b"PAR1 half").expect("temp file");
    fs::write(partition.join("junk.parquet"), b"not parquet").expect("junk");

    let store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    let recovery = store.recovery();
    assert_eq!(recovery.removed_temp.len(), 1);
    assert_eq!(recovery.adopted, [segment_path]);
    assert_eq!(recovery.quarantined.len(), 1);
    assert!(dir.path().join("quarantine/junk.parquet").is_file());
    let segments = store.segments().expect("manifest");
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].rows, 1);
    assert_eq!(segments[0].sources, written[0].sources);
}

#[test]
fn every_segment_is_published_with_its_search_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(1), &meta("a"), "o", 0)
        .expect("append");
    let written = store.flush().expect("flush");
    let segment_path = dir.path().join(&written[0].path);
    let index = crate::index::index_path(&segment_path);
    assert!(index.is_dir(), "{} is there", index.display());
    assert!(
        index.file_name().is_some_and(|name| {
            let name = name.to_string_lossy();
            name.starts_with('_') && name.ends_with(".parquet.idx")
        }),
        "Hive-style readers skip the index: {}",
        index.display()
    );
    assert_eq!(crate::index::segment_of_index(&index), segment_path);
    let found = crate::index::SegmentIndex::open(&index)
        .expect("opens")
        .search(&crate::index::SearchRequest {
            query: "hello".to_string(),
            limit: 10,
            ..Default::default()
        })
        .expect("searches");
    assert_eq!(found.total, 1);
}

#[test]
fn recovery_removes_unfinished_and_orphan_indexes_and_rebuilds_missing_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(1), &meta("a"), "o", 0)
        .expect("append");
    store
        .append(&event_at(HOUR_MICROS + 1), &meta("b"), "o", 1)
        .expect("append");
    let written = store.flush().expect("flush");
    let first = dir.path().join(&written[0].path);
    let second = dir.path().join(&written[1].path);
    let partition = first.parent().expect("partition").to_path_buf();
    // A crash while an index was being built, one after an index was published but before
    // its segment, an index deleted by hand, and one damaged.
    fs::create_dir_all(partition.join(".tmp-next.parquet.idx")).expect("temp index");
    fs::write(partition.join(".tmp-next.parquet.idx/meta.json"), b"{").expect("temp file");
    fs::create_dir_all(partition.join("_never.parquet.idx")).expect("orphan index");
    fs::remove_dir_all(crate::index::index_path(&first)).expect("remove an index");
    fs::write(crate::index::index_path(&second).join("meta.json"), b"{}").expect("damage");

    let store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    let recovery = store.recovery();
    assert_eq!(
        recovery.removed_temp,
        [partition.join(".tmp-next.parquet.idx")]
    );
    assert_eq!(
        recovery.orphan_indexes,
        [partition.join("_never.parquet.idx")]
    );
    let mut rebuilt = recovery.rebuilt_indexes.clone();
    rebuilt.sort();
    assert_eq!(rebuilt, [first.clone(), second.clone()]);
    assert!(recovery.index_failures.is_empty());
    assert!(!partition.join(".tmp-next.parquet.idx").exists());
    assert!(!partition.join("_never.parquet.idx").exists());
    for segment in [&first, &second] {
        assert_eq!(
            segment_index::check_index(segment, 1),
            segment_index::IndexState::Whole
        );
    }
    let again = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    assert_eq!(
        again.recovery(),
        &Recovery::default(),
        "nothing left to repair"
    );
}

fn range(partition: i32, first_offset: i64, last_offset: i64) -> PartitionRange {
    PartitionRange {
        topic: "logs".to_string(),
        partition,
        first_offset,
        last_offset,
    }
}

fn next_of(store: &mut EventStore, partition: i32) -> Option<i64> {
    store
        .resume_offsets()
        .expect("resume offsets")
        .get(&("logs".to_string(), partition))
        .copied()
}

#[test]
fn a_checkpoint_writes_every_hour_and_records_its_offsets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    assert_eq!(next_of(&mut store, 0), None);
    store
        .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
        .expect("append");
    store
        .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 2)
        .expect("append");
    let written = store
        .checkpoint(vec![range(0, 0, 3), range(1, 7, 7)])
        .expect("checkpoint");
    assert_eq!(written.len(), 2);
    assert!(
        written
            .iter()
            .all(|entry| entry.checkpoint.as_ref().is_some_and(|c| c.segments == 2))
    );
    assert_eq!(store.buffered_rows(), 0);
    assert_eq!(next_of(&mut store, 0), Some(4));
    assert_eq!(next_of(&mut store, 1), Some(8));
    // Nothing buffered (all dead-lettered): the offsets are still recorded.
    store.checkpoint(vec![range(0, 4, 9)]).expect("checkpoint");
    assert_eq!(next_of(&mut store, 0), Some(10));
    let reopened = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    assert_eq!(reopened.segments().expect("manifest").len(), 2);
}

#[test]
fn a_checkpoint_starting_elsewhere_than_the_manifest_is_fenced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store.checkpoint(vec![range(0, 0, 9)]).expect("checkpoint");
    store
        .append(&event_at(1), &meta("a"), "kafka:logs/0", 5)
        .expect("append");
    let error = store.checkpoint(vec![range(0, 5, 5)]).expect_err("fenced");
    assert!(
        matches!(
            error,
            StoreError::Fenced {
                recorded: 10,
                first_offset: 5,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        store.segments().expect("manifest").len(),
        0,
        "nothing written"
    );
    store.discard();
    assert_eq!(store.buffered_rows(), 0);
}

#[test]
fn recovery_adopts_complete_checkpoints_and_removes_partial_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
        .expect("append");
    store
        .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 1)
        .expect("append");
    let complete = store.checkpoint(vec![range(0, 0, 1)]).expect("checkpoint");
    store
        .append(&event_at(1), &meta("c"), "kafka:logs/0", 2)
        .expect("append");
    store
        .append(
            &event_at(2 * HOUR_MICROS + 1),
            &meta("d"),
            "kafka:logs/0",
            3,
        )
        .expect("append");
    let partial = store.checkpoint(vec![range(0, 2, 3)]).expect("checkpoint");
    // A crash before any manifest line of both checkpoints, and, for the second, after only
    // one of its two segments was renamed into place.
    fs::remove_file(dir.path().join(manifest::MANIFEST_FILE)).expect("remove manifest");
    fs::remove_file(dir.path().join(&partial[1].path)).expect("remove a segment");

    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    assert_eq!(store.recovery().adopted.len(), 2);
    assert_eq!(
        store.recovery().abandoned,
        [dir.path().join(&partial[0].path)]
    );
    assert!(!dir.path().join(&partial[0].path).exists());
    let mut adopted: Vec<String> = store
        .segments()
        .expect("manifest")
        .into_iter()
        .map(|entry| entry.path)
        .collect();
    adopted.sort();
    let mut expected: Vec<String> = complete.into_iter().map(|entry| entry.path).collect();
    expected.sort();
    assert_eq!(adopted, expected);
    assert_eq!(
        next_of(&mut store, 0),
        Some(2),
        "the partial checkpoint is read again"
    );
}

#[test]
fn a_torn_manifest_append_is_completed_from_the_segment_footers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("open");
    store
        .append(&event_at(1), &meta("a"), "kafka:logs/0", 0)
        .expect("append");
    store
        .append(&event_at(HOUR_MICROS + 1), &meta("b"), "kafka:logs/0", 1)
        .expect("append");
    store.checkpoint(vec![range(0, 0, 1)]).expect("checkpoint");
    let manifest_path = dir.path().join(manifest::MANIFEST_FILE);
    let text = fs::read_to_string(&manifest_path).expect("manifest");
    let first_line = text.lines().next().expect("a line");
    fs::write(&manifest_path, format!("{first_line}\n{{\"segm")).expect("tear");
    let mut store = EventStore::open(dir.path(), FlushPolicy::default()).expect("reopen");
    assert_eq!(store.recovery().adopted.len(), 1);
    assert_eq!(store.segments().expect("manifest").len(), 2);
    assert_eq!(next_of(&mut store, 0), Some(2));
}
