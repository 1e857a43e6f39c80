//! [`IncidentStore`]: the incident side of the detection store. Alerts go in through
//! [`IncidentStore::record`]; analysts change incidents through [`IncidentStore::set_status`],
//! [`IncidentStore::assign`] and [`IncidentStore::comment`]; the read side is in `query`.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::db::{self, DbError};
use crate::record::AlertRecord;

use super::config::{IncidentConfig, IncidentPolicy};
use super::error::IncidentError;
use super::group::{Grouper, insert_history};
use super::model::{
    Activity, AlertPlacement, Comment, IncidentMerge, IncidentStatus, RecordOutcome,
};
use super::{schema, suppress};

/// The longest comment weft keeps, in bytes.
pub const MAX_COMMENT_BYTES: usize = 64 * 1024;

/// Receives the new alerts of a [`IncidentStore::record_with`] call, with their incident ids,
/// on the recording transaction.
pub type NewAlertsHook<'a> =
    dyn FnMut(&rusqlite::Connection, &[(AlertRecord, Option<String>)]) -> Result<(), String> + 'a;

/// Alerts, incidents, comments and their history, in the detection store.
#[derive(Debug)]
pub struct IncidentStore {
    pub(crate) connection: Connection,
    pub(crate) policy: IncidentPolicy,
}

impl IncidentStore {
    /// Opens (creating it if needed) the detection store of `data_dir` and its incident tables.
    pub fn open(data_dir: &Path, config: &IncidentConfig) -> Result<IncidentStore, IncidentError> {
        IncidentStore::with_connection(db::open(data_dir)?, config)
    }

    /// The incident store over an open connection (e.g. [`db::open_in_memory`]), creating its
    /// tables if needed.
    pub fn with_connection(
        connection: Connection,
        config: &IncidentConfig,
    ) -> Result<IncidentStore, IncidentError> {
        let policy = config.build()?;
        schema::create(&connection).map_err(DbError::Sql)?;
        Ok(IncidentStore { connection, policy })
    }

    /// The underlying connection, e.g. to share it with another concept's tables.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Records a batch of alerts in one transaction, in (window end, alert id) order whatever
    /// the order given. An alert already stored or suppressed is a duplicate and changes
    /// nothing, so replays are idempotent. A suppressed alert is counted on the first alert of
    /// its suppression window. Every other alert is stored and joins (or starts, or merges)
    /// an incident. `now_micros` is the processing time stamped on what changes.
    pub fn record(
        &mut self,
        records: &[AlertRecord],
        now_micros: i64,
    ) -> Result<RecordOutcome, IncidentError> {
        self.record_with(records, now_micros, &mut |_, _| Ok(()))
    }

    /// [`Self::record`], handing the new alerts (not duplicates, not suppressed) with their
    /// incident ids to `on_new` inside the same transaction before it commits: the outbox
    /// queues their deliveries there, so an alert is stored with its deliveries or not at all.
    pub fn record_with(
        &mut self,
        records: &[AlertRecord],
        now_micros: i64,
        on_new: &mut NewAlertsHook<'_>,
    ) -> Result<RecordOutcome, IncidentError> {
        let mut ordered: Vec<&AlertRecord> = records.iter().collect();
        ordered.sort_by(|left, right| {
            (left.alert.window_end, &left.alert.alert_id)
                .cmp(&(right.alert.window_end, &right.alert.alert_id))
        });
        let transaction = self.connection.transaction()?;
        let grouper = Grouper {
            transaction: &transaction,
            policy: &self.policy,
            now: now_micros,
        };
        let mut outcome = RecordOutcome::default();
        let mut created = BTreeSet::new();
        let mut updated = BTreeSet::new();
        let mut reopened = BTreeSet::new();
        for record in ordered {
            let alert_id = &record.alert.alert_id;
            if grouper.is_known(alert_id)? {
                outcome.duplicates += 1;
                continue;
            }
            let suppressed =
                suppress::suppress(&transaction, &self.policy.suppress, record, now_micros)?;
            if suppressed.is_some() {
                outcome.suppressed += 1;
                continue;
            }
            grouper.insert_alert(record)?;
            let joining = grouper.joining_entities(record)?;
            let candidates = grouper.candidates(&joining, record.alert.window_end)?;
            let target = match candidates.split_first() {
                None => {
                    let id = grouper.create(record)?;
                    outcome.created.push(id.clone());
                    created.insert(id.clone());
                    id
                }
                Some((oldest, others)) => {
                    if !others.is_empty() {
                        grouper.merge(oldest, others, alert_id)?;
                        outcome
                            .merged
                            .extend(others.iter().map(|other| IncidentMerge {
                                from: other.clone(),
                                into: oldest.clone(),
                            }));
                    }
                    oldest.clone()
                }
            };
            if grouper.join(&target, record)? {
                reopened.insert(target.clone());
            }
            if !created.contains(&target) {
                updated.insert(target.clone());
            }
            outcome.placements.push(AlertPlacement {
                alert_id: alert_id.clone(),
                incident_id: target,
            });
            outcome.stored += 1;
        }
        let by_id: std::collections::HashMap<&str, &AlertRecord> = records
            .iter()
            .map(|record| (record.alert.alert_id.as_str(), record))
            .collect();
        let new: Vec<(AlertRecord, Option<String>)> = outcome
            .placements
            .iter()
            .filter_map(|placement| {
                by_id
                    .get(placement.alert_id.as_str())
                    .map(|record| ((*record).clone(), Some(placement.incident_id.clone())))
            })
            .collect();
        if !new.is_empty() {
            on_new(&transaction, &new).map_err(IncidentError::Hook)?;
        }
        transaction.commit()?;
        outcome.updated = updated.into_iter().collect();
        outcome.reopened = reopened.into_iter().collect();
        tracing::debug!(
            stored = outcome.stored,
            duplicates = outcome.duplicates,
            suppressed = outcome.suppressed,
            created = outcome.created.len(),
            merged = outcome.merged.len(),
            "recorded alerts into incidents"
        );
        Ok(outcome)
    }

    /// Changes an incident's status to open, acknowledged or closed, recording who did it in
    /// its history. Setting the status it already has changes nothing. A merged incident
    /// cannot change, and only weft merges.
    pub fn set_status(
        &mut self,
        id: &str,
        status: IncidentStatus,
        actor: &str,
        now_micros: i64,
    ) -> Result<(), IncidentError> {
        self.set_statuses(&[(id, status)], actor, now_micros)
    }

    /// [`Self::set_status`] for several incidents in one transaction (a bulk triage): either
    /// every change is made or, when one fails (an unknown or merged incident, a change to
    /// merged), none is.
    pub fn set_statuses(
        &mut self,
        changes: &[(&str, IncidentStatus)],
        actor: &str,
        now_micros: i64,
    ) -> Result<(), IncidentError> {
        let actor = non_empty(actor, "actor")?;
        let transaction = self.connection.transaction()?;
        for &(id, status) in changes {
            change_status(&transaction, id, status, actor, now_micros)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Assigns an incident to an analyst, or unassigns it with `None`, recording who did it.
    pub fn assign(
        &mut self,
        id: &str,
        assignee: Option<&str>,
        actor: &str,
        now_micros: i64,
    ) -> Result<(), IncidentError> {
        let actor = non_empty(actor, "actor")?;
        let assignee = assignee
            .map(|name| non_empty(name, "assignee"))
            .transpose()?;
        let transaction = self.connection.transaction()?;
        let state = changeable(&transaction, id)?;
        if state.assignee.as_deref() == assignee {
            return Ok(());
        }
        transaction
            .prepare_cached("UPDATE incident SET assignee = ?2, updated = ?3 WHERE id = ?1")?
            .execute(params![id, assignee, now_micros])?;
        insert_history(
            &transaction,
            id,
            now_micros,
            actor,
            Activity::Assigned,
            state.assignee.as_deref(),
            assignee,
            None,
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// Adds an analyst's comment to an incident and returns it as stored (text trimmed).
    pub fn comment(
        &mut self,
        id: &str,
        author: &str,
        text: &str,
        now_micros: i64,
    ) -> Result<Comment, IncidentError> {
        let author = non_empty(author, "comment author")?;
        let text = text.trim();
        if text.is_empty() {
            return Err(IncidentError::EmptyComment { id: id.to_string() });
        }
        if text.len() > MAX_COMMENT_BYTES {
            return Err(IncidentError::CommentTooLong {
                id: id.to_string(),
                len: text.len(),
                max: MAX_COMMENT_BYTES,
            });
        }
        let transaction = self.connection.transaction()?;
        changeable(&transaction, id)?;
        transaction
            .prepare_cached(
                "INSERT INTO incident_comment (incident_id, author, time, text)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, author, now_micros, text])?;
        transaction
            .prepare_cached("UPDATE incident SET updated = ?2 WHERE id = ?1")?
            .execute(params![id, now_micros])?;
        transaction.commit()?;
        Ok(Comment {
            author: author.to_string(),
            time: now_micros,
            text: text.to_string(),
        })
    }
}

/// Sets one incident's status inside the caller's transaction, with its history entry.
fn change_status(
    transaction: &Connection,
    id: &str,
    status: IncidentStatus,
    actor: &str,
    now_micros: i64,
) -> Result<(), IncidentError> {
    let state = changeable(transaction, id)?;
    if status == IncidentStatus::Merged {
        return Err(IncidentError::InvalidTransition {
            id: id.to_string(),
            from: state.status,
            to: status,
        });
    }
    if state.status == status {
        return Ok(());
    }
    transaction
        .prepare_cached("UPDATE incident SET status = ?2, updated = ?3 WHERE id = ?1")?
        .execute(params![id, status.as_str(), now_micros])?;
    insert_history(
        transaction,
        id,
        now_micros,
        actor,
        Activity::Status,
        Some(state.status.as_str()),
        Some(status.as_str()),
        None,
    )?;
    Ok(())
}

struct State {
    status: IncidentStatus,
    assignee: Option<String>,
}

/// The state of an incident an analyst may change: it exists and is not merged.
fn changeable(connection: &Connection, id: &str) -> Result<State, IncidentError> {
    let row: Option<(String, Option<String>, Option<String>)> = connection
        .prepare_cached("SELECT status, assignee, merged_into FROM incident WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((status, assignee, merged_into)) = row else {
        return Err(IncidentError::UnknownIncident { id: id.to_string() });
    };
    let status: IncidentStatus = status
        .parse()
        .map_err(|error: super::model::UnknownStatus| DbError::Corrupt {
            what: format!("status of incident {id}"),
            reason: error.to_string(),
        })?;
    if status == IncidentStatus::Merged {
        return Err(IncidentError::Merged {
            id: id.to_string(),
            into: merged_into.unwrap_or_default(),
        });
    }
    Ok(State { status, assignee })
}

fn non_empty<'a>(name: &'a str, what: &'static str) -> Result<&'a str, IncidentError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IncidentError::EmptyName { what });
    }
    Ok(name)
}
