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
//! The cases run through `weft_correlate::cases`, as `weft rules test --cases` runs them:
//! `read_event_file`, the whole pack's `SigmaMatcher`, and for correlations and sequences the
//! signals of the matches through a `Correlator` (no lateness, flushed at the end of the file).
//! This test adds the pack's own conventions (UUID ids, author, level, description, false
//! positives, an ATT&CK tag); SigmaHQ's rules (`rules/sigmahq/`) keep their upstream metadata
//! and need a UUID id, their author and a level.

use std::path::{Path, PathBuf};

use weft_correlate::cases::Cases;
use weft_correlate::sigma::rule::RuleMeta;
use weft_correlate::sigma::{FieldMapping, Placeholders};

fn pack_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    root.canonicalize()
        .unwrap_or_else(|error| panic!("cannot open the rule pack {}: {error}", root.display()))
}

/// Loads the whole pack; every document must load.
fn load_pack(root: &Path) -> Cases {
    let mapping_path = root.join("mapping.toml");
    let mapping_text = std::fs::read_to_string(&mapping_path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", mapping_path.display()));
    let mapping = FieldMapping::from_toml(&[&mapping_text])
        .unwrap_or_else(|error| panic!("{}: invalid mapping: {error}", mapping_path.display()));
    Cases::load(&[root.to_path_buf()], &mapping, &Placeholders::default()).unwrap_or_else(
        |problems| {
            panic!(
                "rule pack documents refused ({}):\n{}",
                problems.len(),
                problems.join("\n")
            )
        },
    )
}

/// Where the pack keeps SigmaHQ's rules, unmodified (`rules/sigmahq/README.md`).
const SIGMAHQ_DIR: &str = "sigmahq";

/// Problems with one document's metadata (the pack's conventions, docs/rules.md). A SigmaHQ
/// rule keeps its upstream metadata as it is: it needs a UUID id, its author (the Detection
/// Rule License asks that it stays) and a level.
fn metadata_problems(meta: &RuleMeta, from_sigmahq: bool) -> Vec<String> {
    let mut problems = Vec::new();
    match meta.id.as_deref() {
        Some(id) if is_uuid(id) => {}
        Some(id) => problems.push(format!("id `{id}` is not a UUID")),
        None => problems.push("no id".to_string()),
    }
    if meta.level.is_none() {
        problems.push("no level".to_string());
    }
    if from_sigmahq {
        if meta.author.as_deref().is_none_or(str::is_empty) {
            problems.push("no author (SigmaHQ rules keep theirs)".to_string());
        }
        return problems;
    }
    if meta.author.as_deref() != Some("weft") {
        problems.push("author is not `weft`".to_string());
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

    for (path, meta) in pack.documents() {
        let from_sigmahq = path
            .strip_prefix(&root)
            .is_ok_and(|relative| relative.starts_with(SIGMAHQ_DIR));
        for problem in metadata_problems(meta, from_sigmahq) {
            failures.push(format!("{}: `{}`: {problem}", path.display(), meta.title));
        }
    }

    let outcomes = pack.run().expect("the rule pack directory is readable");
    assert!(
        !outcomes.is_empty(),
        "no rule files under {}",
        root.display()
    );
    for outcome in &outcomes {
        let label = match (&outcome.title, &outcome.rule) {
            (Some(title), Some(rule)) => format!("rule `{title}` ({rule})"),
            _ => outcome.file.display().to_string(),
        };
        for failure in &outcome.failures {
            failures.push(format!("{label}: {failure}"));
        }
    }
    println!(
        "rule pack: {} documents, {} rules tested",
        pack.documents().len(),
        outcomes.len()
    );
    assert!(
        failures.is_empty(),
        "rule pack failures ({}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
