//! The analyst's query, read once per request and run on the index of each segment.
//!
//! Segment indexes share one schema ([`IndexSchema`]), so a query parsed once holds the same
//! fields in every segment. It is read as [`weft_ingest::index`] reads it (the same parser,
//! default fields, conjunction by default, and `a AND NOT b` lifted into `+a -b`), so the
//! histogram and the event lookup, which go through that module, count the same matches.
//!
//! A segment whose events all fall in the requested range is searched without the time clause:
//! the range would match every row anyway, and without it a term query is counted from its
//! document frequency instead of row by row.

use std::ops::Bound;

use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery};
use tantivy::schema::{Field, Term};
use tantivy::tokenizer::TokenizerManager;
use weft_ingest::index::{DEFAULT_FIELDS, IndexSchema, lift_negations, register_into};
use weft_ingest::store::manifest::SegmentEntry;

use super::SearchError;

/// Parses query text against the segment index schema.
pub struct QueryReader {
    parser: QueryParser,
    time: Field,
}

impl std::fmt::Debug for QueryReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("QueryReader")
            .finish_non_exhaustive()
    }
}

impl Default for QueryReader {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryReader {
    pub fn new() -> QueryReader {
        let schema = IndexSchema::new();
        let tokenizers = TokenizerManager::default();
        register_into(&tokenizers);
        let default_fields = schema
            .words
            .iter()
            .filter(|(name, _)| DEFAULT_FIELDS.contains(name))
            .map(|&(_, field)| field)
            .collect();
        let mut parser = QueryParser::new(schema.schema.clone(), default_fields, tokenizers);
        parser.set_conjunction_by_default();
        QueryReader {
            parser,
            time: schema.time,
        }
    }

    /// `text` (empty matches every row) over `[from, to)`.
    pub fn read(
        &self,
        text: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<EventQuery, SearchError> {
        let text = text.trim();
        let words = if text.is_empty() {
            None
        } else {
            let parsed = self
                .parser
                .parse_query(text)
                .map_err(|error| SearchError::Query(format!("invalid query: {error}")))?;
            Some(lift_negations(parsed))
        };
        Ok(EventQuery {
            text: text.to_string(),
            words,
            from,
            to,
            time: self.time,
        })
    }
}

/// A query's text and time range, as its count in one segment is remembered by.
pub type CountKey = (String, Option<i64>, Option<i64>);

/// A parsed query and its time range.
#[derive(Debug)]
pub struct EventQuery {
    text: String,
    words: Option<Box<dyn Query>>,
    from: Option<i64>,
    to: Option<i64>,
    time: Field,
}

impl EventQuery {
    /// Whether every event of `entry` falls in the range.
    pub fn covers(&self, entry: &SegmentEntry) -> bool {
        self.from.is_none_or(|from| entry.min_time >= from)
            && self.to.is_none_or(|to| entry.max_time < to)
    }

    /// What the count of this query in `entry` is remembered by: the query text and the range
    /// within the segment (none when the range covers it, so every range that covers the
    /// segment shares the count).
    pub fn count_key(&self, entry: &SegmentEntry) -> CountKey {
        let range = if self.covers(entry) {
            (None, None)
        } else {
            (self.from, self.to)
        };
        (self.text.clone(), range.0, range.1)
    }

    /// The query to run on the index of `entry`: without the time clause when the range
    /// covers the segment.
    pub fn for_segment(&self, entry: &SegmentEntry) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(2);
        if let Some(words) = &self.words {
            clauses.push((Occur::Must, words.box_clone()));
        }
        if !self.covers(entry) {
            let lower = self.from.map_or(Bound::Unbounded, |from| {
                Bound::Included(Term::from_field_i64(self.time, from))
            });
            let upper = self.to.map_or(Bound::Unbounded, |to| {
                Bound::Excluded(Term::from_field_i64(self.time, to))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        match clauses.len() {
            0 => Box::new(AllQuery),
            1 => clauses
                .pop()
                .map_or(Box::new(AllQuery) as Box<dyn Query>, |(_, query)| query),
            _ => Box::new(BooleanQuery::new(clauses)),
        }
    }
}
