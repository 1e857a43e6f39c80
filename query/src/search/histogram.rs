//! The time histogram of matching events: how many fall in each bucket of a time range.
//!
//! Buckets start at multiples of the interval since the Unix epoch (UTC), so an hourly histogram
//! has buckets on the hour whatever range was asked. The interval is either given (`30s`, `5m`,
//! `1h`, `1d`) or chosen from the range: the shortest of a fixed ladder that gives at most
//! [`TARGET_BUCKETS`] buckets.

use serde::Serialize;

/// Most buckets a chosen interval gives.
pub const TARGET_BUCKETS: i64 = 120;
/// Most buckets a given interval may give; more is refused.
pub const MAX_BUCKETS: i64 = 2_000;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The interval an empty histogram reports when none was given.
pub const DEFAULT_INTERVAL: i64 = HOUR;

/// Intervals the histogram chooses from, shortest first.
const LADDER: [i64; 16] = [
    SECOND,
    5 * SECOND,
    10 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    7 * DAY,
    30 * DAY,
    365 * DAY,
];

/// Why an interval or a range cannot make a histogram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error(
        "invalid interval `{0}`: write a whole number and a unit, s, m, h or d (`30s`, `5m`, `1h`, `1d`)"
    )]
    Syntax(String),
    #[error(
        "the interval gives {buckets} buckets over this range, more than {MAX_BUCKETS}; choose a longer interval or a shorter range"
    )]
    TooManyBuckets { buckets: i64 },
}

/// Reads an interval (`30s`, `5m`, `1h`, `1d`) as microseconds.
pub fn parse_interval(text: &str) -> Result<i64, IntervalError> {
    let syntax = || IntervalError::Syntax(text.chars().take(32).collect());
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(syntax)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| syntax())?;
    let unit = match unit {
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => return Err(syntax()),
    };
    match number.checked_mul(unit) {
        Some(interval) if interval > 0 && interval <= 366 * DAY => Ok(interval),
        _ => Err(syntax()),
    }
}

/// An interval as the shortest text that reads back as it (`90s` is `90s`, `3600s` is `1h`).
pub fn format_interval(interval: i64) -> String {
    for (unit, suffix) in [(DAY, "d"), (HOUR, "h"), (MINUTE, "m")] {
        if interval % unit == 0 {
            return format!("{}{suffix}", interval / unit);
        }
    }
    format!("{}s", interval / SECOND)
}

/// The buckets covering `[from, to)`: (first bucket start, interval, number of buckets).
pub fn plan(from: i64, to: i64, interval: Option<i64>) -> Result<(i64, i64, usize), IntervalError> {
    let span = to.saturating_sub(from).max(1);
    let interval = match interval {
        Some(interval) if interval <= 0 => {
            return Err(IntervalError::Syntax(format_interval(interval)));
        }
        Some(interval) => interval,
        None => LADDER
            .iter()
            .copied()
            .find(|interval| span / interval < TARGET_BUCKETS)
            .unwrap_or(LADDER[LADDER.len() - 1]),
    };
    let start = from.div_euclid(interval).saturating_mul(interval);
    let buckets = to
        .saturating_sub(start)
        .saturating_add(interval - 1)
        .checked_div(interval)
        .unwrap_or(0)
        .max(1);
    if buckets > MAX_BUCKETS {
        return Err(IntervalError::TooManyBuckets { buckets });
    }
    Ok((start, interval, usize::try_from(buckets).unwrap_or(0)))
}

/// The histogram as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Histogram {
    /// Bucket width (`1h`).
    pub interval: String,
    /// Every bucket of the range, empty ones included, oldest first.
    pub buckets: Vec<Bucket>,
    /// Matching events in the range (the sum of the counts).
    pub total: u64,
}

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start of the bucket, RFC 3339 UTC.
    pub start: String,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_with_their_unit() {
        assert_eq!(parse_interval("30s"), Ok(30 * SECOND));
        assert_eq!(parse_interval("5m"), Ok(5 * MINUTE));
        assert_eq!(parse_interval("1h"), Ok(HOUR));
        assert_eq!(parse_interval("2d"), Ok(2 * DAY));
        for bad in [
            "",
            "h",
            "0s",
            "-1h",
            "1",
            "1w",
            "1.5h",
            "1 h",
            "99999999999999999999s",
            "400d",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(format_interval(HOUR), "1h");
        assert_eq!(format_interval(90 * SECOND), "90s");
    }

    #[test]
    fn the_chosen_interval_gives_a_readable_number_of_aligned_buckets() {
        let from = 10 * DAY + 5 * MINUTE;
        let (start, interval, buckets) = plan(from, from + DAY, None).expect("plan");
        assert_eq!(interval, 30 * MINUTE);
        assert_eq!(start, 10 * DAY, "aligned on the interval");
        assert_eq!(buckets, 49);
        let (_, interval, buckets) = plan(0, 90 * SECOND, None).expect("plan");
        assert_eq!((interval, buckets), (SECOND, 90));
        assert_eq!(plan(0, 0, None).map(|plan| plan.2), Ok(1));
    }

    #[test]
    fn a_given_interval_with_too_many_buckets_is_refused() {
        assert!(matches!(
            plan(0, 30 * DAY, Some(SECOND)),
            Err(IntervalError::TooManyBuckets { .. })
        ));
        assert_eq!(plan(0, DAY, Some(HOUR)), Ok((0, HOUR, 24)));
    }
}
