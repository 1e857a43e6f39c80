//! Apache httpd error logs, in the 2.2 layout and the 2.4 default `ErrorLogFormat`:
//!
//! ```text
//! [Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test
//! [Thu Jun 27 11:55:44.569531 2013] [core:error] [pid 4101:tid 2992634688] (2)No such file or directory: [client 1.1.1.1:60236] AH00128: File does not exist: /usr/local/apache2/htdocs/default/cgi-bin
//! ```
//!
//! The 2.4 default is `[%{u}t] [%-m:%l] [pid %P:tid %T] %7F: %E: [client\ %a] %M% ,\ referer\ %{Referer}i`
//! (httpd `core` documentation, `ErrorLogFormat`): after the time come the module and level,
//! the process and thread, at debug levels the source file (`%7F`), the APR/OS status (`%E`, as
//! `(2)No such file or directory`), the client, then the message, which usually starts with an
//! `AHnnnnn:` error code and may end with `, referer: URL`. Each of those parts but the time is
//! optional; `[remote ADDR]` (the peer when it differs from the client) is read too.
//!
//! Columns: `time` (the log's local time, taken as UTC: the format carries no zone),
//! `severity` (from the level; `trace1`..`trace8` are informational), `src_ip`/`src_port` (the
//! client; in 2.4 the address always carries the port, in 2.2 never), `process` (the module),
//! `message` (the whole message, code and referer included). Attributes: `apache.level`,
//! `apache.module`, `apache.pid`, `apache.tid`, `apache.source`, `apache.os_error`,
//! `apache.client`, `apache.remote`, `apache.code`, `apache.referer`. Class `http_activity`.

use std::borrow::Cow;
use std::net::IpAddr;

use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, severity};
use crate::time;

pub const NAME: &str = "apache_error";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["apache_error_log", "httpd_error"],
    description: "Apache httpd error log (2.2 and 2.4 default formats)",
    build: |options| Box::new(ApacheErrorParser::new(options)),
};

/// Parser of Apache httpd error log lines.
#[derive(Debug, Clone, Default)]
pub struct ApacheErrorParser;

impl ApacheErrorParser {
    pub fn new(_options: &ParserOptions) -> Self {
        ApacheErrorParser
    }
}

impl Parser for ApacheErrorParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        out.push(parse_line(record)?);
        Ok(())
    }
}

/// Splits `[inside] rest` into `inside` and `rest` (leading spaces of `rest` removed).
fn bracket(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('[')?;
    let (inside, rest) = inner.split_once(']')?;
    Some((inside, rest.trim_start_matches(' ')))
}

/// Parses one error log line into its event.
pub fn parse_line(record: &str) -> Result<Event<'_>, ParseError> {
    let line = record.trim_end_matches(['\r', '\n']);
    let (time_text, mut rest) =
        bracket(line).ok_or_else(|| ParseError::malformed(NAME, "no `[time]` at the start"))?;
    let mut event = Event::new(NAME);
    event.class = Class::HttpActivity;
    event.time = Some(
        time::parse_ctime(time_text)
            .ok_or_else(|| ParseError::invalid(NAME, format!("unreadable time `{time_text}`")))?,
    );

    // `[level]` (2.2) or `[module:level]` (2.4).
    let mut is_24 = false;
    if let Some((group, after)) = bracket(rest)
        && !group.is_empty()
        && !group.contains(' ')
    {
        let (module, level) = match group.split_once(':') {
            Some((module, level)) => {
                is_24 = true;
                (Some(module), level)
            }
            None => (None, group),
        };
        event.attrs.push(("apache.level".into(), level.into()));
        event.severity = level_severity(level);
        if let Some(module) = module.filter(|module| !module.is_empty()) {
            event.attrs.push(("apache.module".into(), module.into()));
            event.process = Some(Cow::Borrowed(module));
        }
        rest = after;
    }

    // The optional header parts, in any order, up to the message.
    loop {
        if let Some((group, after)) = bracket(rest) {
            if let Some(ids) = group.strip_prefix("pid ") {
                let (pid, tid) = match ids.split_once(':') {
                    Some((pid, tid)) => (pid, tid.strip_prefix("tid ").or(Some(tid))),
                    None => (ids, None),
                };
                event.attrs.push(("apache.pid".into(), pid.trim().into()));
                if let Some(tid) = tid {
                    event.attrs.push(("apache.tid".into(), tid.trim().into()));
                }
                rest = after;
                continue;
            }
            if let Some(client) = group.strip_prefix("client ") {
                let client = client.trim();
                event.attrs.push(("apache.client".into(), client.into()));
                let (ip, port) = split_address(client, is_24);
                // The first client wins (ModSecurity repeats it, without the port).
                if event.src_ip.is_none() && ip.parse::<IpAddr>().is_ok() {
                    event.src_ip = Some(Cow::Borrowed(ip));
                    event.src_port = port;
                }
                rest = after;
                continue;
            }
            if let Some(remote) = group.strip_prefix("remote ") {
                event
                    .attrs
                    .push(("apache.remote".into(), remote.trim().into()));
                rest = after;
                continue;
            }
            break;
        }
        // `%7F: ` and `%E: ` stand before `[client ...]`; at the start of the message they are
        // part of it.
        if let Some((prefix, after)) = rest.split_once(": ")
            && starts_header_tag(after)
        {
            if is_os_error(prefix) {
                event.attrs.push(("apache.os_error".into(), prefix.into()));
                rest = after;
                continue;
            }
            if is_source_location(prefix) {
                event.attrs.push(("apache.source".into(), prefix.into()));
                rest = after;
                continue;
            }
        }
        break;
    }

    let message = rest.trim();
    if !message.is_empty() {
        read_message(message, &mut event);
        event.message = Some(Cow::Borrowed(message));
    }
    Ok(event)
}

/// The error code, OS status and referer inside a message.
fn read_message<'a>(message: &'a str, event: &mut Event<'a>) {
    let mut text = message;
    if let Some((prefix, after)) = text.split_once(": ")
        && is_os_error(prefix)
    {
        event.attrs.push(("apache.os_error".into(), prefix.into()));
        text = after;
    }
    if let Some(code) = text.get(..7)
        && code.starts_with("AH")
        && code[2..].bytes().all(|byte| byte.is_ascii_digit())
        && text[7..].starts_with(':')
    {
        event.attrs.push(("apache.code".into(), code.into()));
    }
    if let Some((_, referer)) = message.rsplit_once(", referer: ") {
        let referer = referer.trim();
        if !referer.is_empty() {
            event.attrs.push(("apache.referer".into(), referer.into()));
        }
    }
}

fn starts_header_tag(text: &str) -> bool {
    ["[client ", "[remote ", "[pid "]
        .iter()
        .any(|tag| text.starts_with(tag))
}

/// `(2)No such file or directory`, `(70007)The timeout specified has expired`.
fn is_os_error(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('(') else {
        return false;
    };
    let Some((number, description)) = inner.split_once(')') else {
        return false;
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && !description.is_empty()
}

/// `ssl_engine_kernel.c(1234)`.
fn is_source_location(text: &str) -> bool {
    let Some(file) = text.strip_suffix(')') else {
        return false;
    };
    let Some((file, line)) = file.rsplit_once('(') else {
        return false;
    };
    !file.is_empty()
        && !file.contains(' ')
        && !line.is_empty()
        && line.bytes().all(|byte| byte.is_ascii_digit())
}

/// `1.2.3.4:5678` -> (`1.2.3.4`, 5678). An IPv6 address carries a port only in 2.4 logs, where
/// `%a` always appends one (`::1:58619`).
fn split_address(address: &str, is_24: bool) -> (&str, Option<i32>) {
    if let Some((ip, port)) = address.rsplit_once(':')
        && let Ok(port) = port.parse::<u16>()
    {
        let ip_without_brackets = ip.trim_start_matches('[').trim_end_matches(']');
        let is_v4 = ip.parse::<std::net::Ipv4Addr>().is_ok();
        if is_v4 || (is_24 && ip_without_brackets.parse::<IpAddr>().is_ok()) {
            return (ip_without_brackets, Some(i32::from(port)));
        }
    }
    (address.trim_start_matches('[').trim_end_matches(']'), None)
}

/// Apache's levels: `emerg` .. `debug`, and `trace1` .. `trace8`.
fn level_severity(level: &str) -> Option<i32> {
    if level.starts_with("trace") {
        return Some(severity::INFORMATIONAL);
    }
    severity::from_level_name(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        ApacheErrorParser.parse(record, &ParseContext { reference_time: 0 }, &mut out)?;
        Ok(out.remove(0))
    }

    #[test]
    fn apache_22_line() {
        let event = parse(
            "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test",
        )
        .expect("valid");
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.time, time::parse_rfc3339("2000-10-11T14:32:52Z"));
        assert_eq!(event.severity, Some(severity::HIGH));
        assert_eq!(event.src_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(event.src_port, None);
        assert_eq!(event.process, None);
        assert_eq!(
            event.message.as_deref(),
            Some("client denied by server configuration: /export/home/live/ap/htdocs/test")
        );
    }

    #[test]
    fn apache_24_line_with_os_error_before_client() {
        let event = parse(
            "[Thu Jun 27 11:55:44.569531 2013] [core:error] [pid 4101:tid 2992634688] (2)No such file or directory: [client 1.1.1.1:60236] AH00128: File does not exist: /usr/local/apache2/htdocs/default/cgi-bin",
        )
        .expect("valid");
        assert_eq!(
            event.time,
            time::parse_rfc3339("2013-06-27T11:55:44.569531Z")
        );
        assert_eq!(event.process.as_deref(), Some("core"));
        assert_eq!(event.attr("apache.pid"), Some("4101"));
        assert_eq!(event.attr("apache.tid"), Some("2992634688"));
        assert_eq!(
            event.attr("apache.os_error"),
            Some("(2)No such file or directory")
        );
        assert_eq!(event.src_ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(event.src_port, Some(60236));
        assert_eq!(event.attr("apache.code"), Some("AH00128"));
        assert_eq!(
            event.message.as_deref(),
            Some("AH00128: File does not exist: /usr/local/apache2/htdocs/default/cgi-bin")
        );
    }

    #[test]
    fn ipv6_client_with_port_in_24() {
        let event = parse(
            "[Thu May 12 08:28:57.652118 2011] [core:error] [pid 8777:tid 4326490112] [client ::1:58619] File does not exist: /usr/local/apache2/htdocs/favicon.ico",
        )
        .expect("valid");
        assert_eq!(event.src_ip.as_deref(), Some("::1"));
        assert_eq!(event.src_port, Some(58619));
    }

    #[test]
    fn ipv6_client_without_port_in_22() {
        let event = parse("[Wed Oct 11 14:32:52 2000] [error] [client 2001:db8::1:2] denied")
            .expect("valid");
        assert_eq!(event.src_ip.as_deref(), Some("2001:db8::1:2"));
        assert_eq!(event.src_port, None);
    }

    #[test]
    fn referer_and_module_and_remote() {
        let event = parse(
            "[Mon Jan 01 00:00:00.000001 2024] [authz_core:error] [pid 12] [remote 10.0.0.9:443] [client 203.0.113.5:51234] AH01630: client denied by server configuration: /var/www/admin, referer: https://example.com/",
        )
        .expect("valid");
        assert_eq!(event.process.as_deref(), Some("authz_core"));
        assert_eq!(event.attr("apache.pid"), Some("12"));
        assert_eq!(event.attr("apache.tid"), None);
        assert_eq!(event.attr("apache.remote"), Some("10.0.0.9:443"));
        assert_eq!(event.attr("apache.referer"), Some("https://example.com/"));
        assert_eq!(event.attr("apache.code"), Some("AH01630"));
    }

    #[test]
    fn notice_without_client_and_empty_module() {
        let event = parse(
            "[Sun Mar 07 16:02:00 2004] [notice] Apache/1.3.29 (Unix) configured -- resuming normal operations",
        )
        .expect("valid");
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.src_ip, None);
        let event = parse(
            "[Sun Mar 07 16:02:00.1 2004] [:error] [pid 1] [client 1.2.3.4:80] PHP Warning: x",
        )
        .expect("valid");
        assert_eq!(event.process, None);
        assert_eq!(event.attr("apache.level"), Some("error"));
        assert_eq!(event.message.as_deref(), Some("PHP Warning: x"));
    }

    #[test]
    fn trace_levels_and_source_location() {
        let event = parse(
            "[Sun Oct 09 10:00:00.5 2022] [ssl:trace3] [pid 1:tid 2] ssl_engine_io.c(2199): [client 10.0.0.1:4433] OpenSSL: read 5/5 bytes",
        )
        .expect("valid");
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.attr("apache.source"), Some("ssl_engine_io.c(2199)"));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn os_error_at_message_start_stays_in_message() {
        let event = parse(
            "[Wed Oct 11 14:32:52 2000] [error] [client 10.0.0.1] (13)Permission denied: access to /x denied",
        )
        .expect("valid");
        assert_eq!(event.attr("apache.os_error"), Some("(13)Permission denied"));
        assert_eq!(
            event.message.as_deref(),
            Some("(13)Permission denied: access to /x denied")
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        for case in [
            "",
            "error: something",
            "[not a time] [error] x",
            "[Wed Oct 11 14:32:52 2000",
            "[Wed Foo 11 14:32:52 2000] [error] x",
        ] {
            assert!(parse(case).is_err(), "accepted: {case}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse_line(&text);
        }

        #[test]
        fn never_panics_after_a_valid_time(tail in "[ -~\\[\\]():]{0,120}") {
            let _ = parse_line(&format!("[Wed Oct 11 14:32:52 2000] {tail}"));
        }
    }
}
