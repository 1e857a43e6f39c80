//! A group's window: the signals it holds in event-time order and the aggregates kept up to
//! date as signals enter and leave (counts per input, distinct values, sums), so no condition
//! recounts the window.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::percentiles::Percentiles;
use super::sequence::Partial;
use super::signal::{EventKey, Evidence};

/// The aggregated value a signal brings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EntryValue {
    None,
    Number(f64),
    Text(Box<str>),
}

/// One signal in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: EventKey,
    /// Position of its rule in the correlation's inputs.
    pub input: u16,
    pub value: EntryValue,
    pub evidence: Evidence,
}

/// The live state of one (correlation, group key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupWindow {
    pub entries: VecDeque<Entry>,
    /// Signals per input (temporal types).
    pub per_input: Vec<u32>,
    /// Distinct values and how many signals carry each (`value_count`).
    pub distinct: FxHashMap<Box<str>, u32>,
    pub sum: f64,
    pub numbers: u64,
    /// The time of this group's pending timer (stale timers are recognized by it).
    pub timer: i64,
    /// `sequence`: per stage, the partial match with the latest start.
    #[serde(default)]
    pub partials: Vec<Option<Partial>>,
    /// `value_percentile`: the window's numbers, exact or sketched.
    #[serde(default)]
    pub percentiles: Option<Percentiles>,
}

impl GroupWindow {
    /// An empty window; `inputs` counters are kept only when non-zero (temporal types). Room
    /// for one signal is reserved, so a group that never sees a second costs one entry.
    pub fn new(inputs: usize, timer: i64) -> GroupWindow {
        GroupWindow {
            entries: VecDeque::with_capacity(1),
            per_input: vec![0; inputs],
            timer,
            ..GroupWindow::default()
        }
    }

    pub fn push(&mut self, entry: Entry) {
        if let Some(count) = self.per_input.get_mut(usize::from(entry.input)) {
            *count += 1;
        }
        match &entry.value {
            EntryValue::None => {}
            EntryValue::Number(number) => {
                self.sum += number;
                self.numbers += 1;
                if let Some(percentiles) = &mut self.percentiles {
                    percentiles.insert(*number);
                }
            }
            EntryValue::Text(text) => {
                if let Some(count) = self.distinct.get_mut(text) {
                    *count += 1;
                } else {
                    self.distinct.insert(text.clone(), 1);
                }
            }
        }
        self.entries.push_back(entry);
    }

    pub fn pop_front(&mut self) -> Option<Entry> {
        let entry = self.entries.pop_front()?;
        if let Some(count) = self.per_input.get_mut(usize::from(entry.input)) {
            *count = count.saturating_sub(1);
        }
        match &entry.value {
            EntryValue::None => {}
            EntryValue::Number(number) => {
                self.numbers = self.numbers.saturating_sub(1);
                // Recomputed when empty so rounding never accumulates across windows.
                self.sum = if self.numbers == 0 {
                    0.0
                } else {
                    self.sum - number
                };
                if let Some(percentiles) = &mut self.percentiles {
                    let entries = &self.entries;
                    percentiles.remove(*number, || numbers(entries));
                }
            }
            EntryValue::Text(text) => {
                if let Some(count) = self.distinct.get_mut(text) {
                    *count -= 1;
                    if *count == 0 {
                        self.distinct.remove(text);
                    }
                }
            }
        }
        Some(entry)
    }

    /// Drops the signals older than `oldest` (event time, microseconds); returns how many.
    pub fn evict_before(&mut self, oldest: i64) -> usize {
        let mut evicted = 0;
        while self
            .entries
            .front()
            .is_some_and(|entry| entry.key.time < oldest)
        {
            self.pop_front();
            evicted += 1;
        }
        evicted
    }

    pub fn first_time(&self) -> Option<i64> {
        self.entries.front().map(|entry| entry.key.time)
    }

    pub fn last_time(&self) -> Option<i64> {
        self.entries.back().map(|entry| entry.key.time)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The numbers the entries carry.
pub fn numbers(entries: &VecDeque<Entry>) -> Vec<f64> {
    entries
        .iter()
        .filter_map(|entry| match entry.value {
            EntryValue::Number(number) => Some(number),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, value: EntryValue) -> Entry {
        Entry {
            key: EventKey {
                time,
                partition: 0,
                offset: time as u64,
            },
            input: 0,
            value,
            evidence: Evidence::One(format!("e{time}").into()),
        }
    }

    #[test]
    fn distinct_counts_follow_entries_in_and_out() {
        let mut window = GroupWindow::new(1, 0);
        for (time, user) in [(1, "a"), (2, "b"), (3, "a")] {
            window.push(entry(time, EntryValue::Text(user.into())));
        }
        assert_eq!(window.distinct.len(), 2);
        assert_eq!(window.evict_before(2), 1);
        assert_eq!(window.distinct.len(), 2);
        assert_eq!(window.evict_before(3), 1);
        assert_eq!(window.distinct.len(), 1);
        assert_eq!(window.per_input, vec![1]);
    }

    #[test]
    fn sorted_numbers_follow_entries_in_and_out() {
        let mut window = GroupWindow::new(1, 0);
        window.percentiles = Some(Percentiles::default());
        for (time, number) in [(1, 5.0), (2, 1.0), (3, 3.0), (4, 1.0)] {
            window.push(entry(time, EntryValue::Number(number)));
        }
        assert_eq!(
            window.percentiles,
            Some(Percentiles::Exact(vec![1.0, 1.0, 3.0, 5.0]))
        );
        window.pop_front();
        window.pop_front();
        assert_eq!(window.percentiles, Some(Percentiles::Exact(vec![1.0, 3.0])));
    }

    #[test]
    fn sums_follow_entries_in_and_out() {
        let mut window = GroupWindow::new(1, 0);
        window.push(entry(1, EntryValue::Number(1.5)));
        window.push(entry(2, EntryValue::Number(2.0)));
        assert_eq!((window.sum, window.numbers), (3.5, 2));
        window.pop_front();
        assert_eq!((window.sum, window.numbers), (2.0, 1));
        window.pop_front();
        assert_eq!((window.sum, window.numbers), (0.0, 0));
    }
}
