//! Durations written for humans in `weft.toml` and rule files: one or more `<number><unit>`
//! parts (`"30s"`, `"5m"`, `"1h30m"`, `"7d"`, `"250ms"`), parsed by `humantime`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest duration weft accepts: ten years. Anything longer is a typo, and the bound
/// keeps microsecond arithmetic far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 86_400);

/// A duration text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {text:?}: {reason} (write it like \"30s\", \"15m\", \"24h\", \"1h30m\" or \"7d\")"
)]
pub struct DurationError {
    pub text: String,
    pub reason: String,
}

/// Parses a human duration.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let error = |reason: String| DurationError {
        text: text.to_string(),
        reason,
    };
    let duration = humantime::parse_duration(text.trim()).map_err(|e| error(e.to_string()))?;
    if duration > MAX_DURATION {
        return Err(error("it is longer than ten years".into()));
    }
    Ok(duration)
}

/// Parses a human duration into microseconds.
pub fn parse_micros(text: &str) -> Result<i64, DurationError> {
    parse_duration(text).map(|duration| HumanDuration(duration).as_micros())
}

/// Microseconds as a human duration (`"1h 30m"`); negative values as zero.
pub fn format_micros(micros: i64) -> String {
    HumanDuration::from_micros(micros).to_string()
}

/// A duration read from configuration as text; serializes back to text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// From microseconds; negative values count as zero.
    pub fn from_micros(micros: i64) -> HumanDuration {
        HumanDuration(Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
    }

    /// The duration in microseconds, saturating.
    pub fn as_micros(self) -> i64 {
        i64::try_from(self.0.as_micros()).unwrap_or(i64::MAX)
    }

    pub fn parse(text: &str) -> Result<HumanDuration, DurationError> {
        parse_duration(text).map(HumanDuration)
    }
}

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> HumanDuration {
        HumanDuration(duration)
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<HumanDuration, DurationError> {
        HumanDuration::parse(text)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HumanDuration, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_human_durations() {
        for (text, seconds) in [
            ("30s", 30),
            ("5m", 300),
            ("1h30m", 5_400),
            (" 1h 30m ", 5_400),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("0s", 0),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(seconds)),
                "{text}"
            );
        }
        assert_eq!(parse_micros("250ms"), Ok(250_000));
        assert_eq!(format_micros(5_400_000_000), "1h 30m");
        let round: HumanDuration = "1h30m".parse().expect("parses");
        assert_eq!(round.to_string().parse::<HumanDuration>(), Ok(round));
    }

    #[test]
    fn bad_durations_say_what_to_write() {
        for text in ["", "5", "1x", "-1s", "soon", "99999d"] {
            let error = parse_duration(text).expect_err(text).to_string();
            assert!(error.contains("write it like"), "{text}: {error}");
        }
    }
}
