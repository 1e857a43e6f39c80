//! sudo's command log and su's (shadow-utils and util-linux) log lines.

use std::borrow::Cow;

use super::{attr, classify, set_user};
use crate::event::{Class, Event, Outcome, fill};

/// sudo: `USER : [REASON ; ]TTY=pts/0 ; PWD=/home/user ; USER=root ; [GROUP=g ; ]COMMAND=CMD`.
/// A reason before the `KEY=value` fields (`3 incorrect password attempts`, `user NOT in
/// sudoers`, `command not allowed`) means sudo refused. The command is everything after
/// `COMMAND=` (it may itself contain ` ; `).
pub(super) fn annotate_sudo<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    let Some((user, rest)) = message.split_once(" : ") else {
        return false;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return false;
    }
    let (head, command) = if let Some(command) = rest.strip_prefix("COMMAND=") {
        ("", Some(command))
    } else if let Some((head, command)) = rest.split_once(" ; COMMAND=") {
        (head, Some(command))
    } else {
        (rest, None)
    };
    let mut fields = Vec::new();
    let mut errors = Vec::new();
    for part in head.split(" ; ").filter(|part| !part.is_empty()) {
        match part.split_once('=') {
            Some((key, value))
                if !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                fields.push((key, value));
            }
            _ => errors.push(part),
        }
    }
    if fields.is_empty() && command.is_none() {
        return false;
    }
    let outcome = if errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    classify(
        event,
        Class::Authentication,
        "privilege_escalation",
        outcome,
    );
    set_user(event, user);
    for error in errors {
        attr(event, "sudo.error", error.trim());
    }
    for (key, value) in fields {
        let key: Cow<'static, str> = match key {
            "TTY" => Cow::Borrowed("sudo.tty"),
            "PWD" => Cow::Borrowed("sudo.pwd"),
            "USER" => Cow::Borrowed("sudo.target_user"),
            "GROUP" => Cow::Borrowed("sudo.target_group"),
            "ENV" => Cow::Borrowed("sudo.env"),
            other => Cow::Owned(format!("sudo.{}", other.to_ascii_lowercase())),
        };
        if !value.is_empty() {
            event.attrs.push((key, Cow::Borrowed(value)));
        }
    }
    if let Some(command) = command {
        attr(event, "sudo.command", command);
        fill(&mut event.command_line, command);
    }
    true
}

/// su: `Successful su for TARGET by USER`, `FAILED su for TARGET by USER` (shadow-utils),
/// `(to TARGET) USER on TTY`, `FAILED SU (to TARGET) USER on TTY` (util-linux), the BSD
/// `'su TARGET' failed for USER on TTY` (RFC 3164 section 5.4's first example), and the
/// sulog line `+ TTY USER:TARGET` / `- TTY USER:TARGET`.
pub(super) fn annotate_su<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    if let Some(rest) = message.strip_prefix("Successful su for ") {
        return target_by_user(rest, Outcome::Success, event);
    }
    if let Some(rest) = message.strip_prefix("FAILED su for ") {
        return target_by_user(rest, Outcome::Failure, event);
    }
    if let Some(rest) = message.strip_prefix("(to ") {
        return to_target(rest, Outcome::Success, event);
    }
    if let Some(rest) = message.strip_prefix("FAILED SU (to ") {
        return to_target(rest, Outcome::Failure, event);
    }
    if let Some(rest) = message.strip_prefix("'su ")
        && let Some((target, rest)) = rest.split_once("' failed for ")
    {
        return to_target_on(target, rest, Outcome::Failure, event);
    }
    let (outcome, rest) = if let Some(rest) = message.strip_prefix("+ ") {
        (Outcome::Success, rest)
    } else if let Some(rest) = message.strip_prefix("- ") {
        (Outcome::Failure, rest)
    } else {
        return false;
    };
    let Some((tty, users)) = rest.split_once(' ') else {
        return false;
    };
    let Some((user, target)) = users.split_once(':') else {
        return false;
    };
    if users.contains(' ') {
        return false;
    }
    classify(
        event,
        Class::Authentication,
        "privilege_escalation",
        outcome,
    );
    set_user(event, user);
    attr(event, "su.target_user", target);
    attr(event, "su.tty", tty);
    true
}

/// `TARGET by USER`.
fn target_by_user<'a>(rest: &'a str, outcome: Outcome, event: &mut Event<'a>) -> bool {
    let Some((target, user)) = rest.split_once(" by ") else {
        return false;
    };
    classify(
        event,
        Class::Authentication,
        "privilege_escalation",
        outcome,
    );
    set_user(event, user);
    attr(event, "su.target_user", target.trim());
    true
}

/// `TARGET) USER on TTY`.
fn to_target<'a>(rest: &'a str, outcome: Outcome, event: &mut Event<'a>) -> bool {
    let Some((target, rest)) = rest.split_once(") ") else {
        return false;
    };
    to_target_on(target, rest, outcome, event)
}

/// `USER on TTY` of a su to `target`.
fn to_target_on<'a>(
    target: &'a str,
    rest: &'a str,
    outcome: Outcome,
    event: &mut Event<'a>,
) -> bool {
    let (user, tty) = rest.split_once(" on ").unwrap_or((rest, ""));
    classify(
        event,
        Class::Authentication,
        "privilege_escalation",
        outcome,
    );
    set_user(event, user);
    attr(event, "su.target_user", target);
    attr(event, "su.tty", tty.trim());
    true
}
