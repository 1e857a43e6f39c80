//! One baseline rule's learned state and what events and time do to it.
//!
//! Every pair has at most one open bucket (the bucket of its newest event) and, for `spike`
//! rules, one [`SlotStats`] per seasonal slot. A signal opens or fills its pair's bucket; a
//! pair seen for the first time once the training window is over is a `new-pair` alert at
//! once. When the frontier passes a bucket's end the bucket closes: it is judged against its
//! slot (`spike`) and then folded in. Buckets in which a known pair had no events are folded
//! in as zeros when the pair is next seen, so a slot's mean is a rate, not the mean of busy
//! hours. A pair unseen for a whole training window is forgotten (and is new again if it comes
//! back), which bounds the state; beyond `max-pairs` a new pair is not tracked and counted in
//! `dropped_by_group_cap`.
//!
//! Everything depends only on the signals in their total order and on the frontier, never on
//! batching or wall-clock time: streaming, backtests and restarts agree.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::BaselineSpec;
use super::stats::SlotStats;
use crate::correlation::alert::{Alert, GROUP_SEPARATOR, alert_id};
use crate::correlation::compile::CompiledCorrelation;
use crate::correlation::metrics::RuleMetrics;
use crate::correlation::signal::{EventKey, Evidence};

/// The format version of [`BaselineState`] in checkpoints.
pub const BASELINE_STATE_VERSION: u32 = 1;

/// A bucket with events in it, not closed yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OpenBucket {
    index: i64,
    /// Events counted (all of them).
    count: u64,
    /// The sum of their `sum` field (baselines of sums).
    #[serde(default)]
    sum: f64,
    /// Their ids in event order, up to the alert's cap.
    ids: Vec<Box<str>>,
}

/// What the rule knows of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PairState {
    open: Option<OpenBucket>,
    /// The newest bucket folded into `slots`.
    last_closed: Option<i64>,
    /// Per seasonal slot; empty unless the rule alerts on spikes.
    slots: Vec<SlotStats>,
    /// When the pair's timer is due: its open bucket's end, else when it is forgotten.
    timer: i64,
}

/// One baseline rule's state (kept in the correlator's state, so in its checkpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineState {
    pub version: u32,
    /// What the state was learned for ([`super::state_key`]): a checkpoint's state is adopted
    /// by a rule with the same key even when other rules changed.
    #[serde(default)]
    pub rule: String,
    /// The training window starts here: the start of the first bucket the rule saw.
    started: Option<i64>,
    pairs: FxHashMap<Box<str>, PairState>,
    /// (due, pair); an entry whose time differs from its pair's `timer` is stale.
    timers: BinaryHeap<Reverse<(i64, Box<str>)>>,
}

impl Default for BaselineState {
    fn default() -> Self {
        BaselineState {
            version: BASELINE_STATE_VERSION,
            rule: String::new(),
            started: None,
            pairs: FxHashMap::default(),
            timers: BinaryHeap::new(),
        }
    }
}

/// Why a baseline fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiredKind {
    NewPair,
    Spike,
}

impl FiredKind {
    /// The alert's `correlation_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            FiredKind::NewPair => "baseline_new_pair",
            FiredKind::Spike => "baseline_spike",
        }
    }
}

/// An alert of a baseline, before it becomes an [`Alert`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub kind: FiredKind,
    /// The pair's group key (values joined by [`GROUP_SEPARATOR`]).
    pub pair: Box<str>,
    /// Inclusive bounds: the bucket (a new pair: its start to the first event).
    pub window: (i64, i64),
    pub evidence: Evidence,
    /// Its place in the total order, for correlations that read it.
    pub trigger: EventKey,
    /// The bucket's events, its measure (the count, or the sum of the `sum` field) and the
    /// threshold the measure exceeded (spikes).
    pub count: u64,
    pub measure: f64,
    pub threshold: f64,
}

impl Fired {
    /// The alert, like any correlation's: rule, pair as group, window, capped event ids.
    pub fn alert(&self, correlation: &CompiledCorrelation, max_event_ids: usize) -> Alert {
        let meta = &correlation.rule.meta;
        let ids = self.evidence.ids();
        let values = self.pair.split(GROUP_SEPARATOR);
        Alert {
            alert_id: alert_id(
                &meta.label(),
                &self.pair,
                ids.first().map_or("", |id| &**id),
            ),
            rule_id: meta.id.clone(),
            rule_name: meta.name.clone().unwrap_or_else(|| meta.title.clone()),
            title: meta.title.clone(),
            level: meta.level.map(|level| level.as_str().to_string()),
            tags: meta.tags.clone(),
            author: meta.author.clone(),
            correlation_type: self.kind.as_str().to_string(),
            group: correlation
                .group_by
                .iter()
                .cloned()
                .zip(values.map(str::to_string))
                .collect::<BTreeMap<_, _>>(),
            window_start: self.window.0,
            window_end: self.window.1,
            event_ids: ids
                .iter()
                .take(max_event_ids)
                .map(|id| id.to_string())
                .collect(),
            event_count: self.evidence.count(),
        }
    }
}

impl BaselineState {
    /// An empty state for the rule with [`super::state_key`] `rule`.
    pub fn for_rule(rule: String) -> BaselineState {
        BaselineState {
            rule,
            ..BaselineState::default()
        }
    }

    /// Live pairs.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// When the next bucket closes or pair is forgotten.
    pub fn next_due(&mut self) -> Option<i64> {
        // Drop stale entries so the due time is a real one.
        while let Some(Reverse((due, pair))) = self.timers.peek() {
            if self
                .pairs
                .get(pair)
                .is_some_and(|state| state.timer == *due)
            {
                return Some(*due);
            }
            self.timers.pop();
        }
        None
    }

    /// An estimate of the bytes the state holds.
    pub fn approximate_bytes(&self) -> usize {
        use std::mem::size_of;
        self.pairs
            .iter()
            .map(|(pair, state)| {
                2 * pair.len()
                    + size_of::<(Box<str>, PairState)>()
                    + size_of::<Reverse<(i64, Box<str>)>>()
                    + state.slots.capacity() * size_of::<SlotStats>()
                    + state.open.as_ref().map_or(0, |open| {
                        open.ids
                            .iter()
                            .map(|id| id.len() + size_of::<Box<str>>())
                            .sum()
                    })
            })
            .sum()
    }

    /// Closes the buckets that ended before `time` (judging them for spikes) and forgets the
    /// pairs unseen for a training window.
    pub fn close_before(
        &mut self,
        spec: &BaselineSpec,
        time: i64,
        metrics: &mut RuleMetrics,
    ) -> Vec<Fired> {
        let mut fired = Vec::new();
        while self.timers.peek().is_some_and(|timer| timer.0.0 < time) {
            let Some(Reverse((due, pair))) = self.timers.pop() else {
                break;
            };
            let Some(state) = self.pairs.get_mut(&pair) else {
                continue;
            };
            if state.timer != due {
                continue;
            }
            let Some(open) = state.open.take() else {
                self.pairs.remove(&pair);
                metrics.expired_groups += 1;
                continue;
            };
            let (start, end) = (spec.bucket_start(open.index), spec.bucket_end(open.index));
            let trained = self
                .started
                .is_some_and(|started| start >= started.saturating_add(spec.learn));
            let count = if spec.sum.is_some() {
                open.sum
            } else {
                open.count as f64
            };
            if let Some(stats) = state.slots.get_mut(spec.slot_of(open.index)) {
                if spec.spike
                    && trained
                    && stats.samples >= spec.min_history
                    && spec.deviation.is_spike(count, stats)
                {
                    fired.push(Fired {
                        kind: FiredKind::Spike,
                        threshold: spec.deviation.threshold(stats),
                        pair: pair.clone(),
                        window: (start, end),
                        evidence: Evidence::Many {
                            ids: open.ids,
                            count: open.count,
                        },
                        measure: count,
                        trigger: EventKey {
                            time: end,
                            partition: u32::MAX,
                            offset: 0,
                        },
                        count: open.count,
                    });
                }
                stats.update(count, spec.memory);
            }
            state.last_closed = Some(open.index);
            state.timer = end.saturating_add(spec.learn);
            self.timers.push(Reverse((state.timer, pair)));
        }
        fired
    }

    /// Counts one signal of `pair` at `key`: closes what ended before it, then opens or fills
    /// the pair's bucket (`amount` is the signal's `sum` field, for baselines of sums). A pair
    /// never seen (or forgotten) is a `new-pair` alert once the training window is over. `max_pairs` bounds the pairs; `max_ids` the ids kept per bucket.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        spec: &BaselineSpec,
        pair: &str,
        key: EventKey,
        evidence: &Evidence,
        amount: Option<f64>,
        max_pairs: usize,
        max_ids: usize,
        metrics: &mut RuleMetrics,
    ) -> Vec<Fired> {
        let mut fired = self.close_before(spec, key.time, metrics);
        let index = spec.bucket_of(key.time);
        let started = *self.started.get_or_insert(spec.bucket_start(index));
        if !self.pairs.contains_key(pair) {
            if self.pairs.len() >= max_pairs {
                metrics.dropped_by_group_cap += 1;
                return fired;
            }
            let slots = if spec.spike {
                vec![SlotStats::default(); usize::try_from(spec.slots).unwrap_or(1)]
            } else {
                Vec::new()
            };
            self.pairs.insert(
                pair.into(),
                PairState {
                    open: None,
                    last_closed: None,
                    slots,
                    timer: i64::MIN,
                },
            );
            if spec.new_pair && key.time >= started.saturating_add(spec.learn) {
                fired.push(Fired {
                    kind: FiredKind::NewPair,
                    pair: pair.into(),
                    window: (spec.bucket_start(index), key.time),
                    evidence: evidence.clone(),
                    trigger: key,
                    count: evidence.count(),
                    measure: amount.unwrap_or(evidence.count() as f64),
                    threshold: 0.0,
                });
            }
        }
        let Some(state) = self.pairs.get_mut(pair) else {
            return fired;
        };
        if state.open.is_none() {
            if let Some(last) = state.last_closed
                && !state.slots.is_empty()
            {
                // The buckets the pair was silent in count as zeros (at most the memory of
                // every slot: older zeros would have faded anyway).
                let horizon =
                    i64::from(spec.slots).saturating_mul(i64::from(spec.memory).saturating_add(1));
                let from = last.saturating_add(1).max(index.saturating_sub(horizon));
                for silent in from..index {
                    if let Some(stats) = state.slots.get_mut(spec.slot_of(silent)) {
                        stats.update(0.0, spec.memory);
                    }
                }
                state.last_closed = Some(index - 1);
            }
            state.open = Some(OpenBucket {
                index,
                count: 0,
                sum: 0.0,
                ids: Vec::new(),
            });
            state.timer = spec.bucket_end(index);
            self.timers.push(Reverse((state.timer, pair.into())));
        }
        if let Some(open) = &mut state.open {
            open.count = open.count.saturating_add(evidence.count());
            open.sum += amount.unwrap_or(0.0);
            for id in evidence.ids() {
                if open.ids.len() < max_ids {
                    open.ids.push(id.clone());
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use yaml_rust2::YamlLoader;

    use super::*;
    use crate::baseline::spec_of;

    const MINUTE: i64 = 60_000_000;
    const HOUR: i64 = 60 * MINUTE;

    fn spec(body: &str) -> BaselineSpec {
        let text = format!("title: t\nbaseline:\n    rules: [r]\n    of: [a, b]\n{body}");
        let yaml = YamlLoader::load_from_str(&text).expect("yaml");
        let Some(yaml_rust2::Yaml::Hash(map)) = yaml.into_iter().next() else {
            panic!("not a map");
        };
        spec_of(&map).expect("valid spec").0
    }

    /// Feeds `(time, pair)` events in order, then closes everything up to `until`.
    fn run(spec: &BaselineSpec, events: &[(i64, &str)], until: i64) -> Vec<Fired> {
        let mut state = BaselineState::default();
        let mut metrics = RuleMetrics::default();
        let mut fired = Vec::new();
        for (offset, (time, pair)) in events.iter().enumerate() {
            let key = EventKey {
                time: *time,
                partition: 0,
                offset: offset as u64,
            };
            let evidence = Evidence::One(format!("e{offset}").into());
            fired.extend(state.observe(spec, pair, key, &evidence, None, 100, 10, &mut metrics));
        }
        fired.extend(state.close_before(spec, until, &mut metrics));
        fired
    }

    /// `per_hour` events of `pair` in each hour from `from` (hours) for `hours`.
    fn traffic(
        pair: &'static str,
        from: i64,
        hours: i64,
        per_hour: i64,
    ) -> Vec<(i64, &'static str)> {
        (from..from + hours)
            .flat_map(|hour| {
                (0..per_hour).map(move |n| (hour * HOUR + n * (HOUR / per_hour), pair))
            })
            .collect()
    }

    #[test]
    fn during_the_training_window_new_pairs_are_learned_not_reported() {
        let spec = spec("    learn: 6h\n    seasonality: none\n    alert-on: [new-pair]\n");
        let mut events = traffic("gw\u{1f}auth", 0, 8, 2);
        // Seen first at 3h (in training), and at 7h (after it): only the second is new.
        events.push((3 * HOUR + 1, "gw\u{1f}orders"));
        events.push((7 * HOUR + 1, "gw\u{1f}payments"));
        events.push((7 * HOUR + 2, "gw\u{1f}payments"));
        events.sort();
        let fired = run(&spec, &events, i64::MAX);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].kind, FiredKind::NewPair);
        assert_eq!(&*fired[0].pair, "gw\u{1f}payments");
        assert_eq!(fired[0].window, (7 * HOUR, 7 * HOUR + 1));
    }

    #[test]
    fn a_pair_unseen_for_a_training_window_is_forgotten_and_new_again() {
        let spec = spec("    learn: 2h\n    seasonality: none\n    alert-on: [new-pair]\n");
        let mut events = traffic("a\u{1f}b", 0, 10, 1);
        events.push((MINUTE, "x\u{1f}y"));
        events.push((4 * HOUR, "x\u{1f}y"));
        events.push((7 * HOUR + MINUTE, "x\u{1f}y"));
        events.sort();
        let fired = run(&spec, &events, i64::MAX);
        // Seen at 0:01 (training); forgotten after 2:59, so new at 4:00; last seen in the
        // bucket ending 4:59, forgotten after 6:59, so new again at 7:01.
        let new: Vec<i64> = fired.iter().map(|fired| fired.window.1).collect();
        assert_eq!(new, vec![4 * HOUR, 7 * HOUR + MINUTE], "{fired:?}");
    }

    #[test]
    fn a_tenfold_bucket_is_a_spike_and_steady_traffic_is_not() {
        let spec = spec(
            "    learn: 6h\n    seasonality: none\n    alert-on: [spike]\n    min-history: 3\n",
        );
        // Five an hour for 12 hours; hour 9 has fifty.
        let mut events = traffic("svc\u{1f}host", 0, 12, 5);
        events.retain(|(time, _)| *time / HOUR != 9);
        events.extend(traffic("svc\u{1f}host", 9, 1, 50));
        events.sort();
        let fired = run(&spec, &events, 12 * HOUR);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].kind, FiredKind::Spike);
        assert_eq!(fired[0].window, (9 * HOUR, 10 * HOUR - 1));
        assert_eq!(fired[0].count, 50);
        assert_eq!(fired[0].evidence.ids().len(), 10, "ids capped");

        let steady = run(&spec, &traffic("svc\u{1f}host", 0, 12, 5), 12 * HOUR);
        assert!(steady.is_empty(), "{steady:?}");
    }

    #[test]
    fn a_spike_in_training_is_learned_not_reported() {
        let spec = spec(
            "    learn: 6h\n    seasonality: none\n    alert-on: [spike]\n    min-history: 1\n",
        );
        let mut events = traffic("s\u{1f}h", 0, 8, 5);
        events.extend(traffic("s\u{1f}h", 3, 1, 50));
        events.sort();
        assert!(run(&spec, &events, 8 * HOUR).is_empty());
    }

    #[test]
    fn silent_buckets_count_as_zeros() {
        let body = "    learn: 4h\n    seasonality: none\n    alert-on: [spike]\n    min-history: 1\n    deviation: {z: 1, min: 3}\n";
        let spec = spec(body);
        // Four an hour for the four training hours, silence for three, then six: with the
        // silent hours as zeros the mean has dropped and six is a spike; without them the
        // mean would still be four and six within one spread of it.
        let mut events = traffic("s\u{1f}h", 0, 4, 4);
        events.extend(traffic("s\u{1f}h", 7, 1, 6));
        let fired = run(&spec, &events, i64::MAX);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].window.0, 7 * HOUR);
    }

    #[test]
    fn seasonal_slots_keep_their_own_rates() {
        let spec = spec(
            "    learn: 3d\n    seasonality: hour-of-day\n    alert-on: [spike]\n    min-history: 2\n",
        );
        // 40 an hour from 9 to 17 each day, 1 an hour otherwise, for four days: busy hours
        // are not spikes; 40 at 3 o'clock on day four is.
        let mut events = Vec::new();
        for day in 0..4 {
            for hour in 0..24 {
                let busy = (9..17).contains(&hour);
                let count = if busy || (day == 3 && hour == 3) {
                    40
                } else {
                    1
                };
                events.extend(traffic("s\u{1f}h", day * 24 + hour, 1, count));
            }
        }
        let fired = run(&spec, &events, i64::MAX);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].window.0, (3 * 24 + 3) * HOUR);
    }

    #[test]
    fn pairs_beyond_the_cap_are_counted_not_tracked() {
        let spec = spec("    learn: 1h\n    seasonality: none\n    alert-on: [new-pair]\n");
        let mut state = BaselineState::default();
        let mut metrics = RuleMetrics::default();
        for (offset, pair) in ["a", "b", "c"].iter().enumerate() {
            let key = EventKey {
                time: offset as i64,
                partition: 0,
                offset: offset as u64,
            };
            state.observe(
                &spec,
                pair,
                key,
                &Evidence::One("e".into()),
                None,
                2,
                10,
                &mut metrics,
            );
        }
        assert_eq!(state.pairs(), 2);
        assert_eq!(metrics.dropped_by_group_cap, 1);
    }

    #[test]
    fn a_baseline_of_sums_judges_the_bucket_sum() {
        let spec = spec(
            "    sum: bytes\n    learn: 6h\n    seasonality: none\n    alert-on: [spike]\n    min-history: 3\n    deviation: {min: 1000000}\n",
        );
        let mut state = BaselineState::default();
        let mut metrics = RuleMetrics::default();
        let mut fired = Vec::new();
        // Ten transfers an hour: 10 kB each, but 50 MB each in hour 8 (same count).
        for hour in 0..10 {
            for n in 0..10 {
                let time = hour * HOUR + n * MINUTE;
                let bytes = if hour == 8 { 50_000_000.0 } else { 10_000.0 };
                let key = EventKey {
                    time,
                    partition: 0,
                    offset: (hour * 10 + n) as u64,
                };
                let evidence = Evidence::One(format!("e{time}").into());
                fired.extend(state.observe(
                    &spec,
                    "s\u{1f}h",
                    key,
                    &evidence,
                    Some(bytes),
                    10,
                    100,
                    &mut metrics,
                ));
            }
        }
        fired.extend(state.close_before(&spec, i64::MAX, &mut metrics));
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].window.0, 8 * HOUR);
        assert_eq!(fired[0].count, 10);
        assert!((fired[0].measure - 500_000_000.0).abs() < 1.0);
    }
}
