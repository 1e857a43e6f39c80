//! The correlator: signals in, alerts out, in event time.
//!
//! `observe` buffers a signal (or counts it as late); `advance` moves the frontier to the
//! minimum watermark and evaluates every buffered signal older than it, in the total order
//! (time, partition, offset, rule); `flush` ends a finite stream (backtest). Each signal is one
//! step: before it is applied, every window that ended strictly before its time is closed, in
//! correlation order (inner correlations first, their alerts fed to the outer ones at the
//! alert's time). The alerts therefore depend only on the ordered signals, never on how they
//! were batched, delivered or interrupted by checkpoints: streaming equals batch.
//!
//! A correlation may wait longer than the configured lateness (`allowed-lateness` in its
//! YAML). Correlations that wait equally long form a class with its own frontier, buffered
//! signals and windows; a correlation reading another's alerts waits at least as long as the
//! one it reads, and its class evaluates its own copy of that inner correlation, so every class
//! is a complete correlator of its own and each keeps streaming equal to batch.

use std::cmp::{Ordering, Reverse};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alert::Alert;
use super::clock::Clock;
use super::compile::CorrelationSet;
use super::metrics::{CorrelatorMetrics, RuleMetrics};
use super::operator::{RuleState, Sink, apply, sweep};
use super::percentiles::Percentiles;
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
    /// How far ahead of processing time (the injected clock) an event time may be and still
    /// move its partition's watermark to itself, microseconds. An event stamped further in the
    /// future (a sender's clock days fast) was certainly written before `now`, so it moves the
    /// watermark only to `now`: it cannot turn every later, correctly stamped event into a
    /// late one. The event itself is still buffered and evaluated at its own time. `None`: no
    /// cap (replays and tests whose clock is not the events' clock).
    pub max_future_skew: Option<i64>,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            allowed_lateness: 5_000_000,
            idle_timeout: 30_000_000,
            max_groups_per_rule: 1_000_000,
            max_events_per_group: 10_000,
            max_alert_event_ids: 100,
            max_future_skew: None,
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

/// The correlations of one lateness class.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassPlan {
    /// Microseconds its correlations wait for late signals.
    lateness: i64,
    /// Per correlation position: evaluated in this class (its own, or read by its own).
    members: Vec<bool>,
    /// Per position: its alerts and metrics are this class's to report.
    owned: Vec<bool>,
}

/// The lateness classes of `set`: the distinct lateness its correlations wait, shortest first,
/// where a correlation waits its own `allowed-lateness` (else `default`) and at least as long
/// as every correlation it reads. Always at least one class.
fn plan_classes(set: &CorrelationSet, default: i64) -> Vec<ClassPlan> {
    let correlations = set.correlations();
    let count = correlations.len();
    let mut waits: Vec<i64> = correlations
        .iter()
        .map(|correlation| {
            correlation
                .rule
                .allowed_lateness_seconds
                .and_then(|seconds| i64::try_from(seconds).ok())
                .map_or(default, |seconds| seconds.saturating_mul(1_000_000))
        })
        .collect();
    let mut inputs: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (position, correlation) in correlations.iter().enumerate() {
        for &(consumer, _) in &correlation.consumers {
            if let Some(list) = inputs.get_mut(consumer) {
                list.push(position);
            }
        }
    }
    // Chains are acyclic: `count` rounds carry the longest wait to the outermost reader.
    for _ in 0..count {
        let mut changed = false;
        for consumer in 0..count {
            for &input in &inputs[consumer] {
                if waits[input] > waits[consumer] {
                    waits[consumer] = waits[input];
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut levels = waits.clone();
    levels.sort_unstable();
    levels.dedup();
    if levels.is_empty() {
        levels.push(default);
    }
    levels
        .into_iter()
        .map(|lateness| {
            let owned: Vec<bool> = waits.iter().map(|wait| *wait == lateness).collect();
            let mut members = owned.clone();
            let mut stack: Vec<usize> = (0..count).filter(|position| owned[*position]).collect();
            while let Some(position) = stack.pop() {
                for &input in &inputs[position] {
                    if !members[input] {
                        members[input] = true;
                        stack.push(input);
                    }
                }
            }
            ClassPlan {
                lateness,
                members,
                owned,
            }
        })
        .collect()
}

/// One lateness class's evaluation state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ClassState {
    /// Signals before this time have been evaluated in this class.
    pub frontier: i64,
    /// Buffered signals; sorted (stably, cheap on nearly sorted input) when the frontier moves.
    pub pending: Vec<Pending>,
    /// Per correlation position (empty for the positions outside the class).
    pub rules: Vec<RuleState>,
}

/// Everything a checkpoint holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CorrelatorState {
    pub watermarks: Watermarks,
    /// Per lateness class, shortest lateness first.
    pub classes: Vec<ClassState>,
    pub metrics: CorrelatorMetrics,
    pub late: Vec<LateSignal>,
    pub sequence: u64,
}

/// The streaming correlator over a [`CorrelationSet`].
#[derive(Debug)]
pub struct Correlator {
    set: Arc<CorrelationSet>,
    classes: Arc<Vec<ClassPlan>>,
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
        let classes = plan_classes(&set, config.allowed_lateness).len();
        let state = CorrelatorState {
            classes: vec![
                ClassState {
                    frontier: i64::MIN,
                    pending: Vec::new(),
                    rules: vec![RuleState::default(); rules],
                };
                classes
            ],
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
        let classes = Arc::new(plan_classes(&set, config.allowed_lateness));
        Correlator {
            set,
            classes,
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

    /// Whether `state` (from a checkpoint) has the classes and correlations this correlator
    /// plans.
    pub(super) fn state_fits(&self) -> bool {
        let rules = self.set.correlations().len();
        self.state.classes.len() == self.classes.len()
            && self
                .state
                .classes
                .iter()
                .all(|class| class.rules.len() == rules)
            && self.state.metrics.rules.len() == rules
    }

    /// The allowed lateness of each class, shortest first, with the ids of the correlations
    /// it reports.
    pub fn lateness_classes(&self) -> Vec<(i64, Vec<String>)> {
        self.classes
            .iter()
            .map(|plan| {
                let rules = self
                    .set
                    .correlations()
                    .iter()
                    .zip(&plan.owned)
                    .filter(|(_, owned)| **owned)
                    .map(|(correlation, _)| correlation.rule.meta.label())
                    .collect();
                (plan.lateness, rules)
            })
            .collect()
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
        for rule in self.state.classes.iter().flat_map(|class| &class.rules) {
            total += rule
                .baseline
                .as_ref()
                .map_or(0, |state| state.approximate_bytes());
            total += rule.groups.capacity() * (size_of::<(Box<str>, GroupWindow)>() + 1);
            total += rule.timers.capacity() * size_of::<Reverse<(i64, Box<str>)>>();
            for (key, group) in &rule.groups {
                total += key.len() * 2;
                total += group.entries.capacity() * size_of::<Entry>();
                total += group.per_input.capacity() * size_of::<u32>();
                total += group.distinct.capacity() * (size_of::<(Box<str>, u32)>() + 1);
                total += group
                    .percentiles
                    .as_ref()
                    .map_or(0, Percentiles::approximate_bytes);
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
        total += self
            .state
            .classes
            .iter()
            .map(|class| class.pending.capacity() * size_of::<Pending>())
            .sum::<usize>();
        total
    }

    /// Signals before this event time have been evaluated (in every lateness class).
    pub fn frontier(&self) -> i64 {
        self.state
            .classes
            .iter()
            .map(|class| class.frontier)
            .min()
            .unwrap_or(i64::MIN)
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

    /// A partition delivered an event at `time` (matched or not): moves its watermark. A time
    /// more than `max_future_skew` ahead of `now` moves it only to `now` (counted in
    /// `future_times_capped`).
    pub fn observe_progress(&mut self, partition: u32, time: i64) {
        let now = self.clock.now_micros();
        let time = match self.config.max_future_skew {
            Some(skew) if time > now.saturating_add(skew) => {
                self.state.metrics.future_times_capped += 1;
                now
            }
            _ => time,
        };
        self.state.watermarks.observe(partition, time, now);
    }

    /// Buffers a base signal (a Sigma rule's match) until the frontier of each lateness class
    /// that reads it passes it. A signal older than such a frontier is late there: counted and
    /// kept in [`Self::take_late`], not evaluated by that class.
    pub fn observe(&mut self, signal: Signal) {
        self.state.metrics.signals_observed += 1;
        let Source::Rule(rule) = signal.source else {
            return;
        };
        if let [class] = self.state.classes.as_mut_slice() {
            // One class (no rule waits longer than the default): no bookkeeping per class.
            if signal.key.time < class.frontier {
                let frontier = class.frontier;
                self.record_late(&signal, frontier);
                return;
            }
            self.observe_progress(signal.key.partition, signal.key.time);
            if !self.set.is_correlated(rule) {
                return;
            }
            self.state.sequence += 1;
            let sequence = self.state.sequence;
            let class = &mut self.state.classes[0];
            class.pending.push(Pending { signal, sequence });
            self.state.metrics.pending_signals = class.pending.len() as u64;
            return;
        }
        let consumers = self.set.consumers_of(rule);
        let mut late_at: Option<i64> = None;
        let mut targets: Vec<usize> = Vec::new();
        if consumers.is_empty() {
            let frontier = self.frontier();
            if signal.key.time < frontier {
                late_at = Some(frontier);
            }
        } else {
            for (class, plan) in self.classes.iter().enumerate() {
                if !consumers
                    .iter()
                    .any(|(consumer, _)| plan.members.get(*consumer) == Some(&true))
                {
                    continue;
                }
                let frontier = self.state.classes[class].frontier;
                if signal.key.time < frontier {
                    late_at = Some(late_at.map_or(frontier, |late| late.max(frontier)));
                } else {
                    targets.push(class);
                }
            }
        }
        if let Some(frontier) = late_at {
            self.record_late(&signal, frontier);
            if targets.is_empty() {
                return;
            }
        }
        self.observe_progress(signal.key.partition, signal.key.time);
        let Some((&last, others)) = targets.split_last() else {
            return;
        };
        for &class in others {
            self.state.sequence += 1;
            let pending = Pending {
                signal: signal.clone(),
                sequence: self.state.sequence,
            };
            self.state.classes[class].pending.push(pending);
        }
        self.state.sequence += 1;
        let sequence = self.state.sequence;
        self.state.classes[last]
            .pending
            .push(Pending { signal, sequence });
        self.count_pending();
    }

    fn record_late(&mut self, signal: &Signal, frontier: i64) {
        self.state.metrics.late_signals += 1;
        self.state.late.push(LateSignal {
            source: signal.source,
            key: signal.key,
            event_id: signal.evidence.ids().first().cloned().unwrap_or_default(),
            frontier,
        });
    }

    fn count_pending(&mut self) {
        self.state.metrics.pending_signals = self
            .state
            .classes
            .iter()
            .map(|class| class.pending.len() as u64)
            .sum();
    }

    /// Moves each class's frontier to the minimum watermark less its lateness and evaluates
    /// everything before it.
    pub fn advance(&mut self) -> Vec<Alert> {
        let now = self.clock.now_micros();
        let mut out = Vec::new();
        let classes = Arc::clone(&self.classes);
        for (class, plan) in classes.iter().enumerate() {
            if let Some(frontier) =
                self.state
                    .watermarks
                    .frontier(plan.lateness, self.config.idle_timeout, now)
            {
                self.advance_class(class, plan, frontier, &mut out);
            }
        }
        self.count_pending();
        out
    }

    /// Evaluates everything before `frontier` in every class (never moves a frontier back).
    pub fn advance_to(&mut self, frontier: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        let classes = Arc::clone(&self.classes);
        for (class, plan) in classes.iter().enumerate() {
            self.advance_class(class, plan, frontier, &mut out);
        }
        self.count_pending();
        out
    }

    fn advance_class(
        &mut self,
        class: usize,
        plan: &ClassPlan,
        frontier: i64,
        out: &mut Vec<Alert>,
    ) {
        let Some(state) = self.state.classes.get_mut(class) else {
            return;
        };
        if frontier <= state.frontier {
            return;
        }
        state.frontier = frontier;
        let set = Arc::clone(&self.set);
        let mut pending = std::mem::take(&mut state.pending);
        pending.sort();
        let due = pending.partition_point(|pending| pending.signal.key.time < frontier);
        for pending in pending.drain(..due) {
            let time = pending.signal.key.time;
            self.step(&set, class, plan, Some(&pending.signal), time, out);
        }
        self.state.classes[class].pending = pending;
        self.step(&set, class, plan, None, frontier, out);
    }

    /// Ends the stream: evaluates every buffered signal and closes every window.
    pub fn flush(&mut self) -> Vec<Alert> {
        self.advance_to(i64::MAX)
    }

    /// One step of a class's total order: windows ending before `time` close, then `base`
    /// applies.
    fn step(
        &mut self,
        set: &CorrelationSet,
        class: usize,
        plan: &ClassPlan,
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
        // A copy of an inner correlation evaluated for an outer class counts nowhere.
        let mut copy_metrics;
        for (position, correlation) in set.correlations().iter().enumerate() {
            if !plan.members[position] {
                continue;
            }
            let mut inputs = std::mem::take(&mut self.queues[position]);
            let base_input = base_consumers
                .iter()
                .find(|(consumer, _)| *consumer == position)
                .map(|(_, input)| *input);
            let rule_state = &mut self.state.classes[class].rules[position];
            let due = rule_state.timers.peek().map(|timer| timer.0.0);
            if inputs.is_empty() && base_input.is_none() && due.is_none_or(|due| due >= time) {
                self.queues[position] = inputs;
                continue;
            }
            inputs.sort_by_key(|(_, signal)| signal.key);
            let metrics = if plan.owned[position] {
                &mut self.state.metrics.rules[position]
            } else {
                copy_metrics = RuleMetrics::default();
                &mut copy_metrics
            };
            let mut sink = Sink {
                set,
                queues: &mut self.queues,
                out,
                max_event_ids: config.max_alert_event_ids,
                members: &plan.members,
                reports: plan.owned[position],
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
            metrics.live_groups = rule_state.live_groups() as u64;
            metrics.peak_groups = metrics.peak_groups.max(metrics.live_groups);
            self.queues[position] = inputs;
        }
    }
}
