//! JSON documents flattened into `(dotted key, text value)` pairs, in one pass and without
//! building a tree.
//!
//! `{"user": {"name": "alice"}, "ids": [7, 8]}` becomes `user.name = alice`, `ids.0 = 7`,
//! `ids.1 = 8`. Strings without escapes are borrowed from the record; numbers keep their JSON
//! spelling where serde_json preserves it (integers) and print floats shortest-round-trip.
//! `null` values are left out (the field reads as absent); empty objects and arrays are kept as
//! `{}` and `[]`. Nesting deeper than [`MAX_DEPTH`] is an error, never a deep recursion.
//!
//! The text is read by sonic-rs's serde `Deserializer`, which scans strings with SIMD (the
//! flattener's main cost on CloudTrail-sized records was serde_json's byte-at-a-time string
//! scan). Other JSON in ingest (the `Records` and `items` envelopes, OTLP) still goes through
//! serde_json; its errors convert to the same [`JsonError`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Flattened fields of one JSON value.
pub type Fields<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Why a JSON record could not be flattened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid json at line {line} column {column}: {message}")]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<serde_json::Error> for JsonError {
    fn from(error: serde_json::Error) -> Self {
        let message = error.to_string();
        // serde_json appends " at line L column C"; keep only the reason.
        let message = match message.rfind(" at line ") {
            Some(index) => message[..index].to_string(),
            None => message,
        };
        JsonError {
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}

impl From<sonic_rs::Error> for JsonError {
    fn from(error: sonic_rs::Error) -> Self {
        let message = error.to_string();
        // sonic-rs appends " at line L column C" and then an excerpt; keep only the reason.
        let message = match message.find(" at line ") {
            Some(index) => message[..index].to_string(),
            None => message,
        };
        JsonError {
            line: error.line(),
            column: error.column(),
            message,
        }
    }
}

/// How deep objects and arrays may nest: a record nested deeper is an error (as serde_json's
/// recursion limit made it before), so that hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 127;

/// The error of a record nested deeper than [`MAX_DEPTH`], worded as serde_json words it.
const TOO_DEEP: &str = "recursion limit exceeded";

/// Flattens a JSON object (or any JSON value: a scalar lands under the key `value`, an array's
/// elements under `0`, `1`, ...) into `out`.
pub fn flatten_into<'a>(json: &'a str, out: &mut Fields<'a>) -> Result<(), JsonError> {
    let mut deserializer = sonic_rs::Deserializer::from_str(json);
    let mut path = String::new();
    Node::root(out, &mut path).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(())
}

/// Room for the fields a JSON record of `json.len()` bytes likely flattens to (about one per
/// 12 bytes; CloudTrail's ~800 B records have 30 to 60), at most 256: reserved up front, the
/// list is not regrown (and copied) four or five times per record on its way from empty. A
/// large record (one long value, or hundreds of fields) grows the list as before.
pub fn field_capacity(json: &str) -> usize {
    (json.len() / 12 + 8).min(256)
}

/// Flattens a JSON value into a new list of fields.
pub fn flatten(json: &str) -> Result<Fields<'_>, JsonError> {
    let mut out = Vec::with_capacity(32);
    flatten_into(json, &mut out)?;
    Ok(out)
}

/// A JSON value to be written at its dotted path, inside `depth` objects and arrays.
///
/// The path is one buffer for the whole record: each level appends its segment and cuts it off
/// again, so a nested field's key is allocated once, when a value is written under it, and an
/// object or array on the way there costs no allocation.
struct Node<'n, 'a> {
    out: &'n mut Fields<'a>,
    path: &'n mut String,
    key: NodeKey<'a>,
    depth: usize,
}

/// Where the key of a [`Node`] is.
#[derive(Clone, Copy)]
enum NodeKey<'a> {
    /// The top-level value: a scalar there is written under `value`.
    Root,
    /// A top-level field whose name needed no unescaping: borrowed from the record.
    Borrowed(&'a str),
    /// The node's path buffer.
    Path,
}

impl<'a> Node<'_, 'a> {
    /// The top-level node of a record, writing to `out` with `path` as its buffer.
    fn root<'n>(out: &'n mut Fields<'a>, path: &'n mut String) -> Node<'n, 'a> {
        Node {
            out,
            path,
            key: NodeKey::Root,
            depth: 0,
        }
    }

    fn key(&self) -> Option<Cow<'a, str>> {
        match self.key {
            NodeKey::Root => None,
            NodeKey::Borrowed(name) => Some(Cow::Borrowed(name)),
            NodeKey::Path => Some(Cow::Owned(self.path.clone())),
        }
    }

    fn push(self, value: Cow<'a, str>) {
        let key = self.key().unwrap_or(Cow::Borrowed("value"));
        self.out.push((key, value));
    }

    /// Appends a child's segment to the path: `.` then `name`, or `name` alone at the top.
    fn enter(&mut self, name: &str) {
        if !matches!(self.key, NodeKey::Root) {
            self.path.push('.');
        }
        self.path.push_str(name);
    }

    /// A child of this node, whose segment [`Self::enter`] appended to the path.
    fn child<'c>(&'c mut self, key: NodeKey<'a>) -> Node<'c, 'a> {
        Node {
            out: &mut *self.out,
            path: &mut *self.path,
            key,
            depth: self.depth + 1,
        }
    }

    /// Marks an empty object or array, which would otherwise leave no trace.
    fn push_empty(self, marker: &'static str) {
        if let Some(key) = self.key() {
            self.out.push((key, Cow::Borrowed(marker)));
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A map key that borrows from the input when it can.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value.to_string())))
            }
            fn visit_string<E>(self, value: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a json value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.push(Cow::Borrowed(if value { "true" } else { "false" }));
        Ok(())
    }

    // Integers are written with `itoa`: `to_string` goes through the formatting machinery.
    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.push(Cow::Owned(itoa::Buffer::new().format(value).to_owned()));
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.push(Cow::Owned(itoa::Buffer::new().format(value).to_owned()));
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        self.push(Cow::Owned(value.to_string()));
        Ok(())
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<(), E> {
        self.push(Cow::Borrowed(value));
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.push(Cow::Owned(value.to_string()));
        Ok(())
    }

    fn visit_string<E>(self, value: String) -> Result<(), E> {
        self.push(Cow::Owned(value));
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(A::Error::custom(TOO_DEEP));
        }
        let mut empty = true;
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            empty = false;
            let start = self.path.len();
            self.enter(&name);
            let key = match (self.key, name) {
                (NodeKey::Root, Cow::Borrowed(name)) => NodeKey::Borrowed(name),
                _ => NodeKey::Path,
            };
            map.next_value_seed(self.child(key))?;
            self.path.truncate(start);
        }
        if empty {
            self.push_empty("{}");
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(A::Error::custom(TOO_DEEP));
        }
        let mut index = 0usize;
        loop {
            let start = self.path.len();
            self.enter(itoa::Buffer::new().format(index));
            let more = seq.next_element_seed(self.child(NodeKey::Path))?.is_some();
            self.path.truncate(start);
            if !more {
                break;
            }
            index += 1;
        }
        if index == 0 {
            self.push_empty("[]");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(json: &str) -> Vec<(String, String)> {
        flatten(json)
            .expect("valid json")
            .into_iter()
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect()
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn nested_objects_get_dotted_keys_and_arrays_indexes() {
        assert_eq!(
            pairs(r#"{"a":1,"user":{"name":"alice","ids":[7,{"x":true}]},"f":1.5}"#),
            [
                pair("a", "1"),
                pair("user.name", "alice"),
                pair("user.ids.0", "7"),
                pair("user.ids.1.x", "true"),
                pair("f", "1.5"),
            ]
        );
    }

    #[test]
    fn nulls_are_left_out_and_empty_containers_kept() {
        assert_eq!(
            pairs(r#"{"a":null,"b":{},"c":[],"d":{"e":null}}"#),
            [pair("b", "{}"), pair("c", "[]")]
        );
    }

    #[test]
    fn unescaped_strings_borrow_and_escaped_ones_are_decoded() {
        let fields = flatten(r#"{"plain":"abc","escaped":"a\"b\u00e9"}"#).expect("valid");
        assert!(matches!(fields[0].1, Cow::Borrowed("abc")));
        assert!(matches!(fields[0].0, Cow::Borrowed("plain")));
        assert_eq!(fields[1].1, "a\"bé");
    }

    #[test]
    fn scalars_and_arrays_at_top_level() {
        assert_eq!(pairs("42"), [pair("value", "42")]);
        assert_eq!(pairs(r#"["x","y"]"#), [pair("0", "x"), pair("1", "y")]);
    }

    #[test]
    fn errors_carry_position() {
        let error = flatten("{\"a\":\n  tru}").expect_err("invalid");
        assert_eq!((error.line, error.column), (2, 6), "{error}");
        assert!(error.message.contains("literal"), "{error}");
        assert!(flatten("{\"a\":1} trailing").is_err());
        assert!(flatten("").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let error = flatten(&deep).expect_err("too deep");
        assert!(error.message.contains("recursion limit"), "{error}");
    }

    #[test]
    fn nesting_up_to_the_limit_is_kept() {
        let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
        assert!(flatten(&nested(MAX_DEPTH)).is_ok());
        let error = flatten(&nested(MAX_DEPTH + 1)).expect_err("too deep");
        assert!(error.message.contains("recursion limit"), "{error}");
    }

    /// The flattening of `json` as serde_json reads it (the parser weft used before sonic-rs).
    fn flatten_with_serde_json(json: &str) -> Result<Vec<(String, String)>, JsonError> {
        let mut out = Vec::new();
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let mut path = String::new();
        Node::root(&mut out, &mut path).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(out
            .into_iter()
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect())
    }

    /// Whether two flattened values are the same number as two parsers spell it: sonic-rs
    /// reads `-0` as `0`, and reads every float exactly where serde_json (without its
    /// `float_roundtrip` feature) is at times a unit or two in the last place off.
    fn same_number(ours: &str, theirs: &str) -> bool {
        match (ours.parse::<f64>(), theirs.parse::<f64>()) {
            (Ok(ours), Ok(theirs)) => {
                ours == theirs
                    || (ours - theirs).abs() <= 4.0 * f64::EPSILON * ours.abs().max(theirs.abs())
            }
            _ => false,
        }
    }

    #[test]
    fn floats_are_read_exactly() {
        for text in ["1.0037856489773435e-115", "1.0342777170485442e243", "0.1"] {
            let json = format!("{{\"f\":{text}}}");
            let fields = flatten(&json).expect("valid");
            let expected: f64 = text.parse().expect("a float");
            assert_eq!(fields[0].1.parse::<f64>().ok(), Some(expected), "{text}");
        }
    }

    fn assert_same_as_serde_json(json: &str) {
        let ours = flatten(json).map(|fields| {
            fields
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect::<Vec<_>>()
        });
        match (ours, flatten_with_serde_json(json)) {
            (Ok(ours), Ok(theirs)) => {
                assert_eq!(ours.len(), theirs.len(), "{json:?}");
                for ((key, value), (their_key, their_value)) in ours.iter().zip(&theirs) {
                    assert_eq!(key, their_key, "{json:?}");
                    assert!(
                        value == their_value || same_number(value, their_value),
                        "{json:?}: {value:?} / {their_value:?}"
                    );
                }
            }
            // At the end of the text, sonic-rs places the error on its last character and
            // serde_json past it (after a final newline, on the next line).
            (Err(ours), Err(theirs)) => assert!(
                ours.line.abs_diff(theirs.line) <= 1,
                "{json:?}: {ours} / {theirs}"
            ),
            (ours, theirs) => panic!("{json:?}: sonic-rs {ours:?}, serde_json {theirs:?}"),
        }
    }

    #[test]
    fn reads_numbers_escapes_and_errors_as_serde_json_did() {
        let cases = [
            r#"{"n":0,"m":-0,"i":-9223372036854775808,"u":18446744073709551615}"#,
            r#"{"big":18446744073709551616,"neg":-9223372036854775809,"huge":1e400}"#,
            r#"{"f":1.0,"e":1E5,"g":2.5e-3,"h":-0.0,"p":0.1,"q":123456789.123456789}"#,
            r#"{"d":1.7976931348623157e308,"t":5e-324,"x":100000000000000000000000}"#,
            r#"{"s":"tab\there","u":"\u00e9\ud83d\ude00","q":"\"\\\/\b\f\n\r"}"#,
            r#"{"k\u0065y":"v","a.b":{"c":"d"},"":"empty key","dup":1,"dup":2}"#,
            r#"  {"spaced" : [ 1 , 2 ] }  "#,
            "{\"nl\":\n1}",
            r#"{"lone":"\ud800"}"#,
            r#"{"lone":"\udc00x"}"#,
            r#"{"bad":"\x"}"#,
            "{\"raw\":\"a\u{1}b\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":-}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"{"a":NaN}"#,
            r#"{"a":tru}"#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            r#"{"a":1}{"b":2}"#,
            "\u{feff}{}",
            "{}",
            "[]",
            "null",
            "\"text\"",
            "",
            "   ",
            "{",
            r#"{"a":"unterminated"#,
        ];
        for case in cases {
            assert_same_as_serde_json(case);
        }
    }

    /// Arbitrary JSON values, written compactly or pretty-printed.
    fn json_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::vec((".{0,6}", inner), 0..6)
                    .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
            ]
        });
        (value, any::<bool>()).prop_map(|(value, pretty)| {
            if pretty {
                serde_json::to_string_pretty(&value).expect("a Value always serializes")
            } else {
                value.to_string()
            }
        })
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = flatten(&text);
        }

        #[test]
        fn flattens_as_serde_json_did(json in json_text()) {
            assert_same_as_serde_json(&json);
        }

        #[test]
        fn accepts_and_refuses_what_serde_json_did(text in "[ -~]{0,64}") {
            assert_eq!(
                flatten(&text).is_ok(),
                flatten_with_serde_json(&text).is_ok(),
                "{:?}",
                text
            );
        }

        #[test]
        fn truncated_json_is_refused_as_serde_json_refused_it(
            json in json_text(),
            cut in 0usize..400,
        ) {
            if let Some(prefix) = json.get(..cut.min(json.len())) {
                assert_same_as_serde_json(prefix);
            }
        }
    }
}
