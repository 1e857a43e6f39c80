//! sudo's command log and su's (shadow-utils and util-linux) log lines.

use std::borrow::Cow;

use super::{attr, classify, set_user, split_once, trim};
use crate::event::{Class, Event, Outcome, fill};

/// sudo: `USER : [REASON ; ]TTY=pts/0 ; PWD=/home/user ; USER=root ; [GROUP=g ; ]COMMAND=CMD`.
/// A reason before the `KEY=value` fields (`3 incorrect password attempts`, `user NOT in
/// sudoers`, `command not allowed`) means sudo refused. The command is everything after
/// `COMMAND=` (it may itself contain ` ; `).
pub(super) fn annotate_sudo<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    let Some((user, rest)) = split_once(message, " : ") else {
        return false;
    };
    let user = trim(user);
    if user.is_empty() || user.as_bytes().contains(&b' ') {
        return false;
    }
    let (head, command) = if let Some(command) = rest.strip_prefix("COMMAND=") {
        ("", Some(command))
    } else if let Some((head, command)) = split_once(rest, " ; COMMAND=") {
        (head, Some(command))
    } else {
        (rest, None)
    };
    // The parts are read once into a buffer; a longer list than it holds is read again.
    let mut listed = [Part::default(); LISTED_PARTS];
    let (mut count, mut any_field, mut any_error) = (0, false, false);
    for part in parts(head).map(Part::of) {
        any_field |= part.field.is_some();
        any_error |= part.field.is_none();
        if let Some(slot) = listed.get_mut(count) {
            *slot = part;
        }
        count += 1;
    }
    if !any_field && command.is_none() {
        return false;
    }
    let outcome = if any_error {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    classify(
        event,
        Class::Authentication,
        "privilege_escalation",
        outcome,
    );
    set_user(event, user);
    match listed.get(..count) {
        Some(listed) => add_parts(event, listed.iter().copied(), any_error),
        None => add_parts(event, parts(head).map(Part::of), any_error),
    }
    if let Some(command) = command {
        attr(event, "sudo.command", command);
        fill(&mut event.command_line, command);
    }
    true
}

/// How many parts of a sudo list are held at once; sudo writes three to five before `COMMAND=`.
const LISTED_PARTS: usize = 8;

/// One part of sudo's list, and its key and value if it is a field.
#[derive(Clone, Copy, Default)]
struct Part<'a> {
    text: &'a str,
    field: Option<(&'a str, &'a str)>,
}

impl<'a> Part<'a> {
    fn of(text: &'a str) -> Self {
        Part {
            text,
            field: field(text),
        }
    }
}

/// The reasons of a refusal (`sudo.error`, when `any_error`), then the fields, as attrs.
fn add_parts<'a>(
    event: &mut Event<'a>,
    parts: impl Iterator<Item = Part<'a>> + Clone,
    any_error: bool,
) {
    if any_error {
        for part in parts.clone().filter(|part| part.field.is_none()) {
            attr(event, "sudo.error", trim(part.text));
        }
    }
    for (key, value) in parts.filter_map(|part| part.field) {
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
}

/// The non-empty parts of sudo's ` ; `-separated list, as `str::split` separates them.
fn parts(head: &str) -> impl Iterator<Item = &str> + Clone {
    let mut rest = Some(head);
    std::iter::from_fn(move || {
        let text = rest?;
        match split_once(text, " ; ") {
            Some((part, after)) => {
                rest = Some(after);
                Some(part)
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
    .filter(|part| !part.is_empty())
}

/// A `KEY=value` part whose key is upper-case letters; any other part is a reason.
fn field(part: &str) -> Option<(&str, &str)> {
    let equals = part.bytes().position(|byte| byte == b'=')?;
    let (key, value) = (part.get(..equals)?, part.get(equals + 1..)?);
    (!key.is_empty() && key.bytes().all(|byte| byte.is_ascii_uppercase())).then_some((key, value))
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
