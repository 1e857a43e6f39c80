//! Event search: analysts' queries over every segment's search index, answered with the
//! matching events read from Parquet.
//!
//! A search parses the query (tantivy syntax, see [`weft_ingest::index`]) once, takes the
//! segments whose events overlap the time range newest first, and collects their newest hits by
//! `(time, segment, row)` until the page is full of hits that no later segment can beat
//! (`may_place`); every overlapping segment is counted, so `total` is exact, and a segment's
//! count for a query is remembered ([`segments::OpenSegment::counts`]). Only the rows of the
//! page are read from Parquet ([`rows`]), or taken from the rows recently returned. Pages
//! continue with an opaque [`Cursor`]. The same indexes answer the time [`histogram`] of
//! matches and the lookup of one event by its id.
//!
//! Everything here blocks (memory-mapped index reads, file reads): callers in async code run it
//! on a blocking thread.

pub mod cache;
pub mod cursor;
pub mod histogram;
pub mod hits;
pub mod query;
pub mod rows;
pub mod segments;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use weft_ingest::index::{IndexError, SearchRequest, TimeBuckets, check_query};

use cache::RecentMap;
pub use cursor::{Cursor, CursorError};
pub use histogram::{Bucket, Histogram, IntervalError};
use query::QueryReader;
pub use rows::{Columns, JsonEvent};
use segments::Segments;
use weft_ingest::store::manifest::SegmentEntry;

/// Most events one page may hold.
pub const MAX_LIMIT: usize = 1_000;
/// Events per page when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// Search results (normalized columns) remembered for the next searches that return them.
const ROWS_REMEMBERED: usize = 16_384;
/// Longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text is not a valid query: the caller's mistake.
    #[error("{0}")]
    Query(String),
    /// The request is not valid (its range, its interval, its cursor).
    #[error("{0}")]
    Request(String),
    /// A segment or the manifest could not be read: weft's problem, not the caller's.
    #[error("reading {path}: {reason}")]
    Segment { path: PathBuf, reason: String },
    /// A segment's index could not be searched: weft's problem, not the caller's.
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<weft_ingest::index::SearchError> for SearchError {
    fn from(error: weft_ingest::index::SearchError) -> Self {
        match error {
            weft_ingest::index::SearchError::Query(message) => {
                SearchError::Query(format!("invalid query: {message}"))
            }
            weft_ingest::index::SearchError::Index(error) => SearchError::Index(error),
        }
    }
}

/// One page request.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// Query text; empty matches every event.
    pub query: String,
    /// Earliest event time, UTC microseconds, inclusive.
    pub from: Option<i64>,
    /// Latest event time, UTC microseconds, exclusive.
    pub to: Option<i64>,
    /// Events per page, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventPage {
    /// Newest first.
    pub events: Vec<JsonEvent>,
    /// Events matching the query and time range, on every page alike.
    pub total: u64,
    /// The token of the next page; `None` on the last page.
    pub cursor: Option<String>,
}

/// A hit's place in the result order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    time: i64,
    segment: String,
    row: u64,
}

/// Searches the events of one data directory.
#[derive(Debug)]
pub struct EventSearch {
    segments: Segments,
    queries: QueryReader,
    /// Recently returned search results by `(segment, row)`: the newest events of a query are
    /// what analysts (and dashboards refreshing) ask for again, and a row scattered in a
    /// segment costs a page read and a decompression per column.
    rows: RecentMap<(String, u64), Arc<JsonEvent>>,
}

impl EventSearch {
    pub fn new(data_dir: &Path) -> EventSearch {
        EventSearch {
            segments: Segments::new(data_dir),
            queries: QueryReader::new(),
            rows: RecentMap::new(ROWS_REMEMBERED / 2),
        }
    }

    /// One page of the events matching `params`, newest first.
    pub fn search(&self, params: &SearchParams) -> Result<EventPage, SearchError> {
        validate(&params.query, params.from, params.to)?;
        if params.limit == 0 || params.limit > MAX_LIMIT {
            return Err(SearchError::Request(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let query = self.queries.read(&params.query, params.from, params.to)?;
        let cursor = params.cursor.as_ref().map(|cursor| Position {
            time: cursor.time,
            segment: cursor.segment.clone(),
            row: cursor.row,
        });
        // One more than a page tells whether another page follows.
        let wanted = params.limit + 1;
        let mut total = 0u64;
        let mut positions: Vec<Position> = Vec::with_capacity(2 * wanted);
        for entry in self.segments.overlapping(params.from, params.to)? {
            let segment = self.segments.open(&entry)?;
            let segment_query = query.for_segment(&entry);
            let count_key = query.count_key(&entry);
            let known = segment.counts.get(&count_key);
            if !may_place(&entry, &positions, wanted, cursor.as_ref()) {
                total += match known {
                    Some(count) => count,
                    None => {
                        let count = segment.hits.count(segment_query.as_ref())?;
                        segment.counts.insert(count_key, count);
                        count
                    }
                };
                continue;
            }
            let after = params
                .cursor
                .as_ref()
                .map(|cursor| cursor.after_in(&entry.segment));
            let (hits, counted) =
                segment
                    .hits
                    .newest(segment_query.as_ref(), wanted, after, known.is_none())?;
            total += match (known, counted) {
                (Some(count), _) => count,
                (None, counted) => {
                    let count = counted.unwrap_or_default();
                    segment.counts.insert(count_key, count);
                    count
                }
            };
            positions.extend(hits.into_iter().map(|hit| Position {
                time: hit.time,
                segment: entry.segment.clone(),
                row: hit.row,
            }));
            positions.sort_unstable_by(|a, b| b.cmp(a));
            positions.truncate(wanted);
        }
        let more = positions.len() > params.limit;
        positions.truncate(params.limit);
        let cursor = more.then(|| positions.last()).flatten().map(|last| {
            Cursor {
                time: last.time,
                segment: last.segment.clone(),
                row: last.row,
            }
            .encode()
        });
        let events = self.read(&positions, Columns::Normalized)?;
        Ok(EventPage {
            events,
            total,
            cursor,
        })
    }

    /// How many events matching `query` fall in each bucket of `[from, to)`. Without a range,
    /// the range of the stored events. `interval` in microseconds; chosen from the range when
    /// `None`.
    pub fn histogram(
        &self,
        query: &str,
        from: Option<i64>,
        to: Option<i64>,
        interval: Option<i64>,
    ) -> Result<Histogram, SearchError> {
        validate(query, from, to)?;
        if let Some(interval) = interval
            && interval <= 0
        {
            return Err(SearchError::Request(
                "the interval must be longer than zero".to_string(),
            ));
        }
        let segments = self.segments.overlapping(from, to)?;
        let stored_from = segments.iter().map(|entry| entry.min_time).min();
        let stored_to = segments
            .iter()
            .map(|entry| entry.max_time.saturating_add(1))
            .max();
        let (Some(range_from), Some(range_to)) = (from.or(stored_from), to.or(stored_to)) else {
            // Nothing stored and no range given: nothing to count.
            return Ok(Histogram {
                interval: histogram::format_interval(
                    interval.unwrap_or(histogram::DEFAULT_INTERVAL),
                ),
                buckets: Vec::new(),
                total: 0,
            });
        };
        let range_to = range_to.max(range_from);
        let (start, interval, buckets) = histogram::plan(range_from, range_to, interval)
            .map_err(|error| SearchError::Request(error.to_string()))?;
        let request = SearchRequest {
            query: query.to_string(),
            from: Some(range_from),
            to: Some(range_to),
            limit: 0,
            after: None,
        };
        let plan = TimeBuckets {
            start,
            interval,
            buckets,
        };
        let mut counts = vec![0u64; buckets];
        for entry in &segments {
            let segment = self.segments.open(entry)?;
            let segment_counts = segment.index.histogram(&request, plan)?;
            for (count, more) in counts.iter_mut().zip(segment_counts) {
                *count += more;
            }
        }
        let total = counts.iter().sum();
        let buckets = counts
            .into_iter()
            .enumerate()
            .map(|(index, count)| Bucket {
                start: rows::rfc3339(start.saturating_add(interval.saturating_mul(index as i64))),
                count,
            })
            .collect();
        Ok(Histogram {
            interval: histogram::format_interval(interval),
            buckets,
            total,
        })
    }

    /// The event whose id is `event_id`, with every column (its raw record included); the
    /// newest when a record was stored twice.
    pub fn event(&self, event_id: &str) -> Result<Option<JsonEvent>, SearchError> {
        let mut newest: Option<Position> = None;
        for entry in self.segments.overlapping(None, None)? {
            let segment = self.segments.open(&entry)?;
            if let Some(hit) = segment.index.find_event(event_id)? {
                let found = Position {
                    time: hit.time,
                    segment: entry.segment.clone(),
                    row: hit.row,
                };
                if newest.as_ref().is_none_or(|newest| found > *newest) {
                    newest = Some(found);
                }
            }
        }
        let Some(position) = newest else {
            return Ok(None);
        };
        Ok(self.read(&[position], Columns::All)?.into_iter().next())
    }

    /// The events whose ids are in `event_ids` (normalized columns, without `raw` and
    /// `attrs`), looked up in the segments overlapping `[from, to)` (UTC microseconds), in
    /// event-time order; ids not found are left out. For an incident's evidence.
    pub fn events_by_id(
        &self,
        event_ids: &[String],
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<JsonEvent>, SearchError> {
        let mut found: std::collections::HashMap<&str, Position> = std::collections::HashMap::new();
        for entry in self.segments.overlapping(from, to)? {
            let segment = self.segments.open(&entry)?;
            for event_id in event_ids {
                if let Some(hit) = segment.index.find_event(event_id)? {
                    let position = Position {
                        time: hit.time,
                        segment: entry.segment.clone(),
                        row: hit.row,
                    };
                    let slot = found.entry(event_id.as_str()).or_insert(position.clone());
                    if position > *slot {
                        *slot = position;
                    }
                }
            }
        }
        let mut positions: Vec<Position> = found.into_values().collect();
        positions.sort();
        self.read(&positions, Columns::Normalized)
    }

    /// The events at `positions`, in that order: each segment's rows in one read. Search
    /// results ([`Columns::Normalized`]) come from the remembered rows when they can.
    fn read(
        &self,
        positions: &[Position],
        columns: Columns,
    ) -> Result<Vec<JsonEvent>, SearchError> {
        let remember = columns == Columns::Normalized;
        let mut known: std::collections::HashMap<(&str, u64), Arc<JsonEvent>> =
            std::collections::HashMap::new();
        let mut by_segment: std::collections::BTreeMap<&str, Vec<u64>> =
            std::collections::BTreeMap::new();
        for position in positions {
            if remember
                && let Some(event) = self.rows.get(&(position.segment.clone(), position.row))
            {
                known.insert((position.segment.as_str(), position.row), event);
                continue;
            }
            by_segment
                .entry(position.segment.as_str())
                .or_default()
                .push(position.row);
        }
        let mut read = std::collections::HashMap::new();
        if !by_segment.is_empty() {
            let entries = self.segments.entries()?;
            for (segment_id, rows) in by_segment {
                let Some(entry) = entries.iter().find(|entry| entry.segment == segment_id) else {
                    return Err(SearchError::Segment {
                        path: PathBuf::from(segment_id),
                        reason: "the segment left the manifest during the search".to_string(),
                    });
                };
                let segment = self.segments.open(entry)?;
                for (row, event) in rows::read_rows(&segment, &rows, columns)? {
                    read.insert((segment_id, row), Arc::new(event));
                }
            }
        }
        let mut events = Vec::with_capacity(positions.len());
        for position in positions {
            let key = (position.segment.as_str(), position.row);
            let event = match known.get(&key).or_else(|| read.get(&key)) {
                Some(event) => event.clone(),
                None => {
                    return Err(SearchError::Segment {
                        path: PathBuf::from(&position.segment),
                        reason: format!("row {} was not read", position.row),
                    });
                }
            };
            if remember && !known.contains_key(&key) {
                self.rows
                    .insert((position.segment.clone(), position.row), event.clone());
            }
            events.push(Arc::unwrap_or_clone(event));
        }
        Ok(events)
    }
}

/// Whether a row of the segment `entry` can still be on the page: `positions` holds the best
/// `wanted` rows found so far (newest first) and `cursor` where the previous page ended.
///
/// The segment's rows sort between `(min_time, segment, 0)` and `(max_time, segment,
/// u64::MAX)`. None of them is on the page when the page is full of rows that sort above the
/// newest of them, or when the oldest of them sorts at or above the cursor (returned before).
/// Such a segment is only counted. Segments come newest first, so once a page is full of
/// rows newer than the next segment's events, the rest are only counted.
fn may_place(
    entry: &SegmentEntry,
    positions: &[Position],
    wanted: usize,
    cursor: Option<&Position>,
) -> bool {
    let newest = Position {
        time: entry.max_time,
        segment: entry.segment.clone(),
        row: u64::MAX,
    };
    let page_full_above =
        positions.len() >= wanted && positions.get(wanted - 1).is_some_and(|last| *last > newest);
    if page_full_above {
        return false;
    }
    let oldest = Position {
        time: entry.min_time,
        segment: entry.segment.clone(),
        row: 0,
    };
    cursor.is_none_or(|cursor| oldest < *cursor)
}

/// Checks what every search request shares: the query's length and syntax, and the range.
fn validate(query: &str, from: Option<i64>, to: Option<i64>) -> Result<(), SearchError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(SearchError::Request(format!(
            "the query is longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    check_query(query)?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(SearchError::Request(
            "`from` must be earlier than `to`".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
