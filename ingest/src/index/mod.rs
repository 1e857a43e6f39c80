//! The search index of a segment: a tantivy index over the same rows as its Parquet file,
//! published with it (DESIGN.md, "Delivery and durability").
//!
//! Analysts search events with field queries and free text — `user:alice AND "failed
//! password"`, `src_ip:10.0.0.5 AND http_status:[500 TO 599]`, `attrs.userIdentity.type:Root` —
//! newest first. A segment's index answers with the matching rows' positions (`row`) and times;
//! the rows themselves are then read from the Parquet file, so the index stores no text.
//!
//! What is indexed, per row:
//!
//! | fields | how | example query |
//! | --- | --- | --- |
//! | `message`, `raw`, `url`, `user_agent`, `process`, `command_line`, `resource` | words, lower-cased | `message:"failed password"`, `powershell` (default fields: `message`, `raw`) |
//! | `service`, `host`, `format`, `class`, `activity`, `outcome`, `http_method`, `user`, `src_ip`, `dst_ip`, `trace_id`, `span_id`, `request_id`, `session_id`, `event_id`, `flags` | the whole value, lower-cased | `user:alice`, `class:authentication` |
//! | `time` (UTC microseconds), `severity`, `src_port`, `dst_port`, `http_status` | numbers, ranges | `http_status:[500 TO 599]` |
//!
//! `time` and `row` are fast fields: results sort by time without reading documents.
//!
//! `attrs` is not indexed: its values are already in `raw`, whose words are, and indexing each
//! original field again halves the events indexed per second (measured on CloudTrail records
//! with `cargo bench -p weft-ingest --bench index`). Questions about one original field are
//! SQL's: `WHERE attrs['userIdentity.type'] = 'Root'`.

mod search;
mod writer;

use std::path::PathBuf;

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

pub use search::{
    Hit, SearchError, SearchRequest, SegmentHits, SegmentIndex, TimeBuckets, check_query,
    lift_negations, newest_collector,
};
pub use writer::{IndexStats, temp_path, write_index, write_index_batches};

use crate::schema as columns;

/// The directory of a segment's index is the segment's file name between this prefix and
/// [`INDEX_SUFFIX`], beside it. Readers of the Parquet store (pyarrow and Spark datasets, Hive
/// layouts) skip names starting with `_`, so the index never looks like data to them.
pub const INDEX_PREFIX: &str = "_";
/// See [`INDEX_PREFIX`].
pub const INDEX_SUFFIX: &str = ".idx";

/// The index directory of the segment at `segment_path`: `<dir>/_<segment file name>.idx`.
pub fn index_path(segment_path: &std::path::Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(INDEX_PREFIX);
    name.push(segment_path.file_name().unwrap_or_default());
    name.push(INDEX_SUFFIX);
    segment_path.with_file_name(name)
}

/// The segment whose index directory is `index_path` (the inverse of [`index_path`]).
pub fn segment_of_index(index_path: &std::path::Path) -> PathBuf {
    let name = index_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_prefix(INDEX_PREFIX).unwrap_or(&name);
    index_path.with_file_name(name.strip_suffix(INDEX_SUFFIX).unwrap_or(name))
}

/// Why a segment index could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index {path}: {error}")]
    Tantivy {
        path: PathBuf,
        #[source]
        error: tantivy::TantivyError,
    },
    #[error("search index {path}: {action}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("search index {path}: the batch has no `{column}` column of the event schema")]
    MissingColumn { path: PathBuf, column: &'static str },
}

/// Tokenizer of whole values (`user`, `src_ip`, ...): one lower-cased token.
const KEYWORD: &str = "weft_keyword";
/// Tokenizer of text: words split on non-alphanumerics, lower-cased, not stemmed (log text is
/// names, paths and codes more than prose).
const WORDS: &str = "weft_words";

/// Text columns searched by their words.
pub const WORD_FIELDS: [&str; 7] = [
    columns::MESSAGE,
    columns::RAW,
    columns::URL,
    columns::USER_AGENT,
    columns::PROCESS,
    columns::COMMAND_LINE,
    columns::RESOURCE,
];

/// Text columns searched by their whole value.
pub const KEYWORD_FIELDS: [&str; 16] = [
    columns::EVENT_ID,
    columns::SERVICE,
    columns::HOST,
    columns::FORMAT,
    columns::CLASS,
    columns::ACTIVITY,
    columns::OUTCOME,
    columns::HTTP_METHOD,
    columns::USER,
    columns::SRC_IP,
    columns::DST_IP,
    columns::TRACE_ID,
    columns::SPAN_ID,
    columns::REQUEST_ID,
    columns::SESSION_ID,
    columns::FLAGS,
];

/// Integer columns searched by value and range.
pub const NUMBER_FIELDS: [&str; 4] = [
    columns::SEVERITY,
    columns::SRC_PORT,
    columns::DST_PORT,
    columns::HTTP_STATUS,
];

/// The row of the event in its segment's Parquet file.
pub const ROW: &str = "row";

/// Fields a query without a field name searches.
pub const DEFAULT_FIELDS: [&str; 2] = [columns::MESSAGE, columns::RAW];

/// The tantivy schema of segment indexes, with its field handles.
#[derive(Debug, Clone)]
pub struct IndexSchema {
    pub schema: Schema,
    pub time: Field,
    pub row: Field,
    /// `(column, field)` for every text, keyword and number column.
    pub words: Vec<(&'static str, Field)>,
    pub keywords: Vec<(&'static str, Field)>,
    pub numbers: Vec<(&'static str, Field)>,
}

impl IndexSchema {
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let keyword = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD)
                .set_index_option(IndexRecordOption::Basic),
        );
        let time = builder.add_i64_field(columns::TIME, INDEXED | FAST | STORED);
        let row = builder.add_u64_field(ROW, FAST | STORED);
        let words = WORD_FIELDS
            .iter()
            .map(|&name| (name, builder.add_text_field(name, text(WORDS))))
            .collect();
        let keywords = KEYWORD_FIELDS
            .iter()
            .map(|&name| (name, builder.add_text_field(name, keyword.clone())))
            .collect();
        let numbers = NUMBER_FIELDS
            .iter()
            .map(|&name| (name, builder.add_i64_field(name, INDEXED)))
            .collect();
        IndexSchema {
            schema: builder.build(),
            time,
            row,
            words,
            keywords,
            numbers,
        }
    }

    /// The default search fields' handles.
    fn default_fields(&self) -> Vec<Field> {
        self.words
            .iter()
            .filter(|(name, _)| DEFAULT_FIELDS.contains(name))
            .map(|&(_, field)| field)
            .collect()
    }
}

impl Default for IndexSchema {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers weft's tokenizers (they are not stored in an index; every reader registers them):
/// `weft_keyword` (the whole value, lowercased) and `weft_words` (words, lowercased). Other
/// indexes of weft (incidents) use the same ones.
pub fn register_into(tokenizers: &TokenizerManager) {
    tokenizers.register(
        KEYWORD,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
    tokenizers.register(
        WORDS,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}

/// Registers weft's tokenizers on an index.
fn register_tokenizers(index: &tantivy::Index) {
    register_into(index.tokenizers());
}

#[cfg(test)]
mod tests;
