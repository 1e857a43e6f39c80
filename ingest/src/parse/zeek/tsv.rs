//! Zeek's ASCII (TSV) log writer: the header lines and the rows they describe.
//!
//! A Zeek TSV file opens with header lines, one directive each:
//!
//! ```text
//! #separator \x09
//! #set_separator<TAB>,
//! #empty_field<TAB>(empty)
//! #unset_field<TAB>-
//! #path<TAB>conn
//! #open<TAB>2024-04-12-19-29-12
//! #fields<TAB>ts<TAB>uid<TAB>id.orig_h<TAB>...
//! #types<TAB>time<TAB>string<TAB>addr<TAB>...
//! ```
//!
//! (`<TAB>` standing for the separator, a tab by default) and ends with `#close`. `#separator`
//! is written with a space (the separator is not known yet) and its value hex-escaped; the
//! other directives use the declared separator. Values in
//! rows are escaped by Zeek's writer: a backslash is written `\\`, a non-printable byte or one
//! that would be read as a separator `\xNN`. A field that is unset is written as the unset
//! marker (`-`), an empty string or container as the empty marker (`(empty)`); containers
//! (`set[..]`, `vector[..]`, `table[..]`) join their elements with the set separator.

use std::borrow::Cow;

use super::names::intern;
use crate::parse::flatten::Fields;

/// What the header lines of the current file declared.
#[derive(Debug, Clone)]
pub struct Header {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    /// The `#path` (the log's type), once declared.
    pub path: Option<Cow<'static, str>>,
    /// Column names from `#fields`; empty until the header declared them.
    fields: Vec<Cow<'static, str>>,
    /// Per column, whether `#types` declared it a container; empty when `#types` is absent.
    containers: Vec<bool>,
    /// `#close` ended the file and no new `#fields` followed yet.
    closed: bool,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            separator: "\t".to_string(),
            set_separator: ",".to_string(),
            empty_field: "(empty)".to_string(),
            unset_field: "-".to_string(),
            path: None,
            fields: Vec::new(),
            containers: Vec::new(),
            closed: false,
        }
    }
}

/// Why a header or data line was refused.
pub type LineError = String;

impl Header {
    /// Reads one header line (starting with `#`), updating the state.
    pub fn read_directive(&mut self, line: &str) -> Result<(), LineError> {
        if let Some(value) = line.strip_prefix("#separator") {
            let value = value.trim_start_matches([' ', '\t']);
            let separator = unescape(value);
            if separator.is_empty() {
                return Err("#separator declares an empty separator".to_string());
            }
            // A new file begins: forget everything the previous header said.
            *self = Header {
                separator: separator.into_owned(),
                ..Header::default()
            };
            return Ok(());
        }
        let mut parts = line.split(self.separator.as_str());
        let directive = parts.next().unwrap_or_default();
        match directive {
            "#set_separator" => {
                let value = unescape(parts.next().unwrap_or_default());
                if value.is_empty() {
                    return Err("#set_separator declares an empty separator".to_string());
                }
                self.set_separator = value.into_owned();
            }
            "#empty_field" => self.empty_field = unescape(parts.next().unwrap_or_default()).into(),
            "#unset_field" => self.unset_field = unescape(parts.next().unwrap_or_default()).into(),
            "#path" => {
                let path = unescape(parts.next().unwrap_or_default());
                self.path = (!path.is_empty()).then(|| intern(&path));
            }
            "#fields" => {
                let fields: Vec<Cow<'static, str>> =
                    parts.map(|name| intern(&unescape(name))).collect();
                if fields.iter().all(|name| name.is_empty()) {
                    return Err("#fields declares no field names".to_string());
                }
                self.fields = fields;
                self.containers.clear();
                self.closed = false;
            }
            "#types" => {
                let containers: Vec<bool> = parts.map(is_container_type).collect();
                if containers.len() != self.fields.len() {
                    self.containers.clear();
                    return Err(format!(
                        "#types declares {} types for {} #fields",
                        containers.len(),
                        self.fields.len()
                    ));
                }
                self.containers = containers;
            }
            // The file is complete; rows after it need a new header.
            "#close" => {
                self.fields.clear();
                self.containers.clear();
                self.closed = true;
            }
            // `#open` and any directive a later Zeek adds carry nothing a row needs.
            _ => {}
        }
        Ok(())
    }

    /// Reads one data row into `out`: `(field, value)` pairs, unset fields left out.
    pub fn read_row<'a>(&self, line: &'a str, out: &mut Fields<'a>) -> Result<(), LineError> {
        if self.closed {
            return Err(
                "data row after #close: a new zeek TSV file must start with its header".to_string(),
            );
        }
        if self.fields.is_empty() {
            return Err(
                "data row before a #fields header line: a zeek TSV source must start with its header"
                    .to_string(),
            );
        }
        let start = out.len();
        let mut values = line.split(self.separator.as_str());
        for (index, name) in self.fields.iter().enumerate() {
            let Some(value) = values.next() else {
                out.truncate(start);
                return Err(self.count_error(line));
            };
            if value == self.unset_field {
                continue;
            }
            let container = self.containers.get(index).copied().unwrap_or(false);
            if value == self.empty_field {
                let empty = if container { "[]" } else { "" };
                out.push((name.clone(), Cow::Borrowed(empty)));
            } else if container {
                for (position, element) in value.split(self.set_separator.as_str()).enumerate() {
                    out.push((Cow::Owned(format!("{name}.{position}")), unescape(element)));
                }
            } else {
                out.push((name.clone(), unescape(value)));
            }
        }
        if values.next().is_some() {
            out.truncate(start);
            return Err(self.count_error(line));
        }
        Ok(())
    }

    fn count_error(&self, line: &str) -> LineError {
        format!(
            "row has {} fields but the #fields header declares {}",
            line.split(self.separator.as_str()).count(),
            self.fields.len()
        )
    }
}

/// `set[string]`, `vector[addr]`, `table[...]`: types whose values hold several elements.
fn is_container_type(type_name: &str) -> bool {
    type_name.starts_with("set[")
        || type_name.starts_with("vector[")
        || type_name.starts_with("table[")
}

/// Undoes Zeek's escaping: `\\` is a backslash and `\xNN` the byte `NN`. Borrowed when there is
/// nothing to undo. If the bytes that result are not UTF-8 (`\xff`), the escaped text is kept
/// as it is, so nothing is lost.
pub fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'\\' {
            match tail {
                [b'\\', after @ ..] => {
                    bytes.push(b'\\');
                    rest = after;
                    continue;
                }
                [b'x', high, low, after @ ..] => {
                    if let (Some(high), Some(low)) = (hex_digit(*high), hex_digit(*low)) {
                        bytes.push(high << 4 | low);
                        rest = after;
                        continue;
                    }
                }
                _ => {}
            }
        }
        bytes.push(byte);
        rest = tail;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(value),
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lines: &[&str]) -> Header {
        let mut header = Header::default();
        for line in lines {
            header.read_directive(line).expect("valid directive");
        }
        header
    }

    fn row(header: &Header, line: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        header.read_row(line, &mut out).expect("valid row");
        out.into_iter()
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn unescape_decodes_hex_and_backslashes() {
        assert!(matches!(unescape("plain"), Cow::Borrowed("plain")));
        assert_eq!(unescape(r"a\x0ab"), "a\nb");
        assert_eq!(unescape(r"\\\\host\\IPC$"), r"\\host\IPC$");
        assert_eq!(unescape(r"\x2d"), "-");
        assert_eq!(unescape(r"\xc3\xa9t\xc3\xa9"), "été");
        // Not an escape: kept as written.
        assert_eq!(unescape(r"a\qb\x4"), r"a\qb\x4");
        // Bytes that are not UTF-8 keep their escaped spelling.
        assert_eq!(unescape(r"bin\xff"), r"bin\xff");
    }

    #[test]
    fn separator_directive_is_hex_escaped_and_resets_state() {
        let mut state = header(&["#separator \\x09", "#path\tdns", "#fields\tts\tquery"]);
        assert!(!state.fields.is_empty());
        state.read_directive("#separator \\x7c").expect("valid");
        assert!(state.fields.is_empty());
        assert_eq!(state.path, None);
        state.read_directive("#fields|ts|query").expect("valid");
        assert_eq!(
            row(&state, "1.5|example.com"),
            [pair("ts", "1.5"), pair("query", "example.com")]
        );
    }

    #[test]
    fn unset_fields_are_left_out_and_empty_ones_kept() {
        let state = header(&[
            "#separator \\x09",
            "#fields\tts\tuser\tpassword\tanswers",
            "#types\ttime\tstring\tstring\tvector[string]",
        ]);
        assert_eq!(
            row(&state, "1.0\t-\t(empty)\t(empty)"),
            [
                pair("ts", "1.0"),
                pair("password", ""),
                pair("answers", "[]")
            ]
        );
    }

    #[test]
    fn containers_become_indexed_keys_with_elements_unescaped() {
        let state = header(&[
            "#separator \\x09",
            "#set_separator\t,",
            "#fields\tanswers\tTTLs",
            "#types\tvector[string]\tvector[interval]",
        ]);
        assert_eq!(
            row(&state, "a.example,b\\x2cc\t30.0"),
            [
                pair("answers.0", "a.example"),
                pair("answers.1", "b,c"),
                pair("TTLs.0", "30.0")
            ]
        );
    }

    #[test]
    fn custom_markers_are_honoured() {
        let state = header(&[
            "#separator \\x09",
            "#set_separator\t;",
            "#empty_field\tEMPTY",
            "#unset_field\tNONE",
            "#fields\ta\tb\tc",
            "#types\tset[string]\tstring\tstring",
        ]);
        assert_eq!(
            row(&state, "x;y\tNONE\tEMPTY"),
            [pair("a.0", "x"), pair("a.1", "y"), pair("c", "")]
        );
    }

    #[test]
    fn rows_need_fields_and_the_right_field_count() {
        let mut out = Vec::new();
        let empty = Header::default();
        assert!(
            empty
                .read_row("1.0\tx", &mut out)
                .expect_err("no header")
                .contains("#fields")
        );
        let state = header(&["#fields\tts\tuid"]);
        let error = state
            .read_row("1.0\tC1\textra", &mut out)
            .expect_err("too many");
        assert!(error.contains("3 fields"), "{error}");
        assert!(state.read_row("1.0", &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn mismatched_types_and_empty_fields_are_refused() {
        let mut state = header(&["#fields\tts\tuid"]);
        assert!(state.read_directive("#types\ttime").is_err());
        assert!(state.read_directive("#fields").is_err());
        assert!(state.read_directive("#separator ").is_err());
    }

    #[test]
    fn close_ends_the_file() {
        let mut state = header(&["#fields\tts"]);
        state
            .read_directive("#close\t2024-04-12-19-34-07")
            .expect("valid");
        assert!(state.fields.is_empty());
        let error = state
            .read_row("1.0", &mut Vec::new())
            .expect_err("file closed");
        assert!(error.contains("#close"), "{error}");
    }
}
