//! The incident search index: a tantivy index in `<data_dir>/incidents.idx/` over every
//! incident's id, title, status, severity, assignee, entities, services, rules, ATT&CK tactics
//! and techniques, and comments (see [`fields`](super::fields) for the fields and the syntax).
//!
//! The detection store is the truth; the index is derived and rebuildable. Each commit of the
//! index carries, as its payload, the store's [`StoreMark`] at the time the index was brought
//! up to date: the highest row numbers of incidents, alerts, comments and history entries, and
//! the latest `updated` time. Before each search the index compares that mark with the store's
//! (a handful of indexed `max()` lookups) and, when the store moved on, re-indexes exactly the
//! incidents changed since. A missing index, one that does not open, one without a mark or one
//! written by another version of weft is rebuilt from the store.
//!
//! Everything here blocks (SQLite, file I/O): async callers run it on a blocking thread.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::query::QueryParser;
use tantivy::schema::{Term, Value};
use tantivy::{Index, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError};
use weft_correlate::incident::{IncidentConfig, IncidentError, IncidentStore};

use super::fields::{IncidentFields, register_tokenizers};

/// The index directory inside the data directory.
pub const INDEX_DIR: &str = "incidents.idx";
/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// The version of the index layout; an index written with another one is rebuilt.
const LAYOUT_VERSION: u32 = 1;
/// Memory the index writer may use before it flushes (tantivy's minimum is 15 MB).
const WRITER_MEMORY_BYTES: usize = 20_000_000;

/// Why the incident index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The query text is not a valid query: the caller's mistake.
    #[error("invalid query: {0}")]
    Query(String),
    #[error("incident index {path}: {error}")]
    Tantivy {
        path: PathBuf,
        #[source]
        error: TantivyError,
    },
    #[error("incident index {path}: {action}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("reading the incidents to index: {0}")]
    Store(#[from] IncidentError),
}

/// How far the store had got when the index was last brought up to date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMark {
    /// [`LAYOUT_VERSION`] of the index that holds the mark.
    pub layout: u32,
    pub incident_seq: i64,
    pub alert_row: i64,
    pub comment_seq: i64,
    pub history_seq: i64,
    /// The latest `updated` time of any incident (UTC microseconds).
    pub updated: i64,
}

impl StoreMark {
    /// The store's current mark. Cheap: each part is an indexed `max()`, except `updated`, a
    /// scan of the incident rows.
    pub fn of(store: &IncidentStore) -> Result<StoreMark, IncidentError> {
        let mark = store
            .connection()
            .query_row(
                "SELECT
                    (SELECT coalesce(max(seq), 0) FROM incident),
                    (SELECT coalesce(max(rowid), 0) FROM alert),
                    (SELECT coalesce(max(seq), 0) FROM incident_comment),
                    (SELECT coalesce(max(seq), 0) FROM incident_history),
                    (SELECT coalesce(max(updated), 0) FROM incident)",
                [],
                |row| {
                    Ok(StoreMark {
                        layout: LAYOUT_VERSION,
                        incident_seq: row.get(0)?,
                        alert_row: row.get(1)?,
                        comment_seq: row.get(2)?,
                        history_seq: row.get(3)?,
                        updated: row.get(4)?,
                    })
                },
            )
            .map_err(IncidentError::from)?;
        Ok(mark)
    }
}

/// What bringing the index up to date did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// The index already matched the store.
    Fresh,
    /// This many changed incidents were re-indexed.
    Updated(usize),
    /// The index was (re)built from the store with this many incidents.
    Rebuilt(usize),
}

/// The incident search index of one data directory.
#[derive(Debug)]
pub struct IncidentIndex {
    path: PathBuf,
    fields: IncidentFields,
    /// Serializes this process's refreshes and searches.
    lock: Mutex<()>,
}

impl IncidentIndex {
    /// The index of `data_dir`; nothing is opened until it is used.
    pub fn new(data_dir: &Path) -> IncidentIndex {
        IncidentIndex {
            path: data_dir.join(INDEX_DIR),
            fields: IncidentFields::new(),
            lock: Mutex::new(()),
        }
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ids of the incidents matching `text` (tantivy query syntax), after bringing the
    /// index up to date with `store`.
    pub fn search(&self, store: &IncidentStore, text: &str) -> Result<HashSet<String>, IndexError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(IndexError::Query(format!(
                "the query is {} bytes; keep it under {MAX_QUERY_BYTES}",
                text.len()
            )));
        }
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match self.refreshed(store) {
            Ok((index, _)) => index,
            Err(IndexError::Tantivy { error, .. }) if !is_lock_busy(&error) => {
                tracing::warn!(path = %self.path.display(), %error, "rebuilding the damaged incident index");
                self.rebuild_locked(store)?.0
            }
            Err(error) => return Err(error),
        };
        self.matching_ids(&index, text)
    }

    /// Brings the index up to date with `store`: re-indexes the incidents changed since the
    /// last refresh, or rebuilds it when it is missing, damaged or from another version.
    pub fn refresh(&self, store: &IncidentStore) -> Result<Refresh, IndexError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.refreshed(store).map(|(_, refresh)| refresh)
    }

    /// Rebuilds the index from `store`, whatever its state; returns how many incidents it holds.
    pub fn rebuild(&self, store: &IncidentStore) -> Result<usize, IndexError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.rebuild_locked(store).map(|(_, count)| count)
    }

    fn tantivy_error(&self) -> impl Fn(TantivyError) -> IndexError + '_ {
        |error| IndexError::Tantivy {
            path: self.path.clone(),
            error,
        }
    }

    fn refreshed(&self, store: &IncidentStore) -> Result<(Index, Refresh), IndexError> {
        let Some((index, indexed)) = self.open_existing() else {
            return self
                .rebuild_locked(store)
                .map(|(index, count)| (index, Refresh::Rebuilt(count)));
        };
        let current = StoreMark::of(store)?;
        if current == indexed {
            return Ok((index, Refresh::Fresh));
        }
        let changed = changed_since(store, &indexed)?;
        let writer = self.writer(&index)?;
        for id in &changed {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
            if let Some(incident) = store.get(id)? {
                writer
                    .add_document(self.fields.document(&incident))
                    .map_err(self.tantivy_error())?;
            }
        }
        self.commit(writer, &current)?;
        tracing::debug!(changed = changed.len(), "refreshed the incident index");
        Ok((index, Refresh::Updated(changed.len())))
    }

    /// The index on disk and the store mark it holds, if it opens, has this layout and a mark.
    fn open_existing(&self) -> Option<(Index, StoreMark)> {
        if !self.path.join("meta.json").is_file() {
            return None;
        }
        let opened = Index::open_in_dir(&self.path).and_then(|index| {
            let metas = index.load_metas()?;
            Ok((index, metas.payload))
        });
        let (index, payload) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "the incident index does not open; rebuilding it");
                return None;
            }
        };
        let mark = payload
            .and_then(|payload| serde_json::from_str::<StoreMark>(&payload).ok())
            .filter(|mark| mark.layout == LAYOUT_VERSION && index.schema() == self.fields.schema);
        let Some(mark) = mark else {
            tracing::info!(path = %self.path.display(), "the incident index is from another version; rebuilding it");
            return None;
        };
        register_tokenizers(&index);
        Some((index, mark))
    }

    /// Deletes whatever is in the index directory and indexes every incident of `store`.
    fn rebuild_locked(&self, store: &IncidentStore) -> Result<(Index, usize), IndexError> {
        let io_error = |action| {
            move |error| IndexError::Io {
                action,
                path: self.path.clone(),
                error,
            }
        };
        if self.path.exists() {
            std::fs::remove_dir_all(&self.path).map_err(io_error("removing the old index"))?;
        }
        std::fs::create_dir_all(&self.path).map_err(io_error("creating the index directory"))?;
        let index = Index::create_in_dir(&self.path, self.fields.schema.clone())
            .map_err(self.tantivy_error())?;
        register_tokenizers(&index);
        // The mark is read first: a change the detector commits while this runs is indexed
        // again by the next refresh, never missed.
        let mark = StoreMark::of(store)?;
        let ids = all_ids(store)?;
        let writer = self.writer(&index)?;
        let mut count = 0;
        for id in &ids {
            if let Some(incident) = store.get(id)? {
                writer
                    .add_document(self.fields.document(&incident))
                    .map_err(self.tantivy_error())?;
                count += 1;
            }
        }
        self.commit(writer, &mark)?;
        tracing::info!(path = %self.path.display(), incidents = count, "built the incident index");
        Ok((index, count))
    }

    fn writer(&self, index: &Index) -> Result<IndexWriter, IndexError> {
        index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(self.tantivy_error())
    }

    fn commit(&self, mut writer: IndexWriter, mark: &StoreMark) -> Result<(), IndexError> {
        let payload = serde_json::to_string(mark).map_err(|error| IndexError::Io {
            action: "encoding the store mark",
            path: self.path.clone(),
            error: error.into(),
        })?;
        let mut prepared = writer.prepare_commit().map_err(self.tantivy_error())?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(self.tantivy_error())?;
        writer.wait_merging_threads().map_err(self.tantivy_error())
    }

    fn matching_ids(&self, index: &Index, text: &str) -> Result<HashSet<String>, IndexError> {
        let mut parser = QueryParser::for_index(index, self.fields.default_fields());
        parser.set_conjunction_by_default();
        let query = parser
            .parse_query(text)
            .map_err(|error| IndexError::Query(error.to_string()))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(self.tantivy_error())?;
        let searcher = reader.searcher();
        let addresses = searcher
            .search(&query, &DocSetCollector)
            .map_err(self.tantivy_error())?;
        let mut ids = HashSet::with_capacity(addresses.len());
        for address in addresses {
            let document: TantivyDocument = searcher.doc(address).map_err(self.tantivy_error())?;
            if let Some(id) = document
                .get_first(self.fields.id)
                .and_then(|value| value.as_str())
            {
                ids.insert(id.to_string());
            }
        }
        Ok(ids)
    }
}

/// Rebuilds the incident index of `data_dir` from its detection store; returns how many
/// incidents it holds. For operators (a damaged index is also rebuilt on its own when used).
pub fn rebuild(data_dir: &Path) -> Result<usize, IndexError> {
    let store = IncidentStore::open(data_dir, &IncidentConfig::default())?;
    IncidentIndex::new(data_dir).rebuild(&store)
}

/// Another process holds the index writer: search what is there rather than rebuild.
fn is_lock_busy(error: &TantivyError) -> bool {
    matches!(error, TantivyError::LockFailure(..))
}

fn all_ids(store: &IncidentStore) -> Result<Vec<String>, IncidentError> {
    let mut statement = store
        .connection()
        .prepare("SELECT id FROM incident ORDER BY seq")
        .map_err(IncidentError::from)?;
    let ids = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(IncidentError::from)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(IncidentError::from)?;
    Ok(ids)
}

/// The incidents that changed since `mark`: new or updated ones, those that received alerts,
/// comments or history entries (status, assignment, merges).
fn changed_since(
    store: &IncidentStore,
    mark: &StoreMark,
) -> Result<BTreeSet<String>, IncidentError> {
    let mut statement = store
        .connection()
        .prepare(
            "SELECT id FROM incident WHERE seq > ?1 OR updated > ?2
             UNION SELECT incident_id FROM alert WHERE rowid > ?3 AND incident_id IS NOT NULL
             UNION SELECT incident_id FROM incident_comment WHERE seq > ?4
             UNION SELECT incident_id FROM incident_history WHERE seq > ?5",
        )
        .map_err(IncidentError::from)?;
    let ids = statement
        .query_map(
            [
                mark.incident_seq,
                mark.updated,
                mark.alert_row,
                mark.comment_seq,
                mark.history_seq,
            ],
            |row| row.get::<_, String>(0),
        )
        .map_err(IncidentError::from)?
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(IncidentError::from)?;
    Ok(ids)
}
