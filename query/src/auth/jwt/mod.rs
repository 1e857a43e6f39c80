//! OpenID Connect bearer tokens: JWTs signed by the operator's identity provider, verified
//! against its JSON Web Key Set (`[api.oidc]`, see [`config`]).
//!
//! A token is accepted when its header names an algorithm of the configured list (never
//! `none` or HMAC), a key of the set verifies its signature (found by `kid`; keys the token
//! itself names through `jwk` or `jku` are ignored), it carries `exp` and `iss` and `aud`, and
//! `exp`, `nbf`, `iss` and `aud` hold (with the configured leeway on times). Its role claim
//! must then grant a weft role ([`claims`]): a correct signature without a role is not a weft
//! credential, and the API answers it like any unknown token (401).
//!
//! The key set ([`jwks`]) is read at start (a file that cannot be read is a startup error; a
//! URL that cannot be fetched is logged and JWTs are refused until a later fetch succeeds),
//! then again every `jwks_refresh` in the background, and at once when a token names an
//! unknown key id (key rotation), at most once per `jwks_refresh`.

pub mod claims;
pub mod config;
pub mod jwks;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

pub use config::{Audience, ClaimRules, JwksSource, OidcConfig, OidcConfigError, OidcSettings};
pub use jwks::{JwksError, KeySet, Keys};

use super::token::Principal;

/// Longest bearer value treated as a JWT (larger ones are refused unread).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a bearer JWT was refused. Messages name claims and key ids, never key material or the
/// token itself.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is signed with {0:?}, which is not an accepted algorithm")]
    AlgorithmNotAccepted(String),
    #[error(
        "no key of the OIDC key set verifies {algorithm:?} tokens of key id {}",
        .kid.as_deref().unwrap_or("(none)")
    )]
    UnknownKey {
        kid: Option<String>,
        algorithm: Algorithm,
    },
    #[error("the OIDC key set has not loaded yet")]
    KeysNotLoaded,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token has no {0} claim")]
    MissingClaim(String),
    #[error("the token's {0} claim is not valid")]
    InvalidClaim(String),
    #[error("the token has no {0} claim to take a weft role from")]
    NoRole(String),
    #[error("the token's {0} claim grants no weft role")]
    NoKnownRole(String),
}

/// Whether a bearer value has the shape of a JWT: three base64url parts joined by dots. weft's
/// own tokens (`weft_...`) never contain a dot.
pub fn looks_like_jwt(bearer: &str) -> bool {
    let mut parts = 0;
    for part in bearer.split('.') {
        parts += 1;
        let base64url = part
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if part.is_empty() || !base64url || parts > 3 {
            return false;
        }
    }
    parts == 3
}

/// Verifies bearer JWTs against the configured provider. Cheap to share: the key set lives
/// behind an `Arc`.
#[derive(Debug)]
pub struct JwtVerifier {
    settings: OidcSettings,
    keys: Arc<Keys>,
}

impl JwtVerifier {
    /// Loads the key set once (blocking I/O). A key set file that cannot be read or holds no
    /// usable key is an error; a URL that cannot be fetched is logged, and tokens are refused
    /// until a later fetch succeeds.
    pub fn start(settings: OidcSettings) -> Result<JwtVerifier, JwksError> {
        let keys = Arc::new(Keys::new(settings.jwks.clone(), settings.jwks_refresh));
        match (keys.load(), &settings.jwks) {
            (Ok(()), _) => {
                let count = keys.current().map_or(0, |set| set.len());
                tracing::info!(jwks = %settings.jwks, keys = count, issuer = %settings.issuer, "oidc bearer tokens enabled");
            }
            (Err(error), JwksSource::File(_)) => return Err(error),
            (Err(error), JwksSource::Url(_)) => {
                tracing::error!(%error, "cannot fetch the oidc key set; bearer JWTs are refused until it loads");
            }
        }
        Ok(JwtVerifier { settings, keys })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The key set and its schedule.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The principal `token` stands for. Runs a due key set load in the background (or in
    /// this request when no key set has loaded yet), and waits for one when the token names
    /// a key id the set does not hold and the once-per-interval allowance is not spent.
    pub async fn verify(&self, token: &str) -> Result<Principal, JwtError> {
        if self.keys.claim_scheduled_load() {
            if self.keys.current().is_some() {
                let keys = Arc::clone(&self.keys);
                drop(tokio::task::spawn_blocking(move || load_logged(&keys)));
            } else {
                self.load_now().await;
            }
        }
        match self.verify_with_current_keys(token) {
            Err(JwtError::UnknownKey { .. }) if self.keys.claim_unknown_key_load() => {
                self.load_now().await;
                self.verify_with_current_keys(token)
            }
            verified => verified,
        }
    }

    async fn load_now(&self) {
        let keys = Arc::clone(&self.keys);
        if let Err(error) = tokio::task::spawn_blocking(move || load_logged(&keys)).await {
            tracing::error!(%error, "the oidc key set load panicked");
        }
    }

    /// [`JwtVerifier::verify`] with the keys in memory, never loading.
    pub fn verify_with_current_keys(&self, token: &str) -> Result<Principal, JwtError> {
        if token.len() > MAX_TOKEN_BYTES || !looks_like_jwt(token) {
            return Err(JwtError::Malformed);
        }
        let algorithm = self.accepted_algorithm(token)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        let keys = self.keys.current().ok_or(JwtError::KeysNotLoaded)?;
        let kid = header.kid;
        let key = keys
            .find(kid.as_deref(), algorithm)
            .ok_or(JwtError::UnknownKey { kid, algorithm })?;
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&self.settings.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = self.settings.leeway.as_secs();
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|error| refusal(error.into_kind()))?
            .claims;
        claims::principal(&claims, &self.settings.claims)
    }

    /// The header's algorithm, when it is one of the accepted ones. Read before anything
    /// else so that `none` and HMAC tokens are refused by name.
    fn accepted_algorithm(&self, token: &str) -> Result<Algorithm, JwtError> {
        let header = token.split('.').next().ok_or(JwtError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| JwtError::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
        let name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JwtError::Malformed)?;
        name.parse::<Algorithm>()
            .ok()
            .filter(|algorithm| self.settings.algorithms.contains(algorithm))
            .ok_or_else(|| JwtError::AlgorithmNotAccepted(name.chars().take(32).collect()))
    }
}

fn load_logged(keys: &Keys) {
    if let Err(error) = keys.load() {
        tracing::error!(%error, "cannot load the oidc key set; keeping the keys loaded before");
    }
}

fn refusal(kind: ErrorKind) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
        ErrorKind::InvalidAudience => JwtError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => JwtError::InvalidClaim(claim),
        // A key of the wrong family or shape for the header's algorithm cannot verify it.
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => JwtError::BadSignature,
        _ => JwtError::Malformed,
    }
}

#[cfg(test)]
mod tests;
