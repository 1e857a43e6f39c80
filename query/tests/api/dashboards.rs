//! The dashboard routes: the shipped overview and users' files, run over a small store with
//! incidents.

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, platform_events, seed_incidents, write_events};

const RANGE: &str = "from=2026-11-22T00:00:00Z&to=2026-11-24T00:00:00Z";

const MINE: &str = r#"{
    "title": "Gateway",
    "description": "Mine.",
    "range": "7d",
    "panels": [
        {"id": "users", "title": "Users", "query": {"sql": "SELECT \"user\", count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC, 1"},
         "visualization": {"type": "bar", "x": "user", "y": "n"}},
        {"id": "wrong-column", "title": "Wrong", "query": {"sql": "SELECT count(*) AS n FROM events"},
         "visualization": {"type": "bar", "x": "service", "y": "n"}},
        {"id": "writes", "title": "Writes", "query": {"sql": "DELETE FROM events"},
         "visualization": {"type": "table"}}
    ]
}"#;

fn fixture() -> anyhow::Result<Fixture> {
    Fixture::with_config(ApiConfig::default(), |dir| {
        write_events(dir, &platform_events())?;
        seed_incidents(dir)?;
        let dashboards = dir.join("dashboards");
        std::fs::create_dir_all(&dashboards)?;
        std::fs::write(dashboards.join("gateway.json"), MINE)?;
        std::fs::write(dashboards.join("broken.json"), "{\"title\": \"half")?;
        Ok(())
    })
}

async fn ok(fixture: &Fixture, path: &str) -> Value {
    let reply = fixture.get(path, Some(fixture.token(Role::Viewer))).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn column_sum(answer: &Value, column: &str) -> u64 {
    let index = answer["columns"]
        .as_array()
        .and_then(|columns| columns.iter().position(|name| name == column))
        .unwrap_or_else(|| panic!("no column {column} in {answer}"));
    answer["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row[index].as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test]
async fn lists_the_overview_and_users_dashboards_and_says_why_a_file_is_refused()
-> anyhow::Result<()> {
    let fixture = fixture()?;
    let list = ok(&fixture, "/api/v1/dashboards").await;
    let ids: Vec<&str> = list["dashboards"]
        .as_array()
        .map(|all| all.iter().filter_map(|d| d["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["overview", "gateway"], "{list}");
    assert_eq!(list["dashboards"][0]["source"], "builtin");
    assert_eq!(list["dashboards"][1]["source"], "gateway.json");
    assert_eq!(list["dashboards"][1]["panels"], 3);
    assert_eq!(list["refused"][0]["file"], "broken.json");
    let reason = list["refused"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("invalid JSON"), "{reason}");
    assert!(
        !list
            .to_string()
            .contains(&*fixture.dir.path().to_string_lossy()),
        "the data directory's path is not shown"
    );

    let overview = ok(&fixture, "/api/v1/dashboards/overview").await;
    assert_eq!(overview["title"], "Overview");
    assert_eq!(overview["source"], "builtin");
    let panels = overview["panels"].as_array().cloned().unwrap_or_default();
    assert!(panels.len() >= 6);
    assert!(
        panels
            .iter()
            .all(|panel| panel["query"].is_object() && panel["visualization"]["type"].is_string())
    );

    let viewer = Some(fixture.token(Role::Viewer));
    fixture
        .get("/api/v1/dashboards/nope", viewer)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    for bad in ["Overview", "..%2Fsecrets", "a%20b"] {
        fixture
            .get(&format!("/api/v1/dashboards/{bad}"), viewer)
            .await
            .assert_problem(StatusCode::BAD_REQUEST);
    }
    fixture
        .get("/api/v1/dashboards?extra=1", viewer)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn overview_panels_answer_from_events_search_and_incidents() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let panel = |id: &str| format!("/api/v1/dashboards/overview/panels/{id}?{RANGE}");

    let events = ok(&fixture, &panel("events")).await;
    assert_eq!(events["columns"], json!(["events"]));
    assert_eq!(events["rows"], json!([[7]]));
    assert_eq!(events["visualization"]["type"], "stat");
    assert_eq!(events["from"], "2026-11-22T00:00:00.000000Z");
    assert_eq!(events["to"], "2026-11-24T00:00:00.000000Z");
    assert_eq!(events["bucket"], "30m");

    let per_service = ok(&fixture, &panel("events-per-service")).await;
    assert_eq!(
        per_service["columns"],
        json!(["bucket", "service", "events"])
    );
    assert_eq!(column_sum(&per_service, "events"), 7);
    let rows = per_service["rows"].as_array().cloned().unwrap_or_default();
    assert!(
        rows.contains(&json!(["2026-11-23T09:00:00.000000Z", "gateway", 3])),
        "{rows:?}"
    );

    let failed = ok(&fixture, &panel("failed-logins")).await;
    assert_eq!(failed["columns"], json!(["bucket", "events"]));
    assert_eq!(column_sum(&failed, "events"), 3);
    assert_eq!(
        failed["rows"].as_array().map(Vec::len),
        Some(96),
        "every 30-minute bucket, empty ones too"
    );

    let severities = ok(&fixture, &panel("open-incidents")).await;
    assert_eq!(
        severities["rows"],
        json!([["high", 1], ["medium", 1], ["low", 1]]),
        "most severe first"
    );
    let tactics = ok(&fixture, &panel("incidents-by-tactic")).await;
    assert_eq!(
        tactics["rows"],
        json!([["(none)", 2], ["credential_access", 1]])
    );

    // Without a range: the dashboard's 24 hours, ending now.
    let now = ok(&fixture, "/api/v1/dashboards/overview/panels/events").await;
    let to = chrono::DateTime::parse_from_rfc3339(now["to"].as_str().unwrap_or_default())?;
    let from = chrono::DateTime::parse_from_rfc3339(now["from"].as_str().unwrap_or_default())?;
    assert_eq!((to - from).num_hours(), 24);
    assert!((chrono::Utc::now() - to.to_utc()).num_seconds().abs() < 60);
    Ok(())
}

#[tokio::test]
async fn users_panels_run_and_their_mistakes_are_clear() -> anyhow::Result<()> {
    let fixture = fixture()?;
    let viewer = Some(fixture.token(Role::Viewer));
    let users = ok(
        &fixture,
        &format!("/api/v1/dashboards/gateway/panels/users?{RANGE}"),
    )
    .await;
    assert_eq!(users["rows"][0], json!(["mallory", 5]));

    let wrong = fixture
        .get(
            &format!("/api/v1/dashboards/gateway/panels/wrong-column?{RANGE}"),
            viewer,
        )
        .await;
    wrong.assert_problem(StatusCode::BAD_REQUEST);
    let detail = wrong.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("draws column \"service\"") && detail.contains("answers n"),
        "{detail}"
    );

    fixture
        .get(
            &format!("/api/v1/dashboards/gateway/panels/writes?{RANGE}"),
            viewer,
        )
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    fixture
        .get(
            &format!("/api/v1/dashboards/gateway/panels/nope?{RANGE}"),
            viewer,
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    for params in [
        "from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z",
        "from=2020-01-01T00:00:00Z&to=2026-11-23T00:00:00Z",
        "from=yesterday",
        "limit=5",
    ] {
        fixture
            .get(
                &format!("/api/v1/dashboards/gateway/panels/users?{params}"),
                viewer,
            )
            .await
            .assert_problem(StatusCode::BAD_REQUEST);
    }
    Ok(())
}
