//! A correlation's condition: numeric comparisons (`gte: 10`, ranges as several bounds), and the
//! boolean expression over rule names of temporal correlations (`a and b and not c`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One comparison of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Comparison {
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Eq(f64),
    Neq(f64),
}

impl Comparison {
    fn holds(self, value: f64) -> bool {
        match self {
            Comparison::Gt(bound) => value > bound,
            Comparison::Gte(bound) => value >= bound,
            Comparison::Lt(bound) => value < bound,
            Comparison::Lte(bound) => value <= bound,
            Comparison::Eq(bound) => value == bound,
            Comparison::Neq(bound) => value != bound,
        }
    }
}

/// All comparisons of a condition, joined by AND (`gt: 100` + `lte: 200` is a range).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Threshold {
    pub comparisons: Vec<Comparison>,
}

impl Threshold {
    /// From the `condition` map as the loader keeps it (`field` and `percentile` left out).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Threshold, String> {
        let mut comparisons = Vec::new();
        for (operator, value) in map {
            if operator == "percentile" {
                continue;
            }
            let bound: f64 = value
                .parse()
                .map_err(|_| format!("`{operator}: {value}` needs a number"))?;
            comparisons.push(match operator.as_str() {
                "gt" => Comparison::Gt(bound),
                "gte" => Comparison::Gte(bound),
                "lt" => Comparison::Lt(bound),
                "lte" => Comparison::Lte(bound),
                "eq" => Comparison::Eq(bound),
                "neq" => Comparison::Neq(bound),
                other => return Err(format!("`{other}` is not a condition operator")),
            });
        }
        Ok(Threshold { comparisons })
    }

    /// At least `count`: the default of temporal correlations (every rule seen).
    pub fn at_least(count: usize) -> Threshold {
        Threshold {
            comparisons: vec![Comparison::Gte(count as f64)],
        }
    }

    pub fn holds(&self, value: f64) -> bool {
        self.comparisons
            .iter()
            .all(|comparison| comparison.holds(value))
    }

    /// True when the condition only has lower bounds (`gt`, `gte`): once it holds on a growing
    /// window it keeps holding, so it can be decided as soon as it holds. A condition with an
    /// upper bound (`lt`, `lte`, `eq`, `neq`) is decided when the window closes.
    pub fn is_lower_bound_only(&self) -> bool {
        self.comparisons
            .iter()
            .all(|comparison| matches!(comparison, Comparison::Gt(_) | Comparison::Gte(_)))
    }
}

/// A boolean expression over the rules a temporal correlation refers to (by position).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoolExpr {
    Rule(usize),
    Not(Box<BoolExpr>),
    And(Vec<BoolExpr>),
    Or(Vec<BoolExpr>),
}

impl BoolExpr {
    /// Parses `a and (b or c) and not d`; `resolve` turns a rule name into its position.
    pub fn parse(
        text: &str,
        resolve: &mut dyn FnMut(&str) -> Option<usize>,
    ) -> Result<BoolExpr, String> {
        let tokens = tokenize(text);
        let mut parser = ExprParser {
            tokens: &tokens,
            position: 0,
            resolve,
        };
        let expr = parser.or()?;
        if parser.position != tokens.len() {
            return Err(format!(
                "unexpected `{}` in condition `{text}`",
                tokens[parser.position]
            ));
        }
        Ok(expr)
    }

    pub fn eval(&self, present: &dyn Fn(usize) -> bool) -> bool {
        match self {
            BoolExpr::Rule(index) => present(*index),
            BoolExpr::Not(inner) => !inner.eval(present),
            BoolExpr::And(items) => items.iter().all(|item| item.eval(present)),
            BoolExpr::Or(items) => items.iter().any(|item| item.eval(present)),
        }
    }

    /// True when a `not` occurs: absence can only be decided when the window closes.
    pub fn has_not(&self) -> bool {
        match self {
            BoolExpr::Rule(_) => false,
            BoolExpr::Not(_) => true,
            BoolExpr::And(items) | BoolExpr::Or(items) => items.iter().any(BoolExpr::has_not),
        }
    }

    /// The rules that occur outside any `not`.
    pub fn positive_rules(&self, out: &mut Vec<usize>) {
        match self {
            BoolExpr::Rule(index) => {
                if !out.contains(index) {
                    out.push(*index);
                }
            }
            BoolExpr::Not(_) => {}
            BoolExpr::And(items) | BoolExpr::Or(items) => {
                for item in items {
                    item.positive_rules(out);
                }
            }
        }
    }
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for character in text.chars() {
        if character.is_whitespace() || character == '(' || character == ')' {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if character != ' ' && !character.is_whitespace() {
                tokens.push(character.to_string());
            }
        } else {
            word.push(character);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

struct ExprParser<'t, 'r> {
    tokens: &'t [String],
    position: usize,
    resolve: &'r mut dyn FnMut(&str) -> Option<usize>,
}

impl ExprParser<'_, '_> {
    fn peek_keyword(&self, keyword: &str) -> bool {
        self.tokens
            .get(self.position)
            .is_some_and(|token| token.eq_ignore_ascii_case(keyword))
    }

    fn or(&mut self) -> Result<BoolExpr, String> {
        let mut items = vec![self.and()?];
        while self.peek_keyword("or") {
            self.position += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            BoolExpr::Or(items)
        })
    }

    fn and(&mut self) -> Result<BoolExpr, String> {
        let mut items = vec![self.not()?];
        while self.peek_keyword("and") {
            self.position += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            BoolExpr::And(items)
        })
    }

    fn not(&mut self) -> Result<BoolExpr, String> {
        if self.peek_keyword("not") {
            self.position += 1;
            return Ok(BoolExpr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<BoolExpr, String> {
        let Some(token) = self.tokens.get(self.position) else {
            return Err("the condition ends where a rule name was expected".into());
        };
        self.position += 1;
        if token == "(" {
            let inner = self.or()?;
            if self.tokens.get(self.position).map(String::as_str) != Some(")") {
                return Err("a `(` in the condition is not closed".into());
            }
            self.position += 1;
            return Ok(inner);
        }
        if token == ")" || ["and", "or", "not"].contains(&token.to_ascii_lowercase().as_str()) {
            return Err(format!("`{token}` where a rule name was expected"));
        }
        (self.resolve)(token)
            .map(BoolExpr::Rule)
            .ok_or_else(|| format!("`{token}` in the condition is not one of the correlated rules"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BoolExpr, String> {
        let names = ["a", "b", "c"];
        BoolExpr::parse(text, &mut |name| {
            names.iter().position(|known| *known == name)
        })
    }

    #[test]
    fn parses_precedence_and_parentheses() {
        let expr = parse("a and not (b or c)").expect("valid");
        assert!(expr.has_not());
        assert!(expr.eval(&|rule| rule == 0));
        assert!(!expr.eval(&|rule| rule != 2));
        let expr = parse("a or b and c").expect("valid");
        assert!(expr.eval(&|rule| rule == 0));
        assert!(!expr.eval(&|rule| rule == 1));
        let mut positive = Vec::new();
        parse("a and not b and c")
            .expect("valid")
            .positive_rules(&mut positive);
        assert_eq!(positive, vec![0, 2]);
    }

    #[test]
    fn refuses_unknown_names_and_dangling_operators() {
        assert!(parse("a and d").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("(a or b").is_err());
        assert!(parse("a b").is_err());
    }

    #[test]
    fn ranges_and_bounds() {
        let map: BTreeMap<String, String> = [("gt", "100"), ("lte", "200")]
            .into_iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let threshold = Threshold::from_map(&map).expect("valid");
        assert!(!threshold.holds(100.0));
        assert!(threshold.holds(101.0));
        assert!(threshold.holds(200.0));
        assert!(!threshold.holds(201.0));
        assert!(!threshold.is_lower_bound_only());
        assert!(Threshold::at_least(3).is_lower_bound_only());
    }
}
