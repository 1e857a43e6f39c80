//! The query API through its router (no socket), and over TLS end to end.

mod audit;
mod common;
mod dashboards;
mod events;
mod incident_search;
mod incidents;
mod ingest;
mod input;
mod jobs;
mod oidc;
mod routes;
mod rule_hits;
mod rules;
mod slow_clients;
mod sql;
mod timeline;
mod tls;
mod ui;
