//! The worker against librdkafka's in-process mock cluster: fast checks of the consume,
//! checkpoint and resume logic. End-to-end tests against a real broker live in `tests/`.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::config::KafkaConfig;
use super::*;
use crate::config::IngestConfig;
use crate::store::FlushPolicy;
use crate::store::manifest::Manifest;

fn produce(brokers: &str, topic: &str, records: &[String]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    for (index, record) in records.iter().enumerate() {
        let key = format!("k{index}");
        producer
            .send(BaseRecord::to(topic).payload(record.as_str()).key(&key))
            .expect("queued");
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(10)).expect("flushed");
}

fn settings_config(brokers: &str, group: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: Some(brokers.to_string()),
        topics: vec!["logs".to_string()],
        group: Some(group.to_string()),
        flush_interval_ms: 200,
        session_timeout_ms: 6_000,
        ..KafkaConfig::default()
    }
}

fn settings(brokers: &str, group: &str) -> KafkaSettings {
    settings_config(brokers, group)
        .build([])
        .expect("valid settings")
}

fn run_worker(data_dir: &Path, brokers: &str, group: &str) -> KafkaSummary {
    let stop = AtomicBool::new(false);
    run(KafkaRun {
        data_dir,
        settings: settings(brokers, group),
        ingest: IngestOptions {
            format: None,
            service: None,
            config: IngestConfig::default(),
            flush: FlushPolicy::default(),
        },
        until_idle: Some(Duration::from_millis(1500)),
        stop: &stop,
        lag: Default::default(),
    })
    .expect("worker runs")
}

/// A worker running on its own thread until `stop` is set.
fn spawn_worker(
    data_dir: &Path,
    settings: KafkaSettings,
    stop: &std::sync::Arc<AtomicBool>,
    lag: crate::source::lag::ConsumerLag,
) -> std::thread::JoinHandle<Result<KafkaSummary, KafkaSourceError>> {
    let (data_dir, stop) = (data_dir.to_path_buf(), stop.clone());
    std::thread::spawn(move || {
        run(KafkaRun {
            data_dir: &data_dir,
            settings,
            ingest: IngestOptions {
                format: None,
                service: None,
                config: IngestConfig::default(),
                flush: FlushPolicy::default(),
            },
            until_idle: None,
            stop: &stop,
            lag,
        })
    })
}

/// (partition, offset, reason) of every dead letter in `topic`.
fn dead_letters(brokers: &str, topic: &str, expected: usize) -> Vec<(String, String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dlq-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut letters = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while letters.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            let header = |name: &str| {
                message
                    .headers()
                    .and_then(|headers| headers.iter().find(|header| header.key == name))
                    .and_then(|header| header.value)
                    .map(|value| String::from_utf8_lossy(value).into_owned())
                    .unwrap_or_default()
            };
            letters.push((
                header("weft.partition"),
                header("weft.offset"),
                header("weft.reason"),
            ));
        }
    }
    letters
}

#[test]
fn a_worker_stores_good_records_once_dead_letters_bad_ones_and_resumes_from_the_manifest() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("logs", 2, 1).expect("topic");
    cluster
        .create_topic("logs.dlq", 1, 1)
        .expect("dead-letter topic");
    let brokers = cluster.bootstrap_servers();
    let mut records: Vec<String> = (0..200)
        .map(|index| {
            format!(
                r#"{{"ts":"2026-11-23T10:00:{:02}Z","msg":"login {index}","user":"u{index}"}}"#,
                index % 60
            )
        })
        .collect();
    records.push(r#"{"broken": "#.to_string());
    records.push(String::new());
    produce(&brokers, "logs", &records);

    let dir = tempfile::tempdir().expect("temp dir");
    let summary = run_worker(dir.path(), &brokers, "weft-a");
    assert_eq!(summary.ingest.stored, 200, "{summary:?}");
    assert_eq!(summary.ingest.dead_lettered, 2);
    assert!(summary.ingest.is_balanced());
    assert_eq!(summary.kafka.topics["logs"].consumed, 202);
    assert_eq!(summary.kafka.topics["logs"].stored, 200);

    let loaded = Manifest::new(dir.path()).load().expect("manifest");
    let next = loaded.next_offsets();
    let total: i64 = next.values().sum();
    assert_eq!(
        total, 202,
        "every offset of both partitions completed: {next:?}"
    );

    let letters = dead_letters(&brokers, "logs.dlq", 2);
    assert_eq!(letters.len(), 2, "{letters:?}");
    let reasons: HashSet<&str> = letters
        .iter()
        .map(|(_, _, reason)| reason.split(':').next().unwrap_or(""))
        .collect();
    assert!(reasons.contains("empty"), "{reasons:?}");

    // A second worker of another group on the same store reads nothing again.
    let again = run_worker(dir.path(), &brokers, "weft-b");
    assert_eq!(
        (again.ingest.read, again.ingest.stored),
        (0, 0),
        "{again:?}"
    );
    produce(&brokers, "logs", &records[..10]);
    let more = run_worker(dir.path(), &brokers, "weft-b");
    assert_eq!(more.ingest.stored, 10);
}

/// The lag figures come from librdkafka's statistics: while records wait the worker
/// publishes each partition's high watermark, and once it has read them a lag of 0.
#[test]
fn the_worker_publishes_each_partitions_lag_from_the_clients_statistics() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("logs", 2, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let records: Vec<String> = (0..300)
        .map(|index| format!(r#"{{"ts":"2026-11-23T10:00:00Z","msg":"lag {index}"}}"#))
        .collect();
    produce(&brokers, "logs", &records);

    let dir = tempfile::tempdir().expect("temp dir");
    let lag = crate::source::lag::ConsumerLag::default();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let settings = KafkaConfig {
        metrics_interval_secs: 1,
        ..settings_config(&brokers, "weft-lag")
    }
    .build([])
    .expect("valid settings");
    let worker = spawn_worker(dir.path(), settings, &stop, lag.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let snapshot = lag.snapshot();
        let high: i64 = snapshot
            .partitions
            .iter()
            .map(|partition| partition.high_watermark)
            .sum();
        if snapshot.partitions.len() == 2
            && high == 300
            && snapshot
                .partitions
                .iter()
                .all(|partition| partition.lag == 0)
        {
            break snapshot;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no lag of 0 at the high watermarks: {snapshot:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let summary = worker.join().expect("worker thread").expect("worker runs");
    assert_eq!(summary.ingest.stored, 300);
    assert!(settled.measured_at.is_some());
    for partition in &settled.partitions {
        assert_eq!(
            partition.next_offset, partition.high_watermark,
            "{partition:?}"
        );
    }
}

/// Rows and completed offsets the manifest records, in total.
fn durable(data_dir: &Path) -> (u64, i64) {
    let loaded = Manifest::new(data_dir).load().expect("manifest");
    let rows = loaded.entries.iter().map(|entry| entry.rows).sum();
    (rows, loaded.next_offsets().values().sum())
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A data directory that refuses writes (here its manifest replaced by a directory, as a full
/// disk refuses the append) pauses reading; once it takes writes again the worker resumes from
/// the manifest, and every record is stored exactly once.
#[test]
fn a_worker_pauses_while_the_data_directory_refuses_writes_and_loses_nothing() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("logs", 2, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let records = |from: usize, to: usize| -> Vec<String> {
        (from..to)
            .map(|index| {
                format!(r#"{{"ts":"2026-11-23T10:00:00Z","msg":"stall {index}","n":{index}}}"#)
            })
            .collect()
    };
    produce(&brokers, "logs", &records(0, 200));

    let dir = tempfile::tempdir().expect("temp dir");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let worker = spawn_worker(
        dir.path(),
        settings(&brokers, "weft-stall"),
        &stop,
        Default::default(),
    );
    wait_until(
        "the first 200 records durable",
        Duration::from_secs(30),
        || durable(dir.path()).0 == 200,
    );

    // The data directory refuses writes.
    let manifest = dir.path().join(crate::store::manifest::MANIFEST_FILE);
    let saved = dir.path().join("manifest.saved");
    std::fs::rename(&manifest, &saved).expect("manifest moved aside");
    std::fs::create_dir(&manifest).expect("a directory in its place");
    produce(&brokers, "logs", &records(200, 400));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        std::fs::read_dir(&manifest)
            .expect("still a directory")
            .count(),
        0,
        "nothing was written while writes were refused"
    );

    // Writes are taken again: everything is read again from the manifest's offsets.
    std::fs::remove_dir(&manifest).expect("directory removed");
    std::fs::rename(&saved, &manifest).expect("manifest back");
    wait_until("all 400 records durable", Duration::from_secs(60), || {
        durable(dir.path()) == (400, 400)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let summary = worker.join().expect("worker thread").expect("worker runs");
    assert!(summary.kafka.write_stalls >= 1, "{summary:?}");
    assert_eq!(durable(dir.path()), (400, 400), "each record stored once");
    assert_eq!(summary.kafka.topics["logs"].stored, 400, "{summary:?}");
}

/// The time bound counts from the oldest record read since the last checkpoint: after a quiet
/// spell longer than the bound, the first record waits for the ones just behind it instead of
/// being written at once as a segment of its own.
#[test]
fn after_a_quiet_spell_the_first_records_wait_for_the_time_bound_together() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("logs", 1, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().expect("temp dir");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let settings = KafkaConfig {
        flush_interval_ms: 2_000,
        ..settings_config(&brokers, "weft-quiet")
    }
    .build([])
    .expect("valid settings");
    let worker = spawn_worker(dir.path(), settings, &stop, Default::default());
    // Longer than the bound with nothing to read.
    std::thread::sleep(Duration::from_secs(3));
    let record = |index: usize| format!(r#"{{"ts":"2026-11-23T10:00:00Z","msg":"quiet {index}"}}"#);
    produce(&brokers, "logs", &[record(0)]);
    produce(&brokers, "logs", &[record(1), record(2)]);
    wait_until("3 records durable", Duration::from_secs(30), || {
        durable(dir.path()).0 == 3
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    worker.join().expect("worker thread").expect("worker runs");
    let loaded = Manifest::new(dir.path()).load().expect("manifest");
    let segments: Vec<u64> = loaded.entries.iter().map(|entry| entry.rows).collect();
    assert_eq!(segments, [3], "one segment of all three");
}
