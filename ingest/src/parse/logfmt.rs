//! logfmt: `key=value` pairs separated by spaces, as Go services (logrus, go-kit, zap's logfmt
//! encoder), Heroku's router and many others write them:
//!
//! ```text
//! level=info ts=2024-05-01T12:00:00Z msg="request done" method=GET path=/api status=200 cached
//! 2014-01-01T00:00:00.000000+00:00 heroku[router]: at=info method=GET path="/" status=200 bytes=1234
//! ```
//!
//! - A key is any run of characters other than space, `=` and `"` (so `http.method`,
//!   `x-request-id` and `@timestamp` are keys).
//! - A value is either bare (up to the next space; it may contain `=`) or quoted, with the
//!   escapes `\"`, `\\`, `\n`, `\r`, `\t`, `\/`, `\b`, `\f` and `\uXXXX`; `=` and spaces inside
//!   quotes are part of the value. `key=` has an empty value.
//! - A key without `=` is a flag and reads `true`.
//! - A leading RFC 3339 timestamp (`2024-05-01T12:00:00Z` or `2024-05-01 12:00:00`) may stand
//!   before the pairs, followed by an optional `source[id]:` tag (Heroku's log drains); the
//!   timestamp is kept as `logfmt.timestamp` and the tag as `logfmt.tag`.
//!
//! Every pair goes to `attrs` under its own key, then the alias table fills the columns and the
//! HTTP facts decide the class, as for JSON. The leading timestamp and tag fill `time` and `process` only when no pair did: a
//! service's own `ts=` is closer to the event than the drain's timestamp.
//!
//! A record is refused when it has no `key=value` pair at all (so a sentence is not mistaken
//! for flags), when a quote is not closed, or when something other than a space follows a
//! closing quote.

use std::borrow::Cow;

use super::json::classify_by_http_facts;
use super::text::leading_time;
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Event, fill};

pub const NAME: &str = "logfmt";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["kv", "key_value"],
    description: "logfmt key=value lines (Go, Heroku), common keys mapped to columns",
    build: |options| Box::new(LogfmtParser::new(options)),
};

/// Parser of logfmt records.
#[derive(Debug, Clone)]
pub struct LogfmtParser {
    aliases: AliasTable,
}

impl LogfmtParser {
    pub fn new(options: &ParserOptions) -> Self {
        LogfmtParser {
            aliases: options.aliases.clone(),
        }
    }
}

impl Parser for LogfmtParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        out.push(parse_record(&self.aliases, record)?);
        Ok(())
    }
}

/// Parses one logfmt record into its event.
pub fn parse_record<'a>(aliases: &AliasTable, record: &'a str) -> Result<Event<'a>, ParseError> {
    let line = record.trim_end_matches(['\r', '\n']);
    let mut event = Event::new(NAME);
    let mut body = line.trim_start_matches([' ', '\t']);
    let mut leading = None;
    let mut tag = None;
    if body.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && let Some((micros, rest)) = leading_time(body)
    {
        let stamp = body[..body.len() - rest.len()].trim_end();
        leading = Some(micros);
        event.attrs.push(("logfmt.timestamp".into(), stamp.into()));
        body = rest;
        if let Some((first, after)) = body.split_once(' ')
            && let Some(name) = first.strip_suffix(':')
            && !name.is_empty()
            && !name.contains(['=', '"'])
        {
            tag = Some(name);
            event.attrs.push(("logfmt.tag".into(), name.into()));
            body = after;
        }
    }
    read_pairs(body, &mut event.attrs)?;
    aliases.apply(&mut event);
    classify_by_http_facts(&mut event);
    if event.time.is_none() {
        event.time = leading;
    }
    if let Some(tag) = tag {
        fill(&mut event.process, tag);
    }
    Ok(event)
}

fn malformed(reason: impl Into<String>) -> ParseError {
    ParseError::malformed(NAME, reason)
}

fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Reads the pairs of `body` onto `attrs`.
fn read_pairs<'a>(
    body: &'a str,
    attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Result<(), ParseError> {
    let bytes = body.as_bytes();
    let mut at = 0usize;
    let mut pairs = 0usize;
    loop {
        while bytes.get(at).copied().is_some_and(is_space) {
            at += 1;
        }
        let Some(&first) = bytes.get(at) else {
            break;
        };
        if first == b'=' || first == b'"' {
            return Err(malformed(format!(
                "expected a key at byte {at}, found `{}`",
                char::from(first)
            )));
        }
        let key_start = at;
        while bytes
            .get(at)
            .is_some_and(|&byte| !is_space(byte) && byte != b'=' && byte != b'"')
        {
            at += 1;
        }
        let key = &body[key_start..at];
        match bytes.get(at) {
            Some(b'=') => at += 1,
            Some(b'"') => {
                return Err(malformed(format!("unexpected `\"` in key at byte {at}")));
            }
            _ => {
                attrs.push((key.into(), "true".into()));
                continue;
            }
        }
        let value = if bytes.get(at) == Some(&b'"') {
            let start = at + 1;
            let end = closing_quote(bytes, start)
                .ok_or_else(|| malformed(format!("unterminated quoted value of `{key}`")))?;
            at = end + 1;
            if bytes.get(at).is_some_and(|&byte| !is_space(byte)) {
                return Err(malformed(format!(
                    "expected a space after the quoted value of `{key}`"
                )));
            }
            unescape(&body[start..end])
        } else {
            let start = at;
            while bytes.get(at).is_some_and(|&byte| !is_space(byte)) {
                at += 1;
            }
            Cow::Borrowed(&body[start..at])
        };
        attrs.push((key.into(), value));
        pairs += 1;
    }
    if pairs == 0 {
        return Err(malformed("no key=value pair"));
    }
    Ok(())
}

/// The index of the `"` closing a quoted value that starts at `start`.
fn closing_quote(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes.get(found) == Some(&b'"') {
            return Some(found);
        }
        at = found + 2;
    }
}

/// Undoes the escapes of a quoted value (Go's `strconv.Quote` and JSON's).
fn unescape(value: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', value.as_bytes()).is_none() {
        return Cow::Borrowed(value);
    }
    let mut unescaped = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(char) = chars.next() {
        if char != '\\' {
            unescaped.push(char);
            continue;
        }
        let Some(escaped) = chars.next() else {
            unescaped.push('\\');
            break;
        };
        let replacement = match escaped {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'u' => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        chars.nth(3);
                        decoded
                    }
                    _ => {
                        unescaped.push_str("\\u");
                        continue;
                    }
                }
            }
            other => {
                unescaped.push('\\');
                other
            }
        };
        unescaped.push(replacement);
    }
    Cow::Owned(unescaped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::severity;
    use crate::time;

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        parse_record(&AliasTable::default(), record)
    }

    #[test]
    fn pairs_fill_columns_through_aliases() {
        let event = parse(
            r#"level=warn ts=2024-05-01T12:00:00Z msg="login failed" user=alice client_ip=10.1.2.3 trace_id=abc"#,
        )
        .expect("valid");
        assert_eq!(event.severity, Some(severity::MEDIUM));
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(event.message.as_deref(), Some("login failed"));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(event.trace_id.as_deref(), Some("abc"));
        assert_eq!(event.attrs.len(), 6);
        assert!(matches!(event.message, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn quoted_values_unescape_and_keep_equals_and_spaces() {
        let event =
            parse(r#"msg="say \"hi\" a=b \\ \n \u00e9 \q" query="x=1&y=2""#).expect("valid");
        assert_eq!(event.attr("msg"), Some("say \"hi\" a=b \\ \n \u{e9} \\q"));
        assert_eq!(event.attr("query"), Some("x=1&y=2"));
    }

    #[test]
    fn bare_keys_are_true_and_empty_values_are_kept() {
        let event = parse("cached a=1 empty= dry-run").expect("valid");
        assert_eq!(event.attr("cached"), Some("true"));
        assert_eq!(event.attr("empty"), Some(""));
        assert_eq!(event.attr("dry-run"), Some("true"));
    }

    #[test]
    fn dotted_and_dashed_keys_and_unquoted_equals() {
        let event = parse("http.method=post x-request-id=r1 url.path=/a?b=c").expect("valid");
        assert_eq!(event.http_method.as_deref(), Some("POST"));
        assert_eq!(event.request_id.as_deref(), Some("r1"));
        assert_eq!(event.url.as_deref(), Some("/a?b=c"));
    }

    #[test]
    fn leading_timestamp_and_heroku_tag() {
        let event = parse(
            r#"2014-01-01T00:00:00.000000+00:00 heroku[router]: at=info method=GET path="/" host=app.example.com fwd="203.0.113.5" status=200 bytes=1234"#,
        )
        .expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2014-01-01T00:00:00Z"));
        assert_eq!(event.process.as_deref(), Some("heroku[router]"));
        assert_eq!(event.attr("logfmt.tag"), Some("heroku[router]"));
        assert_eq!(
            event.attr("logfmt.timestamp"),
            Some("2014-01-01T00:00:00.000000+00:00")
        );
        assert_eq!(event.http_status, Some(200));
        assert_eq!(event.url.as_deref(), Some("/"));
        assert_eq!(event.host.as_deref(), Some("app.example.com"));
    }

    #[test]
    fn http_facts_make_http_activity() {
        let event = parse("method=post path=/login status=401 user=alice").expect("valid");
        assert_eq!(event.class, crate::event::Class::HttpActivity);
        assert_eq!(event.outcome, Some(crate::event::Outcome::Failure));
        let event = parse("level=info msg=started").expect("valid");
        assert_eq!(event.class, crate::event::Class::Other);
    }

    #[test]
    fn pair_time_wins_over_leading_timestamp() {
        let event = parse("2024-05-01 12:00:00 ts=2024-05-01T11:59:59Z msg=x").expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T11:59:59Z"));
    }

    #[test]
    fn configured_aliases_apply() {
        let aliases = AliasTable::with_extra([("who", "user")]).expect("known column");
        let event = parse_record(&aliases, "who=bob user=alice").expect("valid");
        assert_eq!(event.user.as_deref(), Some("bob"));
    }

    #[test]
    fn malformed_records_are_errors() {
        for case in [
            "",
            "   ",
            "just some words",
            "=value",
            r#"msg="unterminated"#,
            r#"msg="closed"junk a=b"#,
            r#"ke"y=1"#,
            "2024-05-01T12:00:00Z",
        ] {
            assert!(parse(case).is_err(), "accepted: {case}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_escapes(text in "([a-z]{1,3}=(\"([ -~]|\\\\u[0-9a-f]{0,4})*\"?|[ -~]{0,5}) ?){0,8}") {
            let _ = parse(&text);
        }
    }
}
