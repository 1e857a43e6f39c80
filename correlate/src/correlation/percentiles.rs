//! The numbers of a `value_percentile` window, kept so a percentile is read without sorting the
//! window: exact (a sorted list) while the window holds at most [`EXACT_LIMIT`] numbers, and a
//! quantile sketch with deletions beyond, so a window of tens of thousands of numbers costs a
//! few hundred buckets and a logarithmic update per signal instead of a shifted list.
//!
//! The sketch maps a number to a bucket whose bounds are within [`RELATIVE_ACCURACY`] of each
//! other (logarithmic buckets, as in DDSketch): the percentile it reports is within 1 % of the
//! exact nearest-rank value, whatever the distribution. Buckets are counts, so a signal leaving
//! the window is removed exactly and the sketch depends only on the numbers in the window, not
//! on the order they came in. A sketch goes back to exact when the window shrinks to half the
//! limit (rebuilt from the window's own entries), so a window near the limit does not switch
//! back and forth on every signal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::aggregate::nearest_rank;

/// Windows holding more numbers than this are sketched.
pub const EXACT_LIMIT: usize = 2048;

/// Greatest relative error of a sketched percentile.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Magnitudes below this share the zero bucket.
const SMALLEST: f64 = 1e-9;

/// A window's numbers, for percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Percentiles {
    /// In order.
    Exact(Vec<f64>),
    /// Boxed: most windows never hold one, and every window carries this enum.
    Sketch(Box<Sketch>),
}

impl Default for Percentiles {
    fn default() -> Percentiles {
        Percentiles::Exact(Vec::new())
    }
}

impl Percentiles {
    pub fn insert(&mut self, number: f64) {
        match self {
            Percentiles::Exact(sorted) if sorted.len() >= EXACT_LIMIT => {
                let mut sketch = Sketch::default();
                for known in sorted.iter() {
                    sketch.insert(*known);
                }
                sketch.insert(number);
                *self = Percentiles::Sketch(Box::new(sketch));
            }
            Percentiles::Exact(sorted) => {
                let at = sorted.partition_point(|known| known.total_cmp(&number).is_lt());
                sorted.insert(at, number);
            }
            Percentiles::Sketch(sketch) => sketch.insert(number),
        }
    }

    /// Removes one occurrence of `number`; `remaining` gives the window's numbers after it
    /// left, read only when a sketch goes back to exact.
    pub fn remove(&mut self, number: f64, remaining: impl FnOnce() -> Vec<f64>) {
        match self {
            Percentiles::Exact(sorted) => {
                let at = sorted.partition_point(|known| known.total_cmp(&number).is_lt());
                if sorted
                    .get(at)
                    .is_some_and(|known| known.total_cmp(&number).is_eq())
                {
                    sorted.remove(at);
                }
            }
            Percentiles::Sketch(sketch) => {
                sketch.remove(number);
                if sketch.count <= (EXACT_LIMIT / 2) as u64 {
                    let mut numbers = remaining();
                    numbers.sort_by(f64::total_cmp);
                    *self = Percentiles::Exact(numbers);
                }
            }
        }
    }

    /// The nearest-rank percentile (0..=100); `None` when there are no numbers.
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        match self {
            Percentiles::Exact(sorted) => nearest_rank(sorted, percentile),
            Percentiles::Sketch(sketch) => sketch.percentile(percentile),
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            Percentiles::Exact(sorted) => sorted.len() as u64,
            Percentiles::Sketch(sketch) => sketch.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_sketch(&self) -> bool {
        matches!(self, Percentiles::Sketch(_))
    }

    /// An estimate of the bytes held, for the state gauge.
    pub fn approximate_bytes(&self) -> usize {
        match self {
            Percentiles::Exact(sorted) => sorted.capacity() * size_of::<f64>(),
            // A B-tree entry and its share of the node around it.
            Percentiles::Sketch(sketch) => sketch.buckets() * 2 * size_of::<(i32, u32)>(),
        }
    }
}

/// Counts of numbers per logarithmic bucket, negative and positive apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    /// Bucket index of the magnitude → count, for positive numbers.
    positive: BTreeMap<i32, u32>,
    /// The same for negative numbers, by magnitude.
    negative: BTreeMap<i32, u32>,
    zero: u32,
    count: u64,
}

/// `(1 + a) / (1 - a)`: the ratio between a bucket's bounds.
fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// The bucket of a magnitude at least [`SMALLEST`]: `ceil(log_gamma(magnitude))`, which puts
/// it in `(gamma^(i-1), gamma^i]`.
fn bucket(magnitude: f64) -> i32 {
    (magnitude.ln() / gamma().ln()).ceil() as i32
}

/// The number reported for a bucket: within the relative accuracy of every magnitude in it.
fn representative(index: i32) -> f64 {
    let gamma = gamma();
    2.0 * gamma.powi(index) / (gamma + 1.0)
}

impl Sketch {
    pub fn insert(&mut self, number: f64) {
        if !number.is_finite() {
            return;
        }
        self.count += 1;
        if number.abs() < SMALLEST {
            self.zero += 1;
        } else {
            let store = if number > 0.0 {
                &mut self.positive
            } else {
                &mut self.negative
            };
            *store.entry(bucket(number.abs())).or_insert(0) += 1;
        }
    }

    /// Removes one number the sketch holds; a number it does not hold is ignored.
    pub fn remove(&mut self, number: f64) {
        if !number.is_finite() {
            return;
        }
        if number.abs() < SMALLEST {
            if self.zero > 0 {
                self.zero -= 1;
                self.count -= 1;
            }
            return;
        }
        let store = if number > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        let index = bucket(number.abs());
        if let Some(count) = store.get_mut(&index) {
            *count -= 1;
            if *count == 0 {
                store.remove(&index);
            }
            self.count -= 1;
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Buckets in use (the sketch's size).
    pub fn buckets(&self) -> usize {
        self.positive.len() + self.negative.len() + usize::from(self.zero > 0)
    }

    /// The nearest-rank percentile, within the relative accuracy.
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((percentile / 100.0) * self.count as f64).ceil() as u64;
        let rank = rank.clamp(1, self.count);
        let mut seen = 0u64;
        // Smallest first: negatives by falling magnitude, zero, positives by rising magnitude.
        for (index, count) in self.negative.iter().rev() {
            seen += u64::from(*count);
            if seen >= rank {
                return Some(-representative(*index));
            }
        }
        seen += u64::from(self.zero);
        if seen >= rank {
            return Some(0.0);
        }
        for (index, count) in &self.positive {
            seen += u64::from(*count);
            if seen >= rank {
                return Some(representative(*index));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::aggregate::percentile_of;

    /// Numbers of a skewed, wide distribution (latencies from under a millisecond to minutes),
    /// negatives and zeros included, reproducible without a random source.
    fn numbers(count: usize) -> Vec<f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        (0..count)
            .map(|index| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
                match index % 50 {
                    0 => 0.0,
                    1 => -unit * 100.0,
                    _ => (unit * 18.0).exp() / 1000.0,
                }
            })
            .collect()
    }

    fn close(estimate: f64, exact: f64) -> bool {
        if exact == 0.0 {
            return estimate == 0.0;
        }
        ((estimate - exact) / exact).abs() <= RELATIVE_ACCURACY + 1e-12
    }

    #[test]
    fn a_sketched_percentile_is_within_the_relative_accuracy() {
        let mut all = numbers(50_000);
        let mut sketch = Sketch::default();
        for number in &all {
            sketch.insert(*number);
        }
        assert!(sketch.buckets() < 2_000, "{} buckets", sketch.buckets());
        for percentile in [
            0.0, 1.0, 2.0, 5.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0,
        ] {
            let exact = percentile_of(&mut all, percentile).expect("numbers");
            let estimate = sketch.percentile(percentile).expect("numbers");
            assert!(
                close(estimate, exact),
                "p{percentile}: {estimate} vs {exact}"
            );
        }
    }

    #[test]
    fn removing_numbers_leaves_the_sketch_of_the_rest() {
        let all = numbers(10_000);
        let mut sliding = Sketch::default();
        for number in &all {
            sliding.insert(*number);
        }
        for number in &all[..6_000] {
            sliding.remove(*number);
        }
        let mut rest = Sketch::default();
        for number in &all[6_000..] {
            rest.insert(*number);
        }
        assert_eq!(sliding, rest);
        sliding.remove(123_456_789.0);
        assert_eq!(sliding.count(), 4_000);
    }

    #[test]
    fn a_window_is_exact_up_to_the_limit_and_sketched_beyond_until_it_halves() {
        let all = numbers(EXACT_LIMIT + 10);
        let mut window: std::collections::VecDeque<f64> = Default::default();
        let mut kept = Percentiles::default();
        for number in &all {
            kept.insert(*number);
            window.push_back(*number);
            let mut sorted: Vec<f64> = window.iter().copied().collect();
            if !kept.is_sketch() {
                assert_eq!(kept.percentile(90.0), percentile_of(&mut sorted, 90.0));
            }
        }
        assert!(kept.is_sketch());
        while kept.is_sketch() {
            let left = window.pop_front().expect("numbers");
            kept.remove(left, || window.iter().copied().collect());
        }
        assert_eq!(kept.len(), (EXACT_LIMIT / 2) as u64);
        let mut sorted: Vec<f64> = window.iter().copied().collect();
        assert_eq!(kept.percentile(95.0), percentile_of(&mut sorted, 95.0));
    }

    #[test]
    fn a_window_pays_for_the_sketch_only_when_it_has_one() {
        assert!(size_of::<Option<Percentiles>>() <= size_of::<Vec<f64>>());
    }

    #[test]
    fn an_empty_sketch_has_no_percentile_and_odd_numbers_are_ignored() {
        let mut sketch = Sketch::default();
        assert_eq!(sketch.percentile(50.0), None);
        sketch.insert(f64::NAN);
        sketch.insert(f64::INFINITY);
        assert_eq!(sketch.count(), 0);
        sketch.insert(-5.0);
        sketch.insert(0.0);
        sketch.insert(5.0);
        assert!(close(sketch.percentile(1.0).expect("numbers"), -5.0));
        assert_eq!(sketch.percentile(50.0), Some(0.0));
        assert!(close(sketch.percentile(100.0).expect("numbers"), 5.0));
    }
}
