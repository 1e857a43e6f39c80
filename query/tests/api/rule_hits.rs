//! `GET /api/v1/rules/hits`: alerts per rule per time bucket, from the seeded incidents.

use axum::http::StatusCode;
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, seed_incidents};

#[tokio::test]
async fn hits_are_counted_per_rule_and_bucket_by_window_end() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        seed_incidents(dir)?;
        Ok(())
    })?;
    let viewer = Some(fixture.token(Role::Viewer));
    let reply = fixture
        .get(
            "/api/v1/rules/hits?from=2026-11-23T09:00:00Z&to=2026-11-23T10:00:00Z&buckets=6",
            viewer,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let answer = reply.json();
    assert_eq!(answer["bucket_seconds"], 600);
    assert_eq!(answer["buckets"], 6);
    assert_eq!(answer["from"], "2026-11-23T09:00:00.000000Z");
    assert_eq!(answer["to"], "2026-11-23T10:00:00.000000Z");
    let rules = answer["rules"].as_array().cloned().unwrap_or_default();
    let counts = |rule: &str| {
        rules
            .iter()
            .find(|hits| hits["rule"] == rule)
            .map(|hits| hits["counts"].clone())
    };
    // The seeded alerts end at 09:05, 09:10, 09:20 and 09:30.
    assert_eq!(
        counts("password_spray-id"),
        Some(serde_json::json!([1, 0, 0, 0, 0, 0]))
    );
    assert_eq!(
        counts("token_reuse-id"),
        Some(serde_json::json!([0, 1, 0, 0, 0, 0]))
    );
    assert_eq!(
        counts("shell_in_pod-id"),
        Some(serde_json::json!([0, 0, 1, 0, 0, 0]))
    );
    assert_eq!(
        counts("port_scan-id"),
        Some(serde_json::json!([0, 0, 0, 1, 0, 0]))
    );

    // One rule, by name; a range without alerts lists no rule.
    let one = fixture
        .get(
            "/api/v1/rules/hits?from=2026-11-23T09:00:00Z&to=2026-11-23T10:00:00Z&rule=port_scan",
            viewer,
        )
        .await
        .json();
    let one_rules = one["rules"].as_array().cloned().unwrap_or_default();
    assert_eq!(one_rules.len(), 1, "{one}");
    assert_eq!(one_rules[0]["total"], 1);
    let empty = fixture
        .get(
            "/api/v1/rules/hits?from=2026-11-22T00:00:00Z&to=2026-11-22T01:00:00Z",
            viewer,
        )
        .await
        .json();
    assert_eq!(empty["rules"], serde_json::json!([]));
    assert_eq!(empty["buckets"], 24, "the default bucket count");
    Ok(())
}

#[tokio::test]
async fn bad_ranges_and_bucket_counts_are_400_naming_the_problem() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let viewer = Some(fixture.token(Role::Viewer));
    for (path, words) in [
        (
            "/api/v1/rules/hits?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z",
            "before",
        ),
        (
            "/api/v1/rules/hits?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "366 days",
        ),
        ("/api/v1/rules/hits?buckets=100000", "buckets"),
        ("/api/v1/rules/hits?buckets=0", "buckets"),
        ("/api/v1/rules/hits?from=yesterday", "RFC 3339"),
        ("/api/v1/rules/hits?rule=", "rule"),
        ("/api/v1/rules/hits?window=1h", "window"),
    ] {
        let reply = fixture.get(path, viewer).await;
        reply.assert_problem(StatusCode::BAD_REQUEST);
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(detail.contains(words), "{path}: {detail}");
    }
    fixture
        .get("/api/v1/rules/hits", None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    Ok(())
}
