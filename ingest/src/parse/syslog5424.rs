//! Syslog (RFC 5424): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
//!
//! The header (section 6.2) maps as in [`super::syslog3164`]: PRI to `severity` and the
//! `syslog.pri`/`syslog.facility`/`syslog.severity` attrs, HOSTNAME to `host`, APP-NAME to
//! `process`; PROCID and MSGID are kept as `syslog.procid` and `syslog.msgid`. The NILVALUE
//! `-` leaves a field unset (a `-` TIMESTAMP leaves `time` to the pipeline).
//!
//! STRUCTURED-DATA (section 6.3) is one or more `[SD-ID PARAM="VALUE" ...]` elements; each
//! parameter becomes the attr `sd.<SD-ID>.<PARAM>` (an element without parameters the attr
//! `sd.<SD-ID>` with an empty value). In values, `\"`, `\\` and `\]` are unescaped; any other
//! backslash is kept as written (section 6.3.3). Values borrow from the record unless they
//! contain an escape.
//!
//! MSG (section 6.4) may start with a UTF-8 BOM, which is dropped. sshd, sudo, su, PAM and
//! account-tool messages are then read by [`super::linux_auth`].
//!
//! Where the RFC is stricter than senders in the wild, weft accepts: TIMESTAMP fractions
//! beyond six digits (kept to microseconds), a leap second (folded into its minute), a missing
//! UTC offset (taken as UTC). A wrong or missing PRI, a VERSION other than 1, a missing header
//! field, an unparseable TIMESTAMP or malformed STRUCTURED-DATA is an error.

use std::borrow::Cow;

use super::syslog3164::{apply_pri, pri_value, split_pri};
use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions, linux_auth};
use crate::event::Event;
use crate::time;

pub const NAME: &str = "syslog5424";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["rfc5424"],
    description: "syslog (RFC 5424) with structured data flattened into sd.<id>.<param> attrs",
    build: |options| Box::new(Syslog5424Parser::new(options)),
};

/// The RFC 5424 NILVALUE.
const NIL: &str = "-";

/// Parser of RFC 5424 syslog messages.
#[derive(Debug, Clone, Default)]
pub struct Syslog5424Parser;

impl Syslog5424Parser {
    pub fn new(_options: &ParserOptions) -> Self {
        Syslog5424Parser
    }
}

fn malformed(reason: impl Into<String>) -> ParseError {
    ParseError::malformed(NAME, reason)
}

fn invalid(reason: impl Into<String>) -> ParseError {
    ParseError::invalid(NAME, reason)
}

/// The next space-separated header field of `rest`, advancing past it.
fn header_field<'a>(rest: &mut &'a str, name: &str) -> Result<&'a str, ParseError> {
    let text = *rest;
    let (field, after) = match text.split_once(' ') {
        Some((field, after)) => (field, after),
        None => (text, ""),
    };
    if field.is_empty() {
        return Err(malformed(format!("missing {name}")));
    }
    *rest = after;
    Ok(field)
}

/// Pushes an attr unless the field is the NILVALUE.
fn push_field<'a>(event: &mut Event<'a>, key: &'static str, value: &'a str) {
    if value != NIL {
        event.attrs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }
}

/// An SD-NAME (SD-ID or PARAM-NAME): 1 to 32 printable US-ASCII characters except `=`, space,
/// `]` and `"`. Lengths are not enforced; the characters are.
fn sd_name_len(text: &str) -> usize {
    text.bytes()
        .take_while(|&byte| (33..=126).contains(&byte) && !matches!(byte, b'=' | b']' | b'"'))
        .count()
}

/// A PARAM-VALUE up to its closing quote: the unescaped value and the rest after the quote.
fn param_value(text: &str) -> Result<(Cow<'_, str>, &str), ParseError> {
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut owned: Option<String> = None;
    let mut copied_up_to = 0;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'"' => {
                let value = match owned {
                    Some(mut value) => {
                        value.push_str(text.get(copied_up_to..position).unwrap_or_default());
                        Cow::Owned(value)
                    }
                    None => Cow::Borrowed(text.get(..position).unwrap_or_default()),
                };
                return Ok((value, text.get(position + 1..).unwrap_or_default()));
            }
            b'\\' if matches!(bytes.get(position + 1), Some(b'"' | b'\\' | b']')) => {
                let value = owned.get_or_insert_with(String::new);
                value.push_str(text.get(copied_up_to..position).unwrap_or_default());
                copied_up_to = position + 1;
                position += 2;
            }
            _ => position += 1,
        }
    }
    Err(malformed("unterminated structured data parameter value"))
}

/// Parses STRUCTURED-DATA elements into attrs; returns what follows them.
fn structured_data<'a>(mut rest: &'a str, event: &mut Event<'a>) -> Result<&'a str, ParseError> {
    while let Some(element) = rest.strip_prefix('[') {
        let id_len = sd_name_len(element);
        if id_len == 0 {
            return Err(malformed("structured data element without an SD-ID"));
        }
        let id = element.get(..id_len).unwrap_or_default();
        rest = element.get(id_len..).unwrap_or_default();
        let mut params = 0;
        loop {
            if let Some(after) = rest.strip_prefix(']') {
                rest = after;
                break;
            }
            let Some(param) = rest.strip_prefix(' ') else {
                return Err(malformed(format!(
                    "structured data element [{id} is not closed by `]`"
                )));
            };
            let name_len = sd_name_len(param);
            if name_len == 0 {
                return Err(malformed(format!("parameter without a name in [{id}")));
            }
            let name = param.get(..name_len).unwrap_or_default();
            let Some(quoted) = param
                .get(name_len..)
                .and_then(|after| after.strip_prefix("=\""))
            else {
                return Err(malformed(format!(
                    "parameter {name} in [{id} is not name=\"value\""
                )));
            };
            let (value, after) = param_value(quoted)?;
            event
                .attrs
                .push((Cow::Owned(format!("sd.{id}.{name}")), value));
            params += 1;
            rest = after;
        }
        if params == 0 {
            event
                .attrs
                .push((Cow::Owned(format!("sd.{id}")), Cow::Borrowed("")));
        }
    }
    Ok(rest)
}

impl Parser for Syslog5424Parser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let line = record.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Err(invalid("empty record"));
        }
        let Some((digits, after_pri)) = split_pri(line) else {
            return Err(malformed("expected <PRI> at the start"));
        };
        let value = pri_value(digits)
            .filter(|_| digits == "0" || !digits.starts_with('0'))
            .ok_or_else(|| {
                invalid(format!(
                    "PRI <{digits}> is not a priority (0 to 191, no leading zeros)"
                ))
            })?;
        let mut event = Event::new(NAME);
        apply_pri(&mut event, digits, value);
        let mut rest = after_pri;
        let version = header_field(&mut rest, "VERSION")?;
        if !version.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(malformed(format!("VERSION `{version}` is not a number")));
        }
        if version != "1" {
            return Err(invalid(format!("unsupported syslog VERSION {version}")));
        }
        event
            .attrs
            .push((Cow::Borrowed("syslog.version"), Cow::Borrowed(version)));
        let timestamp = header_field(&mut rest, "TIMESTAMP")?;
        let hostname = header_field(&mut rest, "HOSTNAME")?;
        let app_name = header_field(&mut rest, "APP-NAME")?;
        let procid = header_field(&mut rest, "PROCID")?;
        let msgid = header_field(&mut rest, "MSGID")?;
        if timestamp != NIL {
            if !timestamp.contains(['T', 't']) {
                return Err(invalid(format!("TIMESTAMP `{timestamp}` has no time")));
            }
            event.time = Some(
                time::parse_rfc3339(timestamp)
                    .ok_or_else(|| invalid(format!("TIMESTAMP `{timestamp}` is not valid")))?,
            );
        }
        push_field(&mut event, "syslog.timestamp", timestamp);
        push_field(&mut event, "syslog.hostname", hostname);
        push_field(&mut event, "syslog.appname", app_name);
        push_field(&mut event, "syslog.procid", procid);
        push_field(&mut event, "syslog.msgid", msgid);
        if hostname != NIL {
            event.host = Some(Cow::Borrowed(hostname));
        }
        if app_name != NIL {
            event.process = Some(Cow::Borrowed(app_name));
        }
        let after_sd = if let Some(after) = rest.strip_prefix(NIL) {
            after
        } else if rest.starts_with('[') {
            structured_data(rest, &mut event)?
        } else if rest.is_empty() {
            return Err(malformed("missing STRUCTURED-DATA"));
        } else {
            return Err(malformed("STRUCTURED-DATA must be `-` or start with `[`"));
        };
        let message = if after_sd.is_empty() {
            ""
        } else if let Some(message) = after_sd.strip_prefix(' ') {
            message.strip_prefix('\u{feff}').unwrap_or(message)
        } else {
            return Err(malformed(
                "expected a space between STRUCTURED-DATA and MSG",
            ));
        };
        let message = message.trim_end();
        if !message.is_empty() {
            event.message = Some(Cow::Borrowed(message));
            let process = if app_name == NIL { "" } else { app_name };
            linux_auth::annotate(process, message, &mut event);
        }
        out.push(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Class, Outcome, severity};

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        Syslog5424Parser.parse(record, &ParseContext { reference_time: 0 }, &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(out.remove(0))
    }

    fn error(record: &str) -> String {
        let mut out = Vec::new();
        let result = Syslog5424Parser.parse(record, &ParseContext { reference_time: 0 }, &mut out);
        assert!(out.is_empty(), "{record:?} pushed events");
        result.expect_err(record).to_string()
    }

    #[test]
    fn rfc5424_example_1_without_structured_data() {
        let event = parse(
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8",
        )
        .expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2003-10-11T22:14:15.003Z"));
        assert!(event.flags.is_empty());
        assert_eq!(event.severity, Some(severity::CRITICAL));
        assert_eq!(event.attr("syslog.facility"), Some("auth"));
        assert_eq!(event.host.as_deref(), Some("mymachine.example.com"));
        assert_eq!(event.process.as_deref(), Some("su"));
        assert_eq!(event.attr("syslog.procid"), None, "NILVALUE");
        assert_eq!(event.attr("syslog.msgid"), Some("ID47"));
        assert_eq!(
            event.message.as_deref(),
            Some("'su root' failed for lonvick on /dev/pts/8"),
            "the BOM is dropped"
        );
    }

    #[test]
    fn rfc5424_example_2_with_offset_and_microseconds() {
        let event = parse(
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        )
        .expect("valid");
        assert_eq!(
            event.time,
            time::parse_rfc3339("2003-08-24T12:14:15.000003Z")
        );
        assert_eq!(event.attr("syslog.facility"), Some("local4"));
        assert_eq!(event.attr("syslog.severity"), Some("notice"));
        assert_eq!(event.host.as_deref(), Some("192.0.2.1"));
        assert_eq!(event.attr("syslog.procid"), Some("8710"));
        assert_eq!(event.attr("syslog.msgid"), None);
    }

    #[test]
    fn rfc5424_examples_3_and_4_structured_data() {
        let event = parse(
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
        )
        .expect("valid");
        assert_eq!(event.attr("sd.exampleSDID@32473.iut"), Some("3"));
        assert_eq!(
            event.attr("sd.exampleSDID@32473.eventSource"),
            Some("Application")
        );
        assert_eq!(event.attr("sd.exampleSDID@32473.eventID"), Some("1011"));
        assert_eq!(event.attr("sd.examplePriority@32473.class"), Some("high"));
        assert_eq!(event.message, None);
    }

    #[test]
    fn param_values_unescape_quote_backslash_and_bracket_only() {
        let event = parse(
            r#"<13>1 - - - - - [x@1 a="say \"hi\"" b="C:\\temp" c="[1\]" d="keep\n" e=""] msg"#,
        )
        .expect("valid");
        assert_eq!(event.attr("sd.x@1.a"), Some(r#"say "hi""#));
        assert_eq!(event.attr("sd.x@1.b"), Some(r"C:\temp"));
        assert_eq!(event.attr("sd.x@1.c"), Some("[1]"));
        assert_eq!(event.attr("sd.x@1.d"), Some(r"keep\n"));
        assert_eq!(event.attr("sd.x@1.e"), Some(""));
        assert_eq!(event.message.as_deref(), Some("msg"));
        let borrowed = event
            .attrs
            .iter()
            .find(|(key, _)| key == "sd.x@1.d")
            .map(|(_, value)| matches!(value, Cow::Borrowed(_)));
        assert_eq!(borrowed, Some(true), "values without escapes borrow");
    }

    #[test]
    fn element_without_params_is_kept() {
        let event = parse("<13>1 - - - - - [timeQuality] m").expect("valid");
        assert_eq!(event.attr("sd.timeQuality"), Some(""));
    }

    #[test]
    fn all_nil_fields_leave_columns_unset() {
        let event = parse("<13>1 - - - - - -").expect("valid");
        assert_eq!(event.time, None);
        assert_eq!(event.host, None);
        assert_eq!(event.process, None);
        assert_eq!(event.message, None);
        assert_eq!(event.attr("syslog.version"), Some("1"));
        assert_eq!(event.severity, Some(severity::LOW));
    }

    #[test]
    fn lenient_timestamps() {
        let event = parse("<13>1 2003-08-24T05:14:15.000000003-07:00 h a - - - m").expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2003-08-24T12:14:15Z"));
        let event = parse("<13>1 1990-12-31T23:59:60Z h a - - - m").expect("valid");
        assert_eq!(
            event.time,
            time::parse_rfc3339("1990-12-31T23:59:59.999999Z")
        );
    }

    #[test]
    fn auth_messages_are_classified() {
        let event = parse(
            "<38>1 2024-05-01T12:00:00Z bastion sshd 4242 - - Accepted password for alice from 10.0.0.5 port 50000 ssh2",
        )
        .expect("valid");
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.activity.as_deref(), Some("logon"));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(event.attr("auth.method"), Some("password"));
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(error("no pri here").contains("expected <PRI>"));
        assert!(error("<192>1 - - - - - -").contains("not a priority"));
        assert!(error("<013>1 - - - - - -").contains("not a priority"));
        assert!(error("<13>2 - - - - - -").contains("unsupported syslog VERSION 2"));
        assert!(error("<13>x - - - - - -").contains("not a number"));
        assert!(error("<13>1 - - - -").contains("missing MSGID"));
        assert!(error("<13>1 - - - - -").contains("missing STRUCTURED-DATA"));
        assert!(error("<13>1  - - - - -").contains("missing TIMESTAMP"));
        assert!(error("<13>1 2003-13-11T22:14:15Z h a - - -").contains("TIMESTAMP"));
        assert!(error("<13>1 2003-10-11 h a - - -").contains("has no time"));
        assert!(error("").contains("empty"));
    }

    #[test]
    fn malformed_structured_data_is_an_error() {
        assert!(error("<13>1 - - - - - hello").contains("must be `-`"));
        assert!(error(r#"<13>1 - - - - - [x a="1""#).contains("not closed"));
        assert!(error(r#"<13>1 - - - - - [x a="1"#).contains("unterminated"));
        assert!(error(r#"<13>1 - - - - - [x a=1]"#).contains("name=\"value\""));
        assert!(error(r#"<13>1 - - - - - [ a="1"]"#).contains("without an SD-ID"));
        assert!(error(r#"<13>1 - - - - - [x ="1"]"#).contains("without a name"));
        assert!(error(r#"<13>1 - - - - - [x a="1"]msg"#).contains("expected a space"));
        assert!(error("<13>1 - - - - - -msg").contains("expected a space"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(record in "<[0-9]{1,3}>1 (-|[0-9T:.Z-]{1,30}) [a-z-]{1,5} [a-z-]{1,5} [0-9-]{1,3} [A-Z-]{1,3} (-|\\[[a-z@0-9 =\"\\\\\\]]{0,40}\\]?)( .{0,40})?") {
            let mut out = Vec::new();
            let _ = Syslog5424Parser.parse(&record, &ParseContext { reference_time: 0 }, &mut out);
        }

        #[test]
        fn never_panics_on_arbitrary_text(record in ".{0,256}") {
            let mut out = Vec::new();
            let _ = Syslog5424Parser.parse(&record, &ParseContext { reference_time: 0 }, &mut out);
        }
    }
}
