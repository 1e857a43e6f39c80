//! The layers around every handler.
//!
//! `edge` (outermost, every request, routed or not): the per-address rate limit, secure
//! headers, metrics and the audit record. `authorize` (after routing): looks the route up in
//! the route table, authenticates the bearer token (weft's own, or an OIDC JWT), checks the
//! role, applies the per-token rate limit. Deny by default: a request reaches a handler only
//! through a table row that admits it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::json::BodyLimit;
use super::routes::{RouteSpec, lookup};
use crate::audit::AuditRecord;
use crate::auth::{Access, Principal};
use crate::error::ApiError;

/// The route label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";
/// Longest path kept in an audit record.
const MAX_AUDIT_PATH: usize = 512;

/// Set on a response by `authorize`: which table row answered and who called.
#[derive(Debug, Clone)]
struct Answered {
    route: &'static str,
    principal: Option<Principal>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

fn with_answered(mut response: Response, answered: Answered) -> Response {
    response.extensions_mut().insert(answered);
    response
}

/// Authentication and authorization against the route table.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    let spec: Option<&'static RouteSpec> = matched
        .as_deref()
        .and_then(|path| lookup(request.method().as_str(), path));
    let Some(spec) = spec else {
        // The path exists with other methods: the router answers 405 and runs no handler.
        return next.run(request).await;
    };
    let route = spec.path;
    let public_metrics = route == "/metrics" && state.config().public_metrics;
    let required = match spec.access {
        Access::Role(required) if !public_metrics => required,
        _ => {
            let response = next.run(request).await;
            return with_answered(
                response,
                Answered {
                    route,
                    principal: None,
                },
            );
        }
    };
    let principal = match bearer(request.headers()) {
        Some(token) => state.auth().authenticate(token).await,
        None => None,
    };
    let Some(principal) = principal else {
        state
            .metrics()
            .auth_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return with_answered(
            ApiError::Unauthenticated.into_response(),
            Answered {
                route,
                principal: None,
            },
        );
    };
    let answered = Answered {
        route,
        principal: Some(principal.clone()),
    };
    if !principal.role.satisfies(required) {
        let error = ApiError::Forbidden {
            required: required.as_str(),
            actual: principal.role.as_str(),
        };
        return with_answered(error.into_response(), answered);
    }
    if let Err(retry_after) = state.rate_limits().check_token(&principal.token_id) {
        state
            .metrics()
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return with_answered(
            ApiError::RateLimited { retry_after }.into_response(),
            answered,
        );
    }
    request.extensions_mut().insert(principal);
    with_answered(next.run(request).await, answered)
}

/// Reads a request's body within `timeout` (a client that trickles it gets 408 and the
/// connection is closed) and at most `limit` bytes of it (413), before any handler runs.
async fn receive_body(
    request: Request,
    limit: usize,
    timeout: Duration,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    if axum::body::HttpBody::is_end_stream(&body) {
        return Ok(Request::from_parts(parts, body));
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Ok(Err(error)) => {
            let too_large = error
                .into_inner()
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            Err(if too_large {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::BadRequest("the request body could not be read".to_string())
            }
            .into_response())
        }
        Err(_) => {
            let mut response = ApiError::SlowBody { limit: timeout }.into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            Err(response)
        }
    }
}

/// Rate limit per address, secure headers, metrics and audit, around every request.
pub async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let time = chrono::Utc::now().timestamp_micros();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address);
    let method = request.method().as_str().to_string();
    let mut path = request.uri().path().to_string();
    if path.len() > MAX_AUDIT_PATH {
        let mut cut = MAX_AUDIT_PATH;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
    }
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(256).collect::<String>());
    let client_ip = client.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |address| address.ip());

    let mut response = match state.rate_limits().check_address(client_ip) {
        Err(retry_after) => {
            state
                .metrics()
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::RateLimited { retry_after }.into_response()
        }
        Ok(()) => {
            let limit = state.config().max_body_bytes;
            request.extensions_mut().insert(BodyLimit(limit));
            match receive_body(request, limit, state.config().client_timeout).await {
                Ok(request) => next.run(request).await,
                Err(refused) => refused,
            }
        }
    };

    secure_headers(response.headers_mut(), state.config().tls);
    let answered = response.extensions_mut().remove::<Answered>();
    let route = answered
        .as_ref()
        .map_or(UNMATCHED, |answered| answered.route);
    let principal = answered.and_then(|answered| answered.principal);
    let status = response.status().as_u16();
    let method_label = match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    state.metrics().request(method_label, route, status);
    let duration_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.audit().record(AuditRecord {
        time,
        user: principal.as_ref().map_or_else(
            || "anonymous".to_string(),
            |principal| principal.name.clone(),
        ),
        token_id: principal
            .as_ref()
            .map(|principal| principal.token_id.clone()),
        role: principal.as_ref().map(|principal| principal.role.as_str()),
        method,
        route,
        path,
        status,
        duration_micros,
        client_ip: client.map(|address| address.ip().to_string()),
        client_port: client.map(|address| address.port()),
        user_agent,
    });
    response
}

/// Headers on every answer: no sniffing, no framing, no caching of data, a CSP that allows
/// nothing unless the handler set one (only the UI's pages do), and HSTS when served over TLS.
fn secure_headers(headers: &mut HeaderMap, tls: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A handler that serves a page (the UI) sets its own, narrower-than-the-web policy.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}
