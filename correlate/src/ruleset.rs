//! A deployment's detection content, loaded once: Sigma rules compiled into the matcher,
//! correlation rules and weft sequences compiled over them, and SQL rules for the scheduler,
//! from the same rule files and directories.
//!
//! A document that is refused does not stop the others: it becomes a warning naming its file,
//! document and reason (`weft rules check` shows the same verdicts). A field mapping or
//! placeholder file that cannot be read, or correlations that cannot run together, are
//! errors: detection would silently miss what they describe.
//!
//! A deployment's rules ([`DetectionRules::load_deployment`]) are the configured paths plus
//! the rules managed through the API in `<data_dir>/rules/` ([`managed_dir`]), less the
//! rules listed as disabled in `<data_dir>/rules/disabled.json` ([`read_disabled`]: a JSON
//! array of rule ids). A correlation or sequence that uses a disabled rule is skipped with a
//! warning, since it cannot run without it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::correlation::sequence::load_sequence_paths;
use crate::correlation::{CorrelationError, CorrelationSet};
use crate::schedule::{SqlRule, load_sql_rules};
use crate::sigma::rule::RuleMeta;
use crate::sigma::{FieldMapping, Placeholders, SigmaConfigError, SigmaMatcher, load_paths};

/// The directory under the data directory that holds the rules managed through the API.
pub const MANAGED_RULES_DIR: &str = "rules";
/// The file in [`MANAGED_RULES_DIR`] that lists the ids of disabled rules.
pub const DISABLED_RULES_FILE: &str = "disabled.json";

/// `<data_dir>/rules/`: rules created through the API (one `<id>.yml` per rule).
pub fn managed_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(MANAGED_RULES_DIR)
}

/// `<data_dir>/rules/disabled.json`.
pub fn disabled_path(data_dir: &Path) -> PathBuf {
    managed_dir(data_dir).join(DISABLED_RULES_FILE)
}

/// The configured rule paths plus the managed directory, when it exists.
pub fn deployment_paths(data_dir: &Path, configured: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths = configured.to_vec();
    let managed = managed_dir(data_dir);
    if managed.is_dir() && !paths.contains(&managed) {
        paths.push(managed);
    }
    paths
}

/// The ids of disabled rules; none when the file does not exist.
pub fn read_disabled(data_dir: &Path) -> Result<BTreeSet<String>, RulesError> {
    let path = disabled_path(data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(BTreeSet::new());
        }
        Err(source) => return Err(RulesError::Read { path, source }),
    };
    serde_json::from_str(&text).map_err(|error| RulesError::Disabled {
        path,
        reason: error.to_string(),
    })
}

/// Writes the disabled ids atomically (a temporary file renamed over the old one).
pub fn write_disabled(data_dir: &Path, disabled: &BTreeSet<String>) -> Result<(), RulesError> {
    let path = disabled_path(data_dir);
    let text = serde_json::to_string_pretty(disabled).map_err(|error| RulesError::Disabled {
        path: path.clone(),
        reason: error.to_string(),
    })?;
    write_atomically(&path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file in the same directory (created if
/// needed), fsynced and renamed into place: readers see the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RulesError> {
    use std::io::Write;
    let write_error = |source: std::io::Error| RulesError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary).map_err(write_error)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}

fn is_disabled(meta: &RuleMeta, names: &BTreeSet<String>) -> bool {
    meta.id
        .iter()
        .chain(meta.name.iter())
        .any(|name| names.contains(name))
        || names.contains(&meta.label())
}

/// Every id and name of `meta`, to find what references it.
fn names_of(meta: &RuleMeta) -> impl Iterator<Item = String> + '_ {
    meta.id
        .iter()
        .chain(meta.name.iter())
        .cloned()
        .chain(std::iter::once(meta.label()))
}

/// The loaded, compiled rules.
#[derive(Debug, Clone)]
pub struct DetectionRules {
    pub matcher: Arc<SigmaMatcher>,
    pub set: Arc<CorrelationSet>,
    pub sql: Vec<SqlRule>,
    /// One line per refused document.
    pub warnings: Vec<String>,
}

/// Why the rules cannot be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid field mapping: {0}")]
    Mapping(#[from] SigmaConfigError),
    #[error("invalid placeholders in {path}: {source}")]
    Placeholders {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("the correlation rules cannot run: {0}")]
    Correlation(#[from] CorrelationError),
    #[error("invalid list of disabled rules in {path} (a JSON array of rule ids): {reason}")]
    Disabled { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|source| RulesError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl DetectionRules {
    /// Loads every rule under `paths`, with the extra field `mappings` (applied over the
    /// default one) and `placeholders` values.
    pub fn load(
        paths: &[PathBuf],
        mappings: &[PathBuf],
        placeholders: Option<&Path>,
    ) -> Result<DetectionRules, RulesError> {
        DetectionRules::load_without(paths, mappings, placeholders, &BTreeSet::new())
    }

    /// The rules `weft run` detects with over `data_dir`: the configured `paths` plus the
    /// managed directory ([`deployment_paths`]), without the disabled rules
    /// ([`read_disabled`]).
    pub fn load_deployment(
        data_dir: &Path,
        paths: &[PathBuf],
        mappings: &[PathBuf],
        placeholders: Option<&Path>,
    ) -> Result<DetectionRules, RulesError> {
        let disabled = read_disabled(data_dir)?;
        DetectionRules::load_without(
            &deployment_paths(data_dir, paths),
            mappings,
            placeholders,
            &disabled,
        )
    }

    /// [`DetectionRules::load`] without the rules whose id or name is in `disabled`, and
    /// without the correlations and sequences that use them (each with a warning).
    pub fn load_without(
        paths: &[PathBuf],
        mappings: &[PathBuf],
        placeholders: Option<&Path>,
        disabled: &BTreeSet<String>,
    ) -> Result<DetectionRules, RulesError> {
        let placeholders = match placeholders {
            Some(path) => Placeholders::from_toml(&read(path)?).map_err(|source| {
                RulesError::Placeholders {
                    path: path.to_path_buf(),
                    source,
                }
            })?,
            None => Placeholders::default(),
        };
        let texts = mappings
            .iter()
            .map(|path| read(path))
            .collect::<Result<Vec<String>, RulesError>>()?;
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mapping = FieldMapping::from_toml(&texts)?;

        let mut sigma = load_paths(paths, &placeholders);
        let mut sequences = load_sequence_paths(paths);
        let mut sql = load_sql_rules(paths);
        let mut warnings = Vec::new();
        for error in &sigma.errors {
            let origin = &error.origin;
            let is_sequence = origin.path.as_ref().is_some_and(|path| {
                sequences
                    .documents
                    .iter()
                    .any(|(file, document)| file == path && *document == origin.document)
            });
            if !is_sequence {
                warnings.push(error.to_string());
            }
        }
        for (file, document, reason) in &sequences.errors {
            warnings.push(format!(
                "{} (document {}): sequence refused: {reason}",
                file.display(),
                document + 1
            ));
        }
        warnings.extend(sql.errors.iter().map(ToString::to_string));
        if !disabled.is_empty() {
            let mut off = disabled.clone();
            sigma.rules.retain(|plan| {
                let keep = !is_disabled(&plan.meta, disabled);
                if !keep {
                    off.extend(names_of(&plan.meta));
                }
                keep
            });
            sql.rules.retain(|rule| !disabled.contains(&rule.id));
            // Correlations may use correlations and sequences: drop users until none is left.
            loop {
                let before = sigma.correlations.len() + sequences.rules.len();
                sigma.correlations.retain(|rule| {
                    let used = rule.rules.iter().find(|name| off.contains(*name)).cloned();
                    skip(&rule.meta, used, disabled, &mut off, &mut warnings)
                });
                sequences.rules.retain(|rule| {
                    let used = rule
                        .steps
                        .iter()
                        .chain(rule.until.iter())
                        .map(|step| &step.rule)
                        .find(|name| off.contains(*name))
                        .cloned();
                    skip(&rule.meta, used, disabled, &mut off, &mut warnings)
                });
                if sigma.correlations.len() + sequences.rules.len() == before {
                    break;
                }
            }
        }
        let matcher = SigmaMatcher::new(sigma.rules, &mapping);
        let set = CorrelationSet::with_sequences(
            matcher.rules(),
            &sigma.correlations,
            &sequences.rules,
            &mapping,
        )?;
        Ok(DetectionRules {
            matcher: Arc::new(matcher),
            set: Arc::new(set),
            sql: sql.rules,
            warnings,
        })
    }

    /// Sigma rules (detections and correlations) loaded.
    pub fn sigma_count(&self) -> usize {
        self.set.rule_meta().len() + self.set.correlations().len()
    }
}

/// Whether to keep a correlation or sequence: not when it is disabled or uses a rule that is
/// off (`used`); what is dropped is off for its own users too.
fn skip(
    meta: &RuleMeta,
    used: Option<String>,
    disabled: &BTreeSet<String>,
    off: &mut BTreeSet<String>,
    warnings: &mut Vec<String>,
) -> bool {
    if is_disabled(meta, disabled) {
        off.extend(names_of(meta));
        return false;
    }
    let Some(used) = used else {
        return true;
    };
    warnings.push(format!(
        "{} is skipped: it uses the disabled rule {used}; enable that rule to run it",
        meta.label()
    ));
    off.extend(names_of(meta));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "title: Failed logon\nid: 5dca2a84-0000-4000-8000-000000000001\nname: failed_logon\nlogsource:\n    category: authentication\ndetection:\n    sel:\n        outcome: failure\n    condition: sel\n";
    const SPRAY: &str = "title: Spray\nid: 5dca2a84-0000-4000-8000-000000000002\nname: spray\ncorrelation:\n    type: event_count\n    rules:\n        - failed_logon\n    group-by:\n        - user\n    timespan: 5m\n    condition:\n        gte: 3\n";

    #[test]
    fn disabled_rules_and_their_users_are_left_out() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let managed = managed_dir(dir.path());
        std::fs::create_dir_all(&managed).expect("managed directory");
        std::fs::write(managed.join("failed.yml"), FAILED).expect("rule written");
        std::fs::write(managed.join("spray.yml"), SPRAY).expect("rule written");
        let all = DetectionRules::load_deployment(dir.path(), &[], &[], None).expect("loads");
        assert_eq!(all.sigma_count(), 2, "{:?}", all.warnings);

        write_disabled(
            dir.path(),
            &BTreeSet::from(["5dca2a84-0000-4000-8000-000000000001".to_string()]),
        )
        .expect("disabled written");
        assert!(!managed.join("disabled.json.tmp").exists());
        let some = DetectionRules::load_deployment(dir.path(), &[], &[], None).expect("loads");
        assert_eq!(some.sigma_count(), 0);
        assert!(
            some.warnings
                .iter()
                .any(|warning| warning
                    .contains("is skipped: it uses the disabled rule failed_logon")),
            "{:?}",
            some.warnings
        );

        std::fs::write(disabled_path(dir.path()), "{not json").expect("written");
        assert!(matches!(
            DetectionRules::load_deployment(dir.path(), &[], &[], None),
            Err(RulesError::Disabled { .. })
        ));
    }
}
