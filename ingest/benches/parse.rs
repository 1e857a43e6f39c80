//! Parser throughput alone: each line of a generated input is parsed into a reused `Vec` of
//! events, which is cleared after every record, so the numbers are the parser's own cost
//! (no Arrow, no allocation of the output buffer). Reported twice: in bytes and in records.
//!
//! `cargo bench -p weft-ingest --bench parse`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_ingest::Event;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

#[allow(dead_code)]
#[path = "support/data.rs"]
mod data;

use data::Lcg;

/// About 1 MiB of records per measured iteration.
const INPUT_BYTES: usize = 1024 * 1024;

const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE"];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/api/v1/orders",
    "/static/js/app.3f9a1c.js",
    "/images/logo.png",
    "/search?q=security+logs&page=2",
    "/login",
    "/wp-login.php",
];
const STATUSES: &[&str] = &["200", "200", "200", "304", "301", "404", "401", "500"];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
];
const REFERERS: &[&str] = &[
    "-",
    "-",
    "https://www.example.com/",
    "https://search.example.org/?q=weft",
];
const USERS: &[&str] = &["-", "-", "-", "alice", "bob"];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A Combined Log Format line; one in eight carries nginx's extra trailing fields.
fn access_log_record(rng: &mut Lcg) -> String {
    let extras = if rng.below(8) == 0 {
        format!(r#" "{}" {}.{:03}"#, rng.ip(), rng.below(3), rng.below(1000))
    } else {
        String::new()
    };
    format!(
        r#"{} - {} [{:02}/{}/2024:{:02}:{:02}:{:02} +0000] "{} {} HTTP/1.1" {} {} "{}" "{}"{}"#,
        rng.ip(),
        rng.pick(USERS),
        1 + rng.below(28),
        rng.pick(MONTHS),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.pick(METHODS),
        rng.pick(PATHS),
        rng.pick(STATUSES),
        rng.below(100_000),
        rng.pick(REFERERS),
        rng.pick(AGENTS),
        extras,
    )
}

/// A CEF record behind an RFC 3164 syslog header, with a dozen extension pairs.
fn cef_record(rng: &mut Lcg) -> String {
    let (signature, name, category) = match rng.below(3) {
        0 => ("4625", "User login failed", "/Authentication/Verify"),
        1 => ("traffic", "traffic:forward close", "traffic:forward"),
        _ => ("SQLI-001", "SQL Injection Attempt", "/Attack"),
    };
    format!(
        concat!(
            "<134>{} {:2} {:02}:{:02}:{:02} fw{:02} CEF:0|Example|Gateway|7.2|{}|{}|{}|",
            "rt={} src={} spt={} dst={} dpt=443 proto=6 suser={} act={} cat={} ",
            "request=https://shop.example.com/search?q\\=item{} requestMethod=GET ",
            "msg=Connection from {} to service closed after {} ms cs1=Default Policy cs1Label=Policy"
        ),
        rng.pick(MONTHS),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(20),
        signature,
        name,
        rng.below(11),
        1_714_564_800_000 + rng.below(86_400_000),
        rng.ip(),
        1024 + rng.below(60_000),
        rng.ip(),
        rng.pick(&["alice", "bob", "carol", "svc-backup"]),
        rng.pick(&["blocked", "allowed", "close"]),
        category,
        rng.below(1000),
        rng.ip(),
        rng.below(5000),
    )
}

/// A go-kit style logfmt line with a quoted message and HTTP facts.
fn logfmt_record(rng: &mut Lcg) -> String {
    format!(
        r#"ts=2024-05-01T12:{:02}:{:02}.{:03}Z level={} caller=handler.go:{} msg="{}" method={} path={} status={} duration={}ms client_ip={} trace_id={:016x}{:016x} cached"#,
        rng.below(60),
        rng.below(60),
        rng.below(1000),
        rng.pick(&["info", "info", "warn", "error"]),
        rng.below(400),
        rng.pick(&[
            "request served",
            "upstream timeout",
            "login failed for \\\"alice\\\"",
            "cache miss"
        ]),
        rng.pick(METHODS),
        rng.pick(PATHS),
        rng.pick(STATUSES),
        rng.below(2000),
        rng.ip(),
        rng.next_u64(),
        rng.next_u64(),
    )
}

/// Parses every line of `input`, reusing one output buffer; returns how many events it saw.
fn parse_all(format: &str, input: &str) -> usize {
    let mut parser = parse::build(format, &ParserOptions::default()).expect("registered format");
    let context = ParseContext {
        reference_time: 1_714_564_800_000_000,
    };
    let mut events: Vec<Event<'_>> = Vec::with_capacity(4);
    let mut seen = 0;
    for line in input.lines() {
        if parser.parse(line, &context, &mut events).is_ok() {
            seen += events.len();
        }
        black_box(&events);
        events.clear();
    }
    seen
}

fn bench_parsers(criterion: &mut Criterion) {
    let inputs = [
        ("access_log", data::lines(access_log_record, 1, INPUT_BYTES)),
        ("cef", data::lines(cef_record, 2, INPUT_BYTES)),
        ("logfmt", data::lines(logfmt_record, 3, INPUT_BYTES)),
    ];
    for (format, input) in &inputs {
        let records = input.lines().count();
        assert_eq!(
            parse_all(format, input),
            records,
            "every generated {format} record parses"
        );
    }

    let mut bytes = criterion.benchmark_group("parse_bytes");
    for (format, input) in &inputs {
        bytes.throughput(Throughput::Bytes(input.len() as u64));
        bytes.bench_function(*format, |bencher| {
            bencher.iter(|| black_box(parse_all(format, input)))
        });
    }
    bytes.finish();

    let mut records = criterion.benchmark_group("parse_records");
    for (format, input) in &inputs {
        records.throughput(Throughput::Elements(input.lines().count() as u64));
        records.bench_function(*format, |bencher| {
            bencher.iter(|| black_box(parse_all(format, input)))
        });
    }
    records.finish();
}

criterion_group!(benches, bench_parsers);
criterion_main!(benches);
