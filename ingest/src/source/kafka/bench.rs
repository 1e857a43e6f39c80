//! Throughput and latency of a Kafka worker, broker → normalized → durable Parquet, with
//! librdkafka's in-process mock cluster as the broker (tansu serves only about 20-27k records/s
//! of this size on the development machine, less than weft reads), and the same throughput
//! against a real broker when `WEFT_BENCH_BROKER` names one. Run by `scripts/bench-kafka`;
//! ignored by the test suite.
//!
//! Phase 1 preloads `WEFT_BENCH_RECORDS` (default 600,000) JSON records of about 930 bytes
//! into a 128-partition topic, then starts one worker and measures how fast they become
//! durable: a backlog with nothing else running, weft's own ceiling. The mock cluster keeps
//! only about 5 MB per partition and deletes the oldest records past that, read or not, so the
//! backlog is spread over enough partitions to stay under it (at most 4,800 records of this
//! size each, 614,400 in all); `WEFT_BENCH_FLUSH_BYTES` sets the worker's `flush_bytes`
//! (default: the production default). The rate is the sustained one, while checkpoints are cut
//! by size; the backlog's last checkpoint waits for the time bound, and the rate with it is
//! printed beside.
//!
//! Phase 2 streams records at `WEFT_BENCH_RATE` per second (default 20,000) while the worker
//! runs and measures, over 10 s of them, each record's time from produce to durable (its
//! segment listed in the manifest); the stream goes on until they are durable, and the time
//! its last records wait once it stops is printed beside. Peak RSS is the whole process's,
//! mock broker and its copy of the data included.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::config::KafkaConfig;
use super::{KafkaRun, KafkaSummary};
use crate::config::IngestConfig;
use crate::pipeline::IngestOptions;
use crate::store::FlushPolicy;

/// Partitions of the preloaded backlog's topic, and the records each may hold: the mock
/// cluster keeps about 5 MB per partition and deletes the oldest records past that.
const BACKLOG_PARTITIONS: i32 = 128;
const BACKLOG_PER_PARTITION: u64 = 4_800;

/// Partitions of the mock cluster's topics.
const PARTITIONS: i32 = 32;

/// The partition of the `index`th record: round robin.
fn spread(index: u64, partitions: i32) -> i32 {
    (index % partitions.max(1) as u64) as i32
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_micros() as i64)
        .unwrap_or(0)
}

/// An RFC 3339 UTC timestamp with microseconds.
fn rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        second_of_day / 3_600,
        (second_of_day / 60) % 60,
        second_of_day % 60
    )
}

/// A CloudTrail-like JSON record of about 800 bytes.
fn record(index: u64, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE{index:08}:session","arn":"arn:aws:sts::123456789012:assumed-role/deploy/session-{index}","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE{:08}"}},"eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"10.{}.{}.{}","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux api/s3#1.58.2","requestParameters":{{"bucketName":"platform-artifacts","key":"releases/service-{}/build-{index}.tar.gz","Host":"platform-artifacts.s3.eu-west-1.amazonaws.com"}},"responseElements":null,"requestID":"REQ{index:016}","eventID":"e{index:031}","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012","eventCategory":"Data","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256"}}}}"#,
        index % 100_000_000,
        (index / 65_536) % 256,
        (index / 256) % 256,
        index % 256,
        index % 40
    )
}

fn new_producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create()
        .expect("producer")
}

/// Sends `payload` to partition `partition`. Records are spread over the partitions
/// explicitly: librdkafka's sticky partitioner would put thousands of consecutive unkeyed
/// records into one partition, past what the mock cluster keeps of a partition (about 5 MB),
/// and the mock would drop records before the worker reads them.
fn send(producer: &BaseProducer, topic: &str, partition: i32, payload: &str) {
    let mut pending = BaseRecord::<(), str>::to(topic)
        .partition(partition)
        .payload(payload);
    loop {
        match producer.send(pending) {
            Ok(()) => return,
            Err((_, returned)) => {
                pending = returned;
                producer.poll(Duration::from_millis(5));
            }
        }
    }
}

/// An event of a segment: its service (the topic it was read from) and its event time.
struct Row {
    service: String,
    time: i64,
}

/// Rows of every segment listed in the manifest that are not in `seen`, and marks them seen.
fn new_segments(data_dir: &Path, seen: &mut HashSet<String>) -> Vec<Vec<Row>> {
    let Ok(manifest) = fs::read_to_string(data_dir.join("manifest.jsonl")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in manifest.lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(path) = entry["path"].as_str() else {
            continue;
        };
        if !seen.insert(path.to_string()) {
            continue;
        }
        let file = fs::File::open(data_dir.join(path)).expect("segment");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.expect("batch");
            let times = batch
                .column_by_name("time")
                .and_then(|column| {
                    column.as_primitive_opt::<arrow_array::types::TimestampMicrosecondType>()
                })
                .expect("time is microseconds");
            let services = batch
                .column_by_name("service")
                .and_then(|column| column.as_dictionary_opt::<arrow_array::types::Int32Type>())
                .expect("service is a dictionary");
            let names = services.values().as_string::<i32>();
            rows.extend((0..batch.num_rows()).map(|index| {
                Row {
                    service: names
                        .value(services.keys().value(index) as usize)
                        .to_string(),
                    time: times.value(index),
                }
            }));
        }
        found.push(rows);
    }
    found
}

fn peak_rss_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A worker running in a thread over `topics`, until `stop` is set.
fn start_worker(
    brokers: &str,
    topics: &[&str],
    group: &str,
    data_dir: &Path,
    stop: Arc<AtomicBool>,
    flush_bytes: usize,
) -> std::thread::JoinHandle<Result<KafkaSummary, super::KafkaSourceError>> {
    let settings = KafkaConfig {
        brokers: Some(brokers.to_string()),
        topics: topics.iter().map(|topic| topic.to_string()).collect(),
        group: Some(group.to_string()),
        flush_bytes,
        ..KafkaConfig::default()
    }
    .build(std::env::vars())
    .expect("settings");
    let data_dir = data_dir.to_path_buf();
    std::thread::spawn(move || {
        super::run(KafkaRun {
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
            lag: Default::default(),
        })
    })
}

/// Produces `total` records to `topic`; returns their bytes.
fn preload(brokers: &str, topic: &str, partitions: i32, total: u64) -> u64 {
    let started = Instant::now();
    let producer = new_producer(brokers);
    let time = rfc3339(now_micros());
    let mut bytes: u64 = 0;
    for index in 0..total {
        let payload = record(index, &time);
        bytes += payload.len() as u64;
        send(&producer, topic, spread(index, partitions), &payload);
        if index % 10_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(600)).expect("preloaded");
    eprintln!(
        "preloaded {total} records ({:.0} bytes each) in {:.1} s",
        bytes as f64 / total as f64,
        started.elapsed().as_secs_f64()
    );
    bytes
}

/// The peer: librdkafka's own consumer, the one weft's worker is built on, reading `total`
/// records of `topic` and doing nothing with them but count their bytes. Returns records/s.
fn bare_consumer_rate(brokers: &str, topic: &str, total: u64) -> f64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-bare")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("queued.max.messages.kbytes", "16384")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribed");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut read: u64 = 0;
    let mut bytes: u64 = 0;
    let mut started = None;
    while read < total {
        assert!(
            Instant::now() < deadline,
            "the bare consumer did not read every record"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("a message");
            started.get_or_insert_with(Instant::now);
            bytes += message.payload().map_or(0, <[u8]>::len) as u64;
            read += 1;
        }
    }
    let elapsed = started.expect("a first message").elapsed().as_secs_f64();
    assert!(bytes > 0);
    read as f64 / elapsed
}

/// How fast a backlog became durable.
struct BacklogRate {
    /// Events/s while checkpoints were cut by size: from the first checkpoint to the one
    /// before the last. The last holds the backlog's remainder and waits for the time bound
    /// (`flush_interval`, 5 s) from its first record, read just after the one before it was
    /// cut, however little it holds.
    sustained: f64,
    /// Events the sustained rate covers.
    sustained_rows: u64,
    /// Events/s from the first checkpoint to the last, the time bound included.
    whole: f64,
    /// Events the whole rate covers (all but the first checkpoint's).
    whole_rows: u64,
}

/// Waits until `total` events are durable; measures the rate from the first checkpoint on.
/// Segments first seen in the same look at the manifest (every 20 ms) count as one checkpoint.
fn backlog_rate(data_dir: &Path, seen: &mut HashSet<String>, total: u64) -> BacklogRate {
    let mut stored: u64 = 0;
    // When each checkpoint was seen, and the events durable then.
    let mut checkpoints: Vec<(Instant, u64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1_800);
    while stored < total {
        assert!(Instant::now() < deadline, "backlog not stored in time");
        let segments = new_segments(data_dir, seen);
        if !segments.is_empty() {
            stored += segments.iter().map(|rows| rows.len() as u64).sum::<u64>();
            checkpoints.push((Instant::now(), stored));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        checkpoints.len() >= 3,
        "the backlog fit in {} checkpoints; the sustained rate needs 3 or more (WEFT_BENCH_RECORDS)",
        checkpoints.len()
    );
    let rate = |from: (Instant, u64), to: (Instant, u64)| {
        let rows = to.1 - from.1;
        (rows as f64 / (to.0 - from.0).as_secs_f64(), rows)
    };
    let first = checkpoints[0];
    let (sustained, sustained_rows) = rate(first, checkpoints[checkpoints.len() - 2]);
    let (whole, whole_rows) = rate(first, checkpoints[checkpoints.len() - 1]);
    BacklogRate {
        sustained,
        sustained_rows,
        whole,
        whole_rows,
    }
}

#[test]
#[ignore = "a benchmark: run scripts/bench-kafka"]
fn kafka_worker_throughput_with_a_real_broker() {
    let Ok(brokers) = std::env::var("WEFT_BENCH_BROKER") else {
        panic!("WEFT_BENCH_BROKER names the broker (scripts/bench-kafka starts tansu)");
    };
    let topic = std::env::var("WEFT_BENCH_TOPIC").unwrap_or_else(|_| "bench".to_string());
    let total = env_or("WEFT_BENCH_RECORDS", 200_000);
    // scripts/bench-kafka creates the topic with 4 partitions.
    let partitions = env_or("WEFT_BENCH_PARTITIONS", 4) as i32;
    let bytes = preload(&brokers, &topic, partitions, total);
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let stop = Arc::new(AtomicBool::new(false));
    let worker = start_worker(
        &brokers,
        &[&topic],
        "bench",
        &data_dir,
        stop.clone(),
        KafkaConfig::default().flush_bytes,
    );
    let backlog = backlog_rate(&data_dir, &mut HashSet::new(), total);
    stop.store(true, Ordering::Relaxed);
    worker.join().expect("worker thread").expect("worker ran");
    println!(
        "kafka ingest (real broker {brokers}, 1 worker, ~{:.0} B JSON records): {:.0} events/s, {:.1} MB/s sustained over {} backlog records ({:.0} events/s over {} with the last checkpoint's time bound); peak RSS {:.0} MiB",
        bytes as f64 / total as f64,
        backlog.sustained,
        backlog.sustained * (bytes as f64 / total as f64) / 1e6,
        backlog.sustained_rows,
        backlog.whole,
        backlog.whole_rows,
        peak_rss_mib()
    );
}

#[test]
#[ignore = "a benchmark: run scripts/bench-kafka"]
fn kafka_worker_throughput_and_latency_with_the_mock_cluster() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let total = env_or("WEFT_BENCH_RECORDS", 600_000);
    let rate = env_or("WEFT_BENCH_RATE", 20_000);
    let cluster = MockCluster::new(1).expect("mock cluster");
    let most = BACKLOG_PER_PARTITION * BACKLOG_PARTITIONS as u64;
    assert!(
        total <= most,
        "the mock cluster keeps at most {most} records of the backlog (WEFT_BENCH_RECORDS)"
    );
    cluster
        .create_topic("bench", BACKLOG_PARTITIONS, 1)
        .expect("topic");
    cluster.create_topic("live", PARTITIONS, 1).expect("topic");
    cluster.create_topic("tail", PARTITIONS, 1).expect("topic");
    cluster.create_topic("peer", PARTITIONS, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();

    // The peer first: what librdkafka's consumer alone reads from the mock cluster, every
    // record preloaded (150,000 records stay within what the mock keeps per partition).
    let peer_total = total.min(150_000);
    preload(&brokers, "peer", PARTITIONS, peer_total);
    let peer_rate = bare_consumer_rate(&brokers, "peer", peer_total);

    let bytes = preload(&brokers, "bench", BACKLOG_PARTITIONS, total);

    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let stop = Arc::new(AtomicBool::new(false));
    let worker = start_worker(
        &brokers,
        &["bench", "live", "tail"],
        "bench",
        &data_dir,
        stop.clone(),
        env_or(
            "WEFT_BENCH_FLUSH_BYTES",
            KafkaConfig::default().flush_bytes as u64,
        ) as usize,
    );

    // Phase 1: the backlog.
    let mut seen = HashSet::new();
    let backlog = backlog_rate(&data_dir, &mut seen, total);
    let mb_per_second = backlog.sustained * (bytes as f64 / total as f64) / 1e6;
    let rss_backlog = peak_rss_mib();

    // Phase 2: a stream at a steady rate. The latency is measured over the `live` topic's
    // records, `rate` a second for 10 s; the stream goes on (into `tail`) until they are all
    // durable, as a service's stream does, so none of them waits for the time bound that ends a
    // stream. The `tail` records then show what that end costs: the last of them wait for it.
    let live_total = rate * 10;
    let streaming = Arc::new(AtomicBool::new(true));
    let producing = {
        let brokers = brokers.clone();
        let streaming = streaming.clone();
        std::thread::spawn(move || {
            let producer = new_producer(&brokers);
            let started = Instant::now();
            let mut index = 0;
            while index < live_total || streaming.load(Ordering::Relaxed) {
                let due = started + Duration::from_secs_f64(index as f64 / rate as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let topic = if index < live_total { "live" } else { "tail" };
                send(
                    &producer,
                    topic,
                    spread(index, PARTITIONS),
                    &record(index, &rfc3339(now_micros())),
                );
                producer.poll(Duration::ZERO);
                index += 1;
            }
            producer.flush(Duration::from_secs(60)).expect("flushed");
            index
        })
    };
    let mut latencies: Vec<i64> = Vec::new();
    let mut stream_end: Vec<i64> = Vec::new();
    let mut collect = |latencies: &mut Vec<i64>, stream_end: &mut Vec<i64>| {
        let observed = now_micros();
        for row in new_segments(&data_dir, &mut seen).into_iter().flatten() {
            match row.service.as_str() {
                "live" => latencies.push(observed - row.time),
                _ => stream_end.push(observed - row.time),
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while (latencies.len() as u64) < live_total {
        assert!(Instant::now() < deadline, "live records not stored in time");
        collect(&mut latencies, &mut stream_end);
    }
    streaming.store(false, Ordering::Relaxed);
    let produced = producing.join().expect("producer thread");
    while (stream_end.len() as u64) < produced - live_total {
        assert!(
            Instant::now() < deadline,
            "the stream's end not stored in time"
        );
        collect(&mut latencies, &mut stream_end);
    }
    stop.store(true, Ordering::Relaxed);
    let summary = worker.join().expect("worker thread").expect("worker ran");
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize] as f64 / 1e6;
    println!(
        "kafka ingest (mock cluster, preloaded backlog over {BACKLOG_PARTITIONS} partitions, 1 worker, ~{:.0} B JSON records): {:.0} events/s, {mb_per_second:.1} MB/s sustained over {} backlog records ({:.0} events/s over {} with the last checkpoint's time bound); peak RSS {rss_backlog:.0} MiB (whole process, mock broker and its data included)",
        bytes as f64 / total as f64,
        backlog.sustained,
        backlog.sustained_rows,
        backlog.whole,
        backlog.whole_rows,
    );
    println!(
        "peer: librdkafka consumer alone (mock cluster, 32 partitions, reading and counting only): {peer_rate:.0} records/s over {peer_total} records; weft/peer {:.2}",
        backlog.sustained / peer_rate
    );
    println!(
        "produce -> durable in a stream of {rate} records/s (flush_interval_ms 5000): p50 {:.2} s, p99 {:.2} s, max {:.2} s over {live_total} records; when the stream stops, its last records are durable after {:.2} s (the time bound); peak RSS {:.0} MiB",
        percentile(0.5),
        percentile(0.99),
        percentile(1.0),
        stream_end.iter().max().copied().unwrap_or(0) as f64 / 1e6,
        peak_rss_mib()
    );
    assert_eq!(summary.ingest.stored, total + produced);
}
