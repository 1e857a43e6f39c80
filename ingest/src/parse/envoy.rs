//! Envoy and Istio access logs, in Envoy's JSON and default text forms.
//!
//! - **JSON** (`json_format`, Istio's `accessLogEncoding: JSON`): one object per line, with
//!   Istio's default keys `start_time`, `method`, `path`, `protocol`, `response_code`,
//!   `response_flags`, `response_code_details`, `bytes_received`, `bytes_sent`, `duration`,
//!   `upstream_service_time`, `x_forwarded_for`, `user_agent`, `request_id`, `authority`,
//!   `upstream_host`, `upstream_cluster`, `upstream_local_address`,
//!   `downstream_local_address`, `downstream_remote_address`, `requested_server_name`,
//!   `route_name` (and often `traceparent`); the kebab-case spellings some configurations use
//!   (`x-forwarded-for`, `user-agent`, `x-request-id`) are read too. Other keys reach columns
//!   through the alias table.
//! - **Text**: Envoy's default format string (Envoy docs, "Access logging", "Default format
//!   string")
//!   `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`,
//!   and Istio's default TEXT format, which adds `%RESPONSE_CODE_DETAILS%
//!   %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"` after the flags and
//!   `%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
//!   %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` at the end (older Istio:
//!   a quoted mixer status instead of the two details). Text fields get the JSON keys' names in
//!   `attrs`; `-`, Envoy's spelling of "not set", leaves a field out. Fields a custom format
//!   appends after the default ones are kept as `extra.0`, `extra.1`, ...
//!
//! Columns: `time` = `start_time`; `http_method`, `url` = `path` (the authority stays in
//! attrs), `http_status` = `response_code` (0, "no response sent", leaves it empty),
//! `user_agent`, `request_id`. `src_ip`/`src_port` come from `downstream_remote_address`,
//! which Envoy already resolved from X-Forwarded-For as far as its trusted-hops configuration
//! allows; the first `x_forwarded_for` entry, which any client can forge, is used only when
//! that address is absent. `dst_ip`/`dst_port` come from `upstream_host`, else (no upstream was
//! reached) from `downstream_local_address`. `trace_id`/`span_id` come from `traceparent`
//! (W3C Trace Context), else from B3 (`x-b3-traceid`, `x-b3-spanid` or the single `b3`
//! header). `outcome` is failure when `response_flags` holds any flag other than `DI` (a
//! delay injected by fault injection), else it follows the status. The class is
//! `http_activity`, or `network_activity` for a TCP proxy entry (no method, status or HTTP
//! protocol).

use std::borrow::Cow;
use std::net::IpAddr;

use super::alias::{Column, set_column};
use super::flatten::{Fields, flatten_into};
use super::json::json_error;
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome};
use crate::time;

pub const NAME: &str = "envoy";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["istio", "envoy_json"],
    description: "Envoy / Istio access logs, JSON or Envoy's default text format",
    build: |options| Box::new(EnvoyParser::new(options)),
};

/// Parser of Envoy and Istio access logs.
#[derive(Debug, Clone)]
pub struct EnvoyParser {
    aliases: AliasTable,
}

impl EnvoyParser {
    pub fn new(options: &ParserOptions) -> Self {
        EnvoyParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// Envoy's default text format, after the request line.
const DEFAULT_FIELDS: &[&str] = &[
    "response_code",
    "response_flags",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
];

/// Istio's default TEXT format (1.9 and later), after the request line.
const ISTIO_FIELDS: &[&str] = &[
    "response_code",
    "response_flags",
    "response_code_details",
    "connection_termination_details",
    "upstream_transport_failure_reason",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "upstream_local_address",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
];

/// Istio's TEXT format before 1.9, with the mixer status.
const ISTIO_MIXER_FIELDS: &[&str] = &[
    "response_code",
    "response_flags",
    "istio_mixer_status",
    "upstream_transport_failure_reason",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "upstream_local_address",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
];

/// One field of a text line: its text and whether it was quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Token<'a> {
    text: &'a str,
    quoted: bool,
}

/// Splits the text after `[time] ` into space-separated fields; a quoted field ends at a quote
/// followed by a space or the end of the line (Envoy does not escape quotes inside values).
fn tokens(mut rest: &str) -> Result<Vec<Token<'_>>, String> {
    let mut out = Vec::with_capacity(24);
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(inner) = rest.strip_prefix('"') {
            let end = inner
                .match_indices('"')
                .map(|(index, _)| index)
                .find(|&index| matches!(inner.as_bytes().get(index + 1), None | Some(b' ')))
                .ok_or_else(|| format!("unterminated quoted field after {} fields", out.len()))?;
            out.push(Token {
                text: inner.get(..end).unwrap_or_default(),
                quoted: true,
            });
            rest = inner.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(Token {
                text: rest.get(..end).unwrap_or_default(),
                quoted: false,
            });
            rest = rest.get(end..).unwrap_or_default();
        }
    }
}

fn is_quoted(fields: &[Token<'_>], positions: std::ops::RangeInclusive<usize>) -> bool {
    positions
        .into_iter()
        .all(|index| fields.get(index).is_some_and(|token| token.quoted))
}

/// Which layout the fields after the request line follow: names, and how many of them.
fn layout(fields: &[Token<'_>]) -> Option<&'static [&'static str]> {
    if fields.len() == ISTIO_FIELDS.len() && is_quoted(fields, 4..=4) && is_quoted(fields, 9..=13) {
        Some(ISTIO_FIELDS)
    } else if fields.len() == ISTIO_MIXER_FIELDS.len()
        && is_quoted(fields, 2..=3)
        && is_quoted(fields, 8..=12)
    {
        Some(ISTIO_MIXER_FIELDS)
    } else if fields.len() >= DEFAULT_FIELDS.len() && is_quoted(fields, 6..=10) {
        Some(DEFAULT_FIELDS)
    } else {
        None
    }
}

fn push_field<'a>(out: &mut Fields<'a>, key: &'static str, value: &'a str) {
    if value != "-" {
        out.push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }
}

/// Reads a text access log line into `out`.
fn parse_text<'a>(line: &'a str, out: &mut Fields<'a>) -> Result<(), String> {
    let Some(after_bracket) = line.strip_prefix('[') else {
        return Err("a text access log line starts with `[START_TIME]`".to_string());
    };
    let Some((start_time, rest)) = after_bracket.split_once("] ") else {
        return Err("no `] ` after the start time".to_string());
    };
    let tokens = tokens(rest)?;
    let Some((request, fields)) = tokens.split_first() else {
        return Err("no request line after the start time".to_string());
    };
    if !request.quoted {
        return Err("the request line is not quoted".to_string());
    }
    let Some(names) = layout(fields) else {
        return Err(format!(
            "{} fields after the request line match neither Envoy's default format ({}) nor Istio's ({})",
            fields.len(),
            DEFAULT_FIELDS.len(),
            ISTIO_FIELDS.len()
        ));
    };
    push_field(out, "start_time", start_time);
    // "METHOD PATH PROTOCOL"; a TCP proxy writes "- - -".
    let (method, rest) = request.text.split_once(' ').unwrap_or((request.text, ""));
    let (path, protocol) = rest.rsplit_once(' ').unwrap_or((rest, "-"));
    push_field(out, "method", method);
    push_field(out, "path", path);
    push_field(out, "protocol", protocol);
    for (name, token) in names.iter().zip(fields) {
        push_field(out, name, token.text);
    }
    for (index, token) in fields.iter().skip(names.len()).enumerate() {
        if token.text != "-" {
            out.push((
                Cow::Owned(format!("extra.{index}")),
                Cow::Borrowed(token.text),
            ));
        }
    }
    Ok(())
}

/// The first of `keys` that is set (not empty, not `-`).
fn get<'a>(fields: &Fields<'a>, keys: &[&str]) -> Option<Cow<'a, str>> {
    keys.iter().find_map(|key| {
        fields
            .iter()
            .find(|(name, value)| name == key && !value.is_empty() && value != "-")
            .map(|(_, value)| value.clone())
    })
}

/// A part of a field's text, borrowed when the field is.
fn part<'a>(whole: &Cow<'a, str>, piece: &str) -> Cow<'a, str> {
    match whole {
        Cow::Borrowed(text) => {
            let start = (piece.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            match text.get(start..start + piece.len()) {
                Some(slice) if slice == piece => Cow::Borrowed(slice),
                _ => Cow::Owned(piece.to_string()),
            }
        }
        Cow::Owned(_) => Cow::Owned(piece.to_string()),
    }
}

/// `ip:port`, `[ipv6]:port`, `tcp://ip:port` or a bare IP, as an IP and a port. `None` when
/// the address is not an IP (a pipe, an internal listener, a host name).
fn split_address<'a>(address: &Cow<'a, str>) -> Option<(Cow<'a, str>, Option<i32>)> {
    let text = address.trim();
    let text = text
        .strip_prefix("tcp://")
        .or_else(|| text.strip_prefix("udp://"))
        .unwrap_or(text);
    if text.parse::<IpAddr>().is_ok() {
        return Some((part(address, text), None));
    }
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, rest) = bracketed.split_once(']')?;
        (host, rest.strip_prefix(':'))
    } else {
        let (host, port) = text.rsplit_once(':')?;
        (host, Some(port))
    };
    host.parse::<IpAddr>().ok()?;
    // Port 0 is what Envoy writes for an address it took from X-Forwarded-For.
    let port = port
        .and_then(|port| port.parse::<u16>().ok())
        .filter(|port| *port != 0)
        .map(i32::from);
    Some((part(address, host), port))
}

fn is_hex_id(text: &str, length: usize) -> bool {
    text.len() == length
        && text.bytes().all(|byte| byte.is_ascii_hexdigit())
        && !text.bytes().all(|byte| byte == b'0')
}

/// Trace and parent span ids of a W3C `traceparent` (`00-<trace-id>-<parent-id>-<flags>`).
fn parse_traceparent<'a>(value: &Cow<'a, str>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let parent_id = parts.next()?;
    let flags = parts.next()?;
    let valid = version.len() == 2
        && version.bytes().all(|byte| byte.is_ascii_hexdigit())
        && version != "ff"
        && is_hex_id(trace_id, 32)
        && is_hex_id(parent_id, 16)
        && flags.len() == 2
        && flags.bytes().all(|byte| byte.is_ascii_hexdigit());
    valid.then(|| (part(value, trace_id), part(value, parent_id)))
}

/// The single `b3` header: `{trace-id}-{span-id}[-{sampled}[-{parent-span-id}]]`.
fn parse_b3<'a>(value: &Cow<'a, str>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let mut parts = value.trim().split('-');
    let trace_id = parts.next()?;
    let span_id = parts.next()?;
    let valid = (is_hex_id(trace_id, 32) || is_hex_id(trace_id, 16)) && is_hex_id(span_id, 16);
    valid.then(|| (part(value, trace_id), part(value, span_id)))
}

/// Whether `response_flags` reports a problem (`UH`, `UF`, `URX`, `NR`, `DC`, `RL`, ...);
/// `DI` alone only says that fault injection delayed the request.
fn flags_report_failure(flags: &str) -> bool {
    flags
        .split(',')
        .map(str::trim)
        .any(|flag| !flag.is_empty() && flag != "-" && flag != "DI")
}

/// Fills the columns from the access log fields in `event.attrs`.
fn fill_columns(event: &mut Event<'_>) {
    let fields = &event.attrs;
    event.time = get(fields, &["start_time"])
        .and_then(|start| time::parse_rfc3339(&start).or_else(|| time::parse_any(&start)));
    let method = get(fields, &["method"]);
    event.url = get(fields, &["path", "x-envoy-origin-path"]);
    event.http_status = get(fields, &["response_code"])
        .and_then(|code| code.trim().parse::<i32>().ok())
        .filter(|code| *code > 0);
    event.user_agent = get(fields, &["user_agent", "user-agent"]);
    event.request_id = get(fields, &["request_id", "x-request-id", "x_request_id"]);
    let source = get(fields, &["downstream_remote_address"])
        .as_ref()
        .and_then(split_address)
        .or_else(|| {
            let forwarded = get(fields, &["x_forwarded_for", "x-forwarded-for"])?;
            let first = forwarded.split(',').next().unwrap_or_default().trim();
            let first = part(&forwarded, first);
            split_address(&first)
        });
    if let Some((ip, port)) = source {
        event.src_ip = Some(ip);
        event.src_port = port;
    }
    let destination = get(fields, &["upstream_host"])
        .as_ref()
        .and_then(split_address)
        .or_else(|| {
            get(fields, &["downstream_local_address"])
                .as_ref()
                .and_then(split_address)
        });
    if let Some((ip, port)) = destination {
        event.dst_ip = Some(ip);
        event.dst_port = port;
    }
    let trace = get(fields, &["traceparent"])
        .as_ref()
        .and_then(parse_traceparent)
        .or_else(|| get(fields, &["b3"]).as_ref().and_then(parse_b3));
    if let Some((trace_id, span_id)) = trace {
        event.trace_id = Some(trace_id);
        event.span_id = Some(span_id);
    } else {
        event.trace_id = get(fields, &["x_b3_traceid", "x-b3-traceid"]);
        event.span_id = get(fields, &["x_b3_spanid", "x-b3-spanid"]);
    }
    if let Some(method) = method {
        set_column(event, Column::HttpMethod, method);
    }
}

/// Class and outcome, once every column source has been applied.
fn classify(event: &mut Event<'_>) {
    // Status 0: Envoy sent no response (the client went away first).
    if event.http_status == Some(0) {
        event.http_status = None;
    }
    let fields = &event.attrs;
    let failed = get(fields, &["response_flags"]).is_some_and(|flags| flags_report_failure(&flags));
    let is_http = event.http_method.is_some()
        || event.http_status.is_some()
        || get(fields, &["protocol"]).is_some_and(|protocol| protocol.starts_with("HTTP"));
    event.outcome = if failed {
        Some(Outcome::Failure)
    } else {
        event.http_status.map(Outcome::from_http_status)
    };
    event.class = if is_http {
        Class::HttpActivity
    } else {
        Class::NetworkActivity
    };
}

/// The event of one access log record whose fields are already in `event.attrs` (flattened
/// JSON, or the named fields of the text form).
pub fn from_flattened<'a>(aliases: &AliasTable, mut event: Event<'a>) -> Event<'a> {
    event.format = NAME;
    fill_columns(&mut event);
    aliases.apply(&mut event);
    classify(&mut event);
    event
}

impl Parser for EnvoyParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let line = record
            .trim_start_matches([' ', '\t', '\u{feff}'])
            .trim_end_matches(['\r', '\n']);
        let mut event = Event::new(NAME);
        match line.as_bytes().first() {
            Some(b'{') => {
                flatten_into(line, &mut event.attrs).map_err(|error| json_error(NAME, error))?;
            }
            Some(b'[') => {
                parse_text(line, &mut event.attrs)
                    .map_err(|reason| ParseError::malformed(NAME, reason))?;
            }
            _ => {
                return Err(ParseError::malformed(
                    NAME,
                    "an envoy access log record is a JSON object or a text line starting with `[START_TIME]`",
                ));
            }
        }
        out.push(from_flattened(&self.aliases, event));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn parse(record: &str) -> Result<Event<'_>, ParseError> {
        let mut out = Vec::new();
        EnvoyParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        assert_eq!(out.len(), 1);
        Ok(out.remove(0))
    }

    #[test]
    fn istio_json_fills_columns() {
        let event = parse(
            r#"{"start_time":"2020-11-25T21:26:18.409Z","method":"GET","path":"/status/418","protocol":"HTTP/1.1","response_code":418,"response_flags":"-","response_code_details":"via_upstream","bytes_received":0,"bytes_sent":135,"duration":3,"upstream_service_time":"1","x_forwarded_for":"198.51.100.7, 10.0.0.1","user_agent":"curl/7.73.0-DEV","request_id":"84961386-6d84-929d-98bd-c5aee93b5c88","authority":"httpbin:8000","upstream_host":"127.0.0.1:80","upstream_cluster":"inbound|8000||","downstream_local_address":"10.44.1.27:80","downstream_remote_address":"10.44.1.23:37652","route_name":"default","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#,
        )
        .expect("valid");
        assert_eq!(event.time, parse_rfc3339("2020-11-25T21:26:18.409Z"));
        assert_eq!(event.class, Class::HttpActivity);
        assert_eq!(event.http_method.as_deref(), Some("GET"));
        assert_eq!(event.url.as_deref(), Some("/status/418"));
        assert_eq!(event.http_status, Some(418));
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.src_ip.as_deref(), Some("10.44.1.23"));
        assert_eq!(event.src_port, Some(37652));
        assert_eq!(event.dst_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(event.dst_port, Some(80));
        assert_eq!(
            event.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(event.span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(
            event.request_id.as_deref(),
            Some("84961386-6d84-929d-98bd-c5aee93b5c88")
        );
        assert_eq!(event.user_agent.as_deref(), Some("curl/7.73.0-DEV"));
        assert_eq!(event.attr("authority"), Some("httpbin:8000"));
        assert!(
            matches!(event.src_ip, Some(Cow::Borrowed(_))),
            "addresses borrow from the record"
        );
    }

    #[test]
    fn envoy_default_text_format() {
        let event = parse(
            r#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#,
        )
        .expect("valid");
        assert_eq!(event.time, parse_rfc3339("2016-04-15T20:17:00.310Z"));
        assert_eq!(event.http_method.as_deref(), Some("POST"));
        assert_eq!(event.url.as_deref(), Some("/api/v1/locations"));
        assert_eq!(event.attr("protocol"), Some("HTTP/2"));
        assert_eq!(event.http_status, Some(204));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.attr("response_flags"), None, "`-` is not set");
        // No downstream address in this format: the forwarded-for address stands in.
        assert_eq!(event.src_ip.as_deref(), Some("10.0.35.28"));
        assert_eq!(event.dst_ip.as_deref(), Some("10.0.2.1"));
        assert_eq!(event.dst_port, Some(80));
        assert_eq!(event.user_agent.as_deref(), Some("nsq2http"));
        assert_eq!(event.attr("authority"), Some("locations"));
    }

    #[test]
    fn istio_text_format_and_flags() {
        let event = parse(
            r#"[2020-11-25T21:26:18.409Z] "GET /status/503 HTTP/1.1" 503 UH,URX no_healthy_upstream - "-" 0 19 0 - "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "-" outbound|8000||httpbin.foo.svc.cluster.local - 10.96.0.10:8000 [fd00::5]:37652 - default"#,
        )
        .expect("valid");
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(
            event.attr("response_code_details"),
            Some("no_healthy_upstream")
        );
        assert_eq!(
            event.attr("upstream_cluster"),
            Some("outbound|8000||httpbin.foo.svc.cluster.local")
        );
        assert_eq!(event.src_ip.as_deref(), Some("fd00::5"));
        assert_eq!(event.src_port, Some(37652));
        // No upstream host: the request ended at Envoy's own listener.
        assert_eq!(event.dst_ip.as_deref(), Some("10.96.0.10"));
        assert_eq!(event.dst_port, Some(8000));
    }

    #[test]
    fn tcp_proxy_entries_are_network_activity() {
        let event = parse(
            r#"[2021-01-01T00:00:00.000Z] "- - -" 0 - - - "-" 1024 2048 5000 - "-" "-" "-" "-" "10.1.0.9:5432" outbound|5432||db - 10.1.0.3:5432 10.1.0.7:49152 - -"#,
        )
        .expect("valid");
        assert_eq!(event.class, Class::NetworkActivity);
        assert_eq!(event.http_status, None);
        assert_eq!(event.http_method, None);
        assert_eq!(event.outcome, None);
        assert_eq!(event.dst_ip.as_deref(), Some("10.1.0.9"));
        assert_eq!(event.attr("bytes_sent"), Some("2048"));
    }

    #[test]
    fn delay_injection_alone_is_not_a_failure() {
        assert!(!flags_report_failure("DI"));
        assert!(!flags_report_failure("-"));
        assert!(flags_report_failure("DI,UT"));
        assert!(flags_report_failure("NR"));
    }

    #[test]
    fn addresses_and_trace_headers() {
        let address = |text: &'static str| {
            split_address(&Cow::Borrowed(text)).map(|(ip, port)| (ip.into_owned(), port))
        };
        assert_eq!(
            address("10.0.0.1:443"),
            Some(("10.0.0.1".to_string(), Some(443)))
        );
        assert_eq!(address("[::1]:8080"), Some(("::1".to_string(), Some(8080))));
        assert_eq!(address("::1"), Some(("::1".to_string(), None)));
        assert_eq!(address("envoy://internal_client_address/"), None);
        assert_eq!(address("backend.svc:80"), None);
        assert_eq!(
            address("10.0.0.1:99999"),
            Some(("10.0.0.1".to_string(), None))
        );
        assert_eq!(
            address("198.51.100.23:0"),
            Some(("198.51.100.23".to_string(), None))
        );
        let trace = |text: &'static str| parse_traceparent(&Cow::Borrowed(text));
        assert!(trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_some());
        assert!(trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
        assert!(trace("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_none());
        assert!(trace("00-4bf92f35-00f067aa0ba902b7-01").is_none());
        let b3 = parse_b3(&Cow::Borrowed(
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
        ));
        assert_eq!(
            b3.map(|(trace, _)| trace.into_owned()).as_deref(),
            Some("80f198ee56343ba864fe8b2a57d3eff7")
        );
    }

    #[test]
    fn b3_headers_and_kebab_case_keys() {
        let event = parse(
            r#"{"start_time":"2024-01-01T00:00:00Z","method":"get","path":"/","response_code":"200","x-b3-traceid":"463ac35c9f6413ad48485a3953bb6124","x-b3-spanid":"a2fb4a1d1a96d312","user-agent":"k6","x-request-id":"r-1","x-forwarded-for":"203.0.113.1"}"#,
        )
        .expect("valid");
        assert_eq!(
            event.trace_id.as_deref(),
            Some("463ac35c9f6413ad48485a3953bb6124")
        );
        assert_eq!(event.span_id.as_deref(), Some("a2fb4a1d1a96d312"));
        assert_eq!(event.user_agent.as_deref(), Some("k6"));
        assert_eq!(event.request_id.as_deref(), Some("r-1"));
        assert_eq!(event.src_ip.as_deref(), Some("203.0.113.1"));
        assert_eq!(event.http_method.as_deref(), Some("GET"));
    }

    #[test]
    fn malformed_records_are_errors() {
        for record in [
            "",
            "GET / HTTP/1.1",
            r#"{"start_time":"2020-11-25T21:26:18.409Z""#,
            "[2016-04-15T20:17:00.310Z]",
            r#"[2016-04-15T20:17:00.310Z] "POST /x HTTP/2" 204 -"#,
            r#"[2016-04-15T20:17:00.310Z] POST /x HTTP/2 204 - 1 2 3 4 "a" "b" "c" "d" "e""#,
            r#"[2016-04-15T20:17:00.310Z] "POST /x HTTP/2" 204 - 1 2 3 4 "a" "b" "c" "d" "unterminated"#,
        ] {
            assert!(parse(record).is_err(), "{record}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let mut out = Vec::new();
            let _ = EnvoyParser::new(&ParserOptions::default()).parse(&text, &ParseContext { reference_time: 0 }, &mut out);
        }

        #[test]
        fn never_panics_on_text_lines(fields in proptest::collection::vec("\"?[-a-z0-9:.\\[\\] ]{0,10}\"?", 0..24)) {
            let line = format!("[2016-04-15T20:17:00.310Z] {}", fields.join(" "));
            let mut out = Vec::new();
            let _ = EnvoyParser::new(&ParserOptions::default()).parse(&line, &ParseContext { reference_time: 0 }, &mut out);
        }
    }
}
