//! The `condition` expression: tokens, a precedence-climbing parser (or < and < not < x of <
//! parentheses), and resolution of identifiers and `x of` patterns to search identifiers.

use super::error::RuleErrorKind;
use super::wildcard::Pattern;

/// A condition with its search identifiers resolved to their positions in the detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Search(usize),
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    /// `1 of` / `any of` (false) or `all of` (true).
    Of {
        all: bool,
    },
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut tokens = Vec::with_capacity(words.len());
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        let lower = word.to_ascii_lowercase();
        let token = match lower.as_str() {
            "(" => Token::Open,
            ")" => Token::Close,
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "1" | "any" | "all" => {
                if words
                    .get(index + 1)
                    .map(|next| next.to_ascii_lowercase())
                    .as_deref()
                    != Some("of")
                {
                    return Err(format!("`{word}` must be followed by `of`"));
                }
                index += 1;
                Token::Of {
                    all: lower == "all",
                }
            }
            _ if lower.chars().all(|c| c.is_ascii_digit())
                && words
                    .get(index + 1)
                    .is_some_and(|next| next.eq_ignore_ascii_case("of")) =>
            {
                return Err(format!("`{word} of` is not Sigma: use `1 of` or `all of`"));
            }
            _ => Token::Word(word.clone()),
        };
        tokens.push(token);
        index += 1;
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    identifiers: &'a [&'a str],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, String> {
        let token = self
            .peek()
            .cloned()
            .ok_or("ends where an identifier is expected")?;
        self.at += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a `(` is not closed".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Of { all } => {
                let Some(Token::Word(target)) = self.peek().cloned() else {
                    return Err("`of` must be followed by `them` or an identifier pattern".into());
                };
                self.at += 1;
                let matched: Vec<Condition> = if target == "them" {
                    (0..self.identifiers.len())
                        .filter(|&index| !self.identifiers[index].starts_with('_'))
                        .map(Condition::Search)
                        .collect()
                } else {
                    let pattern = Pattern::parse(&target);
                    (0..self.identifiers.len())
                        .filter(|&index| pattern.matches(self.identifiers[index]))
                        .map(Condition::Search)
                        .collect()
                };
                if matched.is_empty() {
                    return Err(format!("`{target}` matches no search identifier"));
                }
                Ok(if all {
                    Condition::And(matched)
                } else {
                    Condition::Or(matched)
                })
            }
            Token::Word(name) => self
                .identifiers
                .iter()
                .position(|identifier| *identifier == name)
                .map(Condition::Search)
                .ok_or_else(|| format!("`{name}` is not a search identifier of this rule")),
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

/// Parses one condition against the rule's search identifiers.
pub fn parse_condition(text: &str, identifiers: &[&str]) -> Result<Condition, RuleErrorKind> {
    let invalid = |reason: String| RuleErrorKind::InvalidCondition {
        condition: text.to_string(),
        reason,
    };
    if let Some(at) = text.find('|') {
        return Err(RuleErrorKind::ObsoleteAggregation(
            text[at..].trim().to_string(),
        ));
    }
    let tokens = tokenize(text).map_err(invalid)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        identifiers,
    };
    let condition = parser.or().map_err(invalid)?;
    if parser.at != parser.tokens.len() {
        return Err(invalid(format!(
            "unexpected {:?}",
            parser.tokens[parser.at]
        )));
    }
    Ok(condition)
}

/// Parses a rule's condition list (joined by OR).
pub fn parse_conditions(
    texts: &[String],
    identifiers: &[&str],
) -> Result<Condition, RuleErrorKind> {
    let mut parts = texts
        .iter()
        .map(|text| parse_condition(text, identifiers))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Condition::Or(parts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Condition::{And, Not, Or, Search};

    const IDS: [&str; 5] = [
        "selection",
        "selection_img",
        "filter_a",
        "filter_b",
        "_helper",
    ];

    fn parse(text: &str) -> Result<Condition, RuleErrorKind> {
        parse_condition(text, &IDS)
    }

    #[test]
    fn precedence_is_or_and_not_of_parentheses() {
        assert_eq!(
            parse("selection or selection_img and not filter_a").expect("valid"),
            Or(vec![
                Search(0),
                And(vec![Search(1), Not(Box::new(Search(2)))])
            ])
        );
        assert_eq!(
            parse("(selection or selection_img) and filter_a").expect("valid"),
            And(vec![Or(vec![Search(0), Search(1)]), Search(2)])
        );
        assert_eq!(
            parse("not 1 of filter_*").expect("valid"),
            Not(Box::new(Or(vec![Search(2), Search(3)])))
        );
        assert_eq!(
            parse("NOT selection AND filter_a").expect("valid"),
            And(vec![Not(Box::new(Search(0))), Search(2)])
        );
    }

    #[test]
    fn quantifiers_over_patterns_and_them() {
        assert_eq!(
            parse("all of selection*").expect("valid"),
            And(vec![Search(0), Search(1)])
        );
        assert_eq!(parse("any of *_b").expect("valid"), Or(vec![Search(3)]));
        // `them` leaves out identifiers starting with `_`.
        assert_eq!(
            parse("1 of them").expect("valid"),
            Or(vec![Search(0), Search(1), Search(2), Search(3)])
        );
        assert_eq!(parse("all of _*").expect("valid"), And(vec![Search(4)]));
    }

    #[test]
    fn refuses_what_is_not_a_condition() {
        assert!(matches!(
            parse("selection | count() by User > 5"),
            Err(RuleErrorKind::ObsoleteAggregation(_))
        ));
        for bad in [
            "selection and",
            "(selection",
            "unknown",
            "2 of selection*",
            "1 of nothing*",
            "selection filter_a",
            ")",
        ] {
            assert!(
                matches!(parse(bad), Err(RuleErrorKind::InvalidCondition { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn condition_lists_are_joined_by_or() {
        let conditions = ["selection".to_string(), "filter_a".to_string()];
        assert_eq!(
            parse_conditions(&conditions, &IDS).expect("valid"),
            Or(vec![Search(0), Search(2)])
        );
    }
}
