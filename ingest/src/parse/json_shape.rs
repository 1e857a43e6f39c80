//! Which JSON format a record is, from its flattened field names.
//!
//! `--format auto` flattens a JSON record once and decides from its keys which parser maps it,
//! so no record is scanned twice. A key that only one format writes marks it; when a record has
//! marks of several, the most specific wins (the order of [`Shape`]'s checks below). Records
//! holding several events (a CloudTrail `Records` file, a Kubernetes `EventList`, an OTLP
//! batch) are [`Shape::Batch`]: their parser reads the record itself.

use std::borrow::Cow;

/// What a flattened JSON record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One event of the named format, mapped from the flattened fields.
    Single(&'static str),
    /// Several events; the named format's parser reads the record.
    Batch(&'static str),
    /// No known format's mark: generic JSON.
    Generic,
}

/// The mark a field name (and, for a few, its value) makes, with its precedence (lower wins).
/// Runs for every field of every JSON record: exact names first, then the first and the last
/// segment of a dotted name, without any substring search.
fn mark(key: &str, value: &str) -> Option<(u8, Shape)> {
    let exact = match key {
        "kind" if value == "EventList" => Some((0, Shape::Batch("k8s_audit"))),
        "auditID" => Some((1, Shape::Single("k8s_audit"))),
        "apiVersion" if value.starts_with("audit.k8s.io/") => Some((1, Shape::Single("k8s_audit"))),
        "Records" => Some((2, Shape::Batch("cloudtrail"))),
        "eventSource" => Some((3, Shape::Single("cloudtrail"))),
        "EventID" => Some((4, Shape::Single("windows"))),
        "resourceLogs" | "scopeLogs" | "logRecords" => Some((5, Shape::Batch("otlp"))),
        "upstream_cluster" | "upstream_host" | "downstream_remote_address" => {
            Some((6, Shape::Single("envoy")))
        }
        "_path" | "id.orig_h" => Some((7, Shape::Single("zeek"))),
        _ => None,
    };
    if exact.is_some() {
        return exact;
    }
    // The first segment of a dotted name.
    const BY_FIRST: [(&str, (u8, Shape)); 5] = [
        ("Records", (2, Shape::Batch("cloudtrail"))),
        ("winlog", (4, Shape::Single("windows"))),
        ("resourceLogs", (5, Shape::Batch("otlp"))),
        ("scopeLogs", (5, Shape::Batch("otlp"))),
        ("logRecords", (5, Shape::Batch("otlp"))),
    ];
    for (first, mark) in BY_FIRST {
        if key.as_bytes().get(first.len()) == Some(&b'.') && key.starts_with(first) {
            return Some(mark);
        }
    }
    // The last segment: EventBridge wraps CloudTrail records in `detail`; Windows has
    // `Event.System.EventID`, or `Event.System.EventID.#text` with attributes.
    if key.ends_with(".eventSource") {
        Some((3, Shape::Single("cloudtrail")))
    } else if key.ends_with(".EventID") || key.ends_with(".EventID.#text") {
        Some((4, Shape::Single("windows")))
    } else {
        None
    }
}

/// The shape of a record from its flattened fields.
pub fn shape(fields: &[(Cow<'_, str>, Cow<'_, str>)]) -> Shape {
    let mut best: Option<(u8, Shape)> = None;
    for (key, value) in fields {
        if let Some((rank, shape)) = mark(key, value)
            && best.is_none_or(|(best_rank, _)| rank < best_rank)
        {
            best = Some((rank, shape));
            if rank == 0 {
                break;
            }
        }
    }
    best.map_or(Shape::Generic, |(_, shape)| shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::flatten::flatten;

    fn shape_of(json: &str) -> Shape {
        shape(&flatten(json).expect("valid json"))
    }

    #[test]
    fn known_formats_by_their_keys() {
        let cases = [
            (
                r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x"}"#,
                Shape::Single("k8s_audit"),
            ),
            (
                r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"x"}]}"#,
                Shape::Batch("k8s_audit"),
            ),
            (
                r#"{"eventVersion":"1.08","eventSource":"iam.amazonaws.com"}"#,
                Shape::Single("cloudtrail"),
            ),
            (
                r#"{"detail":{"eventSource":"s3.amazonaws.com"}}"#,
                Shape::Single("cloudtrail"),
            ),
            (
                r#"{"Records":[{"eventSource":"s3.amazonaws.com"}]}"#,
                Shape::Batch("cloudtrail"),
            ),
            (
                r#"{"Event":{"System":{"EventID":4624}}}"#,
                Shape::Single("windows"),
            ),
            (
                r##"{"Event":{"System":{"EventID":{"#text":"4624"}}}}"##,
                Shape::Single("windows"),
            ),
            (
                r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}"#,
                Shape::Single("windows"),
            ),
            (
                r#"{"@timestamp":"2024-05-01T00:00:00Z","winlog":{"event_id":"4624"}}"#,
                Shape::Single("windows"),
            ),
            (
                r#"{"resourceLogs":[{"scopeLogs":[]}]}"#,
                Shape::Batch("otlp"),
            ),
            (
                r#"{"upstream_cluster":"svc","response_code":200}"#,
                Shape::Single("envoy"),
            ),
            (
                r#"{"_path":"conn","id.orig_h":"10.0.0.1"}"#,
                Shape::Single("zeek"),
            ),
            (
                r#"{"id":{"orig_h":"10.0.0.1"},"ts":1.5}"#,
                Shape::Single("zeek"),
            ),
            (
                r#"{"level":"info","msg":"hi","EventIDs":"not a mark"}"#,
                Shape::Generic,
            ),
            (
                r#"{"msg":"the text \"EventID\" in a value is no mark"}"#,
                Shape::Generic,
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(shape_of(json), expected, "{json}");
        }
    }
}
