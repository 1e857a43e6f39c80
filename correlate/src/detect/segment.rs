//! Reading a published segment's rows back as Arrow batches.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

/// The batches of the Parquet segment at `path`; the error says what failed.
pub fn segment_batches(path: &Path) -> Result<ParquetRecordBatchReader, String> {
    let file = File::open(path).map_err(|error| error.to_string())?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(|error| error.to_string())
}
