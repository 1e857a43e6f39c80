//! Correlation rules compiled against the Sigma rules they refer to: references resolved (by id
//! or name), cycles refused, an evaluation order (inner correlations before the ones that use
//! them), and for every input the fields to read for its group key and aggregated value.

use rustc_hash::FxHashMap;

use super::condition::{BoolExpr, Threshold};
use super::error::CorrelationError;
use super::sequence::{SequencePlan, SequenceRule};
use super::signal::Source;
use crate::sigma::FieldMapping;
use crate::sigma::compile::RulePlan;
use crate::sigma::correlation::CorrelationRule;
use crate::sigma::fieldmap::FieldSource;
use crate::sigma::rule::RuleMeta;

/// The correlation types.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CorrelationKind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    /// The percentile (0..=100) compared with the condition.
    ValuePercentile(f64),
    /// weft's sequence extension ([`super::sequence`]).
    Sequence,
    /// weft's learned baselines ([`crate::baseline`]).
    Baseline,
}

impl CorrelationKind {
    pub fn needs_value(self) -> bool {
        !matches!(
            self,
            CorrelationKind::EventCount
                | CorrelationKind::Temporal
                | CorrelationKind::TemporalOrdered
                | CorrelationKind::Sequence
                | CorrelationKind::Baseline
        )
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            CorrelationKind::ValueSum
                | CorrelationKind::ValueAvg
                | CorrelationKind::ValuePercentile(_)
        )
    }
}

/// When a window's condition is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// At every signal, over the window that ends at it (lower-bound conditions, and temporal
    /// correlations without `not`): fires as soon as the condition holds.
    Eager,
    /// When the window that starts at a signal is complete (the watermark passed its end):
    /// conditions with an upper bound, and absence (`not`).
    OnClose,
}

/// One distinct rule a correlation refers to, with where its fields are in its signals.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPlan {
    pub source: Source,
    /// The name the correlation refers to it by.
    pub reference: String,
    /// Per group-by field, the position in the signal's values.
    pub group_slots: Vec<usize>,
    /// The aggregated field's position (`value_*` types).
    pub value_slot: Option<usize>,
}

/// A correlation rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    pub rule: CorrelationRule,
    pub kind: CorrelationKind,
    pub mode: Mode,
    /// Window length, microseconds.
    pub timespan: i64,
    pub threshold: Threshold,
    /// Over positions in `inputs`.
    pub expression: Option<BoolExpr>,
    pub inputs: Vec<InputPlan>,
    /// `temporal_ordered`: the inputs in the required order (positions in `inputs`).
    pub steps: Vec<usize>,
    /// `sequence`: the matching plan.
    pub sequence: Option<SequencePlan>,
    pub group_by: Vec<String>,
    /// Correlations (position, input) fed by this one's alerts.
    pub consumers: Vec<(usize, usize)>,
    /// Whether its alerts are reported (not when only referred to by correlations without
    /// `generate: true`).
    pub emits: bool,
}

/// Sigma rules and the correlations over them, compiled.
#[derive(Debug, Clone)]
pub struct CorrelationSet {
    correlations: Vec<CompiledCorrelation>,
    rule_meta: Vec<RuleMeta>,
    rule_fields: Vec<Vec<String>>,
    rule_sources: Vec<Vec<Vec<FieldSource>>>,
    rule_consumers: Vec<Vec<(usize, usize)>>,
    rule_standalone: Vec<bool>,
    /// Per correlation, per field its consumers need: the position in its `group_by`.
    correlation_fields: Vec<Vec<Option<usize>>>,
}

fn invalid(rule: &CorrelationRule, reason: impl Into<String>) -> CorrelationError {
    CorrelationError::Invalid {
        rule: rule.meta.label(),
        reason: reason.into(),
    }
}

fn kind_of(rule: &CorrelationRule) -> Result<CorrelationKind, CorrelationError> {
    Ok(match rule.kind.as_str() {
        "event_count" => CorrelationKind::EventCount,
        "value_count" => CorrelationKind::ValueCount,
        "temporal" => CorrelationKind::Temporal,
        "temporal_ordered" => CorrelationKind::TemporalOrdered,
        "value_sum" => CorrelationKind::ValueSum,
        "value_avg" => CorrelationKind::ValueAvg,
        "value_median" => CorrelationKind::ValuePercentile(50.0),
        "sequence" => CorrelationKind::Sequence,
        "baseline" if rule.baseline.is_some() => CorrelationKind::Baseline,
        "value_percentile" => {
            let percentile = match rule.condition.get("percentile") {
                None => 50.0,
                Some(text) => text
                    .parse::<f64>()
                    .map_err(|_| invalid(rule, "`percentile` needs a number"))?,
            };
            if !(0.0..=100.0).contains(&percentile) {
                return Err(invalid(rule, "`percentile` must be between 0 and 100"));
            }
            CorrelationKind::ValuePercentile(percentile)
        }
        other => {
            return Err(invalid(
                rule,
                format!("`{other}` is not a correlation type"),
            ));
        }
    })
}

fn names(meta: &RuleMeta) -> impl Iterator<Item = &str> {
    meta.id.as_deref().into_iter().chain(meta.name.as_deref())
}

/// Slot of `field` in a node's field list, added when new.
fn slot(fields: &mut Vec<String>, field: &str) -> usize {
    if let Some(position) = fields.iter().position(|known| known == field) {
        return position;
    }
    fields.push(field.to_string());
    fields.len() - 1
}

impl CorrelationSet {
    /// Compiles `correlations` over `rules` (in the matcher's order: a base signal's rule is a
    /// position in it), reading fields through `mapping`.
    pub fn new(
        rules: &[RulePlan],
        correlations: &[CorrelationRule],
        mapping: &FieldMapping,
    ) -> Result<CorrelationSet, CorrelationError> {
        CorrelationSet::with_sequences(rules, correlations, &[], mapping)
    }

    /// Like [`Self::new`], with weft sequence rules besides the Sigma correlations (they may
    /// refer to each other).
    pub fn with_sequences(
        rules: &[RulePlan],
        correlations: &[CorrelationRule],
        sequences: &[SequenceRule],
        mapping: &FieldMapping,
    ) -> Result<CorrelationSet, CorrelationError> {
        let mut all: Vec<CorrelationRule> = correlations.to_vec();
        let mut sequence_of: Vec<Option<&SequenceRule>> = vec![None; correlations.len()];
        for sequence in sequences {
            all.push(sequence.as_correlation());
            sequence_of.push(Some(sequence));
        }
        let correlations = all.as_slice();
        let mut by_name: FxHashMap<&str, Source> = FxHashMap::default();
        for (index, correlation) in correlations.iter().enumerate() {
            for name in names(&correlation.meta) {
                by_name.insert(name, Source::Correlation(index));
            }
        }
        for (index, rule) in rules.iter().enumerate() {
            for name in names(&rule.meta) {
                by_name.insert(name, Source::Rule(index));
            }
        }
        // Resolve references; order correlations so that inner ones come first.
        let mut references: Vec<Vec<Source>> = Vec::with_capacity(correlations.len());
        for correlation in correlations {
            let mut sources = Vec::new();
            for reference in &correlation.rules {
                let Some(source) = by_name.get(reference.as_str()) else {
                    return Err(CorrelationError::UnknownReference {
                        rule: correlation.meta.label(),
                        reference: reference.clone(),
                    });
                };
                sources.push(*source);
            }
            references.push(sources);
        }
        let order = topological_order(correlations, &references)?;
        let mut position_of = vec![0; correlations.len()];
        for (position, original) in order.iter().enumerate() {
            position_of[*original] = position;
        }
        let remap = |source: Source| match source {
            Source::Correlation(original) => Source::Correlation(position_of[original]),
            rule => rule,
        };

        let mut rule_fields: Vec<Vec<String>> = vec![Vec::new(); rules.len()];
        let mut correlation_field_names: Vec<Vec<String>> = vec![Vec::new(); correlations.len()];
        let mut compiled: Vec<CompiledCorrelation> = Vec::with_capacity(correlations.len());
        for &original in &order {
            let rule = &correlations[original];
            let kind = kind_of(rule)?;
            let mut inputs: Vec<InputPlan> = Vec::new();
            let mut steps = Vec::new();
            for (reference, source) in rule.rules.iter().zip(&references[original]) {
                let source = remap(*source);
                let position = match inputs.iter().position(|input| input.source == source) {
                    Some(position) => position,
                    None => {
                        let (meta_names, fields): (Vec<&str>, &mut Vec<String>) = match source {
                            Source::Rule(index) => {
                                (names(&rules[index].meta).collect(), &mut rule_fields[index])
                            }
                            Source::Correlation(position) => (
                                names(&correlations[order[position]].meta).collect(),
                                &mut correlation_field_names[position],
                            ),
                        };
                        let mut group_slots = Vec::with_capacity(rule.group_by.len());
                        for group in &rule.group_by {
                            let aliased = rule.aliases.get(group).and_then(|per_rule| {
                                per_rule.get(reference).or_else(|| {
                                    meta_names.iter().find_map(|name| per_rule.get(*name))
                                })
                            });
                            group_slots.push(slot(fields, aliased.unwrap_or(group)));
                        }
                        let sums = kind == CorrelationKind::Baseline && rule.field.is_some();
                        let value_slot = if kind.needs_value() || sums {
                            let field = rule
                                .field
                                .as_deref()
                                .ok_or_else(|| invalid(rule, "needs `field` in its condition"))?;
                            Some(slot(fields, field))
                        } else {
                            None
                        };
                        inputs.push(InputPlan {
                            source,
                            reference: reference.clone(),
                            group_slots,
                            value_slot,
                        });
                        inputs.len() - 1
                    }
                };
                steps.push(position);
            }
            let expression = match &rule.expression {
                None => None,
                Some(text) => {
                    let mut resolve = |name: &str| {
                        inputs
                            .iter()
                            .position(|input| input.reference == name)
                            .or_else(|| {
                                let source = remap(*by_name.get(name)?);
                                inputs.iter().position(|input| input.source == source)
                            })
                    };
                    Some(
                        BoolExpr::parse(text, &mut resolve)
                            .map_err(|reason| invalid(rule, reason))?,
                    )
                }
            };
            let threshold = if rule.condition.keys().any(|key| key != "percentile") {
                Threshold::from_map(&rule.condition).map_err(|reason| invalid(rule, reason))?
            } else if expression.is_some()
                || matches!(kind, CorrelationKind::Sequence | CorrelationKind::Baseline)
            {
                Threshold::default()
            } else if matches!(
                kind,
                CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
            ) {
                Threshold::at_least(inputs.len())
            } else {
                return Err(invalid(rule, "`condition` has no comparison"));
            };
            if let Some(expression) = &expression {
                let mut positive = Vec::new();
                expression.positive_rules(&mut positive);
                steps.retain(|step| positive.contains(step));
            }
            let absence = expression.as_ref().is_some_and(BoolExpr::has_not);
            // Averages and percentiles are not monotone in the window: decided on whole windows.
            let whole_window = matches!(
                kind,
                CorrelationKind::ValueAvg | CorrelationKind::ValuePercentile(_)
            );
            let mode = if absence || whole_window || !threshold.is_lower_bound_only() {
                Mode::OnClose
            } else {
                Mode::Eager
            };
            let timespan = i64::try_from(rule.timespan_seconds)
                .ok()
                .and_then(|seconds| seconds.checked_mul(1_000_000))
                .ok_or_else(|| invalid(rule, "`timespan` is too long"))?;
            let sequence = match sequence_of[original] {
                None => None,
                Some(sequence) => Some(
                    sequence
                        .plan(&|name| inputs.iter().position(|input| input.reference == name))
                        .ok_or_else(|| invalid(rule, "a step refers to no input"))?,
                ),
            };
            compiled.push(CompiledCorrelation {
                rule: rule.clone(),
                kind,
                mode,
                timespan,
                threshold,
                expression,
                inputs,
                steps,
                sequence,
                group_by: rule.group_by.clone(),
                consumers: Vec::new(),
                emits: true,
            });
        }

        // Consumers and what is reported on its own.
        let mut rule_consumers = vec![Vec::new(); rules.len()];
        let mut rule_standalone = vec![true; rules.len()];
        let mut referred_rules = vec![false; rules.len()];
        let mut referred_correlations = vec![(false, false); compiled.len()];
        for position in 0..compiled.len() {
            let generate = compiled[position].rule.generate;
            for input_position in 0..compiled[position].inputs.len() {
                match compiled[position].inputs[input_position].source {
                    Source::Rule(index) => {
                        rule_consumers[index].push((position, input_position));
                        if !referred_rules[index] {
                            rule_standalone[index] = generate;
                            referred_rules[index] = true;
                        } else {
                            rule_standalone[index] |= generate;
                        }
                    }
                    Source::Correlation(inner) => {
                        compiled[inner].consumers.push((position, input_position));
                        let (referred, generated) = &mut referred_correlations[inner];
                        *referred = true;
                        *generated |= generate;
                    }
                }
            }
        }
        for (correlation, (referred, generated)) in compiled.iter_mut().zip(referred_correlations) {
            correlation.emits = !referred || generated;
        }
        let correlation_fields = correlation_field_names
            .iter()
            .zip(&compiled)
            .map(|(fields, correlation)| {
                fields
                    .iter()
                    .map(|field| correlation.group_by.iter().position(|group| group == field))
                    .collect()
            })
            .collect();
        let rule_sources = rules
            .iter()
            .zip(&rule_fields)
            .map(|(plan, fields)| {
                fields
                    .iter()
                    .map(|field| {
                        // A schema column's own name reads the column first.
                        let mut sources: Vec<FieldSource> =
                            FieldSource::parse(&format!("column:{field}"))
                                .into_iter()
                                .collect();
                        sources.extend(mapping.resolve(&plan.logsource, field));
                        sources
                    })
                    .collect()
            })
            .collect();
        Ok(CorrelationSet {
            correlations: compiled,
            rule_meta: rules.iter().map(|plan| plan.meta.clone()).collect(),
            rule_fields,
            rule_sources,
            rule_consumers,
            rule_standalone,
            correlation_fields,
        })
    }

    /// The correlations, in evaluation order (a correlation after those it refers to).
    pub fn correlations(&self) -> &[CompiledCorrelation] {
        &self.correlations
    }

    /// The Sigma rules' metadata, by position.
    pub fn rule_meta(&self) -> &[RuleMeta] {
        &self.rule_meta
    }

    /// The fields a signal of `rule` carries, in order (Sigma field names).
    pub fn fields_of(&self, rule: usize) -> &[String] {
        self.rule_fields.get(rule).map_or(&[], Vec::as_slice)
    }

    /// Where each of [`Self::fields_of`] is read from in an event.
    pub fn sources_of(&self, rule: usize) -> &[Vec<FieldSource>] {
        self.rule_sources.get(rule).map_or(&[], Vec::as_slice)
    }

    /// Correlations (position, input) that consume matches of `rule`.
    pub fn consumers_of(&self, rule: usize) -> &[(usize, usize)] {
        self.rule_consumers.get(rule).map_or(&[], Vec::as_slice)
    }

    /// Whether a match of `rule` is an alert of its own: it is referred to by no correlation,
    /// or by one with `generate: true`.
    pub fn is_standalone(&self, rule: usize) -> bool {
        self.rule_standalone.get(rule).copied().unwrap_or(true)
    }

    /// Whether any correlation consumes `rule`.
    pub fn is_correlated(&self, rule: usize) -> bool {
        !self.consumers_of(rule).is_empty()
    }

    pub(super) fn correlation_fields(&self, correlation: usize) -> &[Option<usize>] {
        &self.correlation_fields[correlation]
    }

    /// A base signal for `rule`, reading each needed field through `value_of(field name)`.
    pub fn signal(
        &self,
        rule: usize,
        key: super::signal::EventKey,
        event_id: &str,
        mut value_of: impl FnMut(&str) -> Option<String>,
    ) -> super::signal::Signal {
        super::signal::Signal {
            source: Source::Rule(rule),
            key,
            evidence: super::signal::Evidence::One(event_id.into()),
            values: self
                .fields_of(rule)
                .iter()
                .map(|field| value_of(field).map(String::into_boxed_str))
                .collect(),
        }
    }

    /// A fingerprint of the rules (for checkpoints): the correlations' ids or titles in
    /// evaluation order, and a hash of their whole definitions.
    pub fn fingerprint(&self) -> String {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut labels = Vec::with_capacity(self.correlations.len());
        for correlation in &self.correlations {
            labels.push(correlation.rule.meta.label());
            hasher.update(format!("{:?}", correlation.rule).as_bytes());
        }
        for meta in &self.rule_meta {
            hasher.update(meta.label().as_bytes());
        }
        format!("{} #{:016x}", labels.join(","), hasher.digest())
    }
}

/// Inner correlations first; a cycle is an error naming it.
fn topological_order(
    correlations: &[CorrelationRule],
    references: &[Vec<Source>],
) -> Result<Vec<usize>, CorrelationError> {
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; correlations.len()];
    let mut order = Vec::with_capacity(correlations.len());
    for start in 0..correlations.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let inner = references[node][*next..]
                .iter()
                .position(|source| matches!(source, Source::Correlation(_)));
            match inner {
                Some(skip) => {
                    let index = *next + skip;
                    *next = index + 1;
                    let Source::Correlation(child) = references[node][index] else {
                        continue;
                    };
                    match state[child] {
                        0 => {
                            state[child] = 1;
                            stack.push((child, 0));
                        }
                        1 => {
                            let mut cycle: Vec<String> = stack
                                .iter()
                                .skip_while(|(member, _)| *member != child)
                                .map(|(member, _)| correlations[*member].meta.label())
                                .collect();
                            cycle.push(correlations[child].meta.label());
                            return Err(CorrelationError::Cycle(cycle.join(" -> ")));
                        }
                        _ => {}
                    }
                }
                None => {
                    state[node] = 2;
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    Ok(order)
}
