//! The query API through its router (no socket), and over TLS end to end.

mod audit;
mod common;
mod events;
mod incident_search;
mod incidents;
mod input;
mod routes;
mod sql;
mod timeline;
mod tls;
