//! Sigma filters (`filter:` documents, conventionally `mf_*.yml`): a selection and condition
//! that, applied to the rules a filter names (or `rules: any`), suppresses their matches:
//! the rule's condition becomes `rule and not filter`, for rules whose logsource the filter's
//! logsource covers.

use yaml_rust2::Yaml;

use super::detection::Detection;
use super::error::{RuleErrorKind, RuleOrigin};
use super::rule::{LogSource, RuleMeta, SigmaRule};

/// Which rules a filter applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterTarget {
    /// `rules: any`: every rule with a matching logsource.
    Any,
    /// Rule ids or names.
    Rules(Vec<String>),
}

/// A validated filter document.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaFilter {
    pub meta: RuleMeta,
    pub logsource: LogSource,
    pub target: FilterTarget,
    /// The filter's search identifiers and condition.
    pub detection: Detection,
    pub origin: RuleOrigin,
}

impl SigmaFilter {
    pub(super) fn from_yaml(
        meta: RuleMeta,
        logsource: LogSource,
        yaml: &Yaml,
        origin: RuleOrigin,
    ) -> Result<SigmaFilter, RuleErrorKind> {
        let Yaml::Hash(map) = yaml else {
            return Err(RuleErrorKind::InvalidFilter(
                "`filter` must be a map".into(),
            ));
        };
        let target = match map.get(&Yaml::String("rules".into())) {
            Some(Yaml::String(any)) if any == "any" => FilterTarget::Any,
            Some(Yaml::String(one)) => FilterTarget::Rules(vec![one.clone()]),
            Some(Yaml::Array(items)) => FilterTarget::Rules(
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        RuleErrorKind::InvalidFilter("`rules` lists rule ids or names".into())
                    })?,
            ),
            _ => {
                return Err(RuleErrorKind::InvalidFilter(
                    "`rules` is missing: list rule ids, or `any`".into(),
                ));
            }
        };
        let mut rest = map.clone();
        rest.remove(&Yaml::String("rules".into()));
        let detection = Detection::from_yaml(&Yaml::Hash(rest))?;
        Ok(SigmaFilter {
            meta,
            logsource,
            target,
            detection,
            origin,
        })
    }

    /// Whether the filter applies to `rule`: named by id or name (or `any`), and each of the
    /// filter's logsource attributes equal to the rule's.
    pub fn applies_to(&self, rule: &SigmaRule) -> bool {
        let named = match &self.target {
            FilterTarget::Any => true,
            FilterTarget::Rules(names) => names.iter().any(|name| {
                rule.meta.id.as_deref() == Some(name.as_str())
                    || rule.meta.name.as_deref() == Some(name.as_str())
            }),
        };
        let same =
            |filter: &Option<String>, rule: &Option<String>| filter.is_none() || filter == rule;
        named
            && same(&self.logsource.product, &rule.logsource.product)
            && same(&self.logsource.category, &rule.logsource.category)
            && same(&self.logsource.service, &rule.logsource.service)
    }
}
