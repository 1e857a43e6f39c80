//! Linux authentication and account messages carried in syslog (`/var/log/auth.log`,
//! `/var/log/secure`): what sshd, sudo, su, PAM and the shadow-utils tools write.
//!
//! This is not a format of its own: both syslog parsers ([`super::syslog3164`],
//! [`super::syslog5424`]) call [`annotate`] with the record's program name (3164 TAG, 5424
//! APP-NAME) and its message. A recognised message sets the event's `class`, `activity` and
//! `outcome`, fills `user`, `src_ip`, `src_port`, `command_line` or `session_id` where the
//! message names them, and keeps every parsed piece in `attrs`. An unrecognised message is
//! left as it is; the columns it does name (an sshd client address) are still filled.
//!
//! # Vocabulary
//!
//! Class `authentication`:
//!
//! | activity | outcome | messages |
//! | --- | --- | --- |
//! | `logon` | success | sshd `Accepted <method> for USER from IP port P ssh2` |
//! | `logon` | failure | sshd `Failed <method> for [invalid user] USER from ...`, `Invalid user USER from IP`, `error: maximum authentication attempts exceeded for ...`, `User USER from IP not allowed because ...`, `PAM N more authentication failures; ...`; PAM `authentication failure; ... user=USER` and `auth could not identify password for [USER]` (any service but sudo and su) |
//! | `logoff` | success | sshd `Disconnected from user USER IP port P`, and `Disconnected from IP port P` written after authentication (no `[preauth]`) |
//! | `disconnect` | failure | sshd `Disconnected from` / `Connection closed by` `authenticating user` or `invalid user` `USER IP port P [preauth]`: the client left before authenticating |
//! | `session_open` | success | PAM `session opened for user USER by ...` (sshd, cron, sudo, su, systemd-user, ...) |
//! | `session_close` | success | PAM `session closed for user USER` |
//! | `privilege_escalation` | success | sudo `USER : TTY=... ; PWD=... ; USER=root ; COMMAND=...`; su `Successful su for TARGET by USER`, `(to TARGET) USER on TTY`, `+ TTY USER:TARGET` |
//! | `privilege_escalation` | failure | sudo `USER : 3 incorrect password attempts ; TTY=...` (any reason before `TTY=`); PAM `authentication failure` and `auth could not identify password` for the sudo and su services; su `FAILED su for TARGET by USER`, `FAILED SU (to TARGET) USER on TTY`, `'su TARGET' failed for USER on TTY`, `- TTY USER:TARGET` |
//!
//! Class `account_change` (shadow-utils `useradd`, `usermod`, `userdel`, `groupadd`,
//! `groupdel`, `passwd`, `chpasswd`, `chage`, and PAM's `chauthtok`); `user` is the account
//! changed, a group's name goes to `resource`:
//!
//! | activity | messages |
//! | --- | --- |
//! | `user_create` | `new user: name=USER, UID=..., ...` (success), `failed adding user 'USER', data deleted` (failure) |
//! | `user_modify` | `add 'USER' to [shadow] group 'GROUP'`, `delete 'USER' from [shadow] group 'GROUP'`, `change user 'USER' ...`, `lock user 'USER' password`, `changed password expiry for USER` |
//! | `user_delete` | `delete user 'USER'` |
//! | `group_create` | `new group: name=GROUP, GID=N`, `group added to FILE: name=GROUP[, GID=N]` |
//! | `group_delete` | `group 'GROUP' removed[ from FILE]`, `removed group 'GROUP' owned by 'USER'` |
//! | `password_change` | PAM `password changed for USER`, `password for 'USER' changed by 'ADMIN'` (success); PAM `user USER does not exist in /etc/passwd` while changing a password (failure) |
//!
//! Outside these classes, sshd messages that name the client (`Connection closed by IP port P
//! [preauth]`, `Received disconnect from IP port P:11: ...`, `Connection from IP port P on IP
//! port P`) fill `src_ip`/`src_port` (and `dst_ip`/`dst_port`), and systemd-logind's `New
//! session N of user USER.` / `Removed session N.` fill `session_id` (and `user`).
//!
//! # Attributes
//!
//! `auth.method` (sshd method: `password`, `publickey`, `keyboard-interactive/pam`, ...),
//! `auth.invalid_user` (`true` when sshd says the account does not exist), `auth.remote_host`
//! (a client named by host name rather than address), `ssh.protocol`, `ssh.key` (the key
//! sshd describes after `ssh2: `); `pam.module`, `pam.service`, `pam.type`, and the `key=value`
//! pairs of a PAM failure as `pam.<key>` (`pam.logname`, `pam.uid`, `pam.euid`, `pam.tty`,
//! `pam.ruser`, `pam.rhost`, `pam.user`), `pam.more_failures`, `pam.by_user`, `pam.by_uid`,
//! `pam.user_uid`; `sudo.tty`, `sudo.pwd`, `sudo.target_user`, `sudo.target_group`,
//! `sudo.env`, `sudo.command` (and any other `KEY=` sudo writes, as `sudo.<key>`),
//! `sudo.error` (the reason of a refusal); `su.target_user`, `su.tty`; `account.name`,
//! `account.uid`, `account.gid`, `account.home`, `account.shell`, `account.from`,
//! `account.changed_by`, `group.name`, `group.gid`, `group.file`; `syslog.repeated` (the count
//! of an rsyslog `message repeated N times: [ ... ]` line, whose inner message is recognised).

mod account;
mod pam;
mod sshd;
mod sudo_su;

use std::borrow::Cow;

use memchr::{memchr, memrchr};

use crate::event::{Class, Event, Outcome, fill};
pub(super) use crate::parse::ascii::{is_ip_address, trim, trim_end};

/// Recognises the authentication or account message `message` written by `process` and
/// annotates `event` with it. Returns whether the message was classified (its class set);
/// columns such as `src_ip` may be filled either way.
pub fn annotate<'a>(process: &str, message: &'a str, event: &mut Event<'a>) -> bool {
    let mut message = trim(message);
    if let Some((count, inner)) = repeated(message) {
        attr(event, "syslog.repeated", count);
        message = inner;
    }
    if let Some(rest) = message.strip_prefix("pam_")
        && pam::annotate(message, rest, event)
    {
        return true;
    }
    match Program::of(process) {
        Program::Sshd => sshd::annotate(message, event),
        Program::Sudo => sudo_su::annotate_sudo(message, event),
        Program::Su => sudo_su::annotate_su(message, event),
        Program::Logind => {
            logind(message, event);
            false
        }
        Program::Account => account::annotate(message, event),
        Program::Other => false,
    }
}

/// The programs whose own messages are recognised (PAM messages are read whoever logs them).
enum Program {
    /// `sshd`, and `sshd-session`/`sshd-auth` since OpenSSH 9.8.
    Sshd,
    Sudo,
    Su,
    /// `systemd-logind`.
    Logind,
    /// The shadow-utils tools of [`account::PROGRAMS`].
    Account,
    Other,
}

impl Program {
    /// The program of a tag, by its name without directories, compared ignoring ASCII case.
    fn of(process: &str) -> Program {
        /// Longer than every recognised name.
        const MAX_NAME: usize = 16;
        let name = program_name(process).as_bytes();
        let mut lowercase = [0u8; MAX_NAME];
        let Some(lowercase) = lowercase.get_mut(..name.len()) else {
            return Program::Other;
        };
        for (slot, byte) in lowercase.iter_mut().zip(name) {
            *slot = byte.to_ascii_lowercase();
        }
        match &*lowercase {
            b"sshd" | b"sshd-session" | b"sshd-auth" => Program::Sshd,
            b"sudo" => Program::Sudo,
            b"su" => Program::Su,
            b"systemd-logind" => Program::Logind,
            name if account::PROGRAMS
                .iter()
                .any(|program| program.as_bytes() == name) =>
            {
                Program::Account
            }
            _ => Program::Other,
        }
    }
}

/// The program name of a tag: `/usr/sbin/sshd` -> `sshd`.
fn program_name(process: &str) -> &str {
    match memrchr(b'/', process.as_bytes()) {
        Some(slash) => process.get(slash + 1..).unwrap_or(process),
        None => process,
    }
}

/// rsyslog's `message repeated N times: [ MESSAGE]`: the count and the inner message.
fn repeated(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("message repeated ")?;
    let (count, rest) = split_once(rest, " times: [")?;
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let inner = rest.strip_suffix(']').unwrap_or(rest);
    Some((count, trim(inner)))
}

/// Sets the class, activity and outcome of a recognised message.
fn classify(event: &mut Event<'_>, class: Class, activity: &'static str, outcome: Outcome) {
    event.class = class;
    event.activity = Some(Cow::Borrowed(activity));
    event.outcome = Some(outcome);
}

/// Adds a non-empty attribute under a fixed key.
fn attr<'a>(event: &mut Event<'a>, key: &'static str, value: &'a str) {
    if !value.is_empty() {
        event.attrs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }
}

/// Fills `src_ip` (or `auth.remote_host` for a host name) and `src_port`.
fn set_source<'a>(event: &mut Event<'a>, host: &'a str, port: Option<&str>) {
    if is_ip_address(host) {
        fill(&mut event.src_ip, host);
    } else {
        attr(event, "auth.remote_host", host);
    }
    if event.src_port.is_none() {
        event.src_port = port.and_then(|port| port.parse().ok());
    }
}

/// The offset of the first `needle` in `haystack`. The needles searched for in messages are
/// short and mostly start with a space, which is frequent; candidates are found with `memchr`
/// on the needle's second byte instead.
fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let anchor_at = usize::from(needle.len() > 1);
    let anchor = *needle.get(anchor_at)?;
    let mut from = anchor_at;
    while let Some(offset) = haystack.get(from..).and_then(|rest| memchr(anchor, rest)) {
        let start = from + offset - anchor_at;
        if haystack.get(start..start + needle.len()) == Some(needle) {
            return Some(start);
        }
        from += offset + 1;
    }
    None
}

/// The offset of the last `needle` in `haystack`, found as [`find`] finds the first.
fn rfind(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let anchor_at = usize::from(needle.len() > 1);
    let anchor = *needle.get(anchor_at)?;
    let mut end = haystack.len();
    while let Some(found) = haystack.get(..end).and_then(|rest| memrchr(anchor, rest)) {
        let start = found.checked_sub(anchor_at)?;
        if haystack.get(start..start + needle.len()) == Some(needle) {
            return Some(start);
        }
        end = found;
    }
    None
}

/// `text` around the first `needle`, as `str::split_once` splits it.
fn split_once<'t>(text: &'t str, needle: &str) -> Option<(&'t str, &'t str)> {
    let at = find(text, needle)?;
    Some((text.get(..at)?, text.get(at + needle.len()..)?))
}

/// `text` around the last `needle`, as `str::rsplit_once` splits it.
fn rsplit_once<'t>(text: &'t str, needle: &str) -> Option<(&'t str, &'t str)> {
    let at = rfind(text, needle)?;
    Some((text.get(..at)?, text.get(at + needle.len()..)?))
}

/// A client endpoint as sshd writes it: `HOST[ port PORT]` at the start of `text`. Returns the
/// host, the port digits and what follows them (`port 22:11: bye` leaves `:11: bye`).
fn endpoint(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let host_end = text
        .bytes()
        .position(|byte| byte == b' ')
        .unwrap_or(text.len());
    let host = text.get(..host_end)?;
    if host.is_empty() {
        return None;
    }
    let rest = text.get(host_end..)?;
    let Some(after_port) = rest.strip_prefix(" port ") else {
        return Some((host, None, rest));
    };
    let digits = after_port
        .bytes()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if digits == 0 {
        return Some((host, None, rest));
    }
    Some((host, after_port.get(..digits), after_port.get(digits..)?))
}

/// `WHO from HOST[ port P]REST`, taking the last ` from ` after which an endpoint follows (a
/// user name may itself contain ` from `). Returns who, host, port and the rest.
fn who_from(text: &str) -> Option<(&str, &str, Option<&str>, &str)> {
    const MARKER: &str = " from ";
    let mut end = text.len();
    while let Some(position) = rfind(text.get(..end)?, MARKER) {
        end = position;
        let Some(tail) = text.get(position + MARKER.len()..) else {
            continue;
        };
        if let Some((host, port, rest)) = endpoint(tail) {
            return Some((text.get(..position)?, host, port, rest));
        }
    }
    None
}

/// `[invalid user ]USER`: the user and whether sshd called it invalid.
fn maybe_invalid_user(text: &str) -> (&str, bool) {
    match text.strip_prefix("invalid user ") {
        Some(user) => (user, true),
        None => (text, false),
    }
}

/// The user part of a message, trimmed; empty names (`Invalid user  from ...`) stay unset.
fn set_user<'a>(event: &mut Event<'a>, user: &'a str) {
    fill(&mut event.user, trim(user));
}

/// systemd-logind's `New session N of user USER.` and `Removed session N.`.
fn logind<'a>(message: &'a str, event: &mut Event<'a>) {
    if let Some(rest) = message.strip_prefix("New session ")
        && let Some((session, user)) = split_once(rest, " of user ")
    {
        fill(&mut event.session_id, session);
        set_user(event, user.strip_suffix('.').unwrap_or(user));
    } else if let Some(rest) = message.strip_prefix("Removed session ") {
        fill(
            &mut event.session_id,
            rest.strip_suffix('.').unwrap_or(rest),
        );
    }
}

#[cfg(test)]
mod tests;
