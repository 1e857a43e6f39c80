//! One normalized event, as a parser produces it, before it becomes a row of a `RecordBatch`.
//!
//! Fields borrow from the raw record wherever possible (`Cow::Borrowed`), so a parser that
//! does not need to unescape anything allocates nothing per field. The pipeline fills the
//! columns a parser cannot know: `ingest_time`, `event_id`, `service` (when configured),
//! `raw`, and the flags about the record itself.

use std::borrow::Cow;

use serde::Serialize;

/// A text field of an event: borrowed from the record when it can be.
pub type Text<'a> = Option<Cow<'a, str>>;

/// OCSF event class of an event (the `class` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Authentication,
    ApiActivity,
    HttpActivity,
    NetworkActivity,
    ProcessActivity,
    AccountChange,
    FileActivity,
    DnsActivity,
    #[default]
    Other,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Class::Authentication,
        Class::ApiActivity,
        Class::HttpActivity,
        Class::NetworkActivity,
        Class::ProcessActivity,
        Class::AccountChange,
        Class::FileActivity,
        Class::DnsActivity,
        Class::Other,
    ];

    /// The name stored in the `class` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Authentication => "authentication",
            Class::ApiActivity => "api_activity",
            Class::HttpActivity => "http_activity",
            Class::NetworkActivity => "network_activity",
            Class::ProcessActivity => "process_activity",
            Class::AccountChange => "account_change",
            Class::FileActivity => "file_activity",
            Class::DnsActivity => "dns_activity",
            Class::Other => "other",
        }
    }

    /// The OCSF `class_uid` this class corresponds to (0 for `other`).
    pub fn ocsf_class_uid(self) -> u32 {
        match self {
            Class::Authentication => 3002,
            Class::ApiActivity => 6003,
            Class::HttpActivity => 4002,
            Class::NetworkActivity => 4001,
            Class::ProcessActivity => 1007,
            Class::AccountChange => 3001,
            Class::FileActivity => 1001,
            Class::DnsActivity => 4003,
            Class::Other => 0,
        }
    }
}

/// Outcome of an event (the `outcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }

    /// The outcome an HTTP status implies: 1xx-3xx succeed, 4xx-5xx fail.
    pub fn from_http_status(status: i32) -> Outcome {
        match status {
            100..=399 => Outcome::Success,
            400..=599 => Outcome::Failure,
            _ => Outcome::Unknown,
        }
    }
}

/// OCSF severity ids (the `severity` column).
pub mod severity {
    pub const UNKNOWN: i32 = 0;
    pub const INFORMATIONAL: i32 = 1;
    pub const LOW: i32 = 2;
    pub const MEDIUM: i32 = 3;
    pub const HIGH: i32 = 4;
    pub const CRITICAL: i32 = 5;
    pub const FATAL: i32 = 6;

    /// Maps a syslog severity (0 emergency .. 7 debug) to an OCSF severity id.
    pub fn from_syslog(level: u8) -> i32 {
        match level {
            0 => FATAL,
            1 => CRITICAL,
            2 => CRITICAL,
            3 => HIGH,
            4 => MEDIUM,
            5 => LOW,
            _ => INFORMATIONAL,
        }
    }

    /// Maps a level name as services write it (`error`, `WARN`, `info`, `crit`, ...) to an OCSF
    /// severity id; `None` when the name is not a known level.
    pub fn from_level_name(name: &str) -> Option<i32> {
        let level = name.trim();
        let eq = |candidate: &str| level.eq_ignore_ascii_case(candidate);
        let id = if eq("trace")
            || eq("debug")
            || eq("info")
            || eq("information")
            || eq("informational")
            || eq("notice")
            || eq("verbose")
        {
            INFORMATIONAL
        } else if eq("warn") || eq("warning") {
            MEDIUM
        } else if eq("error") || eq("err") || eq("eror") {
            HIGH
        } else if eq("crit") || eq("critical") || eq("alert") || eq("emerg") || eq("emergency") {
            CRITICAL
        } else if eq("fatal") || eq("panic") {
            FATAL
        } else if eq("low") {
            LOW
        } else if eq("medium") {
            MEDIUM
        } else if eq("high") {
            HIGH
        } else {
            return None;
        };
        Some(id)
    }
}

/// Something weft noticed about a record while reading it (the `flags` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The record had no usable event time; `time` is the ingest time.
    TimeMissing,
    /// The record was not valid UTF-8; `raw` holds a lossy conversion.
    NotUtf8,
    /// The record's year was inferred (RFC 3164 timestamps carry none).
    YearInferred,
    /// The format detector found no specific parser; the record is stored as plain text.
    Unrecognized,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::TimeMissing => "time_missing",
            Flag::NotUtf8 => "not_utf8",
            Flag::YearInferred => "year_inferred",
            Flag::Unrecognized => "unrecognized",
        }
    }
}

impl Flag {
    const ALL: [Flag; 4] = [
        Flag::TimeMissing,
        Flag::NotUtf8,
        Flag::YearInferred,
        Flag::Unrecognized,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of flags of an event: a bitset, so flagging an event allocates nothing.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    pub fn insert(&mut self, flag: Flag) {
        self.0 |= flag.bit();
    }

    pub fn contains(&self, flag: &Flag) -> bool {
        self.0 & flag.bit() != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The flags set, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.into_iter().filter(|flag| self.contains(flag))
    }
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Vec<Flag>> for Flags {
    fn eq(&self, other: &Vec<Flag>) -> bool {
        let mut expected = Flags::default();
        other.iter().for_each(|flag| expected.insert(*flag));
        *self == expected && other.iter().all(|flag| self.contains(flag))
    }
}

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A normalized event. Parsers set what the record says; unset fields stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event<'a> {
    /// Name of the parser that read the event (the `format` column).
    pub format: &'static str,
    /// Event time in UTC microseconds since the epoch; `None` when the record has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    pub class: Class,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<i32>,
    /// Service named by the record itself; configuration may override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_ip: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Text<'a>,
    /// The part of the record this event came from, when one record holds several events
    /// (a CloudTrail `{"Records": [...]}` file); `None` means the whole record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<&'a str>,
    /// Every original field, flattened with dotted keys, values as text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    #[serde(skip_serializing_if = "Flags::is_empty")]
    pub flags: Flags,
}

impl<'a> Event<'a> {
    /// An empty event read by `format`, of class `other`.
    pub fn new(format: &'static str) -> Self {
        Event {
            format,
            ..Event::default()
        }
    }

    /// Adds a flag once.
    pub fn flag(&mut self, flag: Flag) {
        self.flags.insert(flag);
    }

    /// The value of an attribute by its dotted key, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_ref())
    }
}

/// Sets `slot` to `value` unless it already holds something: the first source of a field wins.
pub fn fill<'a>(slot: &mut Text<'a>, value: impl Into<Cow<'a, str>>) {
    if slot.is_none() {
        let value = value.into();
        if !value.is_empty() {
            *slot = Some(value);
        }
    }
}

/// The vector a record's events are parsed into, reused from record to record: parsing a
/// record then allocates no vector of its own. [`take`](Self::take) lends it (empty) for the
/// borrows of one record; [`give_back`](Self::give_back) returns it once the events are stored.
#[derive(Debug, Default)]
pub struct EventBuffer {
    spare: Vec<Event<'static>>,
}

impl EventBuffer {
    /// An empty vector for the events of one record, with the buffer's allocation.
    pub fn take<'a>(&mut self) -> Vec<Event<'a>> {
        // Collecting an emptied vector's iterator into a vector of a type of the same layout
        // keeps its allocation (the standard library collects such iterators in place).
        std::mem::take(&mut self.spare).into_iter().collect()
    }

    /// Returns a record's vector after its events were stored; its allocation serves the next.
    #[allow(
        clippy::unnecessary_filter_map,
        reason = "the map changes the lifetime of the (empty) vector's element type"
    )]
    pub fn give_back(&mut self, mut events: Vec<Event<'_>>) {
        events.clear();
        self.spare = events.into_iter().filter_map(|_| None).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_map_to_ocsf_severity() {
        assert_eq!(severity::from_level_name("ERROR"), Some(severity::HIGH));
        assert_eq!(severity::from_level_name("warn"), Some(severity::MEDIUM));
        assert_eq!(
            severity::from_level_name("info"),
            Some(severity::INFORMATIONAL)
        );
        assert_eq!(severity::from_level_name("nonsense"), None);
    }

    #[test]
    fn fill_keeps_the_first_value_and_ignores_empty_ones() {
        let mut slot: Text = None;
        fill(&mut slot, "");
        assert_eq!(slot, None);
        fill(&mut slot, "alice");
        fill(&mut slot, "bob");
        assert_eq!(slot.as_deref(), Some("alice"));
    }

    #[test]
    fn http_status_implies_outcome() {
        assert_eq!(Outcome::from_http_status(204), Outcome::Success);
        assert_eq!(Outcome::from_http_status(401), Outcome::Failure);
        assert_eq!(Outcome::from_http_status(0), Outcome::Unknown);
    }

    #[test]
    fn an_event_buffer_keeps_its_allocation_across_records() {
        let mut buffer = EventBuffer::default();
        let first = String::from("first record");
        let mut events = buffer.take();
        events.push(Event::new("text"));
        events[0].message = Some(Cow::Borrowed(first.as_str()));
        events.reserve(3);
        let (pointer, capacity) = (events.as_ptr() as usize, events.capacity());
        buffer.give_back(events);
        drop(first);
        let second = String::from("second record");
        let mut events = buffer.take();
        assert!(events.is_empty());
        assert_eq!(events.capacity(), capacity, "the allocation is reused");
        assert_eq!(events.as_ptr() as usize, pointer);
        events.push(Event::new("text"));
        events[0].message = Some(Cow::Borrowed(second.as_str()));
        assert_eq!(events[0].message.as_deref(), Some("second record"));
    }
}
