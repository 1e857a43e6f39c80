//! Generic JSON: any JSON object per record (NDJSON, or one document per record).
//!
//! Nested objects are flattened into `attrs` with dotted keys and arrays indexed
//! ([`super::flatten`]); the alias table ([`super::alias`]) fills the schema's columns from
//! the common field names. A record that is a JSON array yields one event per element.

use serde_json::value::RawValue;

use super::flatten::{JsonError, field_capacity, flatten_into};
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event};

pub const NAME: &str = "json";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["ndjson", "jsonl"],
    description: "any JSON object per record; nested fields flattened into attrs, common names mapped to columns",
    build: |options| Box::new(JsonParser::new(options)),
};

/// Parser of generic JSON records.
#[derive(Debug, Clone)]
pub struct JsonParser {
    aliases: AliasTable,
}

impl JsonParser {
    pub fn new(options: &ParserOptions) -> Self {
        JsonParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// Turns a flattening error into the parse error of `format`.
pub fn json_error(format: &'static str, error: JsonError) -> ParseError {
    ParseError::malformed(format, error.to_string())
}

/// Splits a top-level JSON array into its elements' raw text; `None` if `record` is not an array.
pub fn array_elements<'a>(
    format: &'static str,
    record: &'a str,
) -> Option<Result<Vec<&'a str>, ParseError>> {
    if !record.trim_start().starts_with('[') {
        return None;
    }
    Some(
        serde_json::from_str::<Vec<&RawValue>>(record)
            .map(|elements| elements.into_iter().map(RawValue::get).collect())
            .map_err(|error| json_error(format, error.into())),
    )
}

/// Appends the events of a batch's elements (CloudTrail's `Records`, a Kubernetes `EventList`'s
/// `items`), each built by `build` from its text and keeping that text as its `raw`. All or
/// nothing: one element that fails fails the record, which then goes whole to the dead letters.
pub fn element_events<'a>(
    elements: Vec<&'a RawValue>,
    mut build: impl FnMut(&'a str) -> Result<Event<'a>, ParseError>,
    out: &mut Vec<Event<'a>>,
) -> Result<(), ParseError> {
    let mut events = Vec::with_capacity(elements.len());
    for element in elements {
        let mut event = build(element.get())?;
        event.raw = Some(element.get());
        events.push(event);
    }
    out.extend(events);
    Ok(())
}

/// The generic JSON event of one JSON object: flattened, aliased, classed by its HTTP facts.
pub fn generic_event<'a>(
    format: &'static str,
    aliases: &AliasTable,
    json: &'a str,
) -> Result<Event<'a>, ParseError> {
    let mut event = Event::new(format);
    event.attrs.reserve(field_capacity(json));
    flatten_into(json, &mut event.attrs).map_err(|error| json_error(format, error))?;
    Ok(from_flattened(aliases, event))
}

/// The generic event of a record whose fields are already flattened into `event.attrs`:
/// columns from the aliases, class from the HTTP facts.
pub fn from_flattened<'a>(aliases: &AliasTable, mut event: Event<'a>) -> Event<'a> {
    aliases.apply(&mut event);
    classify_by_http_facts(&mut event);
    event
}

/// Marks an event whose columns hold HTTP facts (a status or a method) as `http_activity`, with
/// the outcome its status implies when the record named none. Shared by the formats whose
/// columns come from the alias table (JSON, logfmt).
pub fn classify_by_http_facts(event: &mut Event<'_>) {
    if event.http_status.is_some() || event.http_method.is_some() {
        event.class = Class::HttpActivity;
        if event.outcome.is_none() {
            event.outcome = event
                .http_status
                .map(crate::event::Outcome::from_http_status);
        }
    }
}

impl Parser for JsonParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        match array_elements(NAME, record) {
            None => out.push(generic_event(NAME, &self.aliases, record)?),
            Some(elements) => {
                let elements = elements?;
                let events = elements
                    .into_iter()
                    .map(|element| {
                        let mut event = generic_event(NAME, &self.aliases, element)?;
                        event.raw = Some(element);
                        Ok(event)
                    })
                    .collect::<Result<Vec<_>, ParseError>>()?;
                out.extend(events);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Outcome;

    fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
        let mut out = Vec::new();
        JsonParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        Ok(out)
    }

    #[test]
    fn app_log_line_fills_columns_and_keeps_attrs() {
        let events = parse(
            r#"{"ts":"2024-05-01T12:00:00Z","level":"error","msg":"login failed","user":{"name":"alice"},"client_ip":"10.1.2.3","http":{"method":"POST","status_code":401}}"#,
        )
        .expect("valid");
        let event = &events[0];
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(event.http_status, Some(401));
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.attr("http.method"), Some("POST"));
    }

    #[test]
    fn top_level_array_yields_one_event_per_element() {
        let events = parse(r#"[{"msg":"a"}, {"msg":"b"}]"#).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].raw, Some(r#"{"msg":"b"}"#));
    }

    #[test]
    fn malformed_json_is_an_error_with_position() {
        let error = parse(r#"{"msg": "unterminated"#).expect_err("truncated");
        assert!(error.to_string().contains("line 1"), "{error}");
        assert!(parse(r#"[{"msg":"a"}, nope]"#).is_err());
    }
}
