//! Placeholders for the `expand` modifier: `%name%` in a value stands for the values the user
//! configured for `name`. A rule whose placeholder has no configured value is refused, as the
//! specification demands of tools that cannot resolve it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::modifier::PlanError;

/// Configured placeholder values, e.g. from a `[placeholders]` TOML table:
/// `Administrators = ["admin*", "root"]`. Each value is a Sigma string (wildcards allowed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Placeholders {
    #[serde(flatten)]
    pub values: BTreeMap<String, Vec<String>>,
}

impl Placeholders {
    /// Parses a TOML document of `name = ["value", ...]` lines.
    pub fn from_toml(text: &str) -> Result<Placeholders, toml::de::Error> {
        toml::from_str(text)
    }

    /// Every expansion of `raw`: one string per combination of the values of its placeholders.
    /// `\%` is a plain percent sign.
    pub fn expand(&self, raw: &str) -> Result<Vec<String>, PlanError> {
        let mut results = vec![String::new()];
        let mut rest = raw;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("\\%") {
                results.iter_mut().for_each(|result| result.push('%'));
                rest = after;
                continue;
            }
            if let Some(after) = rest.strip_prefix('%')
                && let Some(end) = after.find('%')
            {
                let name = &after[..end];
                let Some(values) = self.values.get(name).filter(|values| !values.is_empty()) else {
                    return Err(PlanError::Placeholder(name.to_string()));
                };
                results = results
                    .iter()
                    .flat_map(|prefix| values.iter().map(move |value| format!("{prefix}{value}")))
                    .collect();
                rest = &after[end + 1..];
                continue;
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                results.iter_mut().for_each(|result| result.push(c));
            }
            rest = chars.as_str();
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_configured_placeholders_and_keeps_escaped_percent() {
        let placeholders =
            Placeholders::from_toml("name = ['a', 'b*']\nother = ['x']").expect("valid");
        assert_eq!(
            placeholders.expand("%name%").expect("configured"),
            ["a", "b*"]
        );
        assert_eq!(
            placeholders.expand(r"\%plain%name%").expect("configured"),
            ["%plaina", "%plainb*"]
        );
        assert_eq!(
            placeholders.expand("%other%-%name%").expect("configured"),
            ["x-a", "x-b*"]
        );
        assert_eq!(
            placeholders.expand("100%").expect("no placeholder"),
            ["100%"]
        );
    }

    #[test]
    fn refuses_an_unconfigured_placeholder() {
        let placeholders = Placeholders::default();
        assert_eq!(
            placeholders.expand("%Administrators%"),
            Err(PlanError::Placeholder("Administrators".into()))
        );
    }
}
