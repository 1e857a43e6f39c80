//! The OpenAPI description of the rule, job and ingest routes: their parameters, bodies,
//! error answers and schemas.

use serde_json::{Map, Value, json};

use super::problem_response;
use crate::api::routes::{HttpMethod, RouteSpec};

/// Parameters, bodies and error answers of the rule, job and ingest routes.
pub(super) fn operation(
    spec: &RouteSpec,
    operation: &mut Value,
    responses: &mut Map<String, Value>,
) {
    let query = super::query_param;
    let text = || super::text_schema(crate::api::incidents::MAX_NAME_CHARS);
    let mut parameters = Vec::new();
    if spec.path.contains("{id}") {
        parameters.push(json!({
            "name": "id",
            "in": "path",
            "required": true,
            "description": "the rule's id (`id` of the catalogue)",
            "schema": {"type": "string", "minLength": 1, "maxLength": crate::api::rules::MAX_ID_CHARS}
        }));
        responses.insert("404".to_string(), problem_response("no rule has this id"));
    }
    match (spec.method, spec.path) {
        (HttpMethod::Get, "/api/v1/rules") => {
            parameters.push(query(
                "kind",
                "only rules of this kind",
                json!({"type": "string", "enum": ["sigma", "correlation", "sequence", "baseline", "sql"]}),
            ));
            parameters.push(query(
                "enabled",
                "only enabled (true) or disabled (false) rules",
                json!({"type": "boolean"}),
            ));
            parameters.push(query(
                "q",
                "text in the title, id, name or tags (case-insensitive)",
                json!({"type": "string"}),
            ));
        }
        (HttpMethod::Get, "/api/v1/rules/hits") => {
            let time = json!({"type": "string", "format": "date-time"});
            parameters.push(query(
                "from",
                "start of the first bucket, RFC 3339 (default: 24 hours before `to`)",
                time.clone(),
            ));
            parameters.push(query(
                "to",
                "end of the range, RFC 3339 (default: now); at most 366 days after `from`",
                time,
            ));
            parameters.push(query(
                "buckets",
                "equally wide buckets (whole seconds; the last may end after `to`)",
                json!({"type": "integer", "minimum": 1, "maximum": crate::api::rule_hits::MAX_BUCKETS, "default": crate::api::rule_hits::DEFAULT_BUCKETS}),
            ));
            parameters.push(query("rule", "only this rule, by id or name", text()));
        }
        (HttpMethod::Get, "/api/v1/jobs") => {
            parameters.push(query("job", "only runs of this job", text()));
            parameters.push(query(
                "status",
                "only runs with this status",
                json!({"type": "string", "enum": ["queued", "running", "succeeded", "failed", "gap", "filled"]}),
            ));
            parameters.push(query(
                "limit",
                "runs per answer",
                json!({"type": "integer", "minimum": 1, "maximum": crate::api::incidents::MAX_LIMIT, "default": crate::api::incidents::DEFAULT_LIMIT}),
            ));
        }
        _ => {}
    }
    operation["parameters"] = Value::Array(parameters);
    let body = match (spec.method, spec.path) {
        (HttpMethod::Post, "/api/v1/rules") | (HttpMethod::Put, "/api/v1/rules/{id}") => {
            Some("RuleBody")
        }
        (HttpMethod::Post, "/api/v1/rules/test") => Some("RuleTestRequest"),
        (HttpMethod::Post, "/api/v1/rules/{id}/backtest") => Some("RuleBacktestRequest"),
        _ => None,
    };
    if let Some(body) = body {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}
        });
    }
    if matches!(
        spec.method,
        HttpMethod::Post | HttpMethod::Put | HttpMethod::Delete
    ) && spec.path != "/api/v1/rules/test"
        && !spec.path.ends_with("/backtest")
    {
        responses.insert(
            "409".to_string(),
            problem_response(
                "the id or name is taken (create), or the rule comes from a configured path and is read-only here",
            ),
        );
    }
    if (spec.method, spec.path) == (HttpMethod::Post, "/api/v1/rules")
        && let Some(created) = responses.get_mut("201")
    {
        created["links"] = rule_links();
    }
    if spec.path == "/api/v1/rules/test" {
        responses.insert(
            "404".to_string(),
            problem_response("no rule has the `rule_id` given"),
        );
    }
    responses.insert(
        "400".to_string(),
        problem_response("malformed parameters or body: unknown parameter, bad YAML, a rule the loaders refuse (with the reason), correlations that cannot run together, bad time range, too many events"),
    );
    responses.insert(
        "503".to_string(),
        problem_response("the call did not finish in time"),
    );
}

/// A rule a client could create: the example of the rule body.
const EXAMPLE_RULE: &str = "title: Sudo by a service account\nid: 5f0c3a52-1d7e-4b8e-9a61-3c2f7e9d0a11\nstatus: experimental\nlogsource:\n  product: linux\n  service: sudo\ndetection:\n  selection:\n    user|startswith: svc-\n  condition: selection\nlevel: medium\n";

/// What a client can do next with the rule it created: the operations on `/api/v1/rules/{id}`
/// with the `id` of the answer.
fn rule_links() -> Value {
    let id = json!({"id": "$response.body#/id"});
    let mut links = Map::new();
    for (name, operation) in [
        ("GetRule", "get_rules__id_"),
        ("UpdateRule", "put_rules__id_"),
        ("DisableRule", "post_rules__id__disable"),
        ("EnableRule", "post_rules__id__enable"),
        ("BacktestRule", "post_rules__id__backtest"),
        ("DeleteRule", "delete_rules__id_"),
    ] {
        links.insert(
            name.to_string(),
            json!({"operationId": operation, "parameters": id}),
        );
    }
    Value::Object(links)
}

/// `auto`, every name a format is registered under, and null (`auto`).
fn format_names() -> Vec<Value> {
    std::iter::once("auto")
        .chain(
            weft_ingest::parse::FORMATS.iter().flat_map(|spec| {
                std::iter::once(spec.name).chain(spec.also_known_as.iter().copied())
            }),
        )
        .map(Value::from)
        .chain(std::iter::once(Value::Null))
        .collect()
}

/// The schemas of the rule, job and ingest routes.
pub(super) fn schemas() -> Value {
    let nullable = json!({"type": ["string", "null"]});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let run = json!({
        "type": "object",
        "required": ["run_id", "job_id", "slot_end", "from", "to", "trigger", "status", "attempt"],
        "properties": {
            "run_id": {"type": "integer"},
            "job_id": {"type": "string"},
            "first_slot_end": {"type": "integer", "description": "UTC microseconds"},
            "slot_end": {"type": "integer", "description": "UTC microseconds"},
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "trigger": {"type": "string", "enum": ["schedule", "reopen", "backfill"]},
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "gap", "filled"]},
            "attempt": {"type": "integer"},
            "events_scanned": {"type": "integer"},
            "alerts": {"type": "integer"},
            "error": nullable
        }
    });
    let alert = json!({"$ref": "#/components/schemas/StoredAlert/properties/alert"});
    json!({
        "RuleEntry": {
            "type": "object",
            "required": ["id", "title", "kind", "tags", "enabled", "source", "path", "hits"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "title": {"type": "string"},
                "kind": {"type": "string", "enum": ["sigma", "correlation", "sequence", "baseline", "sql"]},
                "level": nullable,
                "tags": strings,
                "status": nullable,
                "enabled": {"type": "boolean"},
                "source": {"type": "string", "enum": ["config", "managed"]},
                "path": {"type": "string"},
                "hits": {"type": "integer", "minimum": 0, "description": "stored alerts of this rule"},
                "schedule": {"type": "object", "properties": {"interval": {"type": "string"}, "lookback": {"type": "string"}, "delay": {"type": "string"}}},
                "last_run": {"$ref": "#/components/schemas/RunRecord"},
                "open_gaps": {"type": "integer", "minimum": 0}
            }
        },
        "RuleDetail": {
            "allOf": [{"$ref": "#/components/schemas/RuleEntry"}, {
                "type": "object",
                "required": ["yaml"],
                "properties": {"yaml": {"type": "string", "description": "the text of the file that holds the rule"}}
            }]
        },
        "RuleList": {
            "type": "object",
            "required": ["rules", "refused"],
            "properties": {
                "rules": {"type": "array", "items": {"$ref": "#/components/schemas/RuleEntry"}},
                "refused": {"type": "array", "items": {
                    "type": "object",
                    "required": ["reason"],
                    "properties": {"path": nullable, "id": nullable, "title": nullable, "reason": {"type": "string"}}
                }}
            }
        },
        "RuleBody": {
            "type": "object",
            "additionalProperties": false,
            "required": ["yaml"],
            "properties": {"yaml": {"type": "string", "minLength": 1, "pattern": "\\S", "description": "one rule document with an id, or a correlation or sequence with the rules it uses"}},
            "examples": [{"yaml": EXAMPLE_RULE}]
        },
        "RuleTestRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["events"],
            "properties": {
                "yaml": {"type": ["string", "null"], "description": "rules to try (not stored); without it (or null), the deployment's rules"},
                "rule_id": {"type": ["string", "null"], "minLength": 1, "description": "only this rule's results (by id or name); 404 when no rule has it"},
                "events": {"type": "array", "minItems": 1, "maxItems": crate::rules::trial::MAX_TEST_EVENTS, "items": {"type": ["object", "string"]}},
                "format": {"type": ["string", "null"], "enum": format_names(), "default": "auto", "description": "how to read string events (`weft formats`); JSON objects are read as JSON"}
            }
        },
        "RuleTestReport": {
            "type": "object",
            "required": ["rules", "events", "parsed", "errors", "matches", "alerts", "truncated"],
            "properties": {
                "rules": strings,
                "events": {"type": "integer"},
                "parsed": {"type": "integer"},
                "errors": {"type": "array", "items": {"type": "object", "required": ["index", "reason"], "properties": {"index": {"type": "integer"}, "reason": {"type": "string"}}}},
                "matches": {"type": "array", "items": {
                    "type": "object",
                    "required": ["rule_title", "event_index"],
                    "properties": {"rule_id": nullable, "rule_title": {"type": "string"}, "level": nullable, "event_index": {"type": "integer"}, "event_id": nullable}
                }},
                "alerts": {"type": "array", "items": alert},
                "truncated": {"type": "boolean"}
            }
        },
        "RuleBacktestRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["from", "to"],
            "properties": {
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time", "description": "after from, at most 31 days later"}
            },
            "examples": [{"from": "2026-11-23T00:00:00Z", "to": "2026-11-23T06:00:00Z"}]
        },
        "RuleBacktest": {
            "type": "object",
            "required": ["rule", "from", "to", "segments_read", "events_read", "alerts", "truncated"],
            "properties": {
                "rule": {"type": "string"},
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time"},
                "segments_read": {"type": "integer"},
                "events_read": {"type": "integer"},
                "alerts": {"type": "array", "items": alert},
                "truncated": {"type": "boolean"}
            }
        },
        "RunRecord": run,
        "RunList": {
            "type": "object",
            "required": ["runs"],
            "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/RunRecord"}}}
        },
        "GapList": {
            "type": "object",
            "required": ["jobs"],
            "properties": {"jobs": {"type": "array", "items": {
                "type": "object",
                "required": ["job_id", "gaps"],
                "properties": {"job_id": {"type": "string"}, "gaps": {"type": "array", "items": {"$ref": "#/components/schemas/RunRecord"}}}
            }}}
        }
    })
}

/// The schemas of rule hits, job status and ingest stats (a second object: one `json!` of
/// every schema is too deep for the macro).
pub(super) fn health_schemas() -> Value {
    let nullable = json!({"type": ["string", "null"]});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let counts =
        json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}});
    json!({
        "RuleHits": {
            "type": "object",
            "required": ["from", "to", "bucket_seconds", "buckets", "rules"],
            "properties": {
                "from": {"type": "string", "format": "date-time"},
                "to": {"type": "string", "format": "date-time", "description": "end of the last bucket"},
                "bucket_seconds": {"type": "integer", "minimum": 1},
                "buckets": {"type": "integer", "minimum": 1},
                "rules": {"type": "array", "description": "rules with alerts in the range, most first", "items": {
                    "type": "object",
                    "required": ["rule", "total", "counts"],
                    "properties": {
                        "rule": {"type": "string", "description": "the catalogue's id"},
                        "total": {"type": "integer", "minimum": 0},
                        "counts": {"type": "array", "items": {"type": "integer", "minimum": 0}, "description": "alerts per bucket, by window end, oldest first"}
                    }
                }}
            }
        },
        "JobStatusList": {
            "type": "object",
            "required": ["jobs"],
            "properties": {"jobs": {"type": "array", "items": {
                "type": "object",
                "required": ["job_id", "kind", "open_gaps"],
                "properties": {
                    "job_id": {"type": "string"},
                    "kind": {"type": "string", "enum": ["sql", "other"]},
                    "interval": nullable,
                    "enabled": {"type": ["boolean", "null"]},
                    "last_run": {"oneOf": [{"$ref": "#/components/schemas/RunRecord"}, {"type": "null"}]},
                    "last_success": {"oneOf": [{"$ref": "#/components/schemas/RunRecord"}, {"type": "null"}]},
                    "next_due": {"type": ["string", "null"], "format": "date-time"},
                    "open_gaps": {"type": "integer", "minimum": 0}
                }
            }}}
        },
        "IngestStats": {
            "type": "object",
            "required": ["segments", "events", "bytes", "last_5m", "last_1h", "origins", "services", "kafka", "kafka_lag", "dead_letters", "notes"],
            "properties": {
                "segments": {"type": "integer"},
                "events": {"type": "integer"},
                "bytes": {"type": "integer"},
                "newest_event": {"type": ["string", "null"], "format": "date-time"},
                "oldest_event": {"type": ["string", "null"], "format": "date-time"},
                "last_published": {"type": ["string", "null"], "format": "date-time"},
                "last_5m": {"$ref": "#/components/schemas/IngestRate"},
                "last_1h": {"$ref": "#/components/schemas/IngestRate"},
                "origins": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"origin": {"type": "string"}, "segments": {"type": "integer"}, "events": {"type": "integer"}, "last_offset": {"type": "integer"}, "last_published": nullable}
                }},
                "services_from": {"type": ["string", "null"], "format": "date-time", "description": "start of the per-minute series"},
                "services": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "service": {"type": "string"},
                        "events_last_hour": {"type": "integer"},
                        "events_last_5m": {"type": "integer"},
                        "events_per_second_last_5m": {"type": "number"},
                        "events_per_second_last_hour": {"type": "number"},
                        "per_minute": {"type": "array", "items": {"type": "integer"}, "description": "events per minute of event time over the last hour, oldest first"}
                    }
                }},
                "kafka_lag": {
                    "type": "object",
                    "description": "the lag of a Kafka worker in this process (weft run); known is false elsewhere, with a note",
                    "properties": {
                        "known": {"type": "boolean"},
                        "measured_at": {"type": ["string", "null"], "format": "date-time"},
                        "partitions": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"topic": {"type": "string"}, "partition": {"type": "integer"}, "next_offset": {"type": "integer"}, "high_watermark": {"type": "integer"}, "lag": {"type": "integer"}}
                        }}
                    }
                },
                "kafka": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"topic": {"type": "string"}, "partition": {"type": "integer"}, "next_offset": {"type": "integer"}}
                }},
                "dead_letters": {
                    "type": "object",
                    "properties": {"total": {"type": "integer"}, "by_reason": counts, "by_origin": counts, "unreadable": {"type": "integer"}}
                },
                "notes": strings
            }
        },
        "IngestRate": {
            "type": "object",
            "properties": {"seconds": {"type": "integer"}, "events": {"type": "integer"}, "events_per_second": {"type": "number"}}
        }
    })
}
