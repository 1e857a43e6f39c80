//! Loading rule sets from files and directories, with a per-document verdict: what
//! `weft rules check` reports (`loaded`, or `refused` with the reason), and the rules the
//! matcher is built from.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::compile::{RulePlan, compile_rule};
use super::correlation::CorrelationRule;
use super::error::{RuleError, RuleErrorKind, RuleOrigin};
use super::filter::SigmaFilter;
use super::placeholder::Placeholders;
use super::rule::{SigmaDocument, SigmaRule, parse_documents};

/// The verdict on one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCheck {
    pub path: Option<PathBuf>,
    pub id: Option<String>,
    pub title: Option<String>,
    /// `loaded` or `refused`.
    pub status: &'static str,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RuleCheck {
    fn loaded(origin: &RuleOrigin, id: Option<String>, title: &str) -> RuleCheck {
        RuleCheck {
            path: origin.path.clone(),
            id,
            title: Some(title.to_string()),
            status: "loaded",
            reason: None,
        }
    }

    fn refused(error: &RuleError, title: Option<String>) -> RuleCheck {
        RuleCheck {
            path: error.origin.path.clone(),
            id: error.origin.rule.clone(),
            title,
            status: "refused",
            reason: Some(error.kind.to_string()),
        }
    }
}

/// Totals of a check, for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckTotals {
    pub loaded: usize,
    pub refused: usize,
}

/// A loaded rule set.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<RulePlan>,
    pub correlations: Vec<CorrelationRule>,
    pub filters: Vec<SigmaFilter>,
    pub checks: Vec<RuleCheck>,
    /// Every refusal, typed.
    pub errors: Vec<RuleError>,
}

impl RuleSet {
    pub fn totals(&self) -> CheckTotals {
        let loaded = self
            .checks
            .iter()
            .filter(|check| check.status == "loaded")
            .count();
        CheckTotals {
            loaded,
            refused: self.checks.len() - loaded,
        }
    }
}

/// Every `.yml`/`.yaml` file under `path` (or `path` itself), sorted.
pub fn rule_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        if next.is_dir() {
            for entry in fs::read_dir(&next)? {
                pending.push(entry?.path());
            }
        } else if next == path
            || next
                .extension()
                .is_some_and(|extension| extension == "yml" || extension == "yaml")
        {
            files.push(next);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads files and directories (recursively).
pub fn load_paths(paths: &[PathBuf], placeholders: &Placeholders) -> RuleSet {
    let mut sources = Vec::new();
    let mut unreadable = Vec::new();
    for path in paths {
        let files = match rule_files(path) {
            Ok(files) => files,
            Err(error) => {
                unreadable.push(RuleError::new(
                    RuleOrigin {
                        path: Some(path.clone()),
                        ..RuleOrigin::default()
                    },
                    RuleErrorKind::Io(error.to_string()),
                ));
                continue;
            }
        };
        for file in files {
            match fs::read_to_string(&file) {
                Ok(text) => sources.push((Some(file), text)),
                Err(error) => unreadable.push(RuleError::new(
                    RuleOrigin {
                        path: Some(file),
                        ..RuleOrigin::default()
                    },
                    RuleErrorKind::Io(error.to_string()),
                )),
            }
        }
    }
    let mut set = load_texts(&sources, placeholders);
    for error in unreadable {
        set.checks.push(RuleCheck::refused(&error, None));
        set.errors.push(error);
    }
    set
}

/// Loads rule texts (each with the path it came from, if any). Filters apply across the whole
/// set; correlations must reference rules of the set.
pub fn load_texts(sources: &[(Option<PathBuf>, String)], placeholders: &Placeholders) -> RuleSet {
    let mut set = RuleSet::default();
    let mut rules: Vec<SigmaRule> = Vec::new();
    let mut correlations = Vec::new();
    for (path, text) in sources {
        for document in parse_documents(text, path.as_deref()) {
            match document {
                Ok(SigmaDocument::Rule(rule)) => rules.push(rule),
                Ok(SigmaDocument::Correlation(correlation)) => {
                    let origin = RuleOrigin {
                        path: path.clone(),
                        document: 0,
                        rule: Some(correlation.meta.label()),
                    };
                    correlations.push((origin, correlation));
                }
                Ok(SigmaDocument::Filter(filter)) => {
                    set.checks.push(RuleCheck::loaded(
                        &filter.origin,
                        filter.meta.id.clone(),
                        &filter.meta.title,
                    ));
                    set.filters.push(filter);
                }
                Err(error) => {
                    set.checks.push(RuleCheck::refused(&error, None));
                    set.errors.push(error);
                }
            }
        }
    }
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for rule in &rules {
        let filters: Vec<&SigmaFilter> = set
            .filters
            .iter()
            .filter(|filter| filter.applies_to(rule))
            .collect();
        match compile_rule(rule, &filters, placeholders) {
            Ok(plan) => {
                set.checks.push(RuleCheck::loaded(
                    &rule.origin,
                    rule.meta.id.clone(),
                    &rule.meta.title,
                ));
                names.extend(
                    rule.meta
                        .id
                        .iter()
                        .chain(rule.meta.name.iter())
                        .map(|name| (name.clone(), ())),
                );
                set.rules.push(plan);
            }
            Err(error) => {
                set.checks
                    .push(RuleCheck::refused(&error, Some(rule.meta.title.clone())));
                set.errors.push(error);
            }
        }
    }
    for (_, correlation) in &correlations {
        names.extend(
            correlation
                .meta
                .id
                .iter()
                .chain(correlation.meta.name.iter())
                .map(|name| (name.clone(), ())),
        );
    }
    // References are checked within a collection: a lone correlation document (no detection
    // rules loaded with it) is checked for its own structure only.
    let collection = !rules.is_empty();
    for (origin, correlation) in correlations {
        let missing = correlation
            .rules
            .iter()
            .find(|name| collection && !names.contains_key(*name));
        match missing {
            Some(missing) => {
                let error =
                    RuleError::new(origin, RuleErrorKind::UnknownReference(missing.clone()));
                set.checks.push(RuleCheck::refused(
                    &error,
                    Some(correlation.meta.title.clone()),
                ));
                set.errors.push(error);
            }
            None => {
                set.checks.push(RuleCheck::loaded(
                    &origin,
                    correlation.meta.id.clone(),
                    &correlation.meta.title,
                ));
                set.correlations.push(correlation);
            }
        }
    }
    set
}
