//! The streaming detector's durable state in the detection store: which segments it has
//! matched, the correlator's checkpoint, the source partitions it numbered, and the contexts
//! of recent evidence events. One transaction writes all of it, after the alerts of the same
//! step were recorded (alert ids are deterministic, so a crash in between only repeats alerts
//! the incident store already holds).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::context::EventContext;
use crate::correlation::CorrelatorCheckpoint;
use crate::db::DbError;
use crate::record::Entity;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS detect_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS detect_segments (
    segment TEXT PRIMARY KEY,
    processed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS detect_evidence (
    event_id TEXT PRIMARY KEY,
    time INTEGER NOT NULL,
    service TEXT NOT NULL,
    entities TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS detect_evidence_time ON detect_evidence (time);
";

/// The detector's checkpoint, serialized as JSON in `detect_state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DetectorState {
    /// The correlator's state; `None` before the first step.
    pub correlator: Option<CorrelatorCheckpoint>,
    /// Source origin (`file:<path>`, `kafka:<topic>/<partition>`) -> correlator partition.
    pub partitions: BTreeMap<String, u32>,
    /// Rows seen per partition: the next event's offset, for deterministic ties.
    pub offsets: BTreeMap<u32, u64>,
    /// Largest event time matched so far.
    pub max_time: Option<i64>,
}

impl DetectorState {
    /// The partition of `origin`, numbered on first sight.
    pub fn partition(&mut self, origin: &str) -> u32 {
        if let Some(partition) = self.partitions.get(origin) {
            return *partition;
        }
        let partition = u32::try_from(self.partitions.len()).unwrap_or(u32::MAX);
        self.partitions.insert(origin.to_string(), partition);
        partition
    }
}

/// Creates the detector's tables.
pub fn ensure_schema(connection: &Connection) -> Result<(), DbError> {
    connection.execute_batch(SCHEMA)?;
    Ok(())
}

/// The saved state, or the empty one.
pub fn load(connection: &Connection) -> Result<DetectorState, DbError> {
    let text: Option<String> = connection
        .query_row("SELECT state FROM detect_state WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?;
    match text {
        None => Ok(DetectorState::default()),
        Some(text) => serde_json::from_str(&text).map_err(|error| DbError::Corrupt {
            what: "detector state".into(),
            reason: error.to_string(),
        }),
    }
}

/// The saved state; a saved state that does not decode (a damaged database page, a write by
/// an incompatible version) is moved aside instead of stopping detection: its text is written
/// to `<data_dir>/quarantine/detect-state-<micros>.json`, the row removed, and the empty
/// state returned with the quarantine file's path. Open correlation windows are lost (as when
/// rules change); matched segments stay matched, alerts and incidents are untouched.
pub fn load_or_quarantine(
    connection: &Connection,
    data_dir: &std::path::Path,
    now: i64,
) -> Result<(DetectorState, Option<std::path::PathBuf>), DbError> {
    match load(connection) {
        Ok(state) => Ok((state, None)),
        Err(DbError::Corrupt { reason, .. }) => {
            let text: String =
                connection.query_row("SELECT state FROM detect_state WHERE id = 1", [], |row| {
                    row.get(0)
                })?;
            let directory = data_dir.join("quarantine");
            let target = directory.join(format!("detect-state-{now}.json"));
            std::fs::create_dir_all(&directory)
                .and_then(|()| std::fs::write(&target, text))
                .map_err(|error| DbError::Corrupt {
                    what: "detector state".into(),
                    reason: format!(
                        "{reason}; and it could not be moved to {}: {error}",
                        target.display()
                    ),
                })?;
            connection.execute("DELETE FROM detect_state WHERE id = 1", [])?;
            tracing::error!(
                %reason,
                quarantined = %target.display(),
                "the detector's saved state does not decode: moved to quarantine, detection \
                 continues without the correlation windows it held"
            );
            Ok((DetectorState::default(), Some(target)))
        }
        Err(error) => Err(error),
    }
}

/// The segments already matched.
pub fn processed_segments(connection: &Connection) -> Result<BTreeSet<String>, DbError> {
    let mut statement = connection.prepare("SELECT segment FROM detect_segments")?;
    let segments = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(segments)
}

/// One step's changes, written in one transaction.
#[derive(Debug, Default)]
pub struct Step<'a> {
    pub state: Option<&'a DetectorState>,
    pub segments: &'a [String],
    pub contexts: &'a [(String, EventContext)],
    /// Evidence older than this event time is dropped.
    pub forget_before: Option<i64>,
}

pub fn save(connection: &mut Connection, step: Step<'_>, now: i64) -> Result<(), DbError> {
    let transaction = connection.transaction()?;
    if let Some(state) = step.state {
        let text = serde_json::to_string(state).map_err(|error| DbError::Corrupt {
            what: "detector state".into(),
            reason: error.to_string(),
        })?;
        transaction.execute(
            "INSERT INTO detect_state (id, state, updated) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            params![text, now],
        )?;
    }
    {
        let mut insert = transaction.prepare(
            "INSERT OR IGNORE INTO detect_segments (segment, processed) VALUES (?1, ?2)",
        )?;
        for segment in step.segments {
            insert.execute(params![segment, now])?;
        }
        let mut insert = transaction.prepare(
            "INSERT OR REPLACE INTO detect_evidence (event_id, time, service, entities)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (event_id, context) in step.contexts {
            let entities =
                serde_json::to_string(&context.entities).map_err(|error| DbError::Corrupt {
                    what: "evidence entities".into(),
                    reason: error.to_string(),
                })?;
            insert.execute(params![event_id, context.time, context.service, entities])?;
        }
    }
    if let Some(before) = step.forget_before {
        transaction.execute(
            "DELETE FROM detect_evidence WHERE time < ?1",
            params![before],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// The stored context of an evidence event.
pub fn context(connection: &Connection, event_id: &str) -> Result<Option<EventContext>, DbError> {
    let row: Option<(i64, String, String)> = connection
        .query_row(
            "SELECT time, service, entities FROM detect_evidence WHERE event_id = ?1",
            params![event_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((time, service, entities)) = row else {
        return Ok(None);
    };
    let entities: Vec<Entity> =
        serde_json::from_str(&entities).map_err(|error| DbError::Corrupt {
            what: format!("entities of evidence event {event_id}"),
            reason: error.to_string(),
        })?;
    Ok(Some(EventContext {
        time,
        service,
        entities,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    #[test]
    fn a_state_that_does_not_decode_is_quarantined_and_detection_starts_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut connection = db::open(dir.path()).expect("open");
        ensure_schema(&connection).expect("schema");
        let mut state = DetectorState::default();
        state.partition("file:a");
        save(
            &mut connection,
            Step {
                state: Some(&state),
                segments: &["s1".into()],
                ..Step::default()
            },
            5,
        )
        .expect("save");
        // A healthy state loads as it is, and nothing is quarantined.
        let (loaded, quarantined) =
            load_or_quarantine(&connection, dir.path(), 7).expect("healthy state");
        assert_eq!(loaded.partitions, state.partitions);
        assert!(quarantined.is_none());

        connection
            .execute(
                "UPDATE detect_state SET state = '{\"partitions\": [truncated' WHERE id = 1",
                [],
            )
            .expect("damage");
        assert!(matches!(load(&connection), Err(DbError::Corrupt { .. })));
        let (loaded, quarantined) =
            load_or_quarantine(&connection, dir.path(), 7).expect("starts anyway");
        assert!(loaded.partitions.is_empty() && loaded.correlator.is_none());
        let quarantined = quarantined.expect("quarantined");
        assert_eq!(
            quarantined,
            dir.path().join("quarantine/detect-state-7.json")
        );
        assert_eq!(
            std::fs::read_to_string(&quarantined).expect("kept"),
            "{\"partitions\": [truncated",
            "the damaged text is kept for inspection"
        );
        assert!(
            processed_segments(&connection)
                .expect("segments")
                .contains("s1"),
            "matched segments stay matched"
        );
        // The next load finds no state: nothing is quarantined twice.
        let (_, again) = load_or_quarantine(&connection, dir.path(), 8).expect("empty");
        assert!(again.is_none());
    }

    #[test]
    fn state_segments_and_contexts_round_trip() {
        let mut connection = db::open_in_memory().expect("open");
        ensure_schema(&connection).expect("schema");
        assert!(load(&connection).expect("load").correlator.is_none());
        let mut state = DetectorState::default();
        assert_eq!(state.partition("file:a"), 0);
        assert_eq!(state.partition("file:b"), 1);
        assert_eq!(state.partition("file:a"), 0);
        let context = EventContext {
            time: 10,
            service: "auth".into(),
            entities: vec![Entity::new("user", "alice")],
        };
        save(
            &mut connection,
            Step {
                state: Some(&state),
                segments: &["s1".into()],
                contexts: &[("e1".into(), context.clone())],
                forget_before: None,
            },
            5,
        )
        .expect("save");
        assert_eq!(
            load(&connection).expect("load").partitions,
            state.partitions
        );
        assert!(
            processed_segments(&connection)
                .expect("segments")
                .contains("s1")
        );
        assert_eq!(context_of(&connection, "e1"), Some(context));
        save(
            &mut connection,
            Step {
                forget_before: Some(11),
                ..Step::default()
            },
            6,
        )
        .expect("prune");
        assert_eq!(context_of(&connection, "e1"), None);
    }

    fn context_of(connection: &Connection, id: &str) -> Option<EventContext> {
        context(connection, id).expect("read")
    }
}
