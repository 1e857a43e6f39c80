//! The prefilter: for each rule, a set of (field, literal) needles at least one of which any
//! matching event must contain (folded to lower case); per rule group and field, one
//! Aho-Corasick automaton over all rules' needles. A rule is evaluated on an event only when
//! one of its needles occurs, or when it has no needle set (it relies on negation, numbers,
//! regular expressions or field presence alone).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use rustc_hash::FxHashMap;

use regex_syntax::hir::{Class, Hir, HirKind};

use super::modifier::Test;
use super::values::fold;
use super::wildcard::Pattern;

/// Where a needle is searched: a field slot, or every keyword text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeedleSite {
    Slot(u32),
    Keywords,
}

/// One needle.
pub type Needle = (NeedleSite, String);

/// The longest literal of a pattern, folded: any text the pattern matches contains it (case-
/// insensitively, so also for `cased` patterns, whose folded text contains the folded literal).
pub fn pattern_needle(pattern: &Pattern) -> Option<String> {
    pattern
        .literals()
        .max_by_key(|literal| literal.len())
        .map(super::values::fold)
        .filter(|literal| !literal.is_empty())
}

/// Needles for one rule value's alternatives; `None` when some alternative has no literal.
pub fn test_needles(site: NeedleSite, alternatives: &[Test]) -> Option<Vec<Needle>> {
    alternatives
        .iter()
        .map(|test| match test {
            Test::Pattern { pattern, .. } => {
                pattern_needle(pattern).map(|needle| vec![(site, needle)])
            }
            Test::Regex { regex } => regex_needles(regex)
                .map(|needles| needles.into_iter().map(|needle| (site, needle)).collect()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|sets| sets.into_iter().flatten().collect())
}

/// Folded literals, one of which the text of any match of `regex` contains; `None` when the
/// regular expression requires no literal (or cannot be read).
pub fn regex_needles(regex: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(regex).ok()?;
    required(&hir).filter(|needles| needles.iter().all(|needle| !needle.is_empty()))
}

/// The single character every member of a class folds to, if there is one.
fn class_char(class: &Class) -> Option<char> {
    let chars: Vec<char> = match class {
        Class::Unicode(class) => {
            let mut chars = Vec::new();
            for range in class.ranges() {
                for c in range.start()..=range.end() {
                    chars.push(c);
                    if chars.len() > 4 {
                        return None;
                    }
                }
            }
            chars
        }
        Class::Bytes(class) => {
            let mut chars = Vec::new();
            for range in class.ranges() {
                for byte in range.start()..=range.end() {
                    if !byte.is_ascii() || chars.len() > 4 {
                        return None;
                    }
                    chars.push(char::from(byte));
                }
            }
            chars
        }
    };
    let mut folded = chars.iter().map(|c| {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(single), None) => Some(single),
            _ => None,
        }
    });
    let first = folded.next()??;
    folded.all(|c| c == Some(first)).then_some(first)
}

/// The single folded text a node always matches, if it is a plain run of characters.
fn run_text(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0).ok().map(fold),
        HirKind::Class(class) => class_char(class).map(String::from),
        HirKind::Capture(capture) => run_text(&capture.sub),
        _ => None,
    }
}

fn cheapest(sets: impl Iterator<Item = Vec<String>>) -> Option<Vec<String>> {
    let cost = |set: &Vec<String>| -> f64 {
        set.iter()
            .map(|needle| {
                let len = needle.chars().count().min(16) as f64;
                1.0 / (len * len)
            })
            .sum()
    };
    sets.min_by(|a, b| cost(a).total_cmp(&cost(b)))
}

fn required(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => run_text(hir).map(|text| vec![text]),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => required(&repetition.sub),
        HirKind::Concat(parts) => {
            let mut candidates = Vec::new();
            let mut run = String::new();
            for part in parts {
                match run_text(part) {
                    Some(text) => run.push_str(&text),
                    None => {
                        if !run.is_empty() {
                            candidates.push(vec![std::mem::take(&mut run)]);
                        }
                        candidates.extend(required(part));
                    }
                }
            }
            if !run.is_empty() {
                candidates.push(vec![run]);
            }
            cheapest(candidates.into_iter())
        }
        HirKind::Alternation(branches) => branches
            .iter()
            .map(required)
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect()),
        _ => None,
    }
}

/// How costly a needle set is to check: many short needles hit many events.
pub fn cost(needles: &[Needle]) -> f64 {
    needles
        .iter()
        .map(|(_, needle)| {
            let len = needle.chars().count().min(16) as f64;
            1.0 / (len * len)
        })
        .sum()
}

/// A site's automaton being built: its patterns, their positions, and the rules of each.
type SiteParts = (Vec<String>, FxHashMap<String, usize>, Vec<Vec<u32>>);

/// The automata of one rule group.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// Per site: the automaton and, per pattern, the group-local rules it admits.
    pub sites: Vec<(NeedleSite, AhoCorasick, Vec<Vec<u32>>)>,
    /// Group-local rules evaluated on every event.
    pub always: Vec<u32>,
}

impl Prefilter {
    /// Builds the automata from each rule's needle set (`None`: always evaluate).
    pub fn build(rule_needles: &[Option<Vec<Needle>>]) -> Prefilter {
        let mut per_site: FxHashMap<NeedleSite, SiteParts> = FxHashMap::default();
        let mut always = Vec::new();
        for (rule, needles) in rule_needles.iter().enumerate() {
            let rule = u32::try_from(rule).unwrap_or(u32::MAX);
            let Some(needles) = needles else {
                always.push(rule);
                continue;
            };
            for (site, needle) in needles {
                let (patterns, index, rules) = per_site.entry(*site).or_default();
                let at = *index.entry(needle.clone()).or_insert_with(|| {
                    patterns.push(needle.clone());
                    rules.push(Vec::new());
                    patterns.len() - 1
                });
                if rules[at].last() != Some(&rule) {
                    rules[at].push(rule);
                }
            }
        }
        let mut sites = Vec::with_capacity(per_site.len());
        for (site, (patterns, _, rules)) in per_site {
            // A DFA is fastest; past its size limits, the default automaton; should both fail,
            // the site's rules are evaluated on every event rather than skipped.
            let build = |kind| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(kind)
                    .build(&patterns)
            };
            match build(Some(AhoCorasickKind::DFA)).or_else(|_| build(None)) {
                Ok(automaton) => sites.push((site, automaton, rules)),
                Err(_) => always.extend(rules.into_iter().flatten()),
            }
        }
        always.sort_unstable();
        always.dedup();
        sites.sort_by_key(|(site, _, _)| *site);
        Prefilter { sites, always }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_are_the_longest_folded_literal() {
        let pattern = Pattern::parse("*System32*CMD.exe");
        assert_eq!(pattern_needle(&pattern).as_deref(), Some("system32"));
        assert_eq!(pattern_needle(&Pattern::parse("*")), None);
    }

    #[test]
    fn regexes_yield_the_literals_they_require() {
        // Under `i`, `s` also matches the long s (ſ), which does not fold to `s`: the run stops
        // there rather than miss such text.
        assert_eq!(
            regex_needles(r"(?i)invoke-expression\s+\$x").expect("literal"),
            ["invoke-expre"]
        );
        // The cheapest of the required pieces.
        assert_eq!(
            regex_needles(r"\\(cmd|powershell)\.exe$").expect("literals"),
            [".exe"]
        );
        assert_eq!(
            regex_needles(r"(cmd|powershell)\s").expect("literals"),
            ["cmd", "powershell"]
        );
        assert_eq!(regex_needles(r"xAb+c").expect("literal"), ["xa"]);
        assert_eq!(regex_needles(r"(x|.*)"), None);
        assert_eq!(regex_needles(r"^.*$"), None);
        for (regex, text) in [
            (r"(?i)invoke-expression\s+\$x", "IEX; INVOKE-Expression  $x"),
            (r"\\(cmd|powershell)\.exe$", r"C:\cmd.exe"),
        ] {
            assert!(regex::Regex::new(regex).expect("valid").is_match(text));
            let folded = fold(text);
            assert!(
                regex_needles(regex)
                    .expect("literals")
                    .iter()
                    .any(|needle| folded.contains(needle.as_str()))
            );
        }
    }

    #[test]
    fn longer_needles_cost_less() {
        let short = [(NeedleSite::Slot(0), "1".to_string())];
        let long = [(NeedleSite::Slot(0), "whoami.exe".to_string())];
        assert!(cost(&long) < cost(&short));
    }
}
