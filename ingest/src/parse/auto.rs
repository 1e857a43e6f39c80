//! `--format auto`: the format of each record from a cheap look at its first bytes.
//!
//! Detection never tries parsers one after another. It reads the record's prefix (a `<PRI>`,
//! a month name, `CEF:`, `#fields`, an access-log `[dd/Mon/yyyy:` ...). A JSON record is
//! flattened once and its keys decide which format maps it (`auditID` for Kubernetes audit,
//! `eventSource` for CloudTrail, `EventID` for Windows, ...: [`super::json_shape`]).
//!
//! What auto does when the chosen parser refuses a record: malformed JSON goes to the dead
//! letters; valid JSON that the format its keys suggest refuses is kept as generic `json`; a
//! text line is kept as a `text` event flagged `unrecognized`. Either way the parser's reason
//! is kept in `attrs` as `weft.parse_error`, and an odd record is never lost.

use std::collections::HashMap;

use super::flatten::{field_capacity, flatten_into};
use super::json_shape::{self, Shape};
use super::{
    ParseContext, ParseError, Parser, ParserOptions, cloudtrail, envoy, json, k8s_audit, text,
    windows, zeek,
};
use crate::event::{Event, Flag};

fn starts_with_month(bytes: &[u8]) -> bool {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    bytes.len() > 4 && bytes[3] == b' ' && MONTHS.iter().any(|month| bytes.starts_with(*month))
}

fn starts_with_weekday(bytes: &[u8]) -> bool {
    const DAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    DAYS.iter().any(|day| bytes.starts_with(*day))
}

/// `host ident user [dd/Mon/yyyy:` of the common and combined access log formats.
fn looks_like_access_log(bytes: &[u8]) -> bool {
    let window = &bytes[..bytes.len().min(512)];
    let Some(open) = memchr::memmem::find(window, b" [") else {
        return false;
    };
    let spaces = window[..open].iter().filter(|&&byte| byte == b' ').count();
    let date = &window[open + 2..];
    spaces >= 2
        && date.len() > 7
        && date[0].is_ascii_digit()
        && (date[2] == b'/' || date[1] == b'/')
}

/// rsyslog's high-precision file format: `2024-05-01T12:00:00.123456+00:00 host tag[pid]: msg`
/// (an RFC 3339 time, a host, then a tag ending in `:` or `]:`).
fn looks_like_timestamped_syslog(line: &str) -> bool {
    let mut tokens = line.splitn(4, ' ');
    let (Some(time), Some(host), Some(tag)) = (tokens.next(), tokens.next(), tokens.next()) else {
        return false;
    };
    time.as_bytes().get(10) == Some(&b'T')
        && crate::time::parse_rfc3339(time).is_some()
        && !host.contains('=')
        && tag.ends_with(':')
        && !tag.contains('=')
}

/// Linux audit records: `type=SYSCALL msg=audit(1604994496.155:92733): ...`, optionally after
/// `node=HOST ` when forwarded by audisp.
fn looks_like_auditd(bytes: &[u8]) -> bool {
    (bytes.starts_with(b"type=") || bytes.starts_with(b"node="))
        && memchr::memmem::find(&bytes[..bytes.len().min(96)], b" msg=audit(").is_some()
}

/// An RFC 3339 time followed by logfmt pairs (Go and Heroku style).
fn looks_like_timestamped_logfmt(line: &str) -> bool {
    let Some((time, rest)) = line.split_once(' ') else {
        return false;
    };
    time.as_bytes().get(4) == Some(&b'-')
        && crate::time::parse_rfc3339(time).is_some()
        && looks_like_logfmt(rest.trim_start().as_bytes())
}

/// `key=` at the start of a line, as logfmt writes it.
fn looks_like_logfmt(bytes: &[u8]) -> bool {
    let key_len = bytes
        .iter()
        .take_while(|&&byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'@')
        })
        .count();
    key_len > 0 && bytes.get(key_len) == Some(&b'=') && bytes[0].is_ascii_alphabetic()
}

/// The name of the format a record most likely is, from its first bytes.
pub fn sniff(record: &str) -> &'static str {
    let trimmed = record.trim_start_matches([' ', '\t', '\u{feff}']);
    let bytes = trimmed.as_bytes();
    let Some(&first) = bytes.first() else {
        return text::NAME;
    };
    let cef_near_start = || memchr::memmem::find(&bytes[..bytes.len().min(256)], b"CEF:").is_some();
    match first {
        b'{' => json::NAME,
        b'[' => match bytes.get(1) {
            Some(next) if next.is_ascii_alphabetic() && starts_with_weekday(&bytes[1..]) => {
                "apache_error"
            }
            // Envoy's text access log: `[2016-04-15T20:17:00.310Z] "POST ...`.
            Some(next) if next.is_ascii_digit() && bytes.get(5) == Some(&b'-') => "envoy",
            _ => json::NAME,
        },
        b'<' => {
            let digits = bytes[1..]
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if digits == 0 || digits > 3 || bytes.get(1 + digits) != Some(&b'>') {
                return text::NAME;
            }
            let rest = &bytes[2 + digits..];
            if cef_near_start() {
                "cef"
            } else if rest.len() > 1 && rest[0].is_ascii_digit() && rest[1] == b' ' {
                "syslog5424"
            } else {
                "syslog3164"
            }
        }
        b'#' => {
            if trimmed.starts_with("#separator") || trimmed.starts_with("#fields") {
                "zeek"
            } else {
                text::NAME
            }
        }
        _ if trimmed.starts_with("CEF:") => "cef",
        _ if starts_with_month(bytes) => {
            if cef_near_start() {
                "cef"
            } else {
                "syslog3164"
            }
        }
        _ if looks_like_auditd(bytes) => "auditd",
        _ if looks_like_timestamped_syslog(trimmed) => "syslog3164",
        _ if looks_like_timestamped_logfmt(trimmed) => "logfmt",
        _ if looks_like_access_log(bytes) => "access_log",
        _ if looks_like_logfmt(bytes) => "logfmt",
        _ => text::NAME,
    }
}

/// The parser behind `--format auto`: detects per record and keeps one parser per format.
pub struct AutoParser {
    options: ParserOptions,
    parsers: HashMap<&'static str, Box<dyn Parser>>,
    /// Inside a Zeek TSV file: from its `#separator` or `#fields` header up to `#close`.
    in_zeek_file: bool,
}

impl std::fmt::Debug for AutoParser {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AutoParser")
            .field("formats_seen", &self.parsers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AutoParser {
    pub fn new(options: &ParserOptions) -> Self {
        AutoParser {
            options: options.clone(),
            parsers: HashMap::new(),
            in_zeek_file: false,
        }
    }

    /// The format for this record, with Zeek files' header state taken into account.
    fn detect(&mut self, record: &str) -> &'static str {
        if self.in_zeek_file {
            // Every line of a Zeek file is Zeek's, up to its `#close` (rows of single-column
            // logs have no tab).
            if record.starts_with("#close") {
                self.in_zeek_file = false;
            }
            return "zeek";
        }
        let name = sniff(record);
        if name == "zeek" && record.starts_with('#') {
            self.in_zeek_file = true;
        }
        name
    }

    fn parser(&mut self, name: &'static str) -> Option<&mut Box<dyn Parser>> {
        if !self.parsers.contains_key(name) {
            let spec = super::format(name)?;
            self.parsers.insert(name, (spec.build)(&self.options));
        }
        self.parsers.get_mut(name)
    }
}

impl AutoParser {
    /// A JSON record: flattened once, its shape decided from its keys, then mapped by the
    /// format that shape names. Records holding several events go to their format's parser
    /// whole. A record that a specific format refuses is still valid JSON: it is kept as
    /// generic JSON rather than lost.
    fn parse_json<'a>(
        &mut self,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        if record.trim_start().starts_with('[') {
            return self.delegate(json::NAME, record, context, out);
        }
        let mut event = Event::new(json::NAME);
        event.attrs.reserve(field_capacity(record));
        flatten_into(record, &mut event.attrs)
            .map_err(|error| json::json_error(json::NAME, error))?;
        let aliases = &self.options.aliases;
        let mapped = match json_shape::shape(&event.attrs) {
            Shape::Batch(format) => return self.delegate(format, record, context, out),
            Shape::Generic => Ok(json::from_flattened(aliases, event)),
            Shape::Single(format) => match format {
                k8s_audit::NAME => k8s_audit::from_flattened(aliases, event),
                cloudtrail::NAME => cloudtrail::from_flattened(aliases, event),
                windows::NAME => windows::from_flattened(aliases, event),
                envoy::NAME => Ok(envoy::from_flattened(aliases, event)),
                zeek::NAME => Ok(zeek::from_flattened(event)),
                _ => Ok(json::from_flattened(aliases, event)),
            },
        };
        let event = match mapped {
            Ok(event) => event,
            Err(error) => {
                let mut event = json::generic_event(json::NAME, aliases, record)?;
                event
                    .attrs
                    .push(("weft.parse_error".into(), error.to_string().into()));
                event
            }
        };
        out.push(event);
        Ok(())
    }

    /// Hands the record to the named format's parser.
    fn delegate<'a>(
        &mut self,
        name: &'static str,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        match self.parser(name) {
            Some(parser) => parser.parse(record, context, out),
            None => Err(ParseError::invalid(name, "format is not registered")),
        }
    }
}

impl Parser for AutoParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let name = self.detect(record);
        if name == json::NAME {
            return self.parse_json(record, context, out);
        }
        let error = match self.parser(name) {
            Some(parser) if name != text::NAME => match parser.parse(record, context, out) {
                Ok(()) => return Ok(()),
                Err(error) => Some(error),
            },
            _ => None,
        };
        let first = out.len();
        text::TextParser.parse(record, context, out)?;
        for event in &mut out[first..] {
            event.flag(Flag::Unrecognized);
            if let Some(error) = &error {
                event
                    .attrs
                    .push(("weft.parse_error".into(), error.to_string().into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_line_formats_by_prefix() {
        let cases = [
            (
                "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
                "syslog3164",
            ),
            (
                "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - msg",
                "syslog5424",
            ),
            (
                "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening",
                "syslog3164",
            ),
            (
                "CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1",
                "cef",
            ),
            (
                "<134>Feb 19 08:26:10 host CEF:0|Vendor|Product|1|100|name|5|",
                "cef",
            ),
            (
                r#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 203023 "-" "curl""#,
                "access_log",
            ),
            (
                "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied",
                "apache_error",
            ),
            (
                r#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100"#,
                "envoy",
            ),
            ("level=info msg=\"started\" service=api", "logfmt"),
            (
                "type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0=\"arp\" a1=\"-a\"",
                "auditd",
            ),
            (
                "node=web-1 type=USER_LOGIN msg=audit(1604994496.155:92740): pid=1200 uid=0",
                "auditd",
            ),
            ("#separator \\x09", "zeek"),
            ("just some words", "text"),
            ("", "text"),
        ];
        for (record, expected) in cases {
            assert_eq!(sniff(record), expected, "{record}");
        }
    }

    #[test]
    fn json_records_are_mapped_by_the_format_their_keys_mark() {
        let cases = [
            (
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","verb":"get","user":{"username":"alice"}}"#,
                "k8s_audit",
            ),
            (
                r#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventTime":"2024-05-01T00:00:00Z"}"#,
                "cloudtrail",
            ),
            (
                r#"{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}]}"#,
                "cloudtrail",
            ),
            (
                r#"{"Event":{"System":{"EventID":4624,"Computer":"dc1"}}}"#,
                "windows",
            ),
            (
                r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}"#,
                "windows",
            ),
            (
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"}}]}]}]}"#,
                "otlp",
            ),
            (
                r#"{"upstream_cluster":"svc","response_code":200,"method":"GET","path":"/"}"#,
                "envoy",
            ),
            (
                r#"{"_path":"conn","id.orig_h":"10.0.0.1","ts":1.5}"#,
                "zeek",
            ),
            (r#"{"level":"info","msg":"hi"}"#, "json"),
            (r#"[{"msg":"a"}]"#, "json"),
        ];
        for (record, expected) in cases {
            assert_eq!(sniff(record), "json", "{record}");
            let mut parser = AutoParser::new(&ParserOptions::default());
            let mut out = Vec::new();
            parser
                .parse(record, &ParseContext { reference_time: 0 }, &mut out)
                .unwrap_or_else(|error| panic!("{record}: {error}"));
            assert_eq!(out[0].format, expected, "{record}");
        }
    }

    #[test]
    fn json_a_format_refuses_is_kept_as_generic_json() {
        let mut parser = AutoParser::new(&ParserOptions::default());
        let mut out = Vec::new();
        let record = r#"{"kind":"Pod","auditID":"not really an audit event","msg":"hi"}"#;
        parser
            .parse(record, &ParseContext { reference_time: 0 }, &mut out)
            .expect("valid JSON is stored");
        assert_eq!(out[0].format, "json");
        assert!(
            out[0]
                .attr("weft.parse_error")
                .is_some_and(|reason| reason.contains("k8s_audit"))
        );
    }

    #[test]
    fn unclaimed_line_is_kept_as_flagged_text() {
        let mut parser = AutoParser::new(&ParserOptions::default());
        let mut out = Vec::new();
        parser
            .parse("hello world", &ParseContext { reference_time: 0 }, &mut out)
            .expect("text never fails on non-blank input");
        assert_eq!(out[0].format, "text");
        assert!(out[0].flags.contains(&Flag::Unrecognized));
    }

    #[test]
    fn malformed_json_is_refused() {
        let mut parser = AutoParser::new(&ParserOptions::default());
        let mut out = Vec::new();
        let result = parser.parse("{\"a\":", &ParseContext { reference_time: 0 }, &mut out);
        assert!(result.is_err());
        assert!(out.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let record = String::from_utf8_lossy(&bytes);
            let mut parser = AutoParser::new(&ParserOptions::default());
            let mut out = Vec::new();
            let _ = parser.parse(&record, &ParseContext { reference_time: 0 }, &mut out);
        }
    }
}
