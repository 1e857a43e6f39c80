//! Read-only SQL over the event store: the `events` table is a DataFusion listing table over
//! `<data-dir>/events/date=YYYY-MM-DD/hour=HH/*.parquet`, with `date` and `hour` as hive
//! partition columns (a filter on them skips whole directories; a filter on `time` skips row
//! groups by their statistics).
//!
//! A query must be exactly one `SELECT` (or `WITH ... SELECT`, set operations, `VALUES`):
//! statements are parsed with DataFusion's own parser and anything else is refused before
//! planning, and the plan is built with DDL, DML and statements disabled as a second guard.
//! Each query runs in its own session with its own memory pool, under a timeout, and returns at
//! most a configured number of rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext, col, lit};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{SetExpr, Statement as SqlStatement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use serde::Serialize;

use crate::error::ApiError;

/// Name of the table queries read.
pub const EVENTS_TABLE: &str = "events";

/// Limits of one query.
#[derive(Debug, Clone, Copy)]
pub struct SqlLimits {
    /// Wall time from planning to the last row.
    pub timeout: Duration,
    /// Bytes the query's operators (aggregations, sorts, joins) may reserve.
    pub memory_bytes: usize,
    /// Rows returned; more are cut off and the answer says `truncated`.
    pub max_rows: usize,
    /// Longest accepted query text, in bytes.
    pub max_query_bytes: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            timeout: Duration::from_secs(30),
            memory_bytes: 1024 * 1024 * 1024,
            max_rows: 10_000,
            max_query_bytes: 64 * 1024,
        }
    }
}

/// Runs analysts' SQL over one data directory.
#[derive(Debug, Clone)]
pub struct SqlEngine {
    events_dir: PathBuf,
    limits: SqlLimits,
}

/// A query's result, as the JSON API returns it.
#[derive(Debug, Serialize, PartialEq)]
pub struct SqlRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows matched than the row limit allowed.
    pub truncated: bool,
}

/// A query's result as Arrow record batches.
#[derive(Debug)]
pub struct SqlBatches {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub truncated: bool,
}

impl SqlEngine {
    /// An engine over `<data_dir>/events` (created if missing, so an empty store answers with
    /// no rows instead of an error).
    pub fn new(data_dir: &Path, limits: SqlLimits) -> std::io::Result<SqlEngine> {
        let events_dir = data_dir.join("events");
        std::fs::create_dir_all(&events_dir)?;
        Ok(SqlEngine {
            events_dir: events_dir.canonicalize()?,
            limits,
        })
    }

    pub fn limits(&self) -> SqlLimits {
        self.limits
    }

    /// Runs `query` and returns its rows as Arrow batches (at most `max_rows` rows).
    pub async fn query_batches(&self, query: &str) -> Result<SqlBatches, ApiError> {
        self.query_batches_in(query, None).await
    }

    /// Runs `query` with the `events` table holding only the events with
    /// `from <= time < to` (UTC microseconds): a scheduled detection job's window, which its
    /// SQL does not have to spell out. Row groups outside the window are skipped by their
    /// statistics.
    pub async fn query_batches_between(
        &self,
        query: &str,
        from: i64,
        to: i64,
    ) -> Result<SqlBatches, ApiError> {
        self.query_batches_in(query, Some((from, to))).await
    }

    async fn query_batches_in(
        &self,
        query: &str,
        range: Option<(i64, i64)>,
    ) -> Result<SqlBatches, ApiError> {
        if query.len() > self.limits.max_query_bytes {
            return Err(ApiError::BadRequest(format!(
                "the query is longer than {} bytes",
                self.limits.max_query_bytes
            )));
        }
        check_read_only(query)?;
        let limit = self.limits.timeout;
        match tokio::time::timeout(limit, self.run(query, range)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::Timeout { limit }),
        }
    }

    /// Runs `query` and returns its rows as JSON values.
    pub async fn query_rows(&self, query: &str) -> Result<SqlRows, ApiError> {
        let result = self.query_batches(query).await?;
        to_rows(&result)
    }

    fn context(&self) -> Result<SessionContext, DataFusionError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.limits.memory_bytes, 1.0)
            .build_arc()?;
        let config = SessionConfig::new()
            .with_target_partitions(
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1),
            )
            .with_information_schema(false);
        let context = SessionContext::new_with_config_rt(config, runtime);
        for function in SIZED_BY_ARGUMENT {
            context.deregister_udf(function);
        }
        // Segments being written are named `.tmp-*.parquet`; the pattern skips them.
        let location = format!("{}/[!.]*.parquet", self.events_dir.display());
        let table_url = ListingTableUrl::parse(location)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![
                ("date".to_string(), DataType::Utf8),
                ("hour".to_string(), DataType::Utf8),
            ]);
        let config = ListingTableConfig::new(table_url)
            .with_listing_options(options)
            .with_schema(weft_ingest::schema::schema());
        let table = ListingTable::try_new(config)?;
        context.register_table(EVENTS_TABLE, Arc::new(table))?;
        Ok(context)
    }

    /// The session; with `range`, `events` is a view of the stored events in it.
    async fn context_in(
        &self,
        range: Option<(i64, i64)>,
    ) -> Result<SessionContext, DataFusionError> {
        let context = self.context()?;
        let Some((from, to)) = range else {
            return Ok(context);
        };
        let time = |micros: i64| {
            lit(ScalarValue::TimestampMicrosecond(
                Some(micros),
                Some(Arc::from("UTC")),
            ))
        };
        let window = context
            .table(EVENTS_TABLE)
            .await?
            .filter(col("time").gt_eq(time(from)).and(col("time").lt(time(to))))?
            .into_view();
        context.deregister_table(EVENTS_TABLE)?;
        context.register_table(EVENTS_TABLE, window)?;
        Ok(context)
    }

    async fn run(&self, query: &str, range: Option<(i64, i64)>) -> Result<SqlBatches, ApiError> {
        let context = self
            .context_in(range)
            .await
            .map_err(|error| internal(&error))?;
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = context
            .sql_with_options(query, options)
            .await
            .map_err(|error| classify(&error))?;
        let frame = frame
            .limit(0, Some(self.limits.max_rows.saturating_add(1)))
            .map_err(|error| classify(&error))?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let mut batches = frame.collect().await.map_err(|error| classify(&error))?;
        let mut total = 0usize;
        let mut truncated = false;
        for batch in &mut batches {
            let room = self.limits.max_rows - total;
            if batch.num_rows() > room {
                *batch = batch.slice(0, room);
                truncated = true;
            }
            total += batch.num_rows();
        }
        batches.retain(|batch| batch.num_rows() > 0);
        Ok(SqlBatches {
            schema,
            batches,
            truncated,
        })
    }
}

/// Functions whose result is as large as one of their arguments says (`repeat('x',
/// 2147483647)` asks for 2 GiB in one call). Such a value is allocated outside the query's
/// memory pool, so the memory limit cannot stop it: they are not available to API and job
/// queries, which then fail as a call of an unknown function.
pub const SIZED_BY_ARGUMENT: [&str; 7] = [
    "repeat",
    "lpad",
    "rpad",
    "array_repeat",
    "array_resize",
    "range",
    "generate_series",
];

/// Refuses anything but a single read-only query.
pub fn check_read_only(query: &str) -> Result<(), ApiError> {
    let statements = DFParser::parse_sql_with_dialect(query, &GenericDialect {})
        .map_err(|error| ApiError::BadRequest(format!("invalid SQL: {}", message(&error))))?;
    if statements.len() != 1 {
        return Err(ApiError::BadRequest(format!(
            "send exactly one SELECT statement; this request has {}",
            statements.len()
        )));
    }
    let refuse = |what: &str| {
        Err(ApiError::BadRequest(format!(
            "only SELECT queries are allowed; {what} is refused"
        )))
    };
    match statements.front() {
        Some(DfStatement::Statement(statement)) => match statement.as_ref() {
            SqlStatement::Query(query) => {
                if select_into(&query.body) {
                    return refuse("SELECT INTO");
                }
                Ok(())
            }
            other => refuse(&statement_kind(other)),
        },
        Some(DfStatement::CopyTo(_)) => refuse("COPY"),
        Some(DfStatement::CreateExternalTable(_)) => refuse("CREATE EXTERNAL TABLE"),
        Some(DfStatement::Explain(_)) => refuse("EXPLAIN"),
        Some(DfStatement::Reset(_)) => refuse("RESET"),
        None => refuse("an empty request"),
    }
}

fn select_into(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.into.is_some(),
        SetExpr::Query(query) => select_into(&query.body),
        SetExpr::SetOperation { left, right, .. } => select_into(left) || select_into(right),
        _ => false,
    }
}

/// The leading keyword of a statement, for the refusal message.
fn statement_kind(statement: &SqlStatement) -> String {
    let text = statement.to_string();
    let keyword: String = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(16)
        .collect::<String>()
        .to_ascii_uppercase();
    if keyword.is_empty() {
        "this statement".to_string()
    } else {
        keyword
    }
}

/// A DataFusion error's message without backtraces or nested wrappers.
fn message(error: &DataFusionError) -> String {
    let root = error.find_root();
    let text = root.strip_backtrace();
    // Keep answers short: a query error message is a sentence, not a dump.
    text.chars().take(500).collect()
}

fn internal(error: &DataFusionError) -> ApiError {
    tracing::error!(error = %error.strip_backtrace(), "sql query failed inside weft");
    ApiError::Internal
}

/// Maps a DataFusion error to the API's closed set: the caller's mistakes are 400 with the
/// planner's message, resource limits are 422, everything else is internal and logged.
fn classify(error: &DataFusionError) -> ApiError {
    match error.find_root() {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_) => {
            ApiError::BadRequest(format!("invalid query: {}", message(error)))
        }
        DataFusionError::ResourcesExhausted(_) => ApiError::QueryTooExpensive(
            "the query needs more memory than its limit; filter by time or aggregate".to_string(),
        ),
        _ => internal(error),
    }
}

/// Converts batches to JSON rows: numbers and booleans as JSON numbers and booleans, nulls as
/// null, timestamps as RFC 3339, everything else as its Arrow display text.
pub fn to_rows(result: &SqlBatches) -> Result<SqlRows, ApiError> {
    let columns = result
        .schema
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    let mut rows = Vec::new();
    for batch in &result.batches {
        let mut converted = Vec::with_capacity(batch.num_columns());
        for column in batch.columns() {
            converted.push(column_values(column).map_err(|error| {
                tracing::error!(%error, "converting a query result to JSON");
                ApiError::Internal
            })?);
        }
        for row in 0..batch.num_rows() {
            rows.push(
                converted
                    .iter()
                    .map(|values| values.get(row).cloned().unwrap_or_default())
                    .collect(),
            );
        }
    }
    Ok(SqlRows {
        columns,
        rows,
        truncated: result.truncated,
    })
}

fn column_values(
    column: &ArrayRef,
) -> Result<Vec<serde_json::Value>, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes as types;
    use serde_json::Value;

    let column = match column.data_type() {
        DataType::Dictionary(_, value_type) => cast(column, value_type)?,
        _ => column.clone(),
    };
    let len = column.len();
    let number = |value: Option<serde_json::Number>| value.map_or(Value::Null, Value::Number);
    let values: Vec<Value> = match column.data_type() {
        DataType::Null => vec![Value::Null; len],
        DataType::Boolean => {
            let array = column.as_boolean();
            array
                .iter()
                .map(|value| value.map_or(Value::Null, Value::Bool))
                .collect()
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let array = cast(&column, &DataType::Int64)?;
            let array = array.as_primitive::<types::Int64Type>();
            array
                .iter()
                .map(|value| value.map_or(Value::Null, Value::from))
                .collect()
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let array = cast(&column, &DataType::UInt64)?;
            let array = array.as_primitive::<types::UInt64Type>();
            array
                .iter()
                .map(|value| value.map_or(Value::Null, Value::from))
                .collect()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let array = cast(&column, &DataType::Float64)?;
            let array = array.as_primitive::<types::Float64Type>();
            array
                .iter()
                .map(|value| {
                    value.map_or(Value::Null, |value| {
                        number(serde_json::Number::from_f64(value))
                    })
                })
                .collect()
        }
        _ => {
            let options = FormatOptions::default()
                .with_timestamp_tz_format(Some("%Y-%m-%dT%H:%M:%S%.6fZ"))
                .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S%.6f"));
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            (0..len)
                .map(|row| {
                    if column.is_null(row) {
                        Value::Null
                    } else {
                        Value::String(formatter.value(row).to_string())
                    }
                })
                .collect()
        }
    };
    Ok(values)
}

/// Encodes batches as an Arrow IPC stream (`application/vnd.apache.arrow.stream`).
pub fn to_arrow_ipc(result: &SqlBatches) -> Result<Vec<u8>, ApiError> {
    let encode = || -> Result<Vec<u8>, datafusion::arrow::error::ArrowError> {
        let mut buffer = Vec::new();
        {
            let mut writer = StreamWriter::try_new(&mut buffer, &result.schema)?;
            for batch in &result.batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        Ok(buffer)
    };
    encode().map_err(|error| {
        tracing::error!(%error, "encoding a query result as arrow ipc");
        ApiError::Internal
    })
}
