//! weft's own rule pack (`rules/` at the repository root, `docs/rules.md`): every document
//! loads (Sigma rules, Sigma correlations, weft sequences, with the pack's field mapping
//! `rules/mapping.toml`), carries the pack's metadata, and every rule file has test events
//! beside it that fire it (positive) and do not (negative).
//!
//! Each rule file `rules/<area>/<rule>.yml` has a directory `rules/<area>/<rule>.tests/`
//! holding the event files and `expected.toml`:
//!
//! ```toml
//! rule = "3f0d7c8e-..."      # id of the rule under test (a document of the rule file)
//! format = "syslog3164"      # ingest format of the event files (`weft formats`)
//! positive = "positive.log"  # events that must fire the rule...
//! alerts = 1                 # ...this many times: matched events for a Sigma rule,
//!                            # alerts for a correlation or a sequence
//! negative = "negative.log"  # events that must not fire it
//! ```
//!
//! The events go through the library as `weft rules test` and the streaming pipeline do:
//! `read_event_file`, the whole pack's `SigmaMatcher`, and for correlations and sequences the
//! signals of the matches through a `Correlator` (no lateness, flushed at the end of the file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use weft_correlate::correlation::extract::signals_from_batch;
use weft_correlate::correlation::sequence::load_sequence_paths;
use weft_correlate::correlation::{CorrelationSet, Correlator, CorrelatorConfig, ManualClock};
use weft_correlate::sigma::loader::rule_files;
use weft_correlate::sigma::report::{match_records, read_event_file};
use weft_correlate::sigma::rule::RuleMeta;
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};

/// One rule's `expected.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule: String,
    format: String,
    positive: String,
    alerts: usize,
    negative: String,
}

/// The loaded pack: the matcher over every Sigma rule, the correlations and sequences over it.
struct Pack {
    matcher: SigmaMatcher,
    set: Arc<CorrelationSet>,
    /// Every document's metadata with the file it came from (Sigma rules, correlations,
    /// sequences).
    documents: Vec<(PathBuf, RuleMeta)>,
}

fn pack_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    root.canonicalize()
        .unwrap_or_else(|error| panic!("cannot open the rule pack {}: {error}", root.display()))
}

/// Loads the whole pack; every document must load.
fn load_pack(root: &Path) -> Pack {
    let placeholders = Placeholders::default();
    let mut rules = load_paths(&[root.to_path_buf()], &placeholders);
    let sequences = load_sequence_paths(&[root.to_path_buf()]);
    // The Sigma loader leaves sequence documents to the sequence loader.
    let refused: Vec<String> = rules
        .checks
        .iter()
        .filter(|check| check.status != "loaded")
        .map(|check| {
            format!(
                "{}: {}: {}",
                check
                    .path
                    .as_deref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
                check.title.as_deref().unwrap_or("(untitled)"),
                check.reason.as_deref().unwrap_or("refused")
            )
        })
        .chain(sequences.errors.iter().map(|(file, document, reason)| {
            format!(
                "{}: document {document}: invalid sequence: {reason}",
                file.display()
            )
        }))
        .collect();
    assert!(
        refused.is_empty(),
        "rule pack documents refused ({}):\n{}",
        refused.len(),
        refused.join("\n")
    );
    let mapping_path = root.join("mapping.toml");
    let mapping_text = std::fs::read_to_string(&mapping_path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", mapping_path.display()));
    let mapping = FieldMapping::from_toml(&[&mapping_text])
        .unwrap_or_else(|error| panic!("{}: invalid mapping: {error}", mapping_path.display()));
    let sequence_checks = sequences.checks();
    let mut files_of_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for check in rules.checks.iter().chain(&sequence_checks) {
        if let Some(id) = &check.id {
            let file = check.path.as_deref().unwrap_or(Path::new("?"));
            files_of_id
                .entry(id)
                .or_default()
                .push(file.display().to_string());
        }
    }
    let reused: Vec<String> = files_of_id
        .iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(id, files)| format!("{id}: {}", files.join(", ")))
        .collect();
    assert!(
        reused.is_empty(),
        "rule ids used by more than one document (each needs its own UUID):\n{}",
        reused.join("\n")
    );
    let mut documents = Vec::new();
    let path_of = |id: &Option<String>| -> PathBuf {
        rules
            .checks
            .iter()
            .find(|check| check.id.is_some() && &check.id == id)
            .and_then(|check| check.path.clone())
            .unwrap_or_default()
    };
    for plan in &rules.rules {
        documents.push((path_of(&plan.meta.id), plan.meta.clone()));
    }
    for correlation in &rules.correlations {
        documents.push((path_of(&correlation.meta.id), correlation.meta.clone()));
    }
    for rule in &sequences.rules {
        let path = sequence_checks
            .iter()
            .find(|check| check.id == rule.meta.id)
            .and_then(|check| check.path.clone())
            .unwrap_or_default();
        documents.push((path, rule.meta.clone()));
    }
    let matcher = SigmaMatcher::new(std::mem::take(&mut rules.rules), &mapping);
    let set = CorrelationSet::with_sequences(
        matcher.rules(),
        &rules.correlations,
        &sequences.rules,
        &mapping,
    )
    .unwrap_or_else(|error| panic!("the pack's correlations cannot run together: {error}"));
    Pack {
        matcher,
        set: Arc::new(set),
        documents,
    }
}

impl Pack {
    /// How often `rule_id` fires on the events of `path`: matched events for a Sigma rule,
    /// alerts for a correlation or sequence. Also every rule id that fired, for messages.
    fn fire(
        &self,
        path: &Path,
        format: &str,
        rule_id: &str,
    ) -> Result<(usize, BTreeMap<String, usize>), String> {
        let bytes = std::fs::read(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let origin = path.display().to_string();
        let batch = read_event_file(&origin, &bytes, format).map_err(|error| error.to_string())?;
        let mut fired: BTreeMap<String, usize> = BTreeMap::new();
        for record in match_records(&self.matcher, &batch).map_err(|error| error.to_string())? {
            *fired
                .entry(record.rule_id.unwrap_or(record.rule_title))
                .or_default() += 1;
        }
        let matches = self
            .matcher
            .match_batch(&batch)
            .map_err(|error| error.to_string())?;
        let signals = signals_from_batch(&self.set, &batch, &matches, 0, &|row| row as u64)
            .map_err(|error| error.to_string())?;
        let mut correlator = Correlator::new(
            self.set.clone(),
            CorrelatorConfig {
                allowed_lateness: 0,
                ..CorrelatorConfig::default()
            },
            Arc::new(ManualClock::new(0)),
        );
        for signal in signals {
            correlator.observe(signal);
        }
        for alert in correlator.flush() {
            *fired
                .entry(alert.rule_id.unwrap_or(alert.rule_name))
                .or_default() += 1;
        }
        let count = fired.get(rule_id).copied().unwrap_or(0);
        Ok((count, fired))
    }

    /// What fired, by rule title, for failure messages.
    fn describe(&self, fired: &BTreeMap<String, usize>) -> String {
        let parts: Vec<String> = fired
            .iter()
            .map(|(id, count)| {
                let title = self
                    .documents
                    .iter()
                    .find(|(_, meta)| meta.id.as_deref() == Some(id.as_str()))
                    .map_or(id.as_str(), |(_, meta)| meta.title.as_str());
                format!("`{title}` {count}")
            })
            .collect();
        if parts.is_empty() {
            "nothing fired".to_string()
        } else {
            format!("all that fired: {}", parts.join(", "))
        }
    }
}

/// Problems with one document's metadata (the pack's conventions, docs/rules.md).
fn metadata_problems(meta: &RuleMeta) -> Vec<String> {
    let mut problems = Vec::new();
    match meta.id.as_deref() {
        Some(id) if is_uuid(id) => {}
        Some(id) => problems.push(format!("id `{id}` is not a UUID")),
        None => problems.push("no id".to_string()),
    }
    if meta.author.as_deref() != Some("weft") {
        problems.push("author is not `weft`".to_string());
    }
    if meta.level.is_none() {
        problems.push("no level".to_string());
    }
    if meta.description.as_deref().is_none_or(str::is_empty) {
        problems.push("no description".to_string());
    }
    if meta.falsepositives.is_empty() {
        problems.push("no falsepositives".to_string());
    }
    if meta.attack_tags().next().is_none() {
        problems.push("no ATT&CK tag (`attack.*`)".to_string());
    }
    problems
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|group| group.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn every_rule_loads_carries_metadata_and_passes_its_test_events() {
    let root = pack_root();
    let pack = load_pack(&root);
    let mut failures: Vec<String> = Vec::new();

    for (path, meta) in &pack.documents {
        for problem in metadata_problems(meta) {
            failures.push(format!("{}: `{}`: {problem}", path.display(), meta.title));
        }
    }

    let files = rule_files(&root).expect("the rule pack directory is readable");
    assert!(!files.is_empty(), "no rule files under {}", root.display());
    let mut tested = 0usize;
    for file in &files {
        // Scheduled SQL rules need the query engine: tests/sql_rules.rs runs them.
        if std::fs::read_to_string(file)
            .is_ok_and(|text| text.lines().any(|line| line.starts_with("sql:")))
        {
            continue;
        }
        let tests_dir = file.with_extension("tests");
        let expected_path = tests_dir.join("expected.toml");
        let Ok(text) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!(
                "{}: no test events: add {}",
                file.display(),
                expected_path.display()
            ));
            continue;
        };
        let expected: Expected = match toml::from_str(&text) {
            Ok(expected) => expected,
            Err(error) => {
                failures.push(format!("{}: {error}", expected_path.display()));
                continue;
            }
        };
        let Some((_, meta)) = pack.documents.iter().find(|(path, meta)| {
            path == file && meta.id.as_deref() == Some(expected.rule.as_str())
        }) else {
            failures.push(format!(
                "{}: rule {} is not a document of {}",
                expected_path.display(),
                expected.rule,
                file.display()
            ));
            continue;
        };
        let label = format!("rule `{}` ({})", meta.title, expected.rule);
        let positive = tests_dir.join(&expected.positive);
        match pack.fire(&positive, &expected.format, &expected.rule) {
            Ok((count, _)) if count == expected.alerts => {}
            Ok((count, fired)) => failures.push(format!(
                "{label}: {} fired it {count} time(s), expected {} ({})",
                positive.display(),
                expected.alerts,
                pack.describe(&fired)
            )),
            Err(error) => failures.push(format!("{label}: {error}")),
        }
        if expected.alerts == 0 {
            failures.push(format!(
                "{label}: {}: a positive case must expect at least one alert",
                expected_path.display()
            ));
        }
        let negative = tests_dir.join(&expected.negative);
        match pack.fire(&negative, &expected.format, &expected.rule) {
            Ok((0, _)) => {}
            Ok((count, fired)) => failures.push(format!(
                "{label}: {} must not fire it, but it fired {count} time(s) ({})",
                negative.display(),
                pack.describe(&fired)
            )),
            Err(error) => failures.push(format!("{label}: {error}")),
        }
        tested += 1;
    }
    println!(
        "rule pack: {} documents in {} files, {tested} rules tested",
        pack.documents.len(),
        files.len()
    );
    assert!(
        failures.is_empty(),
        "rule pack failures ({}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
