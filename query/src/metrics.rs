//! The API's counters, exported at `/metrics` in the Prometheus text format. Labels are
//! bounded: a route label is a pattern from the route table (or `unmatched`), never a raw path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every counter of the API.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>,
    pub auth_failures: AtomicU64,
    pub rate_limited: AtomicU64,
    pub sql_queries: AtomicU64,
    pub sql_refused_busy: AtomicU64,
    pub audit_events: AtomicU64,
    pub audit_write_failures: AtomicU64,
    pub audit_dropped: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &'static str, route: &'static str, status: u16) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *requests.entry((method, route, status)).or_default() += 1;
    }

    /// The requests answered so far for `route` with `status`.
    pub fn requests_for(&self, route: &str, status: u16) -> u64 {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        requests
            .iter()
            .filter(|((_, r, s), _)| *r == route && *s == status)
            .map(|(_, count)| count)
            .sum()
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP weft_api_requests_total API requests answered, by method, route and status."
        );
        let _ = writeln!(out, "# TYPE weft_api_requests_total counter");
        {
            let requests = self
                .requests
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "weft_api_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        let counters: [(&str, &str, &AtomicU64); 7] = [
            (
                "weft_api_auth_failures_total",
                "Requests refused for a missing or unknown token.",
                &self.auth_failures,
            ),
            (
                "weft_api_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
            (
                "weft_sql_queries_total",
                "SQL queries received.",
                &self.sql_queries,
            ),
            (
                "weft_sql_queries_refused_busy_total",
                "SQL queries answered 429 because the running and waiting places were full.",
                &self.sql_refused_busy,
            ),
            (
                "weft_audit_events_total",
                "Audit events written to the store.",
                &self.audit_events,
            ),
            (
                "weft_audit_write_failures_total",
                "Failed attempts to write audit events to the store.",
                &self.audit_write_failures,
            ),
            (
                "weft_audit_dropped_total",
                "Audit events lost because the audit writer was stopped or overloaded.",
                &self.audit_dropped,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        out
    }
}
