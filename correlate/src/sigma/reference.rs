//! The reference evaluator: one event at a time, straight from the [`RulePlan`], every pattern
//! turned into a regular expression. Slow and plainly correct; the batch matcher is tested
//! against it.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use weft_ingest::schema;

use super::columns::{AttrsReader, ColumnReader, KEYWORD_COLUMNS};
use super::compile::RulePlan;
use super::condition::Condition;
use super::error::MatchError;
use super::fieldmap::{FieldMapping, FieldSource};
use super::logsource::route_conditions;
use super::modifier::{ItemPlan, Test};
use super::values;
use super::wildcard::Pattern;

/// One event as plain text: its non-null columns and its attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatEvent {
    pub columns: BTreeMap<&'static str, String>,
    pub attrs: Vec<(String, String)>,
}

impl FlatEvent {
    /// Row `row` of a schema v1 batch.
    pub fn from_batch(batch: &RecordBatch, row: usize) -> Result<FlatEvent, MatchError> {
        let mut event = FlatEvent::default();
        for column in schema::SCALAR_COLUMNS {
            if let Some(text) = ColumnReader::new(batch, column)?.text(row) {
                event.columns.insert(column, text.into_owned());
            }
        }
        for (key, value) in AttrsReader::new(batch)?.entries(row) {
            event.attrs.push((key.to_string(), value.to_string()));
        }
        Ok(event)
    }

    fn source(&self, source: &FieldSource) -> Option<&str> {
        match source {
            FieldSource::Column(name) => self.columns.get(name).map(String::as_str),
            FieldSource::Attr(key) => self
                .attrs
                .iter()
                .find(|(name, _)| {
                    name == key || (name.contains(' ') && name.replace(' ', "") == *key)
                })
                .map(|(_, value)| value.as_str()),
        }
    }

    fn first(&self, sources: &[FieldSource]) -> Option<&str> {
        sources.iter().find_map(|source| self.source(source))
    }

    /// What keywords search: every attribute value, the message, the URL and the user agent.
    fn keyword_texts(&self) -> impl Iterator<Item = &str> {
        self.attrs.iter().map(|(_, value)| value.as_str()).chain(
            KEYWORD_COLUMNS
                .iter()
                .filter_map(|column| self.columns.get(column).map(String::as_str)),
        )
    }
}

fn pattern_matches(pattern: &Pattern, cased: bool, text: &str) -> bool {
    regex::Regex::new(&pattern.to_regex(!cased)).is_ok_and(|regex| regex.is_match(text))
}

fn test_value(
    test: &Test,
    value: Option<&str>,
    event: &FlatEvent,
    plan: &RulePlan,
    mapping: &FieldMapping,
) -> bool {
    match test {
        Test::Null => value.is_none(),
        Test::Exists(wanted) => value.is_some() == *wanted,
        Test::Pattern { pattern, cased } => {
            value.is_some_and(|text| pattern_matches(pattern, *cased, text))
        }
        Test::Regex { regex } => value
            .is_some_and(|text| regex::Regex::new(regex).is_ok_and(|regex| regex.is_match(text))),
        Test::Number {
            comparison,
            value: wanted,
        } => value
            .and_then(values::number)
            .is_some_and(|number| comparison.holds(number, *wanted)),
        Test::Time {
            part,
            comparison,
            value: wanted,
        } => value
            .and_then(|text| values::time_part(text, *part))
            .is_some_and(|number| comparison.holds(number, *wanted)),
        Test::Cidr(network) => value
            .and_then(values::ip)
            .is_some_and(|ip| network.contains(&ip)),
        Test::FieldRef {
            field,
            star_before,
            star_after,
            cased,
        } => {
            let other = event.first(&mapping.resolve(&plan.logsource, field));
            let (Some(text), Some(other)) = (value, other) else {
                return false;
            };
            let mut pattern = Pattern::literal(other);
            if *star_before {
                pattern.star_before();
            }
            if *star_after {
                pattern.star_after();
            }
            pattern_matches(&pattern, *cased, text)
        }
    }
}

fn item_matches(
    item: &ItemPlan,
    event: &FlatEvent,
    plan: &RulePlan,
    mapping: &FieldMapping,
) -> bool {
    let value_matches = |alternatives: &Vec<Test>| -> bool {
        match &item.field {
            Some(field) => {
                let value = event.first(&mapping.resolve(&plan.logsource, field));
                alternatives
                    .iter()
                    .any(|test| test_value(test, value, event, plan, mapping))
            }
            None => event.keyword_texts().any(|text| {
                alternatives
                    .iter()
                    .any(|test| test_value(test, Some(text), event, plan, mapping))
            }),
        }
    };
    let matched = if item.all {
        item.values.iter().all(value_matches)
    } else {
        item.values.iter().any(value_matches)
    };
    if item.negate {
        let present = match &item.field {
            Some(field) => event
                .first(&mapping.resolve(&plan.logsource, field))
                .is_some(),
            None => true,
        };
        present && !matched
    } else {
        matched
    }
}

fn condition_matches(
    condition: &Condition,
    event: &FlatEvent,
    plan: &RulePlan,
    mapping: &FieldMapping,
) -> bool {
    match condition {
        Condition::Search(index) => plan.searches[*index].iter().any(|group| {
            group
                .iter()
                .all(|item| item_matches(item, event, plan, mapping))
        }),
        Condition::Not(inner) => !condition_matches(inner, event, plan, mapping),
        Condition::And(parts) => parts
            .iter()
            .all(|part| condition_matches(part, event, plan, mapping)),
        Condition::Or(parts) => parts
            .iter()
            .any(|part| condition_matches(part, event, plan, mapping)),
    }
}

/// Whether the rule applies to the event (logsource) and its condition holds.
pub fn reference_matches(plan: &RulePlan, mapping: &FieldMapping, event: &FlatEvent) -> bool {
    let routed = route_conditions(&mapping.routes_for(&plan.logsource))
        .iter()
        .all(|(source, admitted)| {
            event
                .source(source)
                .is_some_and(|value| admitted.contains(&values::fold(value)))
        });
    routed && condition_matches(&plan.condition, event, plan, mapping)
}
