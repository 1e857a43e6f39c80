//! A rule's own test events: `<rule>.tests/` beside `<rule>.yml`, with events that must fire
//! it and events that must not, and `expected.toml` saying how:
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
//! [`Cases::load`] loads every rule under the given paths together (Sigma rules, correlations,
//! sequences, policies), as the detector does; [`Cases::run`] runs each rule file's cases
//! through the same path as `weft rules test` and the streaming pipeline: `read_event_file`,
//! the whole set's `SigmaMatcher`, and the matches' signals through a `Correlator` (no
//! lateness, flushed at the end of the file). `weft rules test --cases` prints the outcome.
//! Files of scheduled SQL rules are skipped: they need the query engine (`weft jobs backfill`).
//!
//! A file of Sigma filters (tuning for rules kept unmodified elsewhere, such as SigmaHQ's) is
//! tested through a rule one of its filters names: `rule` is that rule's id, the positive
//! events are ones it still fires on, the negative ones those the filter suppresses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::correlation::extract::signals_from_batch;
use crate::correlation::sequence::load_sequence_paths;
use crate::correlation::{CorrelationSet, Correlator, CorrelatorConfig, ManualClock};
use crate::sigma::filter::FilterTarget;
use crate::sigma::loader::rule_files;
use crate::sigma::report::{match_records, read_event_file};
use crate::sigma::rule::RuleMeta;
use crate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_paths};

/// One rule's `expected.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub rule: String,
    pub format: String,
    pub positive: String,
    pub alerts: usize,
    pub negative: String,
}

/// The rules under test, loaded together.
pub struct Cases {
    matcher: SigmaMatcher,
    set: Arc<CorrelationSet>,
    /// Every document's metadata with the file it came from (Sigma rules, correlations,
    /// sequences).
    documents: Vec<(PathBuf, RuleMeta)>,
    /// Every filter's file and the rule ids or names it names (`rules: any` names none).
    filters: Vec<(PathBuf, Vec<String>)>,
    paths: Vec<PathBuf>,
}

impl std::fmt::Debug for Cases {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Cases")
            .field("documents", &self.documents.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of one rule file's cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    pub file: PathBuf,
    /// The rule under test (`expected.toml`'s `rule`), when it could be read.
    pub rule: Option<String>,
    pub title: Option<String>,
    /// What is wrong; empty when the case passed.
    pub failures: Vec<String>,
}

impl CaseOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Cases {
    /// Loads every rule under `paths`. `Err` lists the documents that do not load, ids used by
    /// more than one document, and correlations that cannot run together.
    pub fn load(
        paths: &[PathBuf],
        mapping: &FieldMapping,
        placeholders: &Placeholders,
    ) -> Result<Cases, Vec<String>> {
        let mut rules = load_paths(paths, placeholders);
        let sequences = load_sequence_paths(paths);
        let shown = |path: Option<&Path>| path.map(|path| path.display().to_string());
        let mut problems: Vec<String> = rules
            .checks
            .iter()
            .filter(|check| check.status != "loaded")
            .map(|check| {
                format!(
                    "{}: {}: {}",
                    shown(check.path.as_deref()).unwrap_or_default(),
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
        let sequence_checks = sequences.checks();
        let mut files_of_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for check in rules.checks.iter().chain(&sequence_checks) {
            if let Some(id) = &check.id {
                files_of_id
                    .entry(id)
                    .or_default()
                    .push(shown(check.path.as_deref()).unwrap_or_else(|| "?".to_string()));
            }
        }
        problems.extend(files_of_id.iter().filter(|(_, files)| files.len() > 1).map(
            |(id, files)| {
                format!(
                    "rule id {id} is used by more than one document: {}",
                    files.join(", ")
                )
            },
        ));
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
        let filters = rules
            .filters
            .iter()
            .map(|filter| {
                let named = match &filter.target {
                    FilterTarget::Any => Vec::new(),
                    FilterTarget::Rules(named) => named.clone(),
                };
                (filter.origin.path.clone().unwrap_or_default(), named)
            })
            .collect();
        let matcher = SigmaMatcher::new(std::mem::take(&mut rules.rules), mapping);
        let set = match CorrelationSet::with_sequences(
            matcher.rules(),
            &rules.correlations,
            &sequences.rules,
            mapping,
        ) {
            Ok(set) => set,
            Err(error) => {
                problems.push(format!("the correlations cannot run together: {error}"));
                return Err(problems);
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Cases {
            matcher,
            set: Arc::new(set),
            documents,
            filters,
            paths: paths.to_vec(),
        })
    }

    /// Every loaded document with its file.
    pub fn documents(&self) -> &[(PathBuf, RuleMeta)] {
        &self.documents
    }

    /// How often `rule_id` fires on the events of `path`: matched events for a Sigma rule,
    /// alerts for a correlation or sequence. Also every rule id that fired, for messages.
    pub fn fire(
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

    /// Runs the cases of every rule file under the loaded paths (SQL rule files skipped). A
    /// rule file without `<rule>.tests/expected.toml` is a failure: every rule is tested.
    pub fn run(&self) -> Result<Vec<CaseOutcome>, String> {
        let mut files = Vec::new();
        for path in &self.paths {
            files.extend(
                rule_files(path)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
            );
        }
        files.sort();
        files.dedup();
        Ok(files
            .iter()
            .filter(|file| {
                !std::fs::read_to_string(file)
                    .is_ok_and(|text| text.lines().any(|line| line.starts_with("sql:")))
            })
            .map(|file| self.run_file(file))
            .collect())
    }

    fn run_file(&self, file: &Path) -> CaseOutcome {
        let mut outcome = CaseOutcome {
            file: file.to_path_buf(),
            rule: None,
            title: None,
            failures: Vec::new(),
        };
        let tests_dir = file.with_extension("tests");
        let expected_path = tests_dir.join("expected.toml");
        let Ok(text) = std::fs::read_to_string(&expected_path) else {
            outcome
                .failures
                .push(format!("no test events: add {}", expected_path.display()));
            return outcome;
        };
        let expected: Expected = match toml::from_str(&text) {
            Ok(expected) => expected,
            Err(error) => {
                outcome
                    .failures
                    .push(format!("{}: {error}", expected_path.display()));
                return outcome;
            }
        };
        outcome.rule = Some(expected.rule.clone());
        let in_file = self.documents.iter().find(|(path, meta)| {
            path == file && meta.id.as_deref() == Some(expected.rule.as_str())
        });
        let filtered_by_file = || {
            self.filters
                .iter()
                .any(|(path, named)| path == file && named.contains(&expected.rule))
                .then(|| {
                    self.documents
                        .iter()
                        .find(|(_, meta)| meta.id.as_deref() == Some(expected.rule.as_str()))
                })
                .flatten()
        };
        let Some((_, meta)) = in_file.or_else(filtered_by_file) else {
            outcome.failures.push(format!(
                "{}: rule {} is not a document of {} nor a rule its filters name",
                expected_path.display(),
                expected.rule,
                file.display()
            ));
            return outcome;
        };
        outcome.title = Some(meta.title.clone());
        if expected.alerts == 0 {
            outcome.failures.push(format!(
                "{}: a positive case must expect at least one alert",
                expected_path.display()
            ));
        }
        let positive = tests_dir.join(&expected.positive);
        match self.fire(&positive, &expected.format, &expected.rule) {
            Ok((count, _)) if count == expected.alerts => {}
            Ok((count, fired)) => outcome.failures.push(format!(
                "{} fired it {count} time(s), expected {} ({})",
                positive.display(),
                expected.alerts,
                self.describe(&fired)
            )),
            Err(error) => outcome.failures.push(error),
        }
        let negative = tests_dir.join(&expected.negative);
        match self.fire(&negative, &expected.format, &expected.rule) {
            Ok((0, _)) => {}
            Ok((count, fired)) => outcome.failures.push(format!(
                "{} must not fire it, but it fired {count} time(s) ({})",
                negative.display(),
                self.describe(&fired)
            )),
            Err(error) => outcome.failures.push(error),
        }
        outcome
    }
}
