//! What the incident store holds and answers with: severities, statuses, incidents as listed
//! and in full, stored alerts, comments and the activity history.
//!
//! Times are UTC microseconds in Rust and RFC 3339 strings in JSON (`2026-05-01T12:00:00.000000Z`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::correlation::Alert;
use crate::correlation::alert::format_time;
use crate::record::{AlertSource, Entity};

/// How bad an incident or alert is: the Sigma levels, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The severity of a Sigma `level`; an alert without a (known) level counts as medium, so
    /// a rule that forgot its level is neither buried nor escalated.
    pub fn from_level(level: Option<&str>) -> Severity {
        level
            .and_then(|level| level.parse().ok())
            .unwrap_or(Severity::Medium)
    }

    /// One level up, capped at critical.
    pub fn raised(self) -> Severity {
        Severity::from_rank(self.rank() + 1)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// 0 (informational) to 4 (critical), as stored.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// The severity of a stored rank, clamped into range.
    pub fn from_rank(rank: i64) -> Severity {
        let index = usize::try_from(rank.clamp(0, 4)).unwrap_or(0);
        Severity::ALL[index]
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A severity name that is not one of weft's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}; use informational, low, medium, high or critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Severity, UnknownSeverity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Severity::Informational),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(text.to_string())),
        }
    }
}

/// Where an incident is in an analyst's work. `Merged` is set by weft only, when a later alert
/// shows two incidents are one; a merged incident is read-only and names the incident it went
/// into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Closed,
    Merged,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Closed => "closed",
            IncidentStatus::Merged => "merged",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A status name that is not one of weft's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident status {0:?}; use open, acknowledged, closed or merged")]
pub struct UnknownStatus(pub String);

impl FromStr for IncidentStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<IncidentStatus, UnknownStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(IncidentStatus::Open),
            "acknowledged" | "ack" => Ok(IncidentStatus::Acknowledged),
            "closed" => Ok(IncidentStatus::Closed),
            "merged" => Ok(IncidentStatus::Merged),
            _ => Err(UnknownStatus(text.to_string())),
        }
    }
}

/// Serializes UTC microseconds as RFC 3339.
pub(crate) fn rfc3339<S: Serializer>(micros: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(*micros))
}

fn rfc3339_option<S: Serializer>(micros: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    match micros {
        Some(micros) => rfc3339(micros, serializer),
        None => serializer.serialize_none(),
    }
}

/// An incident as listed: what an analyst triages by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSummary {
    /// `INC-` and 12 hex digits derived from the incident's first alert.
    pub id: String,
    /// The title of its most severe alert, with its main entity (`... (user alice)`).
    pub title: String,
    /// The highest alert level, raised one level when enough distinct rules agree.
    pub severity: Severity,
    pub status: IncidentStatus,
    pub assignee: Option<String>,
    /// Entities of its alerts, the most frequent first.
    pub entities: Vec<Entity>,
    pub alert_count: u64,
    /// How many distinct rules raised its alerts.
    pub rule_count: u64,
    pub services: Vec<String>,
    /// ATT&CK tactics in kill-chain order (`credential_access`).
    pub tactics: Vec<String>,
    /// ATT&CK techniques, sorted (`T1110`, `T1110.004`).
    pub techniques: Vec<String>,
    /// Event time of its earliest alert window start.
    #[serde(serialize_with = "rfc3339")]
    pub first_seen: i64,
    /// Event time of its latest alert window end.
    #[serde(serialize_with = "rfc3339")]
    pub last_seen: i64,
    /// When weft created it (processing time).
    #[serde(serialize_with = "rfc3339")]
    pub created: i64,
    /// When it last changed (processing time).
    #[serde(serialize_with = "rfc3339")]
    pub updated: i64,
    /// For a merged incident, the incident its alerts went into.
    pub merged_into: Option<String>,
}

/// An entity of an incident with how many of its alerts carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityCount {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub alert_count: u64,
}

/// An analyst's comment on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub author: String,
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    pub text: String,
}

/// What changed in an incident's activity history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// weft created the incident from an alert.
    Created,
    /// The status changed (by an analyst, or by weft reopening or merging it).
    Status,
    /// The assignee changed.
    Assigned,
    /// Another incident was merged into this one.
    Absorbed,
}

impl Activity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Activity::Created => "created",
            Activity::Status => "status",
            Activity::Assigned => "assigned",
            Activity::Absorbed => "absorbed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Activity> {
        [
            Activity::Created,
            Activity::Status,
            Activity::Assigned,
            Activity::Absorbed,
        ]
        .into_iter()
        .find(|activity| activity.as_str() == text)
    }
}

/// One row of an incident's audit trail: who changed what, when, from what to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    #[serde(serialize_with = "rfc3339")]
    pub time: i64,
    /// The analyst, or `weft` for automatic changes.
    pub actor: String,
    pub activity: Activity,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Why, for automatic changes (`new alert <id>`).
    pub note: Option<String>,
}

/// The actor weft records for its own changes.
pub const WEFT_ACTOR: &str = "weft";

/// An alert as stored, with where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredAlert {
    pub alert: Alert,
    pub severity: Severity,
    pub entities: Vec<Entity>,
    pub services: Vec<String>,
    pub source: AlertSource,
    /// The incident it belongs to (after merges, the surviving one).
    pub incident_id: Option<String>,
    /// When weft stored it (processing time).
    #[serde(serialize_with = "rfc3339")]
    pub stored_at: i64,
    /// How many later alerts were suppressed into this one.
    pub suppressed_count: u64,
    /// Event time of the latest of them.
    #[serde(serialize_with = "rfc3339_option")]
    pub last_suppressed: Option<i64>,
}

/// An incident in full, for its page and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub summary: IncidentSummary,
    /// Entities with how many alerts carry each, the most frequent first.
    pub entity_counts: Vec<EntityCount>,
    /// Its alerts in event order (window end, then id).
    pub alerts: Vec<StoredAlert>,
    /// The evidence events of its alerts, in alert order, without repeats.
    pub evidence_event_ids: Vec<String>,
    /// Incidents merged into this one.
    pub merged_from: Vec<String>,
    pub comments: Vec<Comment>,
    pub history: Vec<HistoryEntry>,
}

/// An incident that was merged into another while recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentMerge {
    pub from: String,
    pub into: String,
}

/// Where a newly stored alert went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertPlacement {
    pub alert_id: String,
    pub incident_id: String,
}

/// What one [`record`](super::IncidentStore::record) call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// New alerts stored.
    pub stored: usize,
    /// Alerts already stored (or already suppressed): replays change nothing.
    pub duplicates: usize,
    /// Alerts suppressed into an earlier alert of their rule.
    pub suppressed: usize,
    /// Each new alert and the incident it joined, in processing order.
    pub placements: Vec<AlertPlacement>,
    /// Incidents created, in creation order.
    pub created: Vec<String>,
    /// Existing incidents that received alerts, sorted.
    pub updated: Vec<String>,
    /// Closed incidents reopened by a new alert, sorted.
    pub reopened: Vec<String>,
    /// Incidents merged into older ones because an alert bridged them.
    pub merged: Vec<IncidentMerge>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_parse_and_raise() {
        assert!(Severity::Critical > Severity::High);
        assert_eq!(Severity::from_level(Some("HIGH")), Severity::High);
        assert_eq!(Severity::from_level(None), Severity::Medium);
        assert_eq!(Severity::from_level(Some("weird")), Severity::Medium);
        assert_eq!(Severity::High.raised(), Severity::Critical);
        assert_eq!(Severity::Critical.raised(), Severity::Critical);
        for severity in Severity::ALL {
            assert_eq!(Severity::from_rank(severity.rank()), severity);
        }
        let error = "urgent"
            .parse::<Severity>()
            .expect_err("unknown")
            .to_string();
        assert!(error.contains("use informational"), "{error}");
    }

    #[test]
    fn statuses_parse_and_print() {
        for status in ["open", "acknowledged", "closed", "merged"] {
            assert_eq!(
                status.parse::<IncidentStatus>().expect(status).as_str(),
                status
            );
        }
        assert!("resolved".parse::<IncidentStatus>().is_err());
    }
}
