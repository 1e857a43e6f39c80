//! SQL rules of scheduled detection jobs, answered by DataFusion over the Parquet store: the
//! rule's statement runs with `events` restricted to the run's window (the rule never spells
//! out time bounds), under the same read-only checks and limits as analysts' SQL.

use std::collections::BTreeMap;
use std::path::Path;

use weft_correlate::correlation::backtest::TimeRange;
use weft_correlate::service::{SqlAnswer, SqlBackend};

use crate::sql::{SqlEngine, SqlLimits, to_rows};

/// The SQL engine of the detection side, with its own small runtime (jobs run on the
/// detection thread, not on the API's).
#[derive(Debug)]
pub struct SqlJobs {
    engine: SqlEngine,
    runtime: tokio::runtime::Runtime,
}

impl SqlJobs {
    pub fn new(data_dir: &Path, limits: SqlLimits) -> std::io::Result<SqlJobs> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        Ok(SqlJobs {
            engine: SqlEngine::new(data_dir, limits)?,
            runtime,
        })
    }
}

/// A JSON cell as the text a rule's alert carries: strings as they are, numbers and booleans
/// printed, null absent.
fn cell_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

impl SqlBackend for SqlJobs {
    fn query(&mut self, sql: &str, range: TimeRange) -> Result<SqlAnswer, String> {
        let from = range.from.unwrap_or(i64::MIN);
        let to = range.to.map_or(i64::MAX, |to| to.saturating_add(1));
        let engine = &self.engine;
        let (rows, scanned) = self
            .runtime
            .block_on(async {
                let rows = engine.query_batches_between(sql, from, to).await?;
                let scanned = engine
                    .query_batches_between("SELECT count(*) FROM events", from, to)
                    .await?;
                Ok::<_, crate::ApiError>((to_rows(&rows)?, to_rows(&scanned)?))
            })
            .map_err(|error| error.to_string())?;
        let events_scanned = scanned
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let rows = rows
            .rows
            .iter()
            .map(|row| {
                rows.columns
                    .iter()
                    .zip(row)
                    .filter_map(|(column, value)| Some((column.clone(), cell_text(value)?)))
                    .collect::<BTreeMap<String, String>>()
            })
            .collect();
        Ok(SqlAnswer {
            rows,
            events_scanned,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_plain_text() {
        assert_eq!(cell_text(&serde_json::json!("alice")), Some("alice".into()));
        assert_eq!(cell_text(&serde_json::json!(42)), Some("42".into()));
        assert_eq!(cell_text(&serde_json::json!(null)), None);
    }
}
