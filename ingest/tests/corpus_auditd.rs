//! The auditd parser over every Linux audit capture of the shared corpora: the `.log` files
//! under `otrf-security-datasets/datasets/atomic/linux/` (OTRF Security-Datasets, MIT; see
//! `shared/corpora/otrf-security-datasets/SOURCE.md`), raw `/var/log/audit/audit.log` records of
//! two Atomic Red Team tests on an x86_64 host (`arp -a | grep -v '^?'` and `dd`).
//!
//! The expected counts were made with `grep` over the corpus files, independently of the
//! parser (`cat */host/*.log | grep -cE PATTERN`, each pattern beside its count).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::{Class, Outcome};

const LINUX_DATASETS: &str = "otrf-security-datasets/datasets/atomic/linux";

/// `find . -name '*.log'`.
const FILES: usize = 2;
/// `grep -c ''`: every line is one record.
const RECORDS: usize = 18;
/// `'^type=SYSCALL .* arch=c000003e syscall=59 '` (execve on x86_64): 3, and `'^type=EXECVE '`: 3.
const LAUNCHES: usize = 6;
/// `'^type=PROCTITLE '`.
const PROCESS_TITLES: usize = 3;
/// `'^type=CWD '`: 3, and `'^type=PATH '`: 6.
const OTHER: usize = 9;

/// Every `.log` file under `directory`, sorted.
fn log_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            log_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "log") {
            found.push(path);
        }
    }
    found.sort();
}

#[test]
fn otrf_linux_audit_logs_parse_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if !root.is_dir() {
        eprintln!("skipped: ../shared/corpora not found");
        return;
    }
    let mut files = Vec::new();
    log_files(&root.join(LINUX_DATASETS), &mut files);
    assert_eq!(files.len(), FILES, "{files:?}");

    let context = ParseContext { reference_time: 0 };
    let mut parser = parse::build("auditd", &ParserOptions::default()).expect("registered");
    let mut records = 0;
    let mut counts: BTreeMap<(&'static str, Option<String>), usize> = BTreeMap::new();
    let mut command_lines = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("the corpus file is readable UTF-8");
        for (number, line) in text.lines().enumerate() {
            records += 1;
            let mut events = Vec::new();
            let at = format!("{}:{}", path.display(), number + 1);
            parser
                .parse(line, &context, &mut events)
                .unwrap_or_else(|error| panic!("{at}: {error}"));
            assert_eq!(events.len(), 1, "{at}");
            let event = &events[0];
            let time = event.time.expect("every record has its time");
            // 2020-11-10, between 07:48 and 08:20 UTC.
            assert!(
                (1_604_994_480_000_000..1_604_996_400_000_000).contains(&time),
                "{at}: {time}"
            );
            assert!(event.request_id.is_some(), "{at}: no serial");
            assert!(event.attr("type").is_some(), "{at}");
            assert_eq!(event.host, None, "{at}: no node= in these captures");
            if event.class == Class::ProcessActivity {
                assert!(event.process.is_some(), "{at}: no process");
            }
            if event.activity.as_deref() == Some("launch") && event.attr("type") == Some("SYSCALL")
            {
                assert_eq!(event.outcome, Some(Outcome::Success), "{at}");
                assert_eq!(event.user.as_deref(), Some("1000"), "{at}");
                assert_eq!(event.session_id.as_deref(), Some("104"), "{at}");
            }
            if event.attr("type") == Some("EXECVE") {
                let command_line = event.command_line.as_deref().expect("EXECVE has arguments");
                command_lines.push(command_line.to_string());
            }
            *counts
                .entry((
                    event.class.as_str(),
                    event.activity.as_deref().map(str::to_string),
                ))
                .or_default() += 1;
        }
    }

    assert_eq!(records, RECORDS);
    let expected = BTreeMap::from([
        (("process_activity", Some("launch".to_string())), LAUNCHES),
        (("process_activity", None), PROCESS_TITLES),
        (("other", None), OTHER),
    ]);
    assert_eq!(counts, expected);
    let process_activity: usize = counts
        .iter()
        .filter(|((class, _), _)| *class == "process_activity")
        .map(|(_, count)| count)
        .sum();
    assert_eq!(process_activity, 9);
    command_lines.sort();
    assert_eq!(
        command_lines,
        ["arp -a", "dd if=/dev/zero bs=1 count=1", "grep -v ^?"]
    );
}
