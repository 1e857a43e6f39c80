//! OpenSSH server messages (`sshd`, and `sshd-session` since OpenSSH 9.8).

use super::{
    attr, classify, endpoint, find, is_ip_address, maybe_invalid_user, pam, rsplit_once,
    set_source, set_user, split_once, trim, trim_end, who_from,
};
use crate::event::{Class, Event, Outcome, fill};

/// Markers after which sshd writes a client endpoint in messages that are not classified.
const ENDPOINT_MARKERS: [&str; 3] = [" from ", " by ", " with "];

pub(super) fn annotate<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    // The messages read here start with distinct letters: one prefix to compare per message.
    let recognised = match message.as_bytes().first() {
        Some(b'A') => message
            .strip_prefix("Accepted ")
            .is_some_and(|rest| login_result(rest, Outcome::Success, event)),
        Some(b'F') => message
            .strip_prefix("Failed ")
            .is_some_and(|rest| login_result(rest, Outcome::Failure, event)),
        Some(b'I') => message
            .strip_prefix("Invalid user ")
            .is_some_and(|rest| invalid_user(rest, event)),
        Some(b'e') => message
            .strip_prefix("error: maximum authentication attempts exceeded for ")
            .is_some_and(|rest| max_attempts(rest, event)),
        Some(b'D') => message
            .strip_prefix("Disconnected from ")
            .is_some_and(|rest| disconnected(rest, true, event)),
        Some(b'C') => message
            .strip_prefix("Connection closed by ")
            .is_some_and(|rest| disconnected(rest, false, event)),
        Some(b'U') => message
            .strip_prefix("User ")
            .is_some_and(|rest| not_allowed(rest, event)),
        Some(b'P') => message
            .strip_prefix("PAM ")
            .is_some_and(|rest| more_failures(rest, event)),
        _ => false,
    };
    if !recognised {
        client_endpoint(message, event);
    }
    recognised
}

/// `METHOD for [invalid user ]USER from HOST port PORT ssh2[: KEY]` after `Accepted`/`Failed`.
fn login_result<'a>(rest: &'a str, outcome: Outcome, event: &mut Event<'a>) -> bool {
    let Some((method, rest)) = split_once(rest, " for ") else {
        return false;
    };
    if method.is_empty() || method.as_bytes().contains(&b' ') {
        return false;
    }
    let Some((who, host, port, tail)) = who_from(rest) else {
        return false;
    };
    classify(event, Class::Authentication, "logon", outcome);
    attr(event, "auth.method", method);
    user_and_source(event, who, host, port);
    protocol_and_key(event, tail);
    true
}

/// `USER from HOST[ port PORT]` after `Invalid user `.
fn invalid_user<'a>(rest: &'a str, event: &mut Event<'a>) -> bool {
    let Some((user, host, port, _)) = who_from(rest) else {
        return false;
    };
    classify(event, Class::Authentication, "logon", Outcome::Failure);
    attr(event, "auth.invalid_user", "true");
    set_user(event, user);
    set_source(event, host, port);
    true
}

/// `[invalid user ]USER from HOST port PORT ssh2 [preauth]`.
fn max_attempts<'a>(rest: &'a str, event: &mut Event<'a>) -> bool {
    let Some((who, host, port, tail)) = who_from(rest) else {
        return false;
    };
    classify(event, Class::Authentication, "logon", Outcome::Failure);
    user_and_source(event, who, host, port);
    protocol_and_key(event, tail);
    true
}

/// After `Disconnected from ` or `Connection closed by `: `user USER HOST port P` (a logoff),
/// `authenticating user USER HOST port P [preauth]` or `invalid user USER ...` (the client
/// left before authenticating), or `HOST port P[ [preauth]]` (a logoff when written after
/// authentication, only an address otherwise).
fn disconnected<'a>(rest: &'a str, from_disconnect: bool, event: &mut Event<'a>) -> bool {
    let (rest, preauth) = match rest.strip_suffix(" [preauth]") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let named = [
        ("user ", "logoff", Outcome::Success, false),
        (
            "authenticating user ",
            "disconnect",
            Outcome::Failure,
            false,
        ),
        ("invalid user ", "disconnect", Outcome::Failure, true),
    ];
    for (prefix, activity, outcome, invalid) in named {
        let Some(named_rest) = rest.strip_prefix(prefix) else {
            continue;
        };
        let Some((user_and_host, port)) = rsplit_once(named_rest, " port ") else {
            return false;
        };
        let Some((user, host)) = user_and_host.rsplit_once(' ') else {
            return false;
        };
        classify(event, Class::Authentication, activity, outcome);
        if invalid {
            attr(event, "auth.invalid_user", "true");
        }
        set_user(event, user);
        set_source(event, host, Some(port));
        return true;
    }
    let Some((host, port, _)) = endpoint(rest) else {
        return false;
    };
    if !is_ip_address(host) {
        return false;
    }
    set_source(event, host, port);
    if from_disconnect && !preauth {
        classify(event, Class::Authentication, "logoff", Outcome::Success);
        return true;
    }
    false
}

/// `USER from HOST not allowed because ...` after `User `.
fn not_allowed<'a>(rest: &'a str, event: &mut Event<'a>) -> bool {
    let Some((before, _reason)) = split_once(rest, " not allowed because ") else {
        return false;
    };
    let Some((user, host, port, _)) = who_from(before) else {
        return false;
    };
    classify(event, Class::Authentication, "logon", Outcome::Failure);
    set_user(event, user);
    set_source(event, host, port);
    true
}

/// `N more authentication failures; logname= uid=0 ... rhost=HOST user=USER` after `PAM `.
fn more_failures<'a>(rest: &'a str, event: &mut Event<'a>) -> bool {
    let Some((count, pairs)) = split_once(rest, " more authentication failure") else {
        return false;
    };
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return false;
    }
    classify(event, Class::Authentication, "logon", Outcome::Failure);
    attr(event, "pam.more_failures", count);
    if let Some((_, pairs)) = pairs.split_once("; ") {
        pam::failure_pairs(pairs, event);
    }
    true
}

fn user_and_source<'a>(event: &mut Event<'a>, who: &'a str, host: &'a str, port: Option<&str>) {
    let (user, invalid) = maybe_invalid_user(who);
    if invalid {
        attr(event, "auth.invalid_user", "true");
    }
    set_user(event, user);
    set_source(event, host, port);
}

/// ` ssh2[: KEY][ [preauth]]` after an endpoint.
fn protocol_and_key<'a>(event: &mut Event<'a>, tail: &'a str) {
    let tail = trim(tail);
    let tail = trim_end(tail.strip_suffix("[preauth]").unwrap_or(tail));
    let (protocol, key) = split_colon_space(tail).unwrap_or((tail, ""));
    if !protocol.as_bytes().contains(&b' ') {
        attr(event, "ssh.protocol", protocol);
    }
    attr(event, "ssh.key", trim(key));
}

/// `text` around its first `: `.
fn split_colon_space(text: &str) -> Option<(&str, &str)> {
    let colon = text.as_bytes().windows(2).position(|pair| pair == b": ")?;
    Some((text.get(..colon)?, text.get(colon + 2..)?))
}

/// Any other sshd message: the first address after `from`, `by` or `with`, and the local one
/// after ` on ` in `Connection from IP port P on IP port P`.
fn client_endpoint<'a>(message: &'a str, event: &mut Event<'a>) {
    let mut found: Option<(usize, &'a str, Option<&'a str>, &'a str)> = None;
    for marker in ENDPOINT_MARKERS {
        let marker_len = marker.len();
        let mut from = 0;
        while let Some(offset) = message.get(from..).and_then(|rest| find(rest, marker)) {
            let position = from + offset;
            from = position + marker_len;
            if found.is_some_and(|(best, ..)| best < position) {
                break;
            }
            let Some(tail) = message.get(position + marker_len..) else {
                continue;
            };
            if let Some((host, port, rest)) = endpoint(tail)
                && is_ip_address(host)
            {
                found = Some((position, host, port, rest));
                break;
            }
        }
    }
    let Some((_, host, port, rest)) = found else {
        return;
    };
    set_source(event, host, port);
    if let Some(local) = rest.strip_prefix(" on ")
        && let Some((host, port, _)) = endpoint(local)
        && is_ip_address(host)
    {
        fill(&mut event.dst_ip, host);
        event.dst_port = port.and_then(|port| port.parse().ok());
    }
}
