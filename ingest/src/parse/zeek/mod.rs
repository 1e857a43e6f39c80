//! Zeek (formerly Bro) network security monitor logs, in both of Zeek's output forms.
//!
//! - **TSV** (Zeek's default ASCII writer): a header of `#` directives (`#separator`,
//!   `#fields`, `#types`, `#path`, ...) then one tab-separated row per entry ([`tsv`]). The
//!   parser is stateful per source: header lines update its state and yield no event; a row
//!   before any `#fields` line is an error. `--format auto` routes every line of a file to
//!   this parser once it saw the file's `#separator` or `#fields` line.
//! - **JSON** (`LogAscii::use_json`, or the json-streaming-logs package): one object per line
//!   with the same field names (`id.orig_h`), `ts` as epoch seconds or ISO 8601, and `_path`
//!   naming the log when the writer adds it (otherwise it is inferred from the fields).
//!
//! `attrs` hold every field that is set, with Zeek's names. A TSV row also gets `_path` from
//! the header, so both forms carry the same keys. Unset fields (`-`) are left out; empty ones
//! (`(empty)`) are kept as an empty string, or `[]` for an empty set or vector; the elements of
//! a set or vector become indexed keys (`answers.0`, `answers.1`), as JSON arrays do
//! everywhere in weft. Booleans keep the form's spelling (`T`/`F` in TSV, `true`/`false` in
//! JSON). Columns are filled per log type: see [`mapping`].

mod mapping;
mod names;
mod tsv;

use std::borrow::Cow;

use super::flatten::flatten_into;
use super::json::json_error;
use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::Event;

pub const NAME: &str = "zeek";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["bro", "zeek_json", "zeek_tsv"],
    description: "Zeek logs (conn, dns, http, ssl, ...), TSV with #fields headers or JSON; columns per log type",
    build: |options| Box::new(ZeekParser::new(options)),
};

/// Parser of one source's Zeek logs; remembers the TSV header it has read.
#[derive(Debug, Clone, Default)]
pub struct ZeekParser {
    header: tsv::Header,
}

impl ZeekParser {
    pub fn new(_options: &ParserOptions) -> Self {
        ZeekParser::default()
    }

    fn parse_tsv<'a>(&mut self, line: &'a str) -> Result<Option<Event<'a>>, ParseError> {
        if line.starts_with('#') {
            self.header
                .read_directive(line)
                .map_err(|reason| ParseError::invalid(NAME, reason))?;
            return Ok(None);
        }
        let mut event = Event::new(NAME);
        event.attrs.reserve(32);
        if let Some(path) = &self.header.path {
            event.attrs.push((Cow::Borrowed("_path"), path.clone()));
        }
        self.header
            .read_row(line, &mut event.attrs)
            .map_err(|reason| ParseError::invalid(NAME, reason))?;
        mapping::apply(self.header.path.as_deref(), &mut event);
        Ok(Some(event))
    }
}

fn parse_json(record: &str) -> Result<Event<'_>, ParseError> {
    let mut event = Event::new(NAME);
    flatten_into(record, &mut event.attrs).map_err(|error| json_error(NAME, error))?;
    Ok(from_flattened(event))
}

/// The event of one Zeek JSON record whose fields are already flattened into `event.attrs`
/// (format detection flattens a JSON record once and hands it here).
pub fn from_flattened(mut event: Event<'_>) -> Event<'_> {
    event.format = NAME;
    let path = match event.attr("_path") {
        Some(path) => Some(path.to_string()),
        None => mapping::infer_path(&event).map(str::to_string),
    };
    mapping::apply(path.as_deref(), &mut event);
    event
}

impl Parser for ZeekParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let line = record.trim_end_matches(['\r', '\n']);
        let trimmed = line.trim_start_matches([' ', '\u{feff}']);
        if trimmed.trim().is_empty() {
            return Err(ParseError::invalid(NAME, "empty record"));
        }
        if trimmed.starts_with('{') {
            out.push(parse_json(trimmed)?);
            return Ok(());
        }
        if trimmed.starts_with('[') {
            return Err(ParseError::malformed(
                NAME,
                "a zeek JSON record is one object per line, not an array",
            ));
        }
        if let Some(event) = self.parse_tsv(line.trim_start_matches('\u{feff}'))? {
            out.push(event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Class, Outcome};
    use crate::time::parse_rfc3339;

    const CONTEXT: ParseContext = ParseContext { reference_time: 0 };

    const SSH_HEADER: &[&str] = &[
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tssh",
        "#open\t2024-04-12-19-29-44",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tauth_success\tauth_attempts\tclient",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tbool\tcount\tstring",
    ];

    fn parse_all<'a>(parser: &mut ZeekParser, lines: &[&'a str]) -> Vec<Event<'a>> {
        let mut out = Vec::new();
        for line in lines {
            parser.parse(line, &CONTEXT, &mut out).expect("valid line");
        }
        out
    }

    #[test]
    fn header_lines_yield_no_events_and_rows_use_them() {
        let mut parser = ZeekParser::default();
        let mut lines = SSH_HEADER.to_vec();
        lines.push("1521911799.739898\tC2MugGdsn3ZVI1wn6\t10.0.0.227\t59849\t10.47.8.50\t22\t2\tF\t3\tSSH-2.0-OpenSSH_7.6");
        let events = parse_all(&mut parser, &lines);
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.activity.as_deref(), Some("logon"));
        assert_eq!(event.time, Some(1_521_911_799_739_898));
        assert_eq!(event.session_id.as_deref(), Some("C2MugGdsn3ZVI1wn6"));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.227"));
        assert_eq!(event.src_port, Some(59849));
        assert_eq!(event.dst_ip.as_deref(), Some("10.47.8.50"));
        assert_eq!(event.dst_port, Some(22));
        assert_eq!(event.attr("_path"), Some("ssh"));
        assert_eq!(event.attr("client"), Some("SSH-2.0-OpenSSH_7.6"));
    }

    #[test]
    fn row_before_fields_is_an_error() {
        let mut parser = ZeekParser::default();
        let mut out = Vec::new();
        let error = parser
            .parse("1521911799.7\tC1\t10.0.0.1", &CONTEXT, &mut out)
            .expect_err("no header yet");
        assert!(error.to_string().contains("#fields"), "{error}");
        assert!(out.is_empty());
    }

    #[test]
    fn row_with_wrong_field_count_is_an_error() {
        let mut parser = ZeekParser::default();
        parse_all(&mut parser, SSH_HEADER);
        let mut out = Vec::new();
        assert!(
            parser
                .parse("1.0\tC1\t10.0.0.1", &CONTEXT, &mut out)
                .is_err()
        );
        assert!(out.is_empty());
    }

    #[test]
    fn escaped_values_are_unescaped() {
        let mut parser = ZeekParser::default();
        let events = parse_all(
            &mut parser,
            &[
                "#separator \\x09",
                "#path\tsmb_mapping",
                "#fields\tts\tpath\tservice",
                "#types\ttime\tstring\tstring",
                "1521911721.382822\t\\\\\\\\10.47.21.25\\\\ADMIN$\t\\x2d",
            ],
        );
        assert_eq!(events[0].attr("path"), Some(r"\\10.47.21.25\ADMIN$"));
        assert_eq!(events[0].resource.as_deref(), Some(r"\\10.47.21.25\ADMIN$"));
        // `\x2d` is how Zeek writes a value that is literally `-`, unlike the unset marker.
        assert_eq!(events[0].attr("service"), Some("-"));
    }

    #[test]
    fn json_records_with_path_and_iso_time() {
        let mut parser = ZeekParser::default();
        let events = parse_all(
            &mut parser,
            &[
                r#"{"_path":"dns","_write_ts":"2018-03-24T17:15:21.000000Z","ts":"2018-03-24T17:15:20.865716Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"10.47.1.100","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","query":"ise.wrccdc.org","rcode_name":"NOERROR","answers":["ise.wrccdc.cpp.edu","134.71.3.16"],"rejected":false}"#,
            ],
        );
        let event = &events[0];
        assert_eq!(event.class, Class::DnsActivity);
        assert_eq!(event.time, parse_rfc3339("2018-03-24T17:15:20.865716Z"));
        assert_eq!(event.resource.as_deref(), Some("ise.wrccdc.org"));
        assert_eq!(event.src_port, Some(41772));
        assert_eq!(event.attr("answers.1"), Some("134.71.3.16"));
        assert_eq!(event.outcome, Some(Outcome::Success));
    }

    #[test]
    fn json_without_path_is_classified_by_its_fields() {
        let mut parser = ZeekParser::default();
        let events = parse_all(
            &mut parser,
            &[
                r#"{"ts":1521911720.61,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5000,"id.resp_h":"10.0.0.2","id.resp_p":80,"method":"POST","host":"h","uri":"/login","status_code":401,"username":"bob"}"#,
            ],
        );
        let event = &events[0];
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.time, Some(1_521_911_720_610_000));
        assert_eq!(event.user.as_deref(), Some("bob"));
        assert_eq!(event.url.as_deref(), Some("h/login"));
        assert_eq!(event.http_status, Some(401));
        assert_eq!(event.outcome, Some(Outcome::Failure));
    }

    #[test]
    fn malformed_json_and_blank_records_are_errors() {
        let mut parser = ZeekParser::default();
        let mut out = Vec::new();
        assert!(
            parser
                .parse(r#"{"_path":"conn","#, &CONTEXT, &mut out)
                .is_err()
        );
        assert!(parser.parse("[1,2]", &CONTEXT, &mut out).is_err());
        assert!(parser.parse("   ", &CONTEXT, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn a_new_header_replaces_the_old_one() {
        let mut parser = ZeekParser::default();
        let events = parse_all(
            &mut parser,
            &[
                "#separator \\x09",
                "#path\tknown_hosts",
                "#fields\tts\thost",
                "1521911720.605656\t10.164.94.120",
                "#close\t2024-04-12-19-34-07",
                "#separator \\x09",
                "#path\tweird",
                "#fields\tts\tname",
                "1521911720.605656\tbad_TCP_checksum",
            ],
        );
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].class, Class::Other);
        assert_eq!(events[0].attr("host"), Some("10.164.94.120"));
        assert_eq!(events[1].message.as_deref(), Some("bad_TCP_checksum"));
        assert_eq!(events[1].attr("_path"), Some("weird"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(".{0,120}", 0..8)) {
            let mut parser = ZeekParser::default();
            let mut out = Vec::new();
            let _ = parser.parse("#fields\tts\tid.orig_h\tanswers", &CONTEXT, &mut out);
            let _ = parser.parse("#types\ttime\taddr\tset[string]", &CONTEXT, &mut out);
            for line in &lines {
                let _ = parser.parse(line, &CONTEXT, &mut out);
            }
        }

        #[test]
        fn never_panics_on_tab_rows(fields in proptest::collection::vec("[-a-z0-9\\\\x(),.]{0,12}", 0..6)) {
            let mut parser = ZeekParser::default();
            let mut out = Vec::new();
            let _ = parser.parse("#fields\tts\tuid\tanswers", &CONTEXT, &mut out);
            let _ = parser.parse("#types\ttime\tstring\tvector[string]", &CONTEXT, &mut out);
            let row = fields.join("\t");
            let _ = parser.parse(&row, &CONTEXT, &mut out);
        }
    }
}
