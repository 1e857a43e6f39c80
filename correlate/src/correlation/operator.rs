//! One correlation rule at work: its live groups and their timers, and what time and signals
//! do to them — a sweep closes (or expires) the windows that ended before a time, a signal joins
//! its group's window (eager rules decide at once), a satisfied window fires an alert that goes
//! out and to the correlations that refer to this one.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::alert::{self, Alert, GROUP_SEPARATOR};
use super::compile::{CompiledCorrelation, CorrelationKind, CorrelationSet, Mode};
use super::engine::CorrelatorConfig;
use super::metrics::RuleMetrics;
use super::percentiles::Percentiles;
use super::sequence::Partial;
use super::signal::{EventKey, Evidence, Signal, Source};
use super::window::{Entry, EntryValue, GroupWindow};
use super::{aggregate, sequence, temporal};
use crate::baseline::BaselineState;

/// One correlation rule's live groups and their timers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct RuleState {
    pub groups: FxHashMap<Box<str>, GroupWindow>,
    /// (due time, group key); a timer whose time differs from its group's `timer` is stale.
    pub timers: BinaryHeap<Reverse<(i64, Box<str>)>>,
    /// A baseline rule's learned state (`crate::baseline`); its next due time is the one
    /// entry of `timers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Box<BaselineState>>,
}

impl RuleState {
    /// Live groups (a baseline's live pairs).
    pub fn live_groups(&self) -> usize {
        self.groups.len() + self.baseline.as_ref().map_or(0, |state| state.pairs())
    }
}

/// Where fired alerts go.
pub(super) struct Sink<'a> {
    pub set: &'a CorrelationSet,
    pub queues: &'a mut [Vec<(usize, Signal)>],
    pub out: &'a mut Vec<Alert>,
    pub max_event_ids: usize,
    /// Per correlation position: evaluated in this lateness class (only these are fed).
    pub members: &'a [bool],
    /// Whether the correlation's alerts are this class's to report (not a copy's).
    pub reports: bool,
}

/// Closes (or expires) the windows of one correlation that ended strictly before `time`.
pub(super) fn sweep(
    correlation: &CompiledCorrelation,
    position: usize,
    rule_state: &mut RuleState,
    metrics: &mut RuleMetrics,
    time: i64,
    sink: &mut Sink<'_>,
) {
    if correlation.rule.baseline.is_some() {
        baseline_step(correlation, position, rule_state, metrics, time, None, sink);
        return;
    }
    let span = correlation.timespan;
    while rule_state
        .timers
        .peek()
        .is_some_and(|timer| timer.0.0 < time)
    {
        let Some(Reverse((due, key))) = rule_state.timers.pop() else {
            break;
        };
        let Some(group) = rule_state.groups.get_mut(&key) else {
            continue;
        };
        if group.timer != due {
            continue;
        }
        if let Some(plan) = &correlation.sequence {
            let last = group.partials.get(plan.stages.len().wrapping_sub(1));
            let waiting = if plan.trailing_absent.is_empty() {
                None
            } else {
                last.and_then(|partial| partial.as_ref().map(|partial| partial.start))
            };
            if let Some(start) = waiting
                && start.saturating_add(span) < time
            {
                let end = start.saturating_add(span);
                let done = group.partials.pop().flatten();
                rule_state.groups.remove(&key);
                if let Some(done) = done {
                    let trigger = EventKey {
                        time: end,
                        partition: u32::MAX,
                        offset: 0,
                    };
                    let window = chain_window(done);
                    fire(
                        correlation,
                        position,
                        metrics,
                        &key,
                        &window,
                        (start, end),
                        trigger,
                        sink,
                    );
                }
                continue;
            }
            let latest = group
                .partials
                .iter()
                .flatten()
                .map(|partial| partial.start)
                .max();
            match latest.map(|start| start.saturating_add(span)) {
                Some(expiry) if expiry >= time => {
                    let next =
                        waiting.map_or(expiry, |start| expiry.min(start.saturating_add(span)));
                    group.timer = next;
                    rule_state.timers.push(Reverse((next, key)));
                }
                _ => {
                    rule_state.groups.remove(&key);
                    metrics.expired_groups += 1;
                }
            }
            continue;
        }
        match correlation.mode {
            Mode::Eager => {
                let expiry = group.last_time().unwrap_or(i64::MIN).saturating_add(span);
                if expiry < time {
                    rule_state.groups.remove(&key);
                    metrics.expired_groups += 1;
                } else {
                    group.timer = expiry;
                    rule_state.timers.push(Reverse((expiry, key)));
                }
            }
            Mode::OnClose => loop {
                let Some(first) = group.first_time() else {
                    rule_state.groups.remove(&key);
                    metrics.expired_groups += 1;
                    break;
                };
                let end = first.saturating_add(span);
                if end >= time {
                    group.timer = end;
                    rule_state.timers.push(Reverse((end, key)));
                    break;
                }
                if holds(correlation, group) {
                    let window = std::mem::take(group);
                    rule_state.groups.remove(&key);
                    let trigger = EventKey {
                        time: end,
                        partition: u32::MAX,
                        offset: 0,
                    };
                    fire(
                        correlation,
                        position,
                        metrics,
                        &key,
                        &window,
                        (first, end),
                        trigger,
                        sink,
                    );
                    break;
                }
                group.pop_front();
            },
        }
    }
}

/// A sequence match's events as a window (for the alert).
fn chain_window(done: Partial) -> GroupWindow {
    let mut window = GroupWindow::default();
    for (key, evidence) in done.chain {
        window.entries.push_back(Entry {
            key,
            input: 0,
            value: EntryValue::None,
            evidence,
        });
    }
    window
}

fn holds(correlation: &CompiledCorrelation, window: &GroupWindow) -> bool {
    match correlation.kind {
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
            temporal::holds(correlation, window)
        }
        CorrelationKind::Sequence => false,
        _ => aggregate::holds(correlation, window),
    }
}

/// Adds one signal to its group's window (eager rules decide at once).
#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    correlation: &CompiledCorrelation,
    position: usize,
    rule_state: &mut RuleState,
    metrics: &mut RuleMetrics,
    config: &CorrelatorConfig,
    key: &mut String,
    input: usize,
    signal: &Signal,
    sink: &mut Sink<'_>,
) {
    let Some(plan) = correlation.inputs.get(input) else {
        return;
    };
    metrics.signals += 1;
    key.clear();
    for (index, slot) in plan.group_slots.iter().enumerate() {
        let Some(Some(value)) = signal.values.get(*slot) else {
            metrics.missing_group_field += 1;
            return;
        };
        if index > 0 {
            key.push(GROUP_SEPARATOR);
        }
        key.push_str(value);
    }
    if correlation.rule.baseline.is_some() {
        // A baseline of sums reads its field; a signal without a number is not counted.
        let amount = match plan.value_slot {
            None => None,
            Some(slot) => {
                let number = signal
                    .values
                    .get(slot)
                    .and_then(Option::as_deref)
                    .and_then(|text| text.trim().parse::<f64>().ok())
                    .filter(|number| number.is_finite());
                if number.is_none() {
                    metrics.missing_value += 1;
                    return;
                }
                number
            }
        };
        let cap = config.max_groups_per_rule;
        let observed = Some((key.as_str(), signal, amount, cap));
        baseline_step(
            correlation,
            position,
            rule_state,
            metrics,
            0,
            observed,
            sink,
        );
        return;
    }
    let value = match plan.value_slot {
        None => EntryValue::None,
        Some(slot) => {
            let Some(Some(text)) = signal.values.get(slot) else {
                metrics.missing_value += 1;
                return;
            };
            if correlation.kind.is_numeric() {
                match text.trim().parse::<f64>() {
                    Ok(number) if number.is_finite() => EntryValue::Number(number),
                    _ => {
                        metrics.missing_value += 1;
                        return;
                    }
                }
            } else {
                EntryValue::Text(text.clone())
            }
        }
    };
    let time = signal.key.time;
    let span = correlation.timespan;
    let group = match rule_state.groups.get_mut(key.as_str()) {
        Some(group) => group,
        None => {
            if rule_state.groups.len() >= config.max_groups_per_rule {
                metrics.dropped_by_group_cap += 1;
                return;
            }
            let due = time.saturating_add(span);
            let boxed: Box<str> = key.as_str().into();
            rule_state.timers.push(Reverse((due, boxed.clone())));
            rule_state.groups.entry(boxed).or_insert_with(|| {
                let counters = match correlation.kind {
                    CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
                        correlation.inputs.len()
                    }
                    _ => 0,
                };
                let mut window = GroupWindow::new(counters, due);
                if matches!(correlation.kind, CorrelationKind::ValuePercentile(_)) {
                    window.percentiles = Some(Percentiles::default());
                }
                window
            })
        }
    };
    if let Some(plan) = &correlation.sequence {
        let done = sequence::advance(
            plan,
            &mut group.partials,
            input,
            signal.key,
            &signal.evidence,
            span,
        );
        if let Some(done) = done {
            let group_key: Box<str> = key.as_str().into();
            rule_state.groups.remove(&group_key);
            let bounds = (done.start, time);
            let window = chain_window(done);
            fire(
                correlation,
                position,
                metrics,
                &group_key,
                &window,
                bounds,
                signal.key,
                sink,
            );
        }
        return;
    }
    let entry = Entry {
        key: signal.key,
        input: u16::try_from(input).unwrap_or(u16::MAX),
        value,
        evidence: signal.evidence.clone(),
    };
    if correlation.mode == Mode::Eager {
        group.evict_before(time.saturating_sub(span));
    }
    if group.entries.len() >= config.max_events_per_group.max(1) {
        group.pop_front();
        metrics.evicted_by_event_cap += 1;
    }
    group.push(entry);
    if correlation.mode == Mode::Eager && holds(correlation, group) {
        let window = std::mem::take(group);
        let group_key: Box<str> = key.as_str().into();
        rule_state.groups.remove(&group_key);
        let bounds = (time.saturating_sub(span), time);
        fire(
            correlation,
            position,
            metrics,
            &group_key,
            &window,
            bounds,
            signal.key,
            sink,
        );
    }
}

/// Reports an alert and feeds it to the correlations that refer to this one.
#[allow(clippy::too_many_arguments)]
fn fire(
    correlation: &CompiledCorrelation,
    position: usize,
    metrics: &mut RuleMetrics,
    group_key: &str,
    window: &GroupWindow,
    bounds: (i64, i64),
    trigger: EventKey,
    sink: &mut Sink<'_>,
) {
    let entries: Vec<&Entry> = window.entries.iter().collect();
    let alert = alert::build(correlation, group_key, &entries, bounds, sink.max_event_ids);
    emit(
        correlation,
        position,
        metrics,
        group_key,
        alert,
        trigger,
        sink,
    );
}

/// A baseline rule's step (`crate::baseline`): a signal of `pair` counted (with the cap on
/// live groups), or the buckets that ended before `time` closed; what fires is emitted.
fn baseline_step(
    correlation: &CompiledCorrelation,
    position: usize,
    rule_state: &mut RuleState,
    metrics: &mut RuleMetrics,
    time: i64,
    observed: Option<(&str, &Signal, Option<f64>, usize)>,
    sink: &mut Sink<'_>,
) {
    let Some(spec) = &correlation.rule.baseline else {
        return;
    };
    let state = rule_state.baseline.get_or_insert_with(|| {
        Box::new(BaselineState::for_rule(crate::baseline::state_key(
            &correlation.rule,
        )))
    });
    let fired = match observed {
        None => state.close_before(spec, time, metrics),
        Some((pair, signal, amount, cap)) => state.observe(
            spec,
            pair,
            signal.key,
            &signal.evidence,
            amount,
            spec.max_pairs.min(cap),
            sink.max_event_ids,
            metrics,
        ),
    };
    rule_state.timers.clear();
    if let Some(due) = state.next_due() {
        rule_state.timers.push(Reverse((due, Box::default())));
    }
    for fired in fired {
        let alert = fired.alert(correlation, sink.max_event_ids);
        emit(
            correlation,
            position,
            metrics,
            &fired.pair,
            alert,
            fired.trigger,
            sink,
        );
    }
}

/// Reports a built alert and feeds it to the correlations that refer to this one.
fn emit(
    correlation: &CompiledCorrelation,
    position: usize,
    metrics: &mut RuleMetrics,
    group_key: &str,
    alert: Alert,
    trigger: EventKey,
    sink: &mut Sink<'_>,
) {
    metrics.alerts += 1;
    if !correlation.consumers.is_empty() {
        let group_values: Vec<&str> = if correlation.group_by.is_empty() {
            Vec::new()
        } else {
            group_key.split(GROUP_SEPARATOR).collect()
        };
        let values: Vec<Option<Box<str>>> = sink
            .set
            .correlation_fields(position)
            .iter()
            .map(|field| {
                field
                    .and_then(|index| group_values.get(index))
                    .map(|value| (*value).into())
            })
            .collect();
        let derived = Signal {
            source: Source::Correlation(position),
            key: trigger,
            evidence: Evidence::Many {
                ids: alert
                    .event_ids
                    .iter()
                    .map(|id| id.as_str().into())
                    .collect(),
                count: alert.event_count,
            },
            values,
        };
        for (consumer, input) in &correlation.consumers {
            if sink.members.get(*consumer) != Some(&true) {
                continue;
            }
            if let Some(queue) = sink.queues.get_mut(*consumer) {
                queue.push((*input, derived.clone()));
            }
        }
    }
    if correlation.emits && sink.reports {
        sink.out.push(alert);
    }
}
