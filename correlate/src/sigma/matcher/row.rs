//! Evaluating compiled rules on one row: fields read and folded at most once per row, then
//! the rule expressions.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::{Expr, FastItem, FastRule, FastTest, SourceRef, StrKind};
use crate::sigma::columns::{AttrsReader, ColumnReader};
use crate::sigma::values;

#[derive(Default)]
pub(super) struct SlotValue<'b> {
    pub(super) generation: u32,
    pub(super) value: Option<Cow<'b, str>>,
    pub(super) folded_generation: u32,
    pub(super) folded: String,
}

pub(super) struct RowState<'m, 'b> {
    pub(super) columns: &'m [ColumnReader<'b>],
    pub(super) attrs: AttrsReader<'b>,
    /// The columns keywords search besides `attrs`: message, URL and user agent.
    pub(super) keyword_columns: &'m [ColumnReader<'b>],
    pub(super) attr_keys: &'m FxHashMap<String, u32>,
    pub(super) slots: &'m [Vec<SourceRef>],
    pub(super) attr_values: Vec<Option<&'b str>>,
    pub(super) attr_touched: Vec<u32>,
    pub(super) slot_values: Vec<SlotValue<'b>>,
    /// Row counter + 1, so that 0 means "never computed".
    pub(super) generation: u32,
    pub(super) row: usize,
    pub(super) keywords: Vec<(Cow<'b, str>, String)>,
    pub(super) keywords_generation: u32,
}

impl<'b> RowState<'_, 'b> {
    pub(super) fn start_row(&mut self, row: usize) {
        self.row = row;
        self.generation = self.generation.wrapping_add(1).max(1);
        for attr in self.attr_touched.drain(..) {
            self.attr_values[attr as usize] = None;
        }
        for (key, value) in self.attrs.entries(row) {
            let attr = match self.attr_keys.get(key) {
                Some(attr) => Some(*attr),
                // Windows field names with spaces are reachable without them (Sigma's rule).
                None if key.contains(' ') => {
                    self.attr_keys.get(key.replace(' ', "").as_str()).copied()
                }
                None => None,
            };
            if let Some(attr) = attr
                && self.attr_values[attr as usize].is_none()
            {
                self.attr_values[attr as usize] = Some(value);
                self.attr_touched.push(attr);
            }
        }
    }

    fn source(&self, source: SourceRef) -> Option<Cow<'b, str>> {
        match source {
            SourceRef::Column(column) => self.columns[column as usize].text(self.row),
            SourceRef::Attr(attr) => self.attr_values[attr as usize].map(Cow::Borrowed),
        }
    }

    pub(super) fn route_holds(&self, source: SourceRef, admitted: &[String]) -> bool {
        self.source(source).is_some_and(|value| {
            admitted.iter().any(|allowed| {
                if allowed.is_ascii() {
                    value.eq_ignore_ascii_case(allowed)
                } else {
                    values::fold(&value) == *allowed
                }
            })
        })
    }

    pub(super) fn ensure(&mut self, slot: u32) {
        let generation = self.generation;
        if self.slot_values[slot as usize].generation == generation {
            return;
        }
        let value = self.slots[slot as usize]
            .iter()
            .find_map(|source| self.source(*source));
        let entry = &mut self.slot_values[slot as usize];
        entry.generation = generation;
        entry.value = value;
    }

    pub(super) fn value(&self, slot: u32) -> Option<&str> {
        self.slot_values[slot as usize].value.as_deref()
    }

    /// The folded value of an ensured slot (folded now if not yet this row).
    pub(super) fn folded(&mut self, slot: u32) -> Option<&str> {
        let generation = self.generation;
        let entry = &mut self.slot_values[slot as usize];
        let value = entry.value.as_deref()?;
        if entry.folded_generation != generation {
            entry.folded.clear();
            if value.is_ascii() {
                entry.folded.push_str(value);
                entry.folded.make_ascii_lowercase();
            } else {
                entry.folded.push_str(&values::fold(value));
            }
            entry.folded_generation = generation;
        }
        Some(entry.folded.as_str())
    }

    pub(super) fn ensure_keywords(&mut self) {
        if self.keywords_generation == self.generation {
            return;
        }
        self.keywords.clear();
        for (_, value) in self.attrs.entries(self.row) {
            self.keywords
                .push((Cow::Borrowed(value), values::fold(value)));
        }
        for column in self.keyword_columns {
            if let Some(text) = column.text(self.row) {
                let folded = values::fold(&text);
                self.keywords.push((text, folded));
            }
        }
        self.keywords_generation = self.generation;
    }
}

fn str_matches(kind: &StrKind, text: &str) -> bool {
    match kind {
        StrKind::Exact(expected) => text == expected,
        StrKind::Prefix(prefix) => text.starts_with(prefix.as_str()),
        StrKind::Suffix(suffix) => text.ends_with(suffix.as_str()),
        StrKind::Contains(finder) => finder.find(text.as_bytes()).is_some(),
        StrKind::Present => true,
        StrKind::Glob(pattern) => pattern.matches(text),
    }
}

/// Tests one value (`original`, and `folded` when case-insensitive tests need it).
fn test_text(test: &FastTest, original: &str, folded: &str, state: &RowState<'_, '_>) -> bool {
    match test {
        FastTest::Null => false,
        FastTest::Exists(flag) => *flag,
        FastTest::Str { kind, cased } => str_matches(kind, if *cased { original } else { folded }),
        FastTest::Regex(regex) => regex.is_match(original),
        FastTest::Never => false,
        FastTest::Number(comparison, wanted) => {
            values::number(original).is_some_and(|number| comparison.holds(number, *wanted))
        }
        FastTest::Time(part, comparison, wanted) => values::time_part(original, *part)
            .is_some_and(|number| comparison.holds(number, *wanted)),
        FastTest::Cidr(network) => values::ip(original).is_some_and(|ip| network.contains(&ip)),
        FastTest::FieldRef {
            slot,
            star_before,
            star_after,
            cased,
        } => {
            let Some(other) = state.value(*slot) else {
                return false;
            };
            let (text, other) = if *cased {
                (Cow::Borrowed(original), Cow::Borrowed(other))
            } else {
                (Cow::Borrowed(folded), Cow::Owned(values::fold(other)))
            };
            match (star_before, star_after) {
                (false, false) => text == other,
                (false, true) => text.starts_with(other.as_ref()),
                (true, false) => text.ends_with(other.as_ref()),
                (true, true) => text.contains(other.as_ref()),
            }
        }
    }
}

fn item_matches(item: &FastItem, state: &mut RowState<'_, '_>) -> bool {
    // Read (and fold) what the tests need before borrowing the state immutably.
    for alternatives in &item.values {
        for test in alternatives {
            if let FastTest::FieldRef { slot, .. } = test {
                state.ensure(*slot);
            }
        }
    }
    let Some(slot) = item.slot else {
        state.ensure_keywords();
        let texts = &state.keywords;
        let value_matches = |alternatives: &Vec<FastTest>| {
            texts.iter().any(|(original, folded)| {
                alternatives
                    .iter()
                    .any(|test| test_text(test, original, folded, state))
            })
        };
        return if item.all {
            item.values.iter().all(value_matches)
        } else {
            item.values.iter().any(value_matches)
        };
    };
    state.ensure(slot);
    if state.value(slot).is_some() {
        state.folded(slot);
    }
    let entry = &state.slot_values[slot as usize];
    let Some(original) = entry.value.as_deref() else {
        // Absent or null: only `null` and `exists: false` hold; `neq` needs a value.
        if item.negate {
            return false;
        }
        let absent_matches = |alternatives: &Vec<FastTest>| {
            alternatives
                .iter()
                .any(|test| matches!(test, FastTest::Null | FastTest::Exists(false)))
        };
        return if item.all {
            item.values.iter().all(absent_matches)
        } else {
            item.values.iter().any(absent_matches)
        };
    };
    let folded = entry.folded.as_str();
    let value_matches = |alternatives: &Vec<FastTest>| {
        alternatives
            .iter()
            .any(|test| test_text(test, original, folded, state))
    };
    let matched = if item.all {
        item.values.iter().all(value_matches)
    } else {
        item.values.iter().any(value_matches)
    };
    matched != item.negate
}

pub(super) fn eval(expr: &Expr, rule: &FastRule, state: &mut RowState<'_, '_>) -> bool {
    match expr {
        Expr::Item(item) => item_matches(&rule.items[*item as usize], state),
        Expr::Not(inner) => !eval(inner, rule, state),
        Expr::And(parts) => parts.iter().all(|part| eval(part, rule, state)),
        Expr::Or(parts) => parts.iter().any(|part| eval(part, rule, state)),
    }
}
