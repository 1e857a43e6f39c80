//! The statistics of one seasonal slot (one hour of the week, say) of one pair: the mean and
//! variance of its closed buckets' counts, updated incrementally, and the spike test.
//!
//! A slot's first `memory` buckets are averaged exactly (Welford's recurrence: after `n`
//! buckets the mean and the population variance of those `n`); after that each new bucket
//! weighs `1 / memory` and older ones fade exponentially (an exponentially weighted mean and
//! variance). `memory` is the number of buckets the slot receives in the training window, so
//! the baseline remembers about one training window and follows a slow drift.

use serde::{Deserialize, Serialize};

/// Mean and variance of one slot's bucket counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotStats {
    /// Buckets folded in (saturates at `u32::MAX`).
    #[serde(rename = "n")]
    pub samples: u32,
    #[serde(rename = "m")]
    pub mean: f64,
    /// Population variance (exponentially weighted once `samples` reached the memory).
    #[serde(rename = "v")]
    pub variance: f64,
}

impl SlotStats {
    /// Folds one closed bucket's count in. `memory` (at least 1) is how many buckets weigh
    /// equally before older ones start to fade.
    pub fn update(&mut self, value: f64, memory: u32) {
        self.samples = self.samples.saturating_add(1);
        let weight = f64::from(self.samples.min(memory.max(1)));
        let alpha = 1.0 / weight;
        let delta = value - self.mean;
        self.mean += alpha * delta;
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
    }

    pub fn stddev(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }
}

/// When a closed bucket is a spike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    /// Standard deviations above the slot's mean.
    pub z: f64,
    /// A bucket below this count is never a spike.
    pub min: f64,
    /// A spike is also at least this many times the slot's mean (1 = no constraint).
    pub ratio: f64,
}

impl Default for Deviation {
    fn default() -> Self {
        Deviation {
            z: 3.0,
            min: 10.0,
            ratio: 1.0,
        }
    }
}

impl Deviation {
    /// The count a bucket must exceed to be a spike in a slot with `stats`: the mean plus `z`
    /// spreads, where the spread is at least `sqrt(mean)` (the spread of a Poisson count, so a
    /// slot whose few buckets happened to be equal does not fire on one event more) and at
    /// least 1; and at least `ratio` times the mean.
    pub fn threshold(&self, stats: &SlotStats) -> f64 {
        let spread = stats.stddev().max(stats.mean.max(0.0).sqrt()).max(1.0);
        (stats.mean + self.z * spread).max(self.ratio * stats.mean)
    }

    /// Whether `value` is a spike in a slot with `stats`: at least `min` and above the
    /// threshold.
    pub fn is_spike(&self, value: f64, stats: &SlotStats) -> bool {
        value >= self.min && value > self.threshold(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(values: &[f64], memory: u32) -> SlotStats {
        let mut stats = SlotStats::default();
        for value in values {
            stats.update(*value, memory);
        }
        stats
    }

    #[test]
    fn within_the_memory_the_mean_and_variance_are_exact() {
        let stats = fed(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8);
        assert_eq!(stats.samples, 8);
        assert!((stats.mean - 5.0).abs() < 1e-12, "{stats:?}");
        assert!((stats.variance - 4.0).abs() < 1e-12, "{stats:?}");
        assert!((stats.stddev() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn beyond_the_memory_old_buckets_fade() {
        // Ten buckets of 100, then forty of 0 with a memory of 4: the mean follows the zeros.
        let mut values = vec![100.0; 10];
        values.extend(std::iter::repeat_n(0.0, 40));
        let stats = fed(&values, 4);
        assert_eq!(stats.samples, 50);
        assert!(stats.mean < 0.01, "{stats:?}");
        // An exact average would still remember the hundreds.
        let exact = fed(&values, u32::MAX);
        assert!((exact.mean - 20.0).abs() < 1e-9, "{exact:?}");
    }

    #[test]
    fn the_threshold_has_a_poisson_floor_and_a_minimum() {
        let deviation = Deviation::default();
        // Three equal buckets: no variance, but a count of 10 has a spread of sqrt(10).
        let steady = fed(&[10.0, 10.0, 10.0], 8);
        let threshold = deviation.threshold(&steady);
        assert!((threshold - (10.0 + 3.0 * 10f64.sqrt())).abs() < 1e-9);
        assert!(!deviation.is_spike(19.0, &steady));
        assert!(deviation.is_spike(20.0, &steady));
        // A silent slot: the minimum decides.
        let silent = fed(&[0.0, 0.0], 8);
        assert!(!deviation.is_spike(9.0, &silent));
        assert!(deviation.is_spike(10.0, &silent));
        // A ratio asks for more.
        let ratio = Deviation {
            ratio: 10.0,
            ..deviation
        };
        assert!(!ratio.is_spike(60.0, &steady));
        assert!(ratio.is_spike(101.0, &steady));
    }
}
