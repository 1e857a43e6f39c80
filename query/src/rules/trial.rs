//! Rules tried without changing anything: on posted events (`weft rules test`, plus the
//! correlations evaluated over those events in event time), and over a range of the store
//! (`weft rules backtest`).
//!
//! Posted events are parsed by weft's parsers and normalized as ingest would. Matching is the
//! stream's matcher; correlations run through the backtest engine over a throwaway store of
//! the posted events, so their alerts are the ones the stream would raise for them.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use weft_correlate::correlation::Alert;
use weft_correlate::correlation::CorrelatorConfig;
use weft_correlate::correlation::backtest::{TimeRange, backtest};
use weft_correlate::ruleset::{DetectionRules, RulesError};
use weft_correlate::sigma::report::{MatchRecord, match_records};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::id::event_id;
use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::store::{EventStore, FlushPolicy};

use super::write::{Candidate, check_text, staging};
use super::{RuleSources, internal};
use crate::error::ApiError;

/// Most events one test may post.
pub const MAX_TEST_EVENTS: usize = 10_000;
/// Largest single posted event, in bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most alerts a test or backtest answers with.
pub const MAX_ALERTS: usize = 1_000;

/// An event that could not be parsed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventError {
    /// Position in the posted `events`.
    pub index: usize,
    pub reason: String,
}

/// What a test found.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// The rules whose results are reported.
    pub rules: Vec<String>,
    pub events: usize,
    /// Normalized events (a record may hold several, or none).
    pub parsed: usize,
    pub errors: Vec<EventError>,
    /// Every (event, rule) match; `event_index` is the position in the posted `events`.
    pub matches: Vec<MatchRecord>,
    /// Alerts over the posted events: correlations, and rules that alert on their own.
    pub alerts: Vec<Alert>,
    pub truncated: bool,
}

/// Loads the deployment's rules (enabled or not), with `text` in place of the rules it
/// redefines. Returns the rules and, with a text, the candidate.
fn load_rules(
    sources: &RuleSources,
    text: Option<&str>,
) -> Result<(DetectionRules, Option<Candidate>), ApiError> {
    let stage = staging(sources)?;
    let mut paths = sources.paths();
    let mut candidate = None;
    if let Some(text) = text {
        let checked = check_text(sources, text, stage.path())?;
        // Leave out the files that define the same rules: the posted text replaces them.
        let catalogue = super::catalogue(
            sources,
            &super::Decorations {
                hits: &Default::default(),
                history: None,
            },
        )?;
        let replaced: BTreeSet<PathBuf> = catalogue
            .rules
            .iter()
            .filter(|rule| checked.names.contains(&rule.id))
            .map(|rule| rule.file.clone())
            .collect();
        if !replaced.is_empty() {
            paths = sources.configured.clone();
            let managed = sources.managed_dir();
            if managed.is_dir() {
                paths.extend(
                    weft_correlate::sigma::loader::rule_files(&managed)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|file| !replaced.contains(file)),
                );
            }
            paths.retain(|path| !replaced.contains(path));
        }
        paths.push(stage.path().join("posted.yml"));
        candidate = Some(checked);
    }
    let rules = DetectionRules::load(&paths, &sources.mapping, sources.placeholders.as_deref())
        .map_err(|error| match error {
            RulesError::Correlation(error) => {
                ApiError::BadRequest(format!("the rules cannot run together: {error}"))
            }
            other => internal("loading the rules", other),
        })?;
    Ok((rules, candidate))
}

/// Whether an alert or match of `rule` (id and title) is asked for.
fn wanted(selected: &Option<BTreeSet<String>>, id: Option<&str>, name: &str) -> bool {
    selected
        .as_ref()
        .is_none_or(|ids| id.is_some_and(|id| ids.contains(id)) || ids.contains(name))
}

/// Runs the rules over posted `events` (JSON objects or raw log lines) read as `format`.
pub fn test_events(
    sources: &RuleSources,
    text: Option<&str>,
    rule_id: Option<&str>,
    events: &[serde_json::Value],
    format: &str,
) -> Result<TestReport, ApiError> {
    if events.is_empty() || events.len() > MAX_TEST_EVENTS {
        return Err(ApiError::BadRequest(format!(
            "`events` must hold 1 to {MAX_TEST_EVENTS} events"
        )));
    }
    let mut records = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let record = match event {
            serde_json::Value::String(line) => line.clone(),
            serde_json::Value::Object(_) => event.to_string(),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "event {index} must be a JSON object or a log line (string)"
                )));
            }
        };
        if record.len() > MAX_EVENT_BYTES {
            return Err(ApiError::BadRequest(format!(
                "event {index} is larger than {MAX_EVENT_BYTES} bytes"
            )));
        }
        records.push(record);
    }
    let mut parser = parse::build(format, &ParserOptions::default()).ok_or_else(|| {
        ApiError::BadRequest(format!("unknown format `{format}`: see `weft formats`"))
    })?;
    let (rules, candidate) = load_rules(sources, text)?;
    let selected: Option<BTreeSet<String>> = match (rule_id, &candidate) {
        (Some(id), _) => Some(BTreeSet::from([id.to_string()])),
        (None, Some(candidate)) => Some(candidate.names.clone()),
        (None, None) => None,
    };
    if let Some(id) = rule_id {
        let known = rules.matcher.rules().iter().any(|plan| {
            plan.meta.id.as_deref() == Some(id) || plan.meta.name.as_deref() == Some(id)
        }) || rules.set.correlations().iter().any(|compiled| {
            let meta = &compiled.rule.meta;
            meta.id.as_deref() == Some(id) || meta.name.as_deref() == Some(id)
        });
        if !known {
            return Err(ApiError::NoSuchResource(format!(
                "no Sigma rule or correlation has the id `{id}`"
            )));
        }
    }

    let now = chrono::Utc::now().timestamp_micros();
    let context = ParseContext {
        reference_time: now,
    };
    let scratch = tempfile::tempdir().map_err(|error| internal("test store", error))?;
    let mut store = EventStore::open(scratch.path(), FlushPolicy::default())
        .map_err(|error| internal("test store", error))?;
    let mut builder = EventBatchBuilder::new();
    let mut rows: Vec<usize> = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let mut parsed = Vec::new();
        if let Err(error) = parser.parse(record, &context, &mut parsed) {
            errors.push(EventError {
                index,
                reason: error.to_string(),
            });
            continue;
        }
        for (part, event) in parsed.iter().enumerate() {
            let id = event_id(
                "api-test",
                index as u64,
                u32::try_from(part).unwrap_or(u32::MAX),
            );
            let meta = RecordMeta {
                ingest_time: now,
                event_id: &id,
                service: "api-test",
                raw: record,
                not_utf8: false,
            };
            builder.append(event, &meta);
            store
                .append(event, &meta, "api-test", index as u64)
                .map_err(|error| internal("test store", error))?;
            rows.push(index);
        }
    }
    store
        .flush()
        .map_err(|error| internal("test store", error))?;
    drop(store);
    let batch = builder
        .finish()
        .map_err(|error| internal("test batch", error))?;
    let mut matches: Vec<MatchRecord> = match_records(&rules.matcher, &batch)
        .map_err(|error| internal("matching", error))?
        .into_iter()
        .filter(|found| wanted(&selected, found.rule_id.as_deref(), &found.rule_title))
        .map(|mut found| {
            found.event_index = rows
                .get(found.event_index)
                .copied()
                .unwrap_or(found.event_index);
            found
        })
        .collect();
    let report = backtest(
        scratch.path(),
        &rules.matcher,
        Arc::clone(&rules.set),
        TimeRange::default(),
        CorrelatorConfig::default(),
    )
    .map_err(|error| internal("test backtest", error))?;
    let mut alerts: Vec<Alert> = report
        .alerts
        .into_iter()
        .filter(|alert| wanted(&selected, alert.rule_id.as_deref(), &alert.rule_name))
        .collect();
    let truncated = matches.len() > MAX_ALERTS * 10 || alerts.len() > MAX_ALERTS;
    matches.truncate(MAX_ALERTS * 10);
    alerts.truncate(MAX_ALERTS);
    Ok(TestReport {
        rules: selected
            .map(|ids| ids.into_iter().collect())
            .unwrap_or_default(),
        events: events.len(),
        parsed: rows.len(),
        errors,
        matches,
        alerts,
        truncated,
    })
}

/// What a backtest found.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestAnswer {
    pub rule: String,
    pub from: String,
    pub to: String,
    pub segments_read: usize,
    pub events_read: u64,
    pub alerts: Vec<Alert>,
    /// More than [`MAX_ALERTS`] alerts were found.
    pub truncated: bool,
}

/// Replays the store over `[from, to]` through the deployment's rules (enabled or not) and
/// answers with the alerts of rule `id`.
pub fn backtest_rule(
    sources: &RuleSources,
    id: &str,
    from: i64,
    to: i64,
) -> Result<BacktestAnswer, ApiError> {
    let (rules, _) = load_rules(sources, None)?;
    let selected = Some(BTreeSet::from([id.to_string()]));
    let report = backtest(
        &sources.data_dir,
        &rules.matcher,
        Arc::clone(&rules.set),
        TimeRange {
            from: Some(from),
            to: Some(to),
        },
        CorrelatorConfig::default(),
    )
    .map_err(|error| internal("backtest", error))?;
    let mut alerts: Vec<Alert> = report
        .alerts
        .into_iter()
        .filter(|alert| wanted(&selected, alert.rule_id.as_deref(), &alert.rule_name))
        .collect();
    let truncated = alerts.len() > MAX_ALERTS;
    alerts.truncate(MAX_ALERTS);
    let time = |micros: i64| -> Cow<'static, str> {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(|time| Cow::Owned(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
            .unwrap_or(Cow::Borrowed(""))
    };
    Ok(BacktestAnswer {
        rule: id.to_string(),
        from: time(from).into_owned(),
        to: time(to).into_owned(),
        segments_read: report.segments_read,
        events_read: report.events_read,
        alerts,
        truncated,
    })
}
