//! JSON documents flattened into `(dotted key, text value)` pairs, in one pass and without
//! building a tree.
//!
//! `{"user": {"name": "alice"}, "ids": [7, 8]}` becomes `user.name = alice`, `ids.0 = 7`,
//! `ids.1 = 8`. Strings without escapes are borrowed from the record; numbers keep their JSON
//! spelling where serde_json preserves it (integers) and print floats shortest-round-trip.
//! `null` values are left out (the field reads as absent); empty objects and arrays are kept as
//! `{}` and `[]`. Nesting deeper than serde_json's recursion limit (128) is an error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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

/// Flattens a JSON object (or any JSON value: a scalar lands under the key `value`, an array's
/// elements under `0`, `1`, ...) into `out`.
pub fn flatten_into<'a>(json: &'a str, out: &mut Fields<'a>) -> Result<(), JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    Node { key: None, out }.deserialize(&mut deserializer)?;
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

/// A JSON value to be written at `key` (the dotted path; `None` at the top level).
struct Node<'o, 'a> {
    key: Option<Cow<'a, str>>,
    out: &'o mut Fields<'a>,
}

impl<'a> Node<'_, 'a> {
    fn push(self, value: Cow<'a, str>) {
        let key = self.key.unwrap_or(Cow::Borrowed("value"));
        self.out.push((key, value));
    }

    /// The key of a child: borrowed at the top level when it needed no unescaping.
    fn child_key(&self, name: Cow<'a, str>) -> Cow<'a, str> {
        match &self.key {
            None => name,
            Some(prefix) => {
                let mut joined = String::with_capacity(prefix.len() + 1 + name.len());
                joined.push_str(prefix);
                joined.push('.');
                joined.push_str(&name);
                Cow::Owned(joined)
            }
        }
    }

    /// The key of an array element: `prefix.index`, built in one allocation.
    fn index_key(&self, index: usize) -> Cow<'a, str> {
        use std::fmt::Write;
        let prefix = self.key.as_deref().unwrap_or("");
        let mut joined = String::with_capacity(prefix.len() + 4);
        if !prefix.is_empty() {
            joined.push_str(prefix);
            joined.push('.');
        }
        write!(joined, "{index}").expect("writing to a String cannot fail");
        Cow::Owned(joined)
    }

    /// Marks an empty object or array, which would otherwise leave no trace.
    fn push_empty(self, marker: &'static str) {
        if let Some(key) = self.key {
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

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.push(Cow::Owned(value.to_string()));
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.push(Cow::Owned(value.to_string()));
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

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut empty = true;
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            empty = false;
            let key = self.child_key(name);
            map.next_value_seed(Node {
                key: Some(key),
                out: &mut *self.out,
            })?;
        }
        if empty {
            self.push_empty("{}");
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let key = self.index_key(index);
            let child = Node {
                key: Some(key),
                out: &mut *self.out,
            };
            if seq.next_element_seed(child)?.is_none() {
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
        assert_eq!(error.line, 2);
        assert!(error.message.contains("expected"), "{error}");
        assert!(flatten("{\"a\":1} trailing").is_err());
        assert!(flatten("").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let error = flatten(&deep).expect_err("too deep");
        assert!(error.message.contains("recursion limit"), "{error}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = flatten(&text);
        }
    }
}
