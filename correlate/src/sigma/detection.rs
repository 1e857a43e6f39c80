//! The `detection` section: search identifiers (maps, lists of maps, keyword lists) and the
//! condition, parsed from YAML but not yet compiled.

use yaml_rust2::Yaml;

use super::error::RuleErrorKind;
use super::modifier::Modifier;

/// A scalar value as the rule wrote it. Numbers keep their text where YAML does (floats), so
/// `1.50` matches the text `1.50`; the specification treats every value as a string.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    String(String),
    Integer(i64),
    Float(String),
    Bool(bool),
    Null,
}

impl SigmaValue {
    fn from_yaml(yaml: &Yaml) -> Option<SigmaValue> {
        Some(match yaml {
            Yaml::String(text) => SigmaValue::String(text.clone()),
            Yaml::Integer(number) => SigmaValue::Integer(*number),
            Yaml::Real(text) => SigmaValue::Float(text.clone()),
            Yaml::Boolean(flag) => SigmaValue::Bool(*flag),
            Yaml::Null => SigmaValue::Null,
            _ => return None,
        })
    }
}

/// One `Field|modifier|...: value(s)` entry, or a keyword list (no field).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldItem {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<SigmaValue>,
}

/// A search identifier's definition: alternatives (OR) of conjunctions (AND) of items. A map is
/// one conjunction; a list of maps is several; a keyword list is one item without a field.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub any_of: Vec<Vec<FieldItem>>,
}

/// The parsed `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Search identifiers in the order the rule defines them.
    pub searches: Vec<(String, Search)>,
    /// The condition(s); several are joined by OR.
    pub conditions: Vec<String>,
    /// The obsolete `timeframe` attribute, kept as written.
    pub timeframe: Option<String>,
}

impl Detection {
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches
            .iter()
            .find(|(identifier, _)| identifier == name)
            .map(|(_, search)| search)
    }

    /// Parses a `detection` map.
    pub fn from_yaml(yaml: &Yaml) -> Result<Detection, RuleErrorKind> {
        let Yaml::Hash(map) = yaml else {
            return Err(RuleErrorKind::InvalidAttribute {
                attribute: "detection",
                reason: "must be a map of search identifiers and a condition".into(),
            });
        };
        let mut detection = Detection {
            searches: Vec::new(),
            conditions: Vec::new(),
            timeframe: None,
        };
        for (key, value) in map {
            let Yaml::String(key) = key else {
                return Err(RuleErrorKind::InvalidAttribute {
                    attribute: "detection",
                    reason: format!("key {key:?} is not a name"),
                });
            };
            match key.as_str() {
                "condition" => {
                    detection.conditions = match value {
                        Yaml::String(condition) => vec![condition.clone()],
                        Yaml::Array(items) => items
                            .iter()
                            .map(|item| item.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| {
                                invalid_condition("a condition list holds only strings")
                            })?,
                        _ => {
                            return Err(invalid_condition("must be a string or a list of strings"));
                        }
                    }
                }
                "timeframe" => detection.timeframe = value.as_str().map(str::to_string),
                identifier => {
                    let search = parse_search(identifier, value)?;
                    detection.searches.push((identifier.to_string(), search));
                }
            }
        }
        if detection.conditions.is_empty() {
            return Err(RuleErrorKind::Missing("detection.condition"));
        }
        if detection.searches.is_empty() {
            return Err(RuleErrorKind::InvalidAttribute {
                attribute: "detection",
                reason: "defines no search identifier".into(),
            });
        }
        Ok(detection)
    }
}

fn invalid_condition(reason: &str) -> RuleErrorKind {
    RuleErrorKind::InvalidAttribute {
        attribute: "detection.condition",
        reason: reason.into(),
    }
}

fn invalid_search(identifier: &str, reason: impl Into<String>) -> RuleErrorKind {
    RuleErrorKind::InvalidSearch {
        identifier: identifier.to_string(),
        reason: reason.into(),
    }
}

fn parse_search(identifier: &str, yaml: &Yaml) -> Result<Search, RuleErrorKind> {
    match yaml {
        Yaml::Hash(_) => Ok(Search {
            any_of: vec![parse_map(identifier, yaml)?],
        }),
        Yaml::Array(items) if items.is_empty() => {
            Err(invalid_search(identifier, "is an empty list"))
        }
        Yaml::Array(items) if items.iter().all(|item| matches!(item, Yaml::Hash(_))) => {
            let any_of = items
                .iter()
                .map(|item| parse_map(identifier, item))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Search { any_of })
        }
        Yaml::Array(items) => {
            let values = items
                .iter()
                .map(SigmaValue::from_yaml)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    invalid_search(
                        identifier,
                        "a list holds either maps or plain values, not both",
                    )
                })?;
            Ok(keywords(values))
        }
        scalar => match SigmaValue::from_yaml(scalar) {
            Some(value) => Ok(keywords(vec![value])),
            None => Err(invalid_search(
                identifier,
                "is neither a map, a list nor a value",
            )),
        },
    }
}

fn keywords(values: Vec<SigmaValue>) -> Search {
    Search {
        any_of: vec![vec![FieldItem {
            field: None,
            modifiers: Vec::new(),
            values,
        }]],
    }
}

fn parse_map(identifier: &str, yaml: &Yaml) -> Result<Vec<FieldItem>, RuleErrorKind> {
    let Yaml::Hash(map) = yaml else {
        return Err(invalid_search(identifier, "expected a map"));
    };
    if map.is_empty() {
        return Err(invalid_search(identifier, "is an empty map"));
    }
    let mut items = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key = match key {
            Yaml::String(text) => text.clone(),
            Yaml::Integer(number) => number.to_string(),
            _ => {
                return Err(invalid_search(
                    identifier,
                    format!("field name {key:?} is not text"),
                ));
            }
        };
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        let mut modifiers = Vec::new();
        for name in parts {
            let Some(modifier) = Modifier::from_name(name) else {
                return Err(RuleErrorKind::UnknownModifier {
                    field: key.clone(),
                    modifier: name.to_string(),
                });
            };
            modifiers.push(modifier);
        }
        let values =
            match value {
                Yaml::Array(list) => list
                    .iter()
                    .map(SigmaValue::from_yaml)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| RuleErrorKind::InvalidValue {
                        identifier: identifier.to_string(),
                        field: key.clone(),
                        reason: "a value list holds only plain values".into(),
                    })?,
                scalar => vec![SigmaValue::from_yaml(scalar).ok_or_else(|| {
                    RuleErrorKind::InvalidValue {
                        identifier: identifier.to_string(),
                        field: key.clone(),
                        reason: "the value is a map: fields take a value or a list of values"
                            .into(),
                    }
                })?],
            };
        items.push(FieldItem {
            field: (!field.is_empty()).then(|| field.to_string()),
            modifiers,
            values,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(text: &str) -> Result<Detection, RuleErrorKind> {
        let docs = yaml_rust2::YamlLoader::load_from_str(text).expect("valid yaml");
        Detection::from_yaml(&docs[0])
    }

    #[test]
    fn parses_maps_lists_of_maps_and_keywords() {
        let parsed = detection(
            "sel:\n  Image|endswith: '\\cmd.exe'\n  EventID: [1, 4688]\n\
             alt:\n  - A: x\n  - B: null\n\
             kw:\n  - evil\n  - 42\n\
             allkw:\n  '|all': [a, b]\n\
             condition: sel or alt or kw or allkw",
        )
        .expect("valid");
        assert_eq!(parsed.searches.len(), 4);
        let sel = parsed.search("sel").expect("defined");
        assert_eq!(sel.any_of.len(), 1);
        assert_eq!(sel.any_of[0][0].modifiers, [Modifier::EndsWith]);
        assert_eq!(
            sel.any_of[0][1].values,
            [SigmaValue::Integer(1), SigmaValue::Integer(4688)]
        );
        assert_eq!(parsed.search("alt").expect("defined").any_of.len(), 2);
        let kw = &parsed.search("kw").expect("defined").any_of[0][0];
        assert_eq!(kw.field, None);
        assert_eq!(kw.values.len(), 2);
        let allkw = &parsed.search("allkw").expect("defined").any_of[0][0];
        assert_eq!(
            (allkw.field.as_deref(), allkw.modifiers.as_slice()),
            (None, &[Modifier::All][..])
        );
    }

    #[test]
    fn refuses_unknown_modifiers_and_missing_conditions() {
        assert!(matches!(
            detection("sel:\n  A|bogus: x\ncondition: sel"),
            Err(RuleErrorKind::UnknownModifier { .. })
        ));
        assert_eq!(
            detection("sel:\n  A: x"),
            Err(RuleErrorKind::Missing("detection.condition"))
        );
        assert!(detection("sel:\n  - A: x\n  - plain\ncondition: sel").is_err());
    }
}
