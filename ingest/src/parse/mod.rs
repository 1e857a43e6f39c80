//! Parsers: one module per log format, each turning one framed record into normalized events.
//!
//! A [`Parser`] is synchronous and pure apart from its own per-source state (Zeek remembers
//! its `#fields` header): it reads one record and pushes zero or more [`Event`]s, or returns a
//! [`ParseError`] that sends the record to the dead-letter output. It does no I/O and never
//! panics, whatever the bytes.
//!
//! Every format is registered once, in [`FORMATS`]; `--format auto` ([`auto::AutoParser`])
//! picks one per record from a cheap look at the record's first bytes.

pub mod access_log;
pub mod alias;
pub mod apache_error;
pub mod ascii;
pub mod auditd;
pub mod auto;
pub mod cef;
pub mod cloudtrail;
pub mod envoy;
pub mod flatten;
pub mod json;
pub mod json_shape;
pub mod k8s_audit;
pub mod linux_auth;
pub mod logfmt;
pub mod otlp;
pub mod syslog3164;
pub mod syslog5424;
pub mod text;
pub mod windows;
pub mod zeek;

use crate::event::Event;

pub use alias::{AliasTable, Column};

/// Why a record could not be parsed. The record goes to the dead-letter output with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The record is not in the format the parser reads.
    #[error("not {format}: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// The record is in the right format but a required part is missing or unusable.
    #[error("{format}: {reason}")]
    Invalid {
        format: &'static str,
        reason: String,
    },
}

impl ParseError {
    pub fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        ParseError::Malformed {
            format,
            reason: reason.into(),
        }
    }

    pub fn invalid(format: &'static str, reason: impl Into<String>) -> Self {
        ParseError::Invalid {
            format,
            reason: reason.into(),
        }
    }
}

/// What a parser may know about the record besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    /// When the record was written or received, in UTC microseconds: the reference that
    /// resolves timestamps without a year (RFC 3164). For files, the file's modification time.
    pub reference_time: i64,
}

/// A log format parser. See the module docs for the contract.
pub trait Parser: Send {
    /// Parses one record, pushing its events onto `out`. On error nothing is pushed.
    fn parse<'a>(
        &mut self,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError>;
}

/// Options every parser is built with.
#[derive(Debug, Clone, Default)]
pub struct ParserOptions {
    /// Field-name aliases for JSON-like formats (defaults plus the service's own).
    pub aliases: AliasTable,
}

/// A registered format.
pub struct FormatSpec {
    /// The name stored in the `format` column and given to `--format`.
    pub name: &'static str,
    /// Other names `--format` accepts for it.
    pub also_known_as: &'static [&'static str],
    /// One line for `weft formats`.
    pub description: &'static str,
    /// Builds a parser for one source.
    pub build: fn(&ParserOptions) -> Box<dyn Parser>,
}

impl std::fmt::Debug for FormatSpec {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FormatSpec")
            .field("name", &self.name)
            .finish()
    }
}

/// Every format weft reads: the one place a format is registered.
pub static FORMATS: &[FormatSpec] = &[
    json::SPEC,
    text::SPEC,
    access_log::SPEC,
    apache_error::SPEC,
    cef::SPEC,
    logfmt::SPEC,
    k8s_audit::SPEC,
    cloudtrail::SPEC,
    windows::SPEC,
    zeek::SPEC,
    otlp::SPEC,
    envoy::SPEC,
    syslog3164::SPEC,
    syslog5424::SPEC,
    auditd::SPEC,
];

/// The format named `name` (or one of its other names).
pub fn format(name: &str) -> Option<&'static FormatSpec> {
    FORMATS
        .iter()
        .find(|spec| spec.name == name || spec.also_known_as.contains(&name))
}

/// Builds the parser for `--format NAME`, where `auto` detects the format per record.
pub fn build(name: &str, options: &ParserOptions) -> Option<Box<dyn Parser>> {
    if name == "auto" {
        return Some(Box::new(auto::AutoParser::new(options)));
    }
    format(name).map(|spec| (spec.build)(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_are_unique() {
        let mut names: Vec<&str> = FORMATS
            .iter()
            .flat_map(|spec| std::iter::once(spec.name).chain(spec.also_known_as.iter().copied()))
            .collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "a format name is registered twice");
        assert!(!names.contains(&"auto"), "`auto` is reserved for detection");
    }
}
