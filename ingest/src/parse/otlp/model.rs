//! The OTLP/JSON messages of a log export (opentelemetry-proto `logs/v1/logs.proto`,
//! `common/v1/common.proto`, `resource/v1/resource.proto`), borrowing from the record, and the
//! flattening of their `AnyValue`s into dotted attributes.
//!
//! Keys are lowerCamelCase as OTLP/JSON requires; the proto's snake_case names (and the
//! pre-1.0 `instrumentationLibrary*` names) are accepted as aliases. Unknown keys are ignored,
//! as OTLP/JSON receivers must.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::parse::flatten::Fields;

/// A JSON number or a string holding one (OTLP/JSON 64-bit integers), kept as text.
#[derive(Debug, Clone)]
pub(super) struct NumberText<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for NumberText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for NumberVisitor<'a> {
            type Value = NumberText<'a>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a number or a string holding one")
            }
            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(NumberText(Cow::Borrowed(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
                Ok(NumberText(Cow::Owned(value.to_string())))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
                Ok(NumberText(Cow::Owned(value.to_string())))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
                Ok(NumberText(Cow::Owned(value.to_string())))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
                Ok(NumberText(Cow::Owned(value.to_string())))
            }
        }
        deserializer.deserialize_any(NumberVisitor(std::marker::PhantomData))
    }
}

/// A record as first read: which of the OTLP shapes it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Envelope<'a> {
    #[serde(borrow, alias = "resource_logs")]
    pub(super) resource_logs: Option<Vec<ResourceLogs<'a>>>,
    #[serde(
        borrow,
        alias = "scope_logs",
        alias = "instrumentationLibraryLogs",
        alias = "instrumentation_library_logs"
    )]
    pub(super) scope_logs: Option<Vec<ScopeLogs<'a>>>,
    #[serde(borrow)]
    pub(super) resource: Option<Resource<'a>>,
    #[serde(borrow, alias = "schema_url")]
    pub(super) schema_url: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "log_records")]
    pub(super) log_records: Option<Vec<&'a RawValue>>,
    #[serde(
        borrow,
        alias = "instrumentationLibrary",
        alias = "instrumentation_library"
    )]
    pub(super) scope: Option<Scope<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResourceLogs<'a> {
    #[serde(borrow)]
    pub(super) resource: Option<Resource<'a>>,
    #[serde(
        borrow,
        alias = "scope_logs",
        alias = "instrumentationLibraryLogs",
        alias = "instrumentation_library_logs"
    )]
    pub(super) scope_logs: Option<Vec<ScopeLogs<'a>>>,
    #[serde(borrow, alias = "schema_url")]
    pub(super) schema_url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Resource<'a> {
    #[serde(borrow)]
    pub(super) attributes: Option<Vec<KeyValue<'a>>>,
    #[serde(borrow, alias = "dropped_attributes_count")]
    pub(super) dropped_attributes_count: Option<NumberText<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ScopeLogs<'a> {
    #[serde(
        borrow,
        alias = "instrumentationLibrary",
        alias = "instrumentation_library"
    )]
    pub(super) scope: Option<Scope<'a>>,
    #[serde(borrow, alias = "log_records")]
    pub(super) log_records: Option<Vec<&'a RawValue>>,
    #[serde(borrow, alias = "schema_url")]
    pub(super) schema_url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Scope<'a> {
    #[serde(borrow)]
    pub(super) name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) attributes: Option<Vec<KeyValue<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct KeyValue<'a> {
    #[serde(borrow)]
    pub(super) key: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) value: Option<AnyValue<'a>>,
}

/// `AnyValue`: exactly one of its fields is set; none set means an empty value.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnyValue<'a> {
    #[serde(borrow, alias = "string_value")]
    pub(super) string_value: Option<Cow<'a, str>>,
    #[serde(alias = "bool_value")]
    pub(super) bool_value: Option<bool>,
    #[serde(borrow, alias = "int_value")]
    pub(super) int_value: Option<NumberText<'a>>,
    #[serde(borrow, alias = "double_value")]
    pub(super) double_value: Option<NumberText<'a>>,
    #[serde(borrow, alias = "bytes_value")]
    pub(super) bytes_value: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "array_value")]
    pub(super) array_value: Option<ValueList<AnyValue<'a>>>,
    #[serde(borrow, alias = "kvlist_value")]
    pub(super) kvlist_value: Option<ValueList<KeyValue<'a>>>,
}

/// `ArrayValue` and `KeyValueList`: a `values` list.
#[derive(Deserialize)]
pub(super) struct ValueList<T> {
    pub(super) values: Option<Vec<T>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogRecord<'a> {
    #[serde(borrow, alias = "time_unix_nano")]
    pub(super) time_unix_nano: Option<NumberText<'a>>,
    #[serde(borrow, alias = "observed_time_unix_nano")]
    pub(super) observed_time_unix_nano: Option<NumberText<'a>>,
    #[serde(borrow, alias = "severity_number")]
    pub(super) severity_number: Option<NumberText<'a>>,
    #[serde(borrow, alias = "severity_text")]
    pub(super) severity_text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) body: Option<AnyValue<'a>>,
    #[serde(borrow)]
    pub(super) attributes: Option<Vec<KeyValue<'a>>>,
    #[serde(borrow, alias = "dropped_attributes_count")]
    pub(super) dropped_attributes_count: Option<NumberText<'a>>,
    #[serde(borrow)]
    pub(super) flags: Option<NumberText<'a>>,
    #[serde(borrow, alias = "trace_id")]
    pub(super) trace_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "span_id")]
    pub(super) span_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "event_name")]
    pub(super) event_name: Option<Cow<'a, str>>,
}

impl LogRecord<'_> {
    pub(super) fn is_empty(&self) -> bool {
        self.time_unix_nano.is_none()
            && self.observed_time_unix_nano.is_none()
            && self.severity_number.is_none()
            && self.severity_text.is_none()
            && self.body.is_none()
            && self.attributes.is_none()
            && self.trace_id.is_none()
            && self.span_id.is_none()
            && self.event_name.is_none()
    }
}

pub(super) fn joined<'a>(prefix: &str, key: &str) -> Cow<'a, str> {
    Cow::Owned(format!("{prefix}.{key}"))
}

/// Flattens one `AnyValue` into `out` under `key`.
pub(super) fn push_value<'a>(key: Cow<'a, str>, value: AnyValue<'a>, out: &mut Fields<'a>) {
    if let Some(text) = value.string_value {
        out.push((key, text));
    } else if let Some(flag) = value.bool_value {
        out.push((key, Cow::Borrowed(if flag { "true" } else { "false" })));
    } else if let Some(NumberText(number)) = value.int_value.or(value.double_value) {
        out.push((key, number));
    } else if let Some(bytes) = value.bytes_value {
        out.push((key, bytes));
    } else if let Some(array) = value.array_value {
        let values = array.values.unwrap_or_default();
        if values.is_empty() {
            out.push((key, Cow::Borrowed("[]")));
            return;
        }
        for (index, element) in values.into_iter().enumerate() {
            push_value(joined(&key, &index.to_string()), element, out);
        }
    } else if let Some(list) = value.kvlist_value {
        let values = list.values.unwrap_or_default();
        if values.is_empty() {
            out.push((key, Cow::Borrowed("{}")));
            return;
        }
        for pair in values {
            if let Some(value) = pair.value {
                push_value(joined(&key, &pair.key), value, out);
            }
        }
    }
}

pub(super) fn push_attributes<'a>(
    prefix: Option<&str>,
    attributes: Option<Vec<KeyValue<'a>>>,
    out: &mut Fields<'a>,
) {
    for pair in attributes.unwrap_or_default() {
        let Some(value) = pair.value else {
            continue;
        };
        let key = match prefix {
            Some(prefix) => joined(prefix, &pair.key),
            None => pair.key,
        };
        push_value(key, value, out);
    }
}
