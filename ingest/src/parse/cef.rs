//! ArcSight Common Event Format (CEF), as specified in Micro Focus "Implementing ArcSight CEF"
//! (revision 25):
//!
//! ```text
//! CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
//! ```
//!
//! - The record may start with a syslog header (`<134>Feb 19 08:26:10 host CEF:0|...`, or an
//!   RFC 5424 one); the parser finds `CEF:` and reads the header's time and host as fallbacks
//!   for the extension's `rt` and `dvchost`. A year-less header time resolves against the
//!   reference time and flags the event `year_inferred`.
//! - Header fields escape `|` and `\` as `\|` and `\\`. A header without the final `|` (no
//!   extension) is accepted.
//! - The extension is `key=value` pairs separated by spaces. Values may contain spaces; a value
//!   ends where the next ` key=` begins (a key is letters, digits, `_`, `.` and `-`). Values
//!   escape `=` and `\` as `\=` and `\\`, and write line breaks as `\n` and `\r`; an `=` that
//!   is not preceded by ` key` (a URL's query string) stays in the value.
//!
//! Attributes: the header fields as `cef.version`, `cef.device_vendor`, `cef.device_product`,
//! `cef.device_version`, `cef.signature_id`, `cef.name`, `cef.severity`; a syslog header as
//! `cef.syslog_header`; every extension pair under its own key (`src`, `cs1`, `cs1Label`, ...);
//! and for every custom field with a label (`cs1`..`cs6`, `cn1`..`cn3`, `cfp1`..`cfp4`,
//! `c6a1`..`c6a4`, `flexString1`, `deviceCustomDate1`, ...) the value again as `cef.<label>`.
//!
//! Columns from the standard extension keys: `src_ip` (`src`), `src_port` (`spt`), `dst_ip`
//! (`dst`), `dst_port` (`dpt`), `user` (`suser`, else `duser`), `http_method`
//! (`requestMethod`), `url` (`request`), `user_agent` (`requestClientApplication`), `process`
//! (`sproc`, `proc`, `deviceProcessName`, `dproc`, in that order; `app` is the application
//! *protocol* in CEF and stays an attribute), `activity` (`act`), `outcome` (`outcome`, else
//! ArcSight's `categoryOutcome`; `/Success`, `/Failure` are understood), `time` (`rt`, `end`, `start`: epoch milliseconds or
//! `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`), `host` (`dvchost`, the syslog header's host,
//! `dhost`, `shost`), `message` (`msg`, else the header's Name), and `severity` from the header
//! (0-3 low, 4-6 medium, 7-8 high, 9-10 critical, or the words `Low`, `Medium`, `High`,
//! `Very-High`, `Unknown`).
//!
//! Class: `authentication` when the Name, `cat` (deviceEventCategory) or `categoryBehavior`
//! speaks of logging in or out or of authentication (`login`, `logon`, `logout`, `logoff`,
//! `sign-in`, `auth`...); else `http_activity` when the record has `requestMethod` or
//! `request`; else `network_activity` when it has both `src` and `dst`; else `other`.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memrchr};

use super::alias::{Column, outcome_from_text, set_column};
use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Flag, severity};
use crate::time;

pub const NAME: &str = "cef";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["arcsight"],
    description: "ArcSight Common Event Format, bare or after a syslog header",
    build: |options| Box::new(CefParser::new(options)),
};

/// Parser of CEF records.
#[derive(Debug, Clone, Default)]
pub struct CefParser;

impl CefParser {
    pub fn new(_options: &ParserOptions) -> Self {
        CefParser
    }
}

impl Parser for CefParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        out.push(parse_record(record, context)?);
        Ok(())
    }
}

/// Names of the seven header fields after `CEF:`, as attribute keys.
const HEADER_KEYS: [&str; 7] = [
    "cef.version",
    "cef.device_vendor",
    "cef.device_product",
    "cef.device_version",
    "cef.signature_id",
    "cef.name",
    "cef.severity",
];

/// Parses one CEF record into its event.
pub fn parse_record<'a>(record: &'a str, context: &ParseContext) -> Result<Event<'a>, ParseError> {
    let line = record.trim_end_matches(['\r', '\n']);
    let start = memchr::memmem::find(line.as_bytes(), b"CEF:")
        .ok_or_else(|| ParseError::malformed(NAME, "no `CEF:` header"))?;
    let prefix = line[..start].trim();
    let (header, extension) = split_header(&line[start + 4..])?;
    let [version, _, _, _, _, name, severity_text] = &header;
    if version.is_empty() || !version.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ParseError::malformed(
            NAME,
            format!("CEF version `{version}` is not a number"),
        ));
    }

    let mut event = Event::new(NAME);
    event.severity = severity_of(severity_text);
    event.attrs.reserve(8 + extension.len() / 16);
    if !prefix.is_empty() {
        event
            .attrs
            .push(("cef.syslog_header".into(), prefix.into()));
    }
    let name = name.clone();
    for (key, value) in HEADER_KEYS.into_iter().zip(header) {
        event.attrs.push((Cow::Borrowed(key), value));
    }
    let first_extension_attr = event.attrs.len();
    read_extension(extension, &mut event.attrs);
    add_labelled_values(&mut event.attrs, first_extension_attr);

    let known = KnownValues::find(&event.attrs, first_extension_attr);
    fill_columns(&mut event, &known, context);
    let syslog = read_syslog_header(prefix, context);
    if event.time.is_none()
        && let Some((micros, year_inferred)) = syslog.time
    {
        event.time = Some(micros);
        if year_inferred {
            event.flag(Flag::YearInferred);
        }
    }
    let host_fallbacks = [
        syslog.host.map(Cow::Borrowed),
        known.get(&event, "dhost"),
        known.get(&event, "shost"),
    ];
    for host in host_fallbacks.into_iter().flatten() {
        crate::event::fill(&mut event.host, host);
    }
    if event.message.is_none() {
        crate::event::fill(&mut event.message, name.clone());
    }
    event.class = classify(&event, &known, &name);
    Ok(event)
}

/// The seven header fields (unescaped) and the extension text.
fn split_header(cef: &str) -> Result<([Cow<'_, str>; 7], &str), ParseError> {
    let bytes = cef.as_bytes();
    let mut bounds = [0usize; 7];
    let mut fields = 0usize;
    let mut field_start = 0usize;
    let mut at = 0usize;
    let mut extension_start = None;
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr2(b'|', b'\\', rest)) {
        let found = at + offset;
        if bytes.get(found) == Some(&b'\\') {
            at = found + 2;
            continue;
        }
        if let Some(slot) = bounds.get_mut(fields) {
            *slot = field_start;
        }
        fields += 1;
        field_start = found + 1;
        at = found + 1;
        if fields == 7 {
            extension_start = Some(found + 1);
            break;
        }
    }
    let extension = match extension_start {
        Some(start) => cef.get(start..).unwrap_or(""),
        None if fields == 6 => {
            // `...|Name|Severity` without the final `|`: the last field runs to the end.
            bounds[6] = field_start;
            ""
        }
        None => {
            return Err(ParseError::malformed(
                NAME,
                format!(
                    "CEF header has {} of its 7 `|`-separated fields",
                    fields + 1
                ),
            ));
        }
    };
    let field = |index: usize| {
        let begin = bounds[index];
        let end = match bounds.get(index + 1) {
            Some(next) => next - 1,
            None => extension_start.map_or(cef.len(), |start| start - 1),
        };
        unescape_header(cef.get(begin..end).unwrap_or(""))
    };
    Ok((
        [
            field(0),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
            field(6),
        ],
        extension,
    ))
}

/// `\|` and `\\` in a header field.
fn unescape_header(field: &str) -> Cow<'_, str> {
    unescape(field, |escaped| match escaped {
        '|' => Some('|'),
        '\\' => Some('\\'),
        _ => None,
    })
}

/// `\=`, `\\`, `\n` and `\r` in an extension value (and `\|`, which some producers write).
fn unescape_value(value: &str) -> Cow<'_, str> {
    unescape(value, |escaped| match escaped {
        '=' => Some('='),
        '\\' => Some('\\'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        '|' => Some('|'),
        _ => None,
    })
}

/// Replaces the escapes `meaning` knows; others stay as written.
fn unescape(text: &str, meaning: fn(char) -> Option<char>) -> Cow<'_, str> {
    if memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut unescaped = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(char) = chars.next() {
        if char != '\\' {
            unescaped.push(char);
            continue;
        }
        match chars.next() {
            Some(escaped) => match meaning(escaped) {
                Some(replacement) => unescaped.push(replacement),
                None => {
                    unescaped.push('\\');
                    unescaped.push(escaped);
                }
            },
            None => unescaped.push('\\'),
        }
    }
    Cow::Owned(unescaped)
}

fn is_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// The position of the next `=` at or after `from` that no backslash escapes.
fn next_equals(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let found = at + memchr2(b'=', b'\\', bytes.get(at..)?)?;
        if bytes.get(found) == Some(&b'=') {
            return Some(found);
        }
        at = found + 2;
    }
}

/// Reads `key=value` pairs onto `attrs`. Text before the first key is kept as
/// `cef.extension`.
fn read_extension<'a>(extension: &'a str, attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) {
    let bytes = extension.as_bytes();
    let leading = bytes.iter().take_while(|&&byte| byte == b' ').count();
    let first_key = next_equals(bytes, leading).filter(|&equals| is_key(&bytes[leading..equals]));
    let Some(first_equals) = first_key else {
        let text = extension.trim();
        if !text.is_empty() {
            attrs.push(("cef.extension".into(), text.into()));
        }
        return;
    };
    let mut key = &extension[leading..first_equals];
    let mut value_start = first_equals + 1;
    let mut scan = value_start;
    loop {
        let Some(equals) = next_equals(bytes, scan) else {
            let value = extension[value_start..].trim_end();
            attrs.push((key.into(), unescape_value(value)));
            return;
        };
        let Some(space) = memrchr(b' ', &bytes[value_start..equals]).map(|at| value_start + at)
        else {
            scan = equals + 1;
            continue;
        };
        if !is_key(&bytes[space + 1..equals]) {
            scan = equals + 1;
            continue;
        }
        let value = extension[value_start..space].trim_end_matches(' ');
        attrs.push((key.into(), unescape_value(value)));
        key = &extension[space + 1..equals];
        value_start = equals + 1;
        scan = value_start;
    }
}

/// For every `xLabel=name` whose `x` is present, adds `cef.<name>` with `x`'s value.
fn add_labelled_values(attrs: &mut Vec<(Cow<'_, str>, Cow<'_, str>)>, first: usize) {
    let end = attrs.len();
    for index in first..end {
        let Some(base) = attrs[index].0.strip_suffix("Label") else {
            continue;
        };
        let label = attrs[index].1.trim();
        if base.is_empty() || label.is_empty() {
            continue;
        }
        let labelled_key = format!("cef.{label}");
        let Some(value) = attrs[first..end]
            .iter()
            .find(|(key, _)| key == base)
            .map(|(_, value)| value.clone())
        else {
            continue;
        };
        attrs.push((Cow::Owned(labelled_key), value));
    }
}

/// The extension keys that fill columns or decide the class.
const KNOWN_KEYS: [&str; 25] = [
    "src",
    "spt",
    "dst",
    "dpt",
    "suser",
    "duser",
    "requestMethod",
    "request",
    "requestClientApplication",
    "sproc",
    "proc",
    "deviceProcessName",
    "dproc",
    "act",
    "dvchost",
    "dhost",
    "shost",
    "msg",
    "outcome",
    "categoryOutcome",
    "rt",
    "end",
    "start",
    "cat",
    "categoryBehavior",
];

/// Where each of [`KNOWN_KEYS`] first occurs in the extension's attributes.
struct KnownValues {
    positions: [Option<usize>; KNOWN_KEYS.len()],
}

impl KnownValues {
    fn find(attrs: &[(Cow<'_, str>, Cow<'_, str>)], first: usize) -> Self {
        let mut positions = [None; KNOWN_KEYS.len()];
        for (index, (key, _)) in attrs.iter().enumerate().skip(first) {
            if let Some(slot) = KNOWN_KEYS.iter().position(|known| known == key)
                && positions[slot].is_none()
            {
                positions[slot] = Some(index);
            }
        }
        KnownValues { positions }
    }

    /// The non-empty value of `key` (one of [`KNOWN_KEYS`]), cloned (cheap when borrowed).
    fn get<'a>(&self, event: &Event<'a>, key: &str) -> Option<Cow<'a, str>> {
        let slot = KNOWN_KEYS.iter().position(|known| *known == key)?;
        let index = self.positions[slot]?;
        event
            .attrs
            .get(index)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }
}

/// Fills the columns from the standard extension keys, first listed source first.
fn fill_columns(event: &mut Event<'_>, known: &KnownValues, context: &ParseContext) {
    const SOURCES: &[(Column, &[&str])] = &[
        (Column::SrcIp, &["src"]),
        (Column::SrcPort, &["spt"]),
        (Column::DstIp, &["dst"]),
        (Column::DstPort, &["dpt"]),
        (Column::User, &["suser", "duser"]),
        (Column::HttpMethod, &["requestMethod"]),
        (Column::Url, &["request"]),
        (Column::UserAgent, &["requestClientApplication"]),
        (
            Column::Process,
            &["sproc", "proc", "deviceProcessName", "dproc"],
        ),
        (Column::Activity, &["act"]),
        (Column::Host, &["dvchost"]),
        (Column::Message, &["msg"]),
    ];
    for (column, keys) in SOURCES {
        for key in *keys {
            if let Some(value) = known.get(event, key) {
                set_column(event, *column, value);
                break;
            }
        }
    }
    for key in ["outcome", "categoryOutcome"] {
        if event.outcome.is_none()
            && let Some(outcome) = known.get(event, key)
        {
            event.outcome = outcome_from_text(outcome.trim_start_matches('/'));
        }
    }
    for key in ["rt", "end", "start"] {
        let Some(text) = known.get(event, key) else {
            continue;
        };
        if let Some((micros, year_inferred)) = parse_cef_time(&text, context) {
            event.time = Some(micros);
            if year_inferred {
                event.flag(Flag::YearInferred);
            }
            break;
        }
    }
}

/// A CEF time: epoch milliseconds, `MMM dd yyyy HH:mm:ss[.SSS] [zone]`, year-less
/// `MMM dd HH:mm:ss[.SSS] [UTC|GMT]`, or RFC 3339. The flag says whether the year was inferred.
fn parse_cef_time(text: &str, context: &ParseContext) -> Option<(i64, bool)> {
    let text = text.trim();
    if text
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b'.')
    {
        return time::parse_epoch(text).map(|micros| (micros, false));
    }
    if let Some(micros) = time::parse_month_day_year(text) {
        return Some((micros, false));
    }
    if let Some((civil, used)) = time::parse_rfc3164_prefix(text) {
        let zone = text.get(used..).unwrap_or("").trim();
        if zone.is_empty() || zone == "UTC" || zone == "GMT" || zone == "Z" {
            return time::resolve_year(civil, context.reference_time).map(|micros| (micros, true));
        }
    }
    time::parse_rfc3339(text).map(|micros| (micros, false))
}

/// What a syslog header in front of `CEF:` says.
#[derive(Debug, Default)]
struct SyslogHeader<'a> {
    time: Option<(i64, bool)>,
    host: Option<&'a str>,
}

/// Reads `<PRI>` (optional), an RFC 5424 version (optional), a timestamp (`MMM dd yyyy
/// HH:mm:ss`, RFC 3164 without a year, or RFC 3339) and the host after it.
fn read_syslog_header<'a>(prefix: &'a str, context: &ParseContext) -> SyslogHeader<'a> {
    let mut rest = prefix;
    if let Some(after) = rest.strip_prefix('<')
        && let Some((priority, after)) = after.split_once('>')
        && priority.bytes().all(|byte| byte.is_ascii_digit())
    {
        rest = after;
    }
    if let Some((version, after)) = rest.split_once(' ')
        && (1..=2).contains(&version.len())
        && version.bytes().all(|byte| byte.is_ascii_digit())
    {
        rest = after;
    }
    let rest = rest.trim_start();
    // Ends of the first five space-separated tokens.
    let mut ends = [0usize; 5];
    let mut count = 0usize;
    let mut in_token = false;
    for (index, byte) in rest.bytes().enumerate() {
        if byte == b' ' {
            if in_token && let Some(end) = ends.get_mut(count) {
                *end = index;
                count += 1;
            }
            in_token = false;
        } else {
            in_token = true;
        }
    }
    if in_token && let Some(end) = ends.get_mut(count) {
        *end = rest.len();
        count += 1;
    }
    let after_token = |index: usize| -> &'a str {
        match ends.get(index) {
            Some(&end) if index < count => rest.get(end..).unwrap_or(""),
            _ => "",
        }
    };
    let (time, after_time) = if count >= 4
        && let Some(micros) = rest.get(..ends[3]).and_then(time::parse_month_day_year)
    {
        (Some((micros, false)), after_token(3))
    } else if let Some((civil, used)) = time::parse_rfc3164_prefix(rest) {
        let micros = time::resolve_year(civil, context.reference_time);
        (
            micros.map(|micros| (micros, true)),
            rest.get(used..).unwrap_or(""),
        )
    } else if count >= 1
        && let Some(micros) = rest.get(..ends[0]).and_then(time::parse_rfc3339)
    {
        (Some((micros, false)), after_token(0))
    } else {
        return SyslogHeader::default();
    };
    let host = after_time
        .split(' ')
        .find(|token| !token.is_empty())
        .filter(|token| !token.ends_with(':'));
    SyslogHeader { time, host }
}

/// The OCSF severity of a CEF severity: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high.
fn severity_of(text: &str) -> Option<i32> {
    let text = text.trim();
    if let Ok(level) = text.parse::<u8>() {
        return match level {
            0..=3 => Some(severity::LOW),
            4..=6 => Some(severity::MEDIUM),
            7..=8 => Some(severity::HIGH),
            9..=10 => Some(severity::CRITICAL),
            _ => None,
        };
    }
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("low") {
        Some(severity::LOW)
    } else if is("medium") {
        Some(severity::MEDIUM)
    } else if is("high") {
        Some(severity::HIGH)
    } else if is("very-high") || is("very high") || is("veryhigh") {
        Some(severity::CRITICAL)
    } else if is("unknown") {
        Some(severity::UNKNOWN)
    } else {
        None
    }
}

/// Words that mark an authentication event in a Name or category.
const AUTHENTICATION_WORDS: [&str; 9] = [
    "login", "logon", "logout", "logoff", "log on", "log off", "sign-in", "signin", "auth",
];

/// The OCSF class of a CEF event; see the module docs for the rule.
fn classify(event: &Event<'_>, known: &KnownValues, name: &str) -> Class {
    let speaks_of_authentication = |text: &str| {
        let lower = text.to_ascii_lowercase();
        AUTHENTICATION_WORDS.iter().any(|word| lower.contains(word))
    };
    let category = known.get(event, "cat");
    let behavior = known.get(event, "categoryBehavior");
    if speaks_of_authentication(name)
        || category.as_deref().is_some_and(speaks_of_authentication)
        || behavior.as_deref().is_some_and(speaks_of_authentication)
    {
        Class::Authentication
    } else if event.http_method.is_some() || event.url.is_some() {
        Class::HttpActivity
    } else if event.src_ip.is_some() && event.dst_ip.is_some() {
        Class::NetworkActivity
    } else {
        Class::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Outcome;

    const REFERENCE: i64 = 1_749_945_600 * time::MICROS_PER_SECOND; // 2025-06-15T00:00:00Z

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        CefParser.parse(
            record,
            &ParseContext {
                reference_time: REFERENCE,
            },
            &mut out,
        )?;
        Ok(out.remove(0))
    }

    #[test]
    fn spec_example_worm_stopped() {
        let event = parse(
            "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
        )
        .expect("valid");
        assert_eq!(event.attr("cef.device_vendor"), Some("security"));
        assert_eq!(event.attr("cef.device_product"), Some("threatmanager"));
        assert_eq!(event.attr("cef.signature_id"), Some("100"));
        assert_eq!(event.severity, Some(severity::CRITICAL));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(event.dst_ip.as_deref(), Some("2.1.2.2"));
        assert_eq!(event.src_port, Some(1232));
        assert_eq!(event.host.as_deref(), Some("host"));
        assert_eq!(event.class, Class::NetworkActivity);
        assert_eq!(event.message.as_deref(), Some("worm successfully stopped"));
        // The closest 19 September to the reference time (2025-06-15).
        assert_eq!(event.time, time::parse_rfc3339("2025-09-19T08:26:10Z"));
        assert!(event.flags.contains(&Flag::YearInferred));
    }

    #[test]
    fn spec_header_escapes() {
        let event = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1")
            .expect("valid");
        assert_eq!(event.attr("cef.name"), Some("detected a | in message"));
        assert_eq!(event.activity.as_deref(), Some("blocked a ="));
        assert_eq!(event.dst_ip.as_deref(), Some("1.1.1.1"));
        let event = parse(r"CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1")
            .expect("valid");
        assert_eq!(event.attr("cef.name"), Some(r"detected a \ in packet"));
        assert_eq!(event.activity.as_deref(), Some(r"blocked a \"));
    }

    #[test]
    fn spec_multi_line_message() {
        let event = parse(
            r"CEF:0|security|threatmanager|1.0|100|Detected a threat. No action needed.|10|src=10.0.0.1 msg=Detected a threat.\n No action needed.",
        )
        .expect("valid");
        assert_eq!(
            event.message.as_deref(),
            Some("Detected a threat.\n No action needed.")
        );
    }

    #[test]
    fn values_with_spaces_and_unescaped_equals_in_urls() {
        let event = parse(
            "CEF:0|Imperva Inc.|SecureSphere|12.0|WAF|SQL Injection|High|request=https://shop.example.com/search?q=1 OR 1\\=1&page=2&x=a=b requestMethod=get requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) src=198.51.100.4 cs1=Default Web Policy cs1Label=Policy",
        )
        .expect("valid");
        assert_eq!(
            event.url.as_deref(),
            Some("https://shop.example.com/search?q=1 OR 1=1&page=2&x=a=b")
        );
        assert_eq!(event.http_method.as_deref(), Some("GET"));
        assert_eq!(
            event.user_agent.as_deref(),
            Some("Mozilla/5.0 (X11; Linux x86_64)")
        );
        assert_eq!(event.severity, Some(severity::HIGH));
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.attr("cs1"), Some("Default Web Policy"));
        assert_eq!(event.attr("cef.Policy"), Some("Default Web Policy"));
    }

    #[test]
    fn authentication_by_name_or_category() {
        let event = parse(
            "CEF:0|Vendor|VPN|2.1|4625|User login failed|5|suser=alice duser=bob src=203.0.113.7 outcome=failure rt=1718000000000 cat=/Access",
        )
        .expect("valid");
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.time, Some(1_718_000_000_000_000));
        assert_eq!(event.severity, Some(severity::MEDIUM));
        let event =
            parse("CEF:0|V|P|1|1|Session event|3|duser=bob cat=Authentication outcome=/Success")
                .expect("valid");
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.user.as_deref(), Some("bob"));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.severity, Some(severity::LOW));
    }

    #[test]
    fn times_in_each_spec_format() {
        let expected = time::parse_rfc3339("2024-03-05T10:11:12Z");
        // Year-less times land in the year closest to the reference time (2025-06-15).
        let inferred_2025 = time::parse_rfc3339("2025-03-05T10:11:12Z");
        for (record, inferred) in [
            ("CEF:0|V|P|1|1|n|1|rt=Mar 05 2024 10:11:12", false),
            ("CEF:0|V|P|1|1|n|1|rt=Mar 05 2024 10:11:12 UTC", false),
            ("CEF:0|V|P|1|1|n|1|end=1709633472000", false),
            ("CEF:0|V|P|1|1|n|1|start=Mar 05 10:11:12", true),
            ("<134>Mar  5 10:11:12 fw01 CEF:0|V|P|1|1|n|1|", true),
            (
                "<134>1 2024-03-05T10:11:12Z fw01 - - - - CEF:0|V|P|1|1|n|1|",
                false,
            ),
        ] {
            let event = parse(record).expect("valid");
            let expected = if inferred { inferred_2025 } else { expected };
            assert_eq!(event.time, expected, "{record}");
            assert_eq!(
                event.flags.contains(&Flag::YearInferred),
                inferred,
                "{record}"
            );
        }
        let event = parse("CEF:0|V|P|1|1|n|1|rt=Mar 05 2024 10:11:12.250 +0100").expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2024-03-05T09:11:12.250Z"));
    }

    #[test]
    fn host_prefers_device_then_syslog_header() {
        let event = parse("<13>Jan 18 11:07:53 relay CEF:0|V|P|1|1|n|1|dvchost=fw01 dhost=web")
            .expect("valid");
        assert_eq!(event.host.as_deref(), Some("fw01"));
        let event = parse("<13>Jan 18 11:07:53 relay CEF:0|V|P|1|1|n|1|dhost=web").expect("valid");
        assert_eq!(event.host.as_deref(), Some("relay"));
        let event = parse("CEF:0|V|P|1|1|n|1|dhost=web shost=client").expect("valid");
        assert_eq!(event.host.as_deref(), Some("web"));
        assert_eq!(event.attr("cef.syslog_header"), None);
    }

    #[test]
    fn process_prefers_source_process_and_app_is_a_protocol() {
        let event = parse("CEF:0|V|P|1|1|n|1|app=HTTPS dproc=svchost.exe sproc=powershell.exe")
            .expect("valid");
        assert_eq!(event.process.as_deref(), Some("powershell.exe"));
        assert_eq!(event.attr("app"), Some("HTTPS"));
    }

    #[test]
    fn header_without_final_pipe_and_empty_extension() {
        let event = parse("CEF:1|V|P|1|1|name|Very-High").expect("valid");
        assert_eq!(event.severity, Some(severity::CRITICAL));
        assert_eq!(event.attr("cef.severity"), Some("Very-High"));
        assert_eq!(event.class, Class::Other);
        assert_eq!(event.attrs.len(), 7);
    }

    #[test]
    fn text_before_first_key_is_kept() {
        let event = parse("CEF:0|V|P|1|1|n|1|no pairs here").expect("valid");
        assert_eq!(event.attr("cef.extension"), Some("no pairs here"));
    }

    #[test]
    fn vendor_keys_with_dots_and_custom_numbers_with_labels() {
        let event = parse(
            "CEF:0|V|P|1|1|n|1|ad.logonType=3 cn1=42 cn1Label=Risk Score flexString1=x flexString1Label=Zone",
        )
        .expect("valid");
        assert_eq!(event.attr("ad.logonType"), Some("3"));
        assert_eq!(event.attr("cef.Risk Score"), Some("42"));
        assert_eq!(event.attr("cef.Zone"), Some("x"));
    }

    #[test]
    fn malformed_records_are_errors() {
        for case in [
            "",
            "not cef at all",
            "CEF:0|V|P|1|1|n",
            "CEF:x|V|P|1|1|n|1|",
            r"CEF:0|V|P|1|1|n\|1",
        ] {
            assert!(parse(case).is_err(), "accepted: {case}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse_record(&text, &ParseContext { reference_time: REFERENCE });
        }

        #[test]
        fn never_panics_on_near_valid_records(
            header in "[ -~]{0,30}",
            extension in "[ -~\\\\=|]{0,120}",
        ) {
            let record = format!("{header}CEF:0|V|P|1|1|n|5|{extension}");
            let _ = parse_record(&record, &ParseContext { reference_time: REFERENCE });
        }
    }
}
