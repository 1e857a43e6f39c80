//! From a parsed rule (and the filters that apply to it) to a [`RulePlan`]: the condition
//! resolved to search identifiers, every detection item's modifiers applied. Both the batch
//! matcher and the reference evaluator run plans.

use super::condition::{Condition, parse_conditions};
use super::detection::Detection;
use super::error::{RuleError, RuleErrorKind};
use super::filter::SigmaFilter;
use super::modifier::{ItemPlan, PlanError, plan_item};
use super::placeholder::Placeholders;
use super::rule::LogSource;
use super::rule::{RuleMeta, SigmaRule};

/// A search identifier, planned: alternatives (OR) of conjunctions (AND) of items.
pub type SearchPlan = Vec<Vec<ItemPlan>>;

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub meta: RuleMeta,
    pub logsource: LogSource,
    /// Over [`RulePlan::searches`] by position.
    pub condition: Condition,
    pub searches: Vec<SearchPlan>,
    /// Titles of the filters applied.
    pub filters: Vec<String>,
}

fn plan_detection(
    detection: &Detection,
    placeholders: &Placeholders,
) -> Result<(Condition, Vec<SearchPlan>), RuleErrorKind> {
    let identifiers: Vec<&str> = detection
        .searches
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let condition = parse_conditions(&detection.conditions, &identifiers)?;
    let mut searches = Vec::with_capacity(detection.searches.len());
    for (identifier, search) in &detection.searches {
        let mut any_of = Vec::with_capacity(search.any_of.len());
        for group in &search.any_of {
            let mut items = Vec::with_capacity(group.len());
            for item in group {
                let plan = plan_item(
                    item.field.as_deref(),
                    &item.modifiers,
                    &item.values,
                    placeholders,
                )
                .map_err(|error| match error {
                    PlanError::Placeholder(name) => RuleErrorKind::UnconfiguredPlaceholder(name),
                    PlanError::Invalid(reason) => RuleErrorKind::InvalidValue {
                        identifier: identifier.clone(),
                        field: item.field.clone().unwrap_or_else(|| "keywords".into()),
                        reason,
                    },
                })?;
                items.push(plan);
            }
            any_of.push(items);
        }
        searches.push(any_of);
    }
    Ok((condition, searches))
}

fn shift(condition: Condition, offset: usize) -> Condition {
    match condition {
        Condition::Search(index) => Condition::Search(index + offset),
        Condition::Not(inner) => Condition::Not(Box::new(shift(*inner, offset))),
        Condition::And(parts) => {
            Condition::And(parts.into_iter().map(|part| shift(part, offset)).collect())
        }
        Condition::Or(parts) => {
            Condition::Or(parts.into_iter().map(|part| shift(part, offset)).collect())
        }
    }
}

/// Plans a rule with the filters that apply to it (`rule and not filter` for each).
pub fn compile_rule(
    rule: &SigmaRule,
    filters: &[&SigmaFilter],
    placeholders: &Placeholders,
) -> Result<RulePlan, RuleError> {
    let fail = |kind| RuleError::new(rule.origin.clone(), kind);
    let (mut condition, mut searches) =
        plan_detection(&rule.detection, placeholders).map_err(fail)?;
    let mut applied = Vec::new();
    for filter in filters {
        let (filter_condition, filter_searches) =
            plan_detection(&filter.detection, placeholders)
                .map_err(|kind| RuleError::new(filter.origin.clone(), kind))?;
        let offset = searches.len();
        searches.extend(filter_searches);
        condition = Condition::And(vec![
            condition,
            Condition::Not(Box::new(shift(filter_condition, offset))),
        ]);
        applied.push(filter.meta.title.clone());
    }
    Ok(RulePlan {
        meta: rule.meta.clone(),
        logsource: rule.logsource.clone(),
        condition,
        searches,
        filters: applied,
    })
}
