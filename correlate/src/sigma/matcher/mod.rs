//! The batch matcher: rules compiled once, run over a whole `RecordBatch`.
//!
//! Rules are grouped by the events their logsource admits (one route check per group and
//! event). Within a group, each event's fields are folded to lower case once, scanned by the
//! group's Aho-Corasick prefilter, and only the rules whose needles occur (plus the few with
//! none) are evaluated, over fields read and folded at most once per event.

mod build;
mod row;

use arrow_array::RecordBatch;
use ipnet::IpNet;
use memchr::memmem;
use regex::Regex;
use rustc_hash::FxHashMap;

use super::columns::{AttrsReader, ColumnReader, KEYWORD_COLUMNS};
use super::compile::RulePlan;
use super::error::MatchError;
use super::fieldmap::{FieldMapping, FieldSource};
use super::logsource::route_conditions;
use super::modifier::{Comparison, TimePart};
use super::prefilter::{Needle, NeedleSite, Prefilter};
use super::wildcard::Pattern;
use build::{Builder, compile_condition, expr_needles};
use row::{RowState, SlotValue, eval};

/// A rule that matched an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SigmaMatch {
    /// The event's row in the batch.
    pub row: usize,
    /// The rule's position in [`SigmaMatcher::rules`].
    pub rule: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceRef {
    Column(u32),
    Attr(u32),
}

#[derive(Debug)]
enum StrKind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memmem::Finder<'static>>),
    Present,
    Glob(Pattern),
}

#[derive(Debug)]
enum FastTest {
    Null,
    Exists(bool),
    Str {
        kind: StrKind,
        cased: bool,
    },
    Regex(Regex),
    Never,
    Number(Comparison, f64),
    Time(TimePart, Comparison, f64),
    Cidr(IpNet),
    FieldRef {
        slot: u32,
        star_before: bool,
        star_after: bool,
        cased: bool,
    },
}

#[derive(Debug)]
struct FastItem {
    /// `None`: keywords.
    slot: Option<u32>,
    values: Vec<Vec<FastTest>>,
    all: bool,
    negate: bool,
}

#[derive(Debug)]
enum Expr {
    Item(u32),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug)]
struct FastRule {
    rule: usize,
    expr: Expr,
    items: Vec<FastItem>,
}

#[derive(Debug)]
struct Group {
    route: Vec<(SourceRef, Vec<String>)>,
    rules: Vec<FastRule>,
    prefilter: Prefilter,
}

/// A group being built: its route, its rules, and each rule's needles.
type GroupParts = (
    Vec<(SourceRef, Vec<String>)>,
    Vec<FastRule>,
    Vec<Option<Vec<Needle>>>,
);

/// Compiled rules, ready to match batches. Build it once; matching takes `&self`.
#[derive(Debug)]
pub struct SigmaMatcher {
    plans: Vec<RulePlan>,
    columns: Vec<&'static str>,
    attr_keys: FxHashMap<String, u32>,
    slots: Vec<Vec<SourceRef>>,
    groups: Vec<Group>,
}

impl SigmaMatcher {
    /// Compiles rules against a field mapping.
    pub fn new(plans: Vec<RulePlan>, mapping: &FieldMapping) -> SigmaMatcher {
        let mut builder = Builder {
            columns: Vec::new(),
            attr_keys: FxHashMap::default(),
            slots: Vec::new(),
            slot_index: FxHashMap::default(),
        };
        let mut group_index: FxHashMap<Vec<(FieldSource, Vec<String>)>, usize> =
            FxHashMap::default();
        let mut grouped: Vec<GroupParts> = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let route = route_conditions(&mapping.routes_for(&plan.logsource));
            let group = *group_index.entry(route.clone()).or_insert_with(|| {
                let refs = route
                    .iter()
                    .map(|(source, admitted)| (builder.source(source), admitted.clone()))
                    .collect();
                grouped.push((refs, Vec::new(), Vec::new()));
                grouped.len() - 1
            });
            let mut items = Vec::new();
            let mut item_needles = Vec::new();
            let expr = compile_condition(
                &plan.condition,
                plan,
                mapping,
                &mut builder,
                &mut items,
                &mut item_needles,
            );
            let needles = expr_needles(&expr, &item_needles);
            grouped[group].1.push(FastRule {
                rule: index,
                expr,
                items,
            });
            grouped[group].2.push(needles);
        }
        let groups = grouped
            .into_iter()
            .map(|(route, rules, needles)| Group {
                route,
                rules,
                prefilter: Prefilter::build(&needles),
            })
            .collect();
        SigmaMatcher {
            plans,
            columns: builder.columns,
            attr_keys: builder.attr_keys,
            slots: builder.slots,
            groups,
        }
    }

    /// The rules, in the order matches refer to them.
    pub fn rules(&self) -> &[RulePlan] {
        &self.plans
    }

    /// How many rules the prefilter cannot skip (evaluated on every routed event).
    pub fn unfiltered_rules(&self) -> usize {
        self.groups
            .iter()
            .map(|group| group.prefilter.always.len())
            .sum()
    }

    /// The rules the prefilter cannot skip, by position in [`SigmaMatcher::rules`].
    pub fn unfiltered_rule_indices(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .groups
            .iter()
            .flat_map(|group| {
                group
                    .prefilter
                    .always
                    .iter()
                    .map(|local| group.rules[*local as usize].rule)
            })
            .collect();
        indices.sort_unstable();
        indices
    }

    /// Every (event, rule) match of the batch, by row then rule.
    pub fn match_batch(&self, batch: &RecordBatch) -> Result<Vec<SigmaMatch>, MatchError> {
        let columns = self
            .columns
            .iter()
            .map(|name| ColumnReader::new(batch, name))
            .collect::<Result<Vec<_>, _>>()?;
        let attrs = AttrsReader::new(batch)?;
        let keyword_columns = KEYWORD_COLUMNS
            .iter()
            .map(|name| ColumnReader::new(batch, name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut row_state = RowState {
            columns: &columns,
            attrs,
            keyword_columns: &keyword_columns,
            attr_keys: &self.attr_keys,
            slots: &self.slots,
            attr_values: vec![None; self.attr_keys.len()],
            attr_touched: Vec::new(),
            slot_values: (0..self.slots.len())
                .map(|_| SlotValue::default())
                .collect(),
            generation: 0,
            row: 0,
            keywords: Vec::new(),
            keywords_generation: 0,
        };
        let max_rules = self
            .groups
            .iter()
            .map(|group| group.rules.len())
            .max()
            .unwrap_or(0);
        let mut stamps = vec![0u32; max_rules];
        let mut candidates: Vec<u32> = Vec::new();
        let mut matches = Vec::new();
        let mut row_matches = Vec::new();
        for row in 0..batch.num_rows() {
            row_state.start_row(row);
            let stamp = row_state.generation;
            for group in &self.groups {
                if !group
                    .route
                    .iter()
                    .all(|(source, admitted)| row_state.route_holds(*source, admitted))
                {
                    continue;
                }
                for (site, automaton, rules) in &group.prefilter.sites {
                    match site {
                        NeedleSite::Slot(slot) => {
                            row_state.ensure(*slot);
                            let Some(folded) = row_state.folded(*slot) else {
                                continue;
                            };
                            for found in automaton.find_overlapping_iter(folded) {
                                for rule in &rules[found.pattern().as_usize()] {
                                    mark(&mut stamps, &mut candidates, *rule, stamp);
                                }
                            }
                        }
                        NeedleSite::Keywords => {
                            row_state.ensure_keywords();
                            for (_, folded) in &row_state.keywords {
                                for found in automaton.find_overlapping_iter(folded.as_str()) {
                                    for rule in &rules[found.pattern().as_usize()] {
                                        mark(&mut stamps, &mut candidates, *rule, stamp);
                                    }
                                }
                            }
                        }
                    }
                }
                for rule in &group.prefilter.always {
                    mark(&mut stamps, &mut candidates, *rule, stamp);
                }
                for local in candidates.drain(..) {
                    // Stamps are per group: clear the mark for the next group.
                    stamps[local as usize] = 0;
                    let rule = &group.rules[local as usize];
                    if eval(&rule.expr, rule, &mut row_state) {
                        row_matches.push(rule.rule);
                    }
                }
            }
            row_matches.sort_unstable();
            row_matches.dedup();
            matches.extend(row_matches.drain(..).map(|rule| SigmaMatch { row, rule }));
        }
        Ok(matches)
    }
}

/// Marks a group-local rule as a candidate of this row, once.
fn mark(stamps: &mut [u32], candidates: &mut Vec<u32>, rule: u32, stamp: u32) {
    let slot = &mut stamps[rule as usize];
    if *slot != stamp {
        *slot = stamp;
        candidates.push(rule);
    }
}
