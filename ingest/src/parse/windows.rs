//! Windows event log records as JSON, in the shapes exporters write them:
//!
//! - **nested**, as `evtx_dump` and XML-to-JSON converters render the event XML:
//!   `{"Event": {"System": {"EventID": 4688, "Channel": "Security", "Computer": "...",
//!   "TimeCreated": {"#attributes": {"SystemTime": "..."}}, ...}, "EventData": {...}}}`, with
//!   `EventData` either as named fields or as a `Data` array of
//!   `{"#attributes": {"Name": ...}, "#text": ...}` (or `{"@Name": ..., "#text": ...}`) items,
//!   or a `UserData` element holding one named element of fields;
//! - **flat**, one object of top-level fields per line, as NXLog (`im_msvistalog` + `to_json`)
//!   and similar shippers write them (`EventID`, `Channel`, `Hostname`, `SourceName`,
//!   `EventTime`, `Image`, `CommandLine`, `TargetUserName`, ...);
//! - **Winlogbeat**: `winlog.event_id`, `winlog.channel`, `winlog.computer_name`,
//!   `winlog.provider_name`, `winlog.event_data.*`.
//!
//! Every original field is kept in `attrs` under its dotted path
//! (`Event.EventData.CommandLine`, `winlog.event_data.Image`). Because Sigma rules for Windows
//! name fields bare (`CommandLine`, `Image`, `EventID`, `Channel`, `Provider_Name`), the nested
//! and Winlogbeat shapes *also* get each event-data field under its bare name (a `Data` item
//! under its `Name`, a `UserData` field under its own name), and `EventID`, `Channel`,
//! `Provider_Name` and `Computer` from `System`. A flat record's `SourceName` is also given as
//! `Provider_Name` when the record has none. The flat shape's fields are bare already.
//!
//! Class, by channel and event id (Security ids also apply when a record names no channel or
//! provider; Sysmon ids need the Sysmon channel or provider):
//!
//! | events | class | activity |
//! | --- | --- | --- |
//! | Sysmon 1, Security 4688 | `process_activity` | `launch` |
//! | Sysmon 5, Security 4689 | `process_activity` | `terminate` |
//! | Security 4624, 4625 / 4634, 4647 / 4648 / 4672 | `authentication` | `logon` / `logoff` / `explicit_logon` / `special_logon` |
//! | Security 4776 / 4768 / 4769 / 4771 | `authentication` | `credential_validation` / `authentication_ticket` / `service_ticket` / `preauth` |
//! | Sysmon 3, Security 5156, 5157 | `network_activity` | `connect` |
//! | Sysmon 22 | `dns_activity` | `query` |
//! | Sysmon 11 / 23, 26 | `file_activity` | `create` / `delete` |
//! | Security 4663 whose `ObjectType` is `File` or absent (not a registry `Key`, a `Process`, ...) | `file_activity` | `access` |
//! | Security 4720-4738, 4740, 4767 | `account_change` | `create`, `enable`, `password_change`, `password_reset`, `disable`, `delete`, `group_create`, `group_add_member`, `group_remove_member`, `group_delete`, `group_change`, `change`, `lock`, `unlock` |
//! | anything else | `other` | |
//!
//! Columns: `host` from `Computer` (else `Hostname`); `time` from `System.TimeCreated`'s
//! `SystemTime`, else a flat `TimeCreated`, `UtcTime`, `@timestamp`, and last NXLog's
//! `EventTime` (local time without an offset); `severity` from `Level` (1 critical, 2 error
//! → high, 3 warning → medium, 0/4/5 informational) or a level name. `user` is the account
//! acting: `TargetUserName` for authentication events (else `SubjectUserName`),
//! `SubjectUserName` for account changes and Security process and file events, `User` (else
//! `SubjectUserName`) otherwise (`-` counts as empty). `process` from `Image`, `NewProcessName`, `ProcessName`,
//! `SourceImage` or `Application`; `command_line` from `CommandLine`. `src_ip`/`src_port`
//! from `IpAddress`/`IpPort`, `SourceIp`/`SourcePort` or `SourceAddress`/`SourcePort`;
//! `dst_ip`/`dst_port` from `DestinationIp`/`DestinationPort` or `DestAddress`/`DestPort`; an
//! IPv4-mapped address (`::ffff:10.0.0.5`, as Kerberos events write it) is stored as IPv4, port
//! 0 as none. `resource`: the account or group changed (`TargetUserName`) for account changes,
//! else `TargetFilename`, `ObjectName`, `QueryName`, `TargetObject`, `TargetImage`,
//! `ImageLoaded` or `PipeName`. `session_id` is the logon id: `TargetLogonId` for logons and
//! logoffs (`SubjectLogonId` for 4672), else `LogonId` or `SubjectLogonId` (`0x0` is none), so
//! a logon links to the processes started in it. `outcome`: failure for 4625, 4771 and 5157, from `Status`
//! for 4768, 4769 and 4776 (`0x0` succeeds), from `QueryStatus` for Sysmon 22, success for
//! other classified events; none for `other`. `message` from a flat record's `Message`.
//!
//! Columns the record leaves empty are then filled through the alias table (the service's
//! configured aliases, then the defaults), as for generic JSON.
//!
//! References: Sysmon event ids <https://learn.microsoft.com/sysinternals/downloads/sysmon>;
//! Security audit events <https://learn.microsoft.com/windows/security/threat-protection/auditing/>.

use std::borrow::Cow;
use std::net::IpAddr;

use super::flatten::flatten_into;
use super::json::json_error;
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome, severity};
use crate::time;

pub const NAME: &str = "windows";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["winevt", "windows_event"],
    description: "Windows event log records as JSON (evtx_dump nested Event/System/EventData, NXLog flat, Winlogbeat)",
    build: |options| Box::new(WindowsParser::new(options)),
};

/// Parser of Windows event log JSON records.
#[derive(Debug, Clone)]
pub struct WindowsParser {
    aliases: AliasTable,
}

impl WindowsParser {
    pub fn new(options: &ParserOptions) -> Self {
        WindowsParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// How one flattened key reads as a Windows field.
enum Field<'k> {
    /// A flat record's own top-level field.
    Bare(&'k str),
    /// A nested or Winlogbeat field that is also added under this bare name.
    Derived(&'k str),
    /// `System.TimeCreated`'s `SystemTime` or `System.Level`: read, not renamed.
    System(&'static str),
    /// The `Name` of `EventData.Data` item `n` (`u32::MAX` when `Data` is a single object).
    DataName(u32),
    /// The text of `EventData.Data` item `n`.
    DataText(u32),
    Ignored,
}

const SYSTEM_TIME: &str = "System.TimeCreated";
const SYSTEM_LEVEL: &str = "System.Level";

/// A `Data` item's suffix after `Event.EventData.Data`: its index and whether it is the name.
fn data_item(suffix: &str) -> Option<Field<'static>> {
    let (index, rest) = match suffix.split_once('.') {
        Some((digits, rest)) if digits.bytes().all(|byte| byte.is_ascii_digit()) => {
            (digits.parse::<u32>().ok()?, rest)
        }
        _ => (u32::MAX, suffix),
    };
    match rest {
        "#attributes.Name" | "@Name" => Some(Field::DataName(index)),
        "#text" => Some(Field::DataText(index)),
        _ => None,
    }
}

fn field(key: &str) -> Field<'_> {
    if !key.contains('.') {
        return Field::Bare(key);
    }
    if let Some(rest) = key.strip_prefix("Event.") {
        if let Some(name) = rest.strip_prefix("EventData.") {
            if let Some(suffix) = name.strip_prefix("Data.") {
                return data_item(suffix).unwrap_or(Field::Ignored);
            }
            if name.starts_with('#') || name.starts_with('@') {
                return Field::Ignored;
            }
            return Field::Derived(name);
        }
        if let Some(element) = rest.strip_prefix("UserData.") {
            return match element.split_once('.') {
                Some((_, name)) if !name.starts_with('#') && !name.starts_with('@') => {
                    Field::Derived(name)
                }
                _ => Field::Ignored,
            };
        }
        return match rest {
            "System.EventID" | "System.EventID.#text" => Field::Derived("EventID"),
            "System.Channel" => Field::Derived("Channel"),
            "System.Computer" => Field::Derived("Computer"),
            "System.Provider.#attributes.Name" | "System.Provider.@Name" => {
                Field::Derived("Provider_Name")
            }
            "System.TimeCreated.#attributes.SystemTime" | "System.TimeCreated.@SystemTime" => {
                Field::System(SYSTEM_TIME)
            }
            "System.Level" => Field::System(SYSTEM_LEVEL),
            _ => Field::Ignored,
        };
    }
    if let Some(rest) = key.strip_prefix("winlog.") {
        if let Some(name) = rest
            .strip_prefix("event_data.")
            .or_else(|| rest.strip_prefix("user_data."))
        {
            return Field::Derived(name);
        }
        return match rest {
            "event_id" => Field::Derived("EventID"),
            "channel" => Field::Derived("Channel"),
            "computer_name" => Field::Derived("Computer"),
            "provider_name" => Field::Derived("Provider_Name"),
            _ => Field::Ignored,
        };
    }
    if key == "log.level" {
        return Field::System(SYSTEM_LEVEL);
    }
    Field::Ignored
}

/// Indexes into `attrs` of the fields that fill columns (the first occurrence of each).
#[derive(Default)]
struct Found {
    event_id: Option<usize>,
    channel: Option<usize>,
    provider: Option<usize>,
    source_name: Option<usize>,
    computer: Option<usize>,
    hostname: Option<usize>,
    system_time: Option<usize>,
    time_created: Option<usize>,
    utc_time: Option<usize>,
    timestamp: Option<usize>,
    event_time: Option<usize>,
    level: Option<usize>,
    severity_name: Option<usize>,
    message: Option<usize>,
    image: Option<usize>,
    new_process_name: Option<usize>,
    process_name: Option<usize>,
    source_image: Option<usize>,
    application: Option<usize>,
    command_line: Option<usize>,
    user: Option<usize>,
    subject_user: Option<usize>,
    target_user: Option<usize>,
    ip_address: Option<usize>,
    ip_port: Option<usize>,
    source_ip: Option<usize>,
    source_address: Option<usize>,
    source_port: Option<usize>,
    destination_ip: Option<usize>,
    dest_address: Option<usize>,
    destination_port: Option<usize>,
    dest_port: Option<usize>,
    status: Option<usize>,
    query_name: Option<usize>,
    query_status: Option<usize>,
    target_filename: Option<usize>,
    object_name: Option<usize>,
    object_type: Option<usize>,
    target_object: Option<usize>,
    target_image: Option<usize>,
    image_loaded: Option<usize>,
    pipe_name: Option<usize>,
    logon_id: Option<usize>,
    subject_logon_id: Option<usize>,
    target_logon_id: Option<usize>,
}

impl Found {
    /// Records that field `name` is at `index` unless an earlier one was.
    fn note(&mut self, name: &str, index: usize) {
        let slot = match name {
            "EventID" => &mut self.event_id,
            "Channel" => &mut self.channel,
            "Provider_Name" => &mut self.provider,
            "SourceName" => &mut self.source_name,
            "Computer" => &mut self.computer,
            "Hostname" => &mut self.hostname,
            SYSTEM_TIME => &mut self.system_time,
            "TimeCreated" => &mut self.time_created,
            "UtcTime" => &mut self.utc_time,
            "@timestamp" => &mut self.timestamp,
            "EventTime" => &mut self.event_time,
            SYSTEM_LEVEL | "Level" => &mut self.level,
            "Severity" => &mut self.severity_name,
            "Message" | "message" => &mut self.message,
            "Image" => &mut self.image,
            "NewProcessName" => &mut self.new_process_name,
            "ProcessName" => &mut self.process_name,
            "SourceImage" => &mut self.source_image,
            "Application" => &mut self.application,
            "CommandLine" => &mut self.command_line,
            "User" => &mut self.user,
            "SubjectUserName" => &mut self.subject_user,
            "TargetUserName" => &mut self.target_user,
            "IpAddress" => &mut self.ip_address,
            "IpPort" => &mut self.ip_port,
            "SourceIp" => &mut self.source_ip,
            "SourceAddress" => &mut self.source_address,
            "SourcePort" => &mut self.source_port,
            "DestinationIp" => &mut self.destination_ip,
            "DestAddress" => &mut self.dest_address,
            "DestinationPort" => &mut self.destination_port,
            "DestPort" => &mut self.dest_port,
            "Status" => &mut self.status,
            "QueryName" => &mut self.query_name,
            "QueryStatus" => &mut self.query_status,
            "TargetFilename" => &mut self.target_filename,
            "ObjectName" => &mut self.object_name,
            "ObjectType" => &mut self.object_type,
            "TargetObject" => &mut self.target_object,
            "TargetImage" => &mut self.target_image,
            "ImageLoaded" => &mut self.image_loaded,
            "PipeName" => &mut self.pipe_name,
            "LogonId" => &mut self.logon_id,
            "SubjectLogonId" => &mut self.subject_logon_id,
            "TargetLogonId" => &mut self.target_logon_id,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(index);
        }
    }
}

/// The (name, text) indexes of `Data` item `item`, added when new.
fn data_slot(
    data: &mut Vec<(u32, Option<usize>, Option<usize>)>,
    item: u32,
) -> (&mut Option<usize>, &mut Option<usize>) {
    let position = match data.iter().position(|(number, _, _)| *number == item) {
        Some(position) => position,
        None => {
            data.push((item, None, None));
            data.len() - 1
        }
    };
    let (_, name, text) = &mut data[position];
    (name, text)
}

/// Adds the bare names (see the module docs) to flattened fields and finds the column fields.
fn windows_fields<'a>(attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Found {
    let mut found = Found::default();
    // (bare name, index of the value) for fields added under their bare name.
    let mut derived: Vec<(Cow<'a, str>, usize)> = Vec::new();
    // (item index, index of its name, index of its text) for `EventData.Data` items.
    let mut data: Vec<(u32, Option<usize>, Option<usize>)> = Vec::new();
    for (index, (key, _)) in attrs.iter().enumerate() {
        match field(key) {
            Field::Bare(name) => found.note(name, index),
            Field::Derived(name) => {
                found.note(name, index);
                derived.push((Cow::Owned(name.to_string()), index));
            }
            Field::System(name) => found.note(name, index),
            Field::DataName(item) => {
                data_slot(&mut data, item).0.get_or_insert(index);
            }
            Field::DataText(item) => {
                data_slot(&mut data, item).1.get_or_insert(index);
            }
            Field::Ignored => {}
        }
    }
    for (bare, index) in derived {
        let Some((_, value)) = attrs.get(index) else {
            continue;
        };
        let value = value.clone();
        attrs.push((bare, value));
    }
    for (_, name, text) in data {
        let Some(name) = name
            .and_then(|index| attrs.get(index))
            .map(|(_, name)| name.clone())
        else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let value = text
            .and_then(|index| attrs.get(index))
            .map_or(Cow::Borrowed(""), |(_, text)| text.clone());
        attrs.push((Cow::Owned(format!("Event.EventData.{name}")), value.clone()));
        found.note(&name, attrs.len());
        attrs.push((name, value));
    }
    if found.provider.is_none()
        && let Some(index) = found.source_name
        && let Some((_, value)) = attrs.get(index)
    {
        let value = value.clone();
        found.provider = Some(attrs.len());
        attrs.push((Cow::Borrowed("Provider_Name"), value));
    }
    found
}

/// Which log an event came from, as far as classification cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Log {
    Sysmon,
    Security,
    /// No channel or provider named: Security ids still apply.
    Unnamed,
    Other,
}

fn log_of(channel: Option<&str>, provider: Option<&str>) -> Log {
    let sysmon = channel.is_some_and(|channel| {
        channel.len() >= 18
            && channel
                .get(channel.len() - 18..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case("Sysmon/Operational"))
    }) || provider.is_some_and(|provider| provider.contains("Sysmon"));
    if sysmon {
        return Log::Sysmon;
    }
    let security = channel.is_some_and(|channel| channel.eq_ignore_ascii_case("Security"))
        || provider == Some("Microsoft-Windows-Security-Auditing");
    match (security, channel, provider) {
        (true, _, _) => Log::Security,
        (false, None, None) => Log::Unnamed,
        _ => Log::Other,
    }
}

/// The class and activity of event `id` from `log`.
fn classify(log: Log, id: u32, object_type: Option<&str>) -> (Class, Option<&'static str>) {
    let security = matches!(log, Log::Security | Log::Unnamed);
    let sysmon = log == Log::Sysmon;
    let (class, activity) = match id {
        1 if sysmon => (Class::ProcessActivity, "launch"),
        5 if sysmon => (Class::ProcessActivity, "terminate"),
        3 if sysmon => (Class::NetworkActivity, "connect"),
        22 if sysmon => (Class::DnsActivity, "query"),
        11 if sysmon => (Class::FileActivity, "create"),
        23 | 26 if sysmon => (Class::FileActivity, "delete"),
        _ if !security => return (Class::Other, None),
        4688 => (Class::ProcessActivity, "launch"),
        4689 => (Class::ProcessActivity, "terminate"),
        4624 | 4625 => (Class::Authentication, "logon"),
        4634 | 4647 => (Class::Authentication, "logoff"),
        4648 => (Class::Authentication, "explicit_logon"),
        4672 => (Class::Authentication, "special_logon"),
        4776 => (Class::Authentication, "credential_validation"),
        4768 => (Class::Authentication, "authentication_ticket"),
        4769 => (Class::Authentication, "service_ticket"),
        4771 => (Class::Authentication, "preauth"),
        5156 | 5157 => (Class::NetworkActivity, "connect"),
        4663 if matches!(object_type, None | Some("File")) => (Class::FileActivity, "access"),
        4720 => (Class::AccountChange, "create"),
        4722 => (Class::AccountChange, "enable"),
        4723 => (Class::AccountChange, "password_change"),
        4724 => (Class::AccountChange, "password_reset"),
        4725 => (Class::AccountChange, "disable"),
        4726 => (Class::AccountChange, "delete"),
        4727 | 4731 => (Class::AccountChange, "group_create"),
        4728 | 4732 => (Class::AccountChange, "group_add_member"),
        4729 | 4733 => (Class::AccountChange, "group_remove_member"),
        4730 | 4734 => (Class::AccountChange, "group_delete"),
        4735 | 4737 => (Class::AccountChange, "group_change"),
        4721..=4738 => (Class::AccountChange, "change"),
        4740 => (Class::AccountChange, "lock"),
        4767 => (Class::AccountChange, "unlock"),
        _ => return (Class::Other, None),
    };
    (class, Some(activity))
}

/// The OCSF severity of a Windows `Level` (a number or a name).
fn severity_of_level(level: &str) -> Option<i32> {
    match level.trim().parse::<u8>() {
        Ok(1) => Some(severity::CRITICAL),
        Ok(2) => Some(severity::HIGH),
        Ok(3) => Some(severity::MEDIUM),
        Ok(0 | 4 | 5) => Some(severity::INFORMATIONAL),
        Ok(_) => None,
        Err(_) => severity::from_level_name(level),
    }
}

/// An IP address as stored in `src_ip`/`dst_ip`: IPv4-mapped IPv6 as IPv4, `-` as none.
fn ip<'a>(value: Cow<'a, str>) -> Option<Cow<'a, str>> {
    let text = value.trim();
    let address = text.parse::<IpAddr>().ok()?;
    if let IpAddr::V6(v6) = address
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        return Some(Cow::Owned(v4.to_string()));
    }
    if text.len() == value.len() {
        Some(value)
    } else {
        Some(Cow::Owned(text.to_string()))
    }
}

fn port(value: Option<Cow<'_, str>>) -> Option<i32> {
    value?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|port| *port > 0 && *port <= 65_535)
}

impl Parser for WindowsParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        if !record.trim_start().starts_with('{') {
            return Err(ParseError::malformed(
                NAME,
                "a Windows event is a JSON object",
            ));
        }
        let mut event = Event::new(NAME);
        flatten_into(record, &mut event.attrs).map_err(|error| json_error(NAME, error))?;
        out.push(from_flattened(&self.aliases, event)?);
        Ok(())
    }
}

/// The event of one record whose fields are already flattened into `event.attrs` (format
/// detection flattens a JSON record once and hands it here).
pub fn from_flattened<'a>(
    aliases: &AliasTable,
    mut event: Event<'a>,
) -> Result<Event<'a>, ParseError> {
    event.format = NAME;
    let found = windows_fields(&mut event.attrs);
    // A present value: Windows writes `-` for an empty field.
    let value = |slot: Option<usize>| -> Option<Cow<'a, str>> {
        slot.and_then(|index| event.attrs.get(index))
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty() && value != "-")
    };
    let Some(id_text) = value(found.event_id) else {
        return Err(ParseError::invalid(NAME, "no EventID: not a Windows event"));
    };
    let id = id_text.trim().parse::<u32>().ok();
    let channel = value(found.channel);
    let provider = value(found.provider);
    let object_type = value(found.object_type);
    let log = log_of(channel.as_deref(), provider.as_deref());
    let (class, activity) = match id {
        Some(id) => classify(log, id, object_type.as_deref()),
        None => (Class::Other, None),
    };
    let id = id.unwrap_or(0);
    let status_ok = |slot: Option<usize>, success: &str| match value(slot) {
        Some(status) if status.trim().eq_ignore_ascii_case(success) => Outcome::Success,
        Some(_) => Outcome::Failure,
        None => Outcome::Unknown,
    };
    let outcome = match (class, id) {
        (Class::Other, _) => None,
        (Class::Authentication, 4625 | 4771) | (Class::NetworkActivity, 5157) => {
            Some(Outcome::Failure)
        }
        (Class::Authentication, 4768 | 4769 | 4776) => Some(status_ok(found.status, "0x0")),
        (Class::DnsActivity, _) => Some(status_ok(found.query_status, "0")),
        _ => Some(Outcome::Success),
    };
    let is_security_event = matches!(log, Log::Security | Log::Unnamed);
    let user = match class {
        Class::Authentication => value(found.target_user).or_else(|| value(found.subject_user)),
        Class::AccountChange => value(found.subject_user),
        Class::ProcessActivity | Class::FileActivity if is_security_event => {
            value(found.subject_user)
        }
        _ => value(found.user).or_else(|| value(found.subject_user)),
    };
    let mut resource = match class {
        Class::AccountChange => value(found.target_user),
        _ => None,
    };
    if resource.is_none() {
        resource = [
            found.target_filename,
            found.object_name,
            found.query_name,
            found.target_object,
            found.target_image,
            found.image_loaded,
            found.pipe_name,
        ]
        .into_iter()
        .find_map(&value);
    }
    let session_id = if class == Class::Authentication {
        if id == 4672 {
            value(found.subject_logon_id)
        } else {
            value(found.target_logon_id)
        }
    } else {
        value(found.logon_id).or_else(|| value(found.subject_logon_id))
    }
    .filter(|id| !id.eq_ignore_ascii_case("0x0"));
    let process = [
        found.image,
        found.new_process_name,
        found.process_name,
        found.source_image,
        found.application,
    ]
    .into_iter()
    .find_map(&value);
    let src_ip = [found.ip_address, found.source_ip, found.source_address]
        .into_iter()
        .find_map(|slot| value(slot).and_then(ip));
    let src_port = port(value(found.ip_port)).or_else(|| port(value(found.source_port)));
    let dst_ip = [found.destination_ip, found.dest_address]
        .into_iter()
        .find_map(|slot| value(slot).and_then(ip));
    let dst_port = port(value(found.destination_port)).or_else(|| port(value(found.dest_port)));
    let time = [
        found.system_time,
        found.time_created,
        found.utc_time,
        found.timestamp,
        found.event_time,
    ]
    .into_iter()
    .find_map(|slot| value(slot).and_then(|text| time::parse_any(&text)));
    let severity = value(found.level)
        .and_then(|level| severity_of_level(&level))
        .or_else(|| value(found.severity_name).and_then(|name| severity::from_level_name(&name)));
    let host = value(found.computer).or_else(|| value(found.hostname));
    let command_line = value(found.command_line);
    let message = value(found.message);

    event.class = class;
    event.activity = activity.map(Cow::Borrowed);
    event.outcome = outcome;
    event.severity = severity;
    event.time = time;
    event.host = host;
    event.user = user;
    event.process = process;
    event.command_line = command_line;
    event.resource = resource;
    event.src_ip = src_ip;
    event.src_port = src_port;
    event.dst_ip = dst_ip;
    event.dst_port = dst_port;
    event.session_id = session_id;
    event.message = message;
    aliases.apply(&mut event);
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
        let mut out = Vec::new();
        WindowsParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        Ok(out)
    }

    fn one(record: &str) -> Event<'_> {
        let mut events = parse(record).expect("valid Windows event");
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    const SYSMON_PROCESS: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Level":4,"TimeCreated":{"#attributes":{"SystemTime":"2025-11-27T07:40:10.165324Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws01","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"UtcTime":"2025-11-27 07:40:10.132","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","User":"CORP\\alice","LogonId":"0x3e7a1","ParentImage":"C:\\Windows\\explorer.exe"}}}"##;

    #[test]
    fn nested_sysmon_process_creation_fills_columns() {
        let event = one(SYSMON_PROCESS);
        assert_eq!(event.class, Class::ProcessActivity);
        assert_eq!(event.activity.as_deref(), Some("launch"));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.host.as_deref(), Some("ws01"));
        assert_eq!(event.user.as_deref(), Some("CORP\\alice"));
        assert_eq!(
            event.process.as_deref(),
            Some("C:\\Windows\\System32\\cmd.exe")
        );
        assert_eq!(event.command_line.as_deref(), Some("cmd.exe /c whoami"));
        assert_eq!(event.session_id.as_deref(), Some("0x3e7a1"));
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(
            event.time,
            time::parse_rfc3339("2025-11-27T07:40:10.165324Z"),
            "System.TimeCreated wins over UtcTime"
        );
    }

    #[test]
    fn nested_fields_are_also_under_their_bare_names() {
        let event = one(SYSMON_PROCESS);
        assert_eq!(
            event.attr("Event.EventData.CommandLine"),
            Some("cmd.exe /c whoami")
        );
        assert_eq!(event.attr("CommandLine"), Some("cmd.exe /c whoami"));
        assert_eq!(event.attr("ParentImage"), Some("C:\\Windows\\explorer.exe"));
        assert_eq!(event.attr("EventID"), Some("1"));
        assert_eq!(
            event.attr("Channel"),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(
            event.attr("Provider_Name"),
            Some("Microsoft-Windows-Sysmon")
        );
        assert_eq!(event.attr("Computer"), Some("ws01"));
        assert_eq!(
            event.attr("Event.System.Security.#attributes.UserID"),
            Some("S-1-5-18")
        );
        assert_eq!(event.attr("#attributes.xmlns"), None);
    }

    #[test]
    fn data_array_items_are_named_fields() {
        let event = one(
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":0},"#text":4624},"Channel":"Security","Computer":"dc01","TimeCreated":{"@SystemTime":"2024-05-01T12:00:00Z"}},"EventData":{"Data":[{"#attributes":{"Name":"TargetUserName"},"#text":"alice"},{"#attributes":{"Name":"TargetLogonId"},"#text":"0x1f2e"},{"@Name":"IpAddress","#text":"::ffff:10.0.0.5"},{"#attributes":{"Name":"IpPort"},"#text":"50123"},{"#attributes":{"Name":"LogonType"},"#text":"3"},{"#attributes":{"Name":"Empty"}}]}}}"##,
        );
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.activity.as_deref(), Some("logon"));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(event.src_port, Some(50123));
        assert_eq!(event.session_id.as_deref(), Some("0x1f2e"));
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(event.attr("LogonType"), Some("3"));
        assert_eq!(event.attr("Event.EventData.LogonType"), Some("3"));
        assert_eq!(event.attr("Empty"), Some(""));
        assert_eq!(event.attr("EventID"), Some("4624"));
    }

    #[test]
    fn single_data_item_and_unnamed_data_are_kept() {
        let event = one(
            r##"{"Event":{"System":{"EventID":7036,"Channel":"System"},"EventData":{"Data":{"#attributes":{"Name":"param1"},"#text":"Print Spooler"},"DataSize":"4"}}}"##,
        );
        assert_eq!(event.attr("param1"), Some("Print Spooler"));
        assert_eq!(event.attr("DataSize"), Some("4"));
        assert_eq!(event.class, Class::Other);
        assert_eq!(event.outcome, None);
        let event = one(r##"{"Event":{"System":{"EventID":104},"EventData":{"Data":["a","b"]}}}"##);
        assert_eq!(event.attr("Event.EventData.Data.1"), Some("b"));
    }

    #[test]
    fn user_data_fields_get_bare_names() {
        let event = one(
            r##"{"Event":{"System":{"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational"},"UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2006/windows/WMI"},"User":"corp\\bob","Operation":"ExecMethod"}}}}"##,
        );
        assert_eq!(event.attr("Operation"), Some("ExecMethod"));
        assert_eq!(event.user.as_deref(), Some("corp\\bob"));
        assert_eq!(event.attr("xmlns"), None);
    }

    #[test]
    fn flat_failed_logon_is_an_authentication_failure() {
        let event = one(
            r##"{"SourceName":"Microsoft-Windows-Security-Auditing","Level":"0","Channel":"Security","Hostname":"pc1","TimeCreated":"2022-08-18T06:56:26.233Z","@timestamp":"2022-08-18T06:56:27Z","EventID":4625,"Message":"An account failed to log on.","SubjectUserName":"PC1$","TargetUserName":"admin","Status":"0xc000006d","LogonType":"3","IpAddress":"203.0.113.9","IpPort":"0","SubjectLogonId":"0x3e7"}"##,
        );
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.user.as_deref(), Some("admin"));
        assert_eq!(event.src_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(event.src_port, None, "port 0 is no port");
        assert_eq!(event.session_id, None);
        assert_eq!(event.host.as_deref(), Some("pc1"));
        assert_eq!(
            event.message.as_deref(),
            Some("An account failed to log on.")
        );
        assert_eq!(event.time, time::parse_rfc3339("2022-08-18T06:56:26.233Z"));
        assert_eq!(
            event.attr("Provider_Name"),
            Some("Microsoft-Windows-Security-Auditing")
        );
    }

    #[test]
    fn flat_security_process_creation_uses_new_process_name() {
        let event = one(
            r##"{"EventID":4688,"Channel":"security","Hostname":"dc1","EventTime":"2020-06-09 22:51:04","NewProcessName":"C:\\Windows\\System32\\sppsvc.exe","CommandLine":"C:\\windows\\system32\\sppsvc.exe","SubjectUserName":"DC1$","SubjectLogonId":"0x3e7","Severity":"INFO"}"##,
        );
        assert_eq!(event.class, Class::ProcessActivity);
        assert_eq!(
            event.process.as_deref(),
            Some("C:\\Windows\\System32\\sppsvc.exe")
        );
        assert_eq!(event.user.as_deref(), Some("DC1$"));
        assert_eq!(event.session_id.as_deref(), Some("0x3e7"));
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.time, time::parse_rfc3339("2020-06-09T22:51:04Z"));
    }

    #[test]
    fn sysmon_network_dns_and_file_events() {
        let event = one(
            r##"{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\dns.exe","User":"NT AUTHORITY\\SYSTEM","SourceIp":"172.18.38.5","SourcePort":"53","DestinationIp":"192.168.5.2","DestinationPort":"49246","Protocol":"udp"}"##,
        );
        assert_eq!(event.class, Class::NetworkActivity);
        assert_eq!(event.src_ip.as_deref(), Some("172.18.38.5"));
        assert_eq!(event.src_port, Some(53));
        assert_eq!(event.dst_ip.as_deref(), Some("192.168.5.2"));
        assert_eq!(event.dst_port, Some(49246));
        let event = one(
            r##"{"EventID":22,"SourceName":"Microsoft-Windows-Sysmon","QueryName":"arc.msn.com","QueryStatus":"0","Image":"C:\\bg.exe"}"##,
        );
        assert_eq!(event.class, Class::DnsActivity);
        assert_eq!(event.resource.as_deref(), Some("arc.msn.com"));
        assert_eq!(event.outcome, Some(Outcome::Success));
        let event = one(
            r##"{"EventID":23,"Channel":"Microsoft-Windows-Sysmon/Operational","TargetFilename":"C:\\x.txt"}"##,
        );
        assert_eq!(event.class, Class::FileActivity);
        assert_eq!(event.activity.as_deref(), Some("delete"));
        assert_eq!(event.resource.as_deref(), Some("C:\\x.txt"));
    }

    #[test]
    fn account_changes_name_actor_and_target() {
        let event = one(
            r##"{"EventID":4720,"Channel":"Security","SubjectUserName":"admin","TargetUserName":"backdoor"}"##,
        );
        assert_eq!(event.class, Class::AccountChange);
        assert_eq!(event.activity.as_deref(), Some("create"));
        assert_eq!(event.user.as_deref(), Some("admin"));
        assert_eq!(event.resource.as_deref(), Some("backdoor"));
        let event =
            one(r##"{"EventID":4732,"Channel":"Security","TargetUserName":"Administrators"}"##);
        assert_eq!(event.activity.as_deref(), Some("group_add_member"));
        let event = one(r##"{"EventID":4740,"TargetUserName":"bob"}"##);
        assert_eq!(event.activity.as_deref(), Some("lock"));
    }

    #[test]
    fn classification_respects_the_channel() {
        let event = one(r##"{"EventID":1,"Channel":"Microsoft-Windows-Kernel-IO/Operational"}"##);
        assert_eq!(event.class, Class::Other);
        let event =
            one(r##"{"EventID":4688,"Channel":"Microsoft-Windows-PowerShell/Operational"}"##);
        assert_eq!(event.class, Class::Other);
        let event = one(
            r##"{"EventID":4663,"Channel":"Security","ObjectType":"Key","ObjectName":"\\REGISTRY\\MACHINE"}"##,
        );
        assert_eq!(event.class, Class::Other);
        assert_eq!(event.resource.as_deref(), Some("\\REGISTRY\\MACHINE"));
        let event = one(
            r##"{"EventID":4663,"Channel":"Security","ObjectType":"File","ObjectName":"C:\\secret.txt"}"##,
        );
        assert_eq!(event.class, Class::FileActivity);
        let event = one(r##"{"EventID":4663,"Channel":"Security","ObjectType":"Process"}"##);
        assert_eq!(event.class, Class::Other);
        let event = one(
            r##"{"EventID":4769,"Channel":"Security","Status":"0x6","TargetUserName":"svc@CORP"}"##,
        );
        assert_eq!(event.outcome, Some(Outcome::Failure));
        let event = one(r##"{"EventID":"not a number","Channel":"Security"}"##);
        assert_eq!(event.class, Class::Other);
    }

    #[test]
    fn winlogbeat_shape_gets_bare_names() {
        let event = one(
            r##"{"@timestamp":"2024-05-01T12:00:00.000Z","message":"Process Create","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"computer_name":"ws02","provider_name":"Microsoft-Windows-Sysmon","event_data":{"Image":"C:\\a.exe","CommandLine":"a.exe -x","User":"CORP\\carol"}},"log":{"level":"information"}}"##,
        );
        assert_eq!(event.class, Class::ProcessActivity);
        assert_eq!(event.host.as_deref(), Some("ws02"));
        assert_eq!(event.command_line.as_deref(), Some("a.exe -x"));
        assert_eq!(event.attr("CommandLine"), Some("a.exe -x"));
        assert_eq!(event.attr("EventID"), Some("1"));
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.message.as_deref(), Some("Process Create"));
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
    }

    #[test]
    fn levels_map_to_severity() {
        assert_eq!(severity_of_level("1"), Some(severity::CRITICAL));
        assert_eq!(severity_of_level("2"), Some(severity::HIGH));
        assert_eq!(severity_of_level("3"), Some(severity::MEDIUM));
        assert_eq!(severity_of_level("4"), Some(severity::INFORMATIONAL));
        assert_eq!(severity_of_level("0"), Some(severity::INFORMATIONAL));
        assert_eq!(severity_of_level("Warning"), Some(severity::MEDIUM));
        assert_eq!(severity_of_level("99"), None);
    }

    #[test]
    fn records_that_are_not_windows_events_are_refused() {
        assert!(parse(r##"{"Event":{"System":{"Channel":"Security"}}}"##).is_err());
        assert!(parse(r##"{"msg":"hello"}"##).is_err());
        assert!(parse(r##"[{"EventID":1}]"##).is_err());
        assert!(parse(r##"{"EventID":4624,"Channel":"Sec"##).is_err());
        assert!(parse(r##"{"EventID":"-"}"##).is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_windows_like_json(
            id in 0u32..6000,
            channel in ".{0,24}",
            name in ".{0,12}",
            text in ".{0,20}",
            nested in proptest::bool::ANY,
        ) {
            let record = if nested {
                serde_json::json!({"Event": {"System": {"EventID": id, "Channel": channel},
                    "EventData": {"Data": [{"#attributes": {"Name": name}, "#text": text}],
                    "IpAddress": text, "IpPort": name}}})
            } else {
                serde_json::json!({"EventID": id, "Channel": channel, "IpAddress": text,
                    "SourcePort": name, "Level": name, "ObjectType": text})
            };
            let _ = parse(&record.to_string());
        }
    }
}
