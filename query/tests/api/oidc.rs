//! OpenID Connect bearer tokens through the router: a JWT's role claim decides what it may
//! do, the audit trail names its user, and without `[api.oidc]` a JWT is an unknown token.
//! One test fetches the key set over HTTP from a listener on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use axum::http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use weft_query::ApiSection;
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::Fixture;

const ISSUER: &str = "https://login.example.com/realms/soc";

struct Signer {
    key: EncodingKey,
}

impl Signer {
    fn new() -> anyhow::Result<Signer> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        Ok(Signer {
            key: EncodingKey::from_ec_der(&pair.serialize_der()),
        })
    }

    fn key_set(&self) -> anyhow::Result<String> {
        let mut jwk = Jwk::from_encoding_key(&self.key, Algorithm::ES256)?;
        jwk.common.key_id = Some("soc-1".to_string());
        Ok(serde_json::to_string(&JwkSet { keys: vec![jwk] })?)
    }

    fn token(&self, role: &str) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER,
            "aud": "weft",
            "sub": "f81d4fae",
            "email": "ana@example.com",
            "exp": now + 300,
            "weft_role": role,
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("soc-1".to_string());
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

/// An API configuration with `[api.oidc]` reading the key set from `jwks`, parsed from TOML
/// as an operator would write it.
fn oidc_config(jwks: &str) -> anyhow::Result<ApiConfig> {
    let section: ApiSection = toml::from_str(&format!(
        r#"
        [oidc]
        issuer = "{ISSUER}"
        audience = ["weft"]
        jwks = "{jwks}"
        name_claim = "email"
        "#
    ))?;
    Ok(ApiConfig {
        oidc: section.build()?,
        ..ApiConfig::default()
    })
}

fn key_set_file(dir: &Path, signer: &Signer) -> anyhow::Result<String> {
    let path = dir.join("jwks.json");
    std::fs::write(&path, signer.key_set()?)?;
    Ok(path.to_string_lossy().into_owned())
}

#[tokio::test]
async fn a_viewer_jwt_reads_incidents_but_cannot_run_sql() -> anyhow::Result<()> {
    let signer = Signer::new()?;
    let keys = tempfile::tempdir()?;
    let config = oidc_config(&key_set_file(keys.path(), &signer)?)?;
    let fixture = Fixture::with_config(config, |_| Ok(()))?;
    let viewer = signer.token("viewer")?;

    let reply = fixture.get("/api/v1/incidents", Some(&viewer)).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    fixture
        .sql(&viewer, "SELECT 1")
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    let whoami = fixture.get("/api/v1/whoami", Some(&viewer)).await.json();
    assert_eq!(whoami["name"], "oidc:ana@example.com");
    assert_eq!(whoami["role"], "viewer");
    assert_eq!(whoami["token_id"], "oidc:f81d4fae");

    // weft's own tokens keep working beside the JWTs.
    let analyst = fixture.token(Role::Analyst).to_string();
    assert_eq!(
        fixture.sql(&analyst, "SELECT 1").await.status,
        StatusCode::OK
    );

    // A JWT whose role claim names no weft role is an unknown credential.
    fixture
        .get("/api/v1/incidents", Some(&signer.token("root")?))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    // So is one signed by a key the set does not hold.
    let stranger = Signer::new()?;
    fixture
        .get("/api/v1/incidents", Some(&stranger.token("admin")?))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);

    // The audit trail names the OIDC user.
    fixture.state.audit().flush()?;
    let audit = fixture
        .sql(
            &analyst,
            "SELECT user, attrs['role'] AS role, http_status FROM events \
             WHERE service = 'weft' AND url = '/api/v1/sql' ORDER BY time LIMIT 1",
        )
        .await;
    assert_eq!(
        audit.json()["rows"],
        json!([["oidc:ana@example.com", "viewer", 403]])
    );
    Ok(())
}

#[tokio::test]
async fn without_oidc_a_jwt_is_an_unknown_token() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let token = Signer::new()?.token("admin")?;
    fixture
        .get("/api/v1/incidents", Some(&token))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    Ok(())
}

#[test]
fn an_unreadable_key_set_file_stops_the_api_from_starting() -> anyhow::Result<()> {
    let keys = tempfile::tempdir()?;
    let missing = keys.path().join("missing.json");
    let config = oidc_config(&missing.to_string_lossy())?;
    let Err(error) = Fixture::with_config(config, |_| Ok(())) else {
        anyhow::bail!("the API started without its key set");
    };
    let message = format!("{error:#}");
    assert!(message.contains("missing.json"), "{message}");
    Ok(())
}

/// Answers every request with `body` as JSON, `requests` times, then stops.
fn serve_key_set(body: String, requests: usize) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/realms/soc/certs", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            // Read the request head up to its blank line.
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(url)
}

#[tokio::test]
async fn the_key_set_can_come_from_a_url() -> anyhow::Result<()> {
    let signer = Signer::new()?;
    let url = serve_key_set(signer.key_set()?, 1)?;
    let fixture = Fixture::with_config(oidc_config(&url)?, |_| Ok(()))?;
    let reply = fixture
        .get("/api/v1/incidents", Some(&signer.token("analyst")?))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    Ok(())
}
