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

use std::sync::LazyLock;

use memchr::memchr;
use memchr::memmem::Finder;

use super::alias::{Column, outcome_from_text, set_column};
use super::ascii::trim;
use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Flag, severity};
use crate::time::{self, Civil};

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
        let parts = split_record(record)?;
        // A record is one event: an empty buffer gets room for just that.
        out.reserve_exact(1);
        out.push(Event::new(NAME));
        let event = out.last_mut().expect("an event was pushed just above");
        fill_event(event, parts, context);
        Ok(())
    }
}

/// One attribute of an event: key and value.
type Attr<'a> = (Cow<'a, str>, Cow<'a, str>);

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

/// The start of the CEF header.
static CEF_MARKER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"CEF:"));

/// Parses one CEF record into its event.
pub fn parse_record<'a>(record: &'a str, context: &ParseContext) -> Result<Event<'a>, ParseError> {
    let parts = split_record(record)?;
    let mut event = Event::new(NAME);
    fill_event(&mut event, parts, context);
    Ok(event)
}

/// A CEF record cut into its parts.
struct RecordParts<'a> {
    /// The syslog header before `CEF:`, trimmed; empty when there is none.
    prefix: &'a str,
    header: [Cow<'a, str>; 7],
    extension: &'a str,
}

/// Finds the CEF header and checks its version.
fn split_record(record: &str) -> Result<RecordParts<'_>, ParseError> {
    let line = record.trim_end_matches(['\r', '\n']);
    let start = CEF_MARKER
        .find(line.as_bytes())
        .ok_or_else(|| ParseError::malformed(NAME, "no `CEF:` header"))?;
    let prefix = trim(line.get(..start).unwrap_or(""));
    let (header, extension) = split_header(line.get(start + 4..).unwrap_or(""))?;
    let version = &header[0];
    if version.is_empty() || !version.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ParseError::malformed(
            NAME,
            format!("CEF version `{version}` is not a number"),
        ));
    }
    Ok(RecordParts {
        prefix,
        header,
        extension,
    })
}

/// Fills an empty event from the parts of its record.
fn fill_event<'a>(event: &mut Event<'a>, parts: RecordParts<'a>, context: &ParseContext) {
    let RecordParts {
        prefix,
        header,
        extension,
    } = parts;
    let [_, _, _, _, _, name, severity_text] = &header;
    event.severity = severity_of(severity_text);
    // Room for the syslog header, the header fields, the extension's pairs and two labelled
    // custom fields. A pair takes 8 bytes or more (`act=x y=`), so a pair per 8 bytes of the
    // extension is room for all in the common case, found without a pass over the text;
    // denser extensions, and those past 256 pairs, grow the vector.
    let pairs = (extension.len() / 8 + 1).min(256);
    event.attrs.reserve_exact(1 + HEADER_KEYS.len() + pairs + 2);
    if !prefix.is_empty() {
        event
            .attrs
            .push((Cow::Borrowed("cef.syslog_header"), Cow::Borrowed(prefix)));
    }
    let name = name.clone();
    event.attrs.extend(
        HEADER_KEYS
            .into_iter()
            .zip(header)
            .map(|(key, value)| (Cow::Borrowed(key), value)),
    );
    let first_extension_attr = event.attrs.len();
    let mut known = KnownValues::default();
    read_extension(extension, &mut event.attrs, &mut known);
    if let Some(labels) = known.labels.get(..known.label_count) {
        add_labelled_values(
            &mut event.attrs,
            first_extension_attr,
            labels.iter().copied(),
        );
    } else {
        // More labels than noted: look at every extension pair.
        let end = event.attrs.len();
        add_labelled_values(
            &mut event.attrs,
            first_extension_attr,
            first_extension_attr..end,
        );
    }

    fill_columns(event, &known, context);
    // The syslog header only stands in for a missing time or host.
    let syslog = if prefix.is_empty() || (event.time.is_some() && event.host.is_some()) {
        SyslogHeader::default()
    } else {
        read_syslog_header(prefix, event.time.is_none())
    };
    if event.time.is_none()
        && let Some((micros, year_inferred)) = syslog.time.and_then(|time| time.resolve(context))
    {
        event.time = Some(micros);
        if year_inferred {
            event.flag(Flag::YearInferred);
        }
    }
    if let Some(host) = syslog.host {
        crate::event::fill(&mut event.host, host);
    }
    for key in [Known::Dhost, Known::Shost] {
        if event.host.is_none()
            && let Some(host) = known.get(event, key)
        {
            crate::event::fill(&mut event.host, host);
        }
    }
    if event.message.is_none() {
        crate::event::fill(&mut event.message, name.clone());
    }
    event.class = classify(event, &known, &name);
}

/// The seven header fields (unescaped) and the extension text.
fn split_header(cef: &str) -> Result<([Cow<'_, str>; 7], &str), ParseError> {
    let bytes = cef.as_bytes();
    let mut bounds = [0usize; 7];
    let mut fields = 0usize;
    let mut field_start = 0usize;
    let mut at = 0usize;
    let mut extension_start = None;
    let mut escaped = false;
    for found in BytePositions::new(bytes, 0, [b'|', b'\\']) {
        if found < at {
            // The byte after a backslash.
            continue;
        }
        if bytes.get(found) == Some(&b'\\') {
            escaped = true;
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
        let text = cef.get(begin..end).unwrap_or("");
        if escaped {
            unescape_header(text)
        } else {
            Cow::Borrowed(text)
        }
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

/// Whether `byte` may be part of an extension key: letters, digits, `_`, `.` and `-`.
fn is_key_byte(byte: u8) -> bool {
    KEY_BYTES[usize::from(byte)]
}

/// [`is_key_byte`] as a table: keys are scanned backwards from every `=`.
static KEY_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let value = byte as u8;
        table[byte] = value.is_ascii_alphanumeric() || matches!(value, b'_' | b'.' | b'-');
        byte += 1;
    }
    table
};

/// Reads `key=value` pairs onto `attrs`, noting in `known` where the known keys are. Text
/// before the first key is kept as `cef.extension`.
///
/// A value ends at the last space before an unescaped `=` when the bytes between that space
/// and the `=` form a key; only `=` and `\\` need a look.
fn read_extension<'a>(extension: &'a str, attrs: &mut Vec<Attr<'a>>, known: &mut KnownValues) {
    let bytes = extension.as_bytes();
    let leading = bytes.iter().take_while(|&&byte| byte == b' ').count();
    let key_length = bytes
        .get(leading..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&byte| is_key_byte(byte))
        .count();
    let first_equals = leading + key_length;
    let first_key = extension
        .get(leading..first_equals)
        .filter(|key| !key.is_empty() && bytes.get(first_equals) == Some(&b'='));
    let Some(mut key) = first_key else {
        let text = extension.trim();
        if !text.is_empty() {
            attrs.push((Cow::Borrowed("cef.extension"), Cow::Borrowed(text)));
        }
        return;
    };
    let mut value_start = first_equals + 1;
    // Whether the current value holds a backslash: without one it is borrowed as is.
    let mut escaped = false;
    // The byte after a backslash is escaped.
    let mut resume = value_start;
    let mut pairs = PendingPairs::new();
    for at in BytePositions::new(bytes, value_start, [b'=', b'\\']) {
        if at < resume {
            continue;
        }
        if bytes.get(at) == Some(&b'\\') {
            escaped = true;
            resume = at + 2;
            continue;
        }
        // An unescaped `=`: a new pair starts when key bytes run back from it to a space
        // inside the current value.
        let key_length = bytes
            .get(value_start..at)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|&&byte| is_key_byte(byte))
            .count();
        let space = at - key_length - 1;
        if key_length == 0 || space < value_start || bytes.get(space) != Some(&b' ') {
            continue;
        }
        let value = extension
            .get(value_start..space)
            .unwrap_or("")
            .trim_end_matches(' ');
        pairs.push(attrs, known, key, value, escaped);
        key = extension.get(space + 1..at).unwrap_or("");
        value_start = at + 1;
        escaped = false;
    }
    let value = extension.get(value_start..).unwrap_or("").trim_end();
    pairs.push(attrs, known, key, value, escaped);
    pairs.flush(attrs);
}

/// Extension pairs on their way to the attributes, appended to them some at a time: the
/// attributes then get each pair's words written directly.
struct PendingPairs<'a> {
    /// Key, value, and whether the value holds a backslash.
    pairs: [(&'a str, &'a str, bool); 16],
    len: usize,
}

impl<'a> PendingPairs<'a> {
    fn new() -> Self {
        PendingPairs {
            pairs: [("", "", false); 16],
            len: 0,
        }
    }

    /// Adds a pair that will be the attribute at `attrs.len() + self.len`.
    fn push(
        &mut self,
        attrs: &mut Vec<Attr<'a>>,
        known: &mut KnownValues,
        key: &'a str,
        value: &'a str,
        escaped: bool,
    ) {
        known.note(key, attrs.len() + self.len);
        if let Some(slot) = self.pairs.get_mut(self.len) {
            *slot = (key, value, escaped);
            self.len += 1;
        }
        if self.len == self.pairs.len() {
            self.flush(attrs);
        }
    }

    /// Appends the pending pairs to `attrs`.
    fn flush(&mut self, attrs: &mut Vec<Attr<'a>>) {
        let pending = self.pairs.get(..self.len).unwrap_or_default();
        attrs.extend(
            pending
                .iter()
                .map(|&(key, value, escaped)| (Cow::Borrowed(key), value_text(value, escaped))),
        );
        self.len = 0;
    }
}

/// The positions, from `from` on, of the bytes in `wanted` (none of them zero) in a text,
/// found eight bytes at a time.
struct BytePositions<'b, const N: usize> {
    bytes: &'b [u8],
    wanted: [u8; N],
    /// Where the current eight bytes start.
    chunk_start: usize,
    /// The high bit of each wanted byte among the current eight.
    found: u64,
}

impl<'b, const N: usize> BytePositions<'b, N> {
    fn new(bytes: &'b [u8], from: usize, wanted: [u8; N]) -> Self {
        debug_assert!(!wanted.contains(&0), "zero pads the last eight bytes");
        BytePositions {
            bytes,
            wanted,
            chunk_start: from,
            found: wanted_bytes_at(bytes, from, &wanted),
        }
    }
}

impl<const N: usize> Iterator for BytePositions<'_, N> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            self.chunk_start += 8;
            if self.chunk_start >= self.bytes.len() {
                return None;
            }
            self.found = wanted_bytes_at(self.bytes, self.chunk_start, &self.wanted);
        }
        let at = self.chunk_start + (self.found.trailing_zeros() / 8) as usize;
        self.found &= self.found - 1;
        Some(at)
    }
}

/// The high bit of each byte in `wanted` among the eight bytes at `start` (fewer at the end
/// of `bytes`).
fn wanted_bytes_at<const N: usize>(bytes: &[u8], start: usize, wanted: &[u8; N]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    /// The high bit of each zero byte of `word`.
    fn zero_bytes(word: u64) -> u64 {
        !((((word & LOW_BITS) + LOW_BITS) | word) | LOW_BITS)
    }
    let rest = bytes.get(start..).unwrap_or_default();
    let word = match rest.first_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => {
            // Zero bytes pad the end.
            let mut chunk = [0u8; 8];
            for (slot, byte) in chunk.iter_mut().zip(rest) {
                *slot = *byte;
            }
            u64::from_le_bytes(chunk)
        }
    };
    wanted.iter().fold(0, |found, &byte| {
        found | zero_bytes(word ^ (ONES * u64::from(byte)))
    })
}

/// An extension value, unescaped when it holds a backslash.
#[inline(always)]
fn value_text(value: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        unescape_value(value)
    } else {
        Cow::Borrowed(value)
    }
}

/// For every `xLabel=name` among the attributes at `candidates` (ascending indexes from
/// `first` on) whose `x` is present, adds `cef.<name>` with `x`'s value.
fn add_labelled_values(
    attrs: &mut Vec<Attr<'_>>,
    first: usize,
    candidates: impl Iterator<Item = usize>,
) {
    let end = attrs.len();
    for index in candidates {
        let Some((key, label)) = attrs.get(index) else {
            break;
        };
        let Some(base) = key.strip_suffix("Label") else {
            continue;
        };
        let label = trim(label);
        if base.is_empty() || label.is_empty() {
            continue;
        }
        let Some(value) = attrs
            .get(first..end)
            .unwrap_or_default()
            .iter()
            .find(|(key, _)| {
                // Keys are short: a byte loop beats a call to `memcmp`.
                key.len() == base.len() && key.bytes().zip(base.bytes()).all(|(a, b)| a == b)
            })
            .map(|(_, value)| value.clone())
        else {
            continue;
        };
        let mut labelled_key = String::with_capacity("cef.".len() + label.len());
        labelled_key.push_str("cef.");
        labelled_key.push_str(label);
        attrs.push((Cow::Owned(labelled_key), value));
    }
}

/// The extension keys that fill columns or decide the class.
#[derive(Debug, Clone, Copy)]
enum Known {
    Src,
    Spt,
    Dst,
    Dpt,
    Suser,
    Duser,
    RequestMethod,
    Request,
    RequestClientApplication,
    Sproc,
    Proc,
    DeviceProcessName,
    Dproc,
    Act,
    Dvchost,
    Dhost,
    Shost,
    Msg,
    Outcome,
    CategoryOutcome,
    Rt,
    End,
    Start,
    Cat,
    CategoryBehavior,
}

impl Known {
    const COUNT: usize = Known::CategoryBehavior as usize + 1;

    /// The known key `key` is, if any.
    fn of(key: &str) -> Option<Known> {
        let known = match key.len() {
            2 if key == "rt" => Known::Rt,
            3 => match key {
                "src" => Known::Src,
                "spt" => Known::Spt,
                "dst" => Known::Dst,
                "dpt" => Known::Dpt,
                "act" => Known::Act,
                "msg" => Known::Msg,
                "end" => Known::End,
                "cat" => Known::Cat,
                _ => return None,
            },
            4 if key == "proc" => Known::Proc,
            5 => match key {
                "suser" => Known::Suser,
                "duser" => Known::Duser,
                "sproc" => Known::Sproc,
                "dproc" => Known::Dproc,
                "dhost" => Known::Dhost,
                "shost" => Known::Shost,
                "start" => Known::Start,
                _ => return None,
            },
            7 => match key {
                "request" => Known::Request,
                "dvchost" => Known::Dvchost,
                "outcome" => Known::Outcome,
                _ => return None,
            },
            13 if key == "requestMethod" => Known::RequestMethod,
            15 if key == "categoryOutcome" => Known::CategoryOutcome,
            16 if key == "categoryBehavior" => Known::CategoryBehavior,
            17 if key == "deviceProcessName" => Known::DeviceProcessName,
            24 if key == "requestClientApplication" => Known::RequestClientApplication,
            _ => return None,
        };
        Some(known)
    }
}

/// Where each [`Known`] key first occurs in the event's attributes, and where the extension's
/// labels (`...Label` keys) are.
#[derive(Debug, Default)]
struct KnownValues {
    positions: [Option<usize>; Known::COUNT],
    /// The indexes of the first labels; all of them when `label_count` is at most their number.
    labels: [usize; 4],
    label_count: usize,
}

impl KnownValues {
    /// Notes that the attribute at `index` has the key `key`.
    fn note(&mut self, key: &str, index: usize) {
        if let Some(known) = Known::of(key) {
            self.positions[known as usize].get_or_insert(index);
        } else if key.ends_with("Label") {
            if let Some(slot) = self.labels.get_mut(self.label_count) {
                *slot = index;
            }
            self.label_count += 1;
        }
    }

    /// The non-empty value of `key`, cloned (cheap when borrowed).
    fn get<'a>(&self, event: &Event<'a>, key: Known) -> Option<Cow<'a, str>> {
        let index = self.positions[key as usize]?;
        event
            .attrs
            .get(index)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }
}

/// Fills the columns from the standard extension keys, first listed source first.
fn fill_columns(event: &mut Event<'_>, known: &KnownValues, context: &ParseContext) {
    const SOURCES: &[(Column, &[Known])] = &[
        (Column::SrcIp, &[Known::Src]),
        (Column::SrcPort, &[Known::Spt]),
        (Column::DstIp, &[Known::Dst]),
        (Column::DstPort, &[Known::Dpt]),
        (Column::User, &[Known::Suser, Known::Duser]),
        (Column::HttpMethod, &[Known::RequestMethod]),
        (Column::Url, &[Known::Request]),
        (Column::UserAgent, &[Known::RequestClientApplication]),
        (
            Column::Process,
            &[
                Known::Sproc,
                Known::Proc,
                Known::DeviceProcessName,
                Known::Dproc,
            ],
        ),
        (Column::Activity, &[Known::Act]),
        (Column::Host, &[Known::Dvchost]),
        (Column::Message, &[Known::Msg]),
    ];
    for (column, keys) in SOURCES {
        for key in *keys {
            if let Some(value) = known.get(event, *key) {
                set_column(event, *column, value);
                break;
            }
        }
    }
    for key in [Known::Outcome, Known::CategoryOutcome] {
        if event.outcome.is_none()
            && let Some(outcome) = known.get(event, key)
        {
            event.outcome = outcome_from_text(outcome.trim_start_matches('/'));
        }
    }
    for key in [Known::Rt, Known::End, Known::Start] {
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
    let text = trim(text);
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

/// The time of a syslog header: complete, or without a year (RFC 3164), which resolves
/// against the reference time only when the event has no other time.
#[derive(Debug, Clone, Copy)]
enum HeaderTime {
    Complete(i64),
    YearLess(Civil),
}

impl HeaderTime {
    /// Epoch microseconds, and whether the year was inferred.
    fn resolve(self, context: &ParseContext) -> Option<(i64, bool)> {
        match self {
            HeaderTime::Complete(micros) => Some((micros, false)),
            HeaderTime::YearLess(civil) => {
                time::resolve_year(civil, context.reference_time).map(|micros| (micros, true))
            }
        }
    }
}

/// What a syslog header in front of `CEF:` says.
#[derive(Debug, Default)]
struct SyslogHeader<'a> {
    time: Option<HeaderTime>,
    host: Option<&'a str>,
}

/// Reads `<PRI>` (optional), an RFC 5424 version (optional), a timestamp (`MMM dd yyyy
/// HH:mm:ss`, RFC 3164 without a year, or RFC 3339) and the host after it. Without
/// `need_time`, a header of the common fixed-width shape `Mmm dd hh:mm:ss host` gives its host
/// without the time being read.
fn read_syslog_header(prefix: &str, need_time: bool) -> SyslogHeader<'_> {
    let mut rest = prefix;
    if let Some(after) = rest.strip_prefix('<')
        && let Some(end) = memchr(b'>', after.as_bytes())
        && let Some(priority) = after.get(..end)
        && priority.bytes().all(|byte| byte.is_ascii_digit())
    {
        rest = after.get(end + 1..).unwrap_or("");
    }
    if let Some(end) = memchr(b' ', rest.as_bytes())
        && (1..=2).contains(&end)
        && rest.bytes().take(end).all(|byte| byte.is_ascii_digit())
    {
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let rest = rest.trim_start();
    if !need_time && let Some(after_time) = after_fixed_width_rfc3164_time(rest) {
        return SyslogHeader {
            time: None,
            host: host_after_time(after_time),
        };
    }
    // Ends of the first four space-separated tokens.
    let mut ends = [0usize; 4];
    let mut count = 0usize;
    let mut in_token = false;
    for (index, byte) in rest.bytes().enumerate() {
        if byte == b' ' {
            if in_token && let Some(end) = ends.get_mut(count) {
                *end = index;
                count += 1;
                if count == ends.len() {
                    break;
                }
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
    let after_token = |index: usize| match ends.get(index) {
        Some(&end) if index < count => rest.get(end..).unwrap_or(""),
        _ => "",
    };
    // `Mmm dd yyyy hh:mm:ss` has a year for its third token; most headers have none.
    let year_third = count >= 4
        && rest
            .get(..ends[2])
            .and_then(|text| text.rsplit(' ').next())
            .is_some_and(|token| token.len() == 4 && token.bytes().all(|b| b.is_ascii_digit()));
    let (time, after_time) = if year_third
        && let Some(micros) = rest.get(..ends[3]).and_then(time::parse_month_day_year)
    {
        (Some(HeaderTime::Complete(micros)), after_token(3))
    } else if let Some((civil, used)) = time::parse_rfc3164_prefix(rest) {
        (
            Some(HeaderTime::YearLess(civil)),
            rest.get(used..).unwrap_or(""),
        )
    } else if count >= 1
        && let Some(micros) = rest.get(..ends[0]).and_then(time::parse_rfc3339)
    {
        (Some(HeaderTime::Complete(micros)), after_token(0))
    } else {
        return SyslogHeader::default();
    };
    SyslogHeader {
        time,
        host: host_after_time(after_time),
    }
}

/// The first space-separated token after a header's time, unless it is a tag (`sshd:`).
fn host_after_time(after_time: &str) -> Option<&str> {
    let after_time = after_time.trim_start_matches(' ');
    let host_end = memchr(b' ', after_time.as_bytes()).unwrap_or(after_time.len());
    after_time
        .get(..host_end)
        .filter(|token| !token.is_empty() && !token.ends_with(':'))
}

/// What follows `Mmm dd hh:mm:ss` (day space-padded or two digits) when `rest` starts with
/// exactly that shape, as most syslog daemons write it: checked by position, without reading
/// the time. Any other shape is `None` and goes through the full reading.
fn after_fixed_width_rfc3164_time(rest: &str) -> Option<&str> {
    let bytes = rest.as_bytes().get(..16)?;
    let digit = |index: usize| bytes[index].is_ascii_digit();
    let shape = time::month_from_abbrev(&bytes[..3]).is_some()
        && bytes[3] == b' '
        && (bytes[4] == b' ' || digit(4))
        && digit(5)
        && bytes[6] == b' '
        && digit(7)
        && digit(8)
        && bytes[9] == b':'
        && digit(10)
        && digit(11)
        && bytes[12] == b':'
        && digit(13)
        && digit(14)
        && bytes[15] == b' ';
    shape.then(|| rest.get(16..)).flatten()
}

/// The OCSF severity of a CEF severity: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high.
fn severity_of(text: &str) -> Option<i32> {
    let text = trim(text);
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

/// Words that mark an authentication event in a Name or category, in lower case. Each starts
/// with one of [`AUTHENTICATION_INITIALS`].
const AUTHENTICATION_WORDS: [&str; 9] = [
    "login", "logon", "logout", "logoff", "log on", "log off", "sign-in", "signin", "auth",
];

/// The first letters of [`AUTHENTICATION_WORDS`].
const AUTHENTICATION_INITIALS: [u8; 3] = [b'l', b's', b'a'];

/// Whether `text` contains one of [`AUTHENTICATION_WORDS`], in any ASCII case.
fn speaks_of_authentication(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(at, byte)| {
        let initial = byte.to_ascii_lowercase();
        AUTHENTICATION_INITIALS.contains(&initial)
            && AUTHENTICATION_WORDS.iter().any(|word| {
                word.as_bytes().first() == Some(&initial)
                    && bytes
                        .get(at..at + word.len())
                        .is_some_and(|candidate| candidate.eq_ignore_ascii_case(word.as_bytes()))
            })
    })
}

/// The OCSF class of a CEF event; see the module docs for the rule.
fn classify(event: &Event<'_>, known: &KnownValues, name: &str) -> Class {
    if speaks_of_authentication(name)
        || known
            .get(event, Known::Cat)
            .is_some_and(|category| speaks_of_authentication(&category))
        || known
            .get(event, Known::CategoryBehavior)
            .is_some_and(|behavior| speaks_of_authentication(&behavior))
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
    fn more_labels_than_noted_are_all_applied_in_order() {
        let event = parse(
            "CEF:0|V|P|1|1|n|1|cs1=a cs1Label=One cs2=b cs2Label=Two cs3=c cs3Label=Three \
             cs4=d cs4Label=Four cs5=e cs5Label=Five cs6Label=Six cn1Label=Unused",
        )
        .expect("valid");
        let labelled: Vec<(&str, &str)> = event
            .attrs
            .iter()
            .filter(|(key, _)| key.starts_with("cef.") && !HEADER_KEYS.contains(&key.as_ref()))
            .map(|(key, value)| (key.as_ref(), value.as_ref()))
            .collect();
        assert_eq!(
            labelled,
            [
                ("cef.One", "a"),
                ("cef.Two", "b"),
                ("cef.Three", "c"),
                ("cef.Four", "d"),
                ("cef.Five", "e"),
            ],
            "a label without its field adds nothing"
        );
    }

    #[test]
    fn dense_extensions_keep_every_pair() {
        let pairs: Vec<String> = (0..60).map(|index| format!("k{index}={index}")).collect();
        let record = format!("CEF:0|V|P|1|1|n|1|{}", pairs.join(" "));
        let event = parse(&record).expect("valid");
        for index in 0..60 {
            let key = format!("k{index}");
            let value = index.to_string();
            assert_eq!(event.attr(&key), Some(value.as_str()), "{key}");
        }
    }

    #[test]
    fn escapes_spaces_empty_trailing_values_and_unknown_keys() {
        let event = parse(
            r"CEF:0|Ven\|dor|Pro\\duct|1|sig|n|5|request=https://x.example/?a\=1&b=2 msg=a\\b \| c\=d flexNumber9=7 src=10.0.0.1 suser=",
        )
        .expect("valid");
        assert_eq!(event.attr("cef.device_vendor"), Some("Ven|dor"));
        assert_eq!(event.attr("cef.device_product"), Some(r"Pro\duct"));
        assert_eq!(event.url.as_deref(), Some("https://x.example/?a=1&b=2"));
        assert_eq!(event.message.as_deref(), Some(r"a\b | c=d"));
        assert_eq!(
            event.attr("flexNumber9"),
            Some("7"),
            "unknown keys stay attrs"
        );
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(
            event.attr("suser"),
            Some(""),
            "a trailing key keeps its empty value"
        );
        assert_eq!(event.user, None, "an empty value fills no column");
        assert!(matches!(
            event
                .attrs
                .iter()
                .find(|(key, _)| key == "src")
                .map(|(_, value)| value),
            Some(Cow::Borrowed(_))
        ));
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

        #[test]
        fn the_fixed_width_host_shortcut_agrees_with_the_full_header_reading(
            priority in proptest::option::of(0u16..200),
            month in "(Jan|May|Dec|Mai|jan|XYZ)",
            day in "( [0-9]|[0-9][0-9]|[0-9])",
            clock in "[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?(\\.[0-9]{1,3})?",
            host in "[a-z0-9.:-]{0,12}",
            tail in "( [a-z]{1,6}(\\[[0-9]{1,4}\\])?:?)?",
        ) {
            let priority = priority.map(|value| format!("<{value}>")).unwrap_or_default();
            let prefix = format!("{priority}{month} {day} {clock} {host}{tail}");
            let fast = read_syslog_header(&prefix, false).host;
            let full = read_syslog_header(&prefix, true).host;
            proptest::prop_assert_eq!(fast, full, "{:?}", prefix);
        }
    }
}
