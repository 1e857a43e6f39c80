//! Web server access logs: the NCSA Common Log Format and the Combined Log Format, as Apache
//! httpd (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""`) and nginx
//! (`log_format combined`) write them:
//!
//! ```text
//! host ident authuser [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD URL PROTOCOL" status bytes "referer" "user-agent"
//! ```
//!
//! What the parser accepts beyond the two formats:
//!
//! - `-` for any missing value; it fills nothing.
//! - Escapes inside quoted fields: `\"` and `\\` are unescaped (Apache 2.0.46+); other escapes
//!   (`\xhh` from Apache and nginx for non-printable bytes, `\t`, ...) are kept as written, so
//!   the field stays printable text.
//! - A quote that nginx or old Apache versions left unescaped inside a field: the request line
//!   ends at the first `"` followed by ` <status>`, a trailing field at the first `"` followed
//!   by a space or the end of the line. A last field whose closing quote is missing (a
//!   truncated line) runs to the end of the line.
//! - IPv6 client addresses, bare or in brackets; a client that is a host name (`HostnameLookups On`) is kept as
//!   `access.remote_host` instead of `src_ip`.
//! - Apache's `vhost_combined` prefix (`%v:%p %h %l %u %t ...`): the virtual host is kept as
//!   `access.vhost`. An authuser with spaces in it is kept whole.
//! - A time in RFC 3339 (`[$time_iso8601]`) instead of `$time_local`.
//! - A malformed request line (`"-"`, an empty one, or the TLS handshake bytes that nginx logs
//!   with status 400): no method or URL; the line is kept as `access.request`.
//! - Fields after the user agent (nginx's `"$http_x_forwarded_for"`, `$request_time`, ...),
//!   quoted or not, kept by position as `access.extra.0`, `access.extra.1`, ... (a `-` keeps
//!   its number but fills nothing); in the common format, unquoted fields after `bytes` are
//!   extras too.
//!
//! Columns: `src_ip` (host), `user` (authuser), `time`, `http_method`, `url`, `http_status`,
//! `user_agent`, `outcome` (from the status), and `activity`: the method in lower case, which is
//! the OCSF HTTP Activity name for the nine common methods (`get`, `post`, ...). Attributes:
//! `access.protocol`, `access.bytes`, `access.referer`, `access.ident` and the ones above.
//! Class `http_activity`.
//!
//! The parser scans bytes by hand with `memchr` and borrows every field from the record except
//! the few that hold escapes: access logs are the highest-volume format weft reads.

use std::borrow::Cow;
use std::net::IpAddr;

use memchr::{memchr, memchr2};

use super::{FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome};
use crate::time;

pub const NAME: &str = "access_log";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["nginx", "apache", "combined", "common", "clf"],
    description: "nginx and Apache access logs (Common and Combined Log Format, with trailing extras)",
    build: |options| Box::new(AccessLogParser::new(options)),
};

/// Parser of Common and Combined Log Format lines.
#[derive(Debug, Clone, Default)]
pub struct AccessLogParser;

impl AccessLogParser {
    pub fn new(_options: &ParserOptions) -> Self {
        AccessLogParser
    }
}

impl Parser for AccessLogParser {
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

fn malformed(reason: &str) -> ParseError {
    ParseError::malformed(NAME, reason)
}

/// `-` is how both servers write a missing value.
fn present(value: &str) -> Option<&str> {
    (!value.is_empty() && value != "-").then_some(value)
}

/// Parses one access log line into its event.
pub fn parse_line(record: &str) -> Result<Event<'_>, ParseError> {
    let line = record.trim_end_matches(['\r', '\n']);
    let bytes = line.as_bytes();
    let mut event = Event::new(NAME);
    event.class = Class::HttpActivity;
    event.attrs.reserve(4);

    // `host ident authuser [`: the first `[` that starts a token opens the time.
    let open = memchr::memchr_iter(b'[', bytes)
        .find(|&index| index > 0 && bytes.get(index - 1) == Some(&b' '))
        .ok_or_else(|| malformed("no `[time]` after `host ident authuser`"))?;
    read_identity(&line[..open - 1], &mut event)?;

    let after_open = open + 1;
    let close = memchr(b']', &bytes[after_open..])
        .map(|offset| after_open + offset)
        .ok_or_else(|| malformed("unterminated `[time]`"))?;
    let time_text = &line[after_open..close];
    event.time = Some(
        time::parse_apache(time_text)
            .or_else(|| time::parse_rfc3339(time_text))
            .ok_or_else(|| ParseError::invalid(NAME, format!("unreadable time `{time_text}`")))?,
    );

    // ` "request"` followed by ` status`.
    let request_start = close + 3;
    if bytes.get(close + 1..request_start) != Some(b" \"") {
        return Err(malformed("expected ` \"request\"` after the time"));
    }
    let request_end = closing_quote(bytes, request_start, request_closes)
        .ok_or_else(|| malformed("no `\" status` closing the request line"))?;
    read_request(&line[request_start..request_end], &mut event);

    let mut cursor = request_end + 2;
    let status = token(line, &mut cursor);
    if status != "-" {
        let code = parse_digits(status).ok_or_else(|| malformed("status is not a number"))?;
        event.http_status = Some(code);
        event.outcome = Some(Outcome::from_http_status(code));
    }
    skip_spaces(bytes, &mut cursor);
    let sent = token(line, &mut cursor);
    if sent.is_empty() {
        return Err(malformed("missing the response size after the status"));
    }
    if sent != "-" {
        if !sent.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(malformed("response size is not a number"));
        }
        event.attrs.push(("access.bytes".into(), sent.into()));
    }

    read_trailing(line, cursor, &mut event);
    Ok(event)
}

/// `host ident authuser`, or `vhost host ident authuser` (Apache `vhost_combined`).
fn read_identity<'a>(prefix: &'a str, event: &mut Event<'a>) -> Result<(), ParseError> {
    let (mut host, rest) = prefix
        .split_once(' ')
        .ok_or_else(|| malformed("expected `host ident authuser` before the time"))?;
    let (mut ident, mut user) = rest
        .split_once(' ')
        .ok_or_else(|| malformed("expected `host ident authuser` before the time"))?;
    if let Some((second_ident, second_user)) = user.split_once(' ')
        && !second_user.contains(' ')
        && host.parse::<IpAddr>().is_err()
        && ident.parse::<IpAddr>().is_ok()
    {
        event.attrs.push(("access.vhost".into(), host.into()));
        host = ident;
        ident = second_ident;
        user = second_user;
    }
    if host.is_empty() {
        return Err(malformed("empty client host"));
    }
    if let Some(host) = present(host) {
        // `[2001:db8::1]`: some proxies bracket IPv6 clients.
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        if unbracketed.parse::<IpAddr>().is_ok() {
            event.src_ip = Some(Cow::Borrowed(unbracketed));
        } else {
            event.attrs.push(("access.remote_host".into(), host.into()));
        }
    }
    if let Some(ident) = present(ident) {
        event.attrs.push(("access.ident".into(), ident.into()));
    }
    if let Some(user) = present(user) {
        event.user = Some(Cow::Borrowed(user));
    }
    Ok(())
}

/// Method, URL and protocol of a request line; a line of another shape is kept whole.
fn read_request<'a>(request: &'a str, event: &mut Event<'a>) {
    if present(request).is_none() {
        return;
    }
    let parts = request.split_once(' ').and_then(|(method, rest)| {
        let (url, protocol) = match rest.rsplit_once(' ') {
            Some((url, protocol)) if protocol.starts_with("HTTP/") => (url, Some(protocol)),
            _ => (rest, None),
        };
        (is_method(method) && !url.is_empty()).then_some((method, url, protocol))
    });
    let Some((method, url, protocol)) = parts else {
        event
            .attrs
            .push(("access.request".into(), unescape(request)));
        return;
    };
    event.activity = Some(activity_of(method));
    event.http_method = Some(Cow::Borrowed(method));
    event.url = Some(unescape(url));
    if let Some(protocol) = protocol {
        event
            .attrs
            .push(("access.protocol".into(), protocol.into()));
    }
}

/// An HTTP method is an RFC 9110 token (`GET`, `PROPFIND`, `M-SEARCH`).
fn is_method(method: &str) -> bool {
    !method.is_empty()
        && method.bytes().all(|byte| {
            byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// The activity of a method: its OCSF HTTP Activity name, lower case.
fn activity_of(method: &str) -> Cow<'static, str> {
    const COMMON: [(&str, &str); 9] = [
        ("GET", "get"),
        ("POST", "post"),
        ("HEAD", "head"),
        ("PUT", "put"),
        ("DELETE", "delete"),
        ("OPTIONS", "options"),
        ("PATCH", "patch"),
        ("CONNECT", "connect"),
        ("TRACE", "trace"),
    ];
    COMMON
        .iter()
        .find(|(upper, _)| *upper == method)
        .map_or_else(
            || Cow::Owned(method.to_ascii_lowercase()),
            |(_, lower)| Cow::Borrowed(*lower),
        )
}

/// Referer, user agent and extras after the response size.
fn read_trailing<'a>(line: &'a str, mut cursor: usize, event: &mut Event<'a>) {
    let bytes = line.as_bytes();
    let mut position = 0usize;
    let mut extras = 0usize;
    loop {
        skip_spaces(bytes, &mut cursor);
        let Some(&first) = bytes.get(cursor) else {
            return;
        };
        let (value, quoted) = if first == b'"' {
            let start = cursor + 1;
            let end = closing_quote(bytes, start, field_closes).unwrap_or(bytes.len());
            cursor = end + 1;
            (line.get(start..end).unwrap_or(""), true)
        } else {
            (token(line, &mut cursor), false)
        };
        match (position, quoted) {
            (0, true) => {
                if let Some(referer) = present(value) {
                    event
                        .attrs
                        .push(("access.referer".into(), unescape(referer)));
                }
            }
            (1, true) if extras == 0 => {
                if let Some(agent) = present(value) {
                    event.user_agent = Some(unescape(agent));
                }
            }
            _ => {
                if let Some(value) = present(value) {
                    let key = match extras {
                        0 => Cow::Borrowed("access.extra.0"),
                        1 => Cow::Borrowed("access.extra.1"),
                        2 => Cow::Borrowed("access.extra.2"),
                        more => Cow::Owned(format!("access.extra.{more}")),
                    };
                    event.attrs.push((key, unescape(value)));
                }
                extras += 1;
            }
        }
        position += 1;
    }
}

/// The request line closes at a `"` followed by ` <status>`.
fn request_closes(after: &[u8]) -> bool {
    after.first() == Some(&b' ')
        && after
            .get(1)
            .is_some_and(|&byte| byte.is_ascii_digit() || byte == b'-')
}

/// A trailing field closes at a `"` followed by a space or the end of the line.
fn field_closes(after: &[u8]) -> bool {
    matches!(after.first(), None | Some(b' '))
}

/// The index of the `"` closing a field that starts at `start`: the first unescaped quote
/// that `closes` accepts, judging by the bytes after it.
fn closing_quote(bytes: &[u8], start: usize, closes: fn(&[u8]) -> bool) -> Option<usize> {
    let mut at = start;
    while let Some(offset) = memchr2(b'"', b'\\', bytes.get(at..)?) {
        let found = at + offset;
        if bytes.get(found) == Some(&b'\\') {
            at = found + 2;
            continue;
        }
        if closes(bytes.get(found + 1..).unwrap_or_default()) {
            return Some(found);
        }
        at = found + 1;
    }
    None
}

/// The run of non-space bytes at `cursor`; moves the cursor past it.
fn token<'a>(line: &'a str, cursor: &mut usize) -> &'a str {
    let bytes = line.as_bytes();
    let start = (*cursor).min(bytes.len());
    let end = memchr(b' ', &bytes[start..]).map_or(bytes.len(), |offset| start + offset);
    *cursor = end;
    line.get(start..end).unwrap_or("")
}

fn skip_spaces(bytes: &[u8], cursor: &mut usize) {
    while bytes.get(*cursor) == Some(&b' ') {
        *cursor += 1;
    }
}

/// A small decimal number (a status code), without the overhead of `str::parse`.
fn parse_digits(text: &str) -> Option<i32> {
    if text.is_empty() || text.len() > 9 {
        return None;
    }
    let mut value = 0i32;
    for byte in text.bytes() {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i32::from(byte - b'0');
    }
    Some(value)
}

/// Undoes the `\"` and `\\` escapes of a quoted field; other escapes stay as written.
fn unescape(value: &str) -> Cow<'_, str> {
    if memchr(b'\\', value.as_bytes()).is_none() {
        return Cow::Borrowed(value);
    }
    let mut unescaped = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(char) = chars.next() {
        if char != '\\' {
            unescaped.push(char);
            continue;
        }
        match chars.next() {
            Some(escaped @ ('"' | '\\')) => unescaped.push(escaped),
            Some(other) => {
                unescaped.push('\\');
                unescaped.push(other);
            }
            None => unescaped.push('\\'),
        }
    }
    Cow::Owned(unescaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        AccessLogParser.parse(record, &ParseContext { reference_time: 0 }, &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(out.remove(0))
    }

    #[test]
    fn combined_line_fills_http_columns() {
        let event = parse(
            r#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/" "Mozilla/5.0 (Macintosh)""#,
        )
        .expect("valid");
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.src_ip.as_deref(), Some("83.149.9.216"));
        assert_eq!(event.user, None);
        assert_eq!(event.time, time::parse_rfc3339("2015-05-17T10:05:03Z"));
        assert_eq!(event.http_method.as_deref(), Some("GET"));
        assert_eq!(event.activity.as_deref(), Some("get"));
        assert_eq!(event.url.as_deref(), Some("/presentations/logstash.png"));
        assert_eq!(event.http_status, Some(200));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.user_agent.as_deref(), Some("Mozilla/5.0 (Macintosh)"));
        assert_eq!(event.attr("access.protocol"), Some("HTTP/1.1"));
        assert_eq!(event.attr("access.bytes"), Some("203023"));
        assert_eq!(
            event.attr("access.referer"),
            Some("http://semicomplete.com/presentations/")
        );
        assert!(
            matches!(event.url, Some(Cow::Borrowed(_))),
            "fields without escapes are borrowed"
        );
    }

    #[test]
    fn common_log_format_from_the_ncsa_example() {
        let event = parse(
            r#"127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        )
        .expect("valid");
        assert_eq!(event.user.as_deref(), Some("frank"));
        assert_eq!(event.attr("access.ident"), Some("user-identifier"));
        assert_eq!(event.time, time::parse_rfc3339("2000-10-10T20:55:36Z"));
        assert_eq!(event.user_agent, None);
        assert_eq!(event.attr("access.referer"), None);
    }

    #[test]
    fn dashes_fill_nothing() {
        let event =
            parse(r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 304 - "-" "-""#)
                .expect("valid");
        assert_eq!(event.user, None);
        assert_eq!(event.user_agent, None);
        assert_eq!(event.attr("access.bytes"), None);
        assert_eq!(event.attr("access.referer"), None);
        assert_eq!(event.attrs.len(), 1, "{:?}", event.attrs);
    }

    #[test]
    fn escaped_quotes_are_unescaped() {
        let event = parse(
            r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /q?x=\"1\" HTTP/1.1" 200 5 "-" "curl \"quoted\" \\ \x01""#,
        )
        .expect("valid");
        assert_eq!(event.url.as_deref(), Some(r#"/q?x="1""#));
        assert_eq!(event.user_agent.as_deref(), Some(r#"curl "quoted" \ \x01"#));
    }

    #[test]
    fn unescaped_quote_in_request_line_is_tolerated() {
        let event = parse(
            r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /"><script> HTTP/1.1" 404 0 "-" "x""#,
        )
        .expect("valid");
        assert_eq!(event.url.as_deref(), Some(r#"/"><script>"#));
        assert_eq!(event.http_status, Some(404));
        assert_eq!(event.outcome, Some(Outcome::Failure));
    }

    #[test]
    fn ipv6_client_address() {
        let event = parse(r#"2001:db8::1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/2.0" 200 1"#)
            .expect("valid");
        assert_eq!(event.src_ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(event.attr("access.protocol"), Some("HTTP/2.0"));
    }

    #[test]
    fn bracketed_ipv6_client_address() {
        let event =
            parse(r#"[2001:db8::2] - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#)
                .expect("valid");
        assert_eq!(event.src_ip.as_deref(), Some("2001:db8::2"));
    }

    #[test]
    fn host_name_client_is_not_an_ip() {
        let event =
            parse(r#"crawler.example.com - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#)
                .expect("valid");
        assert_eq!(event.src_ip, None);
        assert_eq!(
            event.attr("access.remote_host"),
            Some("crawler.example.com")
        );
    }

    #[test]
    fn nginx_tls_handshake_junk_is_kept_as_request() {
        let event = parse(
            r#"198.51.100.7 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01\x00\xA5\x01\x00\x00" 400 157 "-" "-""#,
        )
        .expect("valid");
        assert_eq!(event.http_method, None);
        assert_eq!(event.url, None);
        assert_eq!(event.activity, None);
        assert_eq!(event.http_status, Some(400));
        assert_eq!(
            event.attr("access.request"),
            Some(r"\x16\x03\x01\x00\xA5\x01\x00\x00")
        );
    }

    #[test]
    fn dash_request_line_has_no_method() {
        let event = parse(r#"198.51.100.7 - - [01/Jan/2024:00:00:00 +0000] "-" 400 0 "-" "-""#)
            .expect("valid");
        assert_eq!(event.http_method, None);
        assert_eq!(event.attr("access.request"), None);
        assert_eq!(event.http_status, Some(400));
    }

    #[test]
    fn http09_request_has_no_protocol() {
        let event = parse(r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /index.html" 200 10"#)
            .expect("valid");
        assert_eq!(event.url.as_deref(), Some("/index.html"));
        assert_eq!(event.attr("access.protocol"), None);
    }

    #[test]
    fn nginx_extras_are_numbered() {
        let event = parse(
            r#"10.0.0.1 - alice [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/1.1" 401 12 "-" "curl/8.0" "203.0.113.9, 10.0.0.2" 0.004 upstream=10.0.0.3:80"#,
        )
        .expect("valid");
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.activity.as_deref(), Some("post"));
        assert_eq!(event.attr("access.extra.0"), Some("203.0.113.9, 10.0.0.2"));
        assert_eq!(event.attr("access.extra.1"), Some("0.004"));
        assert_eq!(event.attr("access.extra.2"), Some("upstream=10.0.0.3:80"));
    }

    #[test]
    fn dash_extra_keeps_its_position() {
        let event = parse(
            r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "-" 0.012"#,
        )
        .expect("valid");
        assert_eq!(event.attr("access.extra.0"), None);
        assert_eq!(event.attr("access.extra.1"), Some("0.012"));
    }

    #[test]
    fn unquoted_fields_after_common_format_are_extras() {
        let event =
            parse(r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 0.5 "x""#)
                .expect("valid");
        assert_eq!(event.attr("access.extra.0"), Some("0.5"));
        assert_eq!(event.attr("access.extra.1"), Some("x"));
        assert_eq!(event.user_agent, None);
    }

    #[test]
    fn truncated_user_agent_runs_to_end_of_line() {
        let event = parse(
            r#"46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /x.py HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1"#,
        )
        .expect("valid");
        assert_eq!(
            event.user_agent.as_deref(),
            Some("Mozilla/5.0 (compatible; Googlebot/2.1")
        );
    }

    #[test]
    fn vhost_combined_prefix() {
        let event = parse(
            r#"www.example.com:443 192.0.2.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#,
        )
        .expect("valid");
        assert_eq!(event.attr("access.vhost"), Some("www.example.com:443"));
        assert_eq!(event.src_ip.as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn authuser_with_spaces_is_kept_whole() {
        let event =
            parse(r#"192.0.2.1 - John Smith [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#)
                .expect("valid");
        assert_eq!(event.user.as_deref(), Some("John Smith"));
    }

    #[test]
    fn iso_time_is_accepted() {
        let event = parse(r#"192.0.2.1 - - [2024-01-01T00:00:00+00:00] "GET / HTTP/1.1" 200 1"#)
            .expect("valid");
        assert_eq!(event.time, time::parse_rfc3339("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn uncommon_method_is_lowercased_activity() {
        let event =
            parse(r#"192.0.2.1 - - [01/Jan/2024:00:00:00 +0000] "PROPFIND /dav HTTP/1.1" 207 1"#)
                .expect("valid");
        assert_eq!(event.http_method.as_deref(), Some("PROPFIND"));
        assert_eq!(event.activity.as_deref(), Some("propfind"));
    }

    #[test]
    fn malformed_lines_are_errors() {
        let cases = [
            "",
            "just some words",
            "10.0.0.1 - - 01/Jan/2024:00:00:00 \"GET / HTTP/1.1\" 200 1",
            "10.0.0.1 - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000 \"GET / HTTP/1.1\" 200 1",
            "10.0.0.1 - - [99/Foo/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] GET / HTTP/1.1 200 1",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 2x0 1",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200",
            "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 lots",
        ];
        for case in cases {
            let mut out = Vec::new();
            let result = AccessLogParser.parse(case, &ParseContext { reference_time: 0 }, &mut out);
            assert!(result.is_err(), "accepted: {case}");
            assert!(out.is_empty());
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse_line(&text);
        }

        #[test]
        fn never_panics_on_near_valid_lines(
            host in "[0-9a-f:.]{0,20}",
            middle in "[ -~]{0,40}",
            tail in "[ -~\"\\\\]{0,60}",
        ) {
            let line = format!("{host} - - [01/Jan/2024:00:00:00 +0000] \"{middle}\" {tail}");
            let _ = parse_line(&line);
        }
    }
}
