//! Which alerts an output receives: its name and the lowest Sigma level it wants.

use crate::record::AlertRecord;
use crate::sigma::rule::Level;

/// An output as the outbox routes alerts to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRoute {
    /// The output's name: deliveries are keyed by it, and the sink of the same name sends
    /// them.
    pub name: String,
    /// Only alerts at or above this level are sent; `None` sends every alert.
    pub min_level: Option<Level>,
}

impl OutputRoute {
    /// A route for every alert.
    pub fn all(name: impl Into<String>) -> OutputRoute {
        OutputRoute {
            name: name.into(),
            min_level: None,
        }
    }

    /// Whether `record` goes to this output. An alert without a level, or with one that is not
    /// a Sigma level, counts as `informational`.
    pub fn accepts(&self, record: &AlertRecord) -> bool {
        let Some(min_level) = self.min_level else {
            return true;
        };
        let level = record
            .alert
            .level
            .as_deref()
            .and_then(parse_level)
            .unwrap_or(Level::Informational);
        level >= min_level
    }
}

/// A Sigma level by its name (`informational`, `low`, `medium`, `high`, `critical`).
pub fn parse_level(text: &str) -> Option<Level> {
    [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ]
    .into_iter()
    .find(|level| level.as_str().eq_ignore_ascii_case(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_level_and_nothing_else() {
        assert_eq!(parse_level("high"), Some(Level::High));
        assert_eq!(parse_level("Critical"), Some(Level::Critical));
        assert_eq!(parse_level("informational"), Some(Level::Informational));
        assert_eq!(parse_level("severe"), None);
    }
}
