//! Field-name aliases: which original field fills which schema column.
//!
//! Services name the same fact differently (`user`, `username`, `user.name`, `userName`). The
//! default table below covers ECS and OpenTelemetry names and widespread conventions; users add
//! their own per service in the configuration (`[services.NAME.aliases]`), which take
//! precedence over the defaults. Aliases fill columns only: the original fields always stay in
//! `attrs`. When a record has several aliases of one column, the one earlier in the table wins
//! (configured aliases before defaults), whatever their order in the record.

use rustc_hash::FxHashMap;
use std::borrow::Cow;

use super::ascii;
use crate::event::{Event, Outcome, Text, severity};
use crate::time;

/// A column an alias can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Time,
    Service,
    Host,
    Activity,
    Outcome,
    Severity,
    User,
    SrcIp,
    SrcPort,
    DstIp,
    DstPort,
    HttpMethod,
    Url,
    HttpStatus,
    UserAgent,
    Process,
    CommandLine,
    Resource,
    TraceId,
    SpanId,
    RequestId,
    SessionId,
    Message,
}

impl Column {
    pub const ALL: [Column; 23] = [
        Column::Time,
        Column::Service,
        Column::Host,
        Column::Activity,
        Column::Outcome,
        Column::Severity,
        Column::User,
        Column::SrcIp,
        Column::SrcPort,
        Column::DstIp,
        Column::DstPort,
        Column::HttpMethod,
        Column::Url,
        Column::HttpStatus,
        Column::UserAgent,
        Column::Process,
        Column::CommandLine,
        Column::Resource,
        Column::TraceId,
        Column::SpanId,
        Column::RequestId,
        Column::SessionId,
        Column::Message,
    ];

    /// The schema column name.
    pub fn name(self) -> &'static str {
        use crate::schema as s;
        match self {
            Column::Time => s::TIME,
            Column::Service => s::SERVICE,
            Column::Host => s::HOST,
            Column::Activity => s::ACTIVITY,
            Column::Outcome => s::OUTCOME,
            Column::Severity => s::SEVERITY,
            Column::User => s::USER,
            Column::SrcIp => s::SRC_IP,
            Column::SrcPort => s::SRC_PORT,
            Column::DstIp => s::DST_IP,
            Column::DstPort => s::DST_PORT,
            Column::HttpMethod => s::HTTP_METHOD,
            Column::Url => s::URL,
            Column::HttpStatus => s::HTTP_STATUS,
            Column::UserAgent => s::USER_AGENT,
            Column::Process => s::PROCESS,
            Column::CommandLine => s::COMMAND_LINE,
            Column::Resource => s::RESOURCE,
            Column::TraceId => s::TRACE_ID,
            Column::SpanId => s::SPAN_ID,
            Column::RequestId => s::REQUEST_ID,
            Column::SessionId => s::SESSION_ID,
            Column::Message => s::MESSAGE,
        }
    }

    /// The column named `name`.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|column| column.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The default aliases, column by column, most specific name first.
pub const DEFAULT_ALIASES: &[(Column, &[&str])] = &[
    (
        Column::Time,
        &[
            "@timestamp",
            "timestamp",
            "time",
            "ts",
            "eventTime",
            "event_time",
            "Timestamp",
            "TimeGenerated",
            "datetime",
            "date",
            "t",
        ],
    ),
    (
        Column::Service,
        &[
            "service.name",
            "service",
            "service_name",
            "serviceName",
            "app",
            "application",
        ],
    ),
    (
        Column::Host,
        &[
            "host.name",
            "host.hostname",
            "hostname",
            "host",
            "Hostname",
            "Computer",
            "computer",
            "node",
        ],
    ),
    (
        Column::Activity,
        &["event.action", "action", "activity", "operation"],
    ),
    (
        Column::Outcome,
        &["event.outcome", "outcome", "result", "success"],
    ),
    (
        Column::Severity,
        &[
            "log.level",
            "level",
            "severity",
            "severity_text",
            "SeverityText",
            "lvl",
            "loglevel",
            "levelname",
        ],
    ),
    (
        Column::User,
        &[
            "user.name",
            "username",
            "userName",
            "user_name",
            "user",
            "usr",
            "actor",
            "principal",
            "user.id",
            "user_id",
            "userId",
            "enduser.id",
        ],
    ),
    (
        Column::SrcIp,
        &[
            "source.ip",
            "client.ip",
            "src_ip",
            "srcip",
            "source_ip",
            "client_ip",
            "clientIp",
            "clientIP",
            "remote_addr",
            "remoteAddr",
            "remote_ip",
            "sourceIPAddress",
            "ip",
            "client_addr",
            "client.address",
            "source.address",
        ],
    ),
    (
        Column::SrcPort,
        &[
            "source.port",
            "client.port",
            "src_port",
            "srcport",
            "sport",
            "remote_port",
            "client_port",
        ],
    ),
    (
        Column::DstIp,
        &[
            "destination.ip",
            "server.ip",
            "dst_ip",
            "dstip",
            "dest_ip",
            "destination_ip",
            "server_ip",
            "server.address",
        ],
    ),
    (
        Column::DstPort,
        &[
            "destination.port",
            "server.port",
            "dst_port",
            "dstport",
            "dport",
            "dest_port",
            "server_port",
        ],
    ),
    (
        Column::HttpMethod,
        &[
            "http.request.method",
            "http.method",
            "http_method",
            "method",
            "request_method",
            "httpMethod",
        ],
    ),
    (
        Column::Url,
        &[
            "url.original",
            "url.full",
            "http.url",
            "http.target",
            "url.path",
            "url",
            "uri",
            "request_uri",
            "requestUri",
            "request_url",
            "path",
        ],
    ),
    (
        Column::HttpStatus,
        &[
            "http.response.status_code",
            "http.status_code",
            "http_status",
            "status_code",
            "statusCode",
            "response_code",
            "status",
        ],
    ),
    (
        Column::UserAgent,
        &[
            "user_agent.original",
            "http.user_agent",
            "user_agent",
            "userAgent",
            "ua",
        ],
    ),
    (
        Column::Process,
        &["process.name", "process", "proc", "program", "comm"],
    ),
    (
        Column::CommandLine,
        &[
            "process.command_line",
            "command_line",
            "cmdline",
            "CommandLine",
            "cmd",
        ],
    ),
    (Column::Resource, &["resource", "object", "target"]),
    (
        Column::TraceId,
        &[
            "trace.id",
            "trace_id",
            "traceId",
            "traceID",
            "TraceId",
            "otel.trace_id",
            "dd.trace_id",
        ],
    ),
    (
        Column::SpanId,
        &[
            "span.id",
            "span_id",
            "spanId",
            "spanID",
            "SpanId",
            "otel.span_id",
            "dd.span_id",
        ],
    ),
    (
        Column::RequestId,
        &[
            "http.request.id",
            "request_id",
            "requestId",
            "requestID",
            "req_id",
            "reqId",
            "x_request_id",
            "x-request-id",
        ],
    ),
    (
        Column::SessionId,
        &["session.id", "session_id", "sessionId", "sessionID", "sid"],
    ),
    (
        Column::Message,
        &["message", "msg", "log", "text", "Message"],
    ),
];

/// Why a configured alias was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    #[error(
        "alias `{field}` names unknown column `{column}`; known columns: {known}",
        known = Column::ALL.map(Column::name).join(", ")
    )]
    UnknownColumn { field: String, column: String },
}

/// A lookup from original field names to columns, with a precedence rank per name.
#[derive(Debug, Clone)]
pub struct AliasTable {
    by_field: FxHashMap<Box<str>, (Column, u16)>,
}

impl Default for AliasTable {
    fn default() -> Self {
        let mut by_field = FxHashMap::default();
        let mut rank = 0u16;
        for (column, fields) in DEFAULT_ALIASES {
            for field in *fields {
                by_field.entry((*field).into()).or_insert((*column, rank));
                rank += 1;
            }
        }
        AliasTable { by_field }
    }
}

impl AliasTable {
    /// The defaults plus `extra` (`field -> column name`), which take precedence over them.
    pub fn with_extra<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AliasTable, AliasError> {
        let mut table = AliasTable::default();
        // Shift the defaults' ranks up to make room for the configured aliases in front.
        let extra: Vec<(&str, &str)> = extra.into_iter().collect();
        let shift = u16::try_from(extra.len()).unwrap_or(u16::MAX);
        for (_, rank) in table.by_field.values_mut() {
            *rank = rank.saturating_add(shift);
        }
        let mut seen = std::collections::HashSet::new();
        for (rank, (field, column_name)) in extra.into_iter().enumerate() {
            let column =
                Column::from_name(column_name).ok_or_else(|| AliasError::UnknownColumn {
                    field: field.to_string(),
                    column: column_name.to_string(),
                })?;
            // The first mention of a field wins: callers list the most specific aliases first.
            if seen.insert(field) {
                let rank = u16::try_from(rank).unwrap_or(u16::MAX);
                table.by_field.insert(field.into(), (column, rank));
            }
        }
        Ok(table)
    }

    /// The column a field fills, if any.
    pub fn column(&self, field: &str) -> Option<Column> {
        self.by_field.get(field).map(|(column, _)| *column)
    }

    /// Fills the event's empty columns from its `attrs`. Columns a parser already set are kept.
    pub fn apply<'a>(&self, event: &mut Event<'a>) {
        let mut best: [Option<(u16, usize)>; Column::ALL.len()] = [None; Column::ALL.len()];
        for (index, (field, _)) in event.attrs.iter().enumerate() {
            let Some(&(column, rank)) = self.by_field.get(field.as_ref()) else {
                continue;
            };
            let slot = &mut best[column.index()];
            if slot.is_none_or(|(best_rank, _)| rank < best_rank) {
                *slot = Some((rank, index));
            }
        }
        for column in Column::ALL {
            let Some((_, index)) = best[column.index()] else {
                continue;
            };
            let value = event.attrs[index].1.clone();
            set_column(event, column, value);
        }
    }
}

/// Sets one column from a text value, converting it to the column's type. A value that does
/// not convert (a `status` that is not a number) leaves the column empty; it stays in `attrs`.
pub fn set_column<'a>(event: &mut Event<'a>, column: Column, value: Cow<'a, str>) {
    match column {
        Column::Time => {
            if event.time.is_none() {
                event.time = time::parse_any(&value);
            }
        }
        Column::Severity => {
            if event.severity.is_none() {
                event.severity = severity_from_text(&value);
            }
        }
        Column::Outcome => {
            if event.outcome.is_none() {
                event.outcome = outcome_from_text(&value);
            }
        }
        Column::SrcPort => fill_int(&mut event.src_port, &value),
        Column::DstPort => fill_int(&mut event.dst_port, &value),
        Column::HttpStatus => fill_int(&mut event.http_status, &value),
        Column::HttpMethod => {
            if event.http_method.is_none() && !value.is_empty() {
                event.http_method = Some(upper_ascii(value));
            }
        }
        // A service name starts with a letter (DNS labels, Kubernetes names); `service=8ms` in
        // a Heroku router line is a duration, not a service.
        Column::Service if !value.starts_with(|first: char| first.is_ascii_alphabetic()) => {}
        // Address columns hold addresses; a host name (`server.address = checkout.svc`) or a
        // forwarded-for list stays in attrs only.
        Column::SrcIp | Column::DstIp if !ascii::is_ip_address(ascii::trim(&value)) => {}
        text_column => {
            let slot = text_field(event, text_column);
            crate::event::fill(slot, value);
        }
    }
}

/// The text field of a text column.
fn text_field<'e, 'a>(event: &'e mut Event<'a>, column: Column) -> &'e mut Text<'a> {
    match column {
        Column::Service => &mut event.service,
        Column::Host => &mut event.host,
        Column::Activity => &mut event.activity,
        Column::User => &mut event.user,
        Column::SrcIp => &mut event.src_ip,
        Column::DstIp => &mut event.dst_ip,
        Column::Url => &mut event.url,
        Column::UserAgent => &mut event.user_agent,
        Column::Process => &mut event.process,
        Column::CommandLine => &mut event.command_line,
        Column::Resource => &mut event.resource,
        Column::TraceId => &mut event.trace_id,
        Column::SpanId => &mut event.span_id,
        Column::RequestId => &mut event.request_id,
        Column::SessionId => &mut event.session_id,
        Column::HttpMethod => &mut event.http_method,
        Column::Message
        | Column::Time
        | Column::Severity
        | Column::Outcome
        | Column::SrcPort
        | Column::DstPort
        | Column::HttpStatus => &mut event.message,
    }
}

fn upper_ascii(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.bytes().any(|byte| byte.is_ascii_lowercase()) {
        Cow::Owned(value.to_ascii_uppercase())
    } else {
        value
    }
}

fn fill_int(slot: &mut Option<i32>, value: &str) {
    if slot.is_none() {
        *slot = ascii::trim(value).parse().ok();
    }
}

/// A severity from a level name (`warn`), a pino/bunyan number (10..60) or a syslog number (0..7).
pub fn severity_from_text(value: &str) -> Option<i32> {
    if let Some(id) = severity::from_level_name(value) {
        return Some(id);
    }
    match value.trim().parse::<u32>().ok()? {
        level @ 0..=7 => Some(severity::from_syslog(level as u8)),
        10 | 20 | 30 => Some(severity::INFORMATIONAL),
        40 => Some(severity::MEDIUM),
        50 => Some(severity::HIGH),
        60 => Some(severity::FATAL),
        _ => None,
    }
}

/// An outcome from the words services use for it.
pub fn outcome_from_text(value: &str) -> Option<Outcome> {
    let value = value.trim();
    let is = |word: &str| value.eq_ignore_ascii_case(word);
    if is("success")
        || is("succeeded")
        || is("successful")
        || is("ok")
        || is("true")
        || is("allow")
        || is("allowed")
        || is("accepted")
        || is("pass")
        || is("passed")
    {
        Some(Outcome::Success)
    } else if is("failure")
        || is("failed")
        || is("fail")
        || is("false")
        || is("deny")
        || is("denied")
        || is("rejected")
        || is("error")
        || is("blocked")
    {
        Some(Outcome::Failure)
    } else if is("unknown") {
        Some(Outcome::Unknown)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_with(attrs: &[(&'static str, &'static str)]) -> Event<'static> {
        let mut event = Event::new("json");
        event.attrs = attrs
            .iter()
            .map(|(key, value)| (Cow::Borrowed(*key), Cow::Borrowed(*value)))
            .collect();
        event
    }

    #[test]
    fn common_names_fill_columns() {
        let mut event = event_with(&[
            ("ts", "2024-05-01T12:00:00Z"),
            ("userName", "alice"),
            ("clientIp", "10.0.0.1"),
            ("status_code", "401"),
            ("msg", "login failed"),
            ("traceId", "abc"),
            ("level", "warn"),
            ("method", "post"),
        ]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(event.http_status, Some(401));
        assert_eq!(event.message.as_deref(), Some("login failed"));
        assert_eq!(event.trace_id.as_deref(), Some("abc"));
        assert_eq!(event.severity, Some(severity::MEDIUM));
        assert_eq!(event.http_method.as_deref(), Some("POST"));
        assert_eq!(event.attrs.len(), 8, "originals stay in attrs");
    }

    #[test]
    fn earlier_alias_in_table_wins_regardless_of_record_order() {
        let mut event = event_with(&[("user", "short"), ("user.name", "full")]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.user.as_deref(), Some("full"));
    }

    #[test]
    fn configured_aliases_take_precedence() {
        let table = AliasTable::with_extra([("actor_login", "user")]).expect("valid");
        let mut event = event_with(&[("username", "default"), ("actor_login", "configured")]);
        table.apply(&mut event);
        assert_eq!(event.user.as_deref(), Some("configured"));
    }

    #[test]
    fn unknown_column_is_refused_with_the_known_ones() {
        let error = AliasTable::with_extra([("x", "usr")]).expect_err("unknown column");
        assert!(error.to_string().contains("src_ip"), "{error}");
    }

    #[test]
    fn parser_set_columns_are_kept() {
        let mut event = event_with(&[("user", "from-attrs")]);
        event.user = Some(Cow::Borrowed("from-parser"));
        AliasTable::default().apply(&mut event);
        assert_eq!(event.user.as_deref(), Some("from-parser"));
    }

    #[test]
    fn address_columns_take_only_addresses() {
        let mut event = event_with(&[
            ("server.address", "checkout.shop.svc"),
            ("client_ip", "2001:db8::7"),
        ]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.dst_ip, None);
        assert_eq!(event.src_ip.as_deref(), Some("2001:db8::7"));
    }

    #[test]
    fn service_names_start_with_a_letter() {
        let mut event = event_with(&[("service", "8ms")]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.service, None);
        let mut event = event_with(&[("service", "checkout-v2")]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.service.as_deref(), Some("checkout-v2"));
    }

    #[test]
    fn unconvertible_values_leave_the_column_empty() {
        let mut event = event_with(&[("status", "ok"), ("ts", "yesterday")]);
        AliasTable::default().apply(&mut event);
        assert_eq!(event.http_status, None);
        assert_eq!(event.time, None);
    }
}
