//! Full-text search of incidents (`q`) through the incident index: by entity, rule, comment,
//! combined with the other filters; the index rebuilt when lost or damaged and refreshed when
//! the store changes; and the OpenAPI description of the incident routes.

use axum::http::StatusCode;
use serde_json::json;
use weft_correlate::incident::{IncidentConfig, IncidentStore};
use weft_query::auth::Role;
use weft_query::incidents::{INDEX_DIR, IncidentIndex, Refresh};

use crate::common::{Fixture, INCIDENT_NOW, Seeded, record_alerts, test_alert};
use crate::incidents::{ids, list, listed, post, q, seeded};

#[tokio::test]
async fn q_finds_incidents_by_entity_rule_title_and_comment() -> anyhow::Result<()> {
    let (fixture, Seeded { spray, scan, shell }) = seeded()?;
    assert_eq!(listed(&fixture, &q("alice")).await, [spray.as_str()]);
    assert_eq!(listed(&fixture, &q("entity:alice")).await, [spray.as_str()]);
    assert_eq!(
        listed(&fixture, &q("entity:198.51.100.20")).await,
        [scan.as_str()]
    );
    assert_eq!(
        listed(&fixture, &q("entity:\"src_ip:203.0.113.7\"")).await,
        [spray.as_str()]
    );
    assert_eq!(
        listed(&fixture, &q("rule:\"interactive shell\"")).await,
        [shell.as_str()],
        "by rule title"
    );
    assert_eq!(
        listed(&fixture, &q("port_scan")).await,
        [scan.as_str()],
        "by rule name"
    );
    assert_eq!(
        listed(&fixture, &q("technique:t1110.003")).await,
        [spray.as_str()]
    );
    assert_eq!(
        listed(
            &fixture,
            &format!("{}&sort=created", q("service:k8s OR service:edge"))
        )
        .await,
        [shell.as_str(), scan.as_str()]
    );
    assert!(listed(&fixture, &q("mallory")).await.is_empty());

    let commented = post(
        &fixture,
        Role::Analyst,
        &format!("/api/v1/incidents/{shell}/comments"),
        &json!({"text": "Looks like the red team's exercise"}),
    )
    .await;
    assert_eq!(commented.status, StatusCode::CREATED);
    assert_eq!(
        listed(&fixture, &q("comment:\"red team\"")).await,
        [shell.as_str()],
        "a new comment is searchable at once"
    );
    assert_eq!(listed(&fixture, &q("exercise")).await, [shell.as_str()]);

    let combined = list(
        &fixture,
        &format!("{}&min_severity=high", q("alice OR bob")),
    )
    .await;
    assert_eq!(ids(&combined.json()["incidents"]), [spray.as_str()]);
    assert_eq!(combined.json()["total"], 1);
    let paged = list(
        &fixture,
        &format!(
            "{}&sort=created&order=asc&limit=1&offset=1",
            q("alice OR bob")
        ),
    )
    .await;
    assert_eq!(ids(&paged.json()["incidents"]), [shell.as_str()]);
    assert_eq!(paged.json()["total"], 2);
    assert!(
        listed(&fixture, &format!("{}&status=closed", q("alice")))
            .await
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn the_index_is_rebuilt_when_lost_or_damaged_and_refreshed_by_new_alerts()
-> anyhow::Result<()> {
    let (fixture, Seeded { spray, shell, .. }) = seeded()?;
    let index_dir = fixture.dir.path().join(INDEX_DIR);
    assert!(!index_dir.exists(), "built on first use");
    assert_eq!(listed(&fixture, &q("alice")).await, [spray.as_str()]);
    assert!(index_dir.join("meta.json").is_file());

    std::fs::remove_dir_all(&index_dir)?;
    assert_eq!(
        listed(&fixture, &q("bob")).await,
        [shell.as_str()],
        "rebuilt after deletion"
    );
    assert!(index_dir.join("meta.json").is_file());

    std::fs::write(index_dir.join("meta.json"), b"{ not an index")?;
    assert_eq!(
        listed(&fixture, &q("web-1")).await,
        [shell.as_str()],
        "rebuilt when damaged"
    );

    let outcome = record_alerts(
        fixture.dir.path(),
        vec![
            test_alert("tunnel", "dns_tunnel", "DNS tunnelling", 40)
                .entity("user", "erin")
                .service("dns"),
            test_alert(
                "spray2",
                "password_spray",
                "Password spray on the gateway",
                12,
            )
            .entity("user", "alice")
            .entity("host", "vpn-7")
            .service("gateway"),
        ],
        INCIDENT_NOW + 100,
    )?;
    let tunnel = outcome.created.first().cloned().unwrap_or_default();
    assert_eq!(
        listed(&fixture, &q("erin")).await,
        [tunnel.as_str()],
        "a new incident"
    );
    assert_eq!(
        listed(&fixture, &q("vpn-7")).await,
        [spray.as_str()],
        "a new alert of an existing incident"
    );

    let store = IncidentStore::open(fixture.dir.path(), &IncidentConfig::default())?;
    let index = IncidentIndex::new(fixture.dir.path());
    assert_eq!(index.refresh(&store)?, Refresh::Fresh);
    let mut writer = IncidentStore::open(fixture.dir.path(), &IncidentConfig::default())?;
    writer.assign(&shell, Some("frank"), "cli", INCIDENT_NOW + 200)?;
    assert_eq!(index.refresh(&store)?, Refresh::Updated(1));
    assert_eq!(
        listed(&fixture, &q("assignee:frank")).await,
        [shell.as_str()]
    );
    assert_eq!(index.rebuild(&store)?, 4);
    assert_eq!(weft_query::incidents::rebuild(fixture.dir.path())?, 4);
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_describes_the_incident_routes() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let reply = fixture
        .get("/api/v1/openapi.json", Some(fixture.token(Role::Viewer)))
        .await;
    let document = reply.json();
    let paths = &document["paths"];
    let list = &paths["/api/v1/incidents"]["get"];
    assert_eq!(list["x-weft-min-role"], "viewer");
    let parameters: Vec<&str> = list["parameters"]
        .as_array()
        .map(|parameters| {
            parameters
                .iter()
                .filter_map(|parameter| parameter["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for name in [
        "status",
        "min_severity",
        "assignee",
        "entity_type",
        "entity_value",
        "service",
        "q",
        "sort",
        "order",
        "limit",
        "offset",
    ] {
        assert!(parameters.contains(&name), "{name} is documented");
    }
    assert!(paths["/api/v1/incidents/{id}"]["get"]["responses"]["404"].is_object());
    for route in ["status", "assign", "comments"] {
        let operation = &paths[format!("/api/v1/incidents/{{id}}/{route}")]["post"];
        assert_eq!(operation["x-weft-min-role"], "analyst", "{route}");
        assert!(operation["requestBody"].is_object(), "{route}");
        assert!(operation["responses"]["409"].is_object(), "{route}");
        assert!(operation["responses"]["404"].is_object(), "{route}");
    }
    assert!(paths["/api/v1/incidents/{id}/comments"]["post"]["responses"]["201"].is_object());
    assert!(paths["/api/v1/alerts"]["get"]["parameters"].is_array());
    for schema in [
        "IncidentPage",
        "IncidentDetail",
        "StoredAlert",
        "AlertPage",
        "Comment",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
    Ok(())
}
