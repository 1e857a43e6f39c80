//! A deployment's detection content, loaded once: Sigma rules compiled into the matcher,
//! correlation rules and weft sequences compiled over them, and SQL rules for the scheduler,
//! from the same rule files and directories.
//!
//! A document that is refused does not stop the others: it becomes a warning naming its file,
//! document and reason (`weft rules check` shows the same verdicts). A field mapping or
//! placeholder file that cannot be read, or correlations that cannot run together, are
//! errors: detection would silently miss what they describe.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::correlation::sequence::load_sequence_paths;
use crate::correlation::{CorrelationError, CorrelationSet};
use crate::schedule::{SqlRule, load_sql_rules};
use crate::sigma::{FieldMapping, Placeholders, SigmaConfigError, SigmaMatcher, load_paths};

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

        let sigma = load_paths(paths, &placeholders);
        let sequences = load_sequence_paths(paths);
        let sql = load_sql_rules(paths);
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
