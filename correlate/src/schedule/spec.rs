//! When a scheduled job runs and which events each run covers.
//!
//! A schedule has an `interval` (how often it runs), a `lookback` (how much event time each run
//! covers, at least the interval) and a `delay` (how long weft waits for late ingest before a
//! window is considered settled). Runs are aligned to interval boundaries counted from the Unix
//! epoch, UTC: the run for slot end `E` covers event time `[E - lookback, E)` and becomes due at
//! processing time `E + delay`. A `5m` job with a `1m` delay runs for 12:05 at 12:06 and scans
//! events from 12:00 (included) to 12:05 (excluded).
//!
//! Durations are written as a number and a unit (`30s`, `5m`, `1h`, `1d`), or several of them
//! (`1h30m`).

use std::fmt;

use super::error::ScheduleError;
use crate::correlation::backtest::TimeRange;
use crate::duration;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The longest duration weft accepts (365 days): longer schedules are a configuration mistake,
/// and the bound keeps slot arithmetic far from overflow.
pub const MAX_DURATION_MICROS: i64 = 365 * DAY;

/// Parses a human duration (`30s`, `5m`, `1h`, `1d`, `1h30m`; see [`crate::duration`]) into
/// microseconds, at most [`MAX_DURATION_MICROS`].
pub fn parse_duration(text: &str) -> Result<i64, ScheduleError> {
    let micros = duration::parse_micros(text).map_err(|error| ScheduleError::Duration {
        text: error.text,
        reason: error.reason,
    })?;
    if micros > MAX_DURATION_MICROS {
        return Err(ScheduleError::Duration {
            text: text.to_string(),
            reason: "it is longer than 365d".into(),
        });
    }
    Ok(micros)
}

/// Microseconds as a human duration (`5m`, `1h 30m`, `0s`).
pub fn format_duration(micros: i64) -> String {
    duration::format_micros(micros)
}

pub use crate::duration::HumanDuration;

/// A validated schedule, in microseconds. See the module documentation for its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    interval: i64,
    lookback: i64,
    delay: i64,
}

/// The slot ends a range of event time touches: `first`, `first + interval`, ..., `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSpan {
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

impl Schedule {
    /// A schedule from microseconds; `lookback` defaults to the interval, `delay` to zero.
    ///
    /// Refused: an interval under one second, and a lookback shorter than the interval (the
    /// events between one run's window and the next would never be scanned).
    pub fn new(
        interval: i64,
        lookback: Option<i64>,
        delay: Option<i64>,
    ) -> Result<Schedule, ScheduleError> {
        let lookback = lookback.unwrap_or(interval);
        let delay = delay.unwrap_or(0);
        if !(SECOND..=MAX_DURATION_MICROS).contains(&interval) {
            return Err(ScheduleError::Interval(format_duration(interval)));
        }
        if lookback < interval {
            return Err(ScheduleError::LookbackShorterThanInterval {
                lookback: format_duration(lookback),
                interval: format_duration(interval),
            });
        }
        if !(0..=MAX_DURATION_MICROS).contains(&lookback)
            || !(0..=MAX_DURATION_MICROS).contains(&delay)
        {
            return Err(ScheduleError::Duration {
                text: format_duration(lookback.max(delay)),
                reason: "lookback and delay must be between 0s and 365d".into(),
            });
        }
        Ok(Schedule {
            interval,
            lookback,
            delay,
        })
    }

    /// A schedule from duration texts (`"5m"`, `Some("15m")`, `Some("2m")`).
    pub fn parse(
        interval: &str,
        lookback: Option<&str>,
        delay: Option<&str>,
    ) -> Result<Schedule, ScheduleError> {
        Schedule::new(
            parse_duration(interval)?,
            lookback.map(parse_duration).transpose()?,
            delay.map(parse_duration).transpose()?,
        )
    }

    pub fn interval(&self) -> i64 {
        self.interval
    }

    pub fn lookback(&self) -> i64 {
        self.lookback
    }

    pub fn delay(&self) -> i64 {
        self.delay
    }

    /// The event time the run of `slot_end` covers: `[slot_end - lookback, slot_end)`, as an
    /// inclusive range.
    pub fn range(&self, slot_end: i64) -> TimeRange {
        TimeRange {
            from: Some(slot_end.saturating_sub(self.lookback)),
            to: Some(slot_end.saturating_sub(1)),
        }
    }

    /// The processing time at which the run of `slot_end` becomes due.
    pub fn due_at(&self, slot_end: i64) -> i64 {
        slot_end.saturating_add(self.delay)
    }

    /// The slot end `time` is aligned down to.
    pub fn align(&self, time: i64) -> i64 {
        time.div_euclid(self.interval).saturating_mul(self.interval)
    }

    /// The latest slot end whose run is due at processing time `now`.
    pub fn latest_due(&self, now: i64) -> i64 {
        self.align(now.saturating_sub(self.delay))
    }

    /// The slots whose windows hold any event time of `[from, to]` (inclusive), or `None` when
    /// `to < from`.
    pub fn covering(&self, from: i64, to: i64) -> Option<SlotSpan> {
        if to < from {
            return None;
        }
        // Slot E covers t when E - lookback <= t < E, that is t < E <= t + lookback.
        let first = self.align(from).saturating_add(self.interval);
        let last = self.align(to.saturating_add(self.lookback));
        self.span(first, last)
    }

    /// The slots from `first` to `last` (both slot ends), or `None` when there are none.
    pub fn span(&self, first: i64, last: i64) -> Option<SlotSpan> {
        if last < first {
            return None;
        }
        let count = (last - first) / self.interval + 1;
        Some(SlotSpan {
            first,
            last,
            count: u64::try_from(count).unwrap_or(u64::MAX),
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "every {} over {} after {}",
            format_duration(self.interval),
            format_duration(self.lookback),
            format_duration(self.delay)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations() {
        assert_eq!(parse_duration("30s"), Ok(30 * SECOND));
        assert_eq!(parse_duration("5m"), Ok(5 * MINUTE));
        assert_eq!(parse_duration("1h"), Ok(HOUR));
        assert_eq!(parse_duration("1d"), Ok(DAY));
        assert_eq!(parse_duration(" 1h30m "), Ok(HOUR + 30 * MINUTE));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn refuses_bad_durations_with_the_reason() {
        for (text, reason) in [
            ("", "empty"),
            ("5", "unit"),
            ("5x", "unknown time unit"),
            ("-5m", "expected number"),
            ("400d", "longer than 365d"),
        ] {
            let error = parse_duration(text).expect_err(text).to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn formats_durations_back() {
        for text in ["0s", "30s", "5m", "1h30m", "1d", "2d3h4m5s"] {
            let micros = parse_duration(text).expect(text);
            assert_eq!(
                parse_duration(&format_duration(micros)),
                Ok(micros),
                "{text}"
            );
        }
    }

    #[test]
    fn lookback_defaults_to_the_interval_and_never_is_shorter() {
        let schedule = Schedule::parse("5m", None, None).expect("valid");
        assert_eq!(schedule.lookback(), 5 * MINUTE);
        assert_eq!(schedule.delay(), 0);
        let error = Schedule::parse("5m", Some("1m"), None).expect_err("holes");
        assert!(
            error.to_string().contains("shorter than the interval"),
            "{error}"
        );
        assert!(Schedule::parse("500s", Some("1h"), Some("2m")).is_ok());
        assert!(Schedule::parse("0s", None, None).is_err());
    }

    #[test]
    fn slots_are_aligned_to_the_epoch_and_delayed() {
        let schedule = Schedule::parse("5m", Some("10m"), Some("1m")).expect("valid");
        let base = 1_000 * HOUR;
        assert_eq!(schedule.latest_due(base + 5 * MINUTE + 59 * SECOND), base);
        assert_eq!(schedule.latest_due(base + 6 * MINUTE), base + 5 * MINUTE);
        assert_eq!(schedule.due_at(base), base + MINUTE);
        assert_eq!(
            schedule.range(base),
            TimeRange {
                from: Some(base - 10 * MINUTE),
                to: Some(base - 1)
            }
        );
    }

    #[test]
    fn covering_finds_every_slot_whose_window_holds_the_range() {
        let schedule = Schedule::parse("5m", Some("10m"), None).expect("valid");
        let base = 1_000 * HOUR;
        // An event at base + 1m is in the windows of slots base + 5m and base + 10m.
        let span = schedule
            .covering(base + MINUTE, base + MINUTE)
            .expect("span");
        assert_eq!(
            (span.first, span.last, span.count),
            (base + 5 * MINUTE, base + 10 * MINUTE, 2)
        );
        // An event exactly on a boundary belongs to the windows that start at or before it.
        let span = schedule.covering(base, base).expect("span");
        assert_eq!(
            (span.first, span.last),
            (base + 5 * MINUTE, base + 10 * MINUTE)
        );
        for slot in [span.first, span.last] {
            assert!(schedule.range(slot).contains(base));
        }
        assert!(!schedule.range(base).contains(base));
        assert_eq!(schedule.covering(base, base - 1), None);
    }
}
