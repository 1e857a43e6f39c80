//! Repeated client errors, logged once per interval each. A broker that is down retries every
//! few hundred milliseconds; without this, every retry was two WARN lines (about forty a
//! second) and the one line that matters drowned.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often one kind of error is logged again while it keeps happening.
pub const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(30);

/// Per error text: when it was last logged and how often it happened since.
#[derive(Debug)]
pub struct ErrorLogThrottle {
    interval: Duration,
    seen: HashMap<String, (Instant, u64)>,
}

impl ErrorLogThrottle {
    pub fn new(interval: Duration) -> Self {
        ErrorLogThrottle {
            interval,
            seen: HashMap::new(),
        }
    }

    /// `Some(repeats)` when `error` is to be logged now (`repeats`: how often it happened
    /// unlogged since it was last logged), `None` when it was logged within the interval.
    pub fn admit(&mut self, error: &str, now: Instant) -> Option<u64> {
        match self.seen.get_mut(error) {
            Some((logged, repeats)) if now.duration_since(*logged) < self.interval => {
                *repeats += 1;
                None
            }
            Some((logged, repeats)) => {
                *logged = now;
                Some(std::mem::take(repeats))
            }
            None => {
                // Error texts are a small closed set (codes with their descriptions); the map
                // stays small, but is bounded anyway.
                if self.seen.len() >= 64 {
                    self.seen.clear();
                }
                self.seen.insert(error.to_string(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_each_error_once_per_interval_with_the_repeats() {
        let mut throttle = ErrorLogThrottle::new(Duration::from_secs(30));
        let start = Instant::now();
        assert_eq!(throttle.admit("all brokers down", start), Some(0));
        assert_eq!(throttle.admit("transport failure", start), Some(0));
        for second in 1..30 {
            let now = start + Duration::from_secs(second);
            assert_eq!(throttle.admit("all brokers down", now), None);
        }
        let later = start + Duration::from_secs(30);
        assert_eq!(throttle.admit("all brokers down", later), Some(29));
        assert_eq!(throttle.admit("all brokers down", later), None);
    }
}
