//! Whole-corpus test of the web server formats: the 10,000 real Apache Combined Log Format lines
//! of `elastic-examples/apache_logs/apache_logs` (semicomplete.com, May 2015; Apache-2.0, see
//! the corpus' SOURCE.md) must all parse, with exactly the facts counted independently below.
//!
//! The expected numbers were counted with standard tools, not with weft, e.g.
//! `awk '{print $9}' apache_logs | sort | uniq -c` for the statuses (the ninth space-separated
//! field; no request line in the file contains a space inside its URL),
//! `awk -F'"' '{print $2}' apache_logs | awk '{print $1}' | sort | uniq -c` for the methods,
//! `awk -F'"' '$4=="-"'` / `'$6=="-"'` for missing referers / user agents,
//! `awk '$10=="-"'` for missing sizes, `awk '{print $1}' | sort -u | wc -l` for distinct
//! clients, and Python's `datetime.strptime(..., '%d/%b/%Y:%H:%M:%S %z')` for the time range.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use weft_ingest::event::{Class, Outcome};
use weft_ingest::frame::frame_all;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

fn corpora() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!("skipped: ../shared/corpora not found");
        None
    }
}

#[test]
fn every_apache_combined_line_parses_with_the_counted_facts() {
    let Some(root) = corpora() else {
        return;
    };
    let path = root.join("elastic-examples/apache_logs/apache_logs");
    let bytes = std::fs::read(&path).expect("the corpus file is readable");
    let mut parser =
        parse::build("access_log", &ParserOptions::default()).expect("access_log is registered");
    let context = ParseContext { reference_time: 0 };

    let mut records = 0;
    let mut errors = Vec::new();
    let mut status_classes: BTreeMap<i32, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<i32, usize> = BTreeMap::new();
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    let mut protocols: BTreeMap<String, usize> = BTreeMap::new();
    let mut clients = BTreeSet::new();
    let (mut with_referer, mut with_agent, mut with_size, mut failures) = (0, 0, 0, 0);
    let (mut earliest, mut latest) = (i64::MAX, i64::MIN);

    for (position, record, oversized) in frame_all(&bytes, 1024 * 1024).expect("in memory") {
        assert!(!oversized, "line {} is oversized", position.line);
        records += 1;
        let record = String::from_utf8(record).expect("the corpus is UTF-8");
        let mut events = Vec::new();
        if let Err(error) = parser.parse(&record, &context, &mut events) {
            errors.push(format!("line {}: {error}", position.line));
            continue;
        }
        assert_eq!(events.len(), 1, "line {}", position.line);
        let event = &events[0];
        assert_eq!(event.class, Class::HttpActivity);
        let status = event.http_status.expect("every line has a status");
        *statuses.entry(status).or_default() += 1;
        *status_classes.entry(status / 100).or_default() += 1;
        if event.outcome == Some(Outcome::Failure) {
            failures += 1;
        }
        let method = event
            .http_method
            .as_deref()
            .expect("every line has a method");
        assert_eq!(
            event.activity.as_deref(),
            Some(method.to_ascii_lowercase().as_str())
        );
        *methods.entry(method.to_string()).or_default() += 1;
        assert!(
            event.url.as_deref().is_some_and(|url| url.starts_with('/')),
            "line {}",
            position.line
        );
        let protocol = event.attr("access.protocol").expect("every line has one");
        *protocols.entry(protocol.to_string()).or_default() += 1;
        clients.insert(
            event
                .src_ip
                .as_deref()
                .expect("every client is an IP")
                .to_string(),
        );
        let time = event.time.expect("every line has a time");
        earliest = earliest.min(time);
        latest = latest.max(time);
        with_referer += usize::from(event.attr("access.referer").is_some());
        with_agent += usize::from(event.user_agent.is_some());
        with_size += usize::from(event.attr("access.bytes").is_some());
        assert_eq!(event.user, None, "no line names a user");
    }

    assert_eq!(records, 10_000);
    assert!(errors.is_empty(), "{} errors: {errors:#?}", errors.len());
    assert_eq!(
        statuses,
        BTreeMap::from([
            (200, 9126),
            (206, 45),
            (301, 164),
            (304, 445),
            (403, 2),
            (404, 213),
            (416, 2),
            (500, 3),
        ])
    );
    assert_eq!(
        status_classes,
        BTreeMap::from([(2, 9171), (3, 609), (4, 217), (5, 3)])
    );
    assert_eq!(failures, 217 + 3);
    assert_eq!(
        methods,
        BTreeMap::from([
            ("GET".to_string(), 9952),
            ("HEAD".to_string(), 42),
            ("OPTIONS".to_string(), 1),
            ("POST".to_string(), 5),
        ])
    );
    assert_eq!(
        protocols,
        BTreeMap::from([
            ("HTTP/1.0".to_string(), 700),
            ("HTTP/1.1".to_string(), 9300)
        ])
    );
    assert_eq!(clients.len(), 1753);
    assert_eq!(with_referer, 10_000 - 4073);
    assert_eq!(with_agent, 10_000 - 190);
    assert_eq!(with_size, 10_000 - 669);
    // 2015-05-17T10:05:00Z .. 2015-05-20T21:05:59Z
    assert_eq!(earliest, 1_431_857_100_000_000);
    assert_eq!(latest, 1_432_155_959_000_000);
}
