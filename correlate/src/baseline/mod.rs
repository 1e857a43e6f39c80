//! weft's learned baselines: a rule type that learns, per entity or pair of entities (service →
//! service, user → service, service → external address), how often they occur per bucket of
//! event time and seasonal slot (hour of the week, hour of the day), and alerts on a pair seen
//! for the first time once the training window is over (`new-pair`, Elastic's `new_terms`
//! idea) and on a closed bucket far above its slot's learned rate (`spike`).
//!
//! ```yaml
//! title: Service calls a service it never called
//! id: 6d0c2f4e-3b1a-4d7e-9a5c-1f2e3d4c5b6a
//! level: medium
//! baseline:
//!     where:                    # the events counted: a Sigma selection (or `rules: [...]`)
//!         class: http_activity
//!     of: [caller, service]     # the pair: schema columns or attrs keys (1 to 4 fields)
//!     # sum: bytes              # optional: learn the sum of a numeric field, not the count
//!     learn: 14d                # training window, and the memory of the statistics
//!     bucket: 1h                # counting interval, aligned on the epoch (UTC)
//!     seasonality: hour-of-week # or hour-of-day, or none
//!     alert-on: [new-pair, spike]
//!     deviation: {z: 3, min: 10, ratio: 1}
//!     min-history: 2            # buckets a slot needs before it is judged for spikes
//! ```
//!
//! A baseline document loads as two documents: a helper Sigma rule for `where` (its own id
//! derived from the baseline's, level `informational`, logsource `product: weft, service:
//! baseline` unless the document names one) and a correlation of type `baseline` over it (or
//! over the rules it names). The correlator runs it ([`state`]), in event time, with the
//! other correlations: the same watermarks, lateness, checkpoints and alerts, so streaming,
//! backtests and `weft rules test` agree. [`stats`] holds the per-slot statistics and the
//! spike test. `docs/rules.md` documents the semantics for rule authors.

pub mod state;
pub mod stats;

use std::collections::BTreeMap;

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

use crate::sigma::correlation::{CorrelationRule, allowed_lateness, parse_timespan};
use crate::sigma::error::{RuleError, RuleErrorKind, RuleOrigin};
use crate::sigma::rule::{SigmaDocument, parse_document, parse_meta};

pub use state::{BASELINE_STATE_VERSION, BaselineState};
pub use stats::{Deviation, SlotStats};

/// The attributes a `baseline:` map may hold.
const ATTRIBUTES: [&str; 13] = [
    "where",
    "rules",
    "of",
    "sum",
    "learn",
    "bucket",
    "seasonality",
    "alert-on",
    "deviation",
    "min-history",
    "max-pairs",
    "allowed-lateness",
    "generate",
];

/// Live pairs a baseline rule keeps when `max-pairs` is not given.
pub const DEFAULT_MAX_PAIRS: usize = 100_000;

const HOUR: i64 = 3_600_000_000;

/// Seasonal slots a baseline may keep per pair (5-minute buckets by the week).
const MAX_SLOTS: i64 = 2_016;

/// How buckets fold into seasonal slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seasonality {
    /// One slot per bucket of the week (168 for hourly buckets), UTC.
    HourOfWeek,
    /// One slot per bucket of the day (24 for hourly buckets), UTC.
    HourOfDay,
    /// One slot: every bucket is compared with all the others.
    None,
}

impl Seasonality {
    /// The length of one season, microseconds (`None` for no seasonality).
    fn period(self) -> Option<i64> {
        match self {
            Seasonality::HourOfWeek => Some(168 * HOUR),
            Seasonality::HourOfDay => Some(24 * HOUR),
            Seasonality::None => None,
        }
    }
}

/// A baseline rule's parameters, validated (times in microseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineSpec {
    pub learn: i64,
    pub bucket: i64,
    pub seasonality: Seasonality,
    /// Slots per season (1 without seasonality).
    pub slots: u32,
    pub new_pair: bool,
    pub spike: bool,
    /// The numeric field summed per bucket (`sum`), instead of counting events.
    pub sum: Option<String>,
    pub deviation: Deviation,
    /// Buckets a slot must hold before a bucket of it can be a spike.
    pub min_history: u32,
    /// Buckets each slot receives in the training window: the statistics' memory.
    pub memory: u32,
    pub max_pairs: usize,
}

impl BaselineSpec {
    /// The bucket holding `time`: its index since the epoch.
    pub fn bucket_of(&self, time: i64) -> i64 {
        time.div_euclid(self.bucket)
    }

    /// The first microsecond of bucket `index`.
    pub fn bucket_start(&self, index: i64) -> i64 {
        index.saturating_mul(self.bucket)
    }

    /// The last microsecond of bucket `index` (inclusive).
    pub fn bucket_end(&self, index: i64) -> i64 {
        self.bucket_start(index.saturating_add(1)).saturating_sub(1)
    }

    /// The seasonal slot of bucket `index`.
    pub fn slot_of(&self, index: i64) -> usize {
        usize::try_from(index.rem_euclid(i64::from(self.slots.max(1)))).unwrap_or(0)
    }
}

/// What a baseline's learned state depends on: the rule, the events it counts, the pair's
/// fields, and the buckets (`learn`, `bucket`, `seasonality`). Changing `alert-on`,
/// `deviation`, `min-history` or `max-pairs` (or any other rule) keeps what was learned.
pub fn state_key(rule: &CorrelationRule) -> String {
    let label = rule.meta.label();
    match &rule.baseline {
        None => label,
        Some(spec) => format!(
            "{label}|{:?}|{:?}|{}|{}|{:?}",
            rule.rules, rule.group_by, spec.learn, spec.bucket, spec.seasonality
        ),
    }
}

/// Whether `map` is a baseline document.
pub fn is_baseline(map: &Hash) -> bool {
    map.contains_key(&key("baseline"))
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_string())
}

fn text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        _ => None,
    }
}

fn names(yaml: Option<&Yaml>, what: &str) -> Result<Vec<String>, String> {
    let list = match yaml {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Array(items)) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("`{what}` must be a list of names"))?,
        Some(other) => {
            vec![text(other).ok_or_else(|| format!("`{what}` must be a list of names"))?]
        }
    };
    Ok(list
        .into_iter()
        .map(|name| name.trim().to_string())
        .collect())
}

fn duration(body: &Hash, name: &str, default: &str) -> Result<i64, String> {
    let written = match body.get(&key(name)) {
        None => default.to_string(),
        Some(value) => text(value).unwrap_or_default(),
    };
    parse_timespan(&written)
        .filter(|seconds| *seconds > 0 && *seconds <= 366 * 86_400)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .map(|seconds| seconds * 1_000_000)
        .ok_or_else(|| {
            format!("`{name}: {written}` is not a duration like 1h, 14d or 2w (at most a year)")
        })
}

fn number(map: &Hash, name: &str, default: f64) -> Result<f64, String> {
    match map.get(&key(name)) {
        None => Ok(default),
        Some(value) => text(value)
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|number| number.is_finite() && *number >= 0.0)
            .ok_or_else(|| format!("`deviation` `{name}` must be a number ≥ 0")),
    }
}

fn count(body: &Hash, name: &str) -> Result<Option<u64>, String> {
    match body.get(&key(name)) {
        None => Ok(None),
        Some(Yaml::Integer(number)) if *number > 0 => Ok(u64::try_from(*number).ok()),
        Some(_) => Err(format!("`{name}` must be a whole number ≥ 1")),
    }
}

/// Reads the `baseline:` map of `document`: the parameters, the events counted (`where`, or
/// `rules`), the pair's fields and the lateness.
pub fn spec_of(
    document: &Hash,
) -> Result<(BaselineSpec, Counted, Vec<String>, Option<u64>), String> {
    let Some(Yaml::Hash(body)) = document.get(&key("baseline")) else {
        return Err("`baseline` must be a map with `of`, and `where` or `rules`".to_string());
    };
    if let Some(unknown) = body
        .keys()
        .find(|name| !name.as_str().is_some_and(|name| ATTRIBUTES.contains(&name)))
    {
        return Err(format!(
            "`{}` is not a baseline attribute ({})",
            unknown.as_str().unwrap_or("?"),
            ATTRIBUTES.join(", ")
        ));
    }
    for own in ["detection", "correlation", "policy", "sequence"] {
        if document.contains_key(&key(own)) {
            return Err(format!("a baseline has no `{own}`: it counts `where`"));
        }
    }
    let counted = match (body.get(&key("where")), body.get(&key("rules"))) {
        (Some(Yaml::Hash(selection)), None) => Counted::Where(selection.clone()),
        (None, Some(rules)) => {
            let rules = names(Some(rules), "rules")?;
            if rules.is_empty() {
                return Err("`rules` names no rule".to_string());
            }
            Counted::Rules(rules)
        }
        (Some(_), Some(_)) => {
            return Err("give `where` or `rules`, not both".to_string());
        }
        (Some(_), None) => return Err("`where` must be a map of field conditions".to_string()),
        (None, None) => {
            return Err(
                "say which events are counted: `where` (field conditions) or `rules`".to_string(),
            );
        }
    };
    let of = names(body.get(&key("of")), "of")?;
    if of.is_empty() || of.len() > 4 || of.iter().any(|field| field.is_empty()) {
        return Err("`of` must name 1 to 4 fields (the entity or the pair)".to_string());
    }
    if let Some(field) = of.iter().find(|field| field.contains('|')) {
        return Err(format!(
            "`of` field `{field}` has a modifier: name the field only"
        ));
    }
    let sum = match body.get(&key("sum")) {
        None => None,
        Some(Yaml::String(field)) if !field.trim().is_empty() && !field.contains('|') => {
            Some(field.trim().to_string())
        }
        Some(_) => return Err("`sum` must name one numeric field (no modifiers)".to_string()),
    };
    let learn = duration(body, "learn", "14d")?;
    let bucket = duration(body, "bucket", "1h")?;
    if learn < bucket {
        return Err("`learn` is shorter than one `bucket`".to_string());
    }
    let seasonality = match body.get(&key("seasonality")).map(text) {
        None => Seasonality::HourOfWeek,
        Some(Some(name)) if name == "hour-of-week" => Seasonality::HourOfWeek,
        Some(Some(name)) if name == "hour-of-day" => Seasonality::HourOfDay,
        Some(Some(name)) if name == "none" => Seasonality::None,
        Some(_) => {
            return Err("`seasonality` is `hour-of-week`, `hour-of-day` or `none`".to_string());
        }
    };
    let slots = match seasonality.period() {
        None => 1,
        Some(period) => {
            if period % bucket != 0 {
                return Err(format!(
                    "a `bucket` must divide the season ({}): use 1h, 30m, 15m, ...",
                    if period == 24 * HOUR { "1d" } else { "1w" }
                ));
            }
            let slots = period / bucket;
            if slots > MAX_SLOTS {
                return Err(format!(
                    "`bucket` is too short for `seasonality`: at most {MAX_SLOTS} slots per \
                     season (5m buckets by the week), each kept per pair"
                ));
            }
            u32::try_from(slots).map_err(|_| "`bucket` is too short".to_string())?
        }
    };
    let mut new_pair = false;
    let mut spike = false;
    let alert_on = match body.get(&key("alert-on")) {
        None => vec!["new-pair".to_string(), "spike".to_string()],
        written => names(written, "alert-on")?,
    };
    for kind in &alert_on {
        match kind.as_str() {
            "new-pair" => new_pair = true,
            "spike" => spike = true,
            other => {
                return Err(format!(
                    "`alert-on` lists `{other}`: the alerts are `new-pair` and `spike`"
                ));
            }
        }
    }
    if !new_pair && !spike {
        return Err("`alert-on` lists no alert (`new-pair`, `spike`)".to_string());
    }
    let deviation = match body.get(&key("deviation")) {
        None => Deviation::default(),
        Some(Yaml::Hash(map)) => {
            if let Some(unknown) = map
                .keys()
                .find(|name| !matches!(name.as_str(), Some("z" | "min" | "ratio")))
            {
                return Err(format!(
                    "`deviation` has `{}`: it holds `z`, `min` and `ratio`",
                    unknown.as_str().unwrap_or("?")
                ));
            }
            let defaults = Deviation::default();
            Deviation {
                z: number(map, "z", defaults.z)?,
                min: number(map, "min", defaults.min)?,
                ratio: number(map, "ratio", defaults.ratio)?,
            }
        }
        Some(_) => return Err("`deviation` must be a map like `{z: 3, min: 10}`".to_string()),
    };
    let buckets_in_learn = learn / bucket;
    let memory = u32::try_from((buckets_in_learn / i64::from(slots)).max(1)).unwrap_or(u32::MAX);
    let min_history = match count(body, "min-history")? {
        None => memory,
        Some(buckets) => u32::try_from(buckets).unwrap_or(u32::MAX),
    };
    let max_pairs = match count(body, "max-pairs")? {
        None => DEFAULT_MAX_PAIRS,
        Some(pairs) => usize::try_from(pairs).unwrap_or(usize::MAX),
    };
    let lateness = allowed_lateness(body.get(&key("allowed-lateness")))?;
    Ok((
        BaselineSpec {
            learn,
            bucket,
            seasonality,
            slots,
            new_pair,
            spike,
            sum,
            deviation,
            min_history,
            memory,
            max_pairs,
        },
        counted,
        of,
        lateness,
    ))
}

/// The events a baseline counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted {
    /// A Sigma selection, compiled into a helper rule.
    Where(Hash),
    /// Rules (or correlations) named by id or name.
    Rules(Vec<String>),
}

/// The id of the helper rule of a baseline labelled `label`: a UUID derived from it, so it is
/// stable and unique.
pub fn helper_id(label: &str) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(b"weft baseline where\0");
    hasher.update(label.as_bytes());
    let hex = format!("{:032x}", hasher.digest128());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The helper Sigma rule of `where`: the document's metadata (title suffixed, level
/// `informational`, id from [`helper_id`]), its `logsource` or `product: weft, service:
/// baseline`, and `selection: <where>`.
fn helper_rule(document: &Hash, selection: &Hash, id: &str) -> Yaml {
    let mut rule = Hash::new();
    for (name, value) in document {
        if !matches!(
            name.as_str(),
            Some("baseline" | "id" | "name" | "title" | "level" | "generate")
        ) {
            rule.insert(name.clone(), value.clone());
        }
    }
    let title = document
        .get(&key("title"))
        .and_then(Yaml::as_str)
        .unwrap_or("baseline");
    rule.insert(key("title"), key(&format!("{title}: counted events")));
    rule.insert(key("id"), key(id));
    rule.insert(key("level"), key("informational"));
    if !rule.contains_key(&key("logsource")) {
        let mut logsource = Hash::new();
        logsource.insert(key("product"), key("weft"));
        logsource.insert(key("service"), key("baseline"));
        rule.insert(key("logsource"), Yaml::Hash(logsource));
    }
    let mut detection = Hash::new();
    detection.insert(key("selection"), Yaml::Hash(selection.clone()));
    detection.insert(key("condition"), key("selection"));
    rule.insert(key("detection"), Yaml::Hash(detection));
    Yaml::Hash(rule)
}

/// The documents a baseline document loads as: the helper rule of `where` (when it has one)
/// and the `baseline` correlation.
pub fn documents(document: &Hash, origin: &RuleOrigin) -> Vec<Result<SigmaDocument, RuleError>> {
    let mut origin = origin.clone();
    origin.rule = ["id", "name", "title"]
        .iter()
        .find_map(|name| document.get(&key(name)).and_then(Yaml::as_str))
        .map(str::to_string);
    let fail = |kind| RuleError::new(origin.clone(), kind);
    let meta = match parse_meta(document) {
        Ok(meta) => meta,
        Err(kind) => return vec![Err(fail(kind))],
    };
    let (spec, counted, of, lateness) = match spec_of(document) {
        Ok(parts) => parts,
        Err(reason) => return vec![Err(fail(RuleErrorKind::InvalidBaseline(reason)))],
    };
    let mut out = Vec::new();
    let rules = match counted {
        Counted::Rules(rules) => rules,
        Counted::Where(selection) => {
            let id = helper_id(&meta.label());
            out.push(parse_document(
                &helper_rule(document, &selection, &id),
                origin.clone(),
            ));
            vec![id]
        }
    };
    let generate = document
        .get(&key("generate"))
        .or_else(|| match document.get(&key("baseline")) {
            Some(Yaml::Hash(body)) => body.get(&key("generate")),
            _ => None,
        })
        .and_then(Yaml::as_bool)
        .unwrap_or(false);
    out.push(Ok(SigmaDocument::Correlation(CorrelationRule {
        meta,
        kind: "baseline".into(),
        rules,
        group_by: of,
        timespan_seconds: u64::try_from(spec.bucket / 1_000_000).unwrap_or(u64::MAX),
        condition: BTreeMap::new(),
        expression: None,
        field: spec.sum.clone(),
        generate,
        aliases: BTreeMap::new(),
        allowed_lateness_seconds: lateness,
        baseline: Some(spec),
    })));
    out
}

#[cfg(test)]
mod tests {
    use yaml_rust2::YamlLoader;

    use super::*;

    fn document(text: &str) -> Hash {
        let documents = YamlLoader::load_from_str(text).expect("yaml");
        match documents.into_iter().next() {
            Some(Yaml::Hash(map)) => map,
            other => panic!("not a map: {other:?}"),
        }
    }

    const BASELINE: &str = "title: New calls
id: 6d0c2f4e-3b1a-4d7e-9a5c-1f2e3d4c5b6a
level: medium
baseline:
    where:
        class: http_activity
    of: [caller, service]
    learn: 14d
    bucket: 1h
";

    #[test]
    fn a_baseline_loads_as_a_helper_rule_and_a_correlation() {
        let loaded = documents(&document(BASELINE), &RuleOrigin::default());
        assert_eq!(loaded.len(), 2);
        let Ok(SigmaDocument::Rule(helper)) = &loaded[0] else {
            panic!("helper rule: {:?}", loaded[0]);
        };
        let Ok(SigmaDocument::Correlation(correlation)) = &loaded[1] else {
            panic!("correlation: {:?}", loaded[1]);
        };
        assert_eq!(
            helper.meta.id.as_deref(),
            Some(helper_id("6d0c2f4e-3b1a-4d7e-9a5c-1f2e3d4c5b6a").as_str())
        );
        assert_eq!(helper.meta.title, "New calls: counted events");
        assert_eq!(helper.logsource.product.as_deref(), Some("weft"));
        assert_eq!(correlation.kind, "baseline");
        assert_eq!(correlation.rules, vec![helper.meta.id.clone().expect("id")]);
        assert_eq!(correlation.group_by, vec!["caller", "service"]);
        assert_eq!(correlation.timespan_seconds, 3_600);
        let spec = correlation.baseline.as_ref().expect("spec");
        assert_eq!(spec.slots, 168);
        assert_eq!(
            spec.memory, 2,
            "14 days give each hour of the week two buckets"
        );
        assert_eq!(spec.min_history, 2);
        assert!(spec.new_pair && spec.spike);
        assert_eq!(spec.deviation, Deviation::default());
    }

    #[test]
    fn broken_baselines_say_what_is_wrong() {
        let cases = [
            ("    of: [a]\n", "say which events are counted"),
            ("    where: {class: x}\n", "`of` must name 1 to 4 fields"),
            (
                "    rules: [r]\n    where: {a: b}\n    of: [a]\n",
                "not both",
            ),
            ("    rules: [r]\n    of: [a, b, c, d, e]\n", "1 to 4 fields"),
            ("    rules: [r]\n    of: ['a|contains']\n", "has a modifier"),
            (
                "    rules: [r]\n    of: [a]\n    bucket: 11m\n",
                "must divide the season",
            ),
            (
                "    rules: [r]\n    of: [a]\n    bucket: soon\n",
                "is not a duration",
            ),
            (
                "    rules: [r]\n    of: [a]\n    bucket: 1m\n",
                "at most 2016 slots",
            ),
            (
                "    rules: [r]\n    of: [a]\n    learn: 30m\n",
                "shorter than one `bucket`",
            ),
            (
                "    rules: [r]\n    of: [a]\n    seasonality: monthly\n",
                "`seasonality` is",
            ),
            (
                "    rules: [r]\n    of: [a]\n    alert-on: [dip]\n",
                "lists `dip`",
            ),
            (
                "    rules: [r]\n    of: [a]\n    alert-on: []\n",
                "lists no alert",
            ),
            (
                "    rules: [r]\n    of: [a]\n    deviation: {sigma: 2}\n",
                "has `sigma`",
            ),
            (
                "    rules: [r]\n    of: [a]\n    deviation: {z: -1}\n",
                "must be a number",
            ),
            (
                "    rules: [r]\n    of: [a]\n    min-history: 0\n",
                "whole number",
            ),
            (
                "    rules: [r]\n    of: [a]\n    window: 1h\n",
                "not a baseline attribute",
            ),
        ];
        for (body, expected) in cases {
            let text = format!("title: t\nbaseline:\n{body}");
            let loaded = documents(&document(&text), &RuleOrigin::default());
            let Some(Err(error)) = loaded.last() else {
                panic!("{body}: loaded {loaded:?}");
            };
            let message = error.to_string();
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn buckets_and_slots_are_aligned_on_the_epoch() {
        let text =
            "title: t\nbaseline:\n    rules: [r]\n    of: [a]\n    seasonality: hour-of-day\n";
        let (spec, counted, _, _) = spec_of(&document(text)).expect("valid");
        assert_eq!(counted, Counted::Rules(vec!["r".into()]));
        assert_eq!(spec.slots, 24);
        assert_eq!(spec.memory, 14);
        assert_eq!(spec.bucket_of(-1), -1);
        assert_eq!(spec.bucket_end(0), HOUR - 1);
        assert_eq!(spec.slot_of(25), 1);
        assert_eq!(spec.slot_of(-1), 23);
    }
}
