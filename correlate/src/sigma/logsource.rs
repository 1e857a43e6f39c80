//! Logsource routing: a rule's `logsource` (product, category, service) selects the weft
//! events it can apply to, by the `format`, `class` and `service` columns and by attributes
//! (the Windows channel and event id), as the mapping config says.

use super::fieldmap::{FieldSource, LogSourceRouteConfig};
use super::rule::LogSource;
use weft_ingest::schema;

/// One configured route, validated.
#[derive(Debug, Clone)]
pub struct LogSourceRoute {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    /// Conditions, all of which must hold: a source and its admitted values (lowercase).
    pub conditions: Vec<(FieldSource, Vec<String>)>,
}

impl LogSourceRoute {
    pub(super) fn build(config: LogSourceRouteConfig) -> LogSourceRoute {
        let lower = |values: Vec<String>| {
            values
                .into_iter()
                .map(|value| value.to_lowercase())
                .collect::<Vec<_>>()
        };
        let mut conditions = Vec::new();
        for (column, values) in [
            (schema::FORMAT, config.format),
            (schema::CLASS, config.class),
            (schema::SERVICE, config.service_column),
        ] {
            if !values.is_empty() {
                conditions.push((FieldSource::Column(column), lower(values)));
            }
        }
        for (key, values) in config.attrs {
            conditions.push((FieldSource::Attr(key), lower(values)));
        }
        LogSourceRoute {
            product: config.product,
            category: config.category,
            service: config.service,
            conditions,
        }
    }

    /// Whether this route applies to rules of `logsource`: each attribute the route names
    /// equals the rule's.
    pub fn covers(&self, logsource: &LogSource) -> bool {
        let same = |route: &Option<String>, rule: &Option<String>| match route {
            None => true,
            Some(value) => rule
                .as_deref()
                .is_some_and(|rule| rule.eq_ignore_ascii_case(value)),
        };
        (self.product.is_some() || self.category.is_some() || self.service.is_some())
            && same(&self.product, &logsource.product)
            && same(&self.category, &logsource.category)
            && same(&self.service, &logsource.service)
    }
}

/// The conditions an event must meet for a rule of `logsource`, from every covering route.
pub fn route_conditions(routes: &[&LogSourceRoute]) -> Vec<(FieldSource, Vec<String>)> {
    let mut conditions: Vec<(FieldSource, Vec<String>)> = Vec::new();
    for route in routes {
        for condition in &route.conditions {
            if !conditions.contains(condition) {
                conditions.push(condition.clone());
            }
        }
    }
    conditions.sort();
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::fieldmap::FieldMapping;

    #[test]
    fn windows_process_creation_routes_to_sysmon_and_security_process_events() {
        let mapping = FieldMapping::default();
        let logsource = LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            ..LogSource::default()
        };
        let conditions = route_conditions(&mapping.routes_for(&logsource));
        assert_eq!(
            conditions,
            [
                (
                    FieldSource::Column("class"),
                    vec!["process_activity".to_string()]
                ),
                (FieldSource::Column("format"), vec!["windows".to_string()]),
                (
                    FieldSource::Attr("EventID".into()),
                    vec!["1".to_string(), "4688".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn unknown_logsources_are_unconstrained() {
        let mapping = FieldMapping::default();
        let logsource = LogSource {
            product: Some("opencanary".into()),
            ..LogSource::default()
        };
        assert!(route_conditions(&mapping.routes_for(&logsource)).is_empty());
    }
}
