//! The temporal types: `temporal` (every referenced rule, or the boolean expression over them,
//! within the window) and `temporal_ordered` (the rules in the listed order, by the total
//! event order, so equal timestamps are ordered by partition and offset).

use super::compile::{CompiledCorrelation, CorrelationKind};
use super::window::GroupWindow;

/// Whether the window satisfies the temporal correlation.
pub fn holds(correlation: &CompiledCorrelation, window: &GroupWindow) -> bool {
    let present = |input: usize| window.per_input.get(input).is_some_and(|count| *count > 0);
    let distinct = (0..correlation.inputs.len())
        .filter(|input| present(*input))
        .count();
    if !correlation.threshold.holds(distinct as f64) {
        return false;
    }
    if let Some(expression) = &correlation.expression
        && !expression.eval(&present)
    {
        return false;
    }
    correlation.kind != CorrelationKind::TemporalOrdered || in_order(correlation, window)
}

/// The steps occur as a subsequence of the window's signals (greedy earliest match, which
/// finds one whenever one exists).
fn in_order(correlation: &CompiledCorrelation, window: &GroupWindow) -> bool {
    let mut steps = correlation.steps.iter().peekable();
    for entry in &window.entries {
        match steps.peek() {
            None => return true,
            Some(step) if usize::from(entry.input) == **step => {
                steps.next();
            }
            Some(_) => {}
        }
    }
    steps.peek().is_none()
}
