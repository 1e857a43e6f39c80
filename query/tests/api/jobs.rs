//! The job routes over a history written by the scheduler.

use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use weft_correlate::correlation::ManualClock;
use weft_correlate::correlation::backtest::TimeRange;
use weft_correlate::db;
use weft_correlate::record::AlertRecord;
use weft_correlate::schedule::{
    Job, JobHistory, JobKind, JobOutput, Schedule, Scheduler, SchedulerConfig,
};
use weft_query::api::ApiConfig;
use weft_query::auth::Role;

use crate::common::{Fixture, micros};

/// One job run at 12:00, then an hour of downtime: one catch-up run and a gap.
fn seed_history(data_dir: &Path) -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(micros("2026-11-23T12:00:30Z")));
    let job = Job {
        id: "nightly-rules".to_string(),
        schedule: Schedule::parse("5m", None, None)?,
        kind: JobKind::Rules {
            rule_ids: Vec::new(),
        },
    };
    let config = SchedulerConfig {
        max_catch_up: 1,
        ..SchedulerConfig::default()
    };
    let mut scheduler = Scheduler::new(
        vec![job],
        JobHistory::new(db::open(data_dir)?)?,
        clock.clone(),
        config,
    )?;
    let mut runner = |_: &Job, _: TimeRange| Ok::<_, String>(JobOutput::default());
    let mut sink = |_: &[AlertRecord]| Ok::<_, String>(());
    scheduler.run_due(&mut runner, &mut sink)?;
    clock.set(micros("2026-11-23T13:00:30Z"));
    scheduler.run_due(&mut runner, &mut sink)?;
    Ok(())
}

#[tokio::test]
async fn runs_and_gaps_come_from_the_job_history() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), seed_history)?;
    let viewer = Some(fixture.token(Role::Viewer));
    let all = fixture.get("/api/v1/jobs", viewer).await;
    assert_eq!(
        all.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&all.body)
    );
    let runs = all.json()["runs"].as_array().cloned().unwrap_or_default();
    assert!(runs.len() >= 3, "{runs:?}");
    assert!(runs.iter().all(|run| run["job_id"] == "nightly-rules"));

    let succeeded = fixture
        .get(
            "/api/v1/jobs?job=nightly-rules&status=succeeded&limit=1",
            viewer,
        )
        .await
        .json();
    let succeeded = succeeded["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0]["status"], "succeeded");
    let other = fixture.get("/api/v1/jobs?job=other", viewer).await.json();
    assert_eq!(other["runs"], serde_json::json!([]));

    let gaps = fixture.get("/api/v1/jobs/gaps", viewer).await;
    assert_eq!(gaps.status, StatusCode::OK);
    let gaps = gaps.json();
    assert_eq!(gaps["jobs"][0]["job_id"], "nightly-rules", "{gaps}");
    assert_eq!(gaps["jobs"][0]["gaps"][0]["status"], "gap");

    for bad in [
        "/api/v1/jobs?status=done",
        "/api/v1/jobs?limit=0",
        "/api/v1/jobs?job=",
        "/api/v1/jobs?nope=1",
    ] {
        fixture
            .get(bad, viewer)
            .await
            .assert_problem(StatusCode::BAD_REQUEST);
    }
    fixture
        .get("/api/v1/jobs", None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn status_gives_each_jobs_latest_run_success_and_gap_count() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), seed_history)?;
    let viewer = Some(fixture.token(Role::Viewer));
    let reply = fixture.get("/api/v1/jobs/status", viewer).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let answer = reply.json();
    let job = &answer["jobs"][0];
    assert_eq!(job["job_id"], "nightly-rules", "{answer}");
    assert_eq!(job["kind"], "other");
    assert_eq!(job["open_gaps"], 1);
    assert_eq!(job["last_success"]["status"], "succeeded");
    assert!(job["last_run"]["run_id"].is_i64());
    assert_eq!(
        job["next_due"],
        serde_json::Value::Null,
        "not a SQL rule: no schedule known here"
    );
    fixture
        .get("/api/v1/jobs/status?x=1", viewer)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    Ok(())
}

/// A SQL rule of the managed directory, every 5 minutes, 2 minutes late.
const SQL_RULE: &str = "title: Many failed logins from one address
id: failed-logins-by-address
level: high
sql: |
  SELECT src_ip, count(*) AS count FROM events
  WHERE outcome = 'failure' GROUP BY src_ip HAVING count(*) >= 20
schedule: {interval: 5m, lookback: 15m, delay: 2m}
";

#[tokio::test]
async fn status_lists_sql_rules_with_their_next_due_slot() -> anyhow::Result<()> {
    let fixture = Fixture::with_config(ApiConfig::default(), |dir| {
        let managed = weft_correlate::ruleset::managed_dir(dir);
        std::fs::create_dir_all(&managed)?;
        std::fs::write(managed.join("failed-logins-by-address.yml"), SQL_RULE)?;
        Ok(())
    })?;
    let before = chrono::Utc::now();
    let answer = fixture
        .get("/api/v1/jobs/status", Some(fixture.token(Role::Viewer)))
        .await
        .json();
    let job = &answer["jobs"][0];
    assert_eq!(job["job_id"], "failed-logins-by-address", "{answer}");
    assert_eq!(job["kind"], "sql");
    assert_eq!(job["interval"], "5m");
    assert_eq!(job["enabled"], true);
    assert_eq!(job["last_run"], serde_json::Value::Null, "never run");
    let due = job["next_due"].as_str().unwrap_or_default();
    let due = chrono::DateTime::parse_from_rfc3339(due)?;
    let ahead = due.signed_duration_since(before).num_seconds();
    assert!(
        (0..=300).contains(&ahead),
        "the next slot is due within one interval, not {ahead} s"
    );
    assert_eq!(
        due.timestamp() % 300,
        120,
        "slots end on the interval, due 2 minutes later"
    );
    Ok(())
}
