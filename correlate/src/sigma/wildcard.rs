//! Sigma string values: wildcards `*` and `?`, the backslash escapes of the specification, and a
//! glob matcher over them.
//!
//! Escapes (rules specification, "Escape Character"): a backslash before `*`, `?` or `\` makes
//! that character plain; any other backslash is itself plain. So `\*` is a plain star, `\\*` is
//! a backslash then a wildcard, `\\\*` a backslash then a plain star, and `\\\\` two backslashes.

/// One piece of a Sigma string pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    /// Plain text.
    Literal(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// One of the dash characters the `windash` modifier makes interchangeable.
    Dash,
}

/// The characters `windash` treats as interchangeable: hyphen, slash, en dash, em dash and
/// horizontal bar.
pub const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// A Sigma string as a sequence of tokens, adjacent literals merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    pub tokens: Vec<Token>,
}

impl Pattern {
    /// Parses a Sigma string value with its wildcards and escapes.
    pub fn parse(value: &str) -> Pattern {
        let mut pattern = Pattern::default();
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => pattern.push(Token::Star),
                '?' => pattern.push(Token::One),
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        pattern.push_char(next);
                    }
                    _ => pattern.push_char('\\'),
                },
                other => pattern.push_char(other),
            }
        }
        pattern
    }

    /// A pattern that is exactly `text`, no wildcards.
    pub fn literal(text: &str) -> Pattern {
        let mut pattern = Pattern::default();
        if !text.is_empty() {
            pattern.tokens.push(Token::Literal(text.to_string()));
        }
        pattern
    }

    pub fn push(&mut self, token: Token) {
        match token {
            Token::Literal(text) => {
                if text.is_empty() {
                    return;
                }
                if let Some(Token::Literal(last)) = self.tokens.last_mut() {
                    last.push_str(&text);
                } else {
                    self.tokens.push(Token::Literal(text));
                }
            }
            // Two stars in a row match what one does.
            Token::Star if self.tokens.last() == Some(&Token::Star) => {}
            other => self.tokens.push(other),
        }
    }

    fn push_char(&mut self, c: char) {
        if let Some(Token::Literal(last)) = self.tokens.last_mut() {
            last.push(c);
        } else {
            self.tokens.push(Token::Literal(c.to_string()));
        }
    }

    /// The plain text of a pattern without wildcards, `None` if it has any.
    pub fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(part) => text.push_str(part),
                _ => return None,
            }
        }
        Some(text)
    }

    /// Puts a `*` before the pattern unless it already starts with one.
    pub fn star_before(&mut self) {
        if self.tokens.first() != Some(&Token::Star) {
            self.tokens.insert(0, Token::Star);
        }
    }

    /// Puts a `*` after the pattern unless it already ends with one.
    pub fn star_after(&mut self) {
        self.push(Token::Star);
    }

    /// Replaces every dash character of the literals by [`Token::Dash`] (`windash`).
    pub fn windash(&self) -> Pattern {
        let mut out = Pattern::default();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => {
                    let mut run = String::new();
                    for c in text.chars() {
                        if DASHES.contains(&c) {
                            out.push(Token::Literal(std::mem::take(&mut run)));
                            out.push(Token::Dash);
                        } else {
                            run.push(c);
                        }
                    }
                    out.push(Token::Literal(run));
                }
                other => out.push(other.clone()),
            }
        }
        out
    }

    /// The same pattern with its literals lowercased (for case-insensitive matching).
    pub fn lowercase(&self) -> Pattern {
        let tokens = self
            .tokens
            .iter()
            .map(|token| match token {
                Token::Literal(text) => Token::Literal(super::values::fold(text)),
                other => other.clone(),
            })
            .collect();
        Pattern { tokens }
    }

    /// The literal pieces of the pattern, each of which any matching text contains.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|token| match token {
            Token::Literal(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// The pattern as an anchored regular expression (used by the reference evaluator).
    pub fn to_regex(&self, case_insensitive: bool) -> String {
        let mut out = String::from(if case_insensitive { "(?si)^" } else { "(?s)^" });
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(&regex::escape(text)),
                Token::Star => out.push_str(".*"),
                Token::One => out.push('.'),
                Token::Dash => out.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
            }
        }
        out.push('$');
        out
    }

    /// Whether `text` matches the whole pattern, comparing characters exactly. Callers that
    /// match case-insensitively lowercase both the pattern and the text first.
    pub fn matches(&self, text: &str) -> bool {
        glob_match(&self.tokens, text)
    }
}

/// Matches tokens against text: literals and single-character tokens advance; on a mismatch the
/// last star takes one more character (classic linear-backtracking glob matching, correct
/// because a star only ever needs to remember its latest position).
fn glob_match(tokens: &[Token], text: &str) -> bool {
    let mut token_index = 0;
    let mut at = 0;
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if token_index == tokens.len() && at == text.len() {
            return true;
        }
        let advanced = match tokens.get(token_index) {
            Some(Token::Star) => {
                resume = Some((token_index, at));
                token_index += 1;
                continue;
            }
            Some(Token::Literal(literal)) if text[at..].starts_with(literal.as_str()) => {
                at += literal.len();
                true
            }
            Some(Token::Literal(_)) => false,
            Some(Token::One) => match text[at..].chars().next() {
                Some(c) => {
                    at += c.len_utf8();
                    true
                }
                None => false,
            },
            Some(Token::Dash) => match text[at..].chars().next() {
                Some(c) if DASHES.contains(&c) => {
                    at += c.len_utf8();
                    true
                }
                _ => false,
            },
            None => false,
        };
        if advanced {
            token_index += 1;
            continue;
        }
        let Some((star_index, star_at)) = resume else {
            return false;
        };
        let Some(c) = text[star_at..].chars().next() else {
            return false;
        };
        let next_at = star_at + c.len_utf8();
        resume = Some((star_index, next_at));
        token_index = star_index + 1;
        at = next_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Token {
        Token::Literal(text.to_string())
    }

    #[test]
    fn escapes_follow_the_specification() {
        // Plain backslash, single or double.
        assert_eq!(Pattern::parse(r"C:\Windows").tokens, [lit(r"C:\Windows")]);
        assert_eq!(Pattern::parse(r"C:\\Windows").tokens, [lit(r"C:\Windows")]);
        // Escaped wildcards are plain.
        assert_eq!(Pattern::parse(r"a\*b\?").tokens, [lit("a*b?")]);
        // Escaped backslash before a wildcard: backslash then wildcard.
        assert_eq!(Pattern::parse(r"a\\*").tokens, [lit(r"a\"), Token::Star]);
        // Three backslashes: backslash and plain star.
        assert_eq!(Pattern::parse(r"a\\\*").tokens, [lit(r"a\*")]);
        // Three or four backslashes are a double backslash.
        assert_eq!(Pattern::parse(r"a\\\\b").tokens, [lit(r"a\\b")]);
        assert_eq!(Pattern::parse(r"a\\\b").tokens, [lit(r"a\\b")]);
    }

    #[test]
    fn wildcards_match_like_the_specification_says() {
        let one = Pattern::parse("prog?.exe");
        assert!(one.matches("progA.exe"));
        assert!(!one.matches("prog.exe"));
        assert!(!one.matches("progAB.exe"));
        let star = Pattern::parse("antivirus_V*.exe");
        assert!(star.matches("antivirus_V1.exe"));
        assert!(star.matches("antivirus_V21.2.1.exe"));
        assert!(star.matches("antivirus_V.exe"));
        assert!(!star.matches("antivirus_V1.dll"));
        let backtrack = Pattern::parse("*a*ab");
        assert!(backtrack.matches("xaaab"));
        assert!(!backtrack.matches("xaaaba"));
        assert!(Pattern::parse("").matches(""));
        assert!(!Pattern::parse("").matches("x"));
        assert!(Pattern::parse("*").matches(""));
        assert!(Pattern::parse("é?ü").matches("éxü"));
    }

    #[test]
    fn windash_makes_dashes_interchangeable() {
        let pattern = Pattern::parse("* -enc *").windash();
        for dash in DASHES {
            assert!(pattern.matches(&format!("powershell {dash}enc abc")));
        }
        assert!(!pattern.matches("powershell +enc abc"));
    }

    #[test]
    fn regex_form_agrees_with_glob() {
        let pattern = Pattern::parse(r"*\\cmd.exe /c ?*");
        let regex = regex::Regex::new(&pattern.to_regex(false)).expect("valid");
        for text in [r"C:\cmd.exe /c x", r"\cmd.exe /c ", "cmd.exe"] {
            assert_eq!(pattern.matches(text), regex.is_match(text), "{text}");
        }
    }
}
