//! Parses the cloud audit corpora whole and checks what every record must become:
//!
//! - Kubernetes audit: Falco's audit test traces (`falco-k8s-audit/test/trace_files/k8s_audit/`,
//!   Apache-2.0) and the `log` records of Panther's EKS audit rule tests
//!   (`panther-analysis/rule_tests/Amazon.EKS.Audit.jsonl`, Apache-2.0);
//! - CloudTrail: the `log` records of Panther's CloudTrail rule tests
//!   (`panther-analysis/rule_tests/AWS.CloudTrail.jsonl`) and the Security Datasets capture
//!   `otrf-security-datasets/datasets/atomic/aws/collection/ec2_proxy_s3_exfiltration_*.json`
//!   (MIT).
//!
//! The expected counts were taken independently from the corpus files (a JSON tool counting
//! the fields each column comes from), not from weft's own output.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::frame::frame_all;
use weft_ingest::parse::{self, ParseContext, ParseError, ParserOptions};

const MAX_RECORD: usize = 1024 * 1024;

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpora not found");
        None
    }
}

/// Parses `records` with `format`, returning the events (owned) and the errors.
fn parse_all<'a>(
    format: &str,
    records: impl IntoIterator<Item = &'a str>,
) -> (Vec<Event<'a>>, Vec<ParseError>) {
    let mut parser = parse::build(format, &ParserOptions::default()).expect("registered format");
    let context = ParseContext { reference_time: 0 };
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for record in records {
        if let Err(error) = parser.parse(record, &context, &mut events) {
            errors.push(error);
        }
    }
    (events, errors)
}

/// One line of a Panther rule-test file: the vendor record is its `log`.
#[derive(Deserialize)]
struct RuleTest<'a> {
    #[serde(borrow)]
    log: &'a RawValue,
}

fn panther_logs(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str::<RuleTest>(line)
                .expect("a Panther rule test line")
                .log
                .get()
        })
        .collect()
}

fn count(events: &[Event], test: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|event| test(event)).count()
}

#[test]
fn falco_k8s_audit_traces_parse() {
    let Some(corpora) = corpora() else { return };
    let dir = corpora.join("falco-k8s-audit/test/trace_files/k8s_audit");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("readable trace directory")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 47, "trace files");
    let mut records = Vec::new();
    for path in &paths {
        let bytes = fs::read(path).expect("readable trace");
        for (_, record, oversized) in frame_all(&bytes, MAX_RECORD).expect("in-memory input") {
            assert!(!oversized);
            records.push(String::from_utf8(record).expect("utf-8 trace"));
        }
    }
    assert_eq!(records.len(), 52, "records in the traces");
    let (events, errors) = parse_all("k8s_audit", records.iter().map(String::as_str));
    assert_eq!(events.len(), 51);
    // fal_01_003.json is `{"kind": 0}`, fed to Falco on purpose as a broken event.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("kind is `0`"),
        "{}",
        errors[0]
    );
    for event in &events {
        assert_eq!(event.class, Class::ApiActivity);
        assert!(event.activity.is_some(), "verb: {event:?}");
        assert!(event.http_method.is_some(), "method: {event:?}");
        assert!(event.user.is_some(), "user: {event:?}");
        assert!(event.src_ip.is_some(), "source ip: {event:?}");
        assert!(event.url.is_some(), "request uri: {event:?}");
        assert!(event.http_status.is_some(), "status: {event:?}");
        assert!(event.resource.is_some(), "object: {event:?}");
        assert!(event.request_id.is_some(), "audit id: {event:?}");
        assert!(event.time.is_some(), "time: {event:?}");
        assert_eq!(event.outcome, Some(Outcome::Success), "{event:?}");
    }
    assert_eq!(count(&events, |event| event.user_agent.is_some()), 4);
    assert_eq!(
        count(&events, |event| event
            .resource
            .as_deref()
            .is_some_and(|resource| resource.ends_with("/exec"))),
        1
    );
}

#[test]
fn panther_eks_audit_records_parse() {
    let Some(corpora) = corpora() else { return };
    let text =
        fs::read_to_string(corpora.join("panther-analysis/rule_tests/Amazon.EKS.Audit.jsonl"))
            .expect("readable rule tests");
    let logs = panther_logs(&text);
    assert_eq!(logs.len(), 188);
    let (events, errors) = parse_all("k8s_audit", logs);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 188);
    assert!(events.iter().all(|event| event.class == Class::ApiActivity));
    assert_eq!(count(&events, |event| event.user.is_some()), 157);
    assert_eq!(count(&events, |event| event.src_ip.is_some()), 73);
    assert_eq!(count(&events, |event| event.activity.is_some()), 177);
    assert_eq!(count(&events, |event| event.http_method.is_some()), 177);
    assert_eq!(count(&events, |event| event.http_status.is_some()), 182);
    assert!(
        events
            .iter()
            .all(|event| event.http_status.is_none() || event.outcome != Some(Outcome::Unknown)),
        "a status always decides the outcome"
    );
}

#[test]
fn panther_cloudtrail_records_parse() {
    let Some(corpora) = corpora() else { return };
    let text = fs::read_to_string(corpora.join("panther-analysis/rule_tests/AWS.CloudTrail.jsonl"))
        .expect("readable rule tests");
    let logs = panther_logs(&text);
    assert_eq!(logs.len(), 475);
    let (events, errors) = parse_all("cloudtrail", logs);
    // Three test records carry no CloudTrail field at all (`{"eventType": "logout"}` and two
    // enrichment-only records).
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|error| error.to_string().contains("not a CloudTrail record"))
    );
    assert_eq!(events.len(), 472);
    assert_eq!(count(&events, |event| event.activity.is_some()), 472);
    assert_eq!(
        count(&events, |event| event.class == Class::Authentication),
        46
    );
    assert_eq!(
        count(&events, |event| event.class == Class::ApiActivity),
        472 - 46
    );
    assert_eq!(
        count(&events, |event| event.outcome == Some(Outcome::Failure)),
        73
    );
    assert_eq!(count(&events, |event| event.src_ip.is_some()), 390);
    for event in &events {
        assert!(
            event.outcome.is_some() && event.severity.is_some(),
            "{event:?}"
        );
        if let Some(ip) = event.src_ip.as_deref() {
            assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
        }
        if let Some(session) = event.session_id.as_deref() {
            assert!(session.starts_with("ASIA"), "{session}");
        }
    }
}

#[test]
fn otrf_cloudtrail_capture_parses() {
    let Some(corpora) = corpora() else { return };
    let path = corpora.join(
        "otrf-security-datasets/datasets/atomic/aws/collection/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
    );
    let bytes = fs::read(path).expect("readable capture");
    let records: Vec<String> = frame_all(&bytes, MAX_RECORD)
        .expect("in-memory input")
        .into_iter()
        .map(|(_, record, _)| String::from_utf8(record).expect("utf-8 capture"))
        .collect();
    assert_eq!(records.len(), 103, "one record per line");
    let (events, errors) = parse_all("cloudtrail", records.iter().map(String::as_str));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events.len(), 103);
    for event in &events {
        assert!(event.time.is_some(), "@timestamp: {event:?}");
        assert!(event.activity.is_some(), "{event:?}");
        assert!(event.user.is_some(), "{event:?}");
        assert!(event.resource.is_some(), "{event:?}");
        assert!(event.request_id.is_some(), "{event:?}");
        assert_eq!(event.outcome, Some(Outcome::Success));
    }
    // Five records were made by EC2 itself (`sourceIPAddress: ec2.amazonaws.com`).
    assert_eq!(count(&events, |event| event.src_ip.is_some()), 98);
    assert_eq!(
        count(&events, |event| event.class == Class::Authentication),
        5
    );
}
