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

mod class;
mod fields;
#[cfg(test)]
mod tests;

use class::{Log, classify, log_of};
use fields::windows_fields;

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
