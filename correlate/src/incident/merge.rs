//! Merging: when an alert shares entities with several incidents, they are one attack seen
//! in pieces. The younger incidents are merged into the oldest (by creation): their alerts,
//! entities and services move, they become read-only `merged` incidents naming the survivor
//! (comments stay where they were written), and both sides record it in their history. The
//! survivor keeps its assignee, or takes the first merged one's when it had none.

use rusqlite::params;

use super::error::IncidentError;
use super::group::{Grouper, fold_alert};
use super::model::Activity;

impl Grouper<'_> {
    /// Merges `others` into `target`: their alerts, entities and services move; they become
    /// `merged` with `merged_into` set; incidents merged into them point at `target`.
    pub fn merge(
        &self,
        target: &str,
        others: &[String],
        bridge: &str,
    ) -> Result<(), IncidentError> {
        for other in others {
            let header = self.header(other)?;
            let moves = [
                "UPDATE alert SET incident_id = ?1 WHERE incident_id = ?2",
                "UPDATE incident SET merged_into = ?1 WHERE merged_into = ?2",
                "UPDATE incident SET assignee = (SELECT assignee FROM incident WHERE id = ?2)
                 WHERE id = ?1 AND assignee IS NULL",
            ];
            for sql in moves {
                self.transaction
                    .prepare_cached(sql)?
                    .execute(params![target, other])?;
            }
            let clears = [
                "DELETE FROM incident_entity WHERE incident_id = ?1",
                "DELETE FROM incident_service WHERE incident_id = ?1",
                "DELETE FROM incident_rule WHERE incident_id = ?1",
            ];
            for sql in clears {
                self.transaction.prepare_cached(sql)?.execute([other])?;
            }
            self.transaction
                .prepare_cached(
                    "UPDATE incident SET status = 'merged', merged_into = ?2, updated = ?3
                     WHERE id = ?1",
                )?
                .execute(params![other, target, self.now])?;
            let note = format!("merged into {target}: alert {bridge} shares entities with both");
            self.history(
                other,
                Activity::Status,
                Some(header.status.as_str()),
                Some("merged"),
                Some(&note),
            )?;
            let note = format!("alert {bridge} shares entities with both");
            self.history(target, Activity::Absorbed, None, Some(other), Some(&note))?;
        }
        self.rebuild(target)
    }

    /// Recomputes an incident's counts and aggregates from its alerts.
    fn rebuild(&self, id: &str) -> Result<(), IncidentError> {
        let statements = [
            "DELETE FROM incident_entity WHERE incident_id = ?1",
            "INSERT INTO incident_entity (incident_id, kind, value, alert_count)
             SELECT ?1, e.kind, e.value, count(*) FROM alert_entity e
             JOIN alert a ON a.alert_id = e.alert_id WHERE a.incident_id = ?1
             GROUP BY e.kind, e.value",
            "DELETE FROM incident_service WHERE incident_id = ?1",
            "INSERT INTO incident_service (incident_id, service, alert_count)
             SELECT ?1, s.service, count(*) FROM alert_service s
             JOIN alert a ON a.alert_id = s.alert_id WHERE a.incident_id = ?1
             GROUP BY s.service",
            "DELETE FROM incident_rule WHERE incident_id = ?1",
            "INSERT INTO incident_rule (incident_id, rule_key)
             SELECT DISTINCT ?1, rule_key FROM alert WHERE incident_id = ?1",
        ];
        for sql in statements {
            self.transaction.prepare_cached(sql)?.execute([id])?;
        }
        let mut header = self.header(id)?;
        header.alert_count = 0;
        header.title_severity = -1;
        header.base_severity = 0;
        header.first_seen = i64::MAX;
        header.last_seen = i64::MIN;
        header.tactics.clear();
        header.techniques.clear();
        let mut statement = self.transaction.prepare_cached(
            "SELECT severity, title, alert_id, window_start, window_end, tags FROM alert
             WHERE incident_id = ?1",
        )?;
        let rows = statement.query_map([id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (severity, title, alert_id, start, end, tags) = row?;
            let tags: Vec<String> = serde_json::from_str(&tags)?;
            header.alert_count += 1;
            fold_alert(&mut header, severity, &title, &alert_id, start, end, &tags);
        }
        self.save(&header)
    }
}
