//! OpenSSH server messages (`sshd`, and `sshd-session` since OpenSSH 9.8).

use std::net::IpAddr;

use super::{attr, classify, endpoint, maybe_invalid_user, pam, set_source, set_user, who_from};
use crate::event::{Class, Event, Outcome, fill};

/// Markers after which sshd writes a client endpoint in messages that are not classified.
const ENDPOINT_MARKERS: [&str; 3] = [" from ", " by ", " with "];

pub(super) fn annotate<'a>(message: &'a str, event: &mut Event<'a>) -> bool {
    let recognised = if let Some(rest) = message.strip_prefix("Accepted ") {
        login_result(rest, Outcome::Success, event)
    } else if let Some(rest) = message.strip_prefix("Failed ") {
        login_result(rest, Outcome::Failure, event)
    } else if let Some(rest) = message.strip_prefix("Invalid user ") {
        invalid_user(rest, event)
    } else if let Some(rest) =
        message.strip_prefix("error: maximum authentication attempts exceeded for ")
    {
        max_attempts(rest, event)
    } else if let Some(rest) = message.strip_prefix("Disconnected from ") {
        disconnected(rest, true, event)
    } else if let Some(rest) = message.strip_prefix("Connection closed by ") {
        disconnected(rest, false, event)
    } else if let Some(rest) = message.strip_prefix("User ") {
        not_allowed(rest, event)
    } else if let Some(rest) = message.strip_prefix("PAM ") {
        more_failures(rest, event)
    } else {
        false
    };
    if !recognised {
        client_endpoint(message, event);
    }
    recognised
}

/// `METHOD for [invalid user ]USER from HOST port PORT ssh2[: KEY]` after `Accepted`/`Failed`.
fn login_result<'a>(rest: &'a str, outcome: Outcome, event: &mut Event<'a>) -> bool {
    let Some((method, rest)) = rest.split_once(" for ") else {
        return false;
    };
    if method.is_empty() || method.contains(' ') {
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
        let Some((user_and_host, port)) = named_rest.rsplit_once(" port ") else {
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
    if host.parse::<IpAddr>().is_err() {
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
    let Some((before, _reason)) = rest.split_once(" not allowed because ") else {
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
    let Some((count, pairs)) = rest.split_once(" more authentication failure") else {
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
    let tail = tail.trim();
    let tail = tail.strip_suffix("[preauth]").unwrap_or(tail).trim_end();
    let (protocol, key) = match tail.split_once(": ") {
        Some((protocol, key)) => (protocol, key),
        None => (tail, ""),
    };
    if !protocol.contains(' ') {
        attr(event, "ssh.protocol", protocol);
    }
    attr(event, "ssh.key", key.trim());
}

/// Any other sshd message: the first address after `from`, `by` or `with`, and the local one
/// after ` on ` in `Connection from IP port P on IP port P`.
fn client_endpoint<'a>(message: &'a str, event: &mut Event<'a>) {
    let mut found: Option<(usize, &'a str, Option<&'a str>, &'a str)> = None;
    for marker in ENDPOINT_MARKERS {
        for (position, _) in message.match_indices(marker) {
            if found.is_some_and(|(best, ..)| best < position) {
                break;
            }
            let Some(tail) = message.get(position + marker.len()..) else {
                continue;
            };
            if let Some((host, port, rest)) = endpoint(tail)
                && host.parse::<IpAddr>().is_ok()
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
        && host.parse::<IpAddr>().is_ok()
    {
        fill(&mut event.dst_ip, host);
        event.dst_port = port.and_then(|port| port.parse().ok());
    }
}
