//! The aggregating correlation types: `event_count` (signals in the window), `value_count`
//! (distinct values of a field), `value_sum`, `value_avg` and `value_percentile` (of a numeric
//! field), each compared with the condition.

use super::compile::{CompiledCorrelation, CorrelationKind};
use super::window::{GroupWindow, numbers};

/// The window's aggregate for an aggregating type; `None` when there is nothing to compare
/// (an average or percentile of no numbers).
pub fn measure(kind: CorrelationKind, window: &GroupWindow) -> Option<f64> {
    match kind {
        CorrelationKind::EventCount => Some(window.entries.len() as f64),
        CorrelationKind::ValueCount => Some(window.distinct.len() as f64),
        CorrelationKind::ValueSum => Some(window.sum),
        CorrelationKind::ValueAvg => {
            (window.numbers > 0).then(|| window.sum / window.numbers as f64)
        }
        CorrelationKind::ValuePercentile(percentile) => match &window.percentiles {
            Some(percentiles) => percentiles.percentile(percentile),
            None => percentile_of(&mut numbers(&window.entries), percentile),
        },
        CorrelationKind::Temporal
        | CorrelationKind::TemporalOrdered
        | CorrelationKind::Sequence
        | CorrelationKind::Baseline => None,
    }
}

/// The nearest-rank percentile (`percentile` in 0..=100) of `numbers`.
pub fn percentile_of(numbers: &mut [f64], percentile: f64) -> Option<f64> {
    numbers.sort_by(f64::total_cmp);
    nearest_rank(numbers, percentile)
}

/// The nearest-rank percentile of numbers already in order.
pub fn nearest_rank(sorted: &[f64], percentile: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((percentile / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied()
}

/// Whether the aggregate of `window` satisfies the correlation's condition.
pub fn holds(correlation: &CompiledCorrelation, window: &GroupWindow) -> bool {
    measure(correlation.kind, window).is_some_and(|value| correlation.threshold.holds(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut numbers = vec![15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(percentile_of(&mut numbers, 5.0), Some(15.0));
        assert_eq!(percentile_of(&mut numbers, 30.0), Some(20.0));
        assert_eq!(percentile_of(&mut numbers, 50.0), Some(35.0));
        assert_eq!(percentile_of(&mut numbers, 100.0), Some(50.0));
        assert_eq!(percentile_of(&mut [], 50.0), None);
    }
}
