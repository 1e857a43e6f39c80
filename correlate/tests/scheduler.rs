//! Scheduled detection jobs, end to end over a real detection store and a manual clock:
//! periodic runs with an ingest delay, bounded catch-up after downtime with the older slots
//! recorded as a gap, retries with backoff, sink failures, restarts, late-data re-runs and
//! backfills; SQL rule loading and the alerts of a SQL rule's rows.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use weft_correlate::correlation::ManualClock;
use weft_correlate::correlation::backtest::TimeRange;
use weft_correlate::db;
use weft_correlate::record::{AlertRecord, AlertSource, Entity};
use weft_correlate::schedule::{
    FirstRun, HumanDuration, Job, JobHistory, JobKind, JobOutput, JobRunner, RunRecord, RunStatus,
    RunTrigger, Schedule, Scheduler, SchedulerConfig, SchedulerError, SqlRule, SqlRuleErrorKind,
    alerts_from_rows, load_sql_rules,
};
use weft_correlate::sigma::{Placeholders, load_paths};

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
/// 2023-11-14T22:00:00Z, an hour boundary.
const BASE: i64 = 1_700_000_000 * SECOND / HOUR * HOUR;

fn job(id: &str, interval: &str, lookback: Option<&str>, delay: Option<&str>) -> Job {
    Job {
        id: id.into(),
        schedule: Schedule::parse(interval, lookback, delay).expect("valid schedule"),
        kind: JobKind::Rules {
            rule_ids: vec!["929a690e-bef0-4204-a928-ef5e620d6fcc".into()],
        },
    }
}

/// Records every call; fails the first `failures` calls, panics on `panic_on` slot ends.
#[derive(Default)]
struct Recorder {
    calls: Vec<(String, TimeRange)>,
    failures: usize,
    panic_on: Option<i64>,
}

impl Recorder {
    fn slot_ends(&self) -> Vec<i64> {
        self.calls
            .iter()
            .map(|(_, range)| range.to.expect("bounded") + 1)
            .collect()
    }
}

impl JobRunner for Recorder {
    fn run(&mut self, job: &Job, range: TimeRange) -> Result<JobOutput, String> {
        self.calls.push((job.id.clone(), range));
        if self.panic_on == range.to.map(|to| to + 1) {
            panic!("simulated crash during the run");
        }
        if self.failures > 0 {
            self.failures -= 1;
            return Err("the event store is unreachable".into());
        }
        Ok(JobOutput {
            events_scanned: 10,
            alerts: Vec::new(),
        })
    }
}

fn history() -> JobHistory {
    JobHistory::new(db::open_in_memory().expect("store")).expect("history")
}

fn scheduler(jobs: Vec<Job>, clock: &Arc<ManualClock>, config: SchedulerConfig) -> Scheduler {
    Scheduler::new(jobs, history(), clock.clone(), config).expect("scheduler")
}

fn accept(_: &[AlertRecord]) -> Result<(), String> {
    Ok(())
}

fn statuses(records: &[RunRecord]) -> Vec<(i64, RunStatus, u32)> {
    records
        .iter()
        .map(|record| (record.slot_end, record.status, record.attempt))
        .collect()
}

#[test]
fn runs_each_aligned_slot_once_after_its_delay() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE + 5 * MINUTE + 59 * SECOND));
    let mut scheduler = scheduler(
        vec![job("hourly-5m", "5m", Some("10m"), Some("1m"))],
        &clock,
        SchedulerConfig::default(),
    );
    let mut runner = Recorder::default();
    // At 12:05:59 the 12:05 slot is not settled yet (delay 1m): the latest due slot is 12:00.
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(statuses(&records), [(BASE, RunStatus::Succeeded, 1)]);
    assert_eq!(
        runner.calls[0].1,
        TimeRange {
            from: Some(BASE - 10 * MINUTE),
            to: Some(BASE - 1)
        }
    );
    assert_eq!(records[0].events_scanned, 10);
    assert_eq!(records[0].trigger, RunTrigger::Schedule);
    // Nothing more until the next slot is due.
    assert!(scheduler.run_due(&mut runner, &mut accept)?.is_empty());
    clock.set(BASE + 6 * MINUTE);
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        statuses(&records),
        [(BASE + 5 * MINUTE, RunStatus::Succeeded, 1)]
    );
    clock.set(BASE + 10 * MINUTE + 59 * SECOND);
    assert!(scheduler.run_due(&mut runner, &mut accept)?.is_empty());
    clock.set(BASE + 11 * MINUTE);
    scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        runner.slot_ends(),
        [BASE, BASE + 5 * MINUTE, BASE + 10 * MINUTE]
    );
    let last = scheduler
        .history()
        .last_completed("hourly-5m")?
        .expect("completed");
    assert_eq!(last.slot_end, BASE + 10 * MINUTE);
    assert_eq!((last.from, last.to), (BASE, BASE + 10 * MINUTE - 1));
    assert_eq!(scheduler.history().runs(None, 10)?.len(), 3);
    assert!(scheduler.history().gaps("hourly-5m")?.is_empty());
    Ok(())
}

#[test]
fn catches_up_the_latest_slots_in_order_and_records_older_ones_as_a_gap() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE + MINUTE));
    let config = SchedulerConfig {
        max_catch_up: 3,
        ..SchedulerConfig::default()
    };
    let mut scheduler = scheduler(vec![job("j", "5m", None, None)], &clock, config);
    let mut runner = Recorder::default();
    scheduler.run_due(&mut runner, &mut accept)?;
    // Down for an hour: twelve slots missed (12:05 to 13:00), the last three run.
    clock.set(BASE + HOUR + MINUTE);
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        runner.slot_ends(),
        [BASE, BASE + 50 * MINUTE, BASE + 55 * MINUTE, BASE + HOUR]
    );
    let gap = &records[0];
    assert_eq!(gap.status, RunStatus::Gap);
    assert_eq!(
        (gap.first_slot_end, gap.slot_end, gap.from, gap.to),
        (
            BASE + 5 * MINUTE,
            BASE + 45 * MINUTE,
            BASE,
            BASE + 45 * MINUTE - 1
        )
    );
    assert!(
        gap.error
            .as_deref()
            .is_some_and(|error| error.contains("9 slots missed")),
        "{gap:?}"
    );
    assert_eq!(scheduler.history().gaps("j")?, std::slice::from_ref(gap));
    let json = serde_json::to_value(gap)?;
    assert_eq!(json["status"], "gap");

    // Backfilling the gap's range fills it.
    let queued = scheduler.backfill(
        "j",
        TimeRange {
            from: Some(gap.from),
            to: Some(gap.to),
        },
    )?;
    assert_eq!(queued.len(), 9);
    assert!(queued.iter().all(|run| run.trigger == RunTrigger::Backfill));
    assert!(queued.iter().all(|run| run.status == RunStatus::Queued));
    runner.calls.clear();
    scheduler.run_due(&mut runner, &mut accept)?;
    let expected: Vec<i64> = (1..=9).map(|slot| BASE + slot * 5 * MINUTE).collect();
    assert_eq!(runner.slot_ends(), expected);
    assert!(scheduler.history().gaps("j")?.is_empty());
    let filled = scheduler.history().run(gap.run_id)?.expect("gap row");
    assert_eq!(filled.status, RunStatus::Filled);
    Ok(())
}

#[test]
fn a_new_job_runs_only_its_latest_slot_or_a_bounded_catch_up() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE + 2 * MINUTE));
    let mut latest = scheduler(
        vec![job("j", "1m", None, None)],
        &clock,
        SchedulerConfig::default(),
    );
    let mut runner = Recorder::default();
    latest.run_due(&mut runner, &mut accept)?;
    assert_eq!(runner.slot_ends(), [BASE + 2 * MINUTE]);

    let config = SchedulerConfig {
        first_run: FirstRun::CatchUp,
        max_catch_up: 3,
        ..SchedulerConfig::default()
    };
    let mut catch_up = scheduler(vec![job("j", "1m", None, None)], &clock, config);
    let mut runner = Recorder::default();
    let records = catch_up.run_due(&mut runner, &mut accept)?;
    assert_eq!(runner.slot_ends(), [BASE, BASE + MINUTE, BASE + 2 * MINUTE]);
    assert!(
        records
            .iter()
            .all(|record| record.status == RunStatus::Succeeded)
    );
    Ok(())
}

#[test]
fn a_failing_run_is_retried_with_backoff_then_failed_with_a_visible_gap() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE));
    let config = SchedulerConfig {
        max_attempts: 3,
        retry_backoff: HumanDuration::parse("1m")?,
        ..SchedulerConfig::default()
    };
    let mut scheduler = scheduler(vec![job("j", "1h", None, None)], &clock, config);
    let mut runner = Recorder {
        failures: usize::MAX,
        ..Recorder::default()
    };
    let first = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(statuses(&first), [(BASE, RunStatus::Failed, 1)]);
    assert_eq!(first[0].next_attempt_at, Some(BASE + MINUTE));
    assert_eq!(
        first[0].error.as_deref(),
        Some("the event store is unreachable")
    );
    // Not before the backoff.
    clock.set(BASE + 59 * SECOND);
    assert!(scheduler.run_due(&mut runner, &mut accept)?.is_empty());
    clock.set(BASE + MINUTE);
    let second = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(statuses(&second), [(BASE, RunStatus::Failed, 2)]);
    // The backoff doubles.
    assert_eq!(second[0].next_attempt_at, Some(BASE + 3 * MINUTE));
    clock.set(BASE + 3 * MINUTE);
    let third = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        statuses(&third),
        [(BASE, RunStatus::Failed, 3), (BASE, RunStatus::Gap, 0)]
    );
    assert_eq!(third[0].next_attempt_at, None);
    clock.set(BASE + 30 * MINUTE);
    assert!(scheduler.run_due(&mut runner, &mut accept)?.is_empty());
    assert_eq!(runner.calls.len(), 3);
    let gaps = scheduler.history().gaps("j")?;
    assert_eq!(gaps.len(), 1);
    assert_eq!((gaps[0].from, gaps[0].to), (BASE - HOUR, BASE - 1));
    assert!(
        gaps[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("failed after 3 attempts")),
        "{gaps:?}"
    );
    let attempts: Vec<u32> = scheduler
        .history()
        .runs(Some("j"), 10)?
        .iter()
        .filter(|run| run.status == RunStatus::Failed)
        .map(|run| run.attempt)
        .collect();
    assert_eq!(attempts, [3, 2, 1]);
    assert!(scheduler.history().last_completed("j")?.is_none());
    Ok(())
}

#[test]
fn a_retry_that_succeeds_leaves_no_gap_and_later_slots_are_not_held_back() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE));
    let config = SchedulerConfig {
        retry_backoff: HumanDuration::parse("2m")?,
        ..SchedulerConfig::default()
    };
    let mut scheduler = scheduler(vec![job("j", "1m", None, None)], &clock, config);
    let mut runner = Recorder {
        failures: 1,
        ..Recorder::default()
    };
    scheduler.run_due(&mut runner, &mut accept)?;
    clock.set(BASE + MINUTE);
    // The next slot runs although the first still waits for its retry.
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        statuses(&records),
        [(BASE + MINUTE, RunStatus::Succeeded, 1)]
    );
    clock.set(BASE + 2 * MINUTE);
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    assert_eq!(
        statuses(&records),
        [
            (BASE, RunStatus::Succeeded, 2),
            (BASE + 2 * MINUTE, RunStatus::Succeeded, 1)
        ]
    );
    assert!(scheduler.history().gaps("j")?.is_empty());
    Ok(())
}

#[test]
fn a_sink_failure_leaves_the_run_incomplete_and_it_is_retried() -> anyhow::Result<()> {
    let rule = sql_rule();
    // The rule runs every 5m after a 2m delay: at 12:02 the 12:00 slot is due.
    let clock = Arc::new(ManualClock::new(BASE + 2 * MINUTE));
    let mut scheduler = scheduler(
        vec![Job::sql(rule.clone())],
        &clock,
        SchedulerConfig::default(),
    );
    let mut runner = |job: &Job, range: TimeRange| -> Result<JobOutput, String> {
        let JobKind::Sql(rule) = &job.kind else {
            return Err("not a sql job".into());
        };
        Ok(JobOutput {
            events_scanned: 3,
            alerts: alerts_from_rows(rule, range, &[row(&[("user", "alice"), ("count", "3")])]),
        })
    };
    let mut delivered: Vec<AlertRecord> = Vec::new();
    let mut sink_down = true;
    let mut sink = |alerts: &[AlertRecord]| {
        if sink_down {
            sink_down = false;
            return Err("outbox is full".to_string());
        }
        delivered.extend_from_slice(alerts);
        Ok(())
    };
    let first = scheduler.run_due(&mut runner, &mut sink)?;
    assert_eq!(statuses(&first), [(BASE, RunStatus::Failed, 1)]);
    assert!(
        first[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("cannot deliver the alerts: outbox is full"))
    );
    assert!(scheduler.history().last_completed(&rule.id)?.is_none());
    clock.advance(MINUTE);
    let second = scheduler.run_due(&mut runner, &mut sink)?;
    assert_eq!(statuses(&second), [(BASE, RunStatus::Succeeded, 2)]);
    assert_eq!((second[0].alerts, second[0].events_scanned), (1, 3));
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].source,
        AlertSource::Job {
            job: rule.id.clone()
        }
    );
    Ok(())
}

#[test]
fn a_restarted_scheduler_continues_from_the_history() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new(BASE));
    let jobs = vec![job("j", "5m", None, None)];
    let mut first = Scheduler::new(
        jobs.clone(),
        JobHistory::new(db::open(dir.path())?)?,
        clock.clone(),
        SchedulerConfig::default(),
    )?;
    let mut runner = Recorder {
        panic_on: Some(BASE + 5 * MINUTE),
        ..Recorder::default()
    };
    first.run_due(&mut runner, &mut accept)?;
    // weft dies during the 12:05 run.
    clock.set(BASE + 5 * MINUTE);
    let crashed = catch_unwind(AssertUnwindSafe(|| first.run_due(&mut runner, &mut accept)));
    assert!(crashed.is_err());
    drop(first);

    let mut second = Scheduler::new(
        jobs,
        JobHistory::new(db::open(dir.path())?)?,
        clock.clone(),
        SchedulerConfig::default(),
    )?;
    let mut runner = Recorder::default();
    let records = second.run_due(&mut runner, &mut accept)?;
    // 12:00 succeeded before the crash and is not run again; 12:05 is retried.
    assert_eq!(runner.slot_ends(), [BASE + 5 * MINUTE]);
    assert_eq!(
        statuses(&records),
        [(BASE + 5 * MINUTE, RunStatus::Succeeded, 2)]
    );
    let interrupted = second
        .history()
        .runs(Some("j"), 10)?
        .into_iter()
        .find(|run| run.status == RunStatus::Failed)
        .expect("the interrupted attempt");
    assert_eq!(interrupted.attempt, 1);
    assert!(
        interrupted
            .error
            .as_deref()
            .is_some_and(|error| error.contains("interrupted"))
    );
    assert!(second.run_due(&mut runner, &mut accept)?.is_empty());
    Ok(())
}

#[test]
fn late_data_reopens_the_slots_whose_windows_hold_it() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE + 30 * MINUTE));
    let config = SchedulerConfig {
        first_run: FirstRun::CatchUp,
        max_catch_up: 6,
        ..SchedulerConfig::default()
    };
    let mut scheduler = scheduler(
        vec![
            job("a", "5m", Some("10m"), None),
            job("b", "10m", None, None),
        ],
        &clock,
        config,
    );
    let mut runner = Recorder::default();
    scheduler.run_due(&mut runner, &mut accept)?;
    runner.calls.clear();
    // A late event at 12:12 is in a's windows of 12:15 and 12:20, and b's window of 12:20.
    let late = BASE + 12 * MINUTE;
    let range = TimeRange {
        from: Some(late),
        to: Some(late),
    };
    let queued = scheduler.reopen(None, range)?;
    let queued: Vec<(&str, i64, RunTrigger)> = queued
        .iter()
        .map(|run| (run.job_id.as_str(), run.slot_end, run.trigger))
        .collect();
    assert_eq!(
        queued,
        [
            ("a", BASE + 15 * MINUTE, RunTrigger::Reopen),
            ("a", BASE + 20 * MINUTE, RunTrigger::Reopen),
            ("b", BASE + 20 * MINUTE, RunTrigger::Reopen),
        ]
    );
    // Asking again does not queue the waiting slots twice.
    assert!(scheduler.reopen(Some("a"), range)?.is_empty());
    scheduler.run_due(&mut runner, &mut accept)?;
    let calls: Vec<(String, TimeRange)> = runner.calls.clone();
    assert_eq!(calls.len(), 3);
    for (_, window) in &calls {
        assert!(window.contains(late));
    }
    // A range past what was scheduled is left to the regular runs.
    let future = TimeRange {
        from: Some(BASE + 40 * MINUTE),
        to: Some(BASE + 41 * MINUTE),
    };
    assert!(scheduler.reopen(None, future)?.is_empty());
    Ok(())
}

#[test]
fn backfill_queues_due_slots_and_refuses_bad_requests() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE));
    let config = SchedulerConfig {
        max_backfill_slots: 24,
        ..SchedulerConfig::default()
    };
    let mut scheduler = scheduler(vec![job("j", "1h", None, None)], &clock, config);
    let day = TimeRange {
        from: Some(BASE - 24 * HOUR),
        to: Some(BASE + 5 * HOUR),
    };
    // Only the slots already due: the future is left to the schedule.
    let queued = scheduler.backfill("j", day)?;
    assert_eq!(queued.len(), 24);
    assert_eq!(
        queued.first().map(|run| run.slot_end),
        Some(BASE - 23 * HOUR)
    );
    assert_eq!(queued.last().map(|run| run.slot_end), Some(BASE));
    let mut runner = Recorder::default();
    let records = scheduler.run_due(&mut runner, &mut accept)?;
    // The first scheduled slot (12:00) was already queued by the backfill: it runs once.
    assert_eq!(records.len(), 24);
    assert_eq!(runner.calls.len(), 24);

    let too_long = TimeRange {
        from: Some(BASE - 48 * HOUR),
        to: Some(BASE),
    };
    assert!(matches!(
        scheduler.backfill("j", too_long),
        Err(SchedulerError::TooManySlots { slots: 48, .. })
    ));
    let error = scheduler.backfill("nope", day).expect_err("unknown job");
    assert!(error.to_string().contains("unknown job `nope`"), "{error}");
    let inverted = TimeRange {
        from: Some(BASE),
        to: Some(BASE - HOUR),
    };
    let error = scheduler.backfill("j", inverted).expect_err("inverted");
    assert!(error.to_string().contains("swap the bounds"), "{error}");
    let open = TimeRange {
        from: Some(BASE),
        to: None,
    };
    assert!(matches!(
        scheduler.backfill("j", open),
        Err(SchedulerError::UnboundedRange)
    ));
    assert!(matches!(
        scheduler.reopen(Some("nope"), day),
        Err(SchedulerError::UnknownJob(_))
    ));
    Ok(())
}

#[test]
fn refuses_duplicate_jobs_and_invalid_config() {
    let clock = Arc::new(ManualClock::new(BASE));
    let jobs = vec![job("j", "5m", None, None), job("j", "1h", None, None)];
    assert!(matches!(
        Scheduler::new(jobs, history(), clock.clone(), SchedulerConfig::default()),
        Err(SchedulerError::DuplicateJob(_))
    ));
    let config = SchedulerConfig {
        max_catch_up: 0,
        ..SchedulerConfig::default()
    };
    let error = Scheduler::new(Vec::new(), history(), clock, config).expect_err("invalid");
    assert!(
        error
            .to_string()
            .contains("max_catch_up must be at least 1")
    );
}

// ---- SQL rules ----

const SQL_RULE: &str = "title: Many failed logins from one address
id: failed-logins-by-address
level: high
tags: [attack.credential_access, attack.t1110]
sql: |
  SELECT src_ip, user, count(*) AS count FROM events
  WHERE class = 'authentication' AND outcome = 'failure'
  GROUP BY src_ip, user HAVING count(*) >= 20
schedule: {interval: 5m, lookback: 15m, delay: 2m}
suppress: {duration: 1h}
";

const SIGMA_RULE: &str = "title: Whoami
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
logsource: {category: process_creation}
detection:
  selection: {Image|endswith: whoami.exe}
  condition: selection
";

fn sql_rule() -> SqlRule {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rule.yml");
    std::fs::write(&path, SQL_RULE).expect("write");
    let mut set = load_sql_rules(&[path]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set.rules.pop().expect("one rule")
}

fn row(columns: &[(&str, &str)]) -> BTreeMap<String, String> {
    columns
        .iter()
        .map(|(column, value)| (column.to_string(), value.to_string()))
        .collect()
}

fn with(field: &str, replacement: &str) -> String {
    SQL_RULE
        .lines()
        .filter(|line| {
            let own_line = line.starts_with(&format!("{field}:"));
            let sql_body = field == "sql" && line.starts_with("  ");
            !(own_line || sql_body)
        })
        .chain([replacement])
        .filter(|line| !line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn loads_sql_rules_beside_sigma_rules_and_refuses_each_mistake() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested)?;
    std::fs::write(
        dir.path().join("mixed.yml"),
        format!("{SIGMA_RULE}---\n{SQL_RULE}"),
    )?;
    let cases = [
        ("missing-id.yml", with("id", ""), "missing attribute `id`"),
        (
            "missing-sql.yml",
            with("sql", "sql:"),
            "missing attribute `sql`",
        ),
        (
            "missing-schedule.yml",
            with("schedule", ""),
            "missing attribute `schedule`",
        ),
        (
            "bad-id.yml",
            with("id", "id: 'no spaces allowed'"),
            "neither a UUID nor a slug",
        ),
        (
            "delete.yml",
            with("sql", "sql: DELETE FROM events"),
            "it starts with DELETE",
        ),
        (
            "two.yml",
            with("sql", "sql: \"SELECT 1 FROM events; DROP TABLE events\""),
            "second statement",
        ),
        (
            "holes.yml",
            with("schedule", "schedule: {interval: 1h, lookback: 5m}"),
            "shorter than the interval",
        ),
        (
            "duration.yml",
            with("schedule", "schedule: {interval: five minutes}"),
            "invalid duration",
        ),
        (
            "no-interval.yml",
            with("schedule", "schedule: {lookback: 5m}"),
            "`interval` is required",
        ),
        ("duplicate.yml", SQL_RULE.to_string(), "already used by"),
    ];
    for (file, text, _) in &cases {
        std::fs::write(nested.join(file), text)?;
    }
    std::fs::write(nested.join("notes.txt"), "sql: not a rule file")?;
    let set = load_sql_rules(&[dir.path().to_path_buf()]);
    assert_eq!(set.rules.len(), 1, "{:?}", set.errors);
    let rule = &set.rules[0];
    assert_eq!(rule.id, "failed-logins-by-address");
    assert_eq!(rule.document, 1);
    assert_eq!(
        rule.schedule,
        Schedule::parse("5m", Some("15m"), Some("2m"))?
    );
    assert!(rule.sql.starts_with("SELECT src_ip, user"));
    assert_eq!(rule.suppress.as_deref(), Some("duration: 1h"));
    assert_eq!(rule.meta.tags.len(), 2);
    assert_eq!(set.errors.len(), cases.len(), "{:#?}", set.errors);
    for (file, _, reason) in &cases {
        let error = set
            .errors
            .iter()
            .find(|error| error.path.ends_with(file))
            .unwrap_or_else(|| panic!("{file} was not refused"));
        assert!(error.to_string().contains(reason), "{file}: {error}");
    }
    let duplicate = set
        .errors
        .iter()
        .find(|error| error.path.ends_with("duplicate.yml"))
        .expect("duplicate");
    assert!(matches!(
        duplicate.kind,
        SqlRuleErrorKind::DuplicateId { .. }
    ));
    assert_eq!(set.checks().len(), 1 + cases.len());

    // The Sigma loader loads the Sigma rule and leaves every SQL document alone.
    let sigma = load_paths(&[dir.path().to_path_buf()], &Placeholders::default());
    assert_eq!(sigma.rules.len(), 1);
    assert!(sigma.errors.is_empty(), "{:?}", sigma.errors);
    Ok(())
}

#[test]
fn a_rows_alerts_have_stable_ids_entities_and_evidence() {
    let rule = sql_rule();
    let slot = |end: i64| TimeRange {
        from: Some(end - 15 * MINUTE),
        to: Some(end - 1),
    };
    let rows = [
        row(&[
            ("src_ip", "203.0.113.7"),
            ("user", "alice"),
            ("count", "25"),
            ("first_seen", "2023-11-14T22:01:00Z"),
            ("last_seen", &(BASE + 4 * MINUTE).to_string()),
            ("event_ids", "[\"e1\", \"e2\"]"),
            ("service", "auth"),
        ]),
        row(&[
            ("src_ip", "198.51.100.1"),
            ("user", ""),
            ("event_count", "2.0"),
            ("event_ids", "e3, e4,,"),
        ]),
    ];
    let alerts = alerts_from_rows(&rule, slot(BASE + 5 * MINUTE), &rows);
    assert_eq!(alerts.len(), 2);
    let first = &alerts[0];
    assert_eq!(
        first.alert.rule_id.as_deref(),
        Some("failed-logins-by-address")
    );
    assert_eq!(first.alert.level.as_deref(), Some("high"));
    assert_eq!(first.alert.correlation_type, "sql");
    assert_eq!(
        first.alert.group,
        row(&[
            ("service", "auth"),
            ("src_ip", "203.0.113.7"),
            ("user", "alice")
        ])
    );
    assert_eq!(first.alert.event_ids, ["e1", "e2"]);
    assert_eq!(first.alert.event_count, 25);
    assert_eq!(first.alert.window_start, BASE + MINUTE);
    assert_eq!(first.alert.window_end, BASE + 4 * MINUTE);
    assert_eq!(
        first.entities,
        [
            Entity::new("src_ip", "203.0.113.7"),
            Entity::new("user", "alice")
        ]
    );
    assert_eq!(first.services, ["auth"]);
    assert_eq!(
        first.source,
        AlertSource::Job {
            job: "failed-logins-by-address".into()
        }
    );
    let second = &alerts[1];
    assert_eq!(second.alert.event_ids, ["e3", "e4"]);
    assert_eq!(second.alert.event_count, 2);
    // No time columns: the run's window.
    assert_eq!(second.alert.window_start, BASE + 5 * MINUTE - 15 * MINUTE);
    assert_eq!(second.alert.window_end, BASE + 5 * MINUTE - 1);
    // Empty values are not entities.
    assert_eq!(second.entities, [Entity::new("src_ip", "198.51.100.1")]);

    // Re-running the slot, even with more late events, gives the same ids; another slot does not.
    let mut grown = rows.clone();
    grown[0].insert("count".into(), "26".into());
    grown[0].insert("event_ids".into(), "[\"e1\", \"e2\", \"e9\"]".into());
    let again = alerts_from_rows(&rule, slot(BASE + 5 * MINUTE), &grown);
    assert_eq!(again[0].alert.alert_id, first.alert.alert_id);
    assert_eq!(again[1].alert.alert_id, second.alert.alert_id);
    assert_ne!(first.alert.alert_id, second.alert.alert_id);
    let next = alerts_from_rows(&rule, slot(BASE + 10 * MINUTE), &rows);
    assert_ne!(next[0].alert.alert_id, first.alert.alert_id);

    // Declared entity columns replace the defaults.
    let mut declared = rule.clone();
    declared.entities = Some(vec!["service".into()]);
    let alerts = alerts_from_rows(&declared, slot(BASE + 5 * MINUTE), &rows[..1]);
    assert_eq!(alerts[0].entities, [Entity::new("service", "auth")]);
}

#[test]
fn run_records_serialize_for_the_api() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(BASE));
    let mut scheduler = scheduler(
        vec![job("j", "5m", None, None)],
        &clock,
        SchedulerConfig::default(),
    );
    let records = scheduler.run_due(&mut Recorder::default(), &mut accept)?;
    let json = serde_json::to_value(&records[0])?;
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["trigger"], "schedule");
    assert_eq!(json["job_id"], "j");
    assert_eq!(json["slot_end"], BASE);
    let back: RunRecord = serde_json::from_value(json)?;
    assert_eq!(back, records[0]);
    Ok(())
}
