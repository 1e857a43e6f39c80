//! weft's query side: readers of the event store and the authenticated HTTP API analysts use.
//!
//! Place in the data flow: `ingest` writes Parquet segments and their search indexes; this
//! crate reads them with DataFusion ([`sql`]) and tantivy ([`search`]) and serves them over
//! HTTP ([`api`], [`serve`]). It reads the incidents and alerts that weft-correlate's detector
//! writes to the detection store, records analysts' changes to them there, and keeps a search
//! index over them ([`incidents`]). The only events it writes are its own audit trail
//! ([`audit`]): one `api_activity` event of service `weft` per request, through weft-ingest's
//! event store. It also manages the rules created through the API in `<data_dir>/rules/`
//! ([`rules`], which `weft run` picks up without a restart) and reports ingest health from
//! the manifest and the dead letters ([`ingest_stats`]).
//!
//! Invariants:
//! - every route is listed in one table ([`api::routes::ROUTES`]) with its minimum role, and a
//!   request reaches a handler only through a row that admits it (deny by default);
//! - tokens are stored only as SHA-256 hashes ([`auth::token`]); OpenID Connect JWTs are
//!   accepted only when `[api.oidc]` is configured, signed by a key of its key set with an
//!   asymmetric algorithm, and carrying a claim that grants a weft role ([`auth::jwt`]);
//! - SQL is one read-only query with a timeout, a memory pool and a row limit;
//! - event search reads only the indexes of segments in its time range, and from Parquet only
//!   the rows it returns;
//! - every error is a JSON problem document with a fixed status; internal causes go to the
//!   log, never to the caller.

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod incidents;
pub mod ingest_stats;
pub mod jobs;
pub mod metrics;
pub mod panels;
pub mod ratelimit;
pub mod rules;
pub mod search;
pub mod serve;
pub mod sql;
pub mod sql_admission;

pub use api::{ApiConfig, AppState, StartError, app};
pub use auth::{Role, create_token, list_tokens, revoke_token};
pub use config::ApiSection;
pub use error::ApiError;
pub use serve::{ServeConfig, ServeError, serve};

/// The schema version of the event store this crate reads.
pub const EVENT_SCHEMA_VERSION: &str = weft_correlate::EVENT_SCHEMA_VERSION;
