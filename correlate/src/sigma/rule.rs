//! Rule documents: a detection rule, a correlation rule or a filter, with all their metadata,
//! read from YAML (one file may hold several documents) and validated.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::correlation::CorrelationRule;
use super::detection::Detection;
use super::error::{RuleError, RuleErrorKind, RuleOrigin};
use super::filter::SigmaFilter;

/// `logsource`: which events a rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub definition: Option<String>,
    /// Other attributes, kept as written.
    pub custom: BTreeMap<String, String>,
}

/// `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

/// One `related` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub id: String,
    /// `derived`, `obsolete`, `merged`, `renamed` or `similar`.
    pub relation: String,
}

/// The metadata every document kind shares, all kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleMeta {
    pub title: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<Status>,
    pub description: Option<String>,
    pub license: Option<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    pub fields: Vec<String>,
    pub related: Vec<Related>,
    pub level: Option<Level>,
    pub scope: Vec<String>,
    pub taxonomy: Option<String>,
    /// Attributes the specification does not define, kept as YAML text.
    pub custom: BTreeMap<String, String>,
}

impl RuleMeta {
    /// The ATT&CK tags (`attack.*`).
    pub fn attack_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|tag| tag.starts_with("attack."))
    }

    /// How the rule is named in messages: id, else name, else title.
    pub fn label(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| self.title.clone())
    }
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaRule {
    pub meta: RuleMeta,
    pub logsource: LogSource,
    pub detection: Detection,
    pub origin: RuleOrigin,
}

/// Any Sigma document.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaDocument {
    Rule(SigmaRule),
    Correlation(CorrelationRule),
    Filter(SigmaFilter),
}

impl SigmaDocument {
    pub fn meta(&self) -> &RuleMeta {
        match self {
            SigmaDocument::Rule(rule) => &rule.meta,
            SigmaDocument::Correlation(rule) => &rule.meta,
            SigmaDocument::Filter(filter) => &filter.meta,
        }
    }
}

const KNOWN: [&str; 24] = [
    "title",
    "id",
    "name",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "tags",
    "falsepositives",
    "fields",
    "related",
    "level",
    "scope",
    "taxonomy",
    "logsource",
    "detection",
    "correlation",
    "filter",
    "generate",
    "action",
    "reference",
];

/// Parses every document of a YAML text. A YAML syntax error refuses the whole text; otherwise
/// each document is loaded or refused on its own.
pub fn parse_documents(text: &str, path: Option<&Path>) -> Vec<Result<SigmaDocument, RuleError>> {
    let base = RuleOrigin {
        path: path.map(Path::to_path_buf),
        document: 0,
        rule: None,
    };
    let documents = match YamlLoader::load_from_str(text) {
        Ok(documents) => documents,
        Err(error) => {
            return vec![Err(RuleError::new(
                base,
                RuleErrorKind::Yaml(error.to_string()),
            ))];
        }
    };
    // Sigma 1.0 multi-document rules: an `action: global` document is a template merged into
    // each following document; `action: reset` drops it.
    let mut global: Option<Yaml> = None;
    let mut results = Vec::new();
    for (index, yaml) in documents.iter().enumerate() {
        if yaml.is_null() {
            continue;
        }
        match yaml["action"].as_str() {
            Some("global") => {
                let mut template = yaml.clone();
                if let Yaml::Hash(map) = &mut template {
                    map.remove(&Yaml::String("action".into()));
                }
                global = Some(template);
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            _ => {}
        }
        if let Yaml::Hash(map) = yaml
            && (map.contains_key(&Yaml::String("sequence".into()))
                || map.contains_key(&Yaml::String("sql".into())))
        {
            // A weft sequence (correlate/CORRELATION.md) or SQL rule (`schedule::sql_rule`),
            // not a Sigma document: their own loaders read and check them.
            continue;
        }
        let mut origin = base.clone();
        origin.document = index;
        let merged = match &global {
            Some(template) => merge(template, yaml),
            None => yaml.clone(),
        };
        // A weft baseline (`crate::baseline`) is a helper rule and a `baseline` correlation.
        if let Yaml::Hash(map) = &merged
            && crate::baseline::is_baseline(map)
        {
            results.extend(crate::baseline::documents(map, &origin));
            continue;
        }
        // A weft policy (`sigma::policy`) is read as the Sigma rule it stands for.
        if let Yaml::Hash(map) = &merged
            && super::policy::is_policy(map)
        {
            let parsed = super::policy::to_sigma(map)
                .map_err(|reason| {
                    RuleError::new(origin.clone(), RuleErrorKind::InvalidPolicy(reason))
                })
                .and_then(|rule| parse_document(&rule, origin));
            results.push(parsed);
            continue;
        }
        results.push(parse_document(&merged, origin));
    }
    results
}

/// `document` over `template`: maps merge key by key (recursively), anything else replaces.
fn merge(template: &Yaml, document: &Yaml) -> Yaml {
    match (template, document) {
        (Yaml::Hash(base), Yaml::Hash(over)) => {
            let mut merged = base.clone();
            for (key, value) in over {
                let combined = match merged.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), combined);
            }
            Yaml::Hash(merged)
        }
        (_, other) => other.clone(),
    }
}

pub(crate) fn parse_document(
    yaml: &Yaml,
    mut origin: RuleOrigin,
) -> Result<SigmaDocument, RuleError> {
    let Yaml::Hash(map) = yaml else {
        return Err(RuleError::new(origin, RuleErrorKind::NotAMap));
    };
    let get = |key: &str| map.get(&Yaml::String(key.to_string()));
    origin.rule = get("id")
        .or_else(|| get("name"))
        .or_else(|| get("title"))
        .and_then(Yaml::as_str)
        .map(str::to_string);
    let fail = |kind| RuleError::new(origin.clone(), kind);
    let meta = parse_meta(map).map_err(fail)?;
    if let Some(correlation) = get("correlation") {
        // Correlations and filters may use any unique id; detection rules use UUIDs.
        return CorrelationRule::from_yaml(meta, correlation, map)
            .map(SigmaDocument::Correlation)
            .map_err(fail);
    }
    let logsource = parse_logsource(get("logsource")).map_err(fail)?;
    if let Some(filter) = get("filter") {
        return SigmaFilter::from_yaml(meta, logsource, filter, origin.clone())
            .map(SigmaDocument::Filter)
            .map_err(fail);
    }
    if let Some(id) = &meta.id
        && !is_uuid(id)
    {
        return Err(fail(invalid("id", format!("`{id}` is not a UUID"))));
    }
    let detection = get("detection").ok_or_else(|| fail(RuleErrorKind::Missing("detection")))?;
    let detection = Detection::from_yaml(detection).map_err(fail)?;
    Ok(SigmaDocument::Rule(SigmaRule {
        meta,
        logsource,
        detection,
        origin,
    }))
}

fn invalid(attribute: &'static str, reason: impl Into<String>) -> RuleErrorKind {
    RuleErrorKind::InvalidAttribute {
        attribute,
        reason: reason.into(),
    }
}

fn string(
    map: &yaml_rust2::yaml::Hash,
    key: &'static str,
) -> Result<Option<String>, RuleErrorKind> {
    match map.get(&Yaml::String(key.to_string())) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(key, "must be a string")),
    }
}

fn strings(map: &yaml_rust2::yaml::Hash, key: &'static str) -> Result<Vec<String>, RuleErrorKind> {
    match map.get(&Yaml::String(key.to_string())) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::String(text)) => Ok(vec![text.clone()]),
        Some(Yaml::Array(items)) => items
            .iter()
            .map(|item| match item {
                Yaml::String(text) => Some(text.clone()),
                Yaml::Integer(number) => Some(number.to_string()),
                Yaml::Real(text) => Some(text.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(key, "must be a list of strings")),
        Some(_) => Err(invalid(key, "must be a list of strings")),
    }
}

/// Whether `text` is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn date(map: &yaml_rust2::yaml::Hash, key: &'static str) -> Result<Option<String>, RuleErrorKind> {
    let Some(text) = string(map, key).map_err(|_| invalid(key, "must be a date YYYY-MM-DD"))?
    else {
        return Ok(None);
    };
    // A date, or a date and time (`2024-01-02T03:04:05`), as pySigma also accepts.
    let day = text.split(['T', ' ']).next().unwrap_or_default();
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(day, "%Y/%m/%d"))
        .map_err(|_| invalid(key, format!("`{text}` is not a date YYYY-MM-DD")))?;
    Ok(Some(text))
}

/// Parses the metadata shared by every document kind.
pub(crate) fn parse_meta(map: &yaml_rust2::yaml::Hash) -> Result<RuleMeta, RuleErrorKind> {
    let title = string(map, "title")?.ok_or(RuleErrorKind::Missing("title"))?;
    if title.chars().count() > 256 {
        return Err(invalid("title", "is longer than 256 characters"));
    }
    let id = string(map, "id")?;
    let status = match string(map, "status")?.as_deref() {
        None => None,
        Some("stable") => Some(Status::Stable),
        Some("test") => Some(Status::Test),
        Some("experimental") => Some(Status::Experimental),
        Some("deprecated") => Some(Status::Deprecated),
        Some("unsupported") => Some(Status::Unsupported),
        Some(other) => return Err(invalid("status", format!("`{other}` is not a status"))),
    };
    let level = match map.get(&Yaml::String("level".into())) {
        None | Some(Yaml::Null) => None,
        Some(Yaml::String(text)) => Some(match text.as_str() {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            other => return Err(invalid("level", format!("`{other}` is not a level"))),
        }),
        Some(_) => {
            return Err(invalid(
                "level",
                "must be informational, low, medium, high or critical",
            ));
        }
    };
    let related = match map.get(&Yaml::String("related".into())) {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Array(items)) => {
            let mut related = Vec::with_capacity(items.len());
            for item in items {
                let Yaml::Hash(entry) = item else {
                    return Err(invalid("related", "entries are maps of `id` and `type`"));
                };
                let (Ok(Some(id)), Ok(Some(relation))) =
                    (string(entry, "id"), string(entry, "type"))
                else {
                    return Err(invalid(
                        "related",
                        "each entry needs a string `id` and `type`",
                    ));
                };
                if !is_uuid(&id) {
                    return Err(invalid("related", format!("`{id}` is not a UUID")));
                }
                if !["derived", "obsolete", "merged", "renamed", "similar"]
                    .contains(&relation.as_str())
                {
                    return Err(invalid(
                        "related",
                        format!("`{relation}` is not a relation type"),
                    ));
                }
                if entry.len() != 2 {
                    return Err(invalid("related", "entries hold only `id` and `type`"));
                }
                related.push(Related { id, relation });
            }
            related
        }
        Some(_) => return Err(invalid("related", "must be a list")),
    };
    let mut custom = BTreeMap::new();
    for (key, value) in map {
        if let Yaml::String(key) = key
            && !KNOWN.contains(&key.as_str())
        {
            let mut text = String::new();
            let mut emitter = yaml_rust2::YamlEmitter::new(&mut text);
            if emitter.dump(value).is_ok() {
                custom.insert(
                    key.clone(),
                    text.trim_start_matches("---").trim().to_string(),
                );
            }
        }
    }
    Ok(RuleMeta {
        title,
        id,
        name: string(map, "name")?,
        status,
        description: string(map, "description")?,
        license: string(map, "license")?,
        author: string(map, "author")?,
        references: strings(map, "references")?,
        date: date(map, "date")?,
        modified: date(map, "modified")?,
        tags: strings(map, "tags")?,
        falsepositives: strings(map, "falsepositives")?,
        fields: strings(map, "fields")?,
        related,
        level,
        scope: strings(map, "scope")?,
        taxonomy: string(map, "taxonomy")?,
        custom,
    })
}

pub(super) fn parse_logsource(yaml: Option<&Yaml>) -> Result<LogSource, RuleErrorKind> {
    let Some(yaml) = yaml else {
        return Err(RuleErrorKind::Missing("logsource"));
    };
    let Yaml::Hash(map) = yaml else {
        return Err(invalid("logsource", "must be a map"));
    };
    let mut logsource = LogSource::default();
    for (key, value) in map {
        let (Yaml::String(key), Some(value)) = (key, scalar_text(value)) else {
            return Err(invalid("logsource", "holds only `name: value` pairs"));
        };
        match key.as_str() {
            "category" => logsource.category = Some(value),
            "product" => logsource.product = Some(value),
            "service" => logsource.service = Some(value),
            "definition" => logsource.definition = Some(value),
            other => {
                logsource.custom.insert(other.to_string(), value);
            }
        }
    }
    Ok(logsource)
}

fn scalar_text(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHOAMI: &str = "title: Whoami Execution
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
status: test
description: Detects a whoami.exe execution
references:
    - https://example.org/whoami
author: Florian Roth
date: 2019-10-23
tags:
    - attack.discovery
    - attack.t1033
    - car.2016-03-001
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image: 'C:\\Windows\\System32\\whoami.exe'
    condition: selection
falsepositives:
    - Admin activity
fields:
    - CommandLine
related:
    - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
      type: derived
level: high
custom_note: kept
";

    #[test]
    fn keeps_all_metadata() {
        let documents = parse_documents(WHOAMI, None);
        let Ok(SigmaDocument::Rule(rule)) = &documents[0] else {
            panic!("{documents:?}");
        };
        let meta = &rule.meta;
        assert_eq!(meta.title, "Whoami Execution");
        assert_eq!(meta.status, Some(Status::Test));
        assert_eq!(meta.level, Some(Level::High));
        assert_eq!(
            meta.attack_tags().collect::<Vec<_>>(),
            ["attack.discovery", "attack.t1033"]
        );
        assert_eq!(meta.falsepositives, ["Admin activity"]);
        assert_eq!(meta.fields, ["CommandLine"]);
        assert_eq!(meta.related[0].relation, "derived");
        assert_eq!(meta.date.as_deref(), Some("2019-10-23"));
        assert_eq!(
            meta.custom.get("custom_note").map(String::as_str),
            Some("kept")
        );
        assert_eq!(rule.logsource.category.as_deref(), Some("process_creation"));
    }

    #[test]
    fn reads_every_document_of_a_file() {
        let text = format!("{WHOAMI}---\n{}", WHOAMI.replace("929a690e", "929a690f"));
        let documents = parse_documents(&text, None);
        assert_eq!(documents.len(), 2);
        assert!(documents.iter().all(Result::is_ok));
    }

    #[test]
    fn refuses_invalid_metadata_with_the_rule_named() {
        let cases = [
            ("title: ", "missing attribute `title`"),
            ("level: 123", "attribute `level` is invalid"),
            ("level: severe", "attribute `level` is invalid"),
            ("id: 929a690e", "attribute `id` is invalid"),
            ("date: '2024-13-01'", "attribute `date` is invalid"),
            ("author: [a, b]", "attribute `author` is invalid"),
        ];
        for (replacement, expected) in cases {
            let key = replacement.split(':').next().expect("key");
            let text: String = WHOAMI
                .lines()
                .filter(|line| !line.starts_with(&format!("{key}:")))
                .chain([replacement])
                .map(|line| format!("{line}\n"))
                .collect();
            let text = if key == "title" {
                text.replace("title: \n", "")
            } else {
                text
            };
            let documents = parse_documents(&text, Some(Path::new("rules/x.yml")));
            let Err(error) = &documents[0] else {
                panic!("{replacement}: accepted");
            };
            let message = error.to_string();
            assert!(message.contains(expected), "{replacement}: {message}");
            assert!(message.starts_with("rules/x.yml"), "{message}");
        }
    }

    #[test]
    fn merges_a_global_template_into_each_document() {
        let text = "action: global\ntitle: Shared\nlogsource:\n    product: windows\ndetection:\n    condition: sel\n---\nlogsource:\n    service: security\ndetection:\n    sel:\n        EventID: 1\n---\ntitle: Own title\nlogsource:\n    service: system\ndetection:\n    sel:\n        EventID: 2\n";
        let documents = parse_documents(text, None);
        assert_eq!(documents.len(), 2);
        let Ok(SigmaDocument::Rule(first)) = &documents[0] else {
            panic!("{documents:?}");
        };
        assert_eq!(first.meta.title, "Shared");
        assert_eq!(first.logsource.product.as_deref(), Some("windows"));
        assert_eq!(first.logsource.service.as_deref(), Some("security"));
        assert_eq!(first.detection.conditions, ["sel"]);
        let Ok(SigmaDocument::Rule(second)) = &documents[1] else {
            panic!("{documents:?}");
        };
        assert_eq!(second.meta.title, "Own title");
    }

    #[test]
    fn leaves_weft_sql_rules_to_their_loader() {
        let text = format!(
            "{WHOAMI}---\ntitle: Sql\nid: sql-rule\nsql: SELECT user FROM events\nschedule: {{interval: 5m}}\n"
        );
        let documents = parse_documents(&text, None);
        assert_eq!(documents.len(), 1);
        assert!(documents[0].is_ok());
    }

    #[test]
    fn refuses_duplicate_keys() {
        let text = "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A: x}\n  sel: {A: y}\n  condition: sel\n";
        assert!(matches!(
            &parse_documents(text, None)[0],
            Err(RuleError {
                kind: RuleErrorKind::Yaml(_),
                ..
            })
        ));
    }
}
