//! The stored events of a time range, read by a DataFusion scan of the store's Parquet
//! segments: the range is pushed into the Parquet reader (row groups and pages whose time
//! statistics fall outside it are skipped, the rest filtered row by row), and segments are
//! decoded in parallel on a runtime of their own while the caller consumes the batches.
//!
//! The caller gets batches as they are decoded, in no particular order: the backtest orders
//! what it derives from them (signals) by event time itself, which is far smaller than
//! sorting the events.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use arrow_array::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{Expr, SessionConfig, SessionContext, col, lit};
use futures::StreamExt;

use super::backtest::TimeRange;
use weft_ingest::schema;

/// Batches decoded ahead of the consumer.
const READ_AHEAD: usize = 4;

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot scan the stored events: {0}")]
    Scan(String),
    #[error("segment path {} cannot be read as a file URL", .0.display())]
    Path(PathBuf),
    #[error("cannot read segment {}: {reason}", path.display())]
    Segment { path: PathBuf, reason: String },
}

/// Scans the Parquet `segments` for the events in `range`, handing each batch to `each` on the
/// calling thread; stops at the first error of either side.
pub fn scan_events<E>(
    segments: &[PathBuf],
    range: TimeRange,
    mut each: impl FnMut(RecordBatch) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<ScanError>,
{
    if segments.is_empty() {
        return Ok(());
    }
    let urls = segments
        .iter()
        .map(|path| segment_url(path))
        .collect::<Result<Vec<_>, _>>()?;
    let (sender, receiver) = sync_channel::<Result<RecordBatch, ScanError>>(READ_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let outcome = runtime().and_then(|runtime| {
                runtime.block_on(async {
                    let mut stream = stream(urls, range).await?;
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(|error| scan_error(&error));
                        let failed = batch.is_err();
                        // The consumer hung up (it failed): nothing more to read.
                        if sender.send(batch).is_err() || failed {
                            break;
                        }
                    }
                    Ok(())
                })
            });
            if let Err(error) = outcome {
                let _ = sender.send(Err(error));
            }
        });
        for batch in receiver {
            match batch {
                Ok(batch) => each(batch)?,
                Err(error) => return Err(E::from(name_the_segment(segments, error))),
            }
        }
        Ok(())
    })
}

/// DataFusion's errors do not say which file failed: the segment whose Parquet footer cannot
/// be read is named, when there is one.
fn name_the_segment(segments: &[PathBuf], error: ScanError) -> ScanError {
    let damaged = segments.iter().find_map(|path| {
        let file = std::fs::File::open(path);
        let footer = file.map_err(|error| error.to_string()).and_then(|file| {
            parquet::file::metadata::ParquetMetaDataReader::new()
                .parse_and_finish(&file)
                .map_err(|error| error.to_string())
        });
        footer.err().map(|reason| (path.clone(), reason))
    });
    match damaged {
        Some((path, reason)) => ScanError::Segment { path, reason },
        None => error,
    }
}

fn segment_url(path: &Path) -> Result<ListingTableUrl, ScanError> {
    let absolute = std::path::absolute(path).map_err(|_| ScanError::Path(path.to_path_buf()))?;
    let url =
        url::Url::from_file_path(&absolute).map_err(|()| ScanError::Path(path.to_path_buf()))?;
    ListingTableUrl::try_new(url, None).map_err(|error| scan_error(&error))
}

fn runtime() -> Result<tokio::runtime::Runtime, ScanError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("weft-backtest-scan")
        .build()
        .map_err(|error| ScanError::Scan(error.to_string()))
}

async fn stream(
    urls: Vec<ListingTableUrl>,
    range: TimeRange,
) -> Result<datafusion::execution::SendableRecordBatchStream, ScanError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let context = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(threads)
            .with_information_schema(false),
    );
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema::schema());
    let table = ListingTable::try_new(config).map_err(|error| scan_error(&error))?;
    let mut frame = context
        .read_table(Arc::new(table))
        .map_err(|error| scan_error(&error))?;
    if let Some(filter) = time_filter(range) {
        frame = frame.filter(filter).map_err(|error| scan_error(&error))?;
    }
    frame
        .execute_stream()
        .await
        .map_err(|error| scan_error(&error))
}

/// `from <= time AND time <= to`, the bounds that are set.
fn time_filter(range: TimeRange) -> Option<Expr> {
    let time = |micros: i64| {
        lit(ScalarValue::TimestampMicrosecond(
            Some(micros),
            Some(Arc::from("UTC")),
        ))
    };
    let from = range.from.map(|from| col(schema::TIME).gt_eq(time(from)));
    let to = range.to.map(|to| col(schema::TIME).lt_eq(time(to)));
    match (from, to) {
        (Some(from), Some(to)) => Some(from.and(to)),
        (from, to) => from.or(to),
    }
}

fn scan_error(error: &DataFusionError) -> ScanError {
    ScanError::Scan(error.to_string())
}
