//! The API's side of incidents: reading and changing them in the detection store (which the
//! detector writes at the same time), and finding them by text through their search index.
//!
//! - [`Incidents`]: one connection to the detection store behind a mutex, shared by the
//!   handlers; every call is short (one read, or one transaction of the store) so the detector
//!   is never held up for long. SQLite's busy timeout covers the moments they collide.
//! - [`index`]: the tantivy index behind the `q` parameter and the queue, derived from the
//!   store and brought up to date before each use; [`fields`] says what it holds, [`page`]
//!   how it filters, sorts, pages and counts on its fast fields.
//! - [`timeline`]: an incident's evidence events across services, in event time.
//!
//! Everything here blocks: async callers run it on a blocking thread.

pub mod fields;
pub mod index;
pub mod page;
#[cfg(test)]
mod tests;
pub mod timeline;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use weft_correlate::incident::{
    AlertFilter, Comment, IncidentConfig, IncidentCounts, IncidentDetail, IncidentError,
    IncidentFilter, IncidentStatus, IncidentStore, IncidentSummary, MAX_COMMENT_BYTES, StoredAlert,
};

pub use index::{INDEX_DIR, IncidentIndex, IndexError, Refresh, StoreMark, rebuild};

/// Why an incident call failed.
#[derive(Debug, thiserror::Error)]
pub enum IncidentsError {
    /// From the detection store: the caller's mistakes are its own variants.
    #[error(transparent)]
    Store(#[from] IncidentError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// One page of incidents and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentSummary>,
    /// Incidents matching the filters and the search, on every page alike.
    pub total: u64,
}

/// Which incidents to list: the store's filter (with its order and page) and, optionally, a
/// search of the incident index that the incidents must match too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentQuery {
    pub filter: IncidentFilter,
    /// Tantivy query text over the index (see [`fields`]); `None` or empty searches nothing.
    pub search: Option<String>,
}

/// Incidents and alerts of one data directory, for the API.
#[derive(Debug)]
pub struct Incidents {
    store: Mutex<IncidentStore>,
    index: Arc<IncidentIndex>,
}

impl Incidents {
    /// Opens the detection store of `data_dir` (creating its tables if needed) and names its
    /// incident index, which is built on first use.
    pub fn open(data_dir: &Path) -> Result<Incidents, IncidentError> {
        // Grouping settings do not matter to readers and analysts' changes; the defaults are
        // valid by construction.
        let store = IncidentStore::open(data_dir, &IncidentConfig::default())?;
        Ok(Incidents {
            store: Mutex::new(store),
            index: Arc::new(IncidentIndex::new(data_dir)),
        })
    }

    /// The incident search index.
    pub fn index(&self) -> &IncidentIndex {
        &self.index
    }

    fn store(&self) -> MutexGuard<'_, IncidentStore> {
        // A panic mid-call leaves no open transaction (rusqlite rolls back on drop).
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Incidents matching `query`, in its order and page, with the total. The index filters,
    /// sorts and pages (the store is held only to bring the index up to date and to read the
    /// page's incidents), unless the filter has a title substring or no limit. Without a
    /// search, the store answers while the index is being built (and when it fails).
    pub fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, IncidentsError> {
        let search = query.search.as_deref().map(str::trim).unwrap_or_default();
        if search.is_empty() {
            if let Some(page) = self.queue_page(&query.filter) {
                return Ok(page);
            }
            let store = self.store();
            let total = store.count(&query.filter)?;
            let incidents = store.list(&query.filter)?;
            return Ok(IncidentPage { incidents, total });
        }
        let snapshot = self.index.snapshot(&self.store())?;
        if let Some(page) = self.index.page(&snapshot, search, &query.filter)? {
            let incidents = self.store().summaries_by_seq(&page.seqs)?;
            return Ok(IncidentPage {
                incidents,
                total: page.total,
            });
        }
        let store = self.store();
        let ids = self.index.search(&store, search)?;
        let unpaged = IncidentFilter {
            limit: None,
            offset: 0,
            ..query.filter.clone()
        };
        let matching: Vec<IncidentSummary> = store
            .list(&unpaged)?
            .into_iter()
            .filter(|incident| ids.contains(&incident.id))
            .collect();
        let total = u64::try_from(matching.len()).unwrap_or(u64::MAX);
        let offset = usize::try_from(query.filter.offset).unwrap_or(usize::MAX);
        let limit = query.filter.limit.map_or(usize::MAX, |limit| {
            usize::try_from(limit).unwrap_or(usize::MAX)
        });
        let incidents = matching.into_iter().skip(offset).take(limit).collect();
        Ok(IncidentPage { incidents, total })
    }

    /// The queue's page from the index, or `None` for the store to answer.
    fn queue_page(&self, filter: &IncidentFilter) -> Option<IncidentPage> {
        let snapshot = self.queue_snapshot()?;
        let page = match self.index.page(&snapshot, "", filter) {
            Ok(page) => page?,
            Err(error) => {
                tracing::warn!(%error, "the incident index cannot list the queue; reading it from the store");
                return None;
            }
        };
        match self.store().summaries_by_seq(&page.seqs) {
            Ok(incidents) => Some(IncidentPage {
                incidents,
                total: page.total,
            }),
            Err(error) => {
                tracing::warn!(%error, "reading the queue's incidents failed; reading the queue from the store");
                None
            }
        }
    }

    /// The index up to date, if it is built (it starts building otherwise).
    fn queue_snapshot(&self) -> Option<index::IndexSnapshot> {
        match self.index.snapshot_if_built(&self.store()) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(%error, "the incident index cannot serve the queue; reading it from the store");
                None
            }
        }
    }

    /// How many incidents match `query` (its statuses, order and page aside) per status and
    /// per severity.
    pub fn counts(&self, query: &IncidentQuery) -> Result<IncidentCounts, IncidentsError> {
        let search = query.search.as_deref().map(str::trim).unwrap_or_default();
        if search.is_empty() {
            let from_index = self.queue_snapshot().and_then(|snapshot| {
                self.index
                    .counts(&snapshot, "", &query.filter)
                    .unwrap_or_else(|error| {
                        tracing::warn!(%error, "the incident index cannot count the queue; counting in the store");
                        None
                    })
            });
            if let Some(counts) = from_index {
                return Ok(counts);
            }
            return Ok(self.store().counts(&query.filter)?);
        }
        let snapshot = self.index.snapshot(&self.store())?;
        if let Some(counts) = self.index.counts(&snapshot, search, &query.filter)? {
            return Ok(counts);
        }
        let store = self.store();
        let ids = self.index.search(&store, search)?;
        let unpaged = IncidentFilter {
            statuses: Vec::new(),
            limit: None,
            offset: 0,
            ..query.filter.clone()
        };
        let mut counts = IncidentCounts::default();
        for incident in store.list(&unpaged)? {
            if ids.contains(&incident.id) {
                counts.add(incident.status, incident.severity, 1);
            }
        }
        Ok(counts)
    }

    /// One incident in full, or `None`.
    pub fn get(&self, id: &str) -> Result<Option<IncidentDetail>, IncidentsError> {
        Ok(self.store().get(id)?)
    }

    /// Changes an incident's status as `actor`; a `note` is kept as the actor's comment on the
    /// incident. Returns the incident as it is afterwards.
    pub fn set_status(
        &self,
        id: &str,
        status: IncidentStatus,
        note: Option<&str>,
        actor: &str,
        now_micros: i64,
    ) -> Result<IncidentDetail, IncidentsError> {
        let note = note.map(str::trim).filter(|note| !note.is_empty());
        if let Some(note) = note
            && note.len() > MAX_COMMENT_BYTES
        {
            return Err(IncidentError::CommentTooLong {
                id: id.to_string(),
                len: note.len(),
                max: MAX_COMMENT_BYTES,
            }
            .into());
        }
        let mut store = self.store();
        store.set_status(id, status, actor, now_micros)?;
        if let Some(note) = note {
            store.comment(id, actor, note, now_micros)?;
        }
        current(&store, id)
    }

    /// Assigns an incident (or unassigns it, with `None`) as `actor`; returns it afterwards.
    pub fn assign(
        &self,
        id: &str,
        assignee: Option<&str>,
        actor: &str,
        now_micros: i64,
    ) -> Result<IncidentDetail, IncidentsError> {
        let mut store = self.store();
        store.assign(id, assignee, actor, now_micros)?;
        current(&store, id)
    }

    /// Adds `author`'s comment to an incident; returns it as stored.
    pub fn comment(
        &self,
        id: &str,
        author: &str,
        text: &str,
        now_micros: i64,
    ) -> Result<Comment, IncidentsError> {
        Ok(self.store().comment(id, author, text, now_micros)?)
    }

    /// Stored alerts per rule: by rule id, or by rule name for rules without an id.
    pub fn alert_counts(&self) -> Result<std::collections::HashMap<String, u64>, IncidentsError> {
        let store = self.store();
        let sql_error = |error| {
            IncidentsError::Store(IncidentError::Store(weft_correlate::db::DbError::Sql(
                error,
            )))
        };
        let mut statement = store
            .connection()
            .prepare("SELECT coalesce(rule_id, rule_name), count(*) FROM alert GROUP BY 1")
            .map_err(sql_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(sql_error)?;
        let mut counts = std::collections::HashMap::new();
        for row in rows {
            let (rule, count) = row.map_err(sql_error)?;
            counts.insert(rule, u64::try_from(count).unwrap_or(0));
        }
        Ok(counts)
    }

    /// Stored alerts per rule (by rule id, or name for rules without an id) and time bucket:
    /// bucket `i` counts the alerts whose window ends in `[from + i * width, from + (i + 1) *
    /// width)`, for `buckets` buckets. Only rules with alerts in the range are listed; with
    /// `rule`, only that rule (by id or name).
    pub fn alert_buckets(
        &self,
        from: i64,
        width: i64,
        buckets: usize,
        rule: Option<&str>,
    ) -> Result<std::collections::BTreeMap<String, Vec<u64>>, IncidentsError> {
        let store = self.store();
        let sql_error = |error| {
            IncidentsError::Store(IncidentError::Store(weft_correlate::db::DbError::Sql(
                error,
            )))
        };
        let to = i64::try_from(buckets)
            .ok()
            .and_then(|buckets| width.checked_mul(buckets))
            .and_then(|span| from.checked_add(span))
            .unwrap_or(i64::MAX);
        let mut statement = store
            .connection()
            .prepare(
                "SELECT coalesce(rule_id, rule_name), (window_end - ?1) / ?2, count(*) FROM alert \
                 WHERE window_end >= ?1 AND window_end < ?3 \
                 AND (?4 IS NULL OR rule_id = ?4 OR rule_name = ?4) GROUP BY 1, 2",
            )
            .map_err(sql_error)?;
        let rows = statement
            .query_map((from, width, to, rule), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(sql_error)?;
        let mut counts = std::collections::BTreeMap::new();
        for row in rows {
            let (rule, bucket, count) = row.map_err(sql_error)?;
            let Ok(bucket) = usize::try_from(bucket) else {
                continue;
            };
            if bucket < buckets {
                counts.entry(rule).or_insert_with(|| vec![0; buckets])[bucket] +=
                    u64::try_from(count).unwrap_or(0);
            }
        }
        Ok(counts)
    }

    /// Stored alerts matching `filter`, newest first.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, IncidentsError> {
        Ok(self.store().alerts(filter)?)
    }
}

/// The incident after a change (it exists: the change just succeeded under the same lock).
fn current(store: &IncidentStore, id: &str) -> Result<IncidentDetail, IncidentsError> {
    store
        .get(id)?
        .ok_or_else(|| IncidentError::UnknownIncident { id: id.to_string() }.into())
}
