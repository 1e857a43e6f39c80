//! `[api.oidc]`: which identity provider's tokens the API accepts, and how their claims map
//! to a weft user and role. [`OidcConfig::build`] checks everything once and yields
//! [`OidcSettings`].
//!
//! ```toml
//! [api.oidc]
//! issuer = "https://login.example.com/realms/soc"
//! audience = "weft"                      # or ["weft", "weft-cli"]
//! jwks = "https://login.example.com/realms/soc/protocol/openid-connect/certs"
//! role_claim = "groups"                  # default "weft_role"
//! roles = { "soc-analysts" = "analyst", "soc-leads" = "admin" }
//! name_claim = "email"                   # default "sub"
//! algorithms = ["RS256", "ES256"]        # the default
//! leeway = "30s"                         # the default
//! jwks_refresh = "5m"                    # the default
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::Deserialize;
use weft_correlate::duration::HumanDuration;

use crate::auth::role::Role;

/// The algorithms accepted when the configuration names none.
pub const DEFAULT_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];
/// The claim read for the role when the configuration names none.
pub const DEFAULT_ROLE_CLAIM: &str = "weft_role";
/// The claim read for the user's name when the configuration names none.
pub const DEFAULT_NAME_CLAIM: &str = "sub";
/// Clock skew tolerated on `exp` and `nbf` by default.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// How often the key set is re-read by default.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(300);
/// The most clock skew weft tolerates: more would keep expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Bounds of `jwks_refresh`: often enough for key rotation, rarely enough not to hammer the
/// identity provider.
pub const MIN_JWKS_REFRESH: Duration = Duration::from_secs(10);
pub const MAX_JWKS_REFRESH: Duration = Duration::from_secs(86_400);

/// `[api.oidc]` as written in `weft.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The identity provider's issuer: tokens must carry exactly this `iss`.
    pub issuer: String,
    /// The audience weft is registered as: a token's `aud` must contain one of these.
    pub audience: Audience,
    /// The provider's JSON Web Key Set: a file path, or an `https://` URL (`http://` only for
    /// a loopback host).
    pub jwks: String,
    /// The claim holding the weft role, or the groups mapped through `roles`: a string or an
    /// array of strings. A dotted name (`realm_access.roles`) reaches into nested objects when
    /// no top-level claim has that exact name.
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Group (or role) names of the identity provider mapped to weft roles. When set, only
    /// the names listed here grant a role; when empty, the claim must name the weft role
    /// itself (`viewer`, `analyst`, `admin` or `ingest`).
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// The claim naming the user in the audit trail (`sub`, `email`, `preferred_username`).
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// The signature algorithms accepted: `RS256`, `RS384`, `RS512`, `PS256`, `PS384`,
    /// `PS512`, `ES256`, `ES384` or `EdDSA`. Never `none` or HMAC (`HS256`...).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf` (at most five minutes).
    #[serde(default = "default_leeway")]
    pub leeway: HumanDuration,
    /// How often the key set is re-read; a token signed by an unknown key also triggers a
    /// re-read, at most once per this interval.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh: HumanDuration,
}

/// One audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "a string or an array of strings")]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

fn default_role_claim() -> String {
    DEFAULT_ROLE_CLAIM.to_string()
}

fn default_name_claim() -> String {
    DEFAULT_NAME_CLAIM.to_string()
}

fn default_algorithms() -> Vec<String> {
    DEFAULT_ALGORITHMS.iter().map(ToString::to_string).collect()
}

fn default_leeway() -> HumanDuration {
    HumanDuration(DEFAULT_LEEWAY)
}

fn default_jwks_refresh() -> HumanDuration {
    HumanDuration(DEFAULT_JWKS_REFRESH)
}

/// A mistake in `[api.oidc]`.
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    #[error("[api.oidc] {key} must not be empty")]
    Empty { key: &'static str },
    #[error(
        "[api.oidc] algorithm {0:?} is not supported; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
    )]
    UnknownAlgorithm(String),
    #[error(
        "[api.oidc] algorithm {0:?} is refused: tokens must be signed with the provider's private key (RS*, PS*, ES*, EdDSA), never unsigned or with a shared HMAC secret"
    )]
    RefusedAlgorithm(String),
    #[error("[api.oidc] jwks {url:?} {reason}")]
    JwksUrl { url: String, reason: &'static str },
    #[error("[api.oidc] leeway {0} is longer than five minutes")]
    LeewayTooLong(HumanDuration),
    #[error("[api.oidc] jwks_refresh {0} must be between 10s and 1d")]
    RefreshOutOfRange(HumanDuration),
}

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JSON file, read at start and re-read every refresh interval.
    File(PathBuf),
    /// An `https://` (or loopback `http://`) URL, fetched at start and every refresh interval.
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(formatter, "{}", path.display()),
            JwksSource::Url(url) => formatter.write_str(url),
        }
    }
}

/// How token claims become a weft principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRules {
    pub role_claim: String,
    pub roles: BTreeMap<String, Role>,
    pub name_claim: String,
}

/// `[api.oidc]`, checked: what the verifier runs with.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub jwks: JwksSource,
    pub claims: ClaimRules,
    pub algorithms: Vec<Algorithm>,
    pub leeway: Duration,
    pub jwks_refresh: Duration,
}

impl OidcConfig {
    /// Checks every key; the result needs no further validation.
    pub fn build(&self) -> Result<OidcSettings, OidcConfigError> {
        let issuer = non_empty("issuer", &self.issuer)?;
        let audiences: Vec<String> = match &self.audience {
            Audience::One(one) => vec![one.trim().to_string()],
            Audience::Many(many) => many.iter().map(|one| one.trim().to_string()).collect(),
        };
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(OidcConfigError::Empty { key: "audience" });
        }
        let jwks = jwks_source(non_empty("jwks", &self.jwks)?)?;
        let role_claim = non_empty("role_claim", &self.role_claim)?;
        let name_claim = non_empty("name_claim", &self.name_claim)?;
        if self.roles.keys().any(|group| group.is_empty()) {
            return Err(OidcConfigError::Empty {
                key: "roles (a group name)",
            });
        }
        if self.algorithms.is_empty() {
            return Err(OidcConfigError::Empty { key: "algorithms" });
        }
        let mut algorithms = Vec::with_capacity(self.algorithms.len());
        for name in &self.algorithms {
            let algorithm = parse_algorithm(name)?;
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        if self.leeway.0 > MAX_LEEWAY {
            return Err(OidcConfigError::LeewayTooLong(self.leeway));
        }
        if !(MIN_JWKS_REFRESH..=MAX_JWKS_REFRESH).contains(&self.jwks_refresh.0) {
            return Err(OidcConfigError::RefreshOutOfRange(self.jwks_refresh));
        }
        Ok(OidcSettings {
            issuer,
            audiences,
            jwks,
            claims: ClaimRules {
                role_claim,
                roles: self.roles.clone(),
                name_claim,
            },
            algorithms,
            leeway: self.leeway.0,
            jwks_refresh: self.jwks_refresh.0,
        })
    }
}

fn non_empty(key: &'static str, value: &str) -> Result<String, OidcConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(OidcConfigError::Empty { key });
    }
    Ok(value.to_string())
}

/// An algorithm weft accepts: asymmetric only.
fn parse_algorithm(name: &str) -> Result<Algorithm, OidcConfigError> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Err(OidcConfigError::RefusedAlgorithm(name.to_string()));
    }
    let algorithm: Algorithm = trimmed
        .parse()
        .map_err(|_| OidcConfigError::UnknownAlgorithm(name.to_string()))?;
    if algorithm.family() == AlgorithmFamily::Hmac {
        return Err(OidcConfigError::RefusedAlgorithm(name.to_string()));
    }
    Ok(algorithm)
}

fn jwks_source(jwks: String) -> Result<JwksSource, OidcConfigError> {
    if !jwks.contains("://") {
        return Ok(JwksSource::File(PathBuf::from(jwks)));
    }
    let invalid = |reason: &'static str| OidcConfigError::JwksUrl {
        url: jwks.clone(),
        reason,
    };
    let uri: ureq::http::Uri = jwks
        .parse()
        .map_err(|_| invalid("is not a valid URL; write https://host/path or a file path"))?;
    let host = uri
        .host()
        .ok_or_else(|| invalid("has no host; write https://host/path"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => {
            return Err(invalid(
                "uses plain http to a non-loopback host, where the keys could be forged in transit; use https",
            ));
        }
        _ => return Err(invalid("must start with https:// (or be a file path)")),
    }
    Ok(JwksSource::Url(jwks))
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OidcConfig, toml::de::Error> {
        toml::from_str(text)
    }

    const MINIMAL: &str = r#"
        issuer = "https://login.example.com"
        audience = "weft"
        jwks = "/etc/weft/jwks.json"
    "#;

    #[test]
    fn defaults_fill_everything_but_issuer_audience_and_jwks() -> anyhow::Result<()> {
        let settings = parse(MINIMAL)?.build()?;
        assert_eq!(settings.issuer, "https://login.example.com");
        assert_eq!(settings.audiences, vec!["weft".to_string()]);
        assert_eq!(
            settings.jwks,
            JwksSource::File(PathBuf::from("/etc/weft/jwks.json"))
        );
        assert_eq!(settings.claims.role_claim, DEFAULT_ROLE_CLAIM);
        assert_eq!(settings.claims.name_claim, DEFAULT_NAME_CLAIM);
        assert!(settings.claims.roles.is_empty());
        assert_eq!(
            settings.algorithms,
            vec![Algorithm::RS256, Algorithm::ES256]
        );
        assert_eq!(settings.leeway, DEFAULT_LEEWAY);
        assert_eq!(settings.jwks_refresh, DEFAULT_JWKS_REFRESH);
        assert!(parse("issuer = \"x\"\naudience = \"weft\"").is_err());
        Ok(())
    }

    #[test]
    fn every_key_is_read_and_unknown_keys_are_refused() -> anyhow::Result<()> {
        let settings = parse(
            r#"
            issuer = "https://login.example.com"
            audience = ["weft", "weft-cli"]
            jwks = "https://login.example.com/keys"
            role_claim = "groups"
            roles = { "soc" = "analyst", "soc-leads" = "admin" }
            name_claim = "email"
            algorithms = ["ES384", "EdDSA"]
            leeway = "10s"
            jwks_refresh = "1h"
            "#,
        )?
        .build()?;
        assert_eq!(settings.audiences, vec!["weft", "weft-cli"]);
        assert_eq!(
            settings.jwks,
            JwksSource::Url("https://login.example.com/keys".into())
        );
        assert_eq!(settings.claims.roles.get("soc-leads"), Some(&Role::Admin));
        assert_eq!(
            settings.algorithms,
            vec![Algorithm::ES384, Algorithm::EdDSA]
        );
        assert_eq!(settings.leeway, Duration::from_secs(10));
        assert_eq!(settings.jwks_refresh, Duration::from_secs(3600));
        let typo = format!("{MINIMAL}\nrole_clam = \"groups\"");
        assert!(parse(&typo).is_err());
        let bad_role = format!("{MINIMAL}\nroles = {{ soc = \"root\" }}");
        assert!(parse(&bad_role).is_err());
        Ok(())
    }

    #[test]
    fn none_and_hmac_algorithms_are_refused() -> anyhow::Result<()> {
        for name in ["none", "NONE", "HS256", "HS512"] {
            let text = format!("{MINIMAL}\nalgorithms = [\"{name}\"]");
            assert!(
                matches!(
                    parse(&text)?.build(),
                    Err(OidcConfigError::RefusedAlgorithm(_))
                ),
                "{name}"
            );
        }
        let text = format!("{MINIMAL}\nalgorithms = [\"RS1\"]");
        assert!(matches!(
            parse(&text)?.build(),
            Err(OidcConfigError::UnknownAlgorithm(_))
        ));
        let text = format!("{MINIMAL}\nalgorithms = []");
        assert!(matches!(
            parse(&text)?.build(),
            Err(OidcConfigError::Empty { .. })
        ));
        Ok(())
    }

    #[test]
    fn key_set_urls_need_https_unless_loopback() -> anyhow::Result<()> {
        let with = |jwks: &str| {
            parse(&format!(
                "issuer = \"i\"\naudience = \"a\"\njwks = \"{jwks}\""
            ))
            .map(|config| config.build())
        };
        assert!(matches!(
            with("http://login.example.com/keys")?,
            Err(OidcConfigError::JwksUrl { .. })
        ));
        assert!(matches!(
            with("ftp://login.example.com/keys")?,
            Err(OidcConfigError::JwksUrl { .. })
        ));
        for loopback in [
            "http://127.0.0.1:8081/keys",
            "http://localhost/keys",
            "http://[::1]:9000/keys",
        ] {
            assert_eq!(with(loopback)??.jwks, JwksSource::Url(loopback.to_string()));
        }
        Ok(())
    }

    #[test]
    fn empty_values_and_out_of_range_durations_are_refused() -> anyhow::Result<()> {
        let cases = [
            "issuer = \" \"\naudience = \"a\"\njwks = \"k.json\"",
            "issuer = \"i\"\naudience = []\njwks = \"k.json\"",
            "issuer = \"i\"\naudience = [\"\"]\njwks = \"k.json\"",
            "issuer = \"i\"\naudience = \"a\"\njwks = \"\"",
            "issuer = \"i\"\naudience = \"a\"\njwks = \"k.json\"\nleeway = \"10m\"",
            "issuer = \"i\"\naudience = \"a\"\njwks = \"k.json\"\njwks_refresh = \"1s\"",
            "issuer = \"i\"\naudience = \"a\"\njwks = \"k.json\"\nroles = { \"\" = \"viewer\" }",
        ];
        for case in cases {
            assert!(parse(case)?.build().is_err(), "{case}");
        }
        Ok(())
    }
}
