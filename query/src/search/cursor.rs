//! The page cursor of event search: where the previous page ended, as an opaque token.
//!
//! Results are ordered newest first by `(time, segment, row)`, all descending; a cursor holds the
//! position of the last event of a page and the next page starts just after it. It is the
//! base64url text of `v1.<time>.<segment>.<row>`, so a client cannot mistake it for anything
//! but a token to send back, and weft can change it without breaking clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest cursor accepted, in characters: far more than a real one takes.
const MAX_CURSOR_CHARS: usize = 256;
/// Longest segment id accepted inside a cursor.
const MAX_SEGMENT_CHARS: usize = 64;

/// A position in the result order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Event time, UTC microseconds.
    pub time: i64,
    /// Segment id (from the manifest).
    pub segment: String,
    /// Row in the segment.
    pub row: u64,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor: send back the `cursor` of the previous page unchanged")]
pub struct CursorError;

impl Cursor {
    /// The token clients send back.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1.{}.{}.{}", self.time, self.segment, self.row))
    }

    /// Reads a token made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Cursor, CursorError> {
        if token.is_empty() || token.len() > MAX_CURSOR_CHARS {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| CursorError)?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError)?;
        let mut parts = text.splitn(4, '.');
        let (Some("v1"), Some(time), Some(segment), Some(row)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError);
        };
        let valid_segment = !segment.is_empty()
            && segment.len() <= MAX_SEGMENT_CHARS
            && segment
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid_segment {
            return Err(CursorError);
        }
        Ok(Cursor {
            time: time.parse().map_err(|_| CursorError)?,
            segment: segment.to_string(),
            row: row.parse().map_err(|_| CursorError)?,
        })
    }

    /// The `after` position to pass to the index of `segment`: rows of that segment already
    /// returned sort at or before it. Rows at the cursor's time in segments that sort after the
    /// cursor's (greater ids) were all returned; in segments that sort before it, none were.
    pub fn after_in(&self, segment: &str) -> (i64, u64) {
        match segment.cmp(self.segment.as_str()) {
            std::cmp::Ordering::Equal => (self.time, self.row),
            std::cmp::Ordering::Greater => (self.time, 0),
            std::cmp::Ordering::Less => (self.time, u64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            time: -5,
            segment: "0005f3a2b1c0d9e8-1a2b3c4d".to_string(),
            row: 42,
        }
    }

    #[test]
    fn a_cursor_reads_back_as_itself() {
        let token = cursor().encode();
        assert!(
            token
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'),
            "the token is safe in a query string: {token}"
        );
        assert_eq!(Cursor::decode(&token), Ok(cursor()));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for token in [
            String::new(),
            "not base64!".to_string(),
            encode("v2.1.s.1"),
            encode("v1.1.s"),
            encode("v1.x.s.1"),
            encode("v1.1.s.-1"),
            encode("v1.1..1"),
            encode("v1.1.s/../x.1"),
            encode(&format!("v1.1.{}.1", "s".repeat(65))),
            "A".repeat(300),
        ] {
            assert_eq!(Cursor::decode(&token), Err(CursorError), "{token}");
        }
    }

    #[test]
    fn the_position_in_each_segment_follows_the_result_order() {
        let cursor = Cursor {
            time: 100,
            segment: "b".to_string(),
            row: 7,
        };
        assert_eq!(cursor.after_in("b"), (100, 7));
        assert_eq!(
            cursor.after_in("c"),
            (100, 0),
            "its rows at time 100 came first"
        );
        assert_eq!(
            cursor.after_in("a"),
            (100, u64::MAX),
            "its rows at time 100 come next"
        );
    }
}
