//! Parses every Zeek TSV log of the shared corpus (`zeek-tsv-brim/zeek-default/*.log.gz`,
//! Zeek 6.2 default output over the WRCCDC 2018 captures; CC BY-SA 4.0, see its SOURCE.md) and
//! checks that every row becomes exactly one event of the expected class, with the columns
//! that Zeek's fields imply filled on every row.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use weft_ingest::event::{Class, Event};
use weft_ingest::frame::frame_all;
use weft_ingest::parse::{self, ParseContext, ParserOptions};

const MAX_RECORD: usize = 1024 * 1024;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/zeek-tsv-brim/zeek-default");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpora not found");
        None
    }
}

/// The class every row of a log type must get.
fn expected_class(path: &str) -> Class {
    match path {
        "dns" => Class::DnsActivity,
        "kerberos" | "ntlm" | "ssh" => Class::Authentication,
        "smb_files" => Class::FileActivity,
        "analyzer" | "dce_rpc" | "dpd" | "ftp" | "ldap_search" | "modbus" | "ntp" | "rdp"
        | "rfb" | "smb_mapping" | "smtp" | "snmp" | "ssl" | "syslog" => Class::NetworkActivity,
        "capture_loss" | "known_certs" | "known_hosts" | "known_services" | "loaded_scripts"
        | "notice" | "ocsp" | "packet_filter" | "pe" | "software" | "stats" | "weird" | "x509" => {
            Class::Other
        }
        other => panic!("no expected class for zeek log `{other}`: add it to this table"),
    }
}

struct FileResult {
    rows: usize,
    events: usize,
    errors: Vec<String>,
}

fn check_file(path: &Path) -> FileResult {
    let mut bytes = Vec::new();
    GzDecoder::new(fs::File::open(path).expect("readable corpus file"))
        .read_to_end(&mut bytes)
        .expect("valid gzip");
    let log = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(".log.gz"))
        .expect("a .log.gz name")
        .to_string();
    let class = expected_class(&log);
    let context = ParseContext { reference_time: 0 };
    let mut parser = parse::build("zeek", &ParserOptions::default()).expect("zeek is registered");
    let mut result = FileResult {
        rows: 0,
        events: 0,
        errors: Vec::new(),
    };
    for (position, record, oversized) in frame_all(&bytes, MAX_RECORD).expect("in-memory input") {
        assert!(!oversized, "{log}: line {} is oversized", position.line);
        let record = String::from_utf8_lossy(&record);
        if !record.starts_with('#') {
            result.rows += 1;
        }
        let mut events: Vec<Event<'_>> = Vec::new();
        if let Err(error) = parser.parse(&record, &context, &mut events) {
            result
                .errors
                .push(format!("{log}: line {}: {error}", position.line));
            continue;
        }
        result.events += events.len();
        for event in &events {
            assert_eq!(event.format, "zeek");
            assert_eq!(event.class, class, "{log}: line {}", position.line);
            assert_eq!(
                event.attr("_path"),
                Some(log.as_str()),
                "{log}: line {}",
                position.line
            );
            // Columns are filled exactly when the fields that imply them are set.
            assert_eq!(
                event.attr("ts").is_some(),
                event.time.is_some(),
                "{log}: time, line {}",
                position.line
            );
            if class != Class::FileActivity || event.attr("uid").is_some() {
                assert_eq!(
                    event.attr("uid").is_some(),
                    event.session_id.is_some(),
                    "{log}: session_id, line {}",
                    position.line
                );
            }
            if event.attr("id.orig_h").is_some() {
                assert!(
                    event.src_ip.is_some() && event.src_port.is_some(),
                    "{log}: source, line {}",
                    position.line
                );
                assert!(
                    event.dst_ip.is_some() && event.dst_port.is_some(),
                    "{log}: destination, line {}",
                    position.line
                );
            }
            match log.as_str() {
                "dns" => assert_eq!(
                    event.resource.is_some(),
                    event.attr("query").is_some_and(|query| !query.is_empty()),
                    "{log}: resource, line {}",
                    position.line
                ),
                "ssh" => assert!(event.outcome.is_some() && event.activity.is_some()),
                "notice" => assert!(event.activity.is_some() && event.message.is_some()),
                "weird" => assert!(event.message.is_some()),
                "smb_files" => assert!(event.activity.is_some() && event.resource.is_some()),
                "x509" => assert!(event.resource.is_some()),
                _ => {}
            }
        }
    }
    result
}

#[test]
fn every_zeek_row_of_the_corpus_parses() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("readable corpus directory")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.to_str().is_some_and(|name| name.ends_with(".log.gz")))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        32,
        "the corpus holds 32 zeek logs (conn, files and http are absent)"
    );
    let mut totals = BTreeMap::new();
    let mut errors = Vec::new();
    for file in &files {
        let result = check_file(file);
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            result.events + result.errors.len(),
            result.rows,
            "{name}: one event per row"
        );
        errors.extend(result.errors);
        totals.insert(name, result.events);
    }
    assert!(
        errors.is_empty(),
        "{} rows refused:\n{}",
        errors.len(),
        errors.join("\n")
    );
    let total: usize = totals.values().sum();
    assert_eq!(totals.get("dns.log.gz"), Some(&53_615));
    assert_eq!(totals.get("ssl.log.gz"), Some(&49_474));
    assert_eq!(totals.get("ssh.log.gz"), Some(&22));
    assert_eq!(total, 158_439, "events per file: {totals:?}");
}
