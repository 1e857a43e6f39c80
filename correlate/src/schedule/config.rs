//! The scheduler's settings, `[detect.scheduler]` in `weft.toml`.

use serde::{Deserialize, Serialize};

use super::error::SchedulerError;
use super::spec::HumanDuration;

/// What a job that has never run before does on its first call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstRun {
    /// Run only the latest due slot (the default): a new rule starts now, and older data is
    /// scanned only by an explicit backfill.
    #[default]
    Latest,
    /// Run the latest `max_catch_up` due slots, oldest first.
    CatchUp,
}

/// How the scheduler catches up, retries and backfills.
///
/// ```toml
/// [detect.scheduler]
/// max_catch_up = 24
/// max_attempts = 3
/// retry_backoff = "1m"
/// first_run = "latest"
/// max_backfill_slots = 10000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// After downtime, at most this many missed slots per job are run (the most recent ones,
    /// oldest first); older missed slots are recorded as a gap, visible in `weft jobs` and
    /// ready to backfill. At least 1.
    pub max_catch_up: u32,
    /// How many times a slot is attempted before it is recorded as failed and its window as a
    /// gap. At least 1.
    pub max_attempts: u32,
    /// How long to wait before retrying a failed run; doubled after each further failure.
    pub retry_backoff: HumanDuration,
    /// What a job that has never run does first.
    pub first_run: FirstRun,
    /// The most slots one backfill or late-data re-run may queue for one job. At least 1.
    pub max_backfill_slots: u64,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            max_catch_up: 24,
            max_attempts: 3,
            retry_backoff: HumanDuration::from_micros(60_000_000),
            first_run: FirstRun::Latest,
            max_backfill_slots: 10_000,
        }
    }
}

impl SchedulerConfig {
    /// Checks the bounds serde cannot.
    pub fn validate(&self) -> Result<(), SchedulerError> {
        for (name, value) in [
            ("max_catch_up", u64::from(self.max_catch_up)),
            ("max_attempts", u64::from(self.max_attempts)),
            ("max_backfill_slots", self.max_backfill_slots),
        ] {
            if value == 0 {
                return Err(SchedulerError::Config(format!("{name} must be at least 1")));
            }
        }
        Ok(())
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failures (1-based).
    pub fn backoff_after(&self, attempt: u32) -> i64 {
        let doublings = attempt.saturating_sub(1).min(20);
        self.retry_backoff
            .as_micros()
            .saturating_mul(1_i64 << doublings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_toml_section_and_refuses_unknown_keys() {
        let config: SchedulerConfig =
            toml::from_str("max_catch_up = 5\nretry_backoff = \"30s\"\nfirst_run = \"catch_up\"")
                .expect("valid");
        assert_eq!(config.max_catch_up, 5);
        assert_eq!(config.retry_backoff.as_micros(), 30_000_000);
        assert_eq!(config.first_run, FirstRun::CatchUp);
        assert_eq!(config.max_attempts, 3);
        assert!(toml::from_str::<SchedulerConfig>("max_catchup = 5").is_err());
        let error = toml::from_str::<SchedulerConfig>("retry_backoff = \"5x\"")
            .expect_err("bad duration")
            .to_string();
        assert!(error.contains("invalid duration"), "{error}");
        let zero = SchedulerConfig {
            max_attempts: 0,
            ..SchedulerConfig::default()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn backoff_doubles() {
        let config = SchedulerConfig::default();
        assert_eq!(config.backoff_after(1), 60_000_000);
        assert_eq!(config.backoff_after(2), 120_000_000);
        assert_eq!(config.backoff_after(3), 240_000_000);
    }
}
