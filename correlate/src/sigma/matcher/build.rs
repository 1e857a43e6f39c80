//! Compiling rule plans into the matcher's fast form: field slots, string tests, and each
//! rule's prefilter needles.

use memchr::memmem;
use regex::Regex;
use rustc_hash::FxHashMap;

use super::{Expr, FastItem, FastTest, SourceRef, StrKind};
use crate::sigma::compile::RulePlan;
use crate::sigma::condition::Condition;
use crate::sigma::fieldmap::{FieldMapping, FieldSource};
use crate::sigma::modifier::{ItemPlan, Test};
use crate::sigma::prefilter::{Needle, NeedleSite, cost, test_needles};
use crate::sigma::wildcard::{Pattern, Token};

pub(super) struct Builder {
    pub(super) columns: Vec<&'static str>,
    pub(super) attr_keys: FxHashMap<String, u32>,
    pub(super) slots: Vec<Vec<SourceRef>>,
    pub(super) slot_index: FxHashMap<Vec<SourceRef>, u32>,
}

impl Builder {
    pub(super) fn source(&mut self, source: &FieldSource) -> SourceRef {
        match source {
            FieldSource::Column(name) => {
                let at = self
                    .columns
                    .iter()
                    .position(|column| column == name)
                    .unwrap_or_else(|| {
                        self.columns.push(name);
                        self.columns.len() - 1
                    });
                SourceRef::Column(at as u32)
            }
            FieldSource::Attr(key) => {
                let next = self.attr_keys.len() as u32;
                SourceRef::Attr(*self.attr_keys.entry(key.clone()).or_insert(next))
            }
        }
    }

    pub(super) fn slot(&mut self, sources: &[FieldSource]) -> u32 {
        let refs: Vec<SourceRef> = sources.iter().map(|source| self.source(source)).collect();
        if let Some(slot) = self.slot_index.get(&refs) {
            return *slot;
        }
        let slot = self.slots.len() as u32;
        self.slots.push(refs.clone());
        self.slot_index.insert(refs, slot);
        slot
    }
}

fn str_kind(pattern: &Pattern, cased: bool) -> StrKind {
    let pattern = if cased {
        pattern.clone()
    } else {
        pattern.lowercase()
    };
    match pattern.tokens.as_slice() {
        [] => StrKind::Exact(String::new()),
        [Token::Literal(text)] => StrKind::Exact(text.clone()),
        [Token::Star] => StrKind::Present,
        [Token::Literal(text), Token::Star] => StrKind::Prefix(text.clone()),
        [Token::Star, Token::Literal(text)] => StrKind::Suffix(text.clone()),
        [Token::Star, Token::Literal(text), Token::Star] => {
            StrKind::Contains(Box::new(memmem::Finder::new(text.as_bytes()).into_owned()))
        }
        _ => StrKind::Glob(pattern),
    }
}

fn compile_test(
    test: &Test,
    plan: &RulePlan,
    mapping: &FieldMapping,
    builder: &mut Builder,
) -> FastTest {
    match test {
        Test::Null => FastTest::Null,
        Test::Exists(flag) => FastTest::Exists(*flag),
        Test::Pattern { pattern, cased } => FastTest::Str {
            kind: str_kind(pattern, *cased),
            cased: *cased,
        },
        Test::Regex { regex } => Regex::new(regex).map_or(FastTest::Never, FastTest::Regex),
        Test::Number { comparison, value } => FastTest::Number(*comparison, *value),
        Test::Time {
            part,
            comparison,
            value,
        } => FastTest::Time(*part, *comparison, *value),
        Test::Cidr(network) => FastTest::Cidr(*network),
        Test::FieldRef {
            field,
            star_before,
            star_after,
            cased,
        } => FastTest::FieldRef {
            slot: builder.slot(&mapping.resolve(&plan.logsource, field)),
            star_before: *star_before,
            star_after: *star_after,
            cased: *cased,
        },
    }
}

fn compile_item(
    item: &ItemPlan,
    plan: &RulePlan,
    mapping: &FieldMapping,
    builder: &mut Builder,
) -> (FastItem, Option<Vec<Needle>>) {
    let slot = item
        .field
        .as_ref()
        .map(|field| builder.slot(&mapping.resolve(&plan.logsource, field)));
    let site = slot.map_or(NeedleSite::Keywords, NeedleSite::Slot);
    let values = item
        .values
        .iter()
        .map(|alternatives| {
            alternatives
                .iter()
                .map(|test| compile_test(test, plan, mapping, builder))
                .collect()
        })
        .collect();
    let needles = if item.negate {
        None
    } else if item.all {
        // Any one value's needles are necessary; take the cheapest.
        item.values
            .iter()
            .filter_map(|alternatives| test_needles(site, alternatives))
            .min_by(|a, b| cost(a).total_cmp(&cost(b)))
    } else {
        item.values
            .iter()
            .map(|alternatives| test_needles(site, alternatives))
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect())
    };
    (
        FastItem {
            slot,
            values,
            all: item.all,
            negate: item.negate,
        },
        needles,
    )
}

pub(super) fn compile_condition(
    condition: &Condition,
    plan: &RulePlan,
    mapping: &FieldMapping,
    builder: &mut Builder,
    items: &mut Vec<FastItem>,
    needles: &mut Vec<Option<Vec<Needle>>>,
) -> Expr {
    match condition {
        Condition::Search(index) => Expr::Or(
            plan.searches[*index]
                .iter()
                .map(|group| {
                    Expr::And(
                        group
                            .iter()
                            .map(|item| {
                                let (fast, item_needles) =
                                    compile_item(item, plan, mapping, builder);
                                items.push(fast);
                                needles.push(item_needles);
                                Expr::Item((items.len() - 1) as u32)
                            })
                            .collect(),
                    )
                })
                .collect(),
        ),
        Condition::Not(inner) => Expr::Not(Box::new(compile_condition(
            inner, plan, mapping, builder, items, needles,
        ))),
        Condition::And(parts) => Expr::And(
            parts
                .iter()
                .map(|part| compile_condition(part, plan, mapping, builder, items, needles))
                .collect(),
        ),
        Condition::Or(parts) => Expr::Or(
            parts
                .iter()
                .map(|part| compile_condition(part, plan, mapping, builder, items, needles))
                .collect(),
        ),
    }
}

/// Needles any event matching `expr` must contain; `None` when there is no such set.
pub(super) fn expr_needles(
    expr: &Expr,
    item_needles: &[Option<Vec<Needle>>],
) -> Option<Vec<Needle>> {
    match expr {
        Expr::Item(item) => item_needles[*item as usize].clone(),
        Expr::Not(_) => None,
        Expr::And(parts) => parts
            .iter()
            .filter_map(|part| expr_needles(part, item_needles))
            .min_by(|a, b| cost(a).total_cmp(&cost(b))),
        Expr::Or(parts) => parts
            .iter()
            .map(|part| expr_needles(part, item_needles))
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect()),
    }
}
