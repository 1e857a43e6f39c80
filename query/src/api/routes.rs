//! The one table of routes: each route's method, path and minimum role. The router is built
//! from this table alone, and the authorization layer looks every request up in it, so a route
//! cannot exist without an entry, and an entry cannot be bypassed.

use axum::routing::{MethodRouter, any, delete, get, post, put};

use super::AppState;
use super::{
    alerts, dashboards, events, handlers, incidents, ingest, jobs, rule_hits, rules, timeline, ui,
};
use crate::auth::{Access, Role};

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// Whether requests of this method carry a JSON body.
    pub fn has_body(self) -> bool {
        matches!(self, HttpMethod::Post | HttpMethod::Put)
    }
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: HttpMethod,
    /// The path pattern, as axum matches it.
    pub path: &'static str,
    pub access: Access,
    /// What the route is for (documentation).
    pub summary: &'static str,
}

/// Every route of the API and who may call it.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: HttpMethod::Get,
        path: "/healthz",
        access: Access::Public,
        summary: "liveness: the process answers",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/readyz",
        access: Access::Public,
        summary: "readiness: the store is readable and the audit trail is being written",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/",
        access: Access::Public,
        summary: "the analyst UI's entry page (holds no data; the page asks the API with the analyst's token)",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/ui/{*path}",
        access: Access::Public,
        summary: "the analyst UI's scripts, styles and images, compiled into weft",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/openapi.json",
        access: Access::Role(Role::Viewer),
        summary: "this API's OpenAPI 3.1 document, generated from the route table",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/metrics",
        access: Access::Role(Role::Viewer),
        summary: "counters in the Prometheus text format",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/whoami",
        access: Access::Role(Role::Viewer),
        summary: "the caller's token name and role",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/events/search",
        access: Access::Role(Role::Viewer),
        summary: "search events (tantivy query syntax, time range), newest first, one page at a time",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/events/histogram",
        access: Access::Role(Role::Viewer),
        summary: "how many events match a search, per time bucket",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/events/{event_id}",
        access: Access::Role(Role::Viewer),
        summary: "one event by its id, with its raw record",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/sql",
        access: Access::Role(Role::Analyst),
        summary: "run one read-only SQL query on the events table",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/incidents",
        access: Access::Role(Role::Viewer),
        summary: "list incidents: filters, full-text search (`q`), sort and page",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/incidents/counts",
        access: Access::Role(Role::Viewer),
        summary: "how many incidents match the list's filters, per status and per severity",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/incidents/{id}",
        access: Access::Role(Role::Viewer),
        summary: "one incident in full: alerts, entities, evidence, comments, history",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/incidents/{id}/timeline",
        access: Access::Role(Role::Viewer),
        summary: "an incident's evidence events across services, in event time, with the alerts linking them",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/incidents/{id}/status",
        access: Access::Role(Role::Analyst),
        summary: "change an incident's status (open, acknowledged, closed), with an optional note",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/incidents/{id}/assign",
        access: Access::Role(Role::Analyst),
        summary: "assign an incident to an analyst, or unassign it",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/incidents/{id}/comments",
        access: Access::Role(Role::Analyst),
        summary: "comment on an incident",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/alerts",
        access: Access::Role(Role::Viewer),
        summary: "list stored alerts, newest first, with filters",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/dashboards",
        access: Access::Role(Role::Viewer),
        summary: "the dashboards: shipped and users' definitions, and files refused with the reason",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/dashboards/{id}",
        access: Access::Role(Role::Viewer),
        summary: "one dashboard's definition: its panels, each a query and a visualization",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/dashboards/{id}/panels/{panel}",
        access: Access::Role(Role::Viewer),
        summary: "run one panel's query over a time range: columns and rows to draw",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/rules",
        access: Access::Role(Role::Viewer),
        summary: "the rule catalogue: every rule the detector loads, with state and hits, and refused documents",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/rules/hits",
        access: Access::Role(Role::Viewer),
        summary: "stored alerts per rule per time bucket, for every rule in one call",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/rules/{id}",
        access: Access::Role(Role::Viewer),
        summary: "one rule with its YAML",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/rules",
        access: Access::Role(Role::Admin),
        summary: "create a managed rule from YAML, validated like `weft rules check`",
    },
    RouteSpec {
        method: HttpMethod::Put,
        path: "/api/v1/rules/{id}",
        access: Access::Role(Role::Admin),
        summary: "replace a managed rule",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/rules/{id}/enable",
        access: Access::Role(Role::Admin),
        summary: "enable a rule",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/rules/{id}/disable",
        access: Access::Role(Role::Admin),
        summary: "disable a rule: the detector skips it (and correlations that use it)",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/rules/test",
        access: Access::Role(Role::Analyst),
        summary: "run rules over posted events: matches per event, correlation alerts, parse errors",
    },
    RouteSpec {
        method: HttpMethod::Post,
        path: "/api/v1/rules/{id}/backtest",
        access: Access::Role(Role::Analyst),
        summary: "replay stored events of a time range through a rule and list its alerts",
    },
    RouteSpec {
        method: HttpMethod::Delete,
        path: "/api/v1/rules/{id}",
        access: Access::Role(Role::Admin),
        summary: "delete a managed rule",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/jobs",
        access: Access::Role(Role::Viewer),
        summary: "runs of scheduled detection jobs, newest first",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/jobs/gaps",
        access: Access::Role(Role::Viewer),
        summary: "open gaps of every scheduled job",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/jobs/status",
        access: Access::Role(Role::Viewer),
        summary: "per scheduled job: latest run, latest success, next due slot, open gaps",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/ingest/stats",
        access: Access::Role(Role::Viewer),
        summary: "ingest health: events, segments, freshness, rates, dead letters, Kafka offsets",
    },
    RouteSpec {
        method: HttpMethod::Get,
        path: "/api/v1/tokens",
        access: Access::Role(Role::Admin),
        summary: "list API tokens (never their secrets)",
    },
];

/// The table row for a request, if any.
pub fn lookup(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES
        .iter()
        .find(|spec| spec.path == path && spec.method.as_str() == method)
}

/// The handler of a table row. A new route is a new row plus one arm here.
pub(super) fn handler(spec: &RouteSpec) -> MethodRouter<AppState> {
    match (spec.method, spec.path) {
        (HttpMethod::Get, "/healthz") => get(handlers::healthz),
        (HttpMethod::Get, "/readyz") => get(handlers::readyz),
        (HttpMethod::Get, "/") => get(ui::index),
        (HttpMethod::Get, "/ui/{*path}") => get(ui::asset),
        (HttpMethod::Get, "/metrics") => get(handlers::metrics),
        (HttpMethod::Get, "/api/v1/openapi.json") => get(handlers::openapi),
        (HttpMethod::Get, "/api/v1/whoami") => get(handlers::whoami),
        (HttpMethod::Get, "/api/v1/events/search") => get(events::search),
        (HttpMethod::Get, "/api/v1/events/histogram") => get(events::histogram),
        (HttpMethod::Get, "/api/v1/events/{event_id}") => get(events::event),
        (HttpMethod::Post, "/api/v1/sql") => post(handlers::sql),
        (HttpMethod::Get, "/api/v1/tokens") => get(handlers::tokens),
        (HttpMethod::Get, "/api/v1/incidents") => get(incidents::list),
        (HttpMethod::Get, "/api/v1/incidents/counts") => get(incidents::counts),
        (HttpMethod::Get, "/api/v1/incidents/{id}/timeline") => get(timeline::timeline),
        (HttpMethod::Get, "/api/v1/incidents/{id}") => get(incidents::detail),
        (HttpMethod::Post, "/api/v1/incidents/{id}/status") => post(incidents::status),
        (HttpMethod::Post, "/api/v1/incidents/{id}/assign") => post(incidents::assign),
        (HttpMethod::Post, "/api/v1/incidents/{id}/comments") => post(incidents::comment),
        (HttpMethod::Get, "/api/v1/alerts") => get(alerts::list),
        (HttpMethod::Get, "/api/v1/dashboards") => get(dashboards::list),
        (HttpMethod::Get, "/api/v1/dashboards/{id}") => get(dashboards::detail),
        (HttpMethod::Get, "/api/v1/dashboards/{id}/panels/{panel}") => get(dashboards::panel),
        (HttpMethod::Get, "/api/v1/rules") => get(rules::list),
        (HttpMethod::Get, "/api/v1/rules/hits") => get(rule_hits::hits),
        (HttpMethod::Get, "/api/v1/rules/{id}") => get(rules::detail),
        (HttpMethod::Post, "/api/v1/rules") => post(rules::create),
        (HttpMethod::Put, "/api/v1/rules/{id}") => put(rules::update),
        (HttpMethod::Delete, "/api/v1/rules/{id}") => delete(rules::delete),
        (HttpMethod::Post, "/api/v1/rules/{id}/enable") => post(rules::enable),
        (HttpMethod::Post, "/api/v1/rules/{id}/disable") => post(rules::disable),
        (HttpMethod::Post, "/api/v1/rules/test") => post(rules::test),
        (HttpMethod::Post, "/api/v1/rules/{id}/backtest") => post(rules::backtest),
        (HttpMethod::Get, "/api/v1/jobs") => get(jobs::runs),
        (HttpMethod::Get, "/api/v1/jobs/gaps") => get(jobs::gaps),
        (HttpMethod::Get, "/api/v1/jobs/status") => get(jobs::status),
        (HttpMethod::Get, "/api/v1/ingest/stats") => get(ingest::stats),
        // A row without a handler answers 404 rather than panicking at start; the router
        // tests walk every row and would catch it.
        _ => any(handlers::unrouted),
    }
}
