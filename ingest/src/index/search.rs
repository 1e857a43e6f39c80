//! Searching one segment's index: matching rows, newest first, with their total count.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{DocId, Index, IndexReader, ReloadPolicy, Score, SegmentOrdinal, SegmentReader};

use super::{IndexError, IndexSchema, register_into, register_tokenizers};
use crate::schema as columns;

/// What to look for in a segment.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Query text (tantivy syntax: `field:value`, `"phrases"`, `AND`/`OR`/`NOT`, ranges); empty
    /// matches every row. Words without a field search `message` and `raw`; several words must
    /// all match.
    pub query: String,
    /// Earliest event time, UTC microseconds, inclusive.
    pub from: Option<i64>,
    /// Latest event time, UTC microseconds, exclusive.
    pub to: Option<i64>,
    /// Rows to return at most.
    pub limit: usize,
    /// Only rows that sort after this `(time, row)` position (newest first): the position of
    /// the last row of the previous page.
    pub after: Option<(i64, u64)>,
}

/// One matching row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Event time, UTC microseconds.
    pub time: i64,
    /// Row in the segment's Parquet file.
    pub row: u64,
}

/// The newest matching rows of a segment and how many rows match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentHits {
    /// Newest first (ties: higher row first).
    pub hits: Vec<Hit>,
    /// Rows matching the query and time range, on every page alike.
    pub total: usize,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text is not a valid query: the analyst's mistake, reported back.
    #[error("invalid query: {0}")]
    Query(String),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Time buckets to count matching rows in: `buckets` buckets of `interval` microseconds from
/// `start` (UTC microseconds). Rows outside them are not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBuckets {
    pub start: i64,
    pub interval: i64,
    pub buckets: usize,
}

/// Checks that `text` is a valid query, without any index: the same parser and fields as
/// [`SegmentIndex::search`], so a query accepted here fails nowhere for its syntax.
pub fn check_query(text: &str) -> Result<(), SearchError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    let schema = IndexSchema::new();
    let tokenizers = TokenizerManager::default();
    register_into(&tokenizers);
    let mut parser = QueryParser::new(schema.schema.clone(), schema.default_fields(), tokenizers);
    parser.set_conjunction_by_default();
    parser
        .parse_query(text)
        .map(|_| ())
        .map_err(|error| SearchError::Query(error.to_string()))
}

/// An open segment index.
pub struct SegmentIndex {
    path: PathBuf,
    schema: IndexSchema,
    reader: IndexReader,
    parser: QueryParser,
}

impl std::fmt::Debug for SegmentIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SegmentIndex")
            .field("path", &self.path)
            .finish()
    }
}

impl SegmentIndex {
    /// Opens the index at `path` (memory-mapped; nothing is read until searched).
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let tantivy_error = |error| IndexError::Tantivy {
            path: path.to_path_buf(),
            error,
        };
        let index = Index::open_in_dir(path).map_err(tantivy_error)?;
        register_tokenizers(&index);
        let schema = IndexSchema::new();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_error)?;
        let mut parser = QueryParser::for_index(&index, schema.default_fields());
        parser.set_conjunction_by_default();
        Ok(SegmentIndex {
            path: path.to_path_buf(),
            schema,
            reader,
            parser,
        })
    }

    /// Where the index lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index's reader, for searches that collect in their own way.
    pub fn reader(&self) -> &IndexReader {
        &self.reader
    }

    /// The rows matching `request`, newest first.
    pub fn search(&self, request: &SearchRequest) -> Result<SegmentHits, SearchError> {
        let query = self.query(request)?;
        self.search_query(query.as_ref(), request.limit, request.after)
    }

    fn search_query(
        &self,
        query: &dyn Query,
        limit: usize,
        after: Option<(i64, u64)>,
    ) -> Result<SegmentHits, SearchError> {
        let searcher = self.reader.searcher();
        let top = newest_collector(limit.max(1), after);
        let (total, top) =
            searcher
                .search(query, &(Count, top))
                .map_err(|error| IndexError::Tantivy {
                    path: self.path.clone(),
                    error,
                })?;
        let hits = if limit == 0 {
            Vec::new()
        } else {
            top.into_iter()
                .filter_map(|(key, _)| key.map(|(time, row)| Hit { time, row }))
                .collect()
        };
        Ok(SegmentHits { hits, total })
    }

    /// Rows (documents) in the index: equal to its segment's rows when the index is whole.
    pub fn num_rows(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The newest row whose `event_id` is `event_id` (ids are unique, unless a record was
    /// stored twice).
    pub fn find_event(&self, event_id: &str) -> Result<Option<Hit>, SearchError> {
        let Some(&(_, field)) = self
            .schema
            .keywords
            .iter()
            .find(|(name, _)| *name == columns::EVENT_ID)
        else {
            return Ok(None);
        };
        // Keyword values are indexed lower-cased.
        let term = Term::from_field_text(field, &event_id.to_lowercase());
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        let found = self.search_query(&query, 1, None)?;
        Ok(found.hits.first().copied())
    }

    /// How many rows matching `request` (its query and time range; not its page) fall in each
    /// of `buckets`.
    pub fn histogram(
        &self,
        request: &SearchRequest,
        buckets: TimeBuckets,
    ) -> Result<Vec<u64>, SearchError> {
        let query = self.query(request)?;
        let searcher = self.reader.searcher();
        searcher
            .search(&query, &TimeHistogram(buckets))
            .map_err(|error| {
                SearchError::Index(IndexError::Tantivy {
                    path: self.path.clone(),
                    error,
                })
            })
    }

    fn query(&self, request: &SearchRequest) -> Result<Box<dyn Query>, SearchError> {
        let text = request.query.trim();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !text.is_empty() {
            let parsed = self
                .parser
                .parse_query(text)
                .map_err(|error| SearchError::Query(error.to_string()))?;
            clauses.push((Occur::Must, lift_negations(parsed)));
        }
        let lower = request.from.map_or(Bound::Unbounded, |from| {
            Bound::Included(Term::from_field_i64(self.schema.time, from))
        });
        let upper = request.to.map_or(Bound::Unbounded, |to| {
            Bound::Excluded(Term::from_field_i64(self.schema.time, to))
        });
        if !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        Ok(match clauses.len() {
            0 => Box::new(AllQuery),
            1 => clauses
                .pop()
                .map_or(Box::new(AllQuery) as Box<dyn Query>, |(_, query)| query),
            _ => Box::new(BooleanQuery::new(clauses)),
        })
    }
}

/// `a AND NOT b` as analysts mean it. The query parser reads it as `a` and a clause made only
/// of a negation, which on its own matches nothing; such clauses are lifted into their parent
/// as exclusions (`+a -b`), at every level. Every reader of the segment indexes reads queries
/// this way.
pub fn lift_negations(query: Box<dyn Query>) -> Box<dyn Query> {
    let Some(boolean) = query.downcast_ref::<BooleanQuery>() else {
        return query;
    };
    let mut clauses = Vec::with_capacity(boolean.clauses().len());
    for (occur, clause) in boolean.clauses() {
        let clause = lift_negations(clause.box_clone());
        let only_negations = clause
            .downcast_ref::<BooleanQuery>()
            .filter(|inner| {
                !inner.clauses().is_empty()
                    && inner
                        .clauses()
                        .iter()
                        .all(|(occur, _)| *occur == Occur::MustNot)
            })
            .map(|inner| {
                inner
                    .clauses()
                    .iter()
                    .map(|(occur, query)| (*occur, query.box_clone()))
                    .collect::<Vec<_>>()
            });
        match (occur, only_negations) {
            (Occur::Must, Some(negations)) => clauses.extend(negations),
            (occur, _) => clauses.push((*occur, clause)),
        }
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Counts matching rows per time bucket, from the `time` fast field.
struct TimeHistogram(TimeBuckets);

struct SegmentTimeHistogram {
    time: Option<Column<i64>>,
    buckets: TimeBuckets,
    counts: Vec<u64>,
}

impl Collector for TimeHistogram {
    type Fruit = Vec<u64>;
    type Child = SegmentTimeHistogram;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentTimeHistogram> {
        Ok(SegmentTimeHistogram {
            time: segment.fast_fields().i64(columns::TIME).ok(),
            buckets: self.0,
            counts: vec![0; self.0.buckets],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        let mut counts = vec![0; self.0.buckets];
        for fruit in fruits {
            for (total, count) in counts.iter_mut().zip(fruit) {
                *total += count;
            }
        }
        Ok(counts)
    }
}

impl SegmentCollector for SegmentTimeHistogram {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(time) = self.time.as_ref().and_then(|column| column.first(doc)) else {
            return;
        };
        let TimeBuckets {
            start, interval, ..
        } = self.buckets;
        let Some(offset) = time.checked_sub(start).filter(|offset| *offset >= 0) else {
            return;
        };
        let Some(bucket) = offset.checked_div(interval) else {
            return;
        };
        if let Ok(bucket) = usize::try_from(bucket)
            && let Some(count) = self.counts.get_mut(bucket)
        {
            *count += 1;
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

/// Collects the newest `limit` rows by `(time, row)`; rows at or above `after` (returned on
/// earlier pages) get no key, sort last, and are for the caller to drop.
pub fn newest_collector(
    limit: usize,
    after: Option<(i64, u64)>,
) -> impl Collector<Fruit = Vec<(Option<(i64, u64)>, tantivy::DocAddress)>> {
    TopDocs::with_limit(limit).order_by(move |segment: &SegmentReader| {
        let fast = segment.fast_fields();
        let time = fast.i64(columns::TIME).ok();
        let row = fast.u64(super::ROW).ok();
        move |doc: DocId| {
            let key = (
                time.as_ref()
                    .and_then(|column| column.first(doc))
                    .unwrap_or(i64::MIN),
                row.as_ref()
                    .and_then(|column| column.first(doc))
                    .unwrap_or(0),
            );
            match after {
                Some(cursor) if key >= cursor => None,
                _ => Some(key),
            }
        }
    })
}
