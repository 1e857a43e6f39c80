//! Dead letters: records that could not be stored, kept with the reason, their origin and their
//! raw bytes.
//!
//! In embedded mode (files, stdin) the dead-letter output is a directory:
//! `<data-dir>/deadletter/<run>.ndjson`, one JSON object per record:
//!
//! ```json
//! {"received":"2026-11-23T08:00:00.000000Z","reason":"not json: ...","origin":"file:/var/log/app.log",
//!  "offset":1234,"line":17,"size":52,"raw_base64":"...","raw_preview":"{\"truncated\": ..."}
//! ```
//!
//! `raw_base64` holds the record's bytes exactly (up to the framer's hard cap);
//! `raw_preview` is a lossy, shortened text for reading. The file is fsynced on
//! [`DeadLetterWriter::flush`].

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use crate::store::StoreError;

/// Characters of a record kept readable in `raw_preview`.
const PREVIEW_CHARS: usize = 512;

/// One dead-lettered record, as written.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    /// When weft received the record (RFC 3339, UTC).
    pub received: String,
    pub reason: &'a str,
    pub origin: &'a str,
    pub offset: u64,
    /// 1-based line number in the source, when the source has lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Size of the record in the source, in bytes.
    pub size: u64,
    pub raw_base64: String,
    pub raw_preview: String,
}

/// Appends dead letters to one file per run, created on first use.
#[derive(Debug)]
pub struct DeadLetterWriter {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    written: u64,
}

impl DeadLetterWriter {
    /// A writer for `<data-dir>/deadletter/<run>.ndjson`.
    pub fn new(data_dir: &Path, run: &str) -> Self {
        DeadLetterWriter {
            path: data_dir.join("deadletter").join(format!("{run}.ndjson")),
            file: None,
            written: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Dead letters written by this writer.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one dead letter.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        reason: &str,
        origin: &str,
        offset: u64,
        line: Option<u64>,
        size: u64,
        raw: &[u8],
        received_micros: i64,
    ) -> Result<(), StoreError> {
        let preview: String = String::from_utf8_lossy(raw)
            .chars()
            .take(PREVIEW_CHARS)
            .collect();
        let letter = DeadLetter {
            received: rfc3339_micros(received_micros),
            reason,
            origin,
            offset,
            line,
            size,
            raw_base64: base64::engine::general_purpose::STANDARD.encode(raw),
            raw_preview: preview,
        };
        let file = self.open()?;
        serde_json::to_writer(&mut *file, &letter)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .map_err(|error| StoreError::io("writing a dead letter", &self.path, error))?;
        self.written += 1;
        Ok(())
    }

    fn open(&mut self) -> Result<&mut BufWriter<File>, StoreError> {
        if self.file.is_none() {
            let directory = self
                .path
                .parent()
                .expect("dead-letter files live in a directory");
            fs::create_dir_all(directory).map_err(|error| {
                StoreError::io("creating the dead-letter directory", directory, error)
            })?;
            let file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|error| {
                    StoreError::io("opening the dead-letter file", &self.path, error)
                })?;
            self.file = Some(BufWriter::new(file));
        }
        Ok(self.file.as_mut().expect("just opened"))
    }

    /// Makes every dead letter written so far durable.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(file) = &mut self.file {
            file.flush()
                .and_then(|()| file.get_ref().sync_data())
                .map_err(|error| {
                    StoreError::io("syncing the dead-letter file", &self.path, error)
                })?;
        }
        Ok(())
    }
}

/// RFC 3339 text of a UTC microsecond timestamp.
pub fn rfc3339_micros(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| micros.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_raw_bytes_exactly_with_reason_and_origin() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut writer = DeadLetterWriter::new(dir.path(), "run-1");
        let raw = b"\xff\xfe{\"broken\"";
        writer
            .write("not json: eof", "file:/logs/a.log", 40, Some(3), 11, raw, 0)
            .expect("write");
        writer.flush().expect("flush");
        let text = fs::read_to_string(writer.path()).expect("dead-letter file");
        let letter: serde_json::Value = serde_json::from_str(text.trim()).expect("one json line");
        assert_eq!(letter["reason"], "not json: eof");
        assert_eq!(letter["origin"], "file:/logs/a.log");
        assert_eq!(letter["line"], 3);
        assert_eq!(letter["received"], "1970-01-01T00:00:00.000000Z");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(letter["raw_base64"].as_str().expect("string"))
            .expect("base64");
        assert_eq!(decoded, raw);
        assert_eq!(writer.written(), 1);
    }
}
