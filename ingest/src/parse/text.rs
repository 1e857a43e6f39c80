//! Plain text: a record no specific parser claims, kept whole as the event's message.
//!
//! A leading RFC 3339 timestamp (`2024-05-01T12:00:00Z ...` or `2024-05-01 12:00:00 ...`) is
//! taken as the event time; otherwise the event is stored at ingest time and flagged.

use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::Event;
use crate::time;

pub const NAME: &str = "text";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["plain"],
    description: "any line of text, stored whole as the message (the fallback of auto detection)",
    build: |options| Box::new(TextParser::new(options)),
};

/// Parser of plain text records.
#[derive(Debug, Clone, Default)]
pub struct TextParser;

impl TextParser {
    pub fn new(_options: &ParserOptions) -> Self {
        TextParser
    }
}

/// The time at the start of a text line, and the rest of the line after it.
pub fn leading_time(line: &str) -> Option<(i64, &str)> {
    let mut tokens = line.splitn(3, ' ');
    let first = tokens.next()?;
    if let Some(second) = tokens.next()
        && let Some(two) = line.get(..first.len() + 1 + second.len())
        && let Some(micros) = time::parse_rfc3339(two)
    {
        return Some((micros, line[two.len()..].trim_start()));
    }
    time::parse_rfc3339(first).map(|micros| (micros, line[first.len()..].trim_start()))
}

impl Parser for TextParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let line = record.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Err(ParseError::invalid(NAME, "empty record"));
        }
        let mut event = Event::new(NAME);
        if let Some((micros, _)) = leading_time(line) {
            event.time = Some(micros);
        }
        event.message = Some(line.into());
        out.push(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_timestamp_becomes_event_time() {
        let mut out = Vec::new();
        TextParser
            .parse(
                "2024-05-01 12:00:00 worker started",
                &ParseContext { reference_time: 0 },
                &mut out,
            )
            .expect("valid");
        assert_eq!(out[0].time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(
            out[0].message.as_deref(),
            Some("2024-05-01 12:00:00 worker started")
        );
    }

    #[test]
    fn blank_record_is_refused() {
        let mut out = Vec::new();
        let result = TextParser.parse("  \r\n", &ParseContext { reference_time: 0 }, &mut out);
        assert!(result.is_err());
        assert!(out.is_empty());
    }
}
