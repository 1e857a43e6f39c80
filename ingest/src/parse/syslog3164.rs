//! BSD syslog (RFC 3164): `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, and the same without
//! `<PRI>` as syslog daemons write it to files (`/var/log/auth.log`, `/var/log/syslog`).
//!
//! RFC 3164 describes what it observed rather than a strict grammar, and senders vary, so
//! every header part is optional and the parser keeps what it finds:
//!
//! - `<PRI>` (section 4.1.1): facility and severity. The severity maps to `severity`; both
//!   names and the raw value are kept (`syslog.pri`, `syslog.facility`, `syslog.severity`).
//!   A `<digits>` prefix outside 0..=191 is an error: the record claims a priority it cannot
//!   have; so is a record that holds nothing but its PRI.
//! - TIMESTAMP (section 4.1.2): `Mmm dd hh:mm:ss` (day space-padded or not, optional
//!   fraction), whose year is inferred from the reading context ([`time::resolve_year`],
//!   flagged `year_inferred`); or an RFC 3339 timestamp in its place, as rsyslog's
//!   high-precision file format and other daemons write (`2024-05-01T12:00:00.123456+02:00`).
//!   No timestamp leaves `time` unset.
//! - HOSTNAME (section 4.1.2): the token after the timestamp, unless that token is already the
//!   TAG (`Mar 27 13:06:56 sshd[1291]: ...` from a sender that omits its host name). With no
//!   timestamp there is no host name (section 4.3.3: the rest is the message).
//! - TAG (section 4.1.3) `name[pid]:` or `name:`: `process` and `syslog.pid`. Without a tag
//!   the rest of the line is the message.
//!
//! Messages from sshd, sudo, su, PAM and the account tools are then read by
//! [`super::linux_auth`], which classes them (`authentication`, `account_change`).

use std::borrow::Cow;

use memchr::memchr;

use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions, linux_auth};
use crate::event::{Event, Flag, severity};
use crate::time;

pub const NAME: &str = "syslog3164";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["syslog", "bsd_syslog", "rfc3164"],
    description: "BSD syslog (RFC 3164) lines, with or without <PRI>, as /var/log/auth.log and /var/log/syslog hold them",
    build: |options| Box::new(Syslog3164Parser::new(options)),
};

/// Parser of RFC 3164 syslog lines.
#[derive(Debug, Clone, Default)]
pub struct Syslog3164Parser;

impl Syslog3164Parser {
    pub fn new(_options: &ParserOptions) -> Self {
        Syslog3164Parser
    }
}

/// Facility names by code (RFC 5424 table 1, with the names syslog daemons use).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// Severity names by level (RFC 5424 table 2).
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Splits `<digits>` off the front of `text`: the digits and the rest. `None` when the record
/// does not start with a PRI-shaped prefix.
pub fn split_pri(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('<')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b'>') {
        return None;
    }
    Some((rest.get(..digits)?, rest.get(digits + 1..)?))
}

/// The value of PRI digits, if it is a valid priority (0..=191, at most three digits).
pub fn pri_value(digits: &str) -> Option<u8> {
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    let value: u8 = digits.parse().ok()?;
    (value <= 191).then_some(value)
}

/// Sets `severity` and the `syslog.pri`, `syslog.facility`, `syslog.severity` attrs of a PRI.
pub fn apply_pri<'a>(event: &mut Event<'a>, digits: &'a str, value: u8) {
    let facility = usize::from(value / 8);
    let level = value % 8;
    event.severity = Some(severity::from_syslog(level));
    event
        .attrs
        .push((Cow::Borrowed("syslog.pri"), Cow::Borrowed(digits)));
    if let Some(name) = FACILITIES.get(facility) {
        event
            .attrs
            .push((Cow::Borrowed("syslog.facility"), Cow::Borrowed(name)));
    }
    if let Some(name) = SEVERITIES.get(usize::from(level)) {
        event
            .attrs
            .push((Cow::Borrowed("syslog.severity"), Cow::Borrowed(name)));
    }
}

/// The bytes of a TAG name: ASCII letters and digits and `-_./@+`, by byte value.
const TAG_NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < table.len() {
        let value = byte as u8;
        table[byte] = value.is_ascii_alphanumeric()
            || matches!(value, b'-' | b'_' | b'.' | b'/' | b'@' | b'+');
        byte += 1;
    }
    table
};

/// A TAG at the start of `text`: `name[pid]: rest`, `name[pid] rest` or `name: rest`. Returns
/// the name, the pid and the message after it. `None` when the first token is not a tag.
pub fn split_tag(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let name_len = text
        .bytes()
        .take_while(|&byte| TAG_NAME_BYTES[usize::from(byte)])
        .count();
    if name_len == 0 {
        return None;
    }
    let name = text.get(..name_len)?;
    let rest = text.get(name_len..)?;
    if let Some(after_colon) = rest.strip_prefix(':') {
        return Some((name, None, message_after_tag(after_colon)?));
    }
    let inside = rest.strip_prefix('[')?;
    let close = inside.bytes().position(|byte| byte == b']')?;
    let (pid, after) = (inside.get(..close)?, inside.get(close + 1..)?);
    if pid.is_empty() || pid.as_bytes().contains(&b' ') {
        return None;
    }
    let after = after.strip_prefix(':').unwrap_or(after);
    Some((name, Some(pid), message_after_tag(after)?))
}

/// The message after a tag: it must be the end of the line or follow a space.
fn message_after_tag(text: &str) -> Option<&str> {
    if text.is_empty() {
        return Some(text);
    }
    text.strip_prefix(' ')
        .map(|message| message.trim_start_matches(' '))
}

/// A header timestamp and the rest of the line after it.
struct Timestamp<'a> {
    /// UTC microseconds; `None` for a year-less date that exists in no candidate year.
    micros: Option<i64>,
    year_inferred: bool,
    text: &'a str,
    rest: &'a str,
}

/// The header timestamp at the start of `text`: the RFC 3164 form or an RFC 3339 date-time.
fn split_timestamp(text: &str, reference_time: i64) -> Option<Timestamp<'_>> {
    if let Some((civil, used)) = time::parse_rfc3164_prefix(text) {
        let stamp = text.get(..used)?;
        let rest = text.get(used..)?;
        if rest.is_empty() || rest.starts_with(' ') {
            return Some(Timestamp {
                micros: resolve_year(civil, reference_time),
                year_inferred: true,
                text: stamp,
                rest: rest.trim_start_matches(' '),
            });
        }
    }
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let end = text.find(' ').unwrap_or(text.len());
        let stamp = text.get(..end)?;
        if stamp.contains(['T', 't'])
            && let Some(micros) = time::parse_rfc3339(stamp)
        {
            return Some(Timestamp {
                micros: Some(micros),
                year_inferred: false,
                text: stamp,
                rest: text.get(end..)?.trim_start_matches(' '),
            });
        }
    }
    None
}

/// The year of a year-less timestamp, as [`time::resolve_year`] picks it. The reference's own
/// year is tried first: within half a year of the reference it is the nearest, since the
/// years before and after it are a whole year away.
fn resolve_year(civil: time::Civil, reference_time: i64) -> Option<i64> {
    const HALF_YEAR: u64 = 182 * 24 * 3600 * 1_000_000;
    let same_year = time::Civil {
        year: time::year_of(reference_time),
        ..civil
    }
    .to_micros();
    if let Some(micros) = same_year
        && micros.abs_diff(reference_time) <= HALF_YEAR
    {
        return Some(micros);
    }
    time::resolve_year(civil, reference_time)
}

/// The attributes a header and a recognised message usually add, reserved at once.
const USUAL_ATTRS: usize = 12;

impl Parser for Syslog3164Parser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let line = record
            .trim_end_matches(['\r', '\n'])
            .trim_start_matches('\u{feff}');
        if line.trim_start().is_empty() {
            return Err(ParseError::invalid(NAME, "empty record"));
        }
        let pri = match split_pri(line) {
            Some((digits, after)) => {
                let value = pri_value(digits).ok_or_else(|| {
                    ParseError::invalid(
                        NAME,
                        format!("PRI <{digits}> is not a priority (0 to 191, at most 3 digits)"),
                    )
                })?;
                if after.trim_start().is_empty() {
                    return Err(ParseError::invalid(NAME, "nothing after PRI"));
                }
                Some((digits, value, after))
            }
            None => None,
        };
        // The event is filled where it lies in `out` rather than moved there.
        out.push(Event::new(NAME));
        let event = out.last_mut().expect("an event was just pushed");
        event.attrs.reserve(USUAL_ATTRS);
        let mut rest = line;
        if let Some((digits, value, after)) = pri {
            apply_pri(event, digits, value);
            rest = after;
        }
        let tag = if let Some(timestamp) = split_timestamp(rest, context.reference_time) {
            event.time = timestamp.micros;
            if timestamp.year_inferred && timestamp.micros.is_some() {
                event.flag(Flag::YearInferred);
            }
            event.attrs.push((
                Cow::Borrowed("syslog.timestamp"),
                Cow::Borrowed(timestamp.text),
            ));
            rest = timestamp.rest;
            let token_end = memchr(b' ', rest.as_bytes()).unwrap_or(rest.len());
            let token = rest.get(..token_end).unwrap_or_default();
            // The token is the host name unless it reads as the tag (a sender that omits its
            // host name); an address is always the host name.
            let tag = split_tag(rest);
            if !token.is_empty() && (tag.is_none() || linux_auth::is_ip_address(token)) {
                event.host = Some(Cow::Borrowed(token));
                event
                    .attrs
                    .push((Cow::Borrowed("syslog.hostname"), Cow::Borrowed(token)));
                rest = rest
                    .get(token_end..)
                    .unwrap_or_default()
                    .trim_start_matches(' ');
                split_tag(rest)
            } else {
                tag
            }
        } else {
            split_tag(rest)
        };
        let mut message = rest;
        let mut process = "";
        if let Some((name, pid, after)) = tag {
            process = name;
            event.process = Some(Cow::Borrowed(name));
            event
                .attrs
                .push((Cow::Borrowed("syslog.tag"), Cow::Borrowed(name)));
            if let Some(pid) = pid {
                event
                    .attrs
                    .push((Cow::Borrowed("syslog.pid"), Cow::Borrowed(pid)));
            }
            message = after;
        }
        let message = linux_auth::trim_end(message);
        if !message.is_empty() {
            event.message = Some(Cow::Borrowed(message));
            linux_auth::annotate(process, message, event);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Class, Outcome};

    /// 2025-06-15T00:00:00Z, the reference time of the golden tests.
    const REFERENCE: i64 = 1_749_945_600_000_000;

    fn parse_at(record: &str, reference_time: i64) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        Syslog3164Parser.parse(record, &ParseContext { reference_time }, &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(out.remove(0))
    }

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        parse_at(record, REFERENCE)
    }

    fn micros(rfc3339: &str) -> Option<i64> {
        time::parse_rfc3339(rfc3339)
    }

    #[test]
    fn full_header_fills_every_column() {
        let event = parse(
            "<38>Mar 27 13:08:09 ip-10-77-20-248 sshd[1361]: Server listening on :: port 22.",
        )
        .expect("valid");
        assert_eq!(event.time, micros("2025-03-27T13:08:09Z"));
        assert_eq!(event.flags, vec![Flag::YearInferred]);
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.attr("syslog.pri"), Some("38"));
        assert_eq!(event.attr("syslog.facility"), Some("auth"));
        assert_eq!(event.attr("syslog.severity"), Some("info"));
        assert_eq!(event.attr("syslog.timestamp"), Some("Mar 27 13:08:09"));
        assert_eq!(event.host.as_deref(), Some("ip-10-77-20-248"));
        assert_eq!(event.process.as_deref(), Some("sshd"));
        assert_eq!(event.attr("syslog.pid"), Some("1361"));
        assert_eq!(
            event.message.as_deref(),
            Some("Server listening on :: port 22.")
        );
        assert_eq!(event.class, Class::Other);
    }

    #[test]
    fn file_lines_without_pri_have_no_severity() {
        let event = parse(
            "Apr  3 07:35:34 web-1 sshd[26042]: Failed password for root from 118.193.26.38 port 51493 ssh2",
        )
        .expect("valid");
        assert_eq!(event.severity, None);
        assert_eq!(event.attr("syslog.pri"), None);
        assert_eq!(event.time, micros("2025-04-03T07:35:34Z"));
        assert_eq!(event.host.as_deref(), Some("web-1"));
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.user.as_deref(), Some("root"));
        assert_eq!(event.src_ip.as_deref(), Some("118.193.26.38"));
    }

    #[test]
    fn unpadded_day_and_fractional_seconds() {
        let event = parse("Apr 3 07:35:34.250 web-1 cron: job done").expect("valid");
        assert_eq!(event.time, micros("2025-04-03T07:35:34.25Z"));
        assert_eq!(event.process.as_deref(), Some("cron"));
        assert_eq!(event.attr("syslog.pid"), None);
    }

    #[test]
    fn year_resolves_to_the_one_nearest_the_reference() {
        let new_year = micros("2025-01-01T00:00:30Z").expect("valid");
        let event = parse_at("Dec 31 23:59:59 h app: late", new_year).expect("valid");
        assert_eq!(event.time, micros("2024-12-31T23:59:59Z"));
    }

    #[test]
    fn missing_hostname_is_recognised_by_the_tag() {
        let event = parse("<13>Mar 27 13:06:56 sshd[1291]: Server listening").expect("valid");
        assert_eq!(event.host, None);
        assert_eq!(event.process.as_deref(), Some("sshd"));
        assert_eq!(event.attr("syslog.pid"), Some("1291"));
        let event = parse("Mar 27 13:06:56 kernel: [0.000000] Linux version").expect("valid");
        assert_eq!(event.host, None);
        assert_eq!(event.process.as_deref(), Some("kernel"));
        assert_eq!(event.message.as_deref(), Some("[0.000000] Linux version"));
    }

    #[test]
    fn missing_tag_leaves_the_rest_as_message() {
        let event = parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!").expect("valid");
        assert_eq!(event.host.as_deref(), Some("10.0.0.99"));
        assert_eq!(event.process, None);
        assert_eq!(event.message.as_deref(), Some("Use the BFG!"));
    }

    #[test]
    fn rfc3339_timestamp_in_place_of_the_bsd_one() {
        let event = parse(
            "<86>2024-05-01T12:00:00.123456+02:00 bastion sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
        )
        .expect("valid");
        assert_eq!(event.time, micros("2024-05-01T10:00:00.123456Z"));
        assert!(event.flags.is_empty(), "the year is in the record");
        assert_eq!(event.attr("syslog.facility"), Some("authpriv"));
        assert_eq!(event.host.as_deref(), Some("bastion"));
        assert_eq!(event.process.as_deref(), Some("sudo"));
        assert_eq!(event.activity.as_deref(), Some("privilege_escalation"));
        assert_eq!(event.command_line.as_deref(), Some("/usr/bin/id"));
    }

    #[test]
    fn ipv6_host_after_an_rfc3339_timestamp() {
        let event =
            parse("2024-05-01T12:00:00Z 2001:db8::1 sshd[7]: Connection closed").expect("valid");
        assert_eq!(event.host.as_deref(), Some("2001:db8::1"));
        assert_eq!(event.process.as_deref(), Some("sshd"));
    }

    #[test]
    fn without_timestamp_the_rest_is_tag_and_message() {
        let event = parse("<34>su: 'su root' failed for lonvick").expect("valid");
        assert_eq!(event.time, None);
        assert!(event.flags.is_empty());
        assert_eq!(event.host, None);
        assert_eq!(event.process.as_deref(), Some("su"));
        assert_eq!(event.severity, Some(severity::CRITICAL));
        let event = parse("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat sched[0]: That's All Folks!")
            .expect("valid");
        assert_eq!(event.time, None);
        assert_eq!(event.severity, Some(severity::FATAL));
        assert_eq!(
            event.message.as_deref(),
            Some("1990 Oct 22 10:52:01 TZ-6 scapegoat sched[0]: That's All Folks!")
        );
    }

    #[test]
    fn text_that_is_not_syslog_is_kept_as_the_message() {
        let event = parse("<html> is not a PRI").expect("valid");
        assert_eq!(event.severity, None);
        assert_eq!(event.message.as_deref(), Some("<html> is not a PRI"));
    }

    #[test]
    fn line_endings_and_trailing_spaces_are_dropped() {
        let event = parse("Mar 27 13:06:56 h app[1]: hello  \r\n").expect("valid");
        assert_eq!(event.message.as_deref(), Some("hello"));
    }

    #[test]
    fn out_of_range_pri_and_empty_records_are_errors() {
        let mut out = Vec::new();
        let context = ParseContext {
            reference_time: REFERENCE,
        };
        for record in [
            "<192>Mar 27 13:06:56 h a: b",
            "<1000>x",
            "",
            "  \r\n",
            "<13>",
            "<13> ",
        ] {
            let result = Syslog3164Parser.parse(record, &context, &mut out);
            assert!(result.is_err(), "{record:?}");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn facility_and_severity_names_cover_every_pri() {
        let event = parse("<191>Mar 27 13:06:56 h a: b").expect("valid");
        assert_eq!(event.attr("syslog.facility"), Some("local7"));
        assert_eq!(event.attr("syslog.severity"), Some("debug"));
        let event = parse("<0>Mar 27 13:06:56 h a: b").expect("valid");
        assert_eq!(event.attr("syslog.facility"), Some("kern"));
        assert_eq!(event.attr("syslog.severity"), Some("emerg"));
    }

    #[test]
    fn fields_borrow_from_the_record() {
        let event = parse("Mar 27 13:06:56 h app[1]: hello").expect("valid");
        assert!(matches!(event.host, Some(Cow::Borrowed(_))));
        assert!(matches!(event.message, Some(Cow::Borrowed(_))));
        assert!(
            event
                .attrs
                .iter()
                .all(|(key, value)| matches!((key, value), (Cow::Borrowed(_), Cow::Borrowed(_))))
        );
    }

    #[test]
    fn year_resolution_agrees_with_the_time_module() {
        let references =
            (0..400).map(|step| REFERENCE - 800 * 86_400_000_000 + step * 4_321_987_654_321);
        for reference in references {
            for (month, day) in [(1, 1), (2, 28), (2, 29), (3, 1), (6, 30), (7, 1), (12, 31)] {
                let civil = time::Civil {
                    year: 1970,
                    month,
                    day,
                    hour: 23,
                    minute: 59,
                    second: 60,
                    micros: 0,
                    offset_seconds: 0,
                };
                assert_eq!(
                    resolve_year(civil, reference),
                    time::resolve_year(civil, reference),
                    "{month}-{day} at {reference}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(record in "(<[0-9]{1,4}>)?([A-Z][a-z]{2} [ 0-9]{1,2} [0-9:]{5,8} )?.{0,128}") {
            let mut out = Vec::new();
            let _ = Syslog3164Parser.parse(&record, &ParseContext { reference_time: 0 }, &mut out);
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let record = String::from_utf8_lossy(&bytes);
            let mut out = Vec::new();
            let _ = Syslog3164Parser.parse(&record, &ParseContext { reference_time: i64::MAX }, &mut out);
        }
    }
}
