//! Rules through the API: the catalogue of every rule document the detection side loads
//! ([`catalogue`]), changes to the rules managed in `<data_dir>/rules/` ([`write`]), and
//! rules tried on posted events or replayed over the store ([`trial`]).
//!
//! The rules `weft run` detects with are the configured paths (`[detect] rules`, read-only
//! here) plus the managed directory, less the ids in `<data_dir>/rules/disabled.json` (see
//! `weft_correlate::ruleset`). Every verdict is the one `weft rules check` gives: the same
//! loaders run here.

pub mod trial;
pub mod write;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use weft_correlate::correlation::sequence::{LoadedSequences, load_sequence_paths};
use weft_correlate::ruleset::{deployment_paths, managed_dir, read_disabled};
use weft_correlate::schedule::spec::format_duration;
use weft_correlate::schedule::sql_rule::SqlRule;
use weft_correlate::schedule::{JobHistory, RunRecord, load_sql_rules};
use weft_correlate::sigma::loader::rule_files;
use weft_correlate::sigma::rule::RuleMeta;
use weft_correlate::sigma::{Placeholders, RuleCheck, SigmaDocument, load_paths, parse_documents};

use crate::error::ApiError;

/// Where a deployment's rules are: the data directory and the configured paths.
#[derive(Debug, Clone)]
pub struct RuleSources {
    pub data_dir: PathBuf,
    pub configured: Vec<PathBuf>,
    pub mapping: Vec<PathBuf>,
    pub placeholders: Option<PathBuf>,
}

impl RuleSources {
    /// The configured paths plus the managed directory (when it exists).
    pub fn paths(&self) -> Vec<PathBuf> {
        deployment_paths(&self.data_dir, &self.configured)
    }

    pub fn managed_dir(&self) -> PathBuf {
        managed_dir(&self.data_dir)
    }

    /// The placeholder values, as the detection side reads them.
    pub fn placeholders(&self) -> Result<Placeholders, ApiError> {
        let Some(path) = &self.placeholders else {
            return Ok(Placeholders::default());
        };
        let text =
            std::fs::read_to_string(path).map_err(|error| internal("placeholders", error))?;
        Placeholders::from_toml(&text).map_err(|error| internal("placeholders", error))
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleEntry {
    /// The rule's id (its name or title when it has none).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub title: String,
    /// `sigma`, `correlation`, `sequence`, `baseline` or `sql`.
    pub kind: &'static str,
    pub level: Option<&'static str>,
    pub tags: Vec<String>,
    pub status: Option<String>,
    pub enabled: bool,
    /// `config` (a configured path: read-only here) or `managed` (`<data_dir>/rules/`).
    pub source: &'static str,
    /// The file from the configured path or managed directory that holds it
    /// (`rules/authentication/ssh.yml`): callers never learn the server's directories.
    pub path: String,
    /// The file on the server.
    #[serde(skip)]
    pub file: PathBuf,
    /// Alerts of this rule in the detection store.
    pub hits: u64,
    /// A SQL rule's schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleInfo>,
    /// A SQL rule's latest run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunRecord>,
    /// A SQL rule's open gaps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_gaps: Option<usize>,
}

/// A SQL rule's schedule, as written.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScheduleInfo {
    pub interval: String,
    pub lookback: String,
    pub delay: String,
}

/// A document the loaders refused, with the reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refused {
    pub path: Option<String>,
    pub id: Option<String>,
    pub title: Option<String>,
    pub reason: String,
}

/// Every rule and every refused document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalogue {
    pub rules: Vec<RuleEntry>,
    pub refused: Vec<Refused>,
}

impl Catalogue {
    /// The rule whose id (or name) is `id`.
    pub fn find(&self, id: &str) -> Option<&RuleEntry> {
        self.rules.iter().find(|rule| rule.id == id).or_else(|| {
            self.rules
                .iter()
                .find(|rule| rule.name.as_deref() == Some(id))
        })
    }

    /// Every id and name in use.
    pub fn names(&self) -> BTreeSet<&str> {
        self.rules
            .iter()
            .flat_map(|rule| std::iter::once(rule.id.as_str()).chain(rule.name.as_deref()))
            .chain(
                self.refused
                    .iter()
                    .filter_map(|refused| refused.id.as_deref()),
            )
            .collect()
    }
}

/// Counts that decorate the catalogue: alerts per rule and the job history.
pub struct Decorations<'a> {
    /// Stored alerts per rule id (or name, for rules without an id).
    pub hits: &'a HashMap<String, u64>,
    pub history: Option<&'a JobHistory>,
}

pub(crate) fn internal(what: &str, error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, what, "rules call failed");
    ApiError::Internal
}

/// The catalogue of `sources`, as the detection side would load it.
pub fn catalogue(
    sources: &RuleSources,
    decorations: &Decorations<'_>,
) -> Result<Catalogue, ApiError> {
    let paths = sources.paths();
    let placeholders = sources.placeholders()?;
    let disabled = read_disabled(&sources.data_dir).map_err(|error| internal("disabled", error))?;
    let managed = sources.managed_dir();
    let sigma = load_paths(&paths, &placeholders);
    let sequences = load_sequence_paths(&paths);
    let sql = load_sql_rules(&paths);

    let mut catalogue = Catalogue::default();
    let entry = |meta: &RuleMeta, kind: &'static str, path: &Path| {
        let id = meta.label();
        let enabled = !(disabled.contains(&id)
            || meta
                .name
                .as_ref()
                .is_some_and(|name| disabled.contains(name)));
        let hits = decorations.hits.get(&id).copied().unwrap_or(0);
        RuleEntry {
            id,
            name: meta.name.clone(),
            title: meta.title.clone(),
            kind,
            level: meta.level.map(|level| level.as_str()),
            tags: meta.tags.clone(),
            status: meta
                .status
                .map(|status| format!("{status:?}").to_ascii_lowercase()),
            enabled,
            source: if path.starts_with(&managed) {
                "managed"
            } else {
                "config"
            },
            path: shown_path(path, &paths),
            file: path.to_path_buf(),
            hits,
            schedule: None,
            last_run: None,
            open_gaps: None,
        }
    };

    // Detection and correlation rules: each file's documents, kept when the loader loaded them.
    let loaded: Vec<&RuleCheck> = sigma
        .checks
        .iter()
        .filter(|check| check.status == "loaded")
        .collect();
    for path in &paths {
        let Ok(files) = rule_files(path) else {
            continue;
        };
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for document in parse_documents(&text, Some(&file)).into_iter().flatten() {
                let (meta, kind) = match &document {
                    SigmaDocument::Rule(rule) => (&rule.meta, "sigma"),
                    SigmaDocument::Correlation(rule) if rule.baseline.is_some() => {
                        (&rule.meta, "baseline")
                    }
                    SigmaDocument::Correlation(rule) => (&rule.meta, "correlation"),
                    SigmaDocument::Filter(_) => continue,
                };
                let is_loaded = loaded.iter().any(|check| {
                    check.path.as_deref() == Some(file.as_path())
                        && check.id == meta.id
                        && check.title.as_deref() == Some(meta.title.as_str())
                });
                if is_loaded {
                    catalogue.rules.push(entry(meta, kind, &file));
                }
            }
        }
    }
    for (rule, (file, _)) in sequence_files(&sequences) {
        catalogue.rules.push(entry(&rule.meta, "sequence", file));
    }
    for rule in &sql.rules {
        let path = rule.path.clone().unwrap_or_default();
        let mut sql_entry = entry(&rule.meta, "sql", &path);
        sql_entry.id = rule.id.clone();
        sql_entry.enabled = !disabled.contains(&rule.id);
        sql_entry.hits = decorations.hits.get(&rule.id).copied().unwrap_or(0);
        decorate_sql(&mut sql_entry, rule, decorations.history)?;
        catalogue.rules.push(sql_entry);
    }

    for error in &sigma.errors {
        let origin = &error.origin;
        let is_sequence = origin.path.as_ref().is_some_and(|path| {
            sequences
                .documents
                .iter()
                .any(|(file, document)| file == path && *document == origin.document)
        });
        if !is_sequence {
            catalogue.refused.push(Refused {
                path: origin.path.as_ref().map(|path| shown_path(path, &paths)),
                id: origin.rule.clone(),
                title: None,
                reason: error.kind.to_string(),
            });
        }
    }
    let others = sequences.checks().into_iter().chain(sql.checks());
    for check in others.filter(|check| check.status != "loaded") {
        catalogue.refused.push(Refused {
            path: check.path.as_ref().map(|path| shown_path(path, &paths)),
            id: check.id,
            title: check.title,
            reason: check.reason.unwrap_or_default(),
        });
    }
    Ok(catalogue)
}

/// Each loaded sequence with the file it came from (the loader keeps them in file order).
fn sequence_files(
    sequences: &LoadedSequences,
) -> impl Iterator<
    Item = (
        &weft_correlate::correlation::sequence::SequenceRule,
        &(PathBuf, usize),
    ),
> {
    let valid = sequences.documents.iter().filter(|(file, document)| {
        !sequences
            .errors
            .iter()
            .any(|(path, index, _)| path == file && index == document)
    });
    sequences.rules.iter().zip(valid)
}

fn decorate_sql(
    entry: &mut RuleEntry,
    rule: &SqlRule,
    history: Option<&JobHistory>,
) -> Result<(), ApiError> {
    entry.schedule = Some(ScheduleInfo {
        interval: format_duration(rule.schedule.interval()),
        lookback: format_duration(rule.schedule.lookback()),
        delay: format_duration(rule.schedule.delay()),
    });
    let Some(history) = history else {
        return Ok(());
    };
    let runs = history
        .runs(Some(&rule.id), 1)
        .map_err(|error| internal("job history", error))?;
    entry.last_run = runs.into_iter().next();
    entry.open_gaps = Some(
        history
            .gaps(&rule.id)
            .map_err(|error| internal("job history", error))?
            .len(),
    );
    Ok(())
}

/// `path` as the API shows it: from the last component of the configured path (or managed
/// directory) that holds it, so `/etc/weft/rules/auth/ssh.yml` under `/etc/weft/rules` is
/// `rules/auth/ssh.yml`, and a configured file is its file name.
fn shown_path(path: &Path, roots: &[PathBuf]) -> String {
    roots
        .iter()
        .filter(|root| path.starts_with(root))
        .max_by_key(|root| root.components().count())
        .and_then(|root| path.strip_prefix(root.parent()?).ok())
        .or_else(|| path.file_name().map(Path::new))
        .map(|shown| shown.display().to_string())
        .unwrap_or_default()
}

/// Whether `id` can name a managed rule's file: 1 to 128 letters, digits, `-`, `_` or `.`,
/// not starting with `.`.
pub fn is_file_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}
