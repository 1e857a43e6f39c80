//! How many SQL queries the API runs at once. A query holds a core and up to its memory limit
//! for seconds; past a few at a time, queries only queue behind each other and every analyst
//! waits longer (at 100 concurrent clients, unlimited, p99 reached 10 s). So `running` queries
//! run, `waiting` more wait for a slot, and the next is answered 429 with `Retry-After` at once
//! instead of joining a queue it would time out in. Scheduled detection jobs do not pass
//! through here: they run on their own schedule, never refused.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// What a refused client is told to wait before retrying.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// `[api.sql]` in `weft.toml`: how many API queries run at once and how many wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlAdmissionConfig {
    /// Queries running at once; default: the machine's cores.
    #[serde(default = "default_running")]
    pub running: NonZeroUsize,
    /// Queries waiting for a slot; more are answered 429. Default: twice `running`.
    pub waiting: Option<usize>,
}

fn default_running() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

impl Default for SqlAdmissionConfig {
    fn default() -> Self {
        SqlAdmissionConfig {
            running: default_running(),
            waiting: None,
        }
    }
}

impl SqlAdmissionConfig {
    pub fn waiting(&self) -> usize {
        self.waiting.unwrap_or(self.running.get() * 2)
    }
}

/// The API's SQL slots, shared by every request.
#[derive(Debug)]
pub struct SqlAdmission {
    config: SqlAdmissionConfig,
    /// One permit per query running.
    running: Arc<Semaphore>,
    /// One permit per query running or waiting.
    admitted: Arc<Semaphore>,
}

/// A query's place: it runs while this is held.
#[derive(Debug)]
pub struct SqlTicket {
    _running: OwnedSemaphorePermit,
    _admitted: OwnedSemaphorePermit,
}

impl SqlAdmission {
    pub fn new(config: SqlAdmissionConfig) -> SqlAdmission {
        SqlAdmission {
            config,
            running: Arc::new(Semaphore::new(config.running.get())),
            admitted: Arc::new(Semaphore::new(config.running.get() + config.waiting())),
        }
    }

    pub fn config(&self) -> SqlAdmissionConfig {
        self.config
    }

    /// A slot for one query, after waiting for one if all are taken; [`ApiError::Busy`] at
    /// once when the waiting places are full too.
    pub async fn admit(&self) -> Result<SqlTicket, ApiError> {
        let busy = || ApiError::Busy {
            what: format!(
                "{} SQL queries are running and {} waiting, the most this server takes",
                self.config.running,
                self.config.waiting()
            ),
            retry_after: RETRY_AFTER,
        };
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal)?;
        Ok(SqlTicket {
            _running: running,
            _admitted: admitted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(running: usize, waiting: usize) -> SqlAdmissionConfig {
        SqlAdmissionConfig {
            running: NonZeroUsize::new(running).unwrap_or(NonZeroUsize::MIN),
            waiting: Some(waiting),
        }
    }

    #[tokio::test]
    async fn queries_past_the_slots_wait_and_past_the_queue_are_refused() {
        let admission = Arc::new(SqlAdmission::new(config(2, 1)));
        let first = admission.admit().await.expect("first slot");
        let _second = admission.admit().await.expect("second slot");
        let waiting = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit().await.map(|_ticket| ()) }
        });
        // The third waits for a slot; the fourth finds the queue full.
        while admission.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = admission.admit().await.expect_err("queue full");
        assert!(matches!(refused, ApiError::Busy { .. }), "{refused:?}");
        assert_eq!(refused.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(!waiting.is_finished(), "waits while both slots are taken");
        drop(first);
        waiting
            .await
            .expect("join")
            .expect("admitted once a slot frees");
        // Its ticket was dropped: the places are back.
        assert_eq!(admission.admitted.available_permits(), 2);
    }

    #[test]
    fn defaults_follow_the_cores_and_are_read_when_written() {
        let default = SqlAdmissionConfig::default();
        assert!(default.running.get() >= 1);
        assert_eq!(default.waiting(), default.running.get() * 2);
        let written: SqlAdmissionConfig =
            toml::from_str("running = 3\nwaiting = 0\n").expect("written");
        assert_eq!(written, config(3, 0));
        assert!(toml::from_str::<SqlAdmissionConfig>("running = 0\n").is_err());
        assert!(toml::from_str::<SqlAdmissionConfig>("queued = 1\n").is_err());
    }
}
