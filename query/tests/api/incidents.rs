//! The incident and alert routes over a detection store seeded through weft-correlate's
//! incident store: listing with every filter and sort, bad parameters, one incident in full,
//! analysts' changes (and who may make them), merged incidents, and alerts. Search (`q`) and
//! the incident index are in `incident_search`.

use axum::http::StatusCode;
use serde_json::{Value, json};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{
    Fixture, INCIDENT_NOW, Reply, Seeded, record_alerts, seed_incidents, test_alert,
};

pub(crate) fn seeded() -> anyhow::Result<(Fixture, Seeded)> {
    let mut seeded = None;
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        seeded = Some(seed_incidents(dir)?);
        Ok(())
    })?;
    let seeded = seeded.ok_or_else(|| anyhow::anyhow!("the fixture seeds incidents"))?;
    Ok((fixture, seeded))
}

pub(crate) async fn list(fixture: &Fixture, query: &str) -> Reply {
    let path = format!("/api/v1/incidents?{query}");
    fixture.get(&path, Some(fixture.token(Role::Viewer))).await
}

/// The listed incident ids, asserting a 200.
pub(crate) async fn listed(fixture: &Fixture, query: &str) -> Vec<String> {
    let reply = list(fixture, query).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{query}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    ids(&reply.json()["incidents"])
}

pub(crate) fn ids(incidents: &Value) -> Vec<String> {
    incidents
        .as_array()
        .map(|incidents| {
            incidents
                .iter()
                .filter_map(|incident| incident["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn post(fixture: &Fixture, role: Role, path: &str, body: &Value) -> Reply {
    fixture
        .send(
            "POST",
            path,
            Some(fixture.token(role)),
            Some(&body.to_string()),
            None,
        )
        .await
}

pub(crate) async fn detail(fixture: &Fixture, id: &str) -> Value {
    let reply = fixture
        .get(
            &format!("/api/v1/incidents/{id}"),
            Some(fixture.token(Role::Viewer)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()
}

pub(crate) fn q(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("q={encoded}")
}

#[tokio::test]
async fn lists_incidents_with_each_filter_and_sort() -> anyhow::Result<()> {
    let (fixture, Seeded { spray, scan, shell }) = seeded()?;
    let all = list(&fixture, "").await;
    assert_eq!(all.json()["total"], 3);
    assert_eq!(
        ids(&all.json()["incidents"]),
        [spray.as_str(), shell.as_str(), scan.as_str()],
        "most severe first"
    );
    assert_eq!(all.json()["incidents"][0]["severity"], "high");
    assert_eq!(
        listed(&fixture, "sort=created&order=asc").await,
        [spray.as_str(), scan.as_str(), shell.as_str()]
    );
    assert_eq!(
        listed(&fixture, "sort=last_seen").await,
        [scan.as_str(), shell.as_str(), spray.as_str()]
    );
    assert_eq!(
        listed(&fixture, "sort=severity&order=asc").await,
        [scan.as_str(), shell.as_str(), spray.as_str()]
    );
    assert_eq!(
        listed(&fixture, "min_severity=medium").await,
        [spray.as_str(), shell.as_str()]
    );
    assert_eq!(
        listed(&fixture, "entity_type=user&entity_value=alice").await,
        [spray.as_str()]
    );
    assert_eq!(
        listed(&fixture, "entity_type=src_ip&entity_value=203.0.113.7").await,
        [spray.as_str()]
    );
    assert_eq!(listed(&fixture, "service=k8s").await, [shell.as_str()]);
    let page = list(&fixture, "limit=1&offset=1").await;
    assert_eq!(ids(&page.json()["incidents"]), [shell.as_str()]);
    assert_eq!(page.json()["total"], 3, "the total ignores the page");

    let analyst = Role::Analyst;
    let acknowledged = post(
        &fixture,
        analyst,
        &format!("/api/v1/incidents/{scan}/status"),
        &json!({"status": "acknowledged"}),
    )
    .await;
    assert_eq!(acknowledged.status, StatusCode::OK);
    let closed = post(
        &fixture,
        analyst,
        &format!("/api/v1/incidents/{shell}/status"),
        &json!({"status": "closed"}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK);
    assert_eq!(
        listed(&fixture, "status=acknowledged").await,
        [scan.as_str()]
    );
    assert_eq!(
        listed(&fixture, "status=open,acknowledged&sort=created&order=asc").await,
        [spray.as_str(), scan.as_str()]
    );
    assert_eq!(
        listed(&fixture, "status=open&status=closed&sort=created&order=asc").await,
        [spray.as_str(), shell.as_str()]
    );
    let assigned = post(
        &fixture,
        analyst,
        &format!("/api/v1/incidents/{spray}/assign"),
        &json!({"assignee": "dana"}),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::OK);
    assert_eq!(listed(&fixture, "assignee=dana").await, [spray.as_str()]);
    assert!(listed(&fixture, "assignee=erin").await.is_empty());
    Ok(())
}

#[tokio::test]
async fn bad_parameters_are_400s_that_say_what_to_do() -> anyhow::Result<()> {
    let (fixture, _) = seeded()?;
    let cases = [
        ("status=resolved", "use open, acknowledged"),
        ("status=", "`status` has an empty value"),
        ("status=open,", "`status` has an empty value"),
        ("min_severity=urgent", "use informational"),
        ("sort=size", "use severity, last_seen or created"),
        ("order=up", "use asc or desc"),
        ("limit=0", "from 1 to 500"),
        ("limit=501", "from 1 to 500"),
        ("limit=many", "from 1 to 500"),
        ("offset=-1", "`offset`"),
        ("entity_type=user", "together"),
        ("entity_value=alice", "together"),
        ("colour=red", "unknown parameter `colour`"),
        ("sort=created&sort=severity", "given twice"),
        ("q=title%3A%28", "invalid `q`"),
        ("service=", "is empty"),
    ];
    for (query, expected) in cases {
        let reply = list(&fixture, query).await;
        reply.assert_problem(StatusCode::BAD_REQUEST);
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(detail.contains(expected), "{query}: {detail}");
    }
    let viewer = Some(fixture.token(Role::Viewer));
    for query in [
        "since=yesterday",
        "min_severity=urgent",
        "limit=0",
        "color=red",
        "entity_type=user",
        "since=2026-11-23T10:00:00Z&until=2026-11-23T09:00:00Z",
    ] {
        let reply = fixture
            .get(&format!("/api/v1/alerts?{query}"), viewer)
            .await;
        reply.assert_problem(StatusCode::BAD_REQUEST);
    }
    Ok(())
}

#[tokio::test]
async fn an_incident_in_full_and_404_for_an_unknown_one() -> anyhow::Result<()> {
    let (fixture, seeded) = seeded()?;
    let incident = detail(&fixture, &seeded.spray).await;
    assert_eq!(incident["id"], seeded.spray.as_str());
    assert_eq!(incident["status"], "open");
    assert_eq!(incident["alert_count"], 2);
    assert_eq!(incident["services"], json!(["auth", "gateway"]));
    assert_eq!(incident["alerts"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        incident["alerts"][0]["alert"]["rule_name"],
        "password_spray"
    );
    assert_eq!(
        incident["entity_counts"][0],
        json!({"type": "src_ip", "value": "203.0.113.7", "alert_count": 2})
    );
    assert_eq!(
        incident["evidence_event_ids"],
        json!(["spray-e1", "spray-e2", "reuse-e1", "reuse-e2"])
    );
    assert_eq!(incident["tactics"], json!(["credential_access"]));
    assert_eq!(incident["history"][0]["activity"], "created");

    let viewer = Some(fixture.token(Role::Viewer));
    let missing = fixture
        .get("/api/v1/incidents/INC-000000000000", viewer)
        .await;
    missing.assert_problem(StatusCode::NOT_FOUND);
    assert!(
        missing.json()["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("no incident INC-000000000000"))
    );
    let malformed = fixture.get("/api/v1/incidents/bad%20id", viewer).await;
    malformed.assert_problem(StatusCode::BAD_REQUEST);
    let changing_missing = post(
        &fixture,
        Role::Analyst,
        "/api/v1/incidents/INC-000000000000/comments",
        &json!({"text": "hello"}),
    )
    .await;
    changing_missing.assert_problem(StatusCode::NOT_FOUND);

    let metrics = fixture
        .get("/metrics", Some(fixture.token(Role::Viewer)))
        .await;
    let text = String::from_utf8(metrics.body)?;
    assert!(
        text.contains(
            "weft_api_requests_total{method=\"GET\",route=\"/api/v1/incidents/{id}\",status=\"404\"} 1"
        ),
        "incident calls go through the edge layer (metrics and audit): {text}"
    );
    Ok(())
}

#[tokio::test]
async fn analysts_change_status_assignment_and_comments_and_viewers_cannot() -> anyhow::Result<()> {
    let (fixture, Seeded { spray, .. }) = seeded()?;
    let status_path = format!("/api/v1/incidents/{spray}/status");
    let assign_path = format!("/api/v1/incidents/{spray}/assign");
    let comments_path = format!("/api/v1/incidents/{spray}/comments");

    for (path, body) in [
        (&status_path, json!({"status": "closed"})),
        (&assign_path, json!({"assignee": "viewer-user"})),
        (&comments_path, json!({"text": "mine"})),
    ] {
        let refused = post(&fixture, Role::Viewer, path, &body).await;
        refused.assert_problem(StatusCode::FORBIDDEN);
    }
    assert_eq!(detail(&fixture, &spray).await["status"], "open");

    let acknowledged = post(
        &fixture,
        Role::Analyst,
        &status_path,
        &json!({"status": "acknowledged", "note": "working on it"}),
    )
    .await;
    assert_eq!(acknowledged.status, StatusCode::OK);
    assert_eq!(acknowledged.json()["status"], "acknowledged");
    assert_eq!(acknowledged.json()["comments"][0]["text"], "working on it");

    let assigned = post(
        &fixture,
        Role::Analyst,
        &assign_path,
        &json!({"assignee": "dana"}),
    )
    .await;
    assert_eq!(assigned.json()["assignee"], "dana");
    let unassigned = post(
        &fixture,
        Role::Analyst,
        &assign_path,
        &json!({"assignee": null}),
    )
    .await;
    assert_eq!(unassigned.status, StatusCode::OK);
    assert_eq!(unassigned.json()["assignee"], Value::Null);

    let commented = post(
        &fixture,
        Role::Analyst,
        &comments_path,
        &json!({"text": "  the address belongs to a VPN exit  "}),
    )
    .await;
    assert_eq!(commented.status, StatusCode::CREATED);
    assert_eq!(commented.json()["author"], "analyst-user");
    assert_eq!(
        commented.json()["text"],
        "the address belongs to a VPN exit"
    );

    let incident = detail(&fixture, &spray).await;
    let history: Vec<(String, String, Value, Value)> = incident["history"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap_or_default().to_string(),
                entry["activity"].as_str().unwrap_or_default().to_string(),
                entry["from"].clone(),
                entry["to"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history[history.len().saturating_sub(3)..],
        [
            (
                "analyst-user".into(),
                "status".into(),
                json!("open"),
                json!("acknowledged")
            ),
            (
                "analyst-user".into(),
                "assigned".into(),
                Value::Null,
                json!("dana")
            ),
            (
                "analyst-user".into(),
                "assigned".into(),
                json!("dana"),
                Value::Null
            ),
        ]
    );
    assert_eq!(incident["comments"].as_array().map(Vec::len), Some(2));

    let bad_bodies = [
        (&status_path, json!({"status": "resolved"}), "use open"),
        (&status_path, json!({"state": "closed"}), "unknown field"),
        (&assign_path, json!({}), "give `assignee`"),
        (&assign_path, json!({"assignee": "  "}), "give a name"),
        (&comments_path, json!({"text": "   "}), "write some text"),
        (
            &comments_path,
            json!({"text": "x".repeat(64 * 1024 + 1)}),
            "keep it under",
        ),
    ];
    for (path, body, expected) in bad_bodies {
        let reply = post(&fixture, Role::Analyst, path, &body).await;
        reply.assert_problem(StatusCode::BAD_REQUEST);
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    let not_json = fixture
        .send(
            "POST",
            &comments_path,
            Some(fixture.token(Role::Analyst)),
            Some("{text"),
            None,
        )
        .await;
    not_json.assert_problem(StatusCode::BAD_REQUEST);
    let to_merged = post(
        &fixture,
        Role::Analyst,
        &status_path,
        &json!({"status": "merged"}),
    )
    .await;
    to_merged.assert_problem(StatusCode::CONFLICT);
    Ok(())
}

#[tokio::test]
async fn a_merged_incident_is_read_only() -> anyhow::Result<()> {
    let mut merged = None;
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        let first = record_alerts(
            dir,
            vec![test_alert("a", "r1", "First", 0).entity("user", "carol")],
            INCIDENT_NOW,
        )?;
        let second = record_alerts(
            dir,
            vec![test_alert("b", "r2", "Second", 1).entity("src_ip", "192.0.2.50")],
            INCIDENT_NOW + 1,
        )?;
        record_alerts(
            dir,
            vec![
                test_alert("c", "r3", "Bridge", 2)
                    .entity("user", "carol")
                    .entity("src_ip", "192.0.2.50"),
            ],
            INCIDENT_NOW + 2,
        )?;
        merged = Some((first.created[0].clone(), second.created[0].clone()));
        Ok(())
    })?;
    let (into, from) = merged.ok_or_else(|| anyhow::anyhow!("seeded"))?;
    let incident = detail(&fixture, &from).await;
    assert_eq!(incident["status"], "merged");
    assert_eq!(incident["merged_into"], into.as_str());
    for (route, body) in [
        ("status", json!({"status": "closed"})),
        ("assign", json!({"assignee": "dana"})),
        ("comments", json!({"text": "too late"})),
    ] {
        let reply = post(
            &fixture,
            Role::Analyst,
            &format!("/api/v1/incidents/{from}/{route}"),
            &body,
        )
        .await;
        reply.assert_problem(StatusCode::CONFLICT);
        assert!(
            reply.json()["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains(&format!("change {into} instead"))),
            "{route}"
        );
    }
    assert_eq!(
        listed(&fixture, "").await,
        [into.as_str()],
        "merged ones are hidden by default"
    );
    assert_eq!(listed(&fixture, "status=merged").await, [from.as_str()]);
    Ok(())
}

#[tokio::test]
async fn alerts_are_listed_newest_first_with_filters() -> anyhow::Result<()> {
    let (fixture, seeded) = seeded()?;
    let viewer = Some(fixture.token(Role::Viewer));
    let rules = |reply: &Reply| -> Vec<String> {
        reply.json()["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|alert| alert["alert"]["rule_name"].as_str().map(str::to_string))
            .collect()
    };
    let all = fixture.get("/api/v1/alerts", viewer).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        rules(&all),
        ["port_scan", "shell_in_pod", "token_reuse", "password_spray"]
    );
    let cases = [
        (
            format!("incident_id={}", seeded.spray),
            vec!["token_reuse", "password_spray"],
        ),
        ("rule=port_scan".to_string(), vec!["port_scan"]),
        ("rule=shell_in_pod-id".to_string(), vec!["shell_in_pod"]),
        ("min_severity=high".to_string(), vec!["password_spray"]),
        (
            "entity_type=user&entity_value=alice".to_string(),
            vec!["password_spray"],
        ),
        ("service=auth".to_string(), vec!["token_reuse"]),
        (
            "since=2026-11-23T09:15:00Z".to_string(),
            vec!["port_scan", "shell_in_pod"],
        ),
        (
            "until=2026-11-23T09:15:00Z".to_string(),
            vec!["token_reuse", "password_spray"],
        ),
        ("limit=1&offset=1".to_string(), vec!["shell_in_pod"]),
    ];
    for (query, expected) in cases {
        let reply = fixture
            .get(&format!("/api/v1/alerts?{query}"), viewer)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{query}");
        assert_eq!(rules(&reply), expected, "{query}");
    }
    Ok(())
}

#[tokio::test]
async fn counts_per_status_and_severity_follow_the_lists_filters() -> anyhow::Result<()> {
    let (fixture, Seeded { shell, .. }) = seeded()?;
    let acknowledged = post(
        &fixture,
        Role::Analyst,
        &format!("/api/v1/incidents/{shell}/status"),
        &json!({"status": "acknowledged"}),
    )
    .await;
    assert_eq!(acknowledged.status, StatusCode::OK);
    let counts = |query: &'static str| {
        let fixture = &fixture;
        async move {
            let reply = fixture
                .get(
                    &format!("/api/v1/incidents/counts?{query}"),
                    Some(fixture.token(Role::Viewer)),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{query}: {}",
                String::from_utf8_lossy(&reply.body)
            );
            reply.json()
        }
    };
    assert_eq!(
        counts("").await,
        json!({"total": 3, "by_status": {"open": 2, "acknowledged": 1},
               "by_severity": {"high": 1, "medium": 1, "low": 1}})
    );
    assert_eq!(
        counts("status=open&sort=created&limit=1").await["total"],
        3,
        "every status is counted; order and page do not matter"
    );
    assert_eq!(
        counts("min_severity=medium").await,
        json!({"total": 2, "by_status": {"open": 1, "acknowledged": 1},
               "by_severity": {"high": 1, "medium": 1}})
    );
    let searched = counts("q=entity%3Aalice").await;
    assert_eq!(searched["total"], 1, "{searched}");
    assert_eq!(searched["by_severity"], json!({"high": 1}));
    fixture
        .get(
            "/api/v1/incidents/counts?min_severity=huge",
            Some(fixture.token(Role::Viewer)),
        )
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    Ok(())
}
