//! The event routes: search, histogram and one event, with every way to call them wrong.
//!
//! The fixture's events are on 2026-11-22 and 2026-11-23 before 11:00 UTC; queries bound the
//! time range or name a service so that the API's own audit events never count.

use axum::http::StatusCode;
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, Reply, platform_events, write_events};

fn fixture() -> anyhow::Result<Fixture> {
    Fixture::with_config(ApiConfig::default(), |dir| {
        write_events(dir, &platform_events())
    })
}

/// Percent-encodes a query-string value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn search_path(parameters: &[(&str, &str)]) -> String {
    let query: Vec<String> = parameters
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    format!("/api/v1/events/search?{}", query.join("&"))
}

const BEFORE_NOON: (&str, &str) = ("to", "2026-11-23T12:00:00Z");

async fn viewer_get(fixture: &Fixture, path: &str) -> Reply {
    fixture.get(path, Some(fixture.token(Role::Viewer))).await
}

fn field(reply: &Reply, index: usize, name: &str) -> String {
    reply.json()["events"][index][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn search_finds_fields_and_phrases_newest_first_with_a_total() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let reply = viewer_get(
        &fixture,
        &search_path(&[
            ("q", "user:mallory AND message:\"failed password\""),
            BEFORE_NOON,
        ]),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["cursor"], serde_json::Value::Null);
    let times: Vec<String> = (0..3).map(|index| field(&reply, index, "time")).collect();
    assert_eq!(
        times,
        [
            "2026-11-23T09:00:03.000000Z",
            "2026-11-23T09:00:02.000000Z",
            "2026-11-23T09:00:01.000000Z"
        ]
    );
    assert_eq!(field(&reply, 0, "service"), "gateway");
    assert_eq!(field(&reply, 0, "outcome"), "failure");
    assert!(
        body["events"][0].get("raw").is_none(),
        "search results leave the raw record to the event route"
    );

    let range = viewer_get(
        &fixture,
        &search_path(&[
            ("q", "user:mallory"),
            ("from", "2026-11-23T09:04:00Z"),
            ("to", "2026-11-23T10:16:00Z"),
        ]),
    )
    .await;
    assert_eq!(range.json()["total"], 2);
    assert_eq!(field(&range, 0, "message"), "exec /bin/sh");
    Ok(())
}

#[tokio::test]
async fn search_pages_follow_the_cursor_to_the_last_page() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let mut cursor: Option<String> = None;
    let mut messages = Vec::new();
    let mut pages = 0;
    loop {
        let mut parameters = vec![("limit", "3"), BEFORE_NOON];
        if let Some(cursor) = cursor.as_deref() {
            parameters.push(("cursor", cursor));
        }
        let reply = viewer_get(&fixture, &search_path(&parameters)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
        assert_eq!(body["total"], 7, "the total is the same on every page");
        for event in body["events"].as_array().cloned().unwrap_or_default() {
            messages.push(event["message"].as_str().unwrap_or_default().to_string());
        }
        pages += 1;
        match body["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(pages < 10, "pages end");
    }
    assert_eq!(pages, 3);
    assert_eq!(messages.len(), 7, "every event once");
    assert_eq!(
        messages.first().map(String::as_str),
        Some("password changed")
    );
    assert_eq!(messages.last().map(String::as_str), Some("login ok"));
    Ok(())
}

#[tokio::test]
async fn the_histogram_counts_matches_per_bucket() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let path = "/api/v1/events/histogram?q=service:gateway&from=2026-11-23T09:00:00Z&to=2026-11-23T10:00:00Z&interval=5m";
    let reply = viewer_get(&fixture, path).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["interval"], "5m");
    assert_eq!(body["total"], 3);
    let buckets = body["buckets"].as_array().cloned().unwrap_or_default();
    assert_eq!(buckets.len(), 12);
    assert_eq!(buckets[0]["start"], "2026-11-23T09:00:00.000000Z");
    assert_eq!(buckets[0]["count"], 3);
    assert!(buckets[1..].iter().all(|bucket| bucket["count"] == 0));

    let chosen = viewer_get(
        &fixture,
        "/api/v1/events/histogram?q=class:authentication&from=2026-11-22T12:00:00Z&to=2026-11-23T12:00:00Z",
    )
    .await;
    let body = chosen.json();
    assert_eq!(body["interval"], "30m", "chosen from a one-day range");
    assert_eq!(body["total"], 5);
    Ok(())
}

#[tokio::test]
async fn one_event_by_id_comes_with_its_raw_record() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let found = viewer_get(&fixture, &search_path(&[("q", "message:sh"), BEFORE_NOON])).await;
    let event_id = field(&found, 0, "event_id");
    assert_eq!(event_id.len(), 32);
    let reply = viewer_get(&fixture, &format!("/api/v1/events/{event_id}")).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let event = reply.json();
    assert_eq!(event["event_id"], event_id.as_str());
    assert_eq!(event["raw"], "exec /bin/sh");
    assert_eq!(event["service"], "k8s");
    assert_eq!(event["class"], "process_activity");

    let missing = viewer_get(&fixture, "/api/v1/events/0123456789abcdef0123456789abcdef").await;
    missing.assert_problem(StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn every_malformed_event_request_is_a_400_problem() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let long_id = "a".repeat(129);
    let paths = [
        // Query syntax and fields.
        search_path(&[("q", "user:(alice")]),
        search_path(&[("q", "http_status:[500 TO")]),
        search_path(&[("q", "nosuchfield:x")]),
        search_path(&[("q", &"word ".repeat(1000))]),
        // Times and ranges.
        search_path(&[("from", "yesterday")]),
        search_path(&[("to", "2026-11-23")]),
        search_path(&[
            ("from", "2026-11-23T10:00:00Z"),
            ("to", "2026-11-23T09:00:00Z"),
        ]),
        search_path(&[
            ("from", "2026-11-23T10:00:00Z"),
            ("to", "2026-11-23T10:00:00Z"),
        ]),
        // Limits.
        search_path(&[("limit", "0")]),
        search_path(&[("limit", "1001")]),
        search_path(&[("limit", "100000000000000000000000")]),
        search_path(&[("limit", "-1")]),
        search_path(&[("limit", "ten")]),
        // Cursors weft did not make.
        search_path(&[("cursor", "garbage!")]),
        search_path(&[("cursor", "djEuMS4uMQ")]),
        search_path(&[("cursor", "")]),
        // Unknown and repeated parameters.
        search_path(&[("query", "user:alice")]),
        "/api/v1/events/search?q=a&q=b".to_string(),
        "/api/v1/events/search?limit=1&limit=2".to_string(),
        // Histogram.
        "/api/v1/events/histogram?interval=1w".to_string(),
        "/api/v1/events/histogram?interval=0s".to_string(),
        "/api/v1/events/histogram?interval=1s&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z"
            .to_string(),
        "/api/v1/events/histogram?q=user:(".to_string(),
        "/api/v1/events/histogram?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z".to_string(),
        "/api/v1/events/histogram?limit=10".to_string(),
        // Event ids.
        "/api/v1/events/a%20b".to_string(),
        "/api/v1/events/%F0%9F%98%80".to_string(),
        format!("/api/v1/events/{long_id}"),
    ];
    for path in &paths {
        let reply = viewer_get(&fixture, path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.assert_problem(StatusCode::BAD_REQUEST);
    }
    let unknown = viewer_get(&fixture, &search_path(&[("query", "user:alice")])).await;
    assert!(
        unknown.json()["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("unknown field `query`")),
        "the problem names the mistake: {}",
        unknown.json()
    );
    Ok(())
}

#[tokio::test]
async fn the_event_routes_need_a_viewer_token() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let id = weft_ingest::id::event_id("test", 0, 0);
    let paths = [
        search_path(&[BEFORE_NOON]),
        "/api/v1/events/histogram".to_string(),
        format!("/api/v1/events/{id}"),
    ];
    for path in &paths {
        fixture
            .get(path, None)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
        fixture
            .get(path, Some(fixture.token(Role::Ingest)))
            .await
            .assert_problem(StatusCode::FORBIDDEN);
        for role in [Role::Viewer, Role::Analyst, Role::Admin] {
            let reply = fixture.get(path, Some(fixture.token(role))).await;
            assert_eq!(reply.status, StatusCode::OK, "{role} may call {path}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_describes_the_event_parameters() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let document = viewer_get(&fixture, "/api/v1/openapi.json").await.json();
    let search = &document["paths"]["/api/v1/events/search"]["get"];
    let names: Vec<&str> = search["parameters"]
        .as_array()
        .map(|parameters| {
            parameters
                .iter()
                .filter_map(|parameter| parameter["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["q", "from", "to", "limit", "cursor"]);
    assert!(search["responses"]["400"].is_object());
    let event = &document["paths"]["/api/v1/events/{event_id}"]["get"];
    assert_eq!(event["parameters"][0]["in"], "path");
    assert!(event["responses"]["404"].is_object());
    let schema = &document["components"]["schemas"]["Event"];
    assert_eq!(schema["properties"]["http_status"]["type"], "integer");
    assert_eq!(schema["properties"]["time"]["format"], "date-time");
    Ok(())
}
