//! The OpenAPI description of the incident and alert routes: their parameters, bodies, error
//! answers and schemas.

use serde_json::{Map, Value, json};

use super::problem_response;
use crate::api::routes::{HttpMethod, RouteSpec};

/// Parameters, bodies and error answers of the incident and alert routes.
pub(super) fn operation(
    spec: &RouteSpec,
    operation: &mut Value,
    responses: &mut Map<String, Value>,
) {
    let query = super::query_param;
    let text = || super::text_schema(crate::api::incidents::MAX_NAME_CHARS);
    let severity = || json!({"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]});
    let page = [
        query(
            "limit",
            "results per page",
            json!({"type": "integer", "minimum": 1, "maximum": crate::api::incidents::MAX_LIMIT, "default": crate::api::incidents::DEFAULT_LIMIT}),
        ),
        query(
            "offset",
            "results to skip",
            json!({"type": "integer", "minimum": 0, "default": 0}),
        ),
    ];
    let entity = [
        query(
            "entity_type",
            "entity type (`user`, `src_ip`, `host`, ...); with entity_value",
            text(),
        ),
        query("entity_value", "entity value; with entity_type", text()),
    ];
    let mut parameters = match spec.path {
        "/api/v1/incidents" | "/api/v1/incidents/counts" => vec![
            query(
                "status",
                "only these statuses; repeat it or give a comma list; without it every status but merged",
                json!({"type": "array", "items": {"type": "string", "enum": ["open", "acknowledged", "closed", "merged"]}}),
            ),
            query(
                "min_severity",
                "only incidents at least this severe",
                severity(),
            ),
            query(
                "assignee",
                "only incidents assigned to this analyst",
                text(),
            ),
            query(
                "service",
                "only incidents with alerts from this service",
                text(),
            ),
            query(
                "q",
                "tantivy query over the incident index: `entity:alice`, `rule:spray`, `comment:scanner`, `technique:t1110`, `status:open`; words without a field search id, title, entities, services, rules, tactics, techniques and comments",
                json!({"type": "string", "maxLength": crate::incidents::index::MAX_QUERY_BYTES}),
            ),
            query(
                "sort",
                "sort key",
                json!({"type": "string", "enum": ["severity", "last_seen", "created"], "default": "severity"}),
            ),
            query(
                "order",
                "sort direction",
                json!({"type": "string", "enum": ["asc", "desc"], "default": "desc"}),
            ),
        ],
        "/api/v1/alerts" => vec![
            query("incident_id", "only alerts of this incident", text()),
            query("rule", "only alerts of this rule, by id or name", text()),
            query(
                "min_severity",
                "only alerts at least this severe",
                severity(),
            ),
            query("service", "only alerts from this service", text()),
            query(
                "since",
                "earliest window end, RFC 3339, inclusive",
                json!({"type": "string", "format": "date-time"}),
            ),
            query(
                "until",
                "latest window end, RFC 3339, exclusive",
                json!({"type": "string", "format": "date-time"}),
            ),
        ],
        _ => vec![json!({
            "name": "id",
            "in": "path",
            "required": true,
            "description": "the incident's id (`id` of a listed incident)",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,256}$"}
        })],
    };
    if spec.method == HttpMethod::Get && !spec.path.contains("{id}") {
        parameters.extend(entity);
        parameters.extend(page);
    }
    operation["parameters"] = Value::Array(parameters);
    let body = match spec.path {
        "/api/v1/incidents/{id}/status" => Some("StatusRequest"),
        "/api/v1/incidents/{id}/assign" => Some("AssignRequest"),
        "/api/v1/incidents/{id}/comments" => Some("CommentRequest"),
        _ => None,
    };
    if let Some(body) = body {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}
        });
        responses.insert(
            "409".to_string(),
            problem_response(
                "the incident was merged into another (change that one), or the status is merged",
            ),
        );
    }
    if spec.path.contains("{id}") {
        responses.insert(
            "404".to_string(),
            problem_response("no incident has this id"),
        );
    }
    responses.insert(
        "400".to_string(),
        problem_response("malformed parameters or body: unknown or repeated parameter, unknown status, severity, sort or order, bad query syntax, time or limit, empty or too long comment"),
    );
    responses.insert(
        "503".to_string(),
        problem_response("the store did not answer in time"),
    );
}

/// The schemas of the incident and alert routes.
pub(super) fn schemas() -> Value {
    json!({
                "Entity": {
                    "type": "object",
                    "required": ["type", "value"],
                    "properties": {"type": {"type": "string"}, "value": {"type": "string"}}
                },
                "IncidentSummary": incident_summary_schema(),
                "IncidentDetail": incident_detail_schema(),
                "IncidentCounts": {
                    "type": "object",
                    "required": ["total", "by_status", "by_severity"],
                    "properties": {
                        "total": {"type": "integer", "minimum": 0},
                        "by_status": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                        "by_severity": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
                    }
                },
                "IncidentPage": {
                    "type": "object",
                    "required": ["incidents", "total"],
                    "properties": {
                        "incidents": {"type": "array", "items": {"$ref": "#/components/schemas/IncidentSummary"}},
                        "total": {"type": "integer", "minimum": 0, "description": "incidents matching, on every page alike"}
                    }
                },
                "Comment": {
                    "type": "object",
                    "required": ["author", "time", "text"],
                    "properties": {
                        "author": {"type": "string"},
                        "time": {"type": "string", "format": "date-time"},
                        "text": {"type": "string"}
                    }
                },
                "StoredAlert": stored_alert_schema(),
                "Timeline": {
                    "type": "object",
                    "required": ["incident_id", "services", "events", "alerts", "not_shown"],
                    "properties": {
                        "incident_id": {"type": "string"},
                        "services": {"type": "array", "items": {"type": "string"}, "description": "one lane per service, in order of its first event"},
                        "events": {"type": "array", "items": {
                            "type": "object",
                            "required": ["event_id", "alerts"],
                            "description": "an evidence event: its normalized facts (time, service, class, activity, outcome, user, src_ip, message, ...) and the alerts it is evidence of",
                            "properties": {
                                "event_id": {"type": "string"},
                                "time": {"type": "string", "format": "date-time"},
                                "service": {"type": "string"},
                                "alerts": {"type": "array", "items": {"type": "string"}}
                            },
                            "additionalProperties": true
                        }},
                        "alerts": {"type": "array", "items": {
                            "type": "object",
                            "required": ["alert_id", "title", "severity", "window_start", "window_end", "event_ids"],
                            "properties": {
                                "alert_id": {"type": "string"},
                                "title": {"type": "string"},
                                "severity": {"type": "string"},
                                "window_start": {"type": "string", "format": "date-time"},
                                "window_end": {"type": "string", "format": "date-time"},
                                "event_ids": {"type": "array", "items": {"type": "string"}}
                            }
                        }},
                        "not_shown": {"type": "integer", "minimum": 0, "description": "evidence events beyond the cap or no longer stored"}
                    }
                },
                "AlertPage": {
                    "type": "object",
                    "required": ["alerts"],
                    "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/StoredAlert"}}}
                },
                "StatusRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "string", "enum": ["open", "acknowledged", "closed"]},
                        "note": {"type": ["string", "null"], "description": "why; kept as the caller's comment on the incident (a blank or null note is no comment)"}
                    }
                },
                "AssignRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["assignee"],
                    "properties": {"assignee": {"type": ["string", "null"], "minLength": 1, "pattern": "\\S", "description": "the analyst, or null to unassign"}}
                },
                "CommentRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["text"],
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": weft_correlate::incident::MAX_COMMENT_BYTES, "pattern": "\\S", "description": "at most 64 KiB of UTF-8 after trimming"}}
                }
    })
}

fn incident_summary_schema() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "type": "object",
        "required": ["id", "title", "severity", "status", "entities", "alert_count", "rule_count", "services", "tactics", "techniques", "first_seen", "last_seen", "created", "updated"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "severity": {"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]},
            "status": {"type": "string", "enum": ["open", "acknowledged", "closed", "merged"]},
            "assignee": {"type": ["string", "null"]},
            "entities": {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}},
            "alert_count": {"type": "integer", "minimum": 0},
            "rule_count": {"type": "integer", "minimum": 0},
            "services": strings,
            "tactics": strings,
            "techniques": strings,
            "first_seen": time,
            "last_seen": time,
            "created": time,
            "updated": time,
            "merged_into": {"type": ["string", "null"]}
        }
    })
}

fn incident_detail_schema() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    let nullable = json!({"type": ["string", "null"]});
    json!({
        "allOf": [{"$ref": "#/components/schemas/IncidentSummary"}, {
            "type": "object",
            "required": ["entity_counts", "alerts", "evidence_event_ids", "merged_from", "comments", "history"],
            "properties": {
                "entity_counts": {"type": "array", "items": {
                    "type": "object",
                    "required": ["type", "value", "alert_count"],
                    "properties": {"type": {"type": "string"}, "value": {"type": "string"}, "alert_count": {"type": "integer"}}
                }},
                "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/StoredAlert"}},
                "evidence_event_ids": {"type": "array", "items": {"type": "string"}},
                "merged_from": {"type": "array", "items": {"type": "string"}},
                "comments": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}},
                "history": {"type": "array", "items": {
                    "type": "object",
                    "required": ["time", "actor", "activity"],
                    "properties": {
                        "time": time,
                        "actor": {"type": "string"},
                        "activity": {"type": "string", "enum": ["created", "status", "assigned", "absorbed"]},
                        "from": nullable,
                        "to": nullable,
                        "note": nullable
                    }
                }}
            }
        }]
    })
}

fn stored_alert_schema() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "type": "object",
        "required": ["alert", "severity", "entities", "services", "source", "stored_at", "suppressed_count"],
        "properties": {
            "alert": {
                "type": "object",
                "required": ["alert_id", "rule_name", "title", "tags", "correlation_type", "group", "window_start", "window_end", "event_ids", "event_count"],
                "properties": {
                    "alert_id": {"type": "string"},
                    "rule_id": {"type": ["string", "null"]},
                    "rule_name": {"type": "string"},
                    "title": {"type": "string"},
                    "level": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "author": {"type": "string", "description": "the rule's author, when it names one"},
                    "correlation_type": {"type": "string"},
                    "group": {"type": "object", "additionalProperties": {"type": "string"}},
                    "window_start": {"type": "integer", "description": "UTC microseconds"},
                    "window_end": {"type": "integer", "description": "UTC microseconds"},
                    "event_ids": {"type": "array", "items": {"type": "string"}},
                    "event_count": {"type": "integer", "minimum": 0}
                }
            },
            "severity": {"type": "string", "enum": ["informational", "low", "medium", "high", "critical"]},
            "entities": {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}},
            "services": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["stream", "job"]}, "job": {"type": "string"}}},
            "incident_id": {"type": ["string", "null"]},
            "stored_at": time,
            "suppressed_count": {"type": "integer", "minimum": 0},
            "last_suppressed": {"type": ["string", "null"], "format": "date-time"}
        }
    })
}
