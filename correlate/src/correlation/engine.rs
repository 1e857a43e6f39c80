//! The correlator: signals in, alerts out, in event time.
//!
//! `observe` buffers a signal (or counts it as late); `advance` moves the frontier to the
//! minimum watermark and evaluates every buffered signal older than it, in the total order
//! (time, partition, offset, rule); `flush` ends a finite stream (backtest). Each signal is one
//! step: before it is applied, every window that ended strictly before its time is closed, in
//! correlation order (inner correlations first, their alerts fed to the outer ones at the
//! alert's time). The alerts therefore depend only on the ordered signals, never on how they
//! were batched, delivered or interrupted by checkpoints: streaming equals batch.

use std::cmp::{Ordering, Reverse};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::Alert;
use super::clock::Clock;
use super::compile::CorrelationSet;
use super::metrics::{CorrelatorMetrics, RuleMetrics};
use super::operator::{RuleState, Sink, apply, sweep};
use super::signal::{LateSignal, Signal, Source};
use super::watermark::Watermarks;
use super::window::{Entry, EntryValue, GroupWindow};

/// How the correlator waits for late data and bounds its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelatorConfig {
    /// How far behind its partition's newest event a signal may arrive and still be
    /// evaluated, microseconds. Alerts wait this long.
    pub allowed_lateness: i64,
    /// A partition silent this long (processing time, microseconds) no longer holds the
    /// frontier back.
    pub idle_timeout: i64,
    /// Live group keys per correlation rule; a signal for a new group beyond it is dropped
    /// and counted.
    pub max_groups_per_rule: usize,
    /// Signals kept per group; the oldest is pushed out (and counted) beyond it.
    pub max_events_per_group: usize,
    /// Event ids listed in an alert (its `event_count` is always the true count).
    pub max_alert_event_ids: usize,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            allowed_lateness: 5_000_000,
            idle_timeout: 30_000_000,
            max_groups_per_rule: 1_000_000,
            max_events_per_group: 10_000,
            max_alert_event_ids: 100,
        }
    }
}

/// A buffered signal, ordered by (key, rule, arrival).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Pending {
    pub signal: Signal,
    pub sequence: u64,
}

impl Eq for Pending {}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.signal.key, self.signal.source, self.sequence).cmp(&(
            other.signal.key,
            other.signal.source,
            other.sequence,
        ))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Everything a checkpoint holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CorrelatorState {
    pub watermarks: Watermarks,
    /// Signals before this time have been evaluated.
    pub frontier: i64,
    /// Buffered signals; sorted (stably, cheap on nearly sorted input) when the frontier moves.
    pub pending: Vec<Pending>,
    pub rules: Vec<RuleState>,
    pub metrics: CorrelatorMetrics,
    pub late: Vec<LateSignal>,
    pub sequence: u64,
}

/// The streaming correlator over a [`CorrelationSet`].
#[derive(Debug)]
pub struct Correlator {
    set: Arc<CorrelationSet>,
    config: CorrelatorConfig,
    clock: Arc<dyn Clock>,
    pub(super) state: CorrelatorState,
    /// Derived signals (input, signal) waiting for their correlation within one step.
    queues: Vec<Vec<(usize, Signal)>>,
    key_buffer: String,
}

impl Correlator {
    pub fn new(set: Arc<CorrelationSet>, config: CorrelatorConfig, clock: Arc<dyn Clock>) -> Self {
        let rules = set.correlations().len();
        let state = CorrelatorState {
            frontier: i64::MIN,
            rules: vec![RuleState::default(); rules],
            metrics: CorrelatorMetrics {
                rules: vec![RuleMetrics::default(); rules],
                ..CorrelatorMetrics::default()
            },
            ..CorrelatorState::default()
        };
        Correlator::with_state(set, config, clock, state)
    }

    pub(super) fn with_state(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        clock: Arc<dyn Clock>,
        state: CorrelatorState,
    ) -> Self {
        let rules = set.correlations().len();
        Correlator {
            set,
            config,
            clock,
            state,
            queues: vec![Vec::new(); rules],
            key_buffer: String::new(),
        }
    }

    pub fn set(&self) -> &Arc<CorrelationSet> {
        &self.set
    }

    pub fn config(&self) -> &CorrelatorConfig {
        &self.config
    }

    pub fn metrics(&self) -> &CorrelatorMetrics {
        &self.state.metrics
    }

    /// An estimate of the bytes the live state holds (groups, windows, timers, buffered
    /// signals), for the memory-per-key figure and the state gauge.
    pub fn approximate_state_bytes(&self) -> usize {
        use std::mem::size_of;
        let mut total = 0;
        for rule in &self.state.rules {
            total += rule.groups.capacity() * (size_of::<(Box<str>, GroupWindow)>() + 1);
            total += rule.timers.capacity() * size_of::<Reverse<(i64, Box<str>)>>();
            for (key, group) in &rule.groups {
                total += key.len() * 2;
                total += group.entries.capacity() * size_of::<Entry>();
                total += group.per_input.capacity() * size_of::<u32>();
                total += group.distinct.capacity() * (size_of::<(Box<str>, u32)>() + 1);
                total += group.sorted.capacity() * size_of::<f64>();
                total += group
                    .distinct
                    .keys()
                    .map(|value| value.len())
                    .sum::<usize>();
                for entry in &group.entries {
                    total += entry
                        .evidence
                        .ids()
                        .iter()
                        .map(|id| id.len())
                        .sum::<usize>();
                    if let EntryValue::Text(text) = &entry.value {
                        total += text.len();
                    }
                }
            }
        }
        total += self.state.pending.capacity() * size_of::<Pending>();
        total
    }

    /// Signals before this event time have been evaluated.
    pub fn frontier(&self) -> i64 {
        self.state.frontier
    }

    /// Late signals since the last call, for the scheduled re-evaluation of their windows.
    pub fn take_late(&mut self) -> Vec<LateSignal> {
        std::mem::take(&mut self.state.late)
    }

    /// A partition is assigned: it holds the frontier until it delivers or goes idle.
    pub fn assign_partition(&mut self, partition: u32) {
        let now = self.clock.now_micros();
        self.state.watermarks.assign(partition, now);
    }

    pub fn revoke_partition(&mut self, partition: u32) {
        self.state.watermarks.revoke(partition);
    }

    /// A partition delivered an event at `time` (matched or not): moves its watermark.
    pub fn observe_progress(&mut self, partition: u32, time: i64) {
        let now = self.clock.now_micros();
        self.state.watermarks.observe(partition, time, now);
    }

    /// Buffers a base signal (a Sigma rule's match) until the frontier passes it. A signal
    /// older than the frontier is late: counted and kept in [`Self::take_late`], not
    /// evaluated.
    pub fn observe(&mut self, signal: Signal) {
        self.state.metrics.signals_observed += 1;
        let Source::Rule(rule) = signal.source else {
            return;
        };
        if signal.key.time < self.state.frontier {
            self.state.metrics.late_signals += 1;
            self.state.late.push(LateSignal {
                source: signal.source,
                key: signal.key,
                event_id: signal.evidence.ids().first().cloned().unwrap_or_default(),
                frontier: self.state.frontier,
            });
            return;
        }
        self.observe_progress(signal.key.partition, signal.key.time);
        if !self.set.is_correlated(rule) {
            return;
        }
        self.state.sequence += 1;
        self.state.pending.push(Pending {
            signal,
            sequence: self.state.sequence,
        });
        self.state.metrics.pending_signals = self.state.pending.len() as u64;
    }

    /// Moves the frontier to the current minimum watermark and evaluates everything before it.
    pub fn advance(&mut self) -> Vec<Alert> {
        let now = self.clock.now_micros();
        let Some(frontier) = self.state.watermarks.frontier(
            self.config.allowed_lateness,
            self.config.idle_timeout,
            now,
        ) else {
            return Vec::new();
        };
        self.advance_to(frontier)
    }

    /// Evaluates everything before `frontier` (never moves it back).
    pub fn advance_to(&mut self, frontier: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        if frontier <= self.state.frontier {
            return out;
        }
        self.state.frontier = frontier;
        let set = Arc::clone(&self.set);
        let mut pending = std::mem::take(&mut self.state.pending);
        pending.sort();
        let due = pending.partition_point(|pending| pending.signal.key.time < frontier);
        for pending in pending.drain(..due) {
            let time = pending.signal.key.time;
            self.step(&set, Some(&pending.signal), time, &mut out);
        }
        self.state.pending = pending;
        self.step(&set, None, frontier, &mut out);
        self.state.metrics.pending_signals = self.state.pending.len() as u64;
        out
    }

    /// Ends the stream: evaluates every buffered signal and closes every window.
    pub fn flush(&mut self) -> Vec<Alert> {
        self.advance_to(i64::MAX)
    }

    /// One step of the total order: windows ending before `time` close, then `base` applies.
    fn step(
        &mut self,
        set: &CorrelationSet,
        base: Option<&Signal>,
        time: i64,
        out: &mut Vec<Alert>,
    ) {
        let base_consumers = match base {
            Some(Signal {
                source: Source::Rule(rule),
                ..
            }) => set.consumers_of(*rule),
            _ => &[],
        };
        let config = self.config;
        for (position, correlation) in set.correlations().iter().enumerate() {
            let mut inputs = std::mem::take(&mut self.queues[position]);
            let base_input = base_consumers
                .iter()
                .find(|(consumer, _)| *consumer == position)
                .map(|(_, input)| *input);
            let rule_state = &mut self.state.rules[position];
            let due = rule_state.timers.peek().map(|timer| timer.0.0);
            if inputs.is_empty() && base_input.is_none() && due.is_none_or(|due| due >= time) {
                self.queues[position] = inputs;
                continue;
            }
            inputs.sort_by_key(|(_, signal)| signal.key);
            let metrics = &mut self.state.metrics.rules[position];
            let mut sink = Sink {
                set,
                queues: &mut self.queues,
                out,
                max_event_ids: config.max_alert_event_ids,
            };
            for (input, signal) in inputs.drain(..) {
                sweep(
                    correlation,
                    position,
                    rule_state,
                    metrics,
                    signal.key.time,
                    &mut sink,
                );
                apply(
                    correlation,
                    position,
                    rule_state,
                    metrics,
                    &config,
                    &mut self.key_buffer,
                    input,
                    &signal,
                    &mut sink,
                );
            }
            if let (Some(input), Some(signal)) = (base_input, base) {
                sweep(correlation, position, rule_state, metrics, time, &mut sink);
                apply(
                    correlation,
                    position,
                    rule_state,
                    metrics,
                    &config,
                    &mut self.key_buffer,
                    input,
                    signal,
                    &mut sink,
                );
            }
            sweep(correlation, position, rule_state, metrics, time, &mut sink);
            metrics.live_groups = rule_state.groups.len() as u64;
            metrics.peak_groups = metrics.peak_groups.max(metrics.live_groups);
            self.queues[position] = inputs;
        }
    }
}
