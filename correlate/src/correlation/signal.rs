//! Signals: what the correlator consumes. A base signal is one event matched by one Sigma rule;
//! a derived signal is an alert of a correlation that another correlation refers to.

use serde::{Deserialize, Serialize};

/// An event's place in the total order the correlator processes: event time, then the source
/// partition and the offset within it (so equal timestamps break deterministically).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventKey {
    /// Event time, UTC microseconds.
    pub time: i64,
    pub partition: u32,
    pub offset: u64,
}

/// The events behind a signal: one event id, or an inner alert's ids (capped) with the true
/// count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    One(Box<str>),
    Many { ids: Vec<Box<str>>, count: u64 },
}

impl Evidence {
    pub fn count(&self) -> u64 {
        match self {
            Evidence::One(_) => 1,
            Evidence::Many { count, .. } => *count,
        }
    }

    pub fn ids(&self) -> &[Box<str>] {
        match self {
            Evidence::One(id) => std::slice::from_ref(id),
            Evidence::Many { ids, .. } => ids,
        }
    }
}

/// Where a signal comes from: a Sigma rule (its position in the matcher's rules) or a
/// correlation (its position in [`super::CorrelationSet::correlations`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Source {
    Rule(usize),
    Correlation(usize),
}

/// One rule match, with the field values the correlations that consume it need (aligned with
/// [`super::CorrelationSet::fields_of`] for its source; `None` when the event lacks the field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub source: Source,
    pub key: EventKey,
    pub evidence: Evidence,
    pub values: Vec<Option<Box<str>>>,
}

/// A signal that arrived after the watermark had passed its time: not evaluated in the stream
/// (its windows are already decided), kept for the scheduled re-evaluation of its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateSignal {
    pub source: Source,
    pub key: EventKey,
    pub event_id: Box<str>,
    /// The frontier the correlator had reached when it arrived.
    pub frontier: i64,
}
