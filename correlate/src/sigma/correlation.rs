//! Correlation rule documents (`correlation:`): loaded and validated here so that rule sets
//! holding them load; the correlation engine evaluates them.

use std::collections::BTreeMap;

use yaml_rust2::Yaml;

use super::error::RuleErrorKind;
use super::rule::RuleMeta;

/// The correlation types of the specification, plus pySigma's `value_median`.
pub const CORRELATION_TYPES: [&str; 8] = [
    "event_count",
    "value_count",
    "temporal",
    "temporal_ordered",
    "value_sum",
    "value_avg",
    "value_percentile",
    "value_median",
];

/// A validated correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRule {
    pub meta: RuleMeta,
    pub kind: String,
    /// Ids or names of the rules it correlates.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// The window length in seconds.
    pub timespan_seconds: u64,
    /// Comparisons (`gt`, `gte`, ... ) to their thresholds, as written.
    pub condition: BTreeMap<String, String>,
    /// A temporal correlation's boolean expression over rule names (pySigma's extended
    /// temporal correlations: `condition: failed_logon and successful_logon`).
    pub expression: Option<String>,
    /// The field aggregated by `value_*` types.
    pub field: Option<String>,
    pub generate: bool,
    /// `aliases`: alias -> (rule -> field).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// weft's `allowed-lateness` (seconds): how long this correlation waits for late events,
    /// instead of the configured default.
    pub allowed_lateness_seconds: Option<u64>,
    /// A weft baseline's parameters (`crate::baseline`; type `baseline`).
    pub baseline: Option<crate::baseline::BaselineSpec>,
}

/// Reads weft's `allowed-lateness: 15m` of a correlation or sequence.
pub(crate) fn allowed_lateness(value: Option<&Yaml>) -> Result<Option<u64>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = text(value).unwrap_or_default();
    parse_timespan(&text)
        .filter(|seconds| *seconds <= 7 * 86_400)
        .map(Some)
        .ok_or_else(|| {
            format!("`allowed-lateness: {text}` is not a duration like 30s, 15m or 2h (at most 7d)")
        })
}

fn invalid(reason: impl Into<String>) -> RuleErrorKind {
    RuleErrorKind::InvalidCorrelation(reason.into())
}

fn text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        _ => None,
    }
}

fn text_list(yaml: Option<&Yaml>, what: &str) -> Result<Vec<String>, RuleErrorKind> {
    match yaml {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Array(items)) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(format!("`{what}` must be a list of names"))),
        Some(other) => text(other)
            .map(|single| vec![single])
            .ok_or_else(|| invalid(format!("`{what}` must be a list of names"))),
    }
}

/// Parses `Xs`, `Xm`, `Xh`, `Xd` (and `Xw`, `XM`, `Xy`) into seconds.
pub fn parse_timespan(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let number: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        'M' => 2_592_000,
        'y' => 31_536_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

impl CorrelationRule {
    pub(super) fn from_yaml(
        meta: RuleMeta,
        yaml: &Yaml,
        document: &yaml_rust2::yaml::Hash,
    ) -> Result<CorrelationRule, RuleErrorKind> {
        let Yaml::Hash(map) = yaml else {
            return Err(invalid("`correlation` must be a map"));
        };
        let get = |key: &str| map.get(&Yaml::String(key.to_string()));
        let kind = get("type")
            .and_then(Yaml::as_str)
            .ok_or_else(|| invalid("`type` is missing"))?
            .to_string();
        if !CORRELATION_TYPES.contains(&kind.as_str()) {
            return Err(invalid(format!("`{kind}` is not a correlation type")));
        }
        let mut rules = text_list(get("rules"), "rules")?;
        let expression = match get("condition") {
            Some(Yaml::String(expression)) if kind.starts_with("temporal") => {
                Some(expression.clone())
            }
            _ => None,
        };
        if let Some(expression) = &expression
            && rules.is_empty()
        {
            rules = expression
                .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                .filter(|word| {
                    !word.is_empty()
                        && !matches!(word.to_ascii_lowercase().as_str(), "and" | "or" | "not")
                })
                .map(str::to_string)
                .collect();
        }
        if rules.is_empty() {
            return Err(invalid("`rules` names no rule"));
        }
        let group_by = text_list(get("group-by"), "group-by")?;
        let timespan = get("timespan")
            .and_then(text)
            .ok_or_else(|| invalid("`timespan` is missing"))?;
        let timespan_seconds = parse_timespan(&timespan)
            .ok_or_else(|| invalid(format!("`{timespan}` is not a timespan like 5m")))?;
        let mut condition = BTreeMap::new();
        let mut field = None;
        match get("condition") {
            None if kind.starts_with("temporal") => {}
            Some(Yaml::String(_)) if expression.is_some() => {}
            None => return Err(invalid("`condition` is missing")),
            Some(Yaml::Hash(entries)) => {
                for (key, value) in entries {
                    let (Some(key), Some(value)) = (key.as_str(), text(value)) else {
                        return Err(invalid("`condition` holds `operator: number` pairs"));
                    };
                    match key {
                        "field" => field = Some(value),
                        "percentile" => {
                            value.parse::<f64>().map_err(|_| {
                                invalid(format!("`percentile: {value}` needs a number"))
                            })?;
                            condition.insert(key.to_string(), value);
                        }
                        "gt" | "gte" | "lt" | "lte" | "eq" | "neq" => {
                            value
                                .parse::<f64>()
                                .map_err(|_| invalid(format!("`{key}: {value}` needs a number")))?;
                            condition.insert(key.to_string(), value);
                        }
                        other => {
                            return Err(invalid(format!("`{other}` is not a condition operator")));
                        }
                    }
                }
                if condition.is_empty() {
                    return Err(invalid("`condition` has no comparison"));
                }
            }
            Some(_) => return Err(invalid("`condition` must be a map like `gte: 10`")),
        }
        if kind.starts_with("value_") && field.is_none() {
            return Err(invalid(format!("`{kind}` needs `field` in its condition")));
        }
        let mut aliases = BTreeMap::new();
        if let Some(Yaml::Hash(entries)) = get("aliases") {
            for (alias, mapping) in entries {
                let (Some(alias), Yaml::Hash(mapping)) = (alias.as_str(), mapping) else {
                    return Err(invalid("`aliases` maps an alias to `rule: field` pairs"));
                };
                let mut fields = BTreeMap::new();
                for (rule, field) in mapping {
                    let (Some(rule), Some(field)) = (text(rule), text(field)) else {
                        return Err(invalid("`aliases` maps an alias to `rule: field` pairs"));
                    };
                    fields.insert(rule, field);
                }
                aliases.insert(alias.to_string(), fields);
            }
        }
        let allowed_lateness_seconds =
            allowed_lateness(get("allowed-lateness")).map_err(invalid)?;
        let generate = map
            .get(&Yaml::String("generate".into()))
            .or_else(|| document.get(&Yaml::String("generate".into())))
            .and_then(Yaml::as_bool)
            .unwrap_or(false);
        Ok(CorrelationRule {
            meta,
            kind,
            rules,
            group_by,
            timespan_seconds,
            condition,
            expression,
            field,
            generate,
            aliases,
            allowed_lateness_seconds,
            baseline: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5m"), Some(300));
        assert_eq!(parse_timespan("90m"), Some(5_400));
        assert_eq!(parse_timespan("1d"), Some(86_400));
        assert_eq!(parse_timespan("5"), None);
        assert_eq!(parse_timespan("m"), None);
    }

    #[test]
    fn allowed_lateness_reads_a_duration_up_to_a_week() {
        let read = |text: &str| allowed_lateness(Some(&Yaml::String(text.to_string())));
        assert_eq!(allowed_lateness(None), Ok(None));
        assert_eq!(read("15m"), Ok(Some(900)));
        assert_eq!(read("7d"), Ok(Some(7 * 86_400)));
        for bad in ["soon", "8d", "15", ""] {
            let error = read(bad).expect_err(bad);
            assert!(error.contains("allowed-lateness"), "{error}");
        }
    }
}
