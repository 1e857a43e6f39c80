//! Linux-PAM module messages: `pam_MODULE(SERVICE:TYPE): TEXT`, as `pam_syslog` prefixes them.

use std::borrow::Cow;
use std::net::IpAddr;

use super::{attr, classify, set_user};
use crate::event::{Class, Event, Outcome, fill};

/// PAM services through which a user gains another user's rights.
const ESCALATION_SERVICES: [&str; 5] = ["sudo", "sudo-i", "su", "su-l", "runuser"];

/// Annotates a PAM message (`message` starts with `pam_`, `rest` is what follows that prefix).
/// Returns whether the message was classified; the PAM prefix is kept in attrs either way.
pub(super) fn annotate<'a>(message: &'a str, rest: &'a str, event: &mut Event<'a>) -> bool {
    let Some((name, rest)) = rest.split_once('(') else {
        return false;
    };
    let Some((context, text)) = rest.split_once("): ") else {
        return false;
    };
    let Some(module) = message.get(..name.len() + "pam_".len()) else {
        return false;
    };
    if name.is_empty() || name.contains(' ') || context.contains(' ') {
        return false;
    }
    let (service, kind) = context.split_once(':').unwrap_or((context, ""));
    attr(event, "pam.module", module);
    attr(event, "pam.service", service);
    attr(event, "pam.type", kind);
    let escalation = ESCALATION_SERVICES.contains(&service);
    let attempt = if escalation {
        "privilege_escalation"
    } else {
        "logon"
    };
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("authentication failure") {
        classify(event, Class::Authentication, attempt, Outcome::Failure);
        if let Some((_, pairs)) = rest.split_once("; ") {
            failure_pairs(pairs, event);
        }
        true
    } else if let Some(rest) = text.strip_prefix("auth could not identify password for ") {
        classify(event, Class::Authentication, attempt, Outcome::Failure);
        let user = rest.trim_start_matches('[').trim_end_matches(']');
        set_user(event, user);
        true
    } else if let Some(rest) = text.strip_prefix("session opened for user ") {
        classify(
            event,
            Class::Authentication,
            "session_open",
            Outcome::Success,
        );
        let (user, by) = rest.split_once(" by ").unwrap_or((rest, ""));
        let (user, uid) = name_and_uid(user);
        set_user(event, user);
        attr(event, "pam.user_uid", uid);
        let (by_user, by_uid) = name_and_uid(by);
        attr(event, "pam.by_user", by_user);
        attr(event, "pam.by_uid", by_uid);
        true
    } else if let Some(rest) = text.strip_prefix("session closed for user ") {
        classify(
            event,
            Class::Authentication,
            "session_close",
            Outcome::Success,
        );
        let (user, uid) = name_and_uid(rest);
        set_user(event, user);
        attr(event, "pam.user_uid", uid);
        true
    } else if let Some(rest) = text.strip_prefix("password changed for ") {
        classify(
            event,
            Class::AccountChange,
            "password_change",
            Outcome::Success,
        );
        set_user(event, rest);
        true
    } else if kind == "chauthtok"
        && let Some(rest) = text.strip_prefix("user ")
        && let Some((user, _)) = rest.split_once(" does not exist")
    {
        classify(
            event,
            Class::AccountChange,
            "password_change",
            Outcome::Failure,
        );
        set_user(event, user.trim_matches('"'));
        true
    } else {
        false
    }
}

/// `NAME(uid=N)`, `(uid=N)` or `NAME`: the name and the uid.
fn name_and_uid(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once("(uid=") {
        Some((name, uid)) => (name, uid.strip_suffix(')').unwrap_or(uid)),
        None => (text, ""),
    }
}

/// The `logname= uid=0 euid=0 tty=ssh ruser= rhost=HOST  user=USER` pairs of a PAM
/// authentication failure: each as `pam.<key>`, `user=` as the user, an address in `rhost=` as
/// the source.
pub(super) fn failure_pairs<'a>(pairs: &'a str, event: &mut Event<'a>) {
    for pair in pairs.split_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        match key {
            "user" => set_user(event, value),
            "rhost" if value.parse::<IpAddr>().is_ok() => fill(&mut event.src_ip, value),
            _ => {}
        }
        let key: Cow<'static, str> = match key {
            "logname" => Cow::Borrowed("pam.logname"),
            "uid" => Cow::Borrowed("pam.uid"),
            "euid" => Cow::Borrowed("pam.euid"),
            "tty" => Cow::Borrowed("pam.tty"),
            "ruser" => Cow::Borrowed("pam.ruser"),
            "rhost" => Cow::Borrowed("pam.rhost"),
            "user" => Cow::Borrowed("pam.user"),
            other => Cow::Owned(format!("pam.{other}")),
        };
        event.attrs.push((key, Cow::Borrowed(value)));
    }
}
