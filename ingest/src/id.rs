//! Deterministic event ids.
//!
//! An event's id is a 128-bit XXH3 hash of where its record came from: `(origin, offset,
//! index)`, where the origin names the source (`file:/var/log/auth.log`,
//! `kafka:topic/partition`), the offset is the record's byte offset (files) or Kafka offset,
//! and the index numbers the events of a record that holds several. Reading the same record
//! again yields the same id, so re-ingesting or replaying never creates a second identity for
//! one event.

use std::fmt::Write;

use xxhash_rust::xxh3::Xxh3;

/// The id of event `index` of the record at `offset` in `origin`, as 32 lowercase hex digits.
pub fn event_id(origin: &str, offset: u64, index: u32) -> String {
    let mut hasher = Xxh3::new();
    hasher.update(origin.as_bytes());
    hasher.update(&[0]);
    hasher.update(&offset.to_le_bytes());
    hasher.update(&index.to_le_bytes());
    let mut id = String::with_capacity(32);
    write!(id, "{:032x}", hasher.digest128()).expect("writing to a String cannot fail");
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_same_id_and_every_part_counts() {
        let id = event_id("file:/var/log/auth.log", 120, 0);
        assert_eq!(id.len(), 32);
        assert_eq!(id, event_id("file:/var/log/auth.log", 120, 0));
        assert_ne!(id, event_id("file:/var/log/auth.log", 121, 0));
        assert_ne!(id, event_id("file:/var/log/auth.log", 120, 1));
        assert_ne!(id, event_id("file:/var/log/auth.log2", 120, 0));
    }
}
