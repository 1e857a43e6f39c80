//! What the incident search index holds: its tantivy schema, its tokenizers, and the document
//! of one incident.
//!
//! | field | holds | how | example query |
//! | --- | --- | --- | --- |
//! | `id` | the incident id | the whole value, as written | `id:INC-3f2a9c01b7de` |
//! | `title` | its title | words, lower-cased | `title:"password spray"` |
//! | `status`, `severity`, `assignee` | as listed | the whole value, lower-cased | `status:open`, `severity:high` |
//! | `entity` | every entity as `type:value` and as `value` | the whole value, lower-cased | `entity:alice`, `entity:"src_ip:203.0.113.7"` |
//! | `service` | services of its alerts | the whole value, lower-cased | `service:auth` |
//! | `rule` | rule ids, names and titles of its alerts | words, lower-cased | `rule:spray` |
//! | `tactic`, `technique` | ATT&CK tactics and techniques | the whole value, lower-cased | `tactic:credential_access`, `technique:t1110` |
//! | `comment` | analysts' comments | words, lower-cased | `comment:scanner` |
//!
//! Words without a field search `id`, `title`, `entity`, `service`, `rule`, `tactic`,
//! `technique` and `comment`; several words must all match.
//!
//! The list's filters have fields of their own, matched as the store matches them: the whole
//! value, case and all. `assignee_exact`, `service_exact` and `entity_exact` (`type`, the
//! unit separator U+001F, `value`) are not searched by words without a field.
//!
//! Five fast fields are not searched but filter, count, sort and page results without reading
//! the store: `status_rank` (0 open, 1 acknowledged, 2 closed, 3 merged), `severity_rank`
//! (0 informational to 4 critical), `last_seen` and `created` (UTC microseconds) and `seq` (the
//! store's row number: creation order, and how the page's incidents are read from the store).

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, TantivyDocument};
use weft_correlate::incident::{IncidentDetail, IncidentStatus};

/// Tokenizer of whole values: one lower-cased token.
const KEYWORD: &str = "weft_keyword";
/// Tokenizer of text: words split on non-alphanumerics, lower-cased, not stemmed.
const WORDS: &str = "weft_words";

/// The incident index's schema and field handles.
#[derive(Debug, Clone)]
pub struct IncidentFields {
    pub schema: Schema,
    pub id: Field,
    pub title: Field,
    pub status: Field,
    pub severity: Field,
    pub assignee: Field,
    pub entity: Field,
    pub service: Field,
    pub rule: Field,
    pub tactic: Field,
    pub technique: Field,
    pub comment: Field,
    pub assignee_exact: Field,
    pub entity_exact: Field,
    pub service_exact: Field,
    pub status_rank: Field,
    pub severity_rank: Field,
    pub last_seen: Field,
    pub created: Field,
    pub seq: Field,
}

/// Names of the fast fields.
pub const STATUS_RANK: &str = "status_rank";
pub const SEVERITY_RANK: &str = "severity_rank";
pub const LAST_SEEN: &str = "last_seen";
pub const CREATED: &str = "created";
pub const SEQ: &str = "seq";

impl IncidentFields {
    pub fn new() -> IncidentFields {
        let mut builder = Schema::builder();
        let words = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let keyword = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD)
                .set_index_option(IndexRecordOption::Basic),
        );
        let id = builder.add_text_field("id", STRING | STORED);
        let title = builder.add_text_field("title", words.clone());
        let status = builder.add_text_field("status", keyword.clone());
        let severity = builder.add_text_field("severity", keyword.clone());
        let assignee = builder.add_text_field("assignee", keyword.clone());
        let entity = builder.add_text_field("entity", keyword.clone());
        let service = builder.add_text_field("service", keyword.clone());
        let rule = builder.add_text_field("rule", words.clone());
        let tactic = builder.add_text_field("tactic", keyword.clone());
        let technique = builder.add_text_field("technique", keyword);
        let comment = builder.add_text_field("comment", words);
        let assignee_exact = builder.add_text_field("assignee_exact", STRING);
        let entity_exact = builder.add_text_field("entity_exact", STRING);
        let service_exact = builder.add_text_field("service_exact", STRING);
        let status_rank = builder.add_u64_field(STATUS_RANK, FAST);
        let severity_rank = builder.add_u64_field(SEVERITY_RANK, FAST | INDEXED);
        let last_seen = builder.add_i64_field(LAST_SEEN, FAST);
        let created = builder.add_i64_field(CREATED, FAST);
        let seq = builder.add_u64_field(SEQ, FAST);
        IncidentFields {
            schema: builder.build(),
            id,
            title,
            status,
            severity,
            assignee,
            entity,
            service,
            rule,
            tactic,
            technique,
            comment,
            assignee_exact,
            entity_exact,
            service_exact,
            status_rank,
            severity_rank,
            last_seen,
            created,
            seq,
        }
    }

    /// The fields words without a field name search.
    pub fn default_fields(&self) -> Vec<Field> {
        vec![
            self.id,
            self.title,
            self.entity,
            self.service,
            self.rule,
            self.tactic,
            self.technique,
            self.comment,
        ]
    }

    /// The document of one incident; `seq` is its row number in the store.
    pub fn document(&self, incident: &IncidentDetail, seq: u64) -> TantivyDocument {
        let summary = &incident.summary;
        let mut document = TantivyDocument::default();
        document.add_u64(self.status_rank, status_rank(summary.status));
        document.add_u64(
            self.severity_rank,
            u64::try_from(summary.severity.rank()).unwrap_or(0),
        );
        document.add_i64(self.last_seen, summary.last_seen);
        document.add_i64(self.created, summary.created);
        document.add_u64(self.seq, seq);
        document.add_text(self.id, &summary.id);
        document.add_text(self.title, &summary.title);
        document.add_text(self.status, summary.status.as_str());
        document.add_text(self.severity, summary.severity.as_str());
        if let Some(assignee) = &summary.assignee {
            document.add_text(self.assignee, assignee);
            document.add_text(self.assignee_exact, assignee);
        }
        for entity in &incident.entity_counts {
            document.add_text(self.entity, format!("{}:{}", entity.kind, entity.value));
            document.add_text(self.entity, &entity.value);
            document.add_text(self.entity_exact, entity_key(&entity.kind, &entity.value));
        }
        for service in &summary.services {
            document.add_text(self.service, service);
            document.add_text(self.service_exact, service);
        }
        for stored in &incident.alerts {
            let alert = &stored.alert;
            if let Some(rule_id) = &alert.rule_id {
                document.add_text(self.rule, rule_id);
            }
            document.add_text(self.rule, &alert.rule_name);
            document.add_text(self.rule, &alert.title);
        }
        for tactic in &summary.tactics {
            document.add_text(self.tactic, tactic);
        }
        for technique in &summary.techniques {
            document.add_text(self.technique, technique);
        }
        for comment in &incident.comments {
            document.add_text(self.comment, &comment.text);
        }
        document
    }
}

/// The `status_rank` of a status.
pub fn status_rank(status: IncidentStatus) -> u64 {
    match status {
        IncidentStatus::Open => 0,
        IncidentStatus::Acknowledged => 1,
        IncidentStatus::Closed => 2,
        IncidentStatus::Merged => 3,
    }
}

/// The status of a `status_rank`.
pub fn status_of_rank(rank: u64) -> Option<IncidentStatus> {
    match rank {
        0 => Some(IncidentStatus::Open),
        1 => Some(IncidentStatus::Acknowledged),
        2 => Some(IncidentStatus::Closed),
        3 => Some(IncidentStatus::Merged),
        _ => None,
    }
}

/// The `entity_exact` term of an entity: its type and value, apart.
pub fn entity_key(kind: &str, value: &str) -> String {
    format!("{kind}\u{1f}{value}")
}

impl Default for IncidentFields {
    fn default() -> Self {
        IncidentFields::new()
    }
}

/// Registers the index's tokenizers (tantivy does not store them; every opener registers):
/// the event index's own.
pub fn register_tokenizers(index: &Index) {
    weft_ingest::index::register_into(index.tokenizers());
}
