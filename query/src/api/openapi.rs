//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the route table: every
//! row becomes an operation with its security requirement and its problem responses, so the
//! document cannot list a route the server lacks or miss one it has.

use serde_json::{Map, Value, json};

mod dashboards;
mod incidents;
mod rules;

use super::routes::{HttpMethod, ROUTES, RouteSpec};
use crate::auth::Access;

/// An optional query parameter.
fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// A name-like text the server trims and refuses when blank or over `max` characters.
fn text_schema(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S"})
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// The success answer of a route: (media type, schema).
fn success(spec: &RouteSpec) -> (&'static str, Value) {
    let reference = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    match spec.path {
        "/healthz" | "/readyz" => ("application/json", reference("Status")),
        "/metrics" => ("text/plain", json!({"type": "string"})),
        "/" => ("text/html", json!({"type": "string"})),
        "/ui/{*path}" => ("*/*", json!({"type": "string"})),
        "/api/v1/whoami" => ("application/json", reference("WhoAmI")),
        "/api/v1/sql" => ("application/json", reference("SqlRows")),
        "/api/v1/tokens" => ("application/json", reference("TokenList")),
        "/api/v1/events/search" => ("application/json", reference("EventPage")),
        "/api/v1/events/histogram" => ("application/json", reference("Histogram")),
        "/api/v1/events/{event_id}" => ("application/json", reference("Event")),
        "/api/v1/openapi.json" => ("application/json", json!({"type": "object"})),
        "/api/v1/incidents" => ("application/json", reference("IncidentPage")),
        "/api/v1/incidents/counts" => ("application/json", reference("IncidentCounts")),
        "/api/v1/incidents/{id}"
        | "/api/v1/incidents/{id}/status"
        | "/api/v1/incidents/{id}/assign" => ("application/json", reference("IncidentDetail")),
        "/api/v1/incidents/{id}/comments" => ("application/json", reference("Comment")),
        "/api/v1/incidents/{id}/timeline" => ("application/json", reference("Timeline")),
        "/api/v1/alerts" => ("application/json", reference("AlertPage")),
        "/api/v1/dashboards" => ("application/json", reference("DashboardList")),
        "/api/v1/dashboards/{id}" => ("application/json", reference("Dashboard")),
        "/api/v1/dashboards/{id}/panels/{panel}" => ("application/json", reference("PanelAnswer")),
        "/api/v1/rules" if spec.method == HttpMethod::Get => {
            ("application/json", reference("RuleList"))
        }
        "/api/v1/rules/{id}" if spec.method == HttpMethod::Get => {
            ("application/json", reference("RuleDetail"))
        }
        "/api/v1/rules"
        | "/api/v1/rules/{id}"
        | "/api/v1/rules/{id}/enable"
        | "/api/v1/rules/{id}/disable" => ("application/json", reference("RuleEntry")),
        "/api/v1/rules/test" => ("application/json", reference("RuleTestReport")),
        "/api/v1/rules/{id}/backtest" => ("application/json", reference("RuleBacktest")),
        "/api/v1/jobs" => ("application/json", reference("RunList")),
        "/api/v1/jobs/gaps" => ("application/json", reference("GapList")),
        "/api/v1/jobs/status" => ("application/json", reference("JobStatusList")),
        "/api/v1/rules/hits" => ("application/json", reference("RuleHits")),
        "/api/v1/ingest/stats" => ("application/json", reference("IngestStats")),
        _ => ("application/json", json!({})),
    }
}

fn operation(spec: &RouteSpec) -> Value {
    let (media, schema) = success(spec);
    let mut responses = Map::new();
    let mut ok = json!({"description": "success", "content": {media: {"schema": schema}}});
    if spec.path == "/api/v1/sql"
        && let Some(content) = ok["content"].as_object_mut()
    {
        content.insert(
            "application/vnd.apache.arrow.stream".to_string(),
            json!({"schema": {"type": "string", "contentMediaType": "application/vnd.apache.arrow.stream"}}),
        );
    }
    let created = spec.path == "/api/v1/incidents/{id}/comments"
        || (spec.path == "/api/v1/rules" && spec.method == HttpMethod::Post);
    if spec.method == HttpMethod::Delete {
        responses.insert("204".to_string(), json!({"description": "deleted"}));
    } else {
        responses.insert(if created { "201" } else { "200" }.to_string(), ok);
    }
    if spec.path == "/readyz" {
        responses.insert(
            "503".to_string(),
            json!({"description": "not ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}),
        );
    }
    responses.insert(
        "429".to_string(),
        problem_response("too many requests; see Retry-After"),
    );
    let mut operation = json!({
        "summary": spec.summary,
        "operationId": operation_id(spec),
    });
    match spec.access {
        Access::Public => {
            operation["security"] = json!([]);
        }
        Access::Role(role) => {
            operation["security"] = json!([{"bearer": []}]);
            operation["x-weft-min-role"] = json!(role.as_str());
            responses.insert("401".to_string(), problem_response("no valid bearer token"));
            responses.insert(
                "403".to_string(),
                problem_response(&format!("the token's role is below {role}")),
            );
        }
    }
    if spec.method.has_body() {
        responses.insert("400".to_string(), problem_response("malformed input"));
        responses.insert("408".to_string(), problem_response("body not sent in time"));
        responses.insert("413".to_string(), problem_response("body too large"));
        responses.insert("415".to_string(), problem_response("body is not JSON"));
    }
    if spec.path.starts_with("/api/v1/events/") {
        operation["parameters"] = event_parameters(spec.path);
        responses.insert(
            "400".to_string(),
            problem_response("malformed parameters: unknown or repeated parameter, bad query syntax, bad time, range, limit, interval or cursor"),
        );
        responses.insert("503".to_string(), problem_response("the search timed out"));
        if spec.path.ends_with("{event_id}") {
            responses.insert(
                "404".to_string(),
                problem_response("no stored event has this id"),
            );
        }
    }
    if spec.path == "/ui/{*path}" {
        operation["parameters"] = json!([{
            "name": "path",
            "in": "path",
            "required": true,
            "description": "a file of the UI",
            "schema": {"type": "string", "enum": weft_dashboards::ASSETS.iter().map(|asset| asset.path).collect::<Vec<_>>()}
        }]);
        responses.insert(
            "404".to_string(),
            problem_response("the UI has no such file"),
        );
    }
    if spec.path == "/api/v1/sql" {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SqlRequest"}}}
        });
        responses.insert(
            "422".to_string(),
            problem_response("the query needs more memory than allowed"),
        );
        responses.insert("503".to_string(), problem_response("the query timed out"));
    }
    if spec.path.starts_with("/api/v1/incidents") || spec.path == "/api/v1/alerts" {
        incidents::operation(spec, &mut operation, &mut responses);
    }
    if spec.path.starts_with("/api/v1/dashboards") {
        dashboards::operation(spec, &mut operation, &mut responses);
    }
    if ["/api/v1/rules", "/api/v1/jobs", "/api/v1/ingest"]
        .iter()
        .any(|prefix| spec.path.starts_with(prefix))
    {
        rules::operation(spec, &mut operation, &mut responses);
    }
    operation["responses"] = Value::Object(responses);
    operation
}

/// The parameters of the event routes.
fn event_parameters(path: &str) -> Value {
    let query = query_param;
    let q = query(
        "q",
        "tantivy query: `user:alice AND message:\"failed password\"`, `http_status:[500 TO 599]`; words without a field search message and raw; empty matches every event",
        json!({"type": "string", "maxLength": crate::search::MAX_QUERY_BYTES}),
    );
    let time = |name: &str, description: &str| {
        query(
            name,
            description,
            json!({"type": "string", "format": "date-time"}),
        )
    };
    let from = time("from", "earliest event time, RFC 3339, inclusive");
    let to = time(
        "to",
        "latest event time, RFC 3339, exclusive; later than from",
    );
    match path {
        "/api/v1/events/search" => json!([
            q,
            from,
            to,
            query(
                "limit",
                "events per page",
                json!({"type": "integer", "minimum": 1, "maximum": crate::search::MAX_LIMIT, "default": crate::search::DEFAULT_LIMIT})
            ),
            query(
                "cursor",
                "the cursor of the previous page, unchanged",
                json!({"type": "string"})
            ),
        ]),
        "/api/v1/events/histogram" => json!([
            q,
            from,
            to,
            query(
                "interval",
                "bucket width; chosen from the range when missing",
                json!({"type": "string", "pattern": "^[1-9][0-9]{0,8}[smhd]$"})
            ),
        ]),
        _ => json!([{
            "name": "event_id",
            "in": "path",
            "required": true,
            "description": "the event's id (`event_id` of a search result)",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
        }]),
    }
}

/// The JSON schema of an event, from the event schema's columns: times as RFC 3339 strings,
/// integers as integers, `flags` as a list, `attrs` as an object; null columns are left out.
fn event_schema() -> Value {
    use arrow_schema::DataType;
    let schema = weft_ingest::schema::schema();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in schema.fields() {
        let property = match field.data_type() {
            DataType::Timestamp(..) => json!({"type": "string", "format": "date-time"}),
            DataType::Int32 => json!({"type": "integer"}),
            DataType::List(_) => json!({"type": "array", "items": {"type": "string"}}),
            DataType::Map(..) => json!({
                "type": "object",
                "additionalProperties": {"type": ["string", "null"]}
            }),
            _ => json!({"type": "string"}),
        };
        properties.insert(field.name().clone(), property);
        let in_every_answer = !field.is_nullable() && field.name() != weft_ingest::schema::RAW;
        if in_every_answer {
            required.push(Value::String(field.name().clone()));
        }
    }
    json!({
        "type": "object",
        "description": "one stored event (schema v1); search results leave out raw and attrs",
        "required": required,
        "properties": properties
    })
}

fn operation_id(spec: &RouteSpec) -> String {
    let path: String = spec
        .path
        .trim_start_matches('/')
        .replace("api/v1/", "")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{}_{path}", spec.method.as_str().to_ascii_lowercase())
}

/// A route's path as OpenAPI writes it: axum's catch-all `{*path}` is the parameter `{path}`.
pub fn document_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The whole document.
pub fn document() -> Value {
    let mut document = base_document();
    for extra in [
        incidents::schemas(),
        rules::schemas(),
        dashboards::schemas(),
        rules::health_schemas(),
    ] {
        if let (Some(schemas), Value::Object(extra)) =
            (document["components"]["schemas"].as_object_mut(), extra)
        {
            schemas.extend(extra);
        }
    }
    document
}

fn base_document() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let entry = paths
            .entry(document_path(spec.path))
            .or_insert_with(|| json!({}));
        entry[spec.method.as_str().to_ascii_lowercase()] = operation(spec);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "weft API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Security log search, SQL and incidents. Every route but the probes and the UI's static pages needs `Authorization: Bearer TOKEN`; `x-weft-min-role` names the least role that may call it."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "a weft API token, or, when the operator configured [api.oidc], a JWT of their OpenID Connect provider whose role claim grants a weft role"
            }},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"}
                    }
                },
                "Status": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["ok", "ready", "not_ready"]}}
                },
                "WhoAmI": {
                    "type": "object",
                    "required": ["name", "role", "token_id"],
                    "properties": {
                        "name": {"type": "string"},
                        "role": {"type": "string", "enum": ["viewer", "analyst", "admin", "ingest"]},
                        "token_id": {"type": "string"}
                    }
                },
                "SqlRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["query"],
                    "properties": {"query": {"type": "string", "description": "one SELECT over the events table"}},
                    "examples": [{"query": "SELECT service, count(*) AS events FROM events GROUP BY service ORDER BY events DESC"}]
                },
                "SqlRows": {
                    "type": "object",
                    "required": ["columns", "rows", "truncated"],
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "rows": {"type": "array", "items": {"type": "array", "items": {}}},
                        "truncated": {"type": "boolean"}
                    }
                },
                "Event": event_schema(),
                "EventPage": {
                    "type": "object",
                    "required": ["events", "total", "cursor"],
                    "properties": {
                        "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                        "total": {"type": "integer", "minimum": 0},
                        "cursor": {"type": ["string", "null"], "description": "send as `cursor` for the next page; null on the last page"}
                    }
                },
                "Histogram": {
                    "type": "object",
                    "required": ["interval", "buckets", "total"],
                    "properties": {
                        "interval": {"type": "string", "examples": ["1h"]},
                        "buckets": {"type": "array", "items": {
                            "type": "object",
                            "required": ["start", "count"],
                            "properties": {
                                "start": {"type": "string", "format": "date-time"},
                                "count": {"type": "integer", "minimum": 0}
                            }
                        }},
                        "total": {"type": "integer", "minimum": 0}
                    }
                },
                "TokenList": {
                    "type": "object",
                    "required": ["tokens"],
                    "properties": {"tokens": {"type": "array", "items": {
                        "type": "object",
                        "required": ["id", "name", "role", "created"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "role": {"type": "string"},
                            "created": {"type": "string"},
                            "revoked": {"type": ["string", "null"]}
                        }
                    }}}
                }
            }
        }
    })
}
