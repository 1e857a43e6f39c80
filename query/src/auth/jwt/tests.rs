//! The verifier with keys generated here, a key set file, and tokens signed in the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::auth::role::Role;

const ISSUER: &str = "https://login.example.com";
const AUDIENCE: &str = "weft";

/// A P-256 signing key with its key id.
struct Signer {
    kid: String,
    key: EncodingKey,
}

impl Signer {
    fn new(kid: &str) -> anyhow::Result<Signer> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        Ok(Signer {
            kid: kid.to_string(),
            key: EncodingKey::from_ec_der(&pair.serialize_der()),
        })
    }

    fn jwk(&self) -> anyhow::Result<Jwk> {
        let mut jwk = Jwk::from_encoding_key(&self.key, Algorithm::ES256)?;
        jwk.common.key_id = Some(self.kid.clone());
        Ok(jwk)
    }

    fn sign(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.key)?)
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a valid viewer token.
fn claims() -> serde_json::Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "email": "ana@example.com",
        "exp": now() + 600,
        "iat": now(),
        "weft_role": "viewer",
    })
}

fn write_set(path: &Path, signers: &[&Signer]) -> anyhow::Result<()> {
    let set = JwkSet {
        keys: signers
            .iter()
            .map(|signer| signer.jwk())
            .collect::<anyhow::Result<_>>()?,
    };
    std::fs::write(path, serde_json::to_vec(&set)?)?;
    Ok(())
}

fn settings(jwks: PathBuf) -> OidcSettings {
    OidcSettings {
        issuer: ISSUER.to_string(),
        audiences: vec![AUDIENCE.to_string(), "weft-cli".to_string()],
        jwks: JwksSource::File(jwks),
        claims: ClaimRules {
            role_claim: "weft_role".to_string(),
            roles: BTreeMap::new(),
            name_claim: "email".to_string(),
        },
        algorithms: vec![Algorithm::RS256, Algorithm::ES256],
        leeway: Duration::from_secs(5),
        jwks_refresh: Duration::from_secs(300),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    signer: Signer,
    verifier: JwtVerifier,
}

impl Setup {
    fn new() -> anyhow::Result<Setup> {
        Setup::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut OidcSettings)) -> anyhow::Result<Setup> {
        let dir = tempfile::tempdir()?;
        let signer = Signer::new("key-1")?;
        let path = dir.path().join("jwks.json");
        write_set(&path, &[&signer])?;
        let mut settings = settings(path);
        adjust(&mut settings);
        let verifier = JwtVerifier::start(settings)?;
        Ok(Setup {
            dir,
            signer,
            verifier,
        })
    }

    async fn verify_claims(&self, claims: &serde_json::Value) -> anyhow::Result<Principal> {
        Ok(self.verifier.verify(&self.signer.sign(claims)?).await?)
    }

    async fn refusal(&self, claims: &serde_json::Value) -> anyhow::Result<JwtError> {
        let token = self.signer.sign(claims)?;
        Ok(self
            .verifier
            .verify(&token)
            .await
            .expect_err("the token is refused"))
    }
}

fn with(mut claims: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    claims[key] = value;
    claims
}

fn without(mut claims: serde_json::Value, key: &str) -> serde_json::Value {
    if let Some(object) = claims.as_object_mut() {
        object.remove(key);
    }
    claims
}

fn part(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_valid_token_gives_its_role_and_an_oidc_name() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    let principal = setup.verify_claims(&claims()).await?;
    assert_eq!(principal.role, Role::Viewer);
    assert_eq!(principal.name, "oidc:ana@example.com");
    assert_eq!(principal.token_id, "oidc:user-1");
    // Any configured audience will do, and `aud` may be an array.
    let other = with(claims(), "aud", json!(["elsewhere", "weft-cli"]));
    assert_eq!(setup.verify_claims(&other).await?.role, Role::Viewer);
    Ok(())
}

#[tokio::test]
async fn issuer_and_audience_must_match() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    let wrong_issuer = with(claims(), "iss", json!("https://evil.example.com"));
    assert!(matches!(
        setup.refusal(&wrong_issuer).await?,
        JwtError::WrongIssuer
    ));
    let wrong_audience = with(claims(), "aud", json!("grafana"));
    assert!(matches!(
        setup.refusal(&wrong_audience).await?,
        JwtError::WrongAudience
    ));
    for claim in ["iss", "aud", "exp"] {
        assert!(
            matches!(
                setup.refusal(&without(claims(), claim)).await?,
                JwtError::MissingClaim(_)
            ),
            "{claim}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    let expired = with(claims(), "exp", json!(now() - 60));
    assert!(matches!(setup.refusal(&expired).await?, JwtError::Expired));
    let early = with(claims(), "nbf", json!(now() + 60));
    assert!(matches!(
        setup.refusal(&early).await?,
        JwtError::NotYetValid
    ));
    // Within the 5 s leeway, both pass.
    let just_expired = with(claims(), "exp", json!(now() - 2));
    setup.verify_claims(&just_expired).await?;
    let almost_valid = with(claims(), "nbf", json!(now() + 2));
    setup.verify_claims(&almost_valid).await?;
    Ok(())
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    // Same key id, another private key.
    let impostor = Signer::new("key-1")?;
    let token = impostor.sign(&claims())?;
    assert!(matches!(
        setup.verifier.verify(&token).await,
        Err(JwtError::BadSignature)
    ));
    // A valid token whose payload was swapped for another.
    let token = setup.signer.sign(&claims())?;
    let mut parts: Vec<&str> = token.split('.').collect();
    let admin = part(&with(claims(), "weft_role", json!("admin")));
    parts[1] = &admin;
    assert!(matches!(
        setup.verifier.verify(&parts.join(".")).await,
        Err(JwtError::BadSignature)
    ));
    Ok(())
}

#[tokio::test]
async fn unsigned_and_hmac_tokens_are_refused() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    let payload = part(&claims());
    let none = part(&json!({"alg": "none", "typ": "JWT"}));
    assert!(matches!(
        setup.verifier.verify(&format!("{none}.{payload}.")).await,
        Err(JwtError::Malformed)
    ));
    assert!(matches!(
        setup.verifier.verify(&format!("{none}.{payload}.c2ln")).await,
        Err(JwtError::AlgorithmNotAccepted(name)) if name == "none"
    ));
    // The classic confusion: HMAC keyed with the public key's bytes.
    let public = serde_json::to_vec(&setup.signer.jwk()?)?;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-1".to_string());
    let token = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&public))?;
    assert!(matches!(
        setup.verifier.verify(&token).await,
        Err(JwtError::AlgorithmNotAccepted(name)) if name == "HS256"
    ));
    Ok(())
}

#[tokio::test]
async fn an_algorithm_left_out_of_the_configuration_is_refused() -> anyhow::Result<()> {
    let setup = Setup::with(|settings| settings.algorithms = vec![Algorithm::RS256])?;
    assert!(matches!(
        setup.refusal(&claims()).await?,
        JwtError::AlgorithmNotAccepted(_)
    ));
    Ok(())
}

#[tokio::test]
async fn an_unknown_key_id_reloads_the_set_once_per_interval() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    assert_eq!(setup.verifier.keys().loads(), 1);
    let stranger = Signer::new("key-2")?;
    let token = stranger.sign(&claims())?;
    assert!(matches!(
        setup.verifier.verify(&token).await,
        Err(JwtError::UnknownKey { kid: Some(kid), .. }) if kid == "key-2"
    ));
    assert_eq!(
        setup.verifier.keys().loads(),
        2,
        "one reload for the unknown key"
    );
    assert!(matches!(
        setup.verifier.verify(&token).await,
        Err(JwtError::UnknownKey { .. })
    ));
    assert_eq!(
        setup.verifier.keys().loads(),
        2,
        "no second reload this interval"
    );
    Ok(())
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_the_reload() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    let next = Signer::new("key-2")?;
    write_set(&setup.dir.path().join("jwks.json"), &[&setup.signer, &next])?;
    let principal = setup.verifier.verify(&next.sign(&claims())?).await?;
    assert_eq!(principal.role, Role::Viewer);
    assert_eq!(setup.verifier.keys().loads(), 2);
    // The old key still verifies.
    setup.verify_claims(&claims()).await?;
    Ok(())
}

#[tokio::test]
async fn tokens_without_a_known_role_are_refused() -> anyhow::Result<()> {
    let setup = Setup::new()?;
    assert!(matches!(
        setup.refusal(&without(claims(), "weft_role")).await?,
        JwtError::NoRole(_)
    ));
    assert!(matches!(
        setup
            .refusal(&with(claims(), "weft_role", json!("superuser")))
            .await?,
        JwtError::NoKnownRole(_)
    ));
    let many = with(claims(), "weft_role", json!(["viewer", "analyst"]));
    assert_eq!(setup.verify_claims(&many).await?.role, Role::Analyst);
    Ok(())
}

#[tokio::test]
async fn groups_map_to_roles() -> anyhow::Result<()> {
    let setup = Setup::with(|settings| {
        settings.claims.role_claim = "groups".to_string();
        settings.claims.roles = BTreeMap::from([
            ("soc".to_string(), Role::Analyst),
            ("soc-leads".to_string(), Role::Admin),
        ]);
    })?;
    let lead = with(claims(), "groups", json!(["staff", "soc", "soc-leads"]));
    assert_eq!(setup.verify_claims(&lead).await?.role, Role::Admin);
    let staff = with(claims(), "groups", json!(["staff"]));
    assert!(matches!(
        setup.refusal(&staff).await?,
        JwtError::NoKnownRole(_)
    ));
    Ok(())
}

#[test]
fn an_unreadable_key_set_file_stops_the_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = JwtVerifier::start(settings(dir.path().join("missing.json")));
    assert!(matches!(missing, Err(JwksError::Read { .. })));
    let path = dir.path().join("secret.json");
    std::fs::write(
        &path,
        json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
    )?;
    assert!(matches!(
        JwtVerifier::start(settings(path)),
        Err(JwksError::NoUsableKey { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_key_set_url_refuses_tokens_until_it_loads() -> anyhow::Result<()> {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = tempfile::tempdir()?;
    let mut settings = settings(dir.path().join("unused.json"));
    settings.jwks = JwksSource::Url(format!("http://127.0.0.1:{port}/jwks"));
    let verifier = JwtVerifier::start(settings)?;
    assert!(verifier.keys().current().is_none());
    let signer = Signer::new("key-1")?;
    assert!(matches!(
        verifier.verify(&signer.sign(&claims())?).await,
        Err(JwtError::KeysNotLoaded)
    ));
    Ok(())
}

#[test]
fn only_three_base64url_parts_look_like_a_jwt() {
    assert!(looks_like_jwt("eyJh.eyJz.c2ln"));
    assert!(looks_like_jwt("a-_b.c.d"));
    assert!(!looks_like_jwt("weft_abcDEF123-_"));
    assert!(!looks_like_jwt("a.b"));
    assert!(!looks_like_jwt("a.b.c.d"));
    assert!(!looks_like_jwt("a..c"));
    assert!(!looks_like_jwt("a.b.c="));
    assert!(!looks_like_jwt("a.b c.d"));
}

#[test]
fn errors_never_show_the_token_or_keys() {
    let error = JwtError::UnknownKey {
        kid: Some("key-9".to_string()),
        algorithm: Algorithm::ES256,
    };
    assert_eq!(
        error.to_string(),
        "no key of the OIDC key set verifies ES256 tokens of key id key-9"
    );
}
