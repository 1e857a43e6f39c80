//! Account and group changes as the shadow-utils tools log them (`useradd`, `usermod`,
//! `userdel`, `groupadd`, `groupdel`, `groupmod`, `passwd`, `chpasswd`, `chage`, `gpasswd`).

use std::borrow::Cow;

use super::{attr, classify, set_user};
use crate::event::{Class, Event, Outcome, fill};

/// The programs whose messages this module reads.
pub(super) const PROGRAMS: [&str; 10] = [
    "useradd", "usermod", "userdel", "groupadd", "groupdel", "groupmod", "passwd", "chpasswd",
    "chage", "gpasswd",
];

pub(super) fn annotate<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    if let Some(rest) = message.strip_prefix("new user: ") {
        classify(event, Class::AccountChange, "user_create", Outcome::Success);
        for (key, value) in pairs(rest) {
            let key = match key {
                "name" => {
                    set_user(event, value);
                    "account.name"
                }
                "UID" => "account.uid",
                "GID" => "account.gid",
                "home" => "account.home",
                "shell" => "account.shell",
                "from" => "account.from",
                other => {
                    let key = format!("account.{}", other.to_ascii_lowercase());
                    event.attrs.push((Cow::Owned(key), Cow::Borrowed(value)));
                    continue;
                }
            };
            attr(event, key, value);
        }
        return true;
    }
    if let Some(rest) = message.strip_prefix("new group: ") {
        classify(
            event,
            Class::AccountChange,
            "group_create",
            Outcome::Success,
        );
        group_pairs(rest, event);
        return true;
    }
    if let Some(rest) = message.strip_prefix("group added to ")
        && let Some((file, rest)) = rest.split_once(": ")
    {
        classify(
            event,
            Class::AccountChange,
            "group_create",
            Outcome::Success,
        );
        attr(event, "group.file", file);
        group_pairs(rest, event);
        return true;
    }
    if let Some(rest) = message.strip_prefix("failed adding user ")
        && let Some((user, _)) = quoted(rest)
    {
        classify(event, Class::AccountChange, "user_create", Outcome::Failure);
        user_name(event, user);
        return true;
    }
    if let Some(rest) = message.strip_prefix("delete user ")
        && let Some((user, _)) = quoted(rest)
    {
        classify(event, Class::AccountChange, "user_delete", Outcome::Success);
        user_name(event, user);
        return true;
    }
    if let Some(rest) = message
        .strip_prefix("add ")
        .or(message.strip_prefix("delete "))
        && let Some((user, rest)) = quoted(rest)
        && let Some(rest) = rest
            .strip_prefix(" to ")
            .or(rest.strip_prefix(" from "))
            .map(|rest| rest.strip_prefix("shadow ").unwrap_or(rest))
        && let Some(rest) = rest.strip_prefix("group ")
        && let Some((group, _)) = quoted(rest)
    {
        classify(event, Class::AccountChange, "user_modify", Outcome::Success);
        user_name(event, user);
        group_name(event, group);
        return true;
    }
    if let Some(rest) = message.strip_prefix("removed group ")
        && let Some((group, _)) = quoted(rest)
    {
        classify(
            event,
            Class::AccountChange,
            "group_delete",
            Outcome::Success,
        );
        group_name(event, group);
        return true;
    }
    if let Some(rest) = message.strip_prefix("group ")
        && let Some((group, rest)) = quoted(rest)
        && let Some(rest) = rest.strip_prefix(" removed")
    {
        classify(
            event,
            Class::AccountChange,
            "group_delete",
            Outcome::Success,
        );
        group_name(event, group);
        attr(
            event,
            "group.file",
            rest.trim_start().trim_start_matches("from ").trim(),
        );
        return true;
    }
    let modified = message
        .strip_prefix("change user name ")
        .or(message.strip_prefix("change user "))
        .or(message.strip_prefix("lock user "))
        .or(message.strip_prefix("unlock user "));
    if let Some(rest) = modified
        && let Some((user, _)) = quoted(rest)
    {
        classify(event, Class::AccountChange, "user_modify", Outcome::Success);
        user_name(event, user);
        return true;
    }
    if let Some(user) = message.strip_prefix("changed password expiry for ") {
        classify(event, Class::AccountChange, "user_modify", Outcome::Success);
        user_name(event, user.trim());
        return true;
    }
    if let Some(rest) = message.strip_prefix("password for ")
        && let Some((user, rest)) = quoted(rest)
        && let Some(rest) = rest.strip_prefix(" changed by ")
    {
        classify(
            event,
            Class::AccountChange,
            "password_change",
            Outcome::Success,
        );
        user_name(event, user);
        let admin = quoted(rest).map_or(rest, |(admin, _)| admin);
        attr(event, "account.changed_by", admin);
        return true;
    }
    false
}

/// `'NAME'REST`: the name between single quotes and what follows.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('\'')?;
    rest.split_once('\'')
}

/// `key=value, key=value` pairs.
fn pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(", ")
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, value)| !key.is_empty() && !value.is_empty())
}

fn group_pairs<'a>(text: &'a str, event: &mut Event<'a>) {
    for (key, value) in pairs(text) {
        match key {
            "name" => group_name(event, value),
            "GID" => attr(event, "group.gid", value),
            other => {
                let key = format!("group.{}", other.to_ascii_lowercase());
                event.attrs.push((Cow::Owned(key), Cow::Borrowed(value)));
            }
        }
    }
}

fn user_name<'a>(event: &mut Event<'a>, user: &'a str) {
    set_user(event, user);
    attr(event, "account.name", user);
}

fn group_name<'a>(event: &mut Event<'a>, group: &'a str) {
    fill(&mut event.resource, group);
    attr(event, "group.name", group);
}
