//! How the flattened keys of a Windows record read as Windows fields: bare names for Sigma,
//! `Data` items, and the indexes of the fields that fill columns.

use std::borrow::Cow;

/// How one flattened key reads as a Windows field.
pub(super) enum Field<'k> {
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

pub(super) const SYSTEM_TIME: &str = "System.TimeCreated";
pub(super) const SYSTEM_LEVEL: &str = "System.Level";

/// A `Data` item's suffix after `Event.EventData.Data`: its index and whether it is the name.
pub(super) fn data_item(suffix: &str) -> Option<Field<'static>> {
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

pub(super) fn field(key: &str) -> Field<'_> {
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
pub(super) struct Found {
    pub(super) event_id: Option<usize>,
    pub(super) channel: Option<usize>,
    pub(super) provider: Option<usize>,
    pub(super) source_name: Option<usize>,
    pub(super) computer: Option<usize>,
    pub(super) hostname: Option<usize>,
    pub(super) system_time: Option<usize>,
    pub(super) time_created: Option<usize>,
    pub(super) utc_time: Option<usize>,
    pub(super) timestamp: Option<usize>,
    pub(super) event_time: Option<usize>,
    pub(super) level: Option<usize>,
    pub(super) severity_name: Option<usize>,
    pub(super) message: Option<usize>,
    pub(super) image: Option<usize>,
    pub(super) new_process_name: Option<usize>,
    pub(super) process_name: Option<usize>,
    pub(super) source_image: Option<usize>,
    pub(super) application: Option<usize>,
    pub(super) command_line: Option<usize>,
    pub(super) user: Option<usize>,
    pub(super) subject_user: Option<usize>,
    pub(super) target_user: Option<usize>,
    pub(super) ip_address: Option<usize>,
    pub(super) ip_port: Option<usize>,
    pub(super) source_ip: Option<usize>,
    pub(super) source_address: Option<usize>,
    pub(super) source_port: Option<usize>,
    pub(super) destination_ip: Option<usize>,
    pub(super) dest_address: Option<usize>,
    pub(super) destination_port: Option<usize>,
    pub(super) dest_port: Option<usize>,
    pub(super) status: Option<usize>,
    pub(super) query_name: Option<usize>,
    pub(super) query_status: Option<usize>,
    pub(super) target_filename: Option<usize>,
    pub(super) object_name: Option<usize>,
    pub(super) object_type: Option<usize>,
    pub(super) target_object: Option<usize>,
    pub(super) target_image: Option<usize>,
    pub(super) image_loaded: Option<usize>,
    pub(super) pipe_name: Option<usize>,
    pub(super) logon_id: Option<usize>,
    pub(super) subject_logon_id: Option<usize>,
    pub(super) target_logon_id: Option<usize>,
}

impl Found {
    /// Records that field `name` is at `index` unless an earlier one was.
    pub(super) fn note(&mut self, name: &str, index: usize) {
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
pub(super) fn data_slot(
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
pub(super) fn windows_fields<'a>(attrs: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Found {
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
