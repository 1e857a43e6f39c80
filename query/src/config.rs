//! `[api]` in `weft.toml`: the API's settings that an operator writes down: `[api.oidc]`,
//! which lets bearer JWTs of an OpenID Connect provider in beside weft's own tokens
//! ([`crate::auth::jwt`]), and `[api.rate_limits]` ([`crate::ratelimit`]).

use serde::Deserialize;

use crate::auth::jwt::{OidcConfig, OidcConfigError, OidcSettings};
use crate::ratelimit::RateLimitConfig;
use crate::sql_admission::SqlAdmissionConfig;

/// `[api]` as written. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// OpenID Connect bearer tokens; absent: only weft's own tokens authenticate.
    pub oidc: Option<OidcConfig>,
    /// Requests per client address and per token; absent: the defaults.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// `/metrics` without a token (for a Prometheus scraper that holds none); default false.
    #[serde(default)]
    pub public_metrics: bool,
    /// Seconds a client may take to send a request's headers, and again its body; a slower
    /// client is disconnected (headers) or answered 408 (body). Default 30.
    #[serde(default = "default_client_timeout_secs")]
    pub client_timeout_secs: u64,
    /// SQL queries running at once and waiting; absent: the defaults.
    #[serde(default)]
    pub sql: SqlAdmissionConfig,
}

fn default_client_timeout_secs() -> u64 {
    crate::api::DEFAULT_CLIENT_TIMEOUT.as_secs()
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            oidc: None,
            rate_limits: RateLimitConfig::default(),
            public_metrics: false,
            client_timeout_secs: default_client_timeout_secs(),
            sql: SqlAdmissionConfig::default(),
        }
    }
}

impl ApiSection {
    /// How long a client may take to send a request's headers, and again its body.
    pub fn client_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.client_timeout_secs.max(1))
    }

    /// Checks the section; the OIDC settings, if configured.
    pub fn build(&self) -> Result<Option<OidcSettings>, OidcConfigError> {
        self.oidc.as_ref().map(OidcConfig::build).transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    #[test]
    fn rate_limits_default_when_absent_and_are_read_when_written() {
        let section: ApiSection = toml::from_str("").expect("empty section");
        assert_eq!(section.rate_limits, RateLimitConfig::default());

        let section: ApiSection =
            toml::from_str("[rate_limits]\nper_token = { per_minute = 6000, burst = 500 }\n")
                .expect("rate limits");
        assert_eq!(
            section.rate_limits.per_token.per_minute,
            NonZeroU32::new(6000).expect("6000")
        );
        assert_eq!(
            section.rate_limits.per_token.burst,
            NonZeroU32::new(500).expect("500")
        );
        assert_eq!(
            section.rate_limits.per_address,
            RateLimitConfig::default().per_address
        );
    }

    #[test]
    fn the_client_timeout_defaults_to_30_seconds_and_is_read_when_written() {
        let section: ApiSection = toml::from_str("").expect("empty section");
        assert_eq!(section.client_timeout(), std::time::Duration::from_secs(30));
        assert_eq!(ApiSection::default().client_timeout_secs, 30);
        let section: ApiSection =
            toml::from_str("client_timeout_secs = 5\n").expect("client timeout");
        assert_eq!(section.client_timeout(), std::time::Duration::from_secs(5));
        let section: ApiSection = toml::from_str("client_timeout_secs = 0\n").expect("zero");
        assert_eq!(
            section.client_timeout(),
            std::time::Duration::from_secs(1),
            "never zero: a zero timeout would refuse every client"
        );
    }

    #[test]
    fn a_zero_or_unknown_rate_limit_is_refused() {
        let zero = toml::from_str::<ApiSection>(
            "[rate_limits]\nper_address = { per_minute = 0, burst = 1 }\n",
        );
        assert!(zero.is_err(), "zero per minute");
        let unknown = toml::from_str::<ApiSection>(
            "[rate_limits]\nper_address = { per_second = 5, burst = 1 }\n",
        );
        assert!(unknown.is_err(), "unknown key");
    }
}
