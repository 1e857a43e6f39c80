//! Parses the Windows event corpora and checks what every record must become:
//!
//! - every event of the Sigma regression data (`sigma-regression/regression_data/**/*.json`,
//!   evtx_dump's nested JSON of real captures, some files holding several pretty-printed
//!   events; DRL 1.1);
//! - the first lines of every Security Datasets Windows host capture
//!   (`otrf-security-datasets/datasets/atomic/windows/*/host/*.zip`, NXLog's flat JSON lines;
//!   MIT), read from the zip archives with a small reader over `flate2`'s raw deflate.
//!
//! The expected counts were taken independently from the corpus files (a JSON tool counting
//! channels and event ids), not from weft's own output.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::DeflateDecoder;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::frame::frame_all;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

const MAX_RECORD: usize = 1024 * 1024;
/// Lines read from the start of each Security Datasets capture.
const LINES_PER_CAPTURE: usize = 2_000;

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpora not found");
        None
    }
}

fn files_under(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files_under(&path, extension, out);
        } else if path.extension().is_some_and(|ext| ext == extension) {
            out.push(path);
        }
    }
}

#[test]
fn every_sigma_regression_event_parses() {
    let Some(corpora) = corpora() else { return };
    let mut paths = Vec::new();
    files_under(
        &corpora.join("sigma-regression/regression_data"),
        "json",
        &mut paths,
    );
    paths.sort();
    assert_eq!(paths.len(), 202, "regression event files");
    let mut parser = parse::build("windows", &ParserOptions::default()).expect("registered");
    let context = ParseContext { reference_time: 0 };
    let mut records = 0;
    let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for path in &paths {
        let bytes = fs::read(path).expect("readable event file");
        for (position, record, oversized) in frame_all(&bytes, MAX_RECORD).expect("in memory") {
            assert!(!oversized);
            records += 1;
            let record = String::from_utf8(record).expect("utf-8 event");
            let mut events = Vec::new();
            if let Err(error) = parser.parse(&record, &context, &mut events) {
                errors.push(format!("{}:{}: {error}", path.display(), position.line));
                continue;
            }
            assert_eq!(events.len(), 1);
            let event = &events[0];
            check_nested_event(event);
            *classes.entry(event.class.as_str()).or_default() += 1;
        }
    }
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(records, 238, "events in the regression files");
    let expected = BTreeMap::from([
        ("authentication", 1),
        ("file_activity", 35),
        ("other", 51),
        ("process_activity", 151),
    ]);
    assert_eq!(classes, expected);
}

/// Facts every nested (evtx_dump) event must show.
fn check_nested_event(event: &Event) {
    assert!(event.time.is_some(), "SystemTime: {event:?}");
    assert!(event.host.is_some(), "Computer: {event:?}");
    assert!(event.severity.is_some(), "Level: {event:?}");
    for name in ["EventID", "Channel", "Provider_Name", "Computer"] {
        assert!(event.attr(name).is_some(), "bare {name}: {event:?}");
    }
    for (key, value) in &event.attrs {
        if let Some(name) = key.strip_prefix("Event.EventData.")
            && !name.starts_with('#')
        {
            assert_eq!(event.attr(name), Some(value.as_ref()), "bare {name}");
        }
    }
    if event.class == Class::ProcessActivity {
        assert!(
            event.process.is_some() && event.command_line.is_some(),
            "{event:?}"
        );
        assert!(event.user.is_some(), "{event:?}");
        assert_eq!(event.activity.as_deref(), Some("launch"));
    }
    if event.class == Class::FileActivity {
        assert!(
            event.resource.is_some() && event.process.is_some(),
            "{event:?}"
        );
    }
}

/// The files of a zip archive (stored or deflated), read through its central directory.
fn zip_entries(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |at: usize| u16::from_le_bytes([archive[at], archive[at + 1]]) as usize;
    let u32_at = |at: usize| {
        u32::from_le_bytes([
            archive[at],
            archive[at + 1],
            archive[at + 2],
            archive[at + 3],
        ]) as usize
    };
    let end = (0..archive.len().saturating_sub(21))
        .rev()
        .find(|&at| archive[at..].starts_with(b"PK\x05\x06"))
        .expect("end of central directory");
    let entries = u16_at(end + 10);
    let mut at = u32_at(end + 16);
    let mut files = Vec::new();
    for _ in 0..entries {
        assert!(
            archive[at..].starts_with(b"PK\x01\x02"),
            "central directory entry"
        );
        let method = u16_at(at + 10);
        let compressed = u32_at(at + 20);
        let name_len = u16_at(at + 28);
        let skip = name_len + u16_at(at + 30) + u16_at(at + 32);
        let local = u32_at(at + 42);
        let name = String::from_utf8_lossy(&archive[at + 46..at + 46 + name_len]).into_owned();
        at += 46 + skip;
        assert!(archive[local..].starts_with(b"PK\x03\x04"), "local header");
        let data_start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = &archive[data_start..data_start + compressed];
        let contents = match method {
            0 => data.to_vec(),
            8 => {
                let mut contents = Vec::new();
                // Only the first lines are needed: inflate a bounded prefix.
                let lines = BufReader::new(DeflateDecoder::new(data))
                    .split(b'\n')
                    .take(LINES_PER_CAPTURE);
                for line in lines {
                    contents.extend_from_slice(&line.expect("valid deflate stream"));
                    contents.push(b'\n');
                }
                contents
            }
            other => panic!("zip method {other} in {name}"),
        };
        files.push((name, contents));
    }
    files
}

#[test]
fn security_datasets_windows_captures_parse() {
    let Some(corpora) = corpora() else { return };
    let mut archives = Vec::new();
    files_under(
        &corpora.join("otrf-security-datasets/datasets/atomic/windows"),
        "zip",
        &mut archives,
    );
    archives.sort();
    assert_eq!(archives.len(), 95, "host capture archives");
    let mut parser = parse::build("windows", &ParserOptions::default()).expect("registered");
    let context = ParseContext { reference_time: 0 };
    let mut lines = 0;
    let mut by_id: BTreeMap<(String, u32), (Class, usize)> = BTreeMap::new();
    let mut errors = Vec::new();
    for archive in &archives {
        let bytes = fs::read(archive).expect("readable archive");
        for (name, contents) in zip_entries(&bytes) {
            // macOS resource forks ride along in some archives; they are not logs.
            if name.starts_with("__MACOSX/") || name.ends_with('/') {
                continue;
            }
            let text = String::from_utf8(contents).expect("utf-8 capture");
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                lines += 1;
                let mut events = Vec::new();
                if let Err(error) = parser.parse(line, &context, &mut events) {
                    errors.push(format!("{}: {error}", archive.display()));
                    continue;
                }
                let event = &events[0];
                assert!(event.time.is_some(), "time: {line}");
                assert!(event.host.is_some(), "host: {line}");
                let channel = event.attr("Channel").unwrap_or("").to_ascii_lowercase();
                let id: u32 = event
                    .attr("EventID")
                    .and_then(|id| id.parse().ok())
                    .expect("id");
                let entry = by_id.entry((channel, id)).or_insert((event.class, 0));
                if id != 4663 {
                    // 4663 is a file access only when its object is a file.
                    assert_eq!(entry.0, event.class, "one class per channel and id");
                }
                entry.1 += 1;
                check_flat_event(event, id);
            }
        }
    }
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        lines, 132_106,
        "non-blank lines among the first 2,000 of each capture"
    );
    let class_of =
        |channel: &str, id: u32| by_id.get(&(channel.to_string(), id)).map(|entry| entry.0);
    let sysmon = "microsoft-windows-sysmon/operational";
    assert_eq!(class_of(sysmon, 1), Some(Class::ProcessActivity));
    assert_eq!(class_of(sysmon, 3), Some(Class::NetworkActivity));
    assert_eq!(class_of(sysmon, 22), Some(Class::DnsActivity));
    assert_eq!(class_of(sysmon, 11), Some(Class::FileActivity));
    assert_eq!(class_of(sysmon, 10), Some(Class::Other));
    assert_eq!(class_of("security", 4688), Some(Class::ProcessActivity));
    assert_eq!(class_of("security", 4624), Some(Class::Authentication));
    assert_eq!(class_of("security", 4634), Some(Class::Authentication));
    assert_eq!(class_of("security", 5156), Some(Class::NetworkActivity));
    assert_eq!(class_of("windows powershell", 800), Some(Class::Other));
}

/// Facts every flat (NXLog) event must show, by event id.
fn check_flat_event(event: &Event, id: u32) {
    match event.class {
        Class::ProcessActivity if id == 1 || id == 4688 => {
            assert!(event.process.is_some(), "{event:?}");
        }
        Class::Authentication => {
            assert!(event.user.is_some(), "{event:?}");
            if id == 4625 {
                assert_eq!(event.outcome, Some(Outcome::Failure));
            }
        }
        Class::NetworkActivity => {
            // ICMP connections (Security 5156) carry port 0: no port, but both addresses.
            assert!(
                event.src_ip.is_some() && event.dst_ip.is_some(),
                "{event:?}"
            );
        }
        Class::DnsActivity => assert!(event.resource.is_some(), "{event:?}"),
        Class::FileActivity => assert!(event.resource.is_some(), "{event:?}"),
        _ => {}
    }
    if let Some(ip) = event.src_ip.as_deref() {
        assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
    }
}

#[test]
fn zip_reader_reads_stored_entries() {
    // A stored (method 0) archive with one file `a.txt` holding `hi\n`.
    let mut archive = Vec::new();
    archive.extend_from_slice(b"PK\x03\x04");
    archive.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    archive.extend_from_slice(&3u32.to_le_bytes());
    archive.extend_from_slice(&3u32.to_le_bytes());
    archive.extend_from_slice(&5u16.to_le_bytes());
    archive.extend_from_slice(&0u16.to_le_bytes());
    archive.extend_from_slice(b"a.txt");
    archive.extend_from_slice(b"hi\n");
    let directory = archive.len();
    archive.extend_from_slice(b"PK\x01\x02");
    archive.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    archive.extend_from_slice(&3u32.to_le_bytes());
    archive.extend_from_slice(&3u32.to_le_bytes());
    archive.extend_from_slice(&5u16.to_le_bytes());
    archive.extend_from_slice(&[0; 12]);
    archive.extend_from_slice(&0u32.to_le_bytes());
    archive.extend_from_slice(b"a.txt");
    let directory_len = archive.len() - directory;
    archive.extend_from_slice(b"PK\x05\x06");
    archive.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    archive.extend_from_slice(&(directory_len as u32).to_le_bytes());
    archive.extend_from_slice(&(directory as u32).to_le_bytes());
    archive.extend_from_slice(&[0, 0]);
    let mut contents = String::new();
    let entries = zip_entries(&archive);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "a.txt");
    entries[0]
        .1
        .as_slice()
        .read_to_string(&mut contents)
        .expect("utf-8");
    assert_eq!(contents, "hi\n");
}
