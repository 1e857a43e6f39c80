//! The normalized event schema, version 1.
//!
//! Every parser fills the same flat, OCSF-aligned columns. Column names are constants here so
//! that no other module spells them; `docs/schema.md` documents each column and which formats
//! fill it. Low-cardinality strings are dictionary-encoded (`Dictionary<Int32, Utf8>`).

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Version of the schema, stored in every Parquet file's metadata under [`SCHEMA_VERSION_KEY`].
pub const SCHEMA_VERSION: &str = "1";
/// Key of the schema version in the Arrow schema metadata.
pub const SCHEMA_VERSION_KEY: &str = "weft.schema_version";

pub const TIME: &str = "time";
pub const INGEST_TIME: &str = "ingest_time";
pub const EVENT_ID: &str = "event_id";
pub const SERVICE: &str = "service";
pub const HOST: &str = "host";
pub const FORMAT: &str = "format";
pub const CLASS: &str = "class";
pub const ACTIVITY: &str = "activity";
pub const OUTCOME: &str = "outcome";
pub const SEVERITY: &str = "severity";
pub const USER: &str = "user";
pub const SRC_IP: &str = "src_ip";
pub const SRC_PORT: &str = "src_port";
pub const DST_IP: &str = "dst_ip";
pub const DST_PORT: &str = "dst_port";
pub const HTTP_METHOD: &str = "http_method";
pub const URL: &str = "url";
pub const HTTP_STATUS: &str = "http_status";
pub const USER_AGENT: &str = "user_agent";
pub const PROCESS: &str = "process";
pub const COMMAND_LINE: &str = "command_line";
pub const RESOURCE: &str = "resource";
pub const TRACE_ID: &str = "trace_id";
pub const SPAN_ID: &str = "span_id";
pub const REQUEST_ID: &str = "request_id";
pub const SESSION_ID: &str = "session_id";
pub const MESSAGE: &str = "message";
pub const RAW: &str = "raw";
pub const ATTRS: &str = "attrs";
pub const FLAGS: &str = "flags";

/// Every column that holds one value per event (all but `attrs` and `flags`), in schema order.
pub const SCALAR_COLUMNS: [&str; 28] = [
    TIME,
    INGEST_TIME,
    EVENT_ID,
    SERVICE,
    HOST,
    FORMAT,
    CLASS,
    ACTIVITY,
    OUTCOME,
    SEVERITY,
    USER,
    SRC_IP,
    SRC_PORT,
    DST_IP,
    DST_PORT,
    HTTP_METHOD,
    URL,
    HTTP_STATUS,
    USER_AGENT,
    PROCESS,
    COMMAND_LINE,
    RESOURCE,
    TRACE_ID,
    SPAN_ID,
    REQUEST_ID,
    SESSION_ID,
    MESSAGE,
    RAW,
];

/// Type of `time` and `ingest_time`: UTC microseconds.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Type of the dictionary-encoded low-cardinality string columns.
pub fn dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Type of `attrs`: a map from dotted original field names to their values as text.
pub fn attrs_type() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// Type of `flags`: a list of flag names (see [`crate::event::Flag`]).
pub fn flags_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    let dict = |name: &str, nullable: bool| Field::new(name, dictionary_type(), nullable);
    let int32 = |name: &str| Field::new(name, DataType::Int32, true);
    let fields = vec![
        Field::new(TIME, timestamp_type(), false),
        Field::new(INGEST_TIME, timestamp_type(), true),
        Field::new(EVENT_ID, DataType::Utf8, false),
        dict(SERVICE, false),
        dict(HOST, true),
        dict(FORMAT, false),
        dict(CLASS, false),
        dict(ACTIVITY, true),
        dict(OUTCOME, true),
        int32(SEVERITY),
        utf8(USER),
        utf8(SRC_IP),
        int32(SRC_PORT),
        utf8(DST_IP),
        int32(DST_PORT),
        dict(HTTP_METHOD, true),
        utf8(URL),
        int32(HTTP_STATUS),
        utf8(USER_AGENT),
        utf8(PROCESS),
        utf8(COMMAND_LINE),
        utf8(RESOURCE),
        utf8(TRACE_ID),
        utf8(SPAN_ID),
        utf8(REQUEST_ID),
        utf8(SESSION_ID),
        utf8(MESSAGE),
        Field::new(RAW, DataType::Utf8, false),
        Field::new(ATTRS, attrs_type(), true),
        Field::new(FLAGS, flags_type(), true),
    ];
    let metadata = [(SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string())].into();
    Arc::new(Schema::new_with_metadata(fields, metadata))
});

/// The Arrow schema v1 of normalized events.
pub fn schema() -> SchemaRef {
    SCHEMA.clone()
}

/// The schema document (`docs/schema.md`), compiled in so that `weft schema` prints it.
pub const SCHEMA_DOC: &str = include_str!("../../docs/schema.md");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_columns_are_the_schema_but_attrs_and_flags() {
        let names: Vec<String> = schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .filter(|name| name != ATTRS && name != FLAGS)
            .collect();
        assert_eq!(names, SCALAR_COLUMNS);
    }

    #[test]
    fn only_identity_columns_are_required() {
        let schema = schema();
        let required: Vec<&str> = schema
            .fields()
            .iter()
            .filter(|field| !field.is_nullable())
            .map(|field| field.name().as_str())
            .collect();
        assert_eq!(
            required,
            [TIME, EVENT_ID, SERVICE, FORMAT, CLASS, RAW],
            "DESIGN.md: every column but time, service, format, class, raw and event_id is nullable"
        );
    }

    #[test]
    fn schema_document_lists_every_column() {
        for field in schema().fields() {
            let row = format!("| `{}` |", field.name());
            assert!(
                SCHEMA_DOC.contains(&row),
                "docs/schema.md has no row for column `{}`",
                field.name()
            );
        }
    }

    #[test]
    fn schema_document_lists_the_default_aliases() {
        for (column, fields) in crate::parse::alias::DEFAULT_ALIASES {
            let listed: Vec<String> = fields.iter().map(|field| format!("`{field}`")).collect();
            let row = format!("| `{}` | {}", column.name(), listed.join(", "));
            assert!(
                SCHEMA_DOC.lines().any(|line| line.starts_with(&row)),
                "docs/schema.md has no alias row starting with:\n{row}"
            );
        }
    }

    #[test]
    fn schema_document_says_what_each_format_fills() {
        for spec in crate::parse::FORMATS {
            let row = format!("| `{}` |", spec.name);
            assert!(
                SCHEMA_DOC.contains(&row),
                "docs/schema.md has no row for format `{}` in \"What each format fills\"",
                spec.name
            );
        }
    }
}
