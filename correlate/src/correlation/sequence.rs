//! weft's sequence extension: what Sigma correlations cannot say — ordered steps across
//! services with a join key per step (EQL's `sequence by ... [A] by x [B] by y`), `maxspan`,
//! repeat counts, absence steps (`A` not followed by `B` within the span, or no `B` between
//! `A` and `C`), an `until` rule that cancels partial matches, and stitching by
//! `trace_id`/`request_id`.
//!
//! ```yaml
//! title: Stolen session used from a second service
//! id: 2c1f7b3e-0000-4000-8000-000000000001
//! level: high
//! sequence:
//!     by: [session]              # the join key's name(s) in the alert
//!     maxspan: 10m
//!     steps:
//!         - rule: gateway_login
//!           by: [session_id]     # this step's field(s) for the key
//!         - rule: mfa_passed
//!           absent: true         # no MFA between the login and the next step
//!         - rule: token_refresh
//!           repeat: 3            # three refreshes
//!         - rule: db_export
//!           by: [attrs.session]
//!     until: logout              # a logout of the same session cancels
//! ```
//!
//! A sequence compiles to a correlation of type `sequence` (so it chains, reports and
//! checkpoints like the others). Matching keeps, per group and per stage, the partial match
//! with the latest start (which is the best one for `maxspan`), so each signal costs O(steps).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use yaml_rust2::{Yaml, YamlLoader};

use super::signal::{EventKey, Evidence};
use crate::sigma::correlation::{CorrelationRule, allowed_lateness, parse_timespan};
use crate::sigma::loader::{RuleCheck, rule_files};
use crate::sigma::rule::{RuleMeta, parse_meta};

/// One step of a sequence as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceStep {
    /// The rule's id or name.
    pub rule: String,
    /// This step's fields for the join key (default: the sequence's `by`).
    pub by: Option<Vec<String>>,
    pub repeat: u32,
    pub absent: bool,
}

/// A sequence rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceRule {
    pub meta: RuleMeta,
    pub by: Vec<String>,
    pub maxspan_seconds: u64,
    pub steps: Vec<SequenceStep>,
    pub until: Option<SequenceStep>,
    /// weft's `allowed-lateness` (seconds), as for correlations.
    pub allowed_lateness_seconds: Option<u64>,
}

/// The compiled matching plan (positions in the correlation's inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencePlan {
    /// Positive steps, repeats expanded.
    pub stages: Vec<usize>,
    /// Per stage, the inputs that must not occur between it and the next stage.
    pub absent_after: Vec<Vec<usize>>,
    /// Inputs that must not follow the last stage within the span from the first.
    pub trailing_absent: Vec<usize>,
    pub until: Option<usize>,
}

/// A partial match: steps `0..=stage` matched, starting at `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub start: i64,
    pub chain: Vec<(EventKey, Evidence)>,
}

fn text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        _ => None,
    }
}

fn list(yaml: Option<&Yaml>, what: &str) -> Result<Option<Vec<String>>, String> {
    match yaml {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::Array(items)) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| format!("`{what}` must be a list of field names")),
        Some(other) => text(other)
            .map(|one| Some(vec![one]))
            .ok_or_else(|| format!("`{what}` must be a list of field names")),
    }
}

fn step(yaml: &Yaml) -> Result<SequenceStep, String> {
    if let Some(rule) = text(yaml) {
        return Ok(SequenceStep {
            rule,
            by: None,
            repeat: 1,
            absent: false,
        });
    }
    let Yaml::Hash(map) = yaml else {
        return Err("a step is a rule name or a map with `rule`".into());
    };
    let get = |key: &str| map.get(&Yaml::String(key.into()));
    let rule = get("rule")
        .and_then(text)
        .ok_or("a step needs `rule: <id or name>`")?;
    let repeat = match get("repeat") {
        None => 1,
        Some(Yaml::Integer(count)) if (1..=1_000).contains(count) => {
            u32::try_from(*count).map_err(|_| "`repeat` is too large")?
        }
        Some(_) => return Err("`repeat` must be a count from 1 to 1000".into()),
    };
    let absent = match get("absent") {
        None => false,
        Some(Yaml::Boolean(absent)) => *absent,
        Some(_) => return Err("`absent` must be true or false".into()),
    };
    for key in map.keys() {
        if !matches!(key.as_str(), Some("rule" | "by" | "repeat" | "absent")) {
            return Err(format!(
                "`{}` is not a step attribute",
                key.as_str().unwrap_or("?")
            ));
        }
    }
    Ok(SequenceStep {
        rule,
        by: list(get("by"), "by")?,
        repeat,
        absent,
    })
}

impl SequenceRule {
    fn from_yaml(map: &yaml_rust2::yaml::Hash) -> Result<SequenceRule, String> {
        let meta = parse_meta(map).map_err(|error| error.to_string())?;
        let Some(Yaml::Hash(body)) = map.get(&Yaml::String("sequence".into())) else {
            return Err("`sequence` must be a map".into());
        };
        let get = |key: &str| body.get(&Yaml::String(key.into()));
        let maxspan = get("maxspan")
            .and_then(text)
            .ok_or("`maxspan` is missing")?;
        let maxspan_seconds = parse_timespan(&maxspan)
            .ok_or_else(|| format!("`{maxspan}` is not a timespan like 5m"))?;
        let Some(Yaml::Array(items)) = get("steps") else {
            return Err("`steps` must be a list".into());
        };
        let steps = items.iter().map(step).collect::<Result<Vec<_>, _>>()?;
        if !steps.iter().any(|step| !step.absent) {
            return Err("a sequence needs at least one step that is not `absent`".into());
        }
        if steps.first().is_some_and(|step| step.absent) {
            return Err("the first step cannot be `absent`: absence is relative to a step".into());
        }
        let by = list(get("by"), "by")?.unwrap_or_default();
        for step in &steps {
            if let Some(fields) = &step.by
                && fields.len() != by.len()
            {
                return Err(format!(
                    "step `{}` names {} join field(s), the sequence's `by` {}",
                    step.rule,
                    fields.len(),
                    by.len()
                ));
            }
        }
        for key in body.keys() {
            if !matches!(
                key.as_str(),
                Some("by" | "maxspan" | "steps" | "until" | "allowed-lateness")
            ) {
                return Err(format!(
                    "`{}` is not a sequence attribute",
                    key.as_str().unwrap_or("?")
                ));
            }
        }
        let until = get("until").map(step).transpose()?;
        let allowed_lateness_seconds = allowed_lateness(get("allowed-lateness"))?;
        Ok(SequenceRule {
            meta,
            by,
            maxspan_seconds,
            allowed_lateness_seconds,
            steps,
            until,
        })
    }

    /// The correlation this sequence runs as: its rules, its `by` as group-by, the per-step
    /// fields as aliases, `maxspan` as timespan.
    pub fn as_correlation(&self) -> CorrelationRule {
        let mut rules: Vec<String> = Vec::new();
        let mut aliases: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for step in self.steps.iter().chain(&self.until) {
            if !rules.contains(&step.rule) {
                rules.push(step.rule.clone());
            }
            if let Some(fields) = &step.by {
                for (group, field) in self.by.iter().zip(fields) {
                    aliases
                        .entry(group.clone())
                        .or_default()
                        .insert(step.rule.clone(), field.clone());
                }
            }
        }
        CorrelationRule {
            meta: self.meta.clone(),
            kind: "sequence".into(),
            rules,
            group_by: self.by.clone(),
            timespan_seconds: self.maxspan_seconds,
            condition: BTreeMap::new(),
            expression: None,
            field: None,
            generate: false,
            aliases,
            allowed_lateness_seconds: self.allowed_lateness_seconds,
            baseline: None,
        }
    }

    /// The plan over the correlation's inputs, given each rule reference's input position.
    pub fn plan(&self, input_of: &dyn Fn(&str) -> Option<usize>) -> Option<SequencePlan> {
        let mut plan = SequencePlan {
            stages: Vec::new(),
            absent_after: Vec::new(),
            trailing_absent: Vec::new(),
            until: None,
        };
        for step in &self.steps {
            let input = input_of(&step.rule)?;
            if step.absent {
                match plan.absent_after.last_mut() {
                    Some(absent) => absent.push(input),
                    None => return None,
                }
            } else {
                for _ in 0..step.repeat {
                    plan.stages.push(input);
                    plan.absent_after.push(Vec::new());
                }
            }
        }
        if let Some(last) = plan.absent_after.last_mut() {
            plan.trailing_absent = std::mem::take(last);
        }
        plan.until = match &self.until {
            Some(step) => Some(input_of(&step.rule)?),
            None => None,
        };
        Some(plan)
    }
}

/// The sequence documents (top-level `sequence:`) of a YAML text; other documents are left to
/// the Sigma loader. Errors name the document (0-based) and what is wrong.
pub fn parse_sequences(text: &str) -> (Vec<SequenceRule>, Vec<(usize, String)>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let documents = match YamlLoader::load_from_str(text) {
        Ok(documents) => documents,
        Err(error) => {
            errors.push((0, format!("invalid yaml: {error}")));
            return (rules, errors);
        }
    };
    for (index, document) in documents.iter().enumerate() {
        let Yaml::Hash(map) = document else {
            continue;
        };
        if !map.contains_key(&Yaml::String("sequence".into())) {
            continue;
        }
        match SequenceRule::from_yaml(map) {
            Ok(rule) => rules.push(rule),
            Err(reason) => errors.push((index, reason)),
        }
    }
    (rules, errors)
}

/// Sequences found in rule files and directories (the same walk as the Sigma loader).
#[derive(Debug, Default)]
pub struct LoadedSequences {
    pub rules: Vec<SequenceRule>,
    /// (file, document, what is wrong).
    pub errors: Vec<(PathBuf, usize, String)>,
    /// Every sequence document (file, document), valid or not: the Sigma loader's verdict on
    /// these is not about a Sigma rule.
    pub documents: Vec<(PathBuf, usize)>,
}

impl LoadedSequences {
    /// The verdict on every sequence document, as `weft rules check` reports it (unreadable
    /// paths are the Sigma loader's to report).
    pub fn checks(&self) -> Vec<RuleCheck> {
        let mut rules = self.rules.iter();
        self.documents
            .iter()
            .map(|(file, document)| {
                let refusal = self
                    .errors
                    .iter()
                    .find(|(path, index, _)| path == file && index == document);
                match refusal {
                    Some((_, _, reason)) => RuleCheck {
                        path: Some(file.clone()),
                        id: None,
                        title: None,
                        status: "refused",
                        reason: Some(format!("invalid sequence: {reason}")),
                    },
                    None => {
                        let meta = rules.next().map(|rule| &rule.meta);
                        RuleCheck {
                            path: Some(file.clone()),
                            id: meta.and_then(|meta| meta.id.clone()),
                            title: meta.map(|meta| meta.title.clone()),
                            status: "loaded",
                            reason: None,
                        }
                    }
                }
            })
            .collect()
    }
}

/// Reads the sequence documents of every rule file under `paths`.
pub fn load_sequence_paths(paths: &[PathBuf]) -> LoadedSequences {
    let mut loaded = LoadedSequences::default();
    for path in paths {
        let files = match rule_files(path) {
            Ok(files) => files,
            Err(error) => {
                loaded.errors.push((path.clone(), 0, error.to_string()));
                continue;
            }
        };
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue; // the Sigma loader reports unreadable files
            };
            if !text.contains("sequence:") {
                continue;
            }
            let Ok(documents) = YamlLoader::load_from_str(&text) else {
                continue;
            };
            for (index, document) in documents.iter().enumerate() {
                if let Yaml::Hash(map) = document
                    && is_sequence_document(map)
                {
                    loaded.documents.push((file.clone(), index));
                    match SequenceRule::from_yaml(map) {
                        Ok(rule) => loaded.rules.push(rule),
                        Err(reason) => loaded.errors.push((file.clone(), index, reason)),
                    }
                }
            }
        }
    }
    loaded
}

/// Whether a YAML document text holds a sequence (so the Sigma loader's verdict on it can be
/// set aside).
pub fn is_sequence_document(map: &yaml_rust2::yaml::Hash) -> bool {
    map.contains_key(&Yaml::String("sequence".into()))
}

/// Applies one signal of `input` to a group's partial matches; returns a completed match when
/// the sequence has no trailing absence (then the group's partials are reset).
pub fn advance(
    plan: &SequencePlan,
    partials: &mut Vec<Option<Partial>>,
    input: usize,
    key: EventKey,
    evidence: &Evidence,
    span: i64,
) -> Option<Partial> {
    let stages = plan.stages.len();
    if stages == 0 {
        return None;
    }
    if partials.len() != stages {
        partials.resize(stages, None);
    }
    if plan.until == Some(input) {
        partials.iter_mut().for_each(|partial| *partial = None);
        return None;
    }
    for (stage, absent) in plan.absent_after.iter().enumerate() {
        if absent.contains(&input) {
            partials[stage] = None;
        }
    }
    if plan.trailing_absent.contains(&input) {
        partials[stages - 1] = None;
    }
    // Latest stage first, so one signal advances a match by one stage only.
    for stage in (0..stages).rev() {
        if plan.stages[stage] != input {
            continue;
        }
        let candidate = if stage == 0 {
            Some(Partial {
                start: key.time,
                chain: vec![(key, evidence.clone())],
            })
        } else {
            partials[stage - 1]
                .as_ref()
                .filter(|previous| key.time.saturating_sub(previous.start) <= span)
                .map(|previous| {
                    let mut chain = previous.chain.clone();
                    chain.push((key, evidence.clone()));
                    Partial {
                        start: previous.start,
                        chain,
                    }
                })
        };
        if let Some(candidate) = candidate
            && partials[stage]
                .as_ref()
                .is_none_or(|old| candidate.start >= old.start)
        {
            partials[stage] = Some(candidate);
        }
    }
    if plan.trailing_absent.is_empty()
        && let Some(done) = partials[stages - 1].take()
    {
        partials.iter_mut().for_each(|partial| *partial = None);
        return Some(done);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "title: stolen session
sequence:
    by: [session]
    maxspan: 10m
    steps:
        - rule: gateway_login
          by: [session_id]
        - rule: mfa_passed
          absent: true
        - rule: token_refresh
          repeat: 3
        - db_export
    until: logout
";

    #[test]
    fn parses_steps_and_plans_them() {
        let (rules, errors) = parse_sequences(EXAMPLE);
        assert!(errors.is_empty(), "{errors:?}");
        let rule = &rules[0];
        assert_eq!(rule.maxspan_seconds, 600);
        let correlation = rule.as_correlation();
        assert_eq!(
            correlation.rules,
            vec![
                "gateway_login",
                "mfa_passed",
                "token_refresh",
                "db_export",
                "logout"
            ]
        );
        assert_eq!(
            correlation.aliases["session"]["gateway_login"],
            "session_id"
        );
        let names = [
            "gateway_login",
            "mfa_passed",
            "token_refresh",
            "db_export",
            "logout",
        ];
        let plan = rule
            .plan(&|name| names.iter().position(|known| *known == name))
            .expect("plan");
        assert_eq!(plan.stages, vec![0, 2, 2, 2, 3]);
        assert_eq!(plan.absent_after[0], vec![1]);
        assert!(plan.trailing_absent.is_empty());
        assert_eq!(plan.until, Some(4));
    }

    #[test]
    fn refuses_bad_sequences() {
        let bad = [
            "title: t\nsequence:\n    steps: [a]\n",
            "title: t\nsequence:\n    maxspan: 5m\n    steps:\n        - rule: a\n          absent: true\n",
            "title: t\nsequence:\n    maxspan: 5m\n    by: [x]\n    steps:\n        - rule: a\n          by: [x, y]\n",
            "title: t\nsequence:\n    maxspan: 5m\n    steps:\n        - rule: a\n          repeat: 0\n",
            "title: t\nsequence:\n    maxspan: 5m\n    within: 5m\n    steps: [a]\n",
        ];
        for text in bad {
            let (rules, errors) = parse_sequences(text);
            assert!(rules.is_empty() && errors.len() == 1, "{text}");
        }
    }
}
