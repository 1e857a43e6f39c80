//! The OpenAPI description of the dashboard routes: their parameters, error answers and
//! schemas.

use serde_json::{Map, Value, json};

use super::problem_response;
use crate::api::routes::RouteSpec;

/// Parameters and error answers of the dashboard routes.
pub(super) fn operation(
    spec: &RouteSpec,
    operation: &mut Value,
    responses: &mut Map<String, Value>,
) {
    let id = |name: &str, description: &str| {
        json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}
        })
    };
    let mut parameters = Vec::new();
    if spec.path.contains("{id}") {
        parameters.push(id(
            "id",
            "the dashboard's id (its file name without `.json`)",
        ));
        responses.insert(
            "404".to_string(),
            problem_response("no dashboard (or panel) has this id"),
        );
    }
    if spec.path.ends_with("{panel}") {
        parameters.push(id("panel", "the panel's id within the dashboard"));
        for (name, description) in [
            (
                "from",
                "start of the range, RFC 3339, inclusive; default: the dashboard's range before `to`",
            ),
            ("to", "end of the range, RFC 3339, exclusive; default: now"),
        ] {
            parameters.push(json!({
                "name": name,
                "in": "query",
                "required": false,
                "description": description,
                "schema": {"type": "string", "format": "date-time"}
            }));
        }
        responses.insert(
            "422".to_string(),
            problem_response("the panel's SQL needs more memory than allowed"),
        );
        responses.insert(
            "503".to_string(),
            problem_response("the panel's query timed out"),
        );
    }
    operation["parameters"] = Value::Array(parameters);
    // Where the ids of the next calls come from: the list names dashboards, a dashboard its
    // panels.
    let link = match spec.path {
        "/api/v1/dashboards" => Some((
            "GetDashboard",
            json!({"operationId": "get_dashboards__id_", "parameters": {"id": "$response.body#/dashboards/0/id"}}),
        )),
        "/api/v1/dashboards/{id}" => Some((
            "GetPanel",
            json!({"operationId": "get_dashboards__id__panels__panel_", "parameters": {"id": "$response.body#/id", "panel": "$response.body#/panels/0/id"}}),
        )),
        _ => None,
    };
    if let (Some((name, link)), Some(ok)) = (link, responses.get_mut("200")) {
        ok["links"] = json!({ name: link });
    }
    responses.insert(
        "400".to_string(),
        problem_response("malformed parameters (unknown parameter, bad id, bad time range), or a panel whose query fails or does not answer the columns it draws"),
    );
}

/// The schemas of the dashboard routes.
pub(super) fn schemas() -> Value {
    let string = json!({"type": "string"});
    json!({
        "DashboardList": {
            "type": "object",
            "required": ["dashboards", "refused"],
            "properties": {
                "dashboards": {"type": "array", "items": {
                    "type": "object",
                    "required": ["id", "title", "description", "range", "panels", "source"],
                    "properties": {
                        "id": string, "title": string, "description": string, "range": string,
                        "refresh_seconds": {"type": "integer", "minimum": 5},
                        "panels": {"type": "integer", "minimum": 1},
                        "source": {"type": "string", "description": "`builtin`, or the user's file name"}
                    }
                }},
                "refused": {"type": "array", "items": {
                    "type": "object",
                    "required": ["file", "reason"],
                    "properties": {"file": string, "reason": string}
                }}
            }
        },
        "Dashboard": {
            "type": "object",
            "required": ["id", "title", "description", "range", "panels", "source"],
            "properties": {
                "id": string, "title": string, "description": string, "range": string,
                "refresh_seconds": {"type": "integer", "minimum": 5},
                "source": string,
                "panels": {"type": "array", "items": {"$ref": "#/components/schemas/Panel"}}
            }
        },
        "Panel": {
            "type": "object",
            "required": ["id", "title", "description", "query", "visualization", "width"],
            "properties": {
                "id": string, "title": string, "description": string,
                "query": {"type": "object", "description": "one of `{\"sql\": ...}`, `{\"search\": ...}`, `{\"incidents\": {\"group_by\": ...}}`"},
                "visualization": {"$ref": "#/components/schemas/Visualization"},
                "width": {"type": "string", "enum": ["half", "full"]}
            }
        },
        "Visualization": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["stat", "timeseries", "bar", "table"]},
                "value": string, "unit": string, "x": string,
                "y": {"oneOf": [string, {"type": "array", "items": string}]},
                "series": string
            }
        },
        "PanelAnswer": {
            "type": "object",
            "required": ["panel", "title", "visualization", "columns", "rows", "truncated", "from", "to", "bucket"],
            "properties": {
                "panel": string, "title": string,
                "visualization": {"$ref": "#/components/schemas/Visualization"},
                "columns": {"type": "array", "items": string},
                "rows": {"type": "array", "items": {"type": "array"}},
                "truncated": {"type": "boolean"},
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time"},
                "bucket": {"type": "string", "description": "bucket width of time panels (`30m`)"}
            }
        }
    })
}
