//! Every request becomes an `api_activity` event of service `weft` in the store; failing to
//! write them is visible.

use std::net::SocketAddr;

use axum::http::StatusCode;
use serde_json::json;
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::Fixture;

#[tokio::test]
async fn requests_are_audited_as_weft_events() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let client: SocketAddr = ([203, 0, 113, 9], 51_000).into();
    let viewer = fixture.token(Role::Viewer).to_string();
    let refused = fixture
        .send(
            "POST",
            "/api/v1/sql",
            Some(&viewer),
            Some(r#"{"query":"SELECT 1"}"#),
            Some(client),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let anonymous = fixture
        .send("GET", "/api/v1/whoami", None, None, Some(client))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    fixture.state.audit().flush()?;

    let reply = fixture
        .sql(
            fixture.token(Role::Analyst),
            "SELECT user, http_method, url, http_status, src_ip, src_port, resource, \
             attrs['role'] AS role, class, outcome FROM events \
             WHERE service = 'weft' ORDER BY time",
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.json()["rows"],
        json!([
            [
                "viewer-user",
                "POST",
                "/api/v1/sql",
                403,
                "203.0.113.9",
                51000,
                "/api/v1/sql",
                "viewer",
                "api_activity",
                "failure"
            ],
            [
                "anonymous",
                "GET",
                "/api/v1/whoami",
                401,
                "203.0.113.9",
                51000,
                "/api/v1/whoami",
                null,
                "api_activity",
                "failure"
            ]
        ])
    );
    let metrics = fixture.get("/metrics", Some(&viewer)).await;
    let text = String::from_utf8(metrics.body)?;
    assert!(text.contains("weft_audit_events_total 2"), "{text}");
    assert!(text.contains("weft_audit_write_failures_total 0"));
    Ok(())
}

#[tokio::test]
async fn a_failing_audit_trail_is_counted_and_turns_readiness_off() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), |_| Ok(()))?;
    let ready = fixture.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    // Block the partition directories the audit events go to: a file where today's (and, near
    // midnight, tomorrow's) date directory would be.
    let now = chrono::Utc::now();
    for day in [now, now + chrono::Duration::hours(1)] {
        let blocked = fixture
            .dir
            .path()
            .join(format!("events/date={}", day.format("%Y-%m-%d")));
        if !blocked.exists() {
            std::fs::write(&blocked, b"not a directory")?;
        }
    }
    let _ = fixture.get("/api/v1/whoami", None).await;
    assert!(
        fixture.state.audit().flush().is_err(),
        "the write failure is reported"
    );
    let not_ready = fixture.get("/readyz", None).await;
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let metrics = fixture
        .get("/metrics", Some(fixture.token(Role::Viewer)))
        .await;
    let text = String::from_utf8(metrics.body)?;
    assert!(text.contains("weft_audit_write_failures_total 1"), "{text}");
    assert!(!text.contains("weft_audit_dropped_total 0"), "{text}");
    Ok(())
}
