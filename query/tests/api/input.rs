//! Malformed input of every kind gets a 4xx JSON problem; limits answer 413 and 429.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;
use weft_query::ratelimit::{RateLimitConfig, RateQuota};

use crate::common::Fixture;

#[tokio::test]
async fn malformed_bodies_are_400_never_500() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let token = fixture.token(Role::Analyst).to_string();
    let bodies = [
        "{not json",
        "",
        "[]",
        r#"{"query": 42}"#,
        r#"{"query": "SELECT 1", "limit": 10}"#,
        r#"{}"#,
        "\u{0}\u{1}",
    ];
    for body in bodies {
        let reply = fixture
            .send("POST", "/api/v1/sql", Some(&token), Some(body), None)
            .await;
        reply.assert_problem(StatusCode::BAD_REQUEST);
    }
    let unknown = fixture
        .send(
            "POST",
            "/api/v1/sql",
            Some(&token),
            Some(r#"{"query": "SELECT 1", "limit": 10}"#),
            None,
        )
        .await;
    assert!(
        unknown.json()["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("unknown field")),
        "the problem names the mistake"
    );
    Ok(())
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/sql")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", fixture.token(Role::Admin)),
        )
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("SELECT 1"))?;
    fixture
        .request(request)
        .await
        .assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    Ok(())
}

#[tokio::test]
async fn an_oversized_body_is_413() -> anyhow::Result<()> {
    let config = ApiConfig {
        max_body_bytes: 1024,
        ..ApiConfig::default()
    };
    let fixture = Fixture::with_config(config, |_| Ok(()))?;
    let query = format!("SELECT '{}'", "x".repeat(4096));
    let reply = fixture.sql(fixture.token(Role::Analyst), &query).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    Ok(())
}

#[tokio::test]
async fn bearer_headers_of_other_shapes_are_401() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let token = fixture.token(Role::Admin).to_string();
    for value in [
        token.clone(),
        format!("Basic {token}"),
        "Bearer ".to_string(),
        format!("Bearer {token}x"),
    ] {
        let request = Request::builder()
            .uri("/api/v1/whoami")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())?;
        fixture
            .request(request)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
    }
    Ok(())
}

fn quota(per_minute: u32, burst: u32) -> RateQuota {
    RateQuota {
        per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
        burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
    }
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after() -> anyhow::Result<()> {
    let config = ApiConfig {
        rate_limits: RateLimitConfig {
            per_address: quota(1000, 1000),
            per_token: quota(1, 3),
        },
        ..ApiConfig::default()
    };
    let fixture = Fixture::with_config(config, |_| Ok(()))?;
    let viewer = fixture.token(Role::Viewer).to_string();
    for _ in 0..3 {
        let reply = fixture.get("/api/v1/whoami", Some(&viewer)).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let limited = fixture.get("/api/v1/whoami", Some(&viewer)).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry_after), "retry-after {retry_after}");
    // Another token is not held back by this one.
    let other = fixture
        .get("/api/v1/whoami", Some(fixture.token(Role::Analyst)))
        .await;
    assert_eq!(other.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn an_address_over_its_rate_gets_429_even_without_a_token() -> anyhow::Result<()> {
    let config = ApiConfig {
        rate_limits: RateLimitConfig {
            per_address: quota(1, 2),
            per_token: quota(1000, 1000),
        },
        ..ApiConfig::default()
    };
    let fixture = Fixture::with_config(config, |_| Ok(()))?;
    let guesser: SocketAddr = ([198, 51, 100, 7], 5555).into();
    for _ in 0..2 {
        let reply = fixture
            .send(
                "GET",
                "/api/v1/whoami",
                Some("weft_guess"),
                None,
                Some(guesser),
            )
            .await;
        reply.assert_problem(StatusCode::UNAUTHORIZED);
    }
    let limited = fixture
        .send(
            "GET",
            "/api/v1/whoami",
            Some("weft_guess"),
            None,
            Some(guesser),
        )
        .await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    let elsewhere: SocketAddr = ([198, 51, 100, 8], 5555).into();
    let reply = fixture
        .send("GET", "/healthz", None, None, Some(elsewhere))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    Ok(())
}
