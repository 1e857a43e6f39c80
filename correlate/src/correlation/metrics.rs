//! Counters of the correlator, per correlation rule and overall. Nothing is dropped without
//! being counted here.

use serde::{Deserialize, Serialize};

/// One correlation rule's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMetrics {
    /// Signals evaluated by this rule.
    pub signals: u64,
    /// Group keys with live state now.
    pub live_groups: u64,
    /// The most live group keys at once.
    pub peak_groups: u64,
    /// Groups whose window expired (state freed).
    pub expired_groups: u64,
    /// Signals dropped because the rule had `max_groups_per_rule` live groups.
    pub dropped_by_group_cap: u64,
    /// Signals pushed out of a window early because it held `max_events_per_group`.
    pub evicted_by_event_cap: u64,
    /// Signals without a value for a group-by field (they join no group).
    pub missing_group_field: u64,
    /// Signals without a (numeric, for sums, averages and percentiles) aggregated value.
    pub missing_value: u64,
    pub alerts: u64,
}

/// The correlator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelatorMetrics {
    /// Signals handed to `observe`.
    pub signals_observed: u64,
    /// Signals that arrived after the frontier had passed their time (kept in the late list).
    pub late_signals: u64,
    /// Signals waiting for the frontier.
    pub pending_signals: u64,
    /// Event times further ahead of processing time than `max_future_skew`, which moved their
    /// partition's watermark only to processing time.
    #[serde(default)]
    pub future_times_capped: u64,
    /// Per correlation, in [`super::CorrelationSet::correlations`] order.
    pub rules: Vec<RuleMetrics>,
}

impl CorrelatorMetrics {
    pub fn live_groups(&self) -> u64 {
        self.rules.iter().map(|rule| rule.live_groups).sum()
    }
}
