//! Differential tests against independent engines, RSigma (rsigma-eval 0.15) and sigma-rust
//! 0.7: SigmaHQ's process_creation rules over generated Sysmon process events; the (event, rule)
//! hit sets must be identical (over the rules the other engine loads). Skipped, with a message,
//! without `../shared/corpora`.

#[path = "../benches/support/process_events.rs"]
mod process_events;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::{Class, Event};

const EVENTS: usize = 600;

/// The generated events: every fifth one suspicious, so that many rules fire in a short run.
fn events() -> Vec<process_events::ProcessEvent> {
    let mut events = process_events::process_events(EVENTS, 7);
    let suspicious = process_events::process_events(EVENTS * 20, 11);
    let picked: Vec<_> = suspicious
        .into_iter()
        .filter(|fields| {
            fields
                .iter()
                .any(|(key, value)| *key == "Description" && value.is_empty())
        })
        .take(EVENTS / 5)
        .collect();
    for (index, fields) in picked.into_iter().enumerate() {
        events[index * 5] = fields;
    }
    events
}

fn rules_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/sigma-rules/rules/windows/process_creation");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/corpora not found (the SigmaHQ rules live there)");
        None
    }
}

fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("rules")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .collect();
    files.sort();
    files
}

fn json(fields: &process_events::ProcessEvent) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .map(|(key, value)| (key.to_string(), serde_json::Value::String(value.clone())))
            .collect(),
    )
}

/// weft's (event, rule id) hits.
fn weft_hits(dir: &Path, events: &[process_events::ProcessEvent]) -> BTreeSet<(usize, String)> {
    let mut builder = EventBatchBuilder::new();
    for (index, fields) in events.iter().enumerate() {
        let mut event = Event::new("windows");
        event.class = Class::ProcessActivity;
        for (key, value) in fields {
            event
                .attrs
                .push((Cow::Borrowed(*key), Cow::Borrowed(value.as_str())));
        }
        let id = format!("{index:032x}");
        let meta = RecordMeta {
            ingest_time: 0,
            event_id: &id,
            service: "test",
            raw: "{}",
            not_utf8: false,
        };
        builder.append(&event, &meta);
    }
    let batch = builder.finish().expect("valid batch");
    let set = load_paths(&[dir.to_path_buf()], &Placeholders::default());
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let matcher = SigmaMatcher::new(set.rules, &FieldMapping::default());
    matcher
        .match_batch(&batch)
        .expect("schema v1")
        .iter()
        .filter_map(|found| {
            matcher.rules()[found.rule]
                .meta
                .id
                .clone()
                .map(|id| (found.row, id))
        })
        .collect()
}

#[test]
fn hit_sets_equal_rsigma_on_sigmahq_process_creation_rules() {
    let Some(dir) = rules_dir() else { return };
    let events = events();
    let weft = weft_hits(&dir, &events);
    let mut engine = rsigma_eval::Engine::new();
    for file in rule_files(&dir) {
        let collection =
            rsigma_parser::parse_sigma_file(&file).expect("rsigma parses SigmaHQ rules");
        for rule in &collection.rules {
            engine
                .add_rule(rule)
                .expect("rsigma compiles SigmaHQ rules");
        }
    }
    let mut rsigma = BTreeSet::new();
    for (index, fields) in events.iter().enumerate() {
        let json = json(fields);
        for result in engine.evaluate(&rsigma_eval::JsonEvent::borrow(&json)) {
            if let Some(id) = &result.header.rule_id {
                rsigma.insert((index, id.clone()));
            }
        }
    }
    let rules_hit: BTreeSet<&String> = weft.iter().map(|(_, id)| id).collect();
    println!(
        "{} hits of {} rules on {EVENTS} events; rsigma {} hits",
        weft.len(),
        rules_hit.len(),
        rsigma.len()
    );
    assert!(weft.len() > EVENTS / 5, "the suspicious events fire rules");
    let only_weft: Vec<_> = weft.difference(&rsigma).collect();
    let only_rsigma: Vec<_> = rsigma.difference(&weft).collect();
    assert!(
        only_weft.is_empty() && only_rsigma.is_empty(),
        "only weft: {only_weft:?}\nonly rsigma: {only_rsigma:?}"
    );
}

#[test]
fn hit_sets_equal_sigma_rust_on_the_rules_it_loads() {
    let Some(dir) = rules_dir() else { return };
    // sigma-rust evaluates each rule on each event: fewer events keep the test short.
    let mut events = events();
    events.truncate(EVENTS / 4);
    let weft = weft_hits(&dir, &events);
    let mut rules = Vec::new();
    let mut unloaded = 0;
    for file in rule_files(&dir) {
        let text = std::fs::read_to_string(&file).expect("rule file");
        match sigma_rust::rule_from_yaml(&text) {
            Ok(rule) => rules.push(rule),
            Err(_) => unloaded += 1,
        }
    }
    let loaded: BTreeSet<String> = rules.iter().filter_map(|rule| rule.id.clone()).collect();
    let parsed: Vec<_> = events
        .iter()
        .map(|fields| sigma_rust::event_from_json(&json(fields).to_string()).expect("event json"))
        .collect();
    let mut peer = BTreeSet::new();
    for (index, event) in parsed.iter().enumerate() {
        for rule in &rules {
            if rule.is_match(event)
                && let Some(id) = &rule.id
            {
                peer.insert((index, id.clone()));
            }
        }
    }
    let weft: BTreeSet<(usize, String)> = weft
        .into_iter()
        .filter(|(_, id)| loaded.contains(id))
        .collect();
    println!(
        "sigma-rust loads {} rules ({unloaded} not); weft {} hits, sigma-rust {} hits on them",
        rules.len(),
        weft.len(),
        peer.len()
    );
    let only_weft: Vec<_> = weft.difference(&peer).collect();
    let only_peer: Vec<_> = peer.difference(&weft).collect();
    assert!(
        only_weft.is_empty() && only_peer.is_empty(),
        "only weft: {only_weft:?}\nonly sigma-rust: {only_peer:?}"
    );
}
