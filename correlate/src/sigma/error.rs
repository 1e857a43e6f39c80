//! The one error type of the Sigma boundary: what is wrong with a rule document, and where.

use std::fmt;
use std::path::PathBuf;

/// Where a rule came from: its file, the document's position in the file, and its id or title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOrigin {
    /// The file the document was read from, if it came from a file.
    pub path: Option<PathBuf>,
    /// 0-based position of the document in a multi-document file.
    pub document: usize,
    /// The rule's `id`, else its `name`, else its `title`, when known.
    pub rule: Option<String>,
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}", path.display())?,
            None => f.write_str("<input>")?,
        }
        if self.document > 0 {
            write!(f, " (document {})", self.document + 1)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, " rule {rule}")?;
        }
        Ok(())
    }
}

/// Why a rule was refused. Each variant is a reason a rule author can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleErrorKind {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("invalid yaml: {0}")]
    Yaml(String),
    #[error("the document is not a map of attributes")]
    NotAMap,
    #[error("missing attribute `{0}`")]
    Missing(&'static str),
    #[error("attribute `{attribute}` is invalid: {reason}")]
    InvalidAttribute {
        attribute: &'static str,
        reason: String,
    },
    #[error("search identifier `{identifier}` is invalid: {reason}")]
    InvalidSearch { identifier: String, reason: String },
    #[error("field `{field}` in `{identifier}`: {reason}")]
    InvalidValue {
        identifier: String,
        field: String,
        reason: String,
    },
    #[error("unknown modifier `{modifier}` on `{field}`")]
    UnknownModifier { field: String, modifier: String },
    #[error("invalid condition `{condition}`: {reason}")]
    InvalidCondition { condition: String, reason: String },
    #[error(
        "the condition uses the obsolete pipe aggregation `{0}`: rewrite it as a Sigma \
         correlation rule (event_count, value_count, ...)"
    )]
    ObsoleteAggregation(String),
    #[error("placeholder `%{0}%` has no configured value: add it to the placeholder config")]
    UnconfiguredPlaceholder(String),
    #[error("invalid correlation: {0}")]
    InvalidCorrelation(String),
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    #[error("invalid baseline: {0}")]
    InvalidBaseline(String),
    #[error("references rule `{0}`, which is not loaded")]
    UnknownReference(String),
}

/// A rule document that weft cannot load, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct RuleError {
    /// Boxed to keep `Result<_, RuleError>` small.
    pub origin: Box<RuleOrigin>,
    pub kind: RuleErrorKind,
}

impl RuleError {
    pub fn new(origin: RuleOrigin, kind: RuleErrorKind) -> Self {
        RuleError {
            origin: Box::new(origin),
            kind,
        }
    }
}

/// Errors of the field-mapping and placeholder configuration.
#[derive(Debug, thiserror::Error)]
pub enum SigmaConfigError {
    #[error("invalid sigma mapping config: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("invalid field source `{0}`: write `column:NAME` or `attr:KEY`")]
    FieldSource(String),
    #[error("unknown column `{0}` in the sigma mapping config: see docs/schema.md")]
    UnknownColumn(String),
}

/// Errors of matching a batch.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("the batch has no `{0}` column of the expected type: is it schema v1?")]
    Column(&'static str),
}
