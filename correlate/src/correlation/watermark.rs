//! Watermarks per source partition and the frontier they allow.
//!
//! A partition's watermark is the largest event time it delivered minus the allowed lateness.
//! The frontier is the minimum watermark over active partitions: every signal with a time
//! strictly before it is final and is evaluated. A partition that delivered nothing for the
//! idle timeout (processing time, from the injected clock) stops holding the frontier back; an
//! assigned partition that has delivered nothing yet holds it back until it goes idle.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One partition's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMark {
    /// Largest event time delivered, if any.
    pub max_time: Option<i64>,
    /// Processing time of its last delivery (or assignment).
    pub last_seen: i64,
}

/// Watermarks of all partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermarks {
    pub partitions: BTreeMap<u32, PartitionMark>,
}

impl Watermarks {
    /// A partition is assigned: it holds the frontier back until it delivers or goes idle.
    pub fn assign(&mut self, partition: u32, now: i64) {
        self.partitions.entry(partition).or_insert(PartitionMark {
            max_time: None,
            last_seen: now,
        });
    }

    /// A partition stops being ours (rebalance): it no longer holds the frontier.
    pub fn revoke(&mut self, partition: u32) {
        self.partitions.remove(&partition);
    }

    pub fn observe(&mut self, partition: u32, time: i64, now: i64) {
        let mark = self.partitions.entry(partition).or_insert(PartitionMark {
            max_time: None,
            last_seen: now,
        });
        mark.max_time = Some(mark.max_time.map_or(time, |max| max.max(time)));
        mark.last_seen = mark.last_seen.max(now);
    }

    /// The frontier: minimum watermark (`max_time - lateness`) over partitions active within
    /// `idle_timeout` of `now`; when all are idle, the largest watermark. `None` when nothing
    /// was delivered or an active partition has delivered nothing yet.
    pub fn frontier(&self, lateness: i64, idle_timeout: i64, now: i64) -> Option<i64> {
        let watermark =
            |mark: &PartitionMark| mark.max_time.map(|max| max.saturating_sub(lateness));
        let active: Vec<&PartitionMark> = self
            .partitions
            .values()
            .filter(|mark| now.saturating_sub(mark.last_seen) <= idle_timeout)
            .collect();
        if active.is_empty() {
            return self.partitions.values().filter_map(watermark).max();
        }
        let mut frontier = i64::MAX;
        for mark in active {
            frontier = frontier.min(watermark(mark)?);
        }
        Some(frontier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowest_active_partition_holds_the_frontier() {
        let mut marks = Watermarks::default();
        marks.observe(0, 100, 0);
        marks.observe(1, 50, 0);
        assert_eq!(marks.frontier(10, 1_000, 0), Some(40));
        marks.observe(1, 200, 0);
        assert_eq!(marks.frontier(10, 1_000, 0), Some(90));
    }

    #[test]
    fn idle_partitions_stop_holding_it_back() {
        let mut marks = Watermarks::default();
        marks.observe(0, 100, 0);
        marks.observe(1, 50, 0);
        marks.observe(0, 300, 5_000);
        assert_eq!(marks.frontier(0, 1_000, 5_000), Some(300));
        marks.assign(2, 5_000);
        assert_eq!(marks.frontier(0, 1_000, 5_000), None);
        assert_eq!(marks.frontier(0, 1_000, 7_000), Some(300));
    }
}
