//! SQL rules: scheduled detections written as one SELECT over the `events` table.
//!
//! A SQL rule is a YAML document with a `sql:` key, in the same files and directories as Sigma
//! rules (the Sigma loader skips these documents):
//!
//! ```yaml
//! title: Many failed logins from one address
//! id: failed-logins-by-address
//! level: high
//! tags: [attack.credential_access, attack.t1110]
//! sql: |
//!   SELECT src_ip, count(*) AS count, min(time) AS first_seen, max(time) AS last_seen
//!   FROM events
//!   WHERE class = 'authentication' AND outcome = 'failure'
//!   GROUP BY src_ip HAVING count(*) >= 20
//! schedule: {interval: 5m, lookback: 15m, delay: 2m}
//! ```
//!
//! The runner restricts `events` to the run's window (see [`super::spec`]), so a rule never
//! writes time bounds itself. `id` (a UUID or a slug), `title`, `sql` and `schedule` are
//! required; `description`, `level`, `tags`, `status` are the Sigma metadata; `entities` names
//! the result columns that are entities (default: the columns named like
//! [`crate::record::DEFAULT_ENTITY_TYPES`]); `suppress` is kept for the incident side. Each row
//! of a run's result is one alert ([`super::rows::alerts_from_rows`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

use super::error::{SqlRuleError, SqlRuleErrorKind};
use super::spec::Schedule;
use crate::sigma::RuleCheck;
use crate::sigma::error::RuleErrorKind;
use crate::sigma::loader::rule_files;
use crate::sigma::rule::{RuleMeta, parse_meta};

/// The longest id weft accepts.
const MAX_ID_LEN: usize = 128;

/// A loaded SQL rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlRule {
    /// The rule id (a UUID or a slug), also the id of its scheduled job.
    pub id: String,
    /// `title`, `description`, `level`, `tags`, `status` and the rest of the Sigma metadata.
    pub meta: RuleMeta,
    /// The statement, without a trailing `;`.
    pub sql: String,
    pub schedule: Schedule,
    /// Result columns read as entities; `None` means the default entity columns.
    pub entities: Option<Vec<String>>,
    /// The `suppress` section as YAML text, for the incident side to apply.
    pub suppress: Option<String>,
    /// The file and 0-based document the rule was read from.
    pub path: Option<PathBuf>,
    pub document: usize,
}

/// The SQL rules found in rule files, and every refused document.
#[derive(Debug, Default)]
pub struct SqlRuleSet {
    pub rules: Vec<SqlRule>,
    pub errors: Vec<SqlRuleError>,
}

impl SqlRuleSet {
    /// The verdict on every SQL rule document, as `weft rules check` reports it.
    pub fn checks(&self) -> Vec<RuleCheck> {
        let loaded = self.rules.iter().map(|rule| RuleCheck {
            path: rule.path.clone(),
            id: Some(rule.id.clone()),
            title: Some(rule.meta.title.clone()),
            status: "loaded",
            reason: None,
        });
        let refused = self.errors.iter().map(|error| RuleCheck {
            path: Some(error.path.clone()),
            id: error.rule.clone(),
            title: None,
            status: "refused",
            reason: Some(format!("invalid sql rule: {}", error.kind)),
        });
        loaded.chain(refused).collect()
    }
}

/// Whether a YAML document is a SQL rule (it holds a top-level `sql:` key).
pub fn is_sql_document(map: &Hash) -> bool {
    map.contains_key(&Yaml::String("sql".into()))
}

/// Reads the SQL rule documents of every `.yml`/`.yaml` file under `paths` (directories are
/// walked recursively). Other documents are left to the Sigma and sequence loaders. Duplicate
/// ids are refused after the first.
pub fn load_sql_rules(paths: &[PathBuf]) -> SqlRuleSet {
    let mut set = SqlRuleSet::default();
    for path in paths {
        let files = match rule_files(path) {
            Ok(files) => files,
            Err(error) => {
                set.errors.push(SqlRuleError {
                    path: path.clone(),
                    document: 0,
                    rule: None,
                    kind: SqlRuleErrorKind::Io(error.to_string()),
                });
                continue;
            }
        };
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(error) => {
                    set.errors.push(SqlRuleError {
                        path: file,
                        document: 0,
                        rule: None,
                        kind: SqlRuleErrorKind::Io(error.to_string()),
                    });
                    continue;
                }
            };
            if !text.contains("sql:") {
                continue;
            }
            let parsed = parse_sql_rules(&text, &file);
            set.errors.extend(parsed.errors);
            for rule in parsed.rules {
                let first = set.rules.iter().find(|loaded| loaded.id == rule.id);
                if let Some(first) = first {
                    set.errors.push(SqlRuleError {
                        path: file.clone(),
                        document: rule.document,
                        rule: Some(rule.id.clone()),
                        kind: SqlRuleErrorKind::DuplicateId {
                            id: rule.id.clone(),
                            first: describe(first),
                        },
                    });
                    continue;
                }
                set.rules.push(rule);
            }
        }
    }
    set
}

fn describe(rule: &SqlRule) -> String {
    match &rule.path {
        Some(path) => format!("{} (document {})", path.display(), rule.document + 1),
        None => format!("document {}", rule.document + 1),
    }
}

/// The SQL rule documents of one YAML text read from `path`. A YAML syntax error refuses the
/// whole text (the Sigma loader reports it too).
pub fn parse_sql_rules(text: &str, path: &Path) -> SqlRuleSet {
    let mut set = SqlRuleSet::default();
    let documents = match YamlLoader::load_from_str(text) {
        Ok(documents) => documents,
        Err(error) => {
            set.errors.push(SqlRuleError {
                path: path.to_path_buf(),
                document: 0,
                rule: None,
                kind: SqlRuleErrorKind::Yaml(error.to_string()),
            });
            return set;
        }
    };
    for (index, document) in documents.iter().enumerate() {
        let Yaml::Hash(map) = document else {
            continue;
        };
        if !is_sql_document(map) {
            continue;
        }
        match parse_sql_rule(map) {
            Ok(mut rule) => {
                rule.path = Some(path.to_path_buf());
                rule.document = index;
                set.rules.push(rule);
            }
            Err(kind) => set.errors.push(SqlRuleError {
                path: path.to_path_buf(),
                document: index,
                rule: map
                    .get(&Yaml::String("id".into()))
                    .and_then(Yaml::as_str)
                    .map(str::to_string),
                kind,
            }),
        }
    }
    set
}

/// One SQL rule document.
pub fn parse_sql_rule(map: &Hash) -> Result<SqlRule, SqlRuleErrorKind> {
    let get = |key: &str| match map.get(&Yaml::String(key.to_string())) {
        None | Some(Yaml::Null) => None,
        Some(value) => Some(value),
    };
    let id = match get("id") {
        None => return Err(SqlRuleErrorKind::Missing("id")),
        Some(Yaml::String(id)) => id.clone(),
        Some(_) => return Err(invalid("id", "must be a string")),
    };
    if !is_rule_id(&id) {
        return Err(invalid(
            "id",
            format!(
                "`{id}` is neither a UUID nor a slug (letters, digits, `-`, `_`, `.`, at most {MAX_ID_LEN} characters)"
            ),
        ));
    }
    let sql = match get("sql") {
        None => return Err(SqlRuleErrorKind::Missing("sql")),
        Some(Yaml::String(sql)) => check_select(sql)?,
        Some(_) => {
            return Err(invalid(
                "sql",
                "must be a string holding one SELECT statement",
            ));
        }
    };
    let schedule = match get("schedule") {
        None => return Err(SqlRuleErrorKind::Missing("schedule")),
        Some(Yaml::Hash(schedule)) => parse_schedule(schedule)?,
        Some(_) => {
            return Err(invalid(
                "schedule",
                "must be a map with `interval` and optional `lookback` and `delay`",
            ));
        }
    };
    let entities = match get("entities") {
        None => None,
        Some(Yaml::Array(items)) => Some(
            items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("entities", "must be a list of column names"))?,
        ),
        Some(_) => return Err(invalid("entities", "must be a list of column names")),
    };
    let suppress = get("suppress").map(yaml_text);
    let meta = parse_meta(map).map_err(meta_error)?;
    Ok(SqlRule {
        id,
        meta,
        sql,
        schedule,
        entities,
        suppress,
        path: None,
        document: 0,
    })
}

fn invalid(attribute: &'static str, reason: impl Into<String>) -> SqlRuleErrorKind {
    SqlRuleErrorKind::InvalidAttribute {
        attribute,
        reason: reason.into(),
    }
}

fn meta_error(kind: RuleErrorKind) -> SqlRuleErrorKind {
    match kind {
        RuleErrorKind::Missing(attribute) => SqlRuleErrorKind::Missing(attribute),
        RuleErrorKind::InvalidAttribute { attribute, reason } => {
            SqlRuleErrorKind::InvalidAttribute { attribute, reason }
        }
        other => invalid("metadata", other.to_string()),
    }
}

fn yaml_text(value: &Yaml) -> String {
    let mut text = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut text);
    if emitter.dump(value).is_err() {
        return String::new();
    }
    text.trim_start_matches("---").trim().to_string()
}

fn parse_schedule(map: &Hash) -> Result<Schedule, SqlRuleErrorKind> {
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return Err(invalid("schedule", "keys must be strings"));
        };
        let key = match key {
            "interval" => "interval",
            "lookback" => "lookback",
            "delay" => "delay",
            other => {
                return Err(invalid(
                    "schedule",
                    format!("unknown key `{other}`; use interval, lookback and delay"),
                ));
            }
        };
        let Some(text) = value.as_str() else {
            return Err(invalid(
                "schedule",
                format!("`{key}` must be a duration like 5m"),
            ));
        };
        texts.insert(key, text.to_string());
    }
    let interval = texts
        .get("interval")
        .ok_or_else(|| invalid("schedule", "`interval` is required"))?;
    Ok(Schedule::parse(
        interval,
        texts.get("lookback").map(String::as_str),
        texts.get("delay").map(String::as_str),
    )?)
}

/// A UUID or a slug: ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit.
pub fn is_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Checks that `sql` is one read-only query (its first keyword is SELECT or WITH, no second
/// statement after a `;`) and returns it without a trailing `;`. This is a cheap guard for
/// rule authors; the runner executes rules read-only regardless.
pub fn check_select(sql: &str) -> Result<String, SqlRuleErrorKind> {
    let body = skip_comments(sql);
    let keyword: String = body
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    if keyword.is_empty() {
        return Err(SqlRuleErrorKind::NotASelect("it is empty".into()));
    }
    if keyword != "select" && keyword != "with" {
        return Err(SqlRuleErrorKind::NotASelect(format!(
            "it starts with {}",
            keyword.to_ascii_uppercase()
        )));
    }
    let end = statement_end(sql);
    if end < sql.len() && !skip_comments(&sql[end + 1..]).is_empty() {
        return Err(SqlRuleErrorKind::NotASelect(
            "it holds a second statement after `;`".into(),
        ));
    }
    Ok(sql[..end].trim().to_string())
}

/// `text` after leading whitespace and comments.
fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return text;
        }
    }
}

/// The byte offset of the first `;` outside quotes and comments, or the text's length.
fn statement_end(sql: &str) -> usize {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Single,
        Double,
        Line,
        Block,
    }
    let bytes = sql.as_bytes();
    let mut state = State::Code;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let next = bytes.get(index + 1).copied();
        state = match (state, byte) {
            (State::Code, b';') => return index,
            (State::Code, b'\'') => State::Single,
            (State::Code, b'"') => State::Double,
            (State::Code, b'-') if next == Some(b'-') => State::Line,
            (State::Code, b'/') if next == Some(b'*') => {
                index += 1;
                State::Block
            }
            (State::Single, b'\'') | (State::Double, b'"') | (State::Line, b'\n') => State::Code,
            (State::Block, b'*') if next == Some(b'/') => {
                index += 1;
                State::Code
            }
            (state, _) => state,
        };
        index += 1;
    }
    sql.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_select_with_comments_strings_and_a_trailing_semicolon() {
        for sql in [
            "SELECT user FROM events",
            "  select user from events;  ",
            "-- failed logins\n/* by address */ WITH f AS (SELECT * FROM events) SELECT * FROM f",
            "SELECT ';' AS x, \"a;b\" FROM events -- trailing; comment",
            "SELECT 1 FROM events; -- done",
        ] {
            let statement = check_select(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
            assert!(!statement.ends_with(';'), "{statement}");
        }
    }

    #[test]
    fn refuses_writes_and_second_statements() {
        for (sql, reason) in [
            ("", "empty"),
            ("-- only a comment", "empty"),
            ("INSERT INTO events VALUES (1)", "starts with INSERT"),
            ("/* hidden */ drop table events", "starts with DROP"),
            ("SELECT 1; DELETE FROM events", "second statement"),
            ("SELECT 1 FROM events;;", "second statement"),
        ] {
            let error = check_select(sql).expect_err(sql).to_string();
            assert!(error.contains(reason), "{sql}: {error}");
        }
    }

    #[test]
    fn ids_are_uuids_or_slugs() {
        assert!(is_rule_id("929a690e-bef0-4204-a928-ef5e620d6fcc"));
        assert!(is_rule_id("failed_logins.v2"));
        assert!(!is_rule_id("-leading-dash"));
        assert!(!is_rule_id("has space"));
        assert!(!is_rule_id(""));
    }
}
