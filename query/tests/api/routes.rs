//! Every route × {no token, a wrong token, each role}, driven from the route table.

use std::num::NonZeroU32;

use axum::http::StatusCode;
use weft_query::api::ApiConfig;
use weft_query::api::routes::{HttpMethod, ROUTES, RouteSpec};
use weft_query::auth::{Access, Role};
use weft_query::ratelimit::{RateLimitConfig, RateQuota};

use crate::common::{Fixture, Reply, platform_events, seed_incidents, write_events};
use crate::rules::{MANAGED_ID, managed_rule, new_rule_body, seed_managed_rule};

/// A valid body for each route that takes one.
fn body_for(spec: &RouteSpec) -> Option<String> {
    match (spec.method, spec.path) {
        (HttpMethod::Post, "/api/v1/rules") => return Some(new_rule_body()),
        (HttpMethod::Put, "/api/v1/rules/{id}") => {
            return Some(serde_json::json!({ "yaml": managed_rule("high") }).to_string());
        }
        _ => {}
    }
    let body = match spec.path {
        "/api/v1/sql" => Some(r#"{"query": "SELECT count(*) AS n FROM events"}"#),
        "/api/v1/incidents/{id}/status" => Some(r#"{"status": "acknowledged"}"#),
        "/api/v1/incidents/{id}/assign" => Some(r#"{"assignee": "carol"}"#),
        "/api/v1/incidents/{id}/comments" => Some(r#"{"text": "looking into it"}"#),
        "/api/v1/rules/test" => Some(r#"{"events": [{"message": "failed password"}]}"#),
        "/api/v1/rules/{id}/backtest" => {
            Some(r#"{"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}"#)
        }
        _ => None,
    };
    body.map(str::to_string)
}

fn is_ui_page(spec: &RouteSpec) -> bool {
    matches!(spec.path, "/" | "/ui/{*path}")
}

/// The status a successful call of the route answers with.
fn success_for(spec: &RouteSpec) -> StatusCode {
    match (spec.method, spec.path) {
        (_, "/api/v1/incidents/{id}/comments") | (HttpMethod::Post, "/api/v1/rules") => {
            StatusCode::CREATED
        }
        (HttpMethod::Delete, _) => StatusCode::NO_CONTENT,
        _ => StatusCode::OK,
    }
}

/// The route's path with its parameters filled in with values that exist in the fixture.
fn path_for(spec: &RouteSpec, incident: &str) -> String {
    let event_id = weft_ingest::id::event_id("test", 0, 0);
    let id = if spec.path.starts_with("/api/v1/rules/") {
        MANAGED_ID
    } else if spec.path.starts_with("/api/v1/dashboards/") {
        "overview"
    } else {
        incident
    };
    spec.path
        .replace("{event_id}", &event_id)
        .replace("{id}", id)
        .replace("{panel}", "events")
        .replace("{*path}", "app.js")
}

async fn call(fixture: &Fixture, spec: &RouteSpec, incident: &str, token: Option<&str>) -> Reply {
    let path = path_for(spec, incident);
    assert!(
        !path.contains('{'),
        "{} has a parameter to fill in",
        spec.path
    );
    fixture
        .send(
            spec.method.as_str(),
            &path,
            token,
            body_for(spec).as_deref(),
            None,
        )
        .await
}

fn assert_secure_headers(reply: &Reply, spec: &RouteSpec) {
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    // The UI's pages load their own script and style; every other answer allows nothing.
    let policy = if is_ui_page(spec) {
        weft_query::api::ui::UI_CSP
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    assert_eq!(reply.header("content-security-policy"), Some(policy));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        reply.header("strict-transport-security"),
        None,
        "no HSTS without TLS"
    );
}

#[tokio::test]
async fn every_route_with_every_kind_of_caller() -> anyhow::Result<()> {
    let mut seeded = None;
    // More calls than the default burst allows from one address.
    let generous = RateQuota {
        per_minute: NonZeroU32::new(100_000).unwrap_or(NonZeroU32::MIN),
        burst: NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
    };
    let config = ApiConfig {
        rate_limits: RateLimitConfig {
            per_address: generous,
            per_token: generous,
        },
        ..ApiConfig::default()
    };
    let fixture = Fixture::with_config(config, |dir| {
        write_events(dir, &platform_events())?;
        seeded = Some(seed_incidents(dir)?);
        seed_managed_rule(dir)?;
        Ok(())
    })?;
    let incident = seeded.map(|seeded| seeded.spray).unwrap_or_default();
    // An admin token that was revoked after the API opened: refused at once, everywhere.
    let revoked = weft_query::create_token(fixture.dir.path(), "revoked-admin", Role::Admin)?;
    weft_query::revoke_token(fixture.dir.path(), "revoked-admin")?;
    let mut checked = 0;
    let mut refused = 0;
    for spec in ROUTES {
        let anonymous = call(&fixture, spec, &incident, None).await;
        let wrong = call(
            &fixture,
            spec,
            &incident,
            Some("weft_0000000000000000000000000000000000000000000"),
        )
        .await;
        assert_secure_headers(&anonymous, spec);
        assert_secure_headers(&wrong, spec);
        match spec.access {
            Access::Public => {
                assert_eq!(anonymous.status, StatusCode::OK, "{} is public", spec.path);
                assert_eq!(wrong.status, StatusCode::OK, "{} ignores tokens", spec.path);
            }
            Access::Role(required) => {
                let revoked = call(&fixture, spec, &incident, Some(&revoked.secret)).await;
                revoked.assert_problem(StatusCode::UNAUTHORIZED);
                refused += 3;
                anonymous.assert_problem(StatusCode::UNAUTHORIZED);
                assert_eq!(
                    anonymous.header("www-authenticate"),
                    Some("Bearer realm=\"weft\"")
                );
                wrong.assert_problem(StatusCode::UNAUTHORIZED);
                for role in Role::ALL {
                    let reply = call(&fixture, spec, &incident, Some(fixture.token(role))).await;
                    assert_secure_headers(&reply, spec);
                    if role.satisfies(required) {
                        assert_eq!(
                            reply.status,
                            success_for(spec),
                            "{role} may call {} {}: {}",
                            spec.method.as_str(),
                            spec.path,
                            String::from_utf8_lossy(&reply.body)
                        );
                    } else {
                        refused += 1;
                        reply.assert_problem(StatusCode::FORBIDDEN);
                        assert!(
                            reply.json()["detail"]
                                .as_str()
                                .is_some_and(|detail| detail.contains(required.as_str())),
                            "the refusal names the role needed"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 4 * 4,
        "every protected route was walked with every role"
    );
    // Every refusal is in the audit trail, with its status.
    fixture.state.audit().flush()?;
    let audited = fixture
        .sql(
            fixture.token(Role::Analyst),
            "SELECT http_status, count(*) FROM events WHERE service = 'weft' \
             AND http_status IN (401, 403) GROUP BY http_status ORDER BY http_status",
        )
        .await;
    let rows = audited.json()["rows"].clone();
    let total: u64 = rows
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row[1].as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(total, refused, "audited refusals: {rows}");
    Ok(())
}

#[test]
fn the_route_table_has_one_row_per_method_and_path() {
    for (index, spec) in ROUTES.iter().enumerate() {
        assert!(
            !ROUTES[..index]
                .iter()
                .any(|other| other.path == spec.path && other.method == spec.method),
            "{} {} is listed twice",
            spec.method.as_str(),
            spec.path
        );
        assert!(
            spec.path == "/healthz"
                || spec.path == "/readyz"
                || spec.path == "/metrics"
                || is_ui_page(spec)
                || spec.path.starts_with("/api/v1/"),
            "{} is neither a probe, the UI, nor versioned",
            spec.path
        );
        if spec.access == Access::Public {
            assert!(
                matches!(spec.path, "/healthz" | "/readyz") || is_ui_page(spec),
                "only the probes and the UI's static pages are public, not {}",
                spec.path
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_problems() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let admin = fixture.token(Role::Admin).to_string();
    let missing = fixture.get("/api/v1/nothing-here", Some(&admin)).await;
    missing.assert_problem(StatusCode::NOT_FOUND);
    let wrong_method = fixture
        .send("DELETE", "/api/v1/sql", Some(&admin), None, None)
        .await;
    wrong_method.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    let get_sql = fixture.get("/api/v1/sql", None).await;
    get_sql.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

#[tokio::test]
async fn metrics_need_a_token_unless_configured_public() -> anyhow::Result<()> {
    let guarded = Fixture::new()?;
    assert_eq!(
        guarded.get("/metrics", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let public = Fixture::with_config(
        ApiConfig {
            public_metrics: true,
            ..ApiConfig::default()
        },
        |_| Ok(()),
    )?;
    let scraped = public.get("/metrics", None).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert!(String::from_utf8(scraped.body)?.contains("weft_api_requests_total"));
    // Only /metrics: every data route still needs a token.
    assert_eq!(
        public.get("/api/v1/incidents", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn whoami_and_metrics_answer_with_the_callers_facts() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let me = fixture
        .get("/api/v1/whoami", Some(fixture.token(Role::Analyst)))
        .await;
    assert_eq!(me.json()["name"], "analyst-user");
    assert_eq!(me.json()["role"], "analyst");
    let _ = fixture.get("/api/v1/whoami", None).await;
    let metrics = fixture
        .get("/metrics", Some(fixture.token(Role::Viewer)))
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8(metrics.body)?;
    assert!(text.contains(
        "weft_api_requests_total{method=\"GET\",route=\"/api/v1/whoami\",status=\"200\"} 1"
    ));
    assert!(text.contains(
        "weft_api_requests_total{method=\"GET\",route=\"/api/v1/whoami\",status=\"401\"} 1"
    ));
    assert!(text.contains("weft_api_auth_failures_total 1"));
    let tokens = fixture
        .get("/api/v1/tokens", Some(fixture.token(Role::Admin)))
        .await;
    let listed = tokens.json();
    let listed = listed["tokens"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), Role::ALL.len());
    assert!(
        listed.iter().all(|token| token.get("sha256").is_none()),
        "hashes never leave the server"
    );
    assert_eq!(
        ROUTES
            .iter()
            .filter(|spec| spec.method == HttpMethod::Post)
            .count(),
        9,
        "SQL, the three incident changes, and rule create, enable, disable, test, backtest"
    );
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_security() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let reply = fixture
        .get("/api/v1/openapi.json", Some(fixture.token(Role::Viewer)))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    let operations: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |item| item.len()))
        .sum();
    assert_eq!(operations, ROUTES.len(), "no operation without a route");
    // Every link between operations names one the document has.
    let operation_ids: Vec<&str> = paths
        .values()
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let mut links = 0;
    for item in paths.values().filter_map(|item| item.as_object()) {
        for operation in item.values() {
            let responses = operation["responses"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for response in responses.values() {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|links| links.values())
                {
                    let target = link["operationId"].as_str().unwrap_or_default();
                    assert!(operation_ids.contains(&target), "link to {target}");
                    links += 1;
                }
            }
        }
    }
    assert!(links >= 8, "rule and dashboard links: {links}");
    for spec in ROUTES {
        let path = weft_query::api::openapi::document_path(spec.path);
        let operation =
            &document["paths"][path.as_str()][spec.method.as_str().to_ascii_lowercase()];
        assert!(operation.is_object(), "{} is documented", spec.path);
        match spec.access {
            Access::Public => assert_eq!(operation["security"], serde_json::json!([])),
            Access::Role(role) => {
                assert_eq!(operation["x-weft-min-role"], role.as_str());
                assert!(operation["responses"]["401"].is_object());
                assert!(operation["responses"]["403"].is_object());
            }
        }
    }
    Ok(())
}
