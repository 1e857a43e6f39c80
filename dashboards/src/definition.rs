//! A dashboard definition: one JSON file with a title, a default time range and panels, each
//! panel a query and the way to draw its answer.
//!
//! ```json
//! {
//!   "title": "Authentication",
//!   "range": "24h",
//!   "panels": [
//!     {
//!       "id": "failures-per-service",
//!       "title": "Failed logins per service",
//!       "query": { "sql": "SELECT date_bin({bucket}, time) AS bucket, service, count(*) AS failures FROM events WHERE class = 'authentication' AND outcome = 'failure' GROUP BY 1, 2 ORDER BY 1" },
//!       "visualization": { "type": "timeseries", "x": "bucket", "y": "failures", "series": "service" }
//!     }
//!   ]
//! }
//! ```
//!
//! Three kinds of query, each answering a table (columns and rows):
//!
//! - `{"sql": "SELECT ..."}`: one read-only query over the `events` table, which holds only
//!   the events of the dashboard's time range (the SQL does not spell the range out).
//!   `{bucket}` stands for an `INTERVAL` sized to the range (about 60 buckets).
//! - `{"search": "user:alice AND outcome:failure"}`: events matching a search (the event
//!   explorer's syntax), counted per time bucket: columns `bucket`, `events`.
//! - `{"incidents": {"group_by": "severity"}}`: incidents active in the range (their alerts
//!   span it), counted per severity, status, assignee, service or tactic: columns `value`,
//!   `incidents`.
//!
//! Visualizations: `stat` (one number), `timeseries` (lines over a time column, one line per
//! value of `series` or per `y` column), `bar` (a category column and a number column) and
//! `table`. What a definition says is checked when it is loaded ([`Dashboard::parse`]); the
//! columns a SQL panel names are checked against its answer when it runs.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Longest accepted definition file, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;
/// Most panels on one dashboard.
pub const MAX_PANELS: usize = 32;
/// Longest accepted panel query (SQL or search), in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Longest id (of a dashboard or a panel).
pub const MAX_ID_CHARS: usize = 64;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Shortest and longest time range, in seconds.
pub const RANGE_SECONDS: (u64, u64) = (60, 400 * 24 * 3600);

/// A dashboard, as its file says it, with the id its file name gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// The file name without `.json` (`overview`); not written in the file.
    #[serde(default, skip_deserializing)]
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The time range shown when the page opens: a number and a unit, `s`, `m`, `h` or `d`
    /// (`24h`, `7d`), ending now.
    #[serde(default = "default_range")]
    pub range: String,
    /// Seconds between automatic refreshes; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u32>,
    pub panels: Vec<Panel>,
}

fn default_range() -> String {
    "24h".to_string()
}

/// One panel: a query and how to draw its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Unique within the dashboard: lower-case letters, digits, `-` and `_`.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub query: PanelQuery,
    pub visualization: Visualization,
    /// `half` (the default) or `full` width of the page.
    #[serde(default)]
    pub width: PanelWidth,
}

/// What a panel asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PanelQuery {
    /// One read-only SELECT over `events` within the range; `{bucket}` is an interval.
    Sql(String),
    /// A search (tantivy syntax), counted per time bucket.
    Search(String),
    /// Incidents active in the range, counted per group.
    Incidents(IncidentsQuery),
}

/// An incident count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsQuery {
    pub group_by: IncidentGroup,
    /// Only incidents of these statuses (`open`, `acknowledged`, `closed`); every status
    /// when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
}

/// What incidents are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentGroup {
    Severity,
    Status,
    Assignee,
    Service,
    Tactic,
}

impl IncidentGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentGroup::Severity => "severity",
            IncidentGroup::Status => "status",
            IncidentGroup::Assignee => "assignee",
            IncidentGroup::Service => "service",
            IncidentGroup::Tactic => "tactic",
        }
    }
}

/// How a panel draws its answer. Column names refer to the answer's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Visualization {
    /// One number: `value` of the first row (the last column when absent).
    Stat {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// Lines over time: `x` a time column, `y` one or more number columns; with `series`,
    /// one line per value of that column (and one `y`).
    Timeseries {
        x: String,
        y: OneOrMany,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        series: Option<String>,
    },
    /// Bars: `x` the category column, `y` the number column.
    Bar { x: String, y: String },
    /// The rows as a table.
    Table,
}

impl Visualization {
    /// The columns this visualization reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Visualization::Stat { value, .. } => value.iter().map(String::as_str).collect(),
            Visualization::Timeseries { x, y, series } => std::iter::once(x.as_str())
                .chain(y.iter())
                .chain(series.iter().map(String::as_str))
                .collect(),
            Visualization::Bar { x, y } => vec![x.as_str(), y.as_str()],
            Visualization::Table => Vec::new(),
        }
    }
}

/// One column name or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let names: &[String] = match self {
            OneOrMany::One(name) => std::slice::from_ref(name),
            OneOrMany::Many(names) => names,
        };
        names.iter().map(String::as_str)
    }
}

/// How wide a panel is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelWidth {
    #[default]
    Half,
    Full,
}

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("the file is larger than {MAX_DEFINITION_BYTES} bytes")]
    TooLarge,
    #[error("the file is not UTF-8")]
    NotUtf8,
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error(
        "invalid dashboard id {0:?}: use 1 to {MAX_ID_CHARS} lower-case letters, digits, `-` and `_`"
    )]
    Id(String),
    #[error("{0}")]
    Invalid(String),
}

impl Dashboard {
    /// Reads and checks a definition; `id` comes from its file name.
    pub fn parse(id: &str, bytes: &[u8]) -> Result<Dashboard, DefinitionError> {
        if bytes.len() > MAX_DEFINITION_BYTES {
            return Err(DefinitionError::TooLarge);
        }
        if !valid_id(id) {
            return Err(DefinitionError::Id(id.to_string()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| DefinitionError::NotUtf8)?;
        let mut dashboard: Dashboard =
            serde_json::from_str(text).map_err(|error| DefinitionError::Json(error.to_string()))?;
        dashboard.id = id.to_string();
        dashboard.validate()?;
        Ok(dashboard)
    }

    /// The panel whose id is `id`.
    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels.iter().find(|panel| panel.id == id)
    }

    /// The default range in seconds.
    pub fn range_seconds(&self) -> u64 {
        parse_range(&self.range).unwrap_or(24 * 3600)
    }

    fn validate(&self) -> Result<(), DefinitionError> {
        let invalid = |message: String| Err(DefinitionError::Invalid(message));
        check_title("the dashboard", &self.title)?;
        if parse_range(&self.range).is_none() {
            return invalid(format!(
                "`range` {:?} is not a duration such as 1h, 24h or 7d between 1 minute and 400 days",
                self.range
            ));
        }
        if self.refresh_seconds.is_some_and(|seconds| seconds < 5) {
            return invalid("`refresh_seconds` must be at least 5".to_string());
        }
        if self.panels.is_empty() || self.panels.len() > MAX_PANELS {
            return invalid(format!("a dashboard has 1 to {MAX_PANELS} panels"));
        }
        let mut seen = HashSet::new();
        for panel in &self.panels {
            if !valid_id(&panel.id) {
                return invalid(format!(
                    "panel id {:?}: use 1 to {MAX_ID_CHARS} lower-case letters, digits, `-` and `_`",
                    panel.id
                ));
            }
            if !seen.insert(panel.id.as_str()) {
                return invalid(format!("two panels have the id {:?}", panel.id));
            }
            panel.validate().map_err(|message| {
                DefinitionError::Invalid(format!("panel {:?}: {message}", panel.id))
            })?;
        }
        Ok(())
    }
}

impl Panel {
    fn validate(&self) -> Result<(), String> {
        check_title("the panel", &self.title).map_err(|error| error.to_string())?;
        let (text, fixed_columns): (&str, Option<[&str; 2]>) = match &self.query {
            PanelQuery::Sql(sql) => (sql, None),
            PanelQuery::Search(query) => (query, Some(["bucket", "events"])),
            PanelQuery::Incidents(query) => {
                for status in &query.status {
                    if !["open", "acknowledged", "closed"].contains(&status.as_str()) {
                        return Err(format!(
                            "unknown incident status {status:?}; use open, acknowledged or closed"
                        ));
                    }
                }
                ("", Some(["value", "incidents"]))
            }
        };
        if matches!(self.query, PanelQuery::Sql(_) | PanelQuery::Search(_))
            && text.trim().is_empty()
        {
            return Err("the query is empty".to_string());
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(format!("the query is longer than {MAX_QUERY_BYTES} bytes"));
        }
        if let Visualization::Timeseries { y, series, .. } = &self.visualization {
            let count = y.iter().count();
            if count == 0 {
                return Err("a timeseries needs at least one `y` column".to_string());
            }
            if series.is_some() && count > 1 {
                return Err("a timeseries with `series` takes one `y` column".to_string());
            }
        }
        if let Some(columns) = fixed_columns {
            for name in self.visualization.columns() {
                if !columns.contains(&name) {
                    return Err(format!(
                        "the visualization reads column {name:?}, but this query answers {}",
                        columns.join(" and ")
                    ));
                }
            }
        }
        Ok(())
    }
}

fn check_title(what: &str, title: &str) -> Result<(), DefinitionError> {
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(DefinitionError::Invalid(format!(
            "{what} needs a title of 1 to {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Whether `id` may name a dashboard or a panel.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        })
}

/// A range such as `15m`, `24h` or `7d` in seconds, within [`RANGE_SECONDS`].
pub fn parse_range(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let number: u64 = text[..text.len() - 1].parse().ok()?;
    let seconds = number.checked_mul(seconds_per_unit)?;
    (RANGE_SECONDS.0..=RANGE_SECONDS.1)
        .contains(&seconds)
        .then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Dashboard, DefinitionError> {
        Dashboard::parse("test", json.as_bytes())
    }

    const VALID: &str = r#"{
        "title": "Authentication",
        "range": "7d",
        "refresh_seconds": 30,
        "panels": [
            {"id": "failures", "title": "Failures", "width": "full",
             "query": {"sql": "SELECT date_bin({bucket}, time) AS bucket, service, count(*) AS n FROM events GROUP BY 1, 2"},
             "visualization": {"type": "timeseries", "x": "bucket", "y": "n", "series": "service"}},
            {"id": "searched", "title": "Searched",
             "query": {"search": "outcome:failure"},
             "visualization": {"type": "stat", "value": "events"}},
            {"id": "by-severity", "title": "Open incidents",
             "query": {"incidents": {"group_by": "severity", "status": ["open"]}},
             "visualization": {"type": "bar", "x": "value", "y": "incidents"}},
            {"id": "table", "title": "Table", "query": {"sql": "SELECT 1"}, "visualization": {"type": "table"}}
        ]
    }"#;

    #[test]
    fn reads_every_query_and_visualization() -> Result<(), Box<dyn std::error::Error>> {
        let dashboard = parse(VALID)?;
        assert_eq!(dashboard.id, "test");
        assert_eq!(dashboard.range_seconds(), 7 * 86_400);
        assert_eq!(dashboard.panels.len(), 4);
        assert_eq!(dashboard.panels[0].width, PanelWidth::Full);
        assert_eq!(dashboard.panels[1].width, PanelWidth::Half);
        assert!(
            matches!(dashboard.panels[1].query, PanelQuery::Search(ref q) if q == "outcome:failure")
        );
        assert_eq!(
            dashboard.panels[0].visualization.columns(),
            vec!["bucket", "n", "service"]
        );
        assert!(dashboard.panel("by-severity").is_some());
        assert!(dashboard.panel("nope").is_none());
        // What is served is what was read.
        let again: Vec<Panel> = serde_json::from_value(serde_json::to_value(&dashboard.panels)?)?;
        assert_eq!(again, dashboard.panels);
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_draw_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("{", "invalid JSON"),
            (
                r#"{"title": "x", "panels": [], "extra": 1}"#,
                "unknown field `extra`",
            ),
            (r#"{"title": "x", "panels": []}"#, "1 to 32 panels"),
            (r#"{"title": " ", "panels": []}"#, "needs a title"),
            (r#"{"title": "x", "range": "1y", "panels": []}"#, "`range`"),
            (r#"{"title": "x", "range": "10s", "panels": []}"#, "`range`"),
            (
                r#"{"title": "x", "refresh_seconds": 1, "panels": []}"#,
                "at least 5",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "A", "title": "a", "query": {"sql": "SELECT 1"}, "visualization": {"type": "table"}}]}"#,
                "panel id \"A\"",
            ),
            (
                r#"{"title": "x", "panels": [
                    {"id": "a", "title": "a", "query": {"sql": "SELECT 1"}, "visualization": {"type": "table"}},
                    {"id": "a", "title": "b", "query": {"sql": "SELECT 1"}, "visualization": {"type": "table"}}]}"#,
                "two panels",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"sql": "  "}, "visualization": {"type": "table"}}]}"#,
                "empty",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"cypher": "MATCH"}, "visualization": {"type": "table"}}]}"#,
                "unknown variant `cypher`",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"sql": "SELECT 1"}, "visualization": {"type": "pie"}}]}"#,
                "unknown variant `pie`",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"search": "x"}, "visualization": {"type": "bar", "x": "service", "y": "events"}}]}"#,
                "reads column \"service\"",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"incidents": {"group_by": "colour"}}, "visualization": {"type": "table"}}]}"#,
                "unknown variant `colour`",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"incidents": {"group_by": "status", "status": ["merged"]}}, "visualization": {"type": "table"}}]}"#,
                "unknown incident status",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"sql": "SELECT 1"}, "visualization": {"type": "timeseries", "x": "t", "y": ["a", "b"], "series": "s"}}]}"#,
                "one `y` column",
            ),
            (
                r#"{"title": "x", "panels": [{"id": "a", "title": "a", "query": {"sql": "SELECT 1"}, "visualization": {"type": "timeseries", "x": "t", "y": []}}]}"#,
                "at least one `y`",
            ),
        ];
        for (json, reason) in cases {
            let error = parse(json).expect_err(json).to_string();
            assert!(error.contains(reason), "{json}: {error}");
        }
    }

    #[test]
    fn refuses_bad_bytes_and_bad_ids() {
        assert_eq!(
            Dashboard::parse("x", b"{\"title\": \"\xff\"}"),
            Err(DefinitionError::NotUtf8)
        );
        assert_eq!(
            Dashboard::parse("x", &vec![b' '; MAX_DEFINITION_BYTES + 1]),
            Err(DefinitionError::TooLarge)
        );
        for id in ["", "Overview", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(
                matches!(
                    Dashboard::parse(id, VALID.as_bytes()),
                    Err(DefinitionError::Id(_))
                ),
                "{id}"
            );
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            Dashboard::parse("x", deep.as_bytes()),
            Err(DefinitionError::Json(_))
        ));
    }

    #[test]
    fn ranges_read_with_their_unit() {
        assert_eq!(parse_range("15m"), Some(900));
        assert_eq!(parse_range("24h"), Some(86_400));
        assert_eq!(parse_range("7d"), Some(604_800));
        for text in [
            "",
            "h",
            "5",
            "-1h",
            "1.5h",
            "30s",
            "401d",
            "99999999999999999999d",
            "1w",
        ] {
            assert_eq!(parse_range(text), None, "{text}");
        }
    }
}
