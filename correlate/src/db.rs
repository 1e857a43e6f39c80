//! The detection store: one SQLite database in the data directory, `detect.sqlite`, beside the
//! event store's manifest. It holds what the detection side decides and must not lose: alerts,
//! incidents, scheduled job history, the streaming detector's checkpoint and pending alert
//! deliveries.
//!
//! Each concept owns its tables and creates them with `CREATE TABLE IF NOT EXISTS` when it is
//! opened (`incident::store`, `schedule::history`, `detect::checkpoint`, `output::outbox`), so
//! a new concept adds tables without touching the others. The database runs in WAL mode: the
//! API reads while the detector writes, and every change is one transaction, so a crash leaves
//! either all of a change or none of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// The database file inside the data directory.
pub const FILE_NAME: &str = "detect.sqlite";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A detection store that could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the detection store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("detection store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("detection store holds a value that does not decode ({what}): {reason}")]
    Corrupt { what: String, reason: String },
}

/// The path of the detection store under `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Opens (creating it if needed) the detection store of `data_dir`, in WAL mode with a busy
/// timeout, so several processes (ingest workers, the detector, the API) can share it.
pub fn open(data_dir: &Path) -> Result<Connection, DbError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DbError::CreateDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let path = path(data_dir);
    let open_error = |source| DbError::Open {
        path: path.clone(),
        source,
    };
    let connection = Connection::open(&path).map_err(open_error)?;
    configure(&connection).map_err(open_error)?;
    Ok(connection)
}

/// An in-memory store with the same settings, for tests.
pub fn open_in_memory() -> Result<Connection, DbError> {
    let connection = Connection::open_in_memory()?;
    configure(&connection)?;
    Ok(connection)
}

fn configure(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // `journal_mode` answers with the mode it set; in-memory databases answer `memory`.
    connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    connection.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_in_wal_mode_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let connection = open(dir.path()).expect("open");
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        connection
            .execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER); INSERT INTO t VALUES (1);")
            .expect("write");
        drop(connection);
        let again = open(dir.path()).expect("reopen");
        let count: i64 = again
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .expect("count");
        assert_eq!(count, 1);
    }

    #[test]
    fn an_unwritable_data_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").expect("write");
        let error = open(&file.join("sub")).expect_err("must fail");
        assert!(
            error
                .to_string()
                .contains("cannot create the data directory")
        );
    }
}
