//! One segment's matching rows: how many there are, and the newest of them by `(time, row)`.
//!
//! Both read only the index's fast fields and postings. Counting alone lets tantivy take the
//! quickest way (a term's document frequency when nothing else narrows it); the newest rows are
//! collected only from the segments that can still place a row on the page.

use std::path::PathBuf;

use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, EnableScoring, Occur, PhraseQuery, Query, Scorer, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, DocSet, IndexReader};
use weft_ingest::index::{Hit, IndexError, SegmentIndex, newest_collector};

use super::SearchError;

/// A segment's index, opened for counting and collecting its newest matches.
pub struct SegmentHitsReader {
    path: PathBuf,
    reader: IndexReader,
}

impl std::fmt::Debug for SegmentHitsReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SegmentHitsReader")
            .field("path", &self.path)
            .finish()
    }
}

impl SegmentHitsReader {
    /// Reads through `index`'s own reader (the index is opened once per segment).
    pub fn new(index: &SegmentIndex) -> SegmentHitsReader {
        SegmentHitsReader {
            path: index.path().to_path_buf(),
            reader: index.reader().clone(),
        }
    }

    fn failed(&self, error: tantivy::TantivyError) -> SearchError {
        SearchError::Index(IndexError::Tantivy {
            path: self.path.clone(),
            error,
        })
    }

    /// Rows matching `query`.
    pub fn count(&self, query: &dyn Query) -> Result<u64, SearchError> {
        let count = self
            .reader
            .searcher()
            .search(query, &Count)
            .map_err(|error| self.failed(error))?;
        Ok(count as u64)
    }

    /// The newest `limit` rows matching `query` that sort after `after` (newest first by
    /// `(time, row)`: rows at or above `after` were returned on earlier pages), and, when
    /// `count`, how many rows match in all (counted in the same pass).
    ///
    /// A query with phrases does not check the positions of every matching row: the newest
    /// rows holding the phrases' words (postings only) are checked first, newest first, and
    /// the search widens only when too few of them hold the phrases. Every row with the
    /// phrase holds its words, so the newest checked rows are the newest matches.
    pub fn newest(
        &self,
        query: &dyn Query,
        limit: usize,
        after: Option<(i64, u64)>,
        count: bool,
    ) -> Result<(Vec<Hit>, Option<u64>), SearchError> {
        if !count && let Some(words) = relax(query) {
            let mut candidates = limit.max(1).saturating_mul(CANDIDATES_PER_HIT);
            while candidates <= MAX_CANDIDATES {
                let (newest, exhausted) =
                    self.newest_checked(query, words.as_ref(), limit, after, candidates)?;
                if newest.len() >= limit || exhausted {
                    return Ok((newest, None));
                }
                candidates = candidates.saturating_mul(8);
            }
        }
        self.newest_of(query, limit, after, count)
    }

    /// The newest `limit` rows of `query` among the newest `candidates` rows of `words` (a
    /// query every match of `query` matches), and whether those were all of `words`' rows.
    fn newest_checked(
        &self,
        query: &dyn Query,
        words: &dyn Query,
        limit: usize,
        after: Option<(i64, u64)>,
        candidates: usize,
    ) -> Result<(Vec<Hit>, bool), SearchError> {
        let searcher = self.reader.searcher();
        let found = searcher
            .search(words, &newest_collector(candidates, after))
            .map_err(|error| self.failed(error))?;
        let found: Vec<((i64, u64), DocAddress)> = found
            .into_iter()
            .filter_map(|(key, address)| key.map(|key| (key, address)))
            .collect();
        let exhausted = found.len() < candidates;
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .map_err(|error| self.failed(error))?;
        // Scorers only move forward: each index segment's candidates in document order.
        let mut by_document: Vec<(u32, DocId, usize)> = found
            .iter()
            .enumerate()
            .map(|(place, (_, address))| (address.segment_ord, address.doc_id, place))
            .collect();
        by_document.sort_unstable();
        let mut matched = vec![false; found.len()];
        let mut current: Option<(u32, Box<dyn Scorer>)> = None;
        for (segment_ord, doc, place) in by_document {
            if current.as_ref().is_none_or(|(ord, _)| *ord != segment_ord) {
                let reader = searcher.segment_reader(segment_ord);
                let scorer = weight
                    .scorer(reader, 1.0)
                    .map_err(|error| self.failed(error))?;
                current = Some((segment_ord, scorer));
            }
            if let Some((_, scorer)) = current.as_mut() {
                let at = if scorer.doc() < doc {
                    scorer.seek(doc)
                } else {
                    scorer.doc()
                };
                matched[place] = at == doc;
            }
        }
        let hits = found
            .iter()
            .zip(matched)
            .filter(|(_, matched)| *matched)
            .map(|(((time, row), _), _)| Hit {
                time: *time,
                row: *row,
            })
            .take(limit)
            .collect();
        Ok((hits, exhausted))
    }

    fn newest_of(
        &self,
        query: &dyn Query,
        limit: usize,
        after: Option<(i64, u64)>,
        count: bool,
    ) -> Result<(Vec<Hit>, Option<u64>), SearchError> {
        let top = newest_collector(limit.max(1), after);
        let searcher = self.reader.searcher();
        let (count, top) = if count {
            let (count, top) = searcher
                .search(query, &(Count, top))
                .map_err(|error| self.failed(error))?;
            (Some(count as u64), top)
        } else {
            let top = searcher
                .search(query, &top)
                .map_err(|error| self.failed(error))?;
            (None, top)
        };
        let hits = top
            .into_iter()
            .filter_map(|(key, _)| key.map(|(time, row)| Hit { time, row }))
            .take(limit)
            .collect();
        Ok((hits, count))
    }
}

/// Rows checked per wanted row at first, and the most checked before the whole segment is
/// searched with positions.
const CANDIDATES_PER_HIT: usize = 4;
const MAX_CANDIDATES: usize = 65_536;

/// `query` with every phrase it requires replaced by its words (no positions): a query that
/// matches every row `query` matches, and more. `None` when `query` requires no phrase.
/// Phrases under `NOT` stay phrases, so the relaxed query never excludes a match.
fn relax(query: &dyn Query) -> Option<Box<dyn Query>> {
    if let Some(phrase) = query.downcast_ref::<PhraseQuery>() {
        let words: Vec<(Occur, Box<dyn Query>)> = phrase
            .phrase_terms()
            .into_iter()
            .map(|term| {
                let word: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                (Occur::Must, word)
            })
            .collect();
        return Some(Box::new(BooleanQuery::new(words)));
    }
    let boolean = query.downcast_ref::<BooleanQuery>()?;
    let mut relaxed_any = false;
    let clauses = boolean
        .clauses()
        .iter()
        .map(|(occur, clause)| match occur {
            Occur::MustNot => (*occur, clause.box_clone()),
            _ => match relax(clause.as_ref()) {
                Some(relaxed) => {
                    relaxed_any = true;
                    (*occur, relaxed)
                }
                None => (*occur, clause.box_clone()),
            },
        })
        .collect();
    relaxed_any.then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}
