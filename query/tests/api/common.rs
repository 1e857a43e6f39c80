//! Shared fixtures: a data directory with one token per role, events written through
//! weft-ingest's store, and a helper that sends one request through the router (no socket).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;
use weft_ingest::batch::RecordMeta;
use weft_ingest::event::{Class, Event, Outcome};
use weft_ingest::store::{EventStore, FlushPolicy};
use weft_query::api::{ApiConfig, AppState, app};
use weft_query::auth::{Role, create_token};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub app: Router,
    pub tokens: HashMap<Role, String>,
}

impl Fixture {
    pub fn new() -> anyhow::Result<Fixture> {
        Fixture::with_config(ApiConfig::default(), |_| Ok(()))
    }

    /// A fixture whose data directory is prepared by `prepare` before the API opens it.
    pub fn with_config(
        config: ApiConfig,
        prepare: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<Fixture> {
        let dir = tempfile::tempdir()?;
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let token = create_token(dir.path(), &format!("{role}-user"), role)?;
            tokens.insert(role, token.secret);
        }
        prepare(dir.path())?;
        let state = AppState::open(dir.path(), config)?;
        let app = app(state.clone());
        Ok(Fixture {
            dir,
            state,
            app,
            tokens,
        })
    }

    pub fn token(&self, role: Role) -> &str {
        self.tokens.get(&role).map_or("", String::as_str)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("GET", path, token, None, None).await
    }

    pub async fn sql(&self, token: &str, query: &str) -> Reply {
        let body = serde_json::json!({ "query": query }).to_string();
        self.send("POST", "/api/v1/sql", Some(token), Some(&body), None)
            .await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        client: Option<SocketAddr>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let mut request = request
            .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
            .expect("test requests are well formed");
        request.extensions_mut().insert(ConnectInfo(
            client.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 40_000))),
        ));
        self.request(request).await
    }

    pub async fn request(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("bodies are readable")
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts an error answer: the status, and a JSON problem document saying the same.
    pub fn assert_problem(&self, status: StatusCode) {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem = self.json();
        assert_eq!(problem["status"], status.as_u16());
        assert!(problem["type"].is_string());
        assert!(problem["detail"].is_string());
    }
}

/// One test event.
pub struct TestEvent {
    pub time: &'static str,
    pub service: &'static str,
    pub class: Class,
    pub user: &'static str,
    pub outcome: Outcome,
    pub message: &'static str,
}

pub fn micros(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .expect("test times are RFC 3339")
        .timestamp_micros()
}

/// Writes `events` through weft-ingest's event store, as `weft ingest` would.
pub fn write_events(data_dir: &Path, events: &[TestEvent]) -> anyhow::Result<()> {
    let mut store = EventStore::open(data_dir, FlushPolicy::default())?;
    for (offset, test) in events.iter().enumerate() {
        let mut event = Event::new("json");
        event.time = Some(micros(test.time));
        event.class = test.class;
        event.user = Some(Cow::Borrowed(test.user));
        event.outcome = Some(test.outcome);
        event.message = Some(Cow::Borrowed(test.message));
        let event_id = weft_ingest::id::event_id("test", offset as u64, 0);
        let meta = RecordMeta {
            ingest_time: micros(test.time),
            event_id: &event_id,
            service: test.service,
            raw: test.message,
            not_utf8: false,
        };
        store.append(&event, &meta, "test", offset as u64)?;
    }
    store.flush()?;
    Ok(())
}

/// A small platform's day: logins at the gateway, an auth service, a pod exec; two dates.
pub fn platform_events() -> Vec<TestEvent> {
    let event = |time, service, class, user, outcome, message| TestEvent {
        time,
        service,
        class,
        user,
        outcome,
        message,
    };
    vec![
        event(
            "2026-11-22T23:10:00Z",
            "gateway",
            Class::Authentication,
            "alice",
            Outcome::Success,
            "login ok",
        ),
        event(
            "2026-11-23T09:00:01Z",
            "gateway",
            Class::Authentication,
            "mallory",
            Outcome::Failure,
            "failed password",
        ),
        event(
            "2026-11-23T09:00:02Z",
            "gateway",
            Class::Authentication,
            "mallory",
            Outcome::Failure,
            "failed password",
        ),
        event(
            "2026-11-23T09:00:03Z",
            "gateway",
            Class::Authentication,
            "mallory",
            Outcome::Failure,
            "failed password",
        ),
        event(
            "2026-11-23T09:05:00Z",
            "auth",
            Class::Authentication,
            "mallory",
            Outcome::Success,
            "token issued",
        ),
        event(
            "2026-11-23T10:15:00Z",
            "k8s",
            Class::ProcessActivity,
            "mallory",
            Outcome::Success,
            "exec /bin/sh",
        ),
        event(
            "2026-11-23T10:20:00Z",
            "auth",
            Class::AccountChange,
            "bob",
            Outcome::Success,
            "password changed",
        ),
    ]
}
