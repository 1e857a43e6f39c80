//! The HTTP API: [`app`] builds the axum router from the route table ([`routes::ROUTES`]),
//! wrapped in the authorization and edge layers ([`middleware`]).

pub mod alerts;
pub mod dashboards;
pub mod events;
pub mod handlers;
pub mod incidents;
pub mod ingest;
pub mod jobs;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod rule_hits;
pub mod rules;
pub mod timeline;
pub mod ui;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use weft_ingest::source::lag::ConsumerLag;

use crate::audit::{AuditConfig, AuditError, AuditLog};
use crate::auth::jwt::JwksError;
use crate::auth::{Authenticator, JwtVerifier, OidcSettings, TokenError, TokenVerifier};
use crate::incidents::Incidents;
use crate::ingest_stats::DeadLetterTally;
use crate::metrics::Metrics;
use crate::ratelimit::{RateLimitConfig, RateLimits};
use crate::search::EventSearch;
use crate::sql::{SqlEngine, SqlLimits};
use crate::sql_admission::{SqlAdmission, SqlAdmissionConfig};

/// The API's limits and switches.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    pub rate_limits: RateLimitConfig,
    pub sql: SqlLimits,
    /// How many SQL queries run at once and wait (`[api.sql]`); more are answered 429.
    pub sql_admission: SqlAdmissionConfig,
    pub audit: AuditConfig,
    /// The API is served over TLS (adds HSTS).
    pub tls: bool,
    /// The configured rule files and directories (`[detect] rules`): read-only through the
    /// API, which manages its own rules in `<data_dir>/rules/`.
    pub rules: Vec<PathBuf>,
    /// Extra Sigma field mappings (`[detect] mapping`).
    pub mapping: Vec<PathBuf>,
    /// Values of Sigma placeholders (`[detect] placeholders`).
    pub placeholders: Option<PathBuf>,
    /// The consumer lag of a Kafka worker running in the same process (`weft run`), shown
    /// in the ingest stats; `None` where the API runs on its own (`weft serve`).
    pub consumer_lag: Option<ConsumerLag>,
    /// The counters of the store's replication to object storage running in the same process
    /// (`weft run` with `[store] remote`), exported at `/metrics`.
    pub replication: Option<std::sync::Arc<weft_ingest::store::remote::ReplicationStats>>,
    /// OpenID Connect bearer tokens (`[api.oidc]`); `None`: only weft's own tokens.
    pub oidc: Option<OidcSettings>,
    /// `/metrics` answers without a token (`[api] public_metrics`), for a scraper inside the
    /// cluster; off by default.
    pub public_metrics: bool,
    /// How long a client may take to send a request's headers (then the connection is
    /// closed), and again its body (then 408): slow clients cannot hold connections open.
    pub client_timeout: Duration,
}

/// [`ApiConfig::client_timeout`] unless configured (`[api] client_timeout_secs`).
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 256 * 1024,
            rate_limits: RateLimitConfig::default(),
            sql: SqlLimits::default(),
            sql_admission: SqlAdmissionConfig::default(),
            audit: AuditConfig::default(),
            tls: false,
            public_metrics: false,
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
            rules: Vec::new(),
            mapping: Vec::new(),
            placeholders: None,
            consumer_lag: None,
            replication: None,
            oidc: None,
        }
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("reading the API tokens: {0}")]
    Tokens(#[from] TokenError),
    #[error("[api.oidc]: {0}")]
    Oidc(#[from] JwksError),
    #[error("opening the events directory under {path}: {error}")]
    Events {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("opening the incident store: {0}")]
    Incidents(#[from] weft_correlate::incident::IncidentError),
}

#[derive(Debug)]
struct Inner {
    data_dir: PathBuf,
    config: ApiConfig,
    auth: Authenticator,
    sql: SqlEngine,
    sql_admission: SqlAdmission,
    search: EventSearch,
    incidents: Incidents,
    rate_limits: RateLimits,
    audit: AuditLog,
    metrics: Arc<Metrics>,
    dead_letters: Mutex<DeadLetterTally>,
}

/// Everything the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// Opens the API's view of `data_dir`: its tokens (and the OIDC key set, when configured:
    /// a key set file that cannot be read stops the start), its event store (for SQL, search, and
    /// the audit trail, whose writer thread starts here; opening the store for it also
    /// rebuilds any missing search index, see `weft_ingest::store::recover`), and its
    /// detection store (incidents and alerts; created empty if the detector has not run yet).
    pub fn open(data_dir: &Path, config: ApiConfig) -> Result<AppState, StartError> {
        let tokens = TokenVerifier::open(data_dir)?;
        let jwt = config.oidc.clone().map(JwtVerifier::start).transpose()?;
        let sql = SqlEngine::new(data_dir, config.sql).map_err(|error| StartError::Events {
            path: data_dir.to_path_buf(),
            error,
        })?;
        let incidents = Incidents::open(data_dir)?;
        let metrics = Arc::new(Metrics::default());
        let audit = AuditLog::start(data_dir, config.audit, metrics.clone())?;
        let rate_limits = RateLimits::new(config.rate_limits);
        let sql_admission = SqlAdmission::new(config.sql_admission);
        Ok(AppState {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                config,
                auth: Authenticator::new(tokens, jwt),
                sql,
                sql_admission,
                search: EventSearch::new(data_dir),
                incidents,
                rate_limits,
                audit,
                metrics,
                dead_letters: Mutex::new(DeadLetterTally::default()),
            }),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// weft's tokens and, when configured, the OIDC verifier.
    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    pub fn tokens(&self) -> &TokenVerifier {
        self.inner.auth.tokens()
    }

    pub fn sql(&self) -> &SqlEngine {
        &self.inner.sql
    }

    pub fn search(&self) -> &EventSearch {
        &self.inner.search
    }

    /// Incidents and alerts in the detection store, and their search index.
    pub fn incidents(&self) -> &Incidents {
        &self.inner.incidents
    }

    /// The slots API queries take before they run.
    pub fn sql_admission(&self) -> &SqlAdmission {
        &self.inner.sql_admission
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Dead letters counted so far, per file (read on from where the last count stopped).
    pub fn dead_letters(&self) -> MutexGuard<'_, DeadLetterTally> {
        self.inner
            .dead_letters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The API's router: every route of [`routes::ROUTES`] behind authorization, plus JSON 404
/// and 405 answers, all behind the edge layer (rate limit per address, headers, metrics,
/// audit) and the body limit.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in routes::ROUTES {
        router = router.route(spec.path, routes::handler(spec));
    }
    router
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authorize,
        ))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::edge,
        ))
        .with_state(state)
}
