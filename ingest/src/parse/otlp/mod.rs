//! OpenTelemetry log records in OTLP/JSON: the JSON form of `ExportLogsServiceRequest`
//! (opentelemetry-proto `logs/v1/logs.proto`), as the OTLP/HTTP exporter, the collector's file
//! exporter and most SDK debug exporters write it.
//!
//! ```json
//! {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
//!   "scopeLogs":[{"scope":{"name":"app.auth","version":"1.2"},
//!     "logRecords":[{"timeUnixNano":"1718000000000000000","severityNumber":9,"severityText":"INFO",
//!       "body":{"stringValue":"login ok"},"attributes":[...],"traceId":"5b8e...","spanId":"eee1..."}]}]}]}
//! ```
//!
//! One event per log record. The OTLP/JSON rules (OTLP specification, "JSON Protobuf
//! Encoding") are followed: keys are lowerCamelCase (the proto's snake_case names are accepted
//! too, as the collector does), 64-bit integers are decimal strings or numbers, enums are
//! integers (enum names are accepted too), `traceId`/`spanId` are hex strings (not base64; a
//! base64 id from a plain protobuf-JSON encoder is converted to hex), and an empty or all-zero
//! id means "no id". A record that is a `ResourceLogs`, a `ScopeLogs` or a single log record
//! object on its own is read as well (some exporters write those).
//!
//! Columns: `time` = `timeUnixNano`, else `observedTimeUnixNano`; `severity` from
//! `severityNumber` (1-8 trace/debug and 9-12 info: informational, 13-16 warn: medium, 17-20
//! error: high, 21-24 fatal: fatal), else from `severityText`; `message` = a scalar body;
//! `service` = resource `service.name`; `host` = resource `host.name`; `trace_id`/`span_id`
//! (lowercase hex); `activity` = `eventName`. `attrs`: resource attributes as `resource.<key>`,
//! the scope as `scope.name`, `scope.version` and `scope.<key>`, the log record's own fields
//! under their OTLP/JSON names (`timeUnixNano`, `severityText`, ...), its attributes under
//! their own keys, and the body as `body` (scalar) or `body.<key>`/`body.<index>` (structured);
//! nested values are flattened with dotted keys as everywhere in weft. The alias table then
//! fills the other columns from the attributes (`http.request.method`, `user.name`, ...), as do
//! a few OpenTelemetry semantic-convention names (`client.address`, `server.port`, ...).

mod model;

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine;
use serde_json::value::RawValue;

use self::model::{Envelope, LogRecord, NumberText, Resource, Scope, push_attributes, push_value};
use super::alias::{Column, set_column};
use super::flatten::{Fields, JsonError};
use super::json::json_error;
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome, severity};

pub const NAME: &str = "otlp";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["otlp_json", "otel"],
    description: "OpenTelemetry log records in OTLP/JSON (resourceLogs/scopeLogs/logRecords); one event per log record",
    build: |options| Box::new(OtlpParser::new(options)),
};

/// Parser of OTLP/JSON log exports.
#[derive(Debug, Clone)]
pub struct OtlpParser {
    aliases: AliasTable,
}

impl OtlpParser {
    pub fn new(options: &ParserOptions) -> Self {
        OtlpParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// The resource and scope fields every log record of a scope shares.
struct Context<'a> {
    fields: Fields<'a>,
    service: Option<Cow<'a, str>>,
    host: Option<Cow<'a, str>>,
}

fn find<'a>(fields: &Fields<'a>, key: &str) -> Option<Cow<'a, str>> {
    fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.clone())
}

/// The shared fields of a resource.
fn resource_context<'a>(
    resource: Option<Resource<'a>>,
    schema: Option<Cow<'a, str>>,
) -> Context<'a> {
    let mut fields = Fields::new();
    if let Some(resource) = resource {
        push_attributes(Some("resource"), resource.attributes, &mut fields);
        if let Some(NumberText(count)) = resource.dropped_attributes_count {
            fields.push((Cow::Borrowed("resource.droppedAttributesCount"), count));
        }
    }
    if let Some(schema) = schema {
        fields.push((Cow::Borrowed("resource.schemaUrl"), schema));
    }
    let service = find(&fields, "resource.service.name");
    let host = find(&fields, "resource.host.name");
    Context {
        fields,
        service,
        host,
    }
}

/// The shared fields of a scope within `resource`.
fn scope_context<'a>(
    resource: &Context<'a>,
    scope: Option<Scope<'a>>,
    schema: Option<Cow<'a, str>>,
) -> Context<'a> {
    let mut fields = resource.fields.clone();
    if let Some(scope) = scope {
        if let Some(name) = scope.name {
            fields.push((Cow::Borrowed("scope.name"), name));
        }
        if let Some(version) = scope.version {
            fields.push((Cow::Borrowed("scope.version"), version));
        }
        push_attributes(Some("scope"), scope.attributes, &mut fields);
    }
    if let Some(schema) = schema {
        fields.push((Cow::Borrowed("scope.schemaUrl"), schema));
    }
    Context {
        fields,
        service: resource.service.clone(),
        host: resource.host.clone(),
    }
}

/// A timestamp in nanoseconds since the epoch as microseconds; `None` for 0 (unset).
fn nanos_to_micros(text: &str) -> Option<i64> {
    let text = text.trim();
    let nanos = match text.parse::<u64>() {
        Ok(nanos) => nanos,
        // A number written as a float by a lenient encoder (`1.7e18`).
        Err(_) => {
            let value = text.parse::<f64>().ok()?;
            if !(value.is_finite() && (0.0..1.8e19).contains(&value)) {
                return None;
            }
            value as u64
        }
    };
    if nanos == 0 {
        return None;
    }
    i64::try_from(nanos / 1_000).ok()
}

/// `SeverityNumber` as an integer, from its number or its enum name (`SEVERITY_NUMBER_WARN2`).
fn severity_number(text: &str) -> Option<i64> {
    if let Ok(number) = text.trim().parse::<i64>() {
        return Some(number);
    }
    let name = text.trim().strip_prefix("SEVERITY_NUMBER_")?;
    let (level, step) = match name.as_bytes().last() {
        Some(digit @ b'2'..=b'4') => (
            name.strip_suffix(['2', '3', '4']).unwrap_or(name),
            i64::from(digit - b'1'),
        ),
        _ => (name, 0),
    };
    let base = match level {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    };
    Some(base + step)
}

/// The OCSF severity of an OpenTelemetry severity number (logs data model, "Severity Fields").
pub fn severity_from_number(number: i64) -> Option<i32> {
    match number {
        1..=12 => Some(severity::INFORMATIONAL),
        13..=16 => Some(severity::MEDIUM),
        17..=20 => Some(severity::HIGH),
        21..=24 => Some(severity::FATAL),
        _ => None,
    }
}

/// A trace or span id of `bytes` bytes as lowercase hex; `None` when empty or all zeros
/// (invalid per W3C Trace Context). Base64 ids are converted; other spellings are kept.
fn normalize_id(id: Cow<'_, str>, bytes: usize) -> Option<Cow<'_, str>> {
    let trimmed = id.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len() == bytes * 2 && trimmed.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        if trimmed.bytes().all(|byte| byte == b'0') {
            return None;
        }
        if trimmed.len() == id.len() && !trimmed.bytes().any(|byte| byte.is_ascii_uppercase()) {
            return Some(id);
        }
        return Some(Cow::Owned(trimmed.to_ascii_lowercase()));
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(trimmed)
        && decoded.len() == bytes
    {
        if decoded.iter().all(|byte| *byte == 0) {
            return None;
        }
        let hex: String = decoded.iter().map(|byte| format!("{byte:02x}")).collect();
        return Some(Cow::Owned(hex));
    }
    Some(id)
}

/// OpenTelemetry semantic-convention attributes that the default alias table lacks.
const SEMCONV: &[(Column, &[&str])] = &[
    (
        Column::SrcIp,
        &["client.address", "source.address", "client.socket.address"],
    ),
    (
        Column::SrcPort,
        &["client.port", "source.port", "client.socket.port"],
    ),
    (
        Column::DstIp,
        &[
            "server.address",
            "destination.address",
            "server.socket.address",
        ],
    ),
    (
        Column::DstPort,
        &["server.port", "destination.port", "server.socket.port"],
    ),
    (Column::User, &["enduser.id"]),
    (Column::Url, &["http.route"]),
];

fn apply_semconv<'a>(event: &mut Event<'a>) {
    for (column, keys) in SEMCONV {
        for key in *keys {
            let Some(value) = find(&event.attrs, key) else {
                continue;
            };
            // Addresses may be host names; only IPs belong in the IP columns.
            if matches!(column, Column::SrcIp | Column::DstIp) && value.parse::<IpAddr>().is_err() {
                continue;
            }
            set_column(event, *column, value);
            break;
        }
    }
}

impl OtlpParser {
    fn event<'a>(
        &self,
        context: &Context<'a>,
        raw: Option<&'a str>,
        record: LogRecord<'a>,
    ) -> Event<'a> {
        let mut event = Event::new(NAME);
        event.raw = raw;
        event.attrs.extend(context.fields.iter().cloned());
        event.service.clone_from(&context.service);
        event.host.clone_from(&context.host);
        let fields = &mut event.attrs;
        let mut time = None;
        for (key, value) in [
            ("timeUnixNano", record.time_unix_nano),
            ("observedTimeUnixNano", record.observed_time_unix_nano),
        ] {
            if let Some(NumberText(nanos)) = value {
                time = time.or_else(|| nanos_to_micros(&nanos));
                fields.push((Cow::Borrowed(key), nanos));
            }
        }
        event.time = time;
        if let Some(NumberText(number)) = record.severity_number {
            event.severity = severity_number(&number).and_then(severity_from_number);
            fields.push((Cow::Borrowed("severityNumber"), number));
        }
        if let Some(text) = record.severity_text {
            if event.severity.is_none() {
                event.severity = severity::from_level_name(&text);
            }
            fields.push((Cow::Borrowed("severityText"), text));
        }
        // Ids keep their original spelling in attrs; empty and all-zero ids mean "none".
        for (key, id, bytes) in [
            ("traceId", record.trace_id, 16),
            ("spanId", record.span_id, 8),
        ] {
            let Some(id) = id else {
                continue;
            };
            let Some(normalized) = normalize_id(id.clone(), bytes) else {
                continue;
            };
            if bytes == 16 {
                event.trace_id = Some(normalized);
            } else {
                event.span_id = Some(normalized);
            }
            fields.push((Cow::Borrowed(key), id));
        }
        if let Some(NumberText(flags)) = record.flags {
            fields.push((Cow::Borrowed("flags"), flags));
        }
        if let Some(NumberText(count)) = record.dropped_attributes_count {
            fields.push((Cow::Borrowed("droppedAttributesCount"), count));
        }
        if let Some(name) = record.event_name {
            if !name.is_empty() {
                event.activity = Some(name.clone());
            }
            fields.push((Cow::Borrowed("eventName"), name));
        }
        if let Some(body) = record.body {
            let start = fields.len();
            push_value(Cow::Borrowed("body"), body, fields);
            // A scalar body is the message; a structured one stays in `body.*`.
            if let [(key, value)] = &fields[start..]
                && key == "body"
            {
                event.message = Some(value.clone());
            }
        }
        push_attributes(None, record.attributes, &mut event.attrs);
        self.aliases.apply(&mut event);
        apply_semconv(&mut event);
        if event.http_method.is_some() || event.http_status.is_some() {
            event.class = Class::HttpActivity;
            if event.outcome.is_none() {
                event.outcome = event.http_status.map(Outcome::from_http_status);
            }
        }
        event
    }
}

fn malformed(error: serde_json::Error) -> ParseError {
    json_error(NAME, JsonError::from(error))
}

impl Parser for OtlpParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        let record = record.trim_start_matches('\u{feff}');
        let envelope: Envelope<'a> = serde_json::from_str(record).map_err(malformed)?;
        // Every (context, log record) of the record, in order.
        let mut groups: Vec<(Context<'a>, Vec<&'a RawValue>)> = Vec::new();
        if let Some(resource_logs) = envelope.resource_logs {
            for resource_logs in resource_logs {
                let resource = resource_context(resource_logs.resource, resource_logs.schema_url);
                for scope_logs in resource_logs.scope_logs.unwrap_or_default() {
                    let shared = scope_context(&resource, scope_logs.scope, scope_logs.schema_url);
                    groups.push((shared, scope_logs.log_records.unwrap_or_default()));
                }
            }
        } else if let Some(scope_logs) = envelope.scope_logs {
            let resource = resource_context(envelope.resource, envelope.schema_url);
            for scope_logs in scope_logs {
                let shared = scope_context(&resource, scope_logs.scope, scope_logs.schema_url);
                groups.push((shared, scope_logs.log_records.unwrap_or_default()));
            }
        } else if let Some(log_records) = envelope.log_records {
            let resource = resource_context(None, None);
            groups.push((
                scope_context(&resource, envelope.scope, envelope.schema_url),
                log_records,
            ));
        } else {
            let log_record: LogRecord<'a> = serde_json::from_str(record).map_err(malformed)?;
            if log_record.is_empty() {
                return Err(ParseError::malformed(
                    NAME,
                    "no resourceLogs, scopeLogs, logRecords or log record fields",
                ));
            }
            out.push(self.event(&resource_context(None, None), None, log_record));
            return Ok(());
        }
        let total: usize = groups.iter().map(|(_, records)| records.len()).sum();
        let mut events = Vec::with_capacity(total);
        for (shared, records) in &groups {
            for raw in records {
                let log_record: LogRecord<'a> =
                    serde_json::from_str(raw.get()).map_err(malformed)?;
                let raw = (total > 1).then(|| raw.get());
                events.push(self.event(shared, raw, log_record));
            }
        }
        out.extend(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
        let mut out = Vec::new();
        OtlpParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        Ok(out)
    }

    const EXPORT: &str = r#"{"resourceLogs":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"checkout"}},
        {"key":"host.name","value":{"stringValue":"node-7"}},
        {"key":"k8s.pod.labels","value":{"kvlistValue":{"values":[{"key":"app","value":{"stringValue":"web"}}]}}}]},
      "scopeLogs":[{"scope":{"name":"auth","version":"1.2.0"},"logRecords":[
        {"timeUnixNano":"1718000000123456789","observedTimeUnixNano":"1718000001000000000","severityNumber":13,"severityText":"WARN",
         "body":{"stringValue":"login failed"},"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","flags":1,
         "attributes":[{"key":"user.name","value":{"stringValue":"alice"}},{"key":"http.request.method","value":{"stringValue":"POST"}},
                       {"key":"http.response.status_code","value":{"intValue":"401"}},{"key":"client.address","value":{"stringValue":"10.1.2.3"}},
                       {"key":"retry","value":{"boolValue":false}},{"key":"ratio","value":{"doubleValue":0.5}},
                       {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":7}]}}}]},
        {"observedTimeUnixNano":"1718000002000000000","severityNumber":21,"body":{"kvlistValue":{"values":[{"key":"event","value":{"stringValue":"panic"}},{"key":"code","value":{"intValue":"3"}}]}},"traceId":"","spanId":""}
      ]}]}]}"#;

    #[test]
    fn one_event_per_log_record_with_resource_and_scope() {
        let events = parse(EXPORT).expect("valid export");
        assert_eq!(events.len(), 2);
        let first = &events[0];
        assert_eq!(first.service.as_deref(), Some("checkout"));
        assert_eq!(first.host.as_deref(), Some("node-7"));
        assert_eq!(first.time, Some(1_718_000_000_123_456));
        assert_eq!(first.severity, Some(severity::MEDIUM));
        assert_eq!(first.message.as_deref(), Some("login failed"));
        assert_eq!(
            first.trace_id.as_deref(),
            Some("5b8efff798038103d269b633813fc60c")
        );
        assert_eq!(first.span_id.as_deref(), Some("eee19b7ec3c1b174"));
        assert_eq!(first.attr("resource.k8s.pod.labels.app"), Some("web"));
        assert_eq!(first.attr("scope.name"), Some("auth"));
        assert_eq!(first.attr("scope.version"), Some("1.2.0"));
        assert_eq!(first.attr("tags.1"), Some("7"));
        assert_eq!(first.attr("retry"), Some("false"));
        assert_eq!(first.attr("ratio"), Some("0.5"));
        assert!(
            first.raw.is_some(),
            "several records: each event keeps its own part"
        );
        // Aliases and semantic conventions fill the rest.
        assert_eq!(first.user.as_deref(), Some("alice"));
        assert_eq!(first.http_method.as_deref(), Some("POST"));
        assert_eq!(first.http_status, Some(401));
        assert_eq!(first.src_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(first.class, Class::HttpActivity);
        assert_eq!(first.outcome, Some(Outcome::Failure));

        let second = &events[1];
        assert_eq!(second.service.as_deref(), Some("checkout"));
        assert_eq!(
            second.time,
            Some(1_718_000_002_000_000),
            "observed time is the fallback"
        );
        assert_eq!(second.severity, Some(severity::FATAL));
        assert_eq!(second.message, None);
        assert_eq!(second.attr("body.event"), Some("panic"));
        assert_eq!(second.trace_id, None);
        assert_eq!(second.attr("traceId"), None);
        assert_eq!(second.class, Class::Other);
    }

    #[test]
    fn every_scope_of_a_resource_shares_its_attributes() {
        let events = parse(
            r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeLogs":[
                {"scope":{"name":"one"},"logRecords":[{"body":{"stringValue":"x"}}]},
                {"scope":{"name":"two"},"logRecords":[{"body":{"stringValue":"y"}}]}]}]}"#,
        )
        .expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].service.as_deref(), Some("a"));
        assert_eq!(events[1].attr("scope.name"), Some("two"));
        assert_eq!(events[1].attr("resource.service.name"), Some("a"));
    }

    #[test]
    fn severity_numbers_map_by_range_and_text_is_the_fallback() {
        for (number, expected) in [
            (1, Some(severity::INFORMATIONAL)),
            (5, Some(severity::INFORMATIONAL)),
            (12, Some(severity::INFORMATIONAL)),
            (16, Some(severity::MEDIUM)),
            (17, Some(severity::HIGH)),
            (24, Some(severity::FATAL)),
            (0, None),
            (25, None),
        ] {
            assert_eq!(severity_from_number(number), expected, "{number}");
        }
        assert_eq!(severity_number("SEVERITY_NUMBER_WARN2"), Some(14));
        assert_eq!(severity_number("SEVERITY_NUMBER_INFO"), Some(9));
        assert_eq!(severity_number("SEVERITY_NUMBER_NOPE"), None);
        let events =
            parse(r#"{"severityText":"error","body":{"stringValue":"x"}}"#).expect("valid");
        assert_eq!(events[0].severity, Some(severity::HIGH));
    }

    #[test]
    fn ids_are_normalized_to_lowercase_hex() {
        assert_eq!(normalize_id(Cow::Borrowed(""), 16), None);
        assert_eq!(
            normalize_id(Cow::Borrowed("00000000000000000000000000000000"), 16),
            None
        );
        assert!(matches!(
            normalize_id(Cow::Borrowed("eee19b7ec3c1b174"), 8),
            Some(Cow::Borrowed("eee19b7ec3c1b174"))
        ));
        // Base64, as a generic protobuf JSON encoder writes bytes.
        assert_eq!(
            normalize_id(Cow::Borrowed("W47/95gDgQPSabYzgT/GDA=="), 16).as_deref(),
            Some("5b8efff798038103d269b633813fc60c")
        );
        assert_eq!(
            normalize_id(Cow::Borrowed("not-an-id"), 8).as_deref(),
            Some("not-an-id")
        );
    }

    #[test]
    fn single_log_record_and_snake_case_names_are_accepted() {
        let events = parse(
            r#"{"time_unix_nano":1718000000000000000,"severity_number":"SEVERITY_NUMBER_ERROR","body":{"string_value":"boom"},"trace_id":"5b8efff798038103d269b633813fc60c","attributes":[{"key":"exception.type","value":{"string_value":"IOError"}}]}"#,
        )
        .expect("valid");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].time, parse_rfc3339("2024-06-10T06:13:20Z"));
        assert_eq!(events[0].severity, Some(severity::HIGH));
        assert_eq!(events[0].message.as_deref(), Some("boom"));
        assert_eq!(events[0].attr("exception.type"), Some("IOError"));
        assert_eq!(events[0].raw, None);
    }

    #[test]
    fn scope_logs_without_envelope_are_accepted() {
        let events = parse(
            r#"{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"m"}}]}]}"#,
        )
        .expect("valid");
        assert_eq!(events[0].service.as_deref(), Some("s"));
        let events =
            parse(r#"{"scope":{"name":"n"},"logRecords":[{"eventName":"device.app.lifecycle"}]}"#)
                .expect("valid");
        assert_eq!(events[0].activity.as_deref(), Some("device.app.lifecycle"));
        assert_eq!(events[0].attr("scope.name"), Some("n"));
    }

    #[test]
    fn empty_export_yields_no_events() {
        assert!(parse(r#"{"resourceLogs":[]}"#).expect("valid").is_empty());
        assert!(
            parse(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[]}]}]}"#)
                .expect("valid")
                .is_empty()
        );
    }

    #[test]
    fn malformed_records_are_errors() {
        for record in [
            r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}"#,
            r#"{"resourceLogs":{"not":"a list"}}"#,
            r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":true}]}]}]}"#,
            r#"{"something":"else"}"#,
            r#"[{"resourceLogs":[]}]"#,
            "not json",
        ] {
            assert!(parse(record).is_err(), "{record}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_shaped_input(
            time in "[0-9a-z.\"-]{0,24}",
            number in "[0-9A-Z_\"-]{0,24}",
            id in "[0-9a-fA-F=/+]{0,40}",
        ) {
            let record = format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"timeUnixNano":"{time}","severityNumber":"{number}","traceId":"{id}","spanId":"{id}"}}]}}]}}]}}"#
            );
            let _ = parse(&record);
        }
    }
}
