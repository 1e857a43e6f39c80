//! The incident search index: a tantivy index in `<data_dir>/incidents.idx/` over every
//! incident's id, title, status, severity, assignee, entities, services, rules, ATT&CK tactics
//! and techniques, and comments (see [`fields`](super::fields) for the fields and the syntax).
//!
//! The detection store is the truth; the index is derived and rebuildable. Each commit of the
//! index carries, as its payload, the store's [`StoreMark`] at the time the index was brought
//! up to date: the highest row numbers of incidents, alerts, comments and history entries, and
//! the latest `updated` time. Before each use (a search, a page or counts of the queue) the
//! index compares that mark with the store's (a handful of indexed `max()` lookups) and, when
//! the store moved on, re-indexes exactly the incidents changed since (found through indexes,
//! in time that grows with the changes, not with the store). A missing index, one that does
//! not open, one without a mark or one written by another version of weft is rebuilt from the
//! store.
//!
//! Pages and counts, of a search or of the queue without one, are filtered, sorted and
//! paged on the index's fast fields (see [`page`](super::page)); only the page's incidents
//! are then read from the store, by row number.
//!
//! Everything here blocks (SQLite, file I/O): async callers run it on a blocking thread.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Term, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError,
};
use weft_correlate::incident::{
    IncidentConfig, IncidentCounts, IncidentError, IncidentFilter, IncidentStore,
};

use super::fields::{IncidentFields, entity_key, register_tokenizers};
use super::page::{CountsCollector, FastFilter, PageCollector, QueueCache};

/// The index directory inside the data directory.
pub const INDEX_DIR: &str = "incidents.idx";
/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// The version of the index layout; an index written with another one is rebuilt.
const LAYOUT_VERSION: u32 = 3;
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
    /// The store's current mark. Cheap: each part is an indexed `max()`.
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
    data_dir: PathBuf,
    path: PathBuf,
    fields: IncidentFields,
    /// Serializes this process's refreshes and holds the open index with its reader and the
    /// mark it is up to date with, so that searches neither reopen it nor wait for each other.
    lock: Mutex<Option<IndexSnapshot>>,
    /// Set while the index is (re)built from the whole store: the queue is read from the
    /// store meanwhile rather than wait.
    building: AtomicBool,
    /// The queue's per-segment orders and counts.
    queue: QueueCache,
}

/// Clears [`IncidentIndex::building`] when a build ends, however it ends.
struct Building<'a>(&'a AtomicBool);

impl Drop for Building<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The index as this process has it open, up to date with the store as of `mark`.
#[derive(Clone)]
pub struct IndexSnapshot {
    index: Index,
    reader: IndexReader,
    mark: StoreMark,
    /// `meta.json` as this process last wrote or read it: when it changes under us (another
    /// process committed, or someone removed or damaged the index), the index is opened again.
    meta: Option<MetaStamp>,
}

/// The size and modification time of `meta.json`.
type MetaStamp = (u64, std::time::SystemTime);

fn meta_stamp(path: &Path) -> Option<MetaStamp> {
    let metadata = std::fs::metadata(path.join("meta.json")).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

impl std::fmt::Debug for IndexSnapshot {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IndexSnapshot")
            .field("mark", &self.mark)
            .finish_non_exhaustive()
    }
}

/// One page of a search or of the queue, in the order asked for (the store's row numbers of
/// its incidents), and how many incidents match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub seqs: Vec<u64>,
    pub total: u64,
}

/// What a list filter (and a search) selects, as the index applies it.
struct Selection {
    /// The search and the exact filters (assignee, entity, service), if any: without them
    /// the queue's per-segment orders answer.
    query: Option<Box<dyn Query>>,
    /// Statuses and least severity, on fast fields.
    fast: FastFilter,
}

impl IncidentIndex {
    /// The index of `data_dir`; nothing is opened until it is used.
    pub fn new(data_dir: &Path) -> IncidentIndex {
        IncidentIndex {
            data_dir: data_dir.to_path_buf(),
            path: data_dir.join(INDEX_DIR),
            fields: IncidentFields::new(),
            lock: Mutex::new(None),
            building: AtomicBool::new(false),
            queue: QueueCache::default(),
        }
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ids of the incidents matching `text` (tantivy query syntax), after bringing the
    /// index up to date with `store`.
    pub fn search(&self, store: &IncidentStore, text: &str) -> Result<HashSet<String>, IndexError> {
        let snapshot = self.snapshot(store)?;
        self.matching_ids(&snapshot, text)
    }

    /// The index brought up to date with `store`, to search without holding the store: a
    /// damaged index is rebuilt. Cheap when nothing changed (the store's mark is compared
    /// with the one the open index holds).
    pub fn snapshot(&self, store: &IncidentStore) -> Result<IndexSnapshot, IndexError> {
        let mut opened = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        match self.refreshed(&mut opened, store) {
            Ok((snapshot, _)) => Ok(snapshot),
            Err(IndexError::Tantivy { error, .. }) if !is_lock_busy(&error) => {
                tracing::warn!(path = %self.path.display(), %error, "rebuilding the damaged incident index");
                *opened = None;
                let (snapshot, _) = self.rebuild_locked(store)?;
                *opened = Some(snapshot.clone());
                Ok(snapshot)
            }
            Err(error) => Err(error),
        }
    }

    /// [`Self::snapshot`] if the index is built; `None` (at once) while it is being built, and
    /// when it is missing, damaged or from another version, in which case it starts building
    /// it on a thread of its own (with its own connection to the store). For the queue, which
    /// the store answers meanwhile.
    pub fn snapshot_if_built(
        self: &Arc<Self>,
        store: &IncidentStore,
    ) -> Result<Option<IndexSnapshot>, IndexError> {
        if self.building.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let mut opened = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let meta = meta_stamp(&self.path);
        let open_and_current = opened
            .as_ref()
            .is_some_and(|snapshot| snapshot.meta == meta && meta.is_some());
        if !open_and_current && self.open_existing().is_none() {
            drop(opened);
            self.build_in_background();
            return Ok(None);
        }
        match self.refreshed(&mut opened, store) {
            Ok((snapshot, _)) => Ok(Some(snapshot)),
            Err(IndexError::Tantivy { error, .. }) if !is_lock_busy(&error) => {
                *opened = None;
                drop(opened);
                tracing::warn!(path = %self.path.display(), %error, "rebuilding the damaged incident index");
                self.build_in_background();
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    fn build_in_background(self: &Arc<Self>) {
        if self.building.swap(true, Ordering::SeqCst) {
            return;
        }
        let index = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("incident-index".to_string())
            .spawn(move || {
                let _building = Building(&index.building);
                let built = IncidentStore::open(&index.data_dir, &IncidentConfig::default())
                    .map_err(IndexError::from)
                    .and_then(|store| {
                        let mut opened =
                            index.lock.lock().unwrap_or_else(PoisonError::into_inner);
                        index.refreshed(&mut opened, &store)
                    });
                match built {
                    Ok((_, refresh)) => {
                        tracing::debug!(?refresh, "the incident index is ready for the queue");
                    }
                    Err(error) => {
                        tracing::warn!(path = %index.path.display(), %error, "building the incident index failed; the queue is read from the store");
                    }
                }
            });
        if let Err(error) = spawned {
            self.building.store(false, Ordering::SeqCst);
            tracing::warn!(%error, "cannot start building the incident index; the queue is read from the store");
        }
    }

    /// Brings the index up to date with `store`: re-indexes the incidents changed since the
    /// last refresh, or rebuilds it when it is missing, damaged or from another version.
    pub fn refresh(&self, store: &IncidentStore) -> Result<Refresh, IndexError> {
        let mut opened = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.refreshed(&mut opened, store)
            .map(|(_, refresh)| refresh)
    }

    /// Rebuilds the index from `store`, whatever its state; returns how many incidents it holds.
    pub fn rebuild(&self, store: &IncidentStore) -> Result<usize, IndexError> {
        let mut opened = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        *opened = None;
        let (snapshot, count) = self.rebuild_locked(store)?;
        *opened = Some(snapshot);
        Ok(count)
    }

    fn tantivy_error(&self) -> impl Fn(TantivyError) -> IndexError + '_ {
        |error| IndexError::Tantivy {
            path: self.path.clone(),
            error,
        }
    }

    fn reader(&self, index: &Index) -> Result<IndexReader, IndexError> {
        index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(self.tantivy_error())
    }

    fn refreshed(
        &self,
        opened: &mut Option<IndexSnapshot>,
        store: &IncidentStore,
    ) -> Result<(IndexSnapshot, Refresh), IndexError> {
        let meta = meta_stamp(&self.path);
        if opened
            .as_ref()
            .is_some_and(|snapshot| snapshot.meta != meta || meta.is_none())
        {
            *opened = None;
        }
        if opened.is_none()
            && let Some((index, mark)) = self.open_existing()
        {
            let reader = self.reader(&index)?;
            *opened = Some(IndexSnapshot {
                index,
                reader,
                mark,
                meta,
            });
        }
        let Some(snapshot) = opened.as_mut() else {
            let (snapshot, count) = self.rebuild_locked(store)?;
            *opened = Some(snapshot.clone());
            return Ok((snapshot, Refresh::Rebuilt(count)));
        };
        let current = StoreMark::of(store)?;
        if current == snapshot.mark {
            return Ok((snapshot.clone(), Refresh::Fresh));
        }
        let changed = changed_since(store, &snapshot.mark)?;
        let writer = self.writer(&snapshot.index)?;
        for id in &changed {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
            if let Some(incident) = store.get(id)? {
                let seq = seq_of(store, id)?;
                writer
                    .add_document(self.fields.document(&incident, seq))
                    .map_err(self.tantivy_error())?;
            }
        }
        self.commit(writer, &current)?;
        snapshot.reader.reload().map_err(self.tantivy_error())?;
        snapshot.mark = current;
        snapshot.meta = meta_stamp(&self.path);
        tracing::debug!(changed = changed.len(), "refreshed the incident index");
        Ok((snapshot.clone(), Refresh::Updated(changed.len())))
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
    fn rebuild_locked(&self, store: &IncidentStore) -> Result<(IndexSnapshot, usize), IndexError> {
        let already_building = self.building.swap(true, Ordering::SeqCst);
        let _building = (!already_building).then(|| Building(&self.building));
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
        for (seq, id) in &ids {
            if let Some(incident) = store.get(id)? {
                writer
                    .add_document(self.fields.document(&incident, *seq))
                    .map_err(self.tantivy_error())?;
                count += 1;
            }
        }
        self.commit(writer, &mark)?;
        tracing::info!(path = %self.path.display(), incidents = count, "built the incident index");
        let reader = self.reader(&index)?;
        Ok((
            IndexSnapshot {
                index,
                reader,
                mark,
                meta: meta_stamp(&self.path),
            },
            count,
        ))
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

    fn parse(&self, index: &Index, text: &str) -> Result<Box<dyn Query>, IndexError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(IndexError::Query(format!(
                "the query is {} bytes; keep it under {MAX_QUERY_BYTES}",
                text.len()
            )));
        }
        let mut parser = QueryParser::for_index(index, self.fields.default_fields());
        parser.set_conjunction_by_default();
        parser
            .parse_query(text)
            .map_err(|error| IndexError::Query(error.to_string()))
    }

    fn matching_ids(
        &self,
        snapshot: &IndexSnapshot,
        text: &str,
    ) -> Result<HashSet<String>, IndexError> {
        let query = self.parse(&snapshot.index, text)?;
        let searcher = snapshot.reader.searcher();
        let addresses = searcher
            .search(&query, &DocSetCollector)
            .map_err(self.tantivy_error())?;
        let mut ids = HashSet::with_capacity(addresses.len());
        for address in addresses {
            ids.insert(self.stored_id(&searcher, address)?);
        }
        ids.remove("");
        Ok(ids)
    }

    fn stored_id(&self, searcher: &Searcher, address: DocAddress) -> Result<String, IndexError> {
        let document: TantivyDocument = searcher.doc(address).map_err(self.tantivy_error())?;
        Ok(document
            .get_first(self.fields.id)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_string())
    }

    /// What `text` and `filter` select: the search and the exact filters as a query, statuses
    /// and least severity on fast fields. `None` when the filter has what only the store
    /// applies (a title substring).
    fn selection(
        &self,
        snapshot: &IndexSnapshot,
        text: &str,
        filter: &IncidentFilter,
    ) -> Result<Option<Selection>, IndexError> {
        if filter.text.as_deref().is_some_and(|text| !text.is_empty()) {
            return Ok(None);
        }
        // As the store compares them: the whole value, case and all.
        let exact = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            )
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let text = text.trim();
        if !text.is_empty() {
            clauses.push((Occur::Must, self.parse(&snapshot.index, text)?));
        }
        if let Some(assignee) = &filter.assignee {
            clauses.push(exact(self.fields.assignee_exact, assignee));
        }
        if let Some(entity) = &filter.entity {
            let key = entity_key(&entity.kind, &entity.value);
            clauses.push(exact(self.fields.entity_exact, &key));
        }
        if let Some(service) = &filter.service {
            clauses.push(exact(self.fields.service_exact, service));
        }
        let query: Option<Box<dyn Query>> = match clauses.len() {
            0 => None,
            1 => clauses.pop().map(|(_, query)| query),
            _ => Some(Box::new(BooleanQuery::new(clauses))),
        };
        Ok(Some(Selection {
            query,
            fast: FastFilter::new(filter),
        }))
    }

    /// One page of the incidents matching `text` (empty: every incident) and `filter`, in the
    /// filter's order (ties by creation order, as the store lists them), from the index
    /// alone. `None` when the filter holds something only the store can apply, or has no
    /// limit.
    pub fn page(
        &self,
        snapshot: &IndexSnapshot,
        text: &str,
        filter: &IncidentFilter,
    ) -> Result<Option<SearchPage>, IndexError> {
        let Some(limit) = filter.limit else {
            return Ok(None);
        };
        let Some(selection) = self.selection(snapshot, text, filter)? else {
            return Ok(None);
        };
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let wanted = offset.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX));
        let searcher = snapshot.reader.searcher();
        let (total, best) = match &selection.query {
            None => self.queue.page(
                &searcher,
                selection.fast,
                filter.sort,
                filter.ascending,
                wanted,
            ),
            Some(query) => searcher.search(
                query.as_ref(),
                &PageCollector {
                    filter: selection.fast,
                    sort: filter.sort,
                    ascending: filter.ascending,
                    wanted,
                },
            ),
        }
        .map_err(self.tantivy_error())?;
        Ok(Some(SearchPage {
            seqs: best
                .into_iter()
                .skip(offset)
                .map(|candidate| candidate.seq)
                .collect(),
            total,
        }))
    }

    /// How many incidents match `text` (empty: every incident) and `filter` (its statuses
    /// aside: every status but merged) per status and per severity, from the index alone;
    /// `None` as for [`Self::page`].
    pub fn counts(
        &self,
        snapshot: &IndexSnapshot,
        text: &str,
        filter: &IncidentFilter,
    ) -> Result<Option<IncidentCounts>, IndexError> {
        let Some(selection) = self.selection(snapshot, text, filter)? else {
            return Ok(None);
        };
        let fast = FastFilter::for_counts(filter);
        let searcher = snapshot.reader.searcher();
        let counts = match &selection.query {
            None => self.queue.counts(&searcher, fast),
            Some(query) => searcher.search(query.as_ref(), &CountsCollector { filter: fast }),
        }
        .map_err(self.tantivy_error())?;
        Ok(Some(counts))
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

fn all_ids(store: &IncidentStore) -> Result<Vec<(u64, String)>, IncidentError> {
    let mut statement = store
        .connection()
        .prepare("SELECT seq, id FROM incident ORDER BY seq")
        .map_err(IncidentError::from)?;
    let ids = statement
        .query_map([], |row| {
            Ok((
                u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                row.get::<_, String>(1)?,
            ))
        })
        .map_err(IncidentError::from)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(IncidentError::from)?;
    Ok(ids)
}

/// The row number of incident `id` (0 when it has none).
fn seq_of(store: &IncidentStore, id: &str) -> Result<u64, IncidentError> {
    let seq: Option<i64> = store
        .connection()
        .prepare_cached("SELECT seq FROM incident WHERE id = ?1")
        .and_then(|mut statement| {
            statement
                .query_map([id], |row| row.get::<_, i64>(0))?
                .next()
                .transpose()
        })
        .map_err(IncidentError::from)?;
    Ok(seq.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0))
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
