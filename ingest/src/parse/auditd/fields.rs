//! The body of an audit record: `key=value` fields, the hex encoding of untrusted strings, and
//! the arguments of an `EXECVE` record.
//!
//! Values are written three ways (kernel `audit_log_untrustedstring`, libaudit
//! `audit_encode_nv_string`): bare (`pid=1631`, `key=(null)`), in double quotes (`comm="arp"`), or,
//! for a string that holds a space, a double quote, a control byte or a byte outside ASCII,
//! as bare upper-case hex (`proctitle=617270002D61`). Quotes are never escaped inside a value.
//! User-space records carry their own fields in a single-quoted `msg='...'`; the enriched
//! format (`log_format = ENRICHED`) writes interpreted fields as `{ ... }` groups
//! (`SADDR={ saddr_fam=inet laddr=10.0.0.1 lport=22 }`).

use std::borrow::Cow;

use memchr::{memchr, memchr2};

use super::NAME;
use crate::parse::ParseError;

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quote {
    Bare,
    Double,
    Single,
    Brace,
}

/// One piece of a record body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    Pair {
        key: &'a str,
        value: &'a str,
        quote: Quote,
    },
    /// Text that is not a `key=value` pair (`avc:  denied  { read } for`, `user`, ...).
    Word(&'a str),
}

/// The tokens of a record body (or of a nested `msg='...'`).
///
/// Inside a nested message (`nested`), the tokenizer also reads two looser forms libaudit
/// writes: an `op=` value of several words (`op=adding user id=1001`), and the parenthesised,
/// comma-separated tail of old PAM records (`(hostname=?, addr=?, terminal=cron res=success)`).
pub(super) struct Tokens<'a> {
    text: &'a str,
    position: usize,
    nested: bool,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(text: &'a str, nested: bool) -> Self {
        Tokens {
            text,
            position: 0,
            nested,
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.text.as_bytes().get(self.position), Some(b' ' | b'\t')) {
            self.position += 1;
        }
    }

    /// The end of the blank-delimited token starting at `from`.
    fn token_end(&self, from: usize) -> usize {
        self.text
            .as_bytes()
            .get(from..)
            .and_then(|rest| memchr2(b' ', b'\t', rest))
            .map_or(self.text.len(), |offset| from + offset)
    }

    /// A word token from `start` to `end`, moving past it.
    fn word(&mut self, start: usize, end: usize) -> Option<Result<Token<'a>, ParseError>> {
        self.position = end.max(start + 1);
        Some(Ok(Token::Word(self.text.get(start..end)?)))
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Result<Token<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.skip_blanks();
        let text = self.text;
        let bytes = text.as_bytes();
        let token_start = self.position;
        let first = *bytes.get(token_start)?;
        if first == b'{' {
            let end = find(bytes, token_start, b'}').map_or(text.len(), |close| close + 1);
            return self.word(token_start, end);
        }
        let key_start = if self.nested && first == b'(' {
            token_start + 1
        } else {
            token_start
        };
        let end = self.token_end(key_start);
        let token = text.get(key_start..end)?;
        let Some(equals) = memchr(b'=', token.as_bytes()) else {
            return self.word(token_start, end);
        };
        let key = token.get(..equals)?;
        if !is_key(key) {
            return self.word(token_start, end);
        }
        let value_start = key_start + equals + 1;
        let (value, quote, next) = match bytes.get(value_start) {
            Some(b'"') => match find(bytes, value_start + 1, b'"') {
                Some(close) => (text.get(value_start + 1..close)?, Quote::Double, close + 1),
                None => return Some(Err(unterminated(key))),
            },
            Some(b'\'') => match closing_single_quote(bytes, value_start + 1) {
                Some(close) => (text.get(value_start + 1..close)?, Quote::Single, close + 1),
                None => return Some(Err(unterminated(key))),
            },
            Some(b'{') => match find(bytes, value_start, b'}') {
                Some(close) => (text.get(value_start..=close)?, Quote::Brace, close + 1),
                None => return Some(Err(unterminated(key))),
            },
            _ => {
                let mut value_end = end;
                if self.nested && key == "op" {
                    value_end = self.words_after(value_end);
                }
                let mut value = text.get(value_start..value_end)?;
                if self.nested {
                    value = trim_legacy_punctuation(value);
                }
                (value, Quote::Bare, value_end)
            }
        };
        self.position = next;
        Some(Ok(Token::Pair { key, value, quote }))
    }
}

impl Tokens<'_> {
    /// Extends an `op=` value over the words that follow it (`op=adding user id=1001`).
    fn words_after(&self, mut value_end: usize) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            let mut start = value_end;
            while matches!(bytes.get(start), Some(b' ' | b'\t')) {
                start += 1;
            }
            let end = self.token_end(start);
            match bytes.get(start..end) {
                Some(word) if !word.is_empty() && memchr(b'=', word).is_none() => value_end = end,
                _ => return value_end,
            }
        }
    }
}

/// `?,` -> `?` and `success)` -> `success` in the old PAM records' parenthesised tail; a value
/// that opens a parenthesis (`(none)`) keeps its closing one.
fn trim_legacy_punctuation(value: &str) -> &str {
    let value = value.trim_end_matches(',');
    match value.strip_suffix(')') {
        Some(inner) if !value.contains('(') => inner,
        _ => value,
    }
}

fn unterminated(key: &str) -> ParseError {
    ParseError::invalid(
        NAME,
        format!("the quoted value of `{key}` is not closed (truncated record?)"),
    )
}

/// Audit field names: letters, digits, `_`, `-`, `.`, and the `[n]` of split `EXECVE` arguments.
fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'[' | b']')
        })
}

fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    let offset = memchr(needle, bytes.get(from..)?)?;
    Some(from + offset)
}

/// The `'` that closes a nested message: the first one at the end of the text or before a blank.
fn closing_single_quote(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let close = find(bytes, at, b'\'')?;
        if matches!(bytes.get(close + 1), None | Some(b' ' | b'\t')) {
            return Some(close);
        }
        at = close + 1;
    }
}

/// Fields whose text the kernel or libaudit hex-encodes when it is not safe to quote: auparse's
/// "escaped" field types (`auparse/typetab.h`), plus `data` (TTY input).
const ENCODED_FIELDS: &[&str] = &[
    "path",
    "comm",
    "exe",
    "file",
    "name",
    "watch",
    "cwd",
    "cmd",
    "acct",
    "dir",
    "key",
    "vm",
    "old-chardev",
    "new-chardev",
    "old-disk",
    "new-disk",
    "old-fs",
    "new-fs",
    "old-net",
    "new-net",
    "device",
    "cgroup",
    "data",
    "apparmor",
    "operation",
    "denied_mask",
    "info",
    "profile",
    "requested_mask",
    "old-rng",
    "new-rng",
    "ocomm",
    "proctitle",
    "grp",
    "new_group",
    "invalid_context",
    "sw",
    "root_dir",
];

/// The text of a bare value of an encoded field, when it is hex of printable UTF-8; `None` when
/// the value is not hex-encoded or would not decode to readable text (then it stays as written).
///
/// `proctitle` separates arguments with NUL bytes, which become spaces; `key` separates
/// several rule keys with 0x01 bytes, which become commas.
pub(super) fn decode_field(key: &str, value: &str) -> Option<String> {
    // Most bare values (`pid=1631`, `tty=pts0`) fail this before the field list is searched.
    let bytes = value.as_bytes();
    if bytes.len() < 2
        || !bytes.len().is_multiple_of(2)
        || !bytes.iter().all(u8::is_ascii_hexdigit)
        || !ENCODED_FIELDS.contains(&key)
    {
        return None;
    }
    let separator = match key {
        "proctitle" => Some((0, b' ')),
        "key" => Some((1, b',')),
        _ => None,
    };
    decode_hex(value, separator)
}

/// Hex text decoded to a string of printable characters (tabs and line breaks allowed), with
/// `separator.0` bytes replaced by `separator.1`.
pub(super) fn decode_hex(value: &str, separator: Option<(u8, u8)>) -> Option<String> {
    let bytes = value.as_bytes();
    if bytes.len() < 2 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut decoded = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let [high, low] = pair else {
            return None;
        };
        let mut byte = (hex_digit(*high)? << 4) | hex_digit(*low)?;
        if let Some((from, to)) = separator
            && byte == from
        {
            byte = to;
        }
        decoded.push(byte);
    }
    let text = String::from_utf8(decoded).ok()?;
    text.chars()
        .all(|char| !char.is_control() || matches!(char, '\t' | '\n' | '\r'))
        .then_some(text)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// An `EXECVE` argument key: `a3` -> (`3`, None); a piece of a long argument, `a3[1]` ->
/// (`3`, Some(`1`)). `argc` and `a3_len` are not arguments.
pub(super) fn execve_argument(key: &str) -> Option<(&str, Option<&str>)> {
    let rest = key.strip_prefix('a')?;
    let (index, piece) = match rest.split_once('[') {
        Some((index, piece)) => (index, Some(piece.strip_suffix(']')?)),
        None => (rest, None),
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    (digits(index) && piece.is_none_or(digits)).then_some((index, piece))
}

/// The arguments of an `EXECVE` record, joined with spaces as the command line.
///
/// The kernel splits an argument longer than its record budget into pieces
/// (`a1_len=20000 a1[0]=... a1[1]=...`), each quoted or each hex-encoded; the pieces are joined
/// and decoded as one argument. An execve with very many arguments spans several `EXECVE`
/// records of one event; each record's command line holds the arguments it carries.
#[derive(Debug, Default)]
pub(super) struct Arguments<'a> {
    pub(super) line: String,
    pub(super) count: usize,
    pub(super) first: Option<Cow<'a, str>>,
    /// The long argument being reassembled: its index, its pieces as written, whether every
    /// piece was bare (hex).
    pieces: Option<(&'a str, String, bool)>,
}

impl<'a> Arguments<'a> {
    /// Adds a whole argument.
    pub(super) fn push(&mut self, argument: Cow<'a, str>) {
        if self.count > 0 {
            self.line.push(' ');
        }
        self.line.push_str(&argument);
        if self.first.is_none() {
            self.first = Some(argument);
        }
        self.count += 1;
    }

    /// Adds a piece of a long argument. Returns the attribute of the argument that a new index
    /// completes, if any.
    pub(super) fn push_piece(
        &mut self,
        index: &'a str,
        value: &'a str,
        quote: Quote,
    ) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
        let completed = match &self.pieces {
            Some((current, _, _)) if *current != index => self.finish(),
            _ => None,
        };
        let (_, text, all_bare) = self
            .pieces
            .get_or_insert_with(|| (index, String::new(), true));
        text.push_str(value);
        *all_bare &= quote == Quote::Bare;
        completed
    }

    /// Completes the long argument being reassembled: returns its attribute (`a1` = the whole
    /// decoded argument).
    pub(super) fn finish(&mut self) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
        let (index, text, all_bare) = self.pieces.take()?;
        let argument = if all_bare {
            decode_hex(&text, None).unwrap_or(text)
        } else {
            text
        };
        self.push(Cow::Owned(argument.clone()));
        Some((Cow::Owned(format!("a{index}")), Cow::Owned(argument)))
    }
}
