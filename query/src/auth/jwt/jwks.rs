//! The identity provider's public keys: a JSON Web Key Set read from a file or fetched over
//! HTTPS, kept in memory and re-read on a schedule.
//!
//! Only signature keys with public parameters are kept (RSA, EC, OKP); symmetric (`oct`) keys,
//! encryption keys and keys of types jsonwebtoken does not know are skipped, so that an HMAC
//! secret can never stand in for a public key. Errors name the source, never key material.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;

use super::config::JwksSource;

/// Largest key set accepted, in bytes (real ones hold a few keys of a few hundred bytes).
pub const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// How long one fetch of a key set URL may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed load, the next attempt waits at least this long (or the refresh interval,
/// when shorter).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Why the key set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("reading the OIDC key set {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("fetching the OIDC key set {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the OIDC key set {source_name} is not a JSON Web Key Set: {error}")]
    Parse {
        source_name: String,
        error: serde_json::Error,
    },
    #[error(
        "the OIDC key set {source_name} holds no usable signature key ({skipped} skipped: symmetric, encryption-only or unsupported)"
    )]
    NoUsableKey { source_name: String, skipped: usize },
}

/// One public key of the set.
struct PublicKey {
    id: Option<String>,
    /// The algorithm the set pins the key to (`alg`), if any.
    algorithm: Option<Algorithm>,
    key: DecodingKey,
}

/// A parsed key set.
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: never the keys.
        let ids: Vec<&str> = self
            .keys
            .iter()
            .map(|key| key.id.as_deref().unwrap_or("-"))
            .collect();
        formatter.debug_struct("KeySet").field("ids", &ids).finish()
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a key set document; `source_name` is for messages only.
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<KeySet, JwksError> {
        let raw: RawSet = serde_json::from_slice(bytes).map_err(|error| JwksError::Parse {
            source_name: source_name.to_string(),
            error,
        })?;
        let total = raw.keys.len();
        let keys: Vec<PublicKey> = raw.keys.into_iter().filter_map(public_key).collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey {
                source_name: source_name.to_string(),
                skipped: total,
            });
        }
        Ok(KeySet { keys })
    }

    /// The key that verifies a token signed with `algorithm` by the key `id`. A token without
    /// a key id is verified only when the set holds exactly one key for its algorithm.
    pub fn find(&self, id: Option<&str>, algorithm: Algorithm) -> Option<&DecodingKey> {
        let mut candidates = self.keys.iter().filter(|key| {
            key.key.family() == algorithm.family()
                && key.algorithm.is_none_or(|pinned| pinned == algorithm)
        });
        match id {
            Some(id) => candidates
                .find(|key| key.id.as_deref() == Some(id))
                .map(|key| &key.key),
            None => {
                let first = candidates.next()?;
                candidates.next().is_none().then_some(&first.key)
            }
        }
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A usable signature key from one JWK, or `None` to skip it.
fn public_key(value: serde_json::Value) -> Option<PublicKey> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    if !matches!(
        jwk.algorithm,
        AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_)
    ) {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        Some(pinned) => Some(Algorithm::try_from(pinned).ok()?),
        None => None,
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    if key.family() == AlgorithmFamily::Hmac {
        return None;
    }
    Some(PublicKey {
        id: jwk.common.key_id,
        algorithm,
        key,
    })
}

/// Reads or fetches the key set of `source`.
pub fn load(source: &JwksSource, agent: &ureq::Agent) -> Result<KeySet, JwksError> {
    let name = source.to_string();
    let bytes = match source {
        JwksSource::File(path) => std::fs::read(path).map_err(|error| JwksError::Read {
            path: path.clone(),
            error,
        })?,
        JwksSource::Url(url) => fetch(url, agent)?,
    };
    KeySet::parse(&bytes, &name)
}

fn fetch(url: &str, agent: &ureq::Agent) -> Result<Vec<u8>, JwksError> {
    let failed = |reason: String| JwksError::Fetch {
        url: url.to_string(),
        reason,
    };
    let mut response = agent
        .get(url)
        .header("accept", "application/json")
        .call()
        .map_err(|error| failed(error.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_vec()
        .map_err(|error| failed(error.to_string()))
}

/// An HTTP agent for key set URLs: a timeout, no redirects (a key set is fetched from where
/// the operator said, and an `https://` one never over plain http).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(FETCH_TIMEOUT))
        .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

#[derive(Default)]
struct Schedule {
    keys: Option<Arc<KeySet>>,
    /// When a scheduled load may start next (`None`: now).
    next_load: Option<Instant>,
    /// When the last load triggered by an unknown key id started.
    last_unknown_key_load: Option<Instant>,
}

/// The key set in memory and when to load it again. Loading is blocking I/O: callers on an
/// async runtime run [`Keys::load`] on a blocking thread.
pub struct Keys {
    source: JwksSource,
    refresh: Duration,
    agent: ureq::Agent,
    schedule: Mutex<Schedule>,
    loads: AtomicU64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Keys")
            .field("source", &self.source)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys of `source`, none loaded yet, re-read every `refresh`.
    pub fn new(source: JwksSource, refresh: Duration) -> Keys {
        Keys {
            source,
            refresh,
            agent: agent(),
            schedule: Mutex::new(Schedule::default()),
            loads: AtomicU64::new(0),
        }
    }

    pub fn source(&self) -> &JwksSource {
        &self.source
    }

    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The keys loaded last, if any load succeeded.
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.schedule().keys.clone()
    }

    /// How many loads were attempted.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Loads the key set now. On failure the keys loaded before stay in use and the next
    /// scheduled attempt comes after [`RETRY_AFTER_FAILURE`] (or the refresh interval).
    pub fn load(&self) -> Result<(), JwksError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        let loaded = load(&self.source, &self.agent);
        let mut schedule = self.schedule();
        let now = Instant::now();
        match loaded {
            Ok(keys) => {
                schedule.keys = Some(Arc::new(keys));
                schedule.next_load = Some(now + self.refresh);
                Ok(())
            }
            Err(error) => {
                schedule.next_load = Some(now + self.refresh.min(RETRY_AFTER_FAILURE));
                Err(error)
            }
        }
    }

    /// Whether a scheduled load is due; when it is, the caller is the one to run it (the next
    /// caller finds it not due).
    pub fn claim_scheduled_load(&self) -> bool {
        let mut schedule = self.schedule();
        let now = Instant::now();
        if schedule.next_load.is_some_and(|next| now < next) {
            return false;
        }
        schedule.next_load = Some(now + self.refresh.min(RETRY_AFTER_FAILURE));
        true
    }

    /// Whether a token signed by an unknown key may trigger a load now: at most once per
    /// refresh interval, so that made-up key ids cannot make weft hammer the provider.
    pub fn claim_unknown_key_load(&self) -> bool {
        let mut schedule = self.schedule();
        let now = Instant::now();
        if schedule
            .last_unknown_key_load
            .is_some_and(|last| now.duration_since(last) < self.refresh)
        {
            return false;
        }
        schedule.last_unknown_key_load = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A P-256 public key (the test vector of RFC 7515 appendix A.3).
    fn ec_jwk(kid: &str) -> serde_json::Value {
        json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRjvbAHNpjTTlGkuWpfjDNkSKbe9zSJV16jCNxI"
        })
    }

    #[test]
    fn signature_keys_are_kept_and_found_by_id_and_algorithm() -> anyhow::Result<()> {
        let set = json!({"keys": [
            ec_jwk("one"),
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRjvbAHNpjTTlGkuWpfjDNkSKbe9zSJV16jCNxI"},
            {"kty": "unknown-type", "kid": "odd"},
        ]});
        let keys = KeySet::parse(set.to_string().as_bytes(), "test")?;
        assert_eq!(keys.len(), 1);
        assert!(keys.find(Some("one"), Algorithm::ES256).is_some());
        assert!(keys.find(None, Algorithm::ES256).is_some());
        assert!(keys.find(Some("one"), Algorithm::RS256).is_none());
        assert!(keys.find(Some("secret"), Algorithm::HS256).is_none());
        assert!(keys.find(Some("enc"), Algorithm::ES256).is_none());
        assert!(keys.find(Some("two"), Algorithm::ES256).is_none());
        Ok(())
    }

    #[test]
    fn a_token_without_key_id_needs_a_single_candidate() -> anyhow::Result<()> {
        let set = json!({"keys": [ec_jwk("one"), ec_jwk("two")]});
        let keys = KeySet::parse(set.to_string().as_bytes(), "test")?;
        assert!(keys.find(None, Algorithm::ES256).is_none());
        assert!(keys.find(Some("two"), Algorithm::ES256).is_some());
        Ok(())
    }

    #[test]
    fn a_key_pinned_to_another_algorithm_is_not_used() -> anyhow::Result<()> {
        let mut jwk = ec_jwk("one");
        jwk["alg"] = json!("ES384");
        let keys = KeySet::parse(json!({"keys": [jwk]}).to_string().as_bytes(), "test")?;
        assert!(keys.find(Some("one"), Algorithm::ES256).is_none());
        Ok(())
    }

    #[test]
    fn sets_without_usable_keys_and_other_documents_are_errors() {
        let only_secret = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
        assert!(matches!(
            KeySet::parse(only_secret.to_string().as_bytes(), "test"),
            Err(JwksError::NoUsableKey { skipped: 1, .. })
        ));
        assert!(matches!(
            KeySet::parse(b"<html>", "test"),
            Err(JwksError::Parse { .. })
        ));
    }

    #[test]
    fn unknown_key_loads_are_limited_to_one_per_interval() {
        let keys = Keys::new(
            JwksSource::File(PathBuf::from("missing.json")),
            Duration::from_secs(60),
        );
        assert!(keys.claim_unknown_key_load());
        assert!(!keys.claim_unknown_key_load());
        assert!(keys.claim_scheduled_load());
        assert!(!keys.claim_scheduled_load());
    }

    #[test]
    fn a_failed_load_keeps_the_keys_and_names_the_file() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, json!({"keys": [ec_jwk("one")]}).to_string())?;
        let keys = Keys::new(JwksSource::File(path.clone()), Duration::from_secs(60));
        keys.load()?;
        std::fs::remove_file(&path)?;
        let error = keys.load().expect_err("the file is gone");
        assert!(error.to_string().contains("jwks.json"), "{error}");
        assert_eq!(keys.current().map(|set| set.len()), Some(1));
        assert_eq!(keys.loads(), 2);
        Ok(())
    }
}
