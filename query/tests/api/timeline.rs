//! `GET /api/v1/incidents/{id}/timeline`: an incident's evidence events read back from the
//! event store, one lane per service, linked to their alerts.

use axum::http::StatusCode;
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, micros, platform_events, record_alerts, test_alert, write_events};

#[tokio::test]
async fn the_timeline_shows_evidence_across_services_in_event_time() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        write_events(dir, &platform_events())?;
        // Evidence: mallory's failures at the gateway (events 1-3), the token at auth (4),
        // the exec in the cluster (5), as write_events numbers them.
        let id = |offset: u64| weft_ingest::id::event_id("test", offset, 0);
        let mut failures = test_alert("brute", "brute_force", "Brute force", 1)
            .entity("user", "mallory")
            .service("gateway");
        failures.alert.event_ids = vec![id(1), id(2), id(3)];
        failures.alert.window_start = micros("2026-11-23T09:00:01Z");
        failures.alert.window_end = micros("2026-11-23T09:00:03Z");
        let mut exec = test_alert("exec", "pod_exec", "Exec into a pod", 80)
            .entity("user", "mallory")
            .service("k8s");
        exec.alert.event_ids = vec![id(5), id(4), "not-stored".to_string()];
        exec.alert.window_start = micros("2026-11-23T09:05:00Z");
        exec.alert.window_end = micros("2026-11-23T10:15:00Z");
        record_alerts(dir, vec![failures, exec], micros("2026-11-23T11:00:00Z"))?;
        Ok(())
    })?;
    let token = fixture.token(Role::Viewer).to_string();
    let list = fixture.get("/api/v1/incidents", Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK);
    let id = list.json()["incidents"][0]["id"]
        .as_str()
        .expect("an incident")
        .to_string();
    let reply = fixture
        .get(&format!("/api/v1/incidents/{id}/timeline"), Some(&token))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let timeline = reply.json();
    assert_eq!(timeline["incident_id"], id.as_str());
    assert_eq!(
        timeline["services"],
        serde_json::json!(["gateway", "auth", "k8s"])
    );
    let events = timeline["events"].as_array().expect("events");
    assert_eq!(events.len(), 5, "{timeline:#}");
    let times: Vec<&str> = events
        .iter()
        .filter_map(|event| event["time"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "event-time order");
    assert_eq!(events[4]["message"], "exec /bin/sh");
    assert_eq!(events[4]["alerts"].as_array().map(Vec::len), Some(1));
    assert_eq!(timeline["alerts"].as_array().map(Vec::len), Some(2));
    assert_eq!(timeline["not_shown"], 1, "the id no segment holds");

    let unknown = fixture
        .get("/api/v1/incidents/INC-000000000000/timeline", Some(&token))
        .await;
    unknown.assert_problem(StatusCode::NOT_FOUND);
    let anonymous = fixture
        .get(&format!("/api/v1/incidents/{id}/timeline"), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    Ok(())
}
