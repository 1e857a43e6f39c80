//! The rule routes: catalogue, create/update/delete of managed rules, enable/disable, test on
//! posted events, backtest over the store.

use std::path::Path;

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, Reply, platform_events, write_events};

/// The id of the managed rule [`seed_managed_rule`] writes.
pub const MANAGED_ID: &str = "0c6a1f3e-0000-4000-8000-000000000001";
const CONFIG_ID: &str = "0c6a1f3e-0000-4000-8000-000000000002";
const NEW_ID: &str = "0c6a1f3e-0000-4000-8000-000000000003";
const SPRAY_ID: &str = "0c6a1f3e-0000-4000-8000-000000000004";

/// A managed rule: failed passwords, at `level`.
pub fn managed_rule(level: &str) -> String {
    format!(
        "title: Failed password\nid: {MANAGED_ID}\nname: failed_password\nlevel: {level}\ntags:\n    - attack.t1110\nlogsource:\n    category: authentication\ndetection:\n    keywords:\n        - failed password\n    condition: keywords\n"
    )
}

fn config_rule() -> String {
    format!(
        "title: Shell in a pod\nid: {CONFIG_ID}\nlevel: high\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        message|contains: /bin/sh\n    condition: sel\n"
    )
}

fn new_rule() -> String {
    format!(
        "title: Token issued\nid: {NEW_ID}\nlevel: low\nlogsource:\n    category: authentication\ndetection:\n    sel:\n        message|contains: token issued\n    condition: sel\n"
    )
}

fn spray_rule() -> String {
    format!(
        "title: Password spray\nid: {SPRAY_ID}\nlevel: high\ncorrelation:\n    type: event_count\n    rules:\n        - failed_password\n    group-by:\n        - user\n    timespan: 5m\n    condition:\n        gte: 3\n"
    )
}

/// The body of a create that succeeds once.
pub fn new_rule_body() -> String {
    json!({ "yaml": new_rule() }).to_string()
}

/// Writes the managed rule into `<data_dir>/rules/`.
pub fn seed_managed_rule(data_dir: &Path) -> anyhow::Result<()> {
    let managed = data_dir.join("rules");
    std::fs::create_dir_all(&managed)?;
    std::fs::write(
        managed.join(format!("{MANAGED_ID}.yml")),
        managed_rule("medium"),
    )?;
    Ok(())
}

/// A fixture with the managed rule, a configured rule directory and the platform's events.
fn fixture() -> anyhow::Result<(Fixture, tempfile::TempDir)> {
    let configured = tempfile::tempdir()?;
    std::fs::write(configured.path().join("shell.yml"), config_rule())?;
    let config = ApiConfig {
        rules: vec![configured.path().to_path_buf()],
        ..ApiConfig::default()
    };
    let fixture = Fixture::with_config(config, |dir| {
        write_events(dir, &platform_events())?;
        seed_managed_rule(dir)
    })?;
    Ok((fixture, configured))
}

async fn send(
    fixture: &Fixture,
    method: &str,
    path: &str,
    role: Role,
    body: Option<Value>,
) -> Reply {
    let body = body.map(|body| body.to_string());
    fixture
        .send(
            method,
            path,
            Some(fixture.token(role)),
            body.as_deref(),
            None,
        )
        .await
}

fn rule<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list["rules"]
        .as_array()?
        .iter()
        .find(|rule| rule["id"] == id)
}

#[tokio::test]
async fn the_catalogue_lists_configured_and_managed_rules_with_filters() -> anyhow::Result<()> {
    let (fixture, configured) = fixture()?;
    let list = send(&fixture, "GET", "/api/v1/rules", Role::Viewer, None).await;
    assert_eq!(
        list.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&list.body)
    );
    let list = list.json();
    let managed = rule(&list, MANAGED_ID).expect("the managed rule is listed");
    assert_eq!(managed["source"], "managed");
    assert_eq!(managed["kind"], "sigma");
    assert_eq!(managed["enabled"], true);
    assert_eq!(managed["level"], "medium");
    assert_eq!(managed["hits"], 0);
    assert_eq!(
        rule(&list, CONFIG_ID).map(|rule| &rule["source"]),
        Some(&json!("config"))
    );
    // Paths are shown from the directory that holds the rule, never the server's directories.
    assert_eq!(managed["path"], format!("rules/{MANAGED_ID}.yml"));
    let configured_dir = configured
        .path()
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert_eq!(
        rule(&list, CONFIG_ID).map(|rule| &rule["path"]),
        Some(&json!(format!("{configured_dir}/shell.yml")))
    );
    let text = list.to_string();
    assert!(
        !text.contains(&*fixture.dir.path().to_string_lossy()),
        "{text}"
    );
    assert!(
        !text.contains(&*configured.path().to_string_lossy()),
        "{text}"
    );

    let filtered = send(
        &fixture,
        "GET",
        "/api/v1/rules?q=T1110&kind=sigma",
        Role::Viewer,
        None,
    )
    .await;
    let filtered = filtered.json();
    assert_eq!(filtered["rules"].as_array().map(Vec::len), Some(1));
    let none = send(
        &fixture,
        "GET",
        "/api/v1/rules?kind=correlation",
        Role::Viewer,
        None,
    )
    .await;
    assert_eq!(none.json()["rules"], json!([]));
    send(
        &fixture,
        "GET",
        "/api/v1/rules?kind=nope",
        Role::Viewer,
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    send(
        &fixture,
        "GET",
        "/api/v1/rules?enabled=maybe",
        Role::Viewer,
        None,
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);

    let detail = send(
        &fixture,
        "GET",
        &format!("/api/v1/rules/{MANAGED_ID}"),
        Role::Viewer,
        None,
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        detail.json()["yaml"]
            .as_str()
            .is_some_and(|yaml| yaml.contains("failed password"))
    );
    send(
        &fixture,
        "GET",
        "/api/v1/rules/unknown-rule",
        Role::Viewer,
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn creating_validates_like_rules_check() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    let post = |yaml: String| {
        send(
            &fixture,
            "POST",
            "/api/v1/rules",
            Role::Admin,
            Some(json!({ "yaml": yaml })),
        )
    };

    post("title: [unclosed".to_string())
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    let refused = post("title: No detection\nid: 0c6a1f3e-0000-4000-8000-000000000009\nlogsource:\n    category: x\n".to_string()).await;
    refused.assert_problem(StatusCode::BAD_REQUEST);
    assert!(
        refused.json()["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("detection"))
    );
    post(managed_rule("low"))
        .await
        .assert_problem(StatusCode::CONFLICT);
    post(config_rule())
        .await
        .assert_problem(StatusCode::CONFLICT);
    let dangling = spray_rule().replace("failed_password", "no_such_rule");
    let dangling = post(dangling).await;
    dangling.assert_problem(StatusCode::BAD_REQUEST);
    send(
        &fixture,
        "POST",
        "/api/v1/rules",
        Role::Admin,
        Some(json!({ "yaml": new_rule(), "extra": 1 })),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    send(
        &fixture,
        "POST",
        "/api/v1/rules",
        Role::Analyst,
        Some(json!({ "yaml": new_rule() })),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);

    let created = post(spray_rule()).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.json()["kind"], "correlation");
    assert_eq!(created.json()["source"], "managed");
    assert!(
        fixture
            .dir
            .path()
            .join("rules")
            .join(format!("{SPRAY_ID}.yml"))
            .exists()
    );
    let staging: Vec<_> = std::fs::read_dir(fixture.dir.path())?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(".rules-"))
        .collect();
    assert!(staging.is_empty(), "staging directories are removed");
    Ok(())
}

#[tokio::test]
async fn a_baseline_is_created_and_listed_as_a_baseline() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    let baseline = "title: New service calls\nid: 5b7d9e21-4c3a-4f6b-8e1d-2a3b4c5d6e7f\nlevel: medium\nbaseline:\n    where:\n        caller|exists: true\n    of: [caller, service]\n    learn: 14d\n    alert-on: [new-pair]\n";
    let created = send(
        &fixture,
        "POST",
        "/api/v1/rules",
        Role::Admin,
        Some(json!({ "yaml": baseline })),
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.json()["kind"], "baseline");
    let listed = send(
        &fixture,
        "GET",
        "/api/v1/rules?kind=baseline",
        Role::Viewer,
        None,
    )
    .await;
    let listed = listed.json();
    assert_eq!(
        listed["rules"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let broken = baseline.replace("learn: 14d", "learn: soon");
    send(
        &fixture,
        "POST",
        "/api/v1/rules",
        Role::Admin,
        Some(json!({ "yaml": broken })),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn updates_and_deletes_apply_to_managed_rules_only() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    let managed = format!("/api/v1/rules/{MANAGED_ID}");
    let updated = send(
        &fixture,
        "PUT",
        &managed,
        Role::Admin,
        Some(json!({ "yaml": managed_rule("high") })),
    )
    .await;
    assert_eq!(
        updated.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&updated.body)
    );
    assert_eq!(updated.json()["level"], "high");
    send(
        &fixture,
        "PUT",
        &managed,
        Role::Admin,
        Some(json!({ "yaml": new_rule() })),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    let config = send(
        &fixture,
        "PUT",
        &format!("/api/v1/rules/{CONFIG_ID}"),
        Role::Admin,
        Some(json!({ "yaml": config_rule() })),
    )
    .await;
    config.assert_problem(StatusCode::CONFLICT);
    assert!(
        config.json()["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("read-only"))
    );
    send(
        &fixture,
        "PUT",
        "/api/v1/rules/unknown-rule",
        Role::Admin,
        Some(json!({ "yaml": new_rule() })),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    send(
        &fixture,
        "DELETE",
        &format!("/api/v1/rules/{CONFIG_ID}"),
        Role::Admin,
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
    let deleted = send(&fixture, "DELETE", &managed, Role::Admin, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    send(&fixture, "GET", &managed, Role::Viewer, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn enable_and_disable_round_trip_through_the_catalogue() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    for id in [MANAGED_ID, CONFIG_ID] {
        let disabled = send(
            &fixture,
            "POST",
            &format!("/api/v1/rules/{id}/disable"),
            Role::Admin,
            None,
        )
        .await;
        assert_eq!(disabled.status, StatusCode::OK);
        assert_eq!(disabled.json()["enabled"], false);
    }
    let off = send(
        &fixture,
        "GET",
        "/api/v1/rules?enabled=false",
        Role::Viewer,
        None,
    )
    .await
    .json();
    assert_eq!(off["rules"].as_array().map(Vec::len), Some(2));
    let listed: Vec<String> = serde_json::from_str(&std::fs::read_to_string(
        fixture.dir.path().join("rules").join("disabled.json"),
    )?)?;
    assert_eq!(listed.len(), 2);
    let enabled = send(
        &fixture,
        "POST",
        &format!("/api/v1/rules/{MANAGED_ID}/enable"),
        Role::Admin,
        None,
    )
    .await;
    assert_eq!(enabled.json()["enabled"], true);
    let on = send(
        &fixture,
        "GET",
        "/api/v1/rules?enabled=true",
        Role::Viewer,
        None,
    )
    .await
    .json();
    assert!(rule(&on, MANAGED_ID).is_some());
    send(
        &fixture,
        "POST",
        "/api/v1/rules/unknown-rule/disable",
        Role::Admin,
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn testing_matches_posted_events_and_runs_correlations() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    let event = |second: u32| json!({"time": format!("2026-11-23T09:00:0{second}Z"), "user": "mallory", "message": "failed password for mallory"});
    let body = json!({
        "yaml": spray_rule(),
        "events": [event(1), event(2), "<<not a log line", event(3), {"message": "all good"}],
        "format": "json",
    });
    let reply = send(
        &fixture,
        "POST",
        "/api/v1/rules/test",
        Role::Analyst,
        Some(body),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let report = reply.json();
    assert_eq!(report["events"], 5);
    assert_eq!(report["errors"][0]["index"], 2, "{report}");
    let alerts = report["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 1, "{report}");
    assert_eq!(alerts[0]["rule_id"], SPRAY_ID);

    let body = json!({"rule_id": MANAGED_ID, "events": [event(1), {"message": "all good"}]});
    let report = send(
        &fixture,
        "POST",
        "/api/v1/rules/test",
        Role::Analyst,
        Some(body),
    )
    .await
    .json();
    let matches = report["matches"].as_array().cloned().unwrap_or_default();
    assert_eq!(matches.len(), 1, "{report}");
    assert_eq!(matches[0]["event_index"], 0);
    assert_eq!(matches[0]["rule_id"], MANAGED_ID);

    for bad in [
        json!({"events": []}),
        json!({"events": [1]}),
        json!({"events": ["x"], "format": "nope"}),
        json!({"yaml": "title: [", "events": ["x"]}),
    ] {
        send(
            &fixture,
            "POST",
            "/api/v1/rules/test",
            Role::Analyst,
            Some(bad),
        )
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    }
    send(
        &fixture,
        "POST",
        "/api/v1/rules/test",
        Role::Viewer,
        Some(json!({"events": ["x"]})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn backtest_finds_the_rules_alerts_in_the_store() -> anyhow::Result<()> {
    let (fixture, _configured) = fixture()?;
    let path = format!("/api/v1/rules/{MANAGED_ID}/backtest");
    let range = json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"});
    let reply = send(&fixture, "POST", &path, Role::Analyst, Some(range)).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let answer = reply.json();
    assert_eq!(
        answer["alerts"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );
    assert!(
        answer["events_read"]
            .as_u64()
            .is_some_and(|events| events >= 3)
    );

    for bad in [
        json!({"from": "yesterday", "to": "2026-11-24T00:00:00Z"}),
        json!({"from": "2026-11-24T00:00:00Z", "to": "2026-11-23T00:00:00Z"}),
        json!({"from": "2026-01-01T00:00:00Z", "to": "2026-11-24T00:00:00Z"}),
        json!({"from": "2026-11-23T00:00:00Z"}),
    ] {
        send(&fixture, "POST", &path, Role::Analyst, Some(bad))
            .await
            .assert_problem(StatusCode::BAD_REQUEST);
    }
    send(
        &fixture,
        "POST",
        "/api/v1/rules/unknown-rule/backtest",
        Role::Analyst,
        Some(json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    Ok(())
}
