//! Rate limits per client address and per token (token bucket, `governor`). A refused request
//! learns when to retry.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// A sustained rate and a burst (`{ per_minute = 1200, burst = 100 }` in `weft.toml`; zero is
/// refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    /// Requests replenished per minute.
    pub per_minute: NonZeroU32,
    /// Requests allowed at once.
    pub burst: NonZeroU32,
}

impl RateQuota {
    fn quota(self) -> Quota {
        Quota::per_minute(self.per_minute).allow_burst(self.burst)
    }
}

/// The API's rate limits: `[api.rate_limits]` in `weft.toml`, each limit optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Per client IP address, checked before authentication (also slows token guessing).
    #[serde(default = "RateLimitConfig::default_per_address")]
    pub per_address: RateQuota,
    /// Per token, checked after authentication.
    #[serde(default = "RateLimitConfig::default_per_token")]
    pub per_token: RateQuota,
}

impl RateLimitConfig {
    /// 1200 requests a minute, 100 at once.
    fn default_per_address() -> RateQuota {
        RateQuota {
            per_minute: NonZeroU32::new(1200).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
        }
    }

    /// 600 requests a minute, 60 at once.
    fn default_per_token() -> RateQuota {
        RateQuota {
            per_minute: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_address: RateLimitConfig::default_per_address(),
            per_token: RateLimitConfig::default_per_token(),
        }
    }
}

/// Keys older than their bucket are forgotten every this many checks, so a stream of new
/// addresses cannot grow the limiter's memory without bound.
const SWEEP_EVERY: u64 = 4096;

/// A keyed limiter that sweeps idle keys now and then.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(quota: RateQuota) -> Self {
        Keyed {
            limiter: RateLimiter::keyed(quota.quota()),
            checks: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Both limiters of the API.
pub struct RateLimits {
    by_address: Keyed<IpAddr>,
    by_token: Keyed<String>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RateLimits").finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> RateLimits {
        RateLimits {
            by_address: Keyed::new(config.per_address),
            by_token: Keyed::new(config.per_token),
        }
    }

    /// `Err(wait)` when `address` must wait before its next request.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        self.by_address.check(&address)
    }

    /// `Err(wait)` when the token `token_id` must wait before its next request.
    pub fn check_token(&self, token_id: &str) -> Result<(), Duration> {
        self.by_token.check(&token_id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let quota = RateQuota {
            per_minute: NonZeroU32::new(1).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN),
        };
        let limits = RateLimits::new(RateLimitConfig {
            per_address: quota,
            per_token: quota,
        });
        let address: IpAddr = [192, 0, 2, 1].into();
        assert!(limits.check_address(address).is_ok());
        assert!(limits.check_address(address).is_ok());
        let wait = limits
            .check_address(address)
            .expect_err("third request is over the burst");
        assert!(
            wait > Duration::from_secs(30),
            "one per minute: wait {wait:?}"
        );
        // Other keys have their own buckets.
        assert!(limits.check_address([192, 0, 2, 2].into()).is_ok());
        assert!(limits.check_token("a").is_ok());
    }
}
