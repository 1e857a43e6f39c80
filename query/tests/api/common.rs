//! Shared fixtures: a data directory with one token per role, events written through
//! weft-ingest's store, incidents recorded through weft-correlate's incident store, and a
//! helper that sends one request through the router (no socket).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;
use weft_correlate::correlation::Alert;
use weft_correlate::correlation::alert::alert_id;
use weft_correlate::incident::{IncidentConfig, IncidentStore, RecordOutcome};
use weft_correlate::record::{AlertRecord, AlertSource, Entity};
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

/// Processing time of seeded incidents: 2026-11-23T12:00:00Z.
pub const INCIDENT_NOW: i64 = 1_795_435_200_000_000;
const MINUTE: i64 = 60_000_000;

/// An alert for [`record_alerts`]: `name` makes its id, `minute` its window end (minutes
/// after 2026-11-23T09:00:00Z).
pub struct TestAlert {
    pub alert: Alert,
    pub entities: Vec<Entity>,
    pub services: Vec<String>,
}

pub fn test_alert(name: &str, rule: &str, title: &str, minute: i64) -> TestAlert {
    let end = micros("2026-11-23T09:00:00Z") + minute * MINUTE;
    TestAlert {
        alert: Alert {
            alert_id: alert_id(rule, name, name),
            rule_id: Some(format!("{rule}-id")),
            rule_name: rule.to_string(),
            title: title.to_string(),
            level: Some("medium".to_string()),
            tags: Vec::new(),
            author: None,
            correlation_type: "event_count".to_string(),
            group: BTreeMap::new(),
            window_start: end - MINUTE,
            window_end: end,
            event_ids: vec![format!("{name}-e1"), format!("{name}-e2")],
            event_count: 2,
        },
        entities: Vec::new(),
        services: Vec::new(),
    }
}

impl TestAlert {
    pub fn entity(mut self, kind: &str, value: &str) -> TestAlert {
        self.entities.push(Entity::new(kind, value));
        self
    }
    pub fn service(mut self, service: &str) -> TestAlert {
        self.services.push(service.to_string());
        self
    }
    pub fn level(mut self, level: &str) -> TestAlert {
        self.alert.level = Some(level.to_string());
        self
    }
    pub fn tags(mut self, tags: &[&str]) -> TestAlert {
        self.alert.tags = tags.iter().map(|tag| tag.to_string()).collect();
        self
    }
    pub fn build(self) -> AlertRecord {
        AlertRecord::new(
            self.alert,
            self.entities,
            self.services,
            AlertSource::Stream,
        )
    }
}

/// Records `alerts` in the detection store of `data_dir`, as the detector would.
pub fn record_alerts(
    data_dir: &Path,
    alerts: Vec<TestAlert>,
    now: i64,
) -> anyhow::Result<RecordOutcome> {
    let mut store = IncidentStore::open(data_dir, &IncidentConfig::default())?;
    let records: Vec<AlertRecord> = alerts.into_iter().map(TestAlert::build).collect();
    Ok(store.record(&records, now)?)
}

/// The ids of the incidents [`seed_incidents`] creates.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// High: a password spray on the gateway and a token reuse in auth, sharing an address;
    /// user alice; credential access. Created first, last seen at minute 10.
    pub spray: String,
    /// Low: a port scan at the edge. Created second, last seen at minute 30.
    pub scan: String,
    /// Medium: a shell in a pod; user bob. Created third, last seen at minute 20.
    pub shell: String,
}

/// Three unrelated incidents, recorded one after the other.
pub fn seed_incidents(data_dir: &Path) -> anyhow::Result<Seeded> {
    let spray = record_alerts(
        data_dir,
        vec![
            test_alert(
                "spray",
                "password_spray",
                "Password spray on the gateway",
                5,
            )
            .entity("user", "alice")
            .entity("src_ip", "203.0.113.7")
            .service("gateway")
            .level("high")
            .tags(&["attack.credential_access", "attack.t1110.003"]),
            test_alert("reuse", "token_reuse", "Session token reused", 10)
                .entity("src_ip", "203.0.113.7")
                .entity("session_id", "s-42")
                .service("auth"),
        ],
        INCIDENT_NOW,
    )?;
    let scan = record_alerts(
        data_dir,
        vec![
            test_alert("scan", "port_scan", "Port scan from one address", 30)
                .entity("src_ip", "198.51.100.20")
                .service("edge")
                .level("low"),
        ],
        INCIDENT_NOW + 1,
    )?;
    let shell = record_alerts(
        data_dir,
        vec![
            test_alert("shell", "shell_in_pod", "Interactive shell in a pod", 20)
                .entity("user", "bob")
                .entity("host", "web-1")
                .service("k8s"),
        ],
        INCIDENT_NOW + 2,
    )?;
    let first = |outcome: RecordOutcome| {
        outcome
            .created
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the seed alerts create an incident"))
    };
    Ok(Seeded {
        spray: first(spray)?,
        scan: first(scan)?,
        shell: first(shell)?,
    })
}
