//! Filtering, counting, sorting and paging incidents on the incident index's fast fields, so
//! that a page of the queue or of a search costs about the page, not the store.
//!
//! - [`FastFilter`]: the statuses and least severity of a list filter, checked per document on
//!   `status_rank` and `severity_rank`.
//! - [`PageCollector`] and [`CountsCollector`]: one pass over the documents a query matches (a
//!   search, or the exact filters on assignee, entity and service), counting them and keeping
//!   the best `offset + limit` in the list's order.
//! - [`SegmentOrders`]: for the queue itself (no search, no exact filter), each segment's
//!   documents sorted once in every order and counted per status and severity, kept while the
//!   segment lives: a page walks the orders from their best end until it holds
//!   `offset + limit` incidents, and the counts are sums of the per-segment counts.
//!
//! The order is the store's: the sort key, then the row number (`seq`), all descending or all
//! ascending. Row numbers are unique, so the order is total and pages never overlap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::{DocAddress, DocId, Opstamp, Score, Searcher, SegmentOrdinal, SegmentReader};
use weft_correlate::incident::{
    IncidentCounts, IncidentFilter, IncidentSort, IncidentStatus, Severity,
};

use super::fields::{
    CREATED, LAST_SEEN, SEQ, SEVERITY_RANK, STATUS_RANK, status_of_rank, status_rank,
};

/// Statuses (`status_rank` 0 to 3) and severities (`severity_rank` 0 to 4).
const STATUSES: usize = 4;
const SEVERITIES: usize = 5;
/// The sorts, in the order [`SegmentOrders`] keeps them.
const SORTS: [IncidentSort; 3] = [
    IncidentSort::Severity,
    IncidentSort::LastSeen,
    IncidentSort::Created,
];

/// How many incidents per status and severity.
type Histogram = [[u64; SEVERITIES]; STATUSES];

/// The statuses and the least severity a list filter lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastFilter {
    /// Bit `status_rank` set for each status let through.
    statuses: u8,
    min_severity: u64,
}

impl FastFilter {
    /// The filter's statuses (every one but merged when it names none) and least severity.
    pub fn new(filter: &IncidentFilter) -> FastFilter {
        let statuses = if filter.statuses.is_empty() {
            [
                IncidentStatus::Open,
                IncidentStatus::Acknowledged,
                IncidentStatus::Closed,
            ]
            .iter()
            .fold(0, |bits, status| bits | 1 << status_rank(*status))
        } else {
            filter
                .statuses
                .iter()
                .fold(0, |bits, status| bits | 1 << status_rank(*status))
        };
        let min_severity = filter
            .min_severity
            .map_or(0, |severity| u64::try_from(severity.rank()).unwrap_or(0));
        FastFilter {
            statuses,
            min_severity,
        }
    }

    /// The same least severity with every status but merged: what counts are taken over.
    pub fn for_counts(filter: &IncidentFilter) -> FastFilter {
        FastFilter::new(&IncidentFilter {
            statuses: Vec::new(),
            min_severity: filter.min_severity,
            ..IncidentFilter::default()
        })
    }

    fn accepts(self, status: u64, severity: u64) -> bool {
        status < 8 && self.statuses & (1 << status) != 0 && severity >= self.min_severity
    }
}

/// A place in the list's order: larger is listed first. Each part of the store's sort key is
/// mapped onto `u64` keeping its order, and flipped for ascending lists.
type Place = [u64; 3];

/// One incident of a page: where it goes, its row number and its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    pub place: Place,
    pub seq: u64,
    pub address: DocAddress,
}

/// The fast fields of one segment.
struct Columns {
    status: FastColumn<u64>,
    severity: FastColumn<u64>,
    last_seen: FastColumn<i64>,
    created: FastColumn<i64>,
    seq: FastColumn<u64>,
}

/// One fast field of a segment, read by document.
struct FastColumn<T> {
    /// Its values by document when every document has exactly one (as every document of
    /// this index does): read without a lookup in the column's index.
    dense: Option<Arc<dyn ColumnValues<T>>>,
    column: Column<T>,
}

impl<T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static> FastColumn<T> {
    fn new(column: Column<T>) -> FastColumn<T> {
        let dense = matches!(column.index, ColumnIndex::Full).then(|| Arc::clone(&column.values));
        FastColumn { dense, column }
    }

    #[inline]
    fn first(&self, doc: DocId) -> Option<T> {
        match &self.dense {
            Some(values) => Some(values.get_val(doc)),
            None => self.column.first(doc),
        }
    }
}

impl Columns {
    fn of(segment: &SegmentReader) -> tantivy::Result<Columns> {
        // Every document has every one of them.
        let fast = segment.fast_fields();
        Ok(Columns {
            status: FastColumn::new(fast.u64(STATUS_RANK)?),
            severity: FastColumn::new(fast.u64(SEVERITY_RANK)?),
            last_seen: FastColumn::new(fast.i64(LAST_SEEN)?),
            created: FastColumn::new(fast.i64(CREATED)?),
            seq: FastColumn::new(fast.u64(SEQ)?),
        })
    }

    /// The first part of the document's place (see [`Self::place`]), from its severity as
    /// already read: enough to pass over most documents once a page is full.
    fn lead(&self, doc: DocId, severity: u64, sort: IncidentSort, ascending: bool) -> u64 {
        let lead = match sort {
            IncidentSort::Severity => severity,
            IncidentSort::LastSeen => ordered(self.last_seen.first(doc).unwrap_or(0)),
            IncidentSort::Created => ordered(self.created.first(doc).unwrap_or(0)),
        };
        if ascending { !lead } else { lead }
    }

    /// The document's status rank; a document without one matches no status.
    fn status(&self, doc: DocId) -> u64 {
        self.status.first(doc).unwrap_or(u64::MAX)
    }

    fn severity(&self, doc: DocId) -> u64 {
        self.severity.first(doc).unwrap_or(0)
    }

    fn seq(&self, doc: DocId) -> u64 {
        self.seq.first(doc).unwrap_or(0)
    }

    /// The document's sort key under `sort`, descending.
    fn key(&self, doc: DocId, sort: IncidentSort) -> Place {
        let time = |column: &FastColumn<i64>| ordered(column.first(doc).unwrap_or(0));
        let seq = self.seq(doc);
        match sort {
            IncidentSort::Severity => [self.severity(doc), time(&self.last_seen), seq],
            IncidentSort::LastSeen => [time(&self.last_seen), 0, seq],
            IncidentSort::Created => [time(&self.created), 0, seq],
        }
    }

    fn place(&self, doc: DocId, sort: IncidentSort, ascending: bool) -> Place {
        let key = self.key(doc, sort);
        if ascending {
            key.map(|part| !part)
        } else {
            key
        }
    }
}

/// `value` on `u64`, in the same order.
fn ordered(value: i64) -> u64 {
    value.cast_unsigned() ^ (1 << 63)
}

/// The best `wanted` of the candidates, best first.
fn best(mut candidates: Vec<Candidate>, wanted: usize) -> Vec<Candidate> {
    candidates.sort_unstable_by(|left, right| right.cmp(left));
    candidates.truncate(wanted);
    candidates
}

/// Counts the documents a query matches that pass a [`FastFilter`] and keeps the best
/// `wanted` of them in a list's order.
#[derive(Debug, Clone, Copy)]
pub struct PageCollector {
    pub filter: FastFilter,
    pub sort: IncidentSort,
    pub ascending: bool,
    pub wanted: usize,
}

pub struct PageSegment {
    collector: PageCollector,
    segment: SegmentOrdinal,
    columns: Columns,
    count: u64,
    /// The best so far, the least of them on top.
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl Collector for PageCollector {
    type Fruit = (u64, Vec<Candidate>);
    type Child = PageSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        Ok(PageSegment {
            collector: *self,
            segment,
            columns: Columns::of(reader)?,
            count: 0,
            heap: BinaryHeap::with_capacity(self.wanted.min(4096) + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(u64, Vec<Candidate>)>,
    ) -> tantivy::Result<(u64, Vec<Candidate>)> {
        let mut total = 0;
        let mut candidates = Vec::new();
        for (count, segment_candidates) in fruits {
            total += count;
            candidates.extend(segment_candidates);
        }
        Ok((total, best(candidates, self.wanted)))
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = (u64, Vec<Candidate>);

    fn collect(&mut self, doc: DocId, _score: Score) {
        let columns = &self.columns;
        let severity = columns.severity(doc);
        if !self.collector.filter.accepts(columns.status(doc), severity) {
            return;
        }
        self.count += 1;
        let wanted = self.collector.wanted;
        if wanted == 0 {
            return;
        }
        let PageCollector {
            sort, ascending, ..
        } = self.collector;
        if self.heap.len() == wanted
            && self.heap.peek().is_some_and(|Reverse(least)| {
                columns.lead(doc, severity, sort, ascending) < least.place[0]
            })
        {
            return;
        }
        let place = columns.place(doc, sort, ascending);
        if self.heap.len() == wanted
            && self
                .heap
                .peek()
                .is_some_and(|Reverse(least)| least.place >= place)
        {
            return;
        }
        let candidate = Candidate {
            place,
            seq: columns.seq(doc),
            address: DocAddress::new(self.segment, doc),
        };
        if self.heap.len() == wanted {
            self.heap.pop();
        }
        self.heap.push(Reverse(candidate));
    }

    fn harvest(self) -> (u64, Vec<Candidate>) {
        let candidates = self.heap.into_iter().map(|Reverse(candidate)| candidate);
        (self.count, candidates.collect())
    }
}

/// Counts the documents a query matches that pass a [`FastFilter`], per status and severity.
#[derive(Debug, Clone, Copy)]
pub struct CountsCollector {
    pub filter: FastFilter,
}

pub struct CountsSegment {
    filter: FastFilter,
    columns: Columns,
    histogram: Histogram,
}

impl Collector for CountsCollector {
    type Fruit = IncidentCounts;
    type Child = CountsSegment;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<CountsSegment> {
        Ok(CountsSegment {
            filter: self.filter,
            columns: Columns::of(reader)?,
            histogram: Histogram::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Histogram>) -> tantivy::Result<IncidentCounts> {
        Ok(counts(self.filter, fruits.iter()))
    }
}

impl SegmentCollector for CountsSegment {
    type Fruit = Histogram;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let status = self.columns.status(doc);
        let severity = self.columns.severity(doc);
        if self.filter.accepts(status, severity) {
            tally(&mut self.histogram, status, severity);
        }
    }

    fn harvest(self) -> Histogram {
        self.histogram
    }
}

fn tally(histogram: &mut Histogram, status: u64, severity: u64) {
    let status = usize::try_from(status).unwrap_or(usize::MAX);
    let severity = usize::try_from(severity).unwrap_or(usize::MAX);
    if let Some(cell) = histogram
        .get_mut(status)
        .and_then(|row| row.get_mut(severity))
    {
        *cell += 1;
    }
}

/// The counts of `histograms` that `filter` lets through.
fn counts<'a>(
    filter: FastFilter,
    histograms: impl Iterator<Item = &'a Histogram>,
) -> IncidentCounts {
    let mut sum = Histogram::default();
    for histogram in histograms {
        for (status, row) in histogram.iter().enumerate() {
            for (severity, count) in row.iter().enumerate() {
                sum[status][severity] += count;
            }
        }
    }
    let mut counts = IncidentCounts::default();
    for (status, row) in (0_u64..).zip(sum.iter()) {
        for (severity, &count) in (0_u64..).zip(row.iter()) {
            let Some(incident_status) = status_of_rank(status) else {
                continue;
            };
            if count > 0 && filter.accepts(status, severity) {
                let severity = Severity::from_rank(i64::try_from(severity).unwrap_or(0));
                counts.add(incident_status, severity, count);
            }
        }
    }
    counts
}

/// One segment's documents in every order, and its live documents per status and severity.
struct SegmentOrders {
    /// Per sort of [`SORTS`], every document of the segment (deleted ones too) in descending
    /// order.
    orders: [Vec<DocId>; 3],
    /// The live documents per status and severity, as of `deletes`.
    histogram: Histogram,
    deletes: Deletes,
}

/// Which deletes a segment had: its delete opstamp and how many documents it deleted.
type Deletes = (Option<Opstamp>, DocId);

fn deletes(segment: &SegmentReader) -> Deletes {
    (segment.delete_opstamp(), segment.num_deleted_docs())
}

impl SegmentOrders {
    fn build(segment: &SegmentReader) -> tantivy::Result<SegmentOrders> {
        let columns = Columns::of(segment)?;
        let orders = SORTS.map(|sort| {
            let mut keyed: Vec<(Place, DocId)> = (0..segment.max_doc())
                .map(|doc| (columns.key(doc, sort), doc))
                .collect();
            keyed.sort_unstable_by(|left, right| right.cmp(left));
            keyed.into_iter().map(|(_, doc)| doc).collect()
        });
        Ok(SegmentOrders {
            orders,
            histogram: live_histogram(segment, &columns),
            deletes: deletes(segment),
        })
    }
}

fn live_histogram(segment: &SegmentReader, columns: &Columns) -> Histogram {
    let mut histogram = Histogram::default();
    for doc in segment.doc_ids_alive() {
        tally(&mut histogram, columns.status(doc), columns.severity(doc));
    }
    histogram
}

/// The [`SegmentOrders`] of the segments the index had when last asked, by segment.
#[derive(Default)]
pub struct QueueCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentOrders>>>,
}

impl std::fmt::Debug for QueueCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("QueueCache").finish_non_exhaustive()
    }
}

impl QueueCache {
    /// The orders of every segment of `searcher`, in segment order: built for new segments,
    /// recounted for segments with new deletes, forgotten for segments that are gone.
    fn orders(&self, searcher: &Searcher) -> tantivy::Result<Vec<Arc<SegmentOrders>>> {
        let mut known = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        let mut orders = Vec::with_capacity(searcher.segment_readers().len());
        for segment in searcher.segment_readers() {
            let id = segment.segment_id();
            let current = match known.get(&id) {
                Some(entry) if entry.deletes == deletes(segment) => Arc::clone(entry),
                Some(entry) => {
                    let columns = Columns::of(segment)?;
                    Arc::new(SegmentOrders {
                        orders: entry.orders.clone(),
                        histogram: live_histogram(segment, &columns),
                        deletes: deletes(segment),
                    })
                }
                None => Arc::new(SegmentOrders::build(segment)?),
            };
            known.insert(id, Arc::clone(&current));
            orders.push(current);
        }
        let live: std::collections::HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        known.retain(|id, _| live.contains(id));
        Ok(orders)
    }

    /// How many incidents pass `filter` and the best `wanted` of them in the list's order,
    /// from the orders alone (the queue without a search or an exact filter).
    pub fn page(
        &self,
        searcher: &Searcher,
        filter: FastFilter,
        sort: IncidentSort,
        ascending: bool,
        wanted: usize,
    ) -> tantivy::Result<(u64, Vec<Candidate>)> {
        let orders = self.orders(searcher)?;
        let total = counts(filter, orders.iter().map(|orders| &orders.histogram)).total;
        let sort_index = SORTS.iter().position(|known| *known == sort).unwrap_or(0);
        let mut candidates = Vec::new();
        for ((segment_ord, segment), orders) in
            searcher.segment_readers().iter().enumerate().zip(&orders)
        {
            if wanted == 0 {
                break;
            }
            let segment_ord = SegmentOrdinal::try_from(segment_ord).unwrap_or(SegmentOrdinal::MAX);
            let columns = Columns::of(segment)?;
            let order = &orders.orders[sort_index];
            let accepted = |doc: &DocId| {
                !segment.is_deleted(*doc)
                    && filter.accepts(columns.status(*doc), columns.severity(*doc))
            };
            let keep = |doc: DocId| Candidate {
                place: columns.place(doc, sort, ascending),
                seq: columns.seq(doc),
                address: DocAddress::new(segment_ord, doc),
            };
            if ascending {
                candidates.extend(
                    order
                        .iter()
                        .rev()
                        .copied()
                        .filter(&accepted)
                        .take(wanted)
                        .map(&keep),
                );
            } else {
                candidates.extend(
                    order
                        .iter()
                        .copied()
                        .filter(&accepted)
                        .take(wanted)
                        .map(&keep),
                );
            }
        }
        Ok((total, best(candidates, wanted)))
    }

    /// How many incidents pass `filter` per status and severity, from the orders alone.
    pub fn counts(
        &self,
        searcher: &Searcher,
        filter: FastFilter,
    ) -> tantivy::Result<IncidentCounts> {
        let orders = self.orders(searcher)?;
        Ok(counts(
            filter,
            orders.iter().map(|orders| &orders.histogram),
        ))
    }
}
