//! Backtest: stored events replayed in event-time order through the same compiled matcher and
//! correlator that run on the stream, for [from, to].
//!
//! Segments whose time range overlaps [from, to] are read from the manifest (no store lock is
//! taken: segments are immutable once listed) and scanned by DataFusion with the range pushed
//! into the Parquet reader ([`super::scan`]). Events are matched batch by batch; the signals
//! of correlated rules are ordered by (time, event id) and replayed as one partition with no
//! lateness, then the stream is flushed so every open window is decided. Matches of rules that
//! no correlation consumes (or one with `generate: true` does) are alerts of their own.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use weft_ingest::store::manifest::Manifest;

use super::alert::{Alert, single_event_alert};
use super::clock::ManualClock;
use super::compile::CorrelationSet;
use super::engine::{Correlator, CorrelatorConfig};
use super::error::BacktestError;
use super::extract::{event_times, signals_from_batch};
use super::metrics::CorrelatorMetrics;
use super::scan::scan_events;
use super::signal::Signal;
use crate::detect::context::{EntityReader, EventContext};
use crate::sigma::SigmaMatcher;
use crate::sigma::columns::ColumnReader;
use weft_ingest::schema;

/// What a backtest found.
#[derive(Debug, Clone, Default)]
pub struct BacktestReport {
    /// Correlation alerts and single-event alerts, ordered by window end, then alert id.
    pub alerts: Vec<Alert>,
    pub segments_read: usize,
    pub events_read: u64,
    pub signals: u64,
    pub metrics: CorrelatorMetrics,
    /// Contexts of the matched events, when asked for (see [`backtest_with_contexts`]).
    pub contexts: HashMap<String, EventContext>,
}

/// The event-time range to replay, UTC microseconds, inclusive; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TimeRange {
    pub fn contains(&self, time: i64) -> bool {
        self.from.is_none_or(|from| time >= from) && self.to.is_none_or(|to| time <= to)
    }

    fn overlaps(&self, min: i64, max: i64) -> bool {
        self.from.is_none_or(|from| max >= from) && self.to.is_none_or(|to| min <= to)
    }
}

/// Parses RFC 3339, a `YYYY-MM-DD` date (midnight UTC, or the day's last microsecond with
/// `end_of_day`), or Unix seconds, into UTC microseconds.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<i64> {
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_micros());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end_of_day {
            date.and_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            date.and_hms_opt(0, 0, 0)
        };
        return time.map(|time| time.and_utc().timestamp_micros());
    }
    text.parse::<i64>().ok()?.checked_mul(1_000_000)
}

/// Replays the store under `data_dir` over `range` through `matcher` and `set` (compiled over
/// `matcher.rules()`).
pub fn backtest(
    data_dir: &Path,
    matcher: &SigmaMatcher,
    set: Arc<CorrelationSet>,
    range: TimeRange,
    config: CorrelatorConfig,
) -> Result<BacktestReport, BacktestError> {
    backtest_with_contexts(data_dir, matcher, set, range, config, None)
}

/// [`backtest`], also keeping the context (time, service, entities) of every matched event
/// when `entities` is given, so the alerts can become records for incidents.
pub fn backtest_with_contexts(
    data_dir: &Path,
    matcher: &SigmaMatcher,
    set: Arc<CorrelationSet>,
    range: TimeRange,
    config: CorrelatorConfig,
    entities: Option<&EntityReader>,
) -> Result<BacktestReport, BacktestError> {
    let loaded = Manifest::new(data_dir).load()?;
    let mut report = BacktestReport::default();
    let mut signals: Vec<Signal> = Vec::new();
    let mut single: Vec<Alert> = Vec::new();
    let segments: Vec<_> = loaded
        .entries
        .iter()
        .filter(|entry| range.overlaps(entry.min_time, entry.max_time))
        .map(|entry| data_dir.join(&entry.path))
        .collect();
    report.segments_read = segments.len();
    scan_events(&segments, range, |batch| -> Result<(), BacktestError> {
        report.events_read += batch.num_rows() as u64;
        let matches = matcher.match_batch(&batch)?;
        let times = event_times(&batch)?;
        let in_range: Vec<_> = matches
            .into_iter()
            .filter(|found| found.row < times.len() && range.contains(times.value(found.row)))
            .collect();
        if in_range.is_empty() {
            return Ok(());
        }
        if let Some(reader) = entities {
            let rows: BTreeSet<usize> = in_range.iter().map(|found| found.row).collect();
            report.contexts.extend(reader.contexts(&batch, rows)?);
        }
        let ids = ColumnReader::new(&batch, schema::EVENT_ID)?;
        for found in &in_range {
            if set.is_standalone(found.rule) {
                let meta = &set.rule_meta()[found.rule];
                let time = times.value(found.row);
                let event_id = ids
                    .text(found.row)
                    .map(|id| id.into_owned())
                    .unwrap_or_default();
                single.push(single_event_alert(meta, time, &event_id));
            }
        }
        signals.extend(signals_from_batch(&set, &batch, &in_range, 0, &|_| 0)?);
        Ok(())
    })?;
    // One partition, in event-time order; equal times by event id, then rule.
    signals.sort_by(|left, right| {
        (left.key.time, left.evidence.ids(), left.source).cmp(&(
            right.key.time,
            right.evidence.ids(),
            right.source,
        ))
    });
    report.signals = signals.len() as u64;
    // A replay has no processing time to compare event times with: no future cap.
    let config = CorrelatorConfig {
        allowed_lateness: 0,
        max_future_skew: None,
        ..config
    };
    let mut correlator = Correlator::new(set, config, Arc::new(ManualClock::new(0)));
    let mut offset = 0;
    let mut previous: Option<(i64, Box<str>)> = None;
    let mut alerts = Vec::new();
    for mut signal in signals {
        let event = (
            signal.key.time,
            signal.evidence.ids().first().cloned().unwrap_or_default(),
        );
        if previous.as_ref() != Some(&event) {
            offset += 1;
            previous = Some(event);
        }
        signal.key.offset = offset;
        correlator.observe(signal);
    }
    alerts.extend(correlator.flush());
    alerts.extend(single);
    alerts.sort_by(|left, right| {
        (left.window_end, &left.alert_id).cmp(&(right.window_end, &right.alert_id))
    });
    report.metrics = correlator.metrics().clone();
    report.alerts = alerts;
    Ok(report)
}
