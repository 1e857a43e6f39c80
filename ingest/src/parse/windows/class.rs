//! Class and activity of a Windows event, by log (channel or provider) and event id.

use crate::event::Class;

/// Which log an event came from, as far as classification cares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Log {
    Sysmon,
    Security,
    /// No channel or provider named: Security ids still apply.
    Unnamed,
    Other,
}

pub(super) fn log_of(channel: Option<&str>, provider: Option<&str>) -> Log {
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
pub(super) fn classify(
    log: Log,
    id: u32,
    object_type: Option<&str>,
) -> (Class, Option<&'static str>) {
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
