//! Sigma: rule documents loaded and validated, compiled into plans, and run by a batch
//! matcher over normalized events (schema v1).
//!
//! - [`rule`] reads documents (detection rules, [`correlation`] rules, [`filter`]s) with all
//!   their metadata; [`detection`] and [`condition`] the detection section; [`modifier`] the
//!   value modifiers (with [`wildcard`], [`encoding`], [`placeholder`]).
//! - [`compile`] turns a rule and its filters into a [`compile::RulePlan`]; [`loader`] does it
//!   for files and directories and reports a verdict per document.
//! - [`fieldmap`] and [`logsource`] map Sigma fields and logsources to weft's schema.
//! - [`matcher::SigmaMatcher`] runs plans over a `RecordBatch` with an Aho-Corasick
//!   [`prefilter`]; [`reference`] is the plain per-event evaluator it is tested against.

pub mod columns;
pub mod compile;
pub mod condition;
pub mod correlation;
pub mod detection;
pub mod encoding;
pub mod error;
pub mod fieldmap;
pub mod filter;
pub mod loader;
pub mod logsource;
pub mod matcher;
pub mod modifier;
pub mod placeholder;
pub mod policy;
pub mod prefilter;
pub mod reference;
pub mod report;
pub mod rule;
pub mod values;
pub mod wildcard;

pub use compile::{RulePlan, compile_rule};
pub use error::{MatchError, RuleError, RuleErrorKind, SigmaConfigError};
pub use fieldmap::FieldMapping;
pub use loader::{RuleCheck, RuleSet, load_paths, load_texts};
pub use matcher::{SigmaMatch, SigmaMatcher};
pub use placeholder::Placeholders;
pub use rule::{SigmaDocument, SigmaRule, parse_documents};
