//! Parsers never panic, whatever the bytes: every registered format (and `auto`) gets
//! arbitrary strings and mutations of the golden inputs — truncated, with bytes flipped,
//! inserted and deleted — and must return events or an error.

use std::fs;
use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;
use weft_ingest::parse::{self, FORMATS, ParseContext, ParserOptions};

/// Every line of every golden input, the seeds for mutation.
static SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut seeds = Vec::new();
    for format_dir in fs::read_dir(&root).expect("golden directory").flatten() {
        for file in fs::read_dir(format_dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(".expected.ndjson") || name.ends_with(".md") {
                continue;
            }
            if let Ok(bytes) = fs::read(file.path()) {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                seeds.extend(
                    text.lines()
                        .filter(|line| !line.is_empty())
                        .map(str::to_string),
                );
                seeds.push(text);
            }
        }
    }
    assert!(!seeds.is_empty(), "no golden inputs to mutate");
    seeds
});

fn all_formats() -> Vec<&'static str> {
    FORMATS
        .iter()
        .map(|spec| spec.name)
        .chain(["auto"])
        .collect()
}

fn parse_everywhere(record: &str) {
    let context = ParseContext {
        reference_time: 1_750_000_000_000_000,
    };
    for format in all_formats() {
        let mut parser = parse::build(format, &ParserOptions::default()).expect("registered");
        let mut events = Vec::new();
        let result = parser.parse(record, &context, &mut events);
        if result.is_err() {
            assert!(events.is_empty(), "{format} pushed events and then failed");
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\":,\\=|<> \t\n#-0.".to_vec())
        )
            .prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
    ]
}

fn mutate(seed: &str, mutations: &[Mutation]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        match *mutation {
            Mutation::Truncate(at) => bytes.truncate(at % len),
            Mutation::Flip(at, byte) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot ^= byte;
                }
            }
            Mutation::Insert(at, byte) => bytes.insert((at % len).min(bytes.len()), byte),
            Mutation::Delete(at) => {
                if !bytes.is_empty() {
                    bytes.remove(at % len);
                }
            }
            Mutation::Duplicate(at, span) => {
                let start = (at % len).min(bytes.len());
                let end = (start + span % 64).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(start..start, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(record in "\\PC{0,300}") {
        parse_everywhere(&record);
    }

    #[test]
    fn mutated_real_records_never_panic(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seed = &SEEDS[seed.index(SEEDS.len())];
        parse_everywhere(&mutate(seed, &mutations));
    }
}

#[test]
fn hostile_records_never_panic() {
    let deep_json = "[".repeat(100_000) + &"]".repeat(100_000);
    let deep_object = "{\"a\":".repeat(50_000) + "1" + &"}".repeat(50_000);
    let huge_number = format!("{{\"n\":{}}}", "9".repeat(10_000));
    let cases = [
        String::new(),
        "\0\0\0".to_string(),
        "<".to_string(),
        "<999999999999>".to_string(),
        "CEF:".to_string(),
        "CEF:0|||||||".to_string(),
        "#fields".to_string(),
        "#separator \\x".to_string(),
        "[".to_string(),
        "{\"Records\":[".to_string(),
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}]}]}]}".to_string(),
        deep_json,
        deep_object,
        huge_number,
        "x=".repeat(10_000),
        "\"".repeat(10_000),
        "\u{feff}\u{fffd}\u{10ffff}".to_string(),
    ];
    for case in &cases {
        parse_everywhere(case);
    }
}
