//! The class, activity and access decision of an audit record, from its type and fields (the
//! tables are in the module docs of [`super`]).

use super::Facts;
use crate::event::{Class, Outcome};

/// An SELinux AVC's decision and permissions: `avc:  denied  { read write } for ...`.
pub(super) fn avc_decision<'a>(words: &[&'a str]) -> Option<(&'a str, Option<&'a str>)> {
    let start = words.iter().position(|word| *word == "avc:")?;
    let result = *words.get(start + 1)?;
    if result != "denied" && result != "granted" {
        return None;
    }
    let permissions = words.get(start + 2).and_then(|word| {
        let inner = word.strip_prefix('{')?;
        Some(inner.strip_suffix('}').unwrap_or(inner).trim())
    });
    Some((result, permissions))
}

/// The outcome an access-control or anomaly record implies on its own, if it is one.
pub(super) fn access_decision(
    record_type: &str,
    facts: &Facts<'_>,
    avc_result: Option<&str>,
) -> Option<Outcome> {
    if record_type.starts_with("ANOM_")
        || matches!(
            record_type,
            "SELINUX_ERR" | "USER_SELINUX_ERR" | "APPARMOR_DENIED"
        )
    {
        return Some(Outcome::Failure);
    }
    if matches!(record_type, "APPARMOR_ALLOWED" | "APPARMOR_AUDIT") {
        return Some(Outcome::Success);
    }
    if record_type != "AVC" && record_type != "USER_AVC" {
        return None;
    }
    if let Some(apparmor) = &facts.apparmor {
        return match apparmor.as_ref() {
            "DENIED" => Some(Outcome::Failure),
            "ALLOWED" | "AUDIT" => Some(Outcome::Success),
            _ => None,
        };
    }
    match avc_result? {
        "denied" => Some(Outcome::Failure),
        _ => Some(Outcome::Success),
    }
}

pub(super) fn is_group_record(record_type: &str) -> bool {
    matches!(
        record_type,
        "ADD_GROUP" | "DEL_GROUP" | "GRP_MGMT" | "CHGRP_ID" | "GRP_CHAUTHTOK"
    )
}

/// The class and activity of a record of type `record_type`.
pub(super) fn classify(record_type: &str, facts: &Facts<'_>) -> (Class, Option<&'static str>) {
    use Class::{AccountChange, Authentication, ProcessActivity};
    let through_sudo = || {
        facts.exe.as_deref().is_some_and(|exe| {
            let program = exe.rsplit('/').next().unwrap_or(exe);
            program == "sudo" || program == "su"
        })
    };
    let (class, activity) = match record_type {
        "SYSCALL" if is_exec(facts) => (ProcessActivity, "launch"),
        "EXECVE" => (ProcessActivity, "launch"),
        "PROCTITLE" => return (ProcessActivity, None),
        "USER_LOGIN" | "LOGIN" | "USER_ERR" => (Authentication, "logon"),
        "USER_AUTH" | "USER_ACCT" if through_sudo() => (Authentication, "privilege_escalation"),
        "USER_AUTH" | "USER_ACCT" => (Authentication, "logon"),
        "USER_LOGOUT" => (Authentication, "logoff"),
        "USER_START" => (Authentication, "session_open"),
        "USER_END" => (Authentication, "session_close"),
        "CRED_ACQ" => (Authentication, "credential_acquire"),
        "CRED_REFR" => (Authentication, "credential_refresh"),
        "CRED_DISP" => (Authentication, "credential_dispose"),
        "USER_CMD" => (Authentication, "privilege_escalation"),
        "ADD_USER" => (AccountChange, "user_create"),
        "DEL_USER" => (AccountChange, "user_delete"),
        "USER_MGMT" | "CHUSER_ID" => (AccountChange, "user_modify"),
        "ADD_GROUP" => (AccountChange, "group_create"),
        "DEL_GROUP" => (AccountChange, "group_delete"),
        "GRP_MGMT" | "CHGRP_ID" => (AccountChange, "group_modify"),
        "USER_CHAUTHTOK" | "GRP_CHAUTHTOK" => (AccountChange, "password_change"),
        "ACCT_LOCK" => (AccountChange, "lock"),
        "ACCT_UNLOCK" => (AccountChange, "unlock"),
        "ROLE_ASSIGN" => (AccountChange, "role_assign"),
        "ROLE_REMOVE" => (AccountChange, "role_remove"),
        _ => return (Class::Other, None),
    };
    (class, Some(activity))
}

/// Whether a `SYSCALL` record is an `execve` or `execveat` (see the module docs for the
/// numbers per architecture).
fn is_exec(facts: &Facts<'_>) -> bool {
    if let Some(name) = facts.enriched_syscall.as_deref() {
        return name == "execve" || name == "execveat";
    }
    let Some(syscall) = facts.syscall.as_deref() else {
        return false;
    };
    if syscall == "execve" || syscall == "execveat" {
        return true;
    }
    let Ok(number) = syscall.parse::<u32>() else {
        return false;
    };
    let arch = facts.arch.as_deref().unwrap_or("").trim_start_matches('0');
    let is = |names: &[&str]| names.iter().any(|name| arch.eq_ignore_ascii_case(name));
    let numbers: [u32; 2] = if is(&["c000003e", "x86_64"]) {
        [59, 322]
    } else if is(&["40000003", "i386", "i686"]) {
        [11, 358]
    } else if is(&[
        "c00000b7",
        "aarch64",
        "c00000f3",
        "riscv64",
        "c0000102",
        "loongarch64",
    ]) {
        [221, 281]
    } else if is(&["40000028", "28", "arm", "armeb"]) {
        [11, 387]
    } else if is(&["c0000015", "80000015", "14", "ppc64le", "ppc64", "ppc"]) {
        [11, 362]
    } else if is(&["80000016", "16", "s390x", "s390"]) {
        [11, 354]
    } else {
        return false;
    };
    numbers.contains(&number)
}
