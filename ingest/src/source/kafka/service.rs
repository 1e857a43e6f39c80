//! Which service a Kafka record belongs to: the rule `[kafka] service` names.

use std::fmt;

/// Where the service name of a Kafka record comes from.
///
/// - `topic`: the topic name.
/// - `header:NAME`: the value of header `NAME`; records without it fall back to the record's
///   own service field, then the topic.
/// - `key`: the message key (UTF-8); the same fallbacks.
/// - `field:NAME`: the record's field `NAME` (an alias of the `service` column for the
///   record's parser); records without it fall back to the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRule {
    Topic,
    Header(String),
    Key,
    Field(String),
}

/// A service rule that is none of the above.
#[derive(Debug, thiserror::Error)]
#[error(
    "kafka.service: `{0}` is not a service rule; use `topic`, `key`, `header:NAME` or `field:NAME`"
)]
pub struct ServiceRuleError(pub String);

impl ServiceRule {
    pub fn parse(text: &str) -> Result<ServiceRule, ServiceRuleError> {
        let named = |name: &str| {
            let name = name.trim();
            if name.is_empty() {
                Err(ServiceRuleError(text.to_string()))
            } else {
                Ok(name.to_string())
            }
        };
        match text.trim() {
            "topic" => Ok(ServiceRule::Topic),
            "key" => Ok(ServiceRule::Key),
            other => match other.split_once(':') {
                Some(("header", name)) => named(name).map(ServiceRule::Header),
                Some(("field", name)) => named(name).map(ServiceRule::Field),
                _ => Err(ServiceRuleError(text.to_string())),
            },
        }
    }

    /// The service the source assigns a record, before the record's own service field: the
    /// topic, the header's value or the key, when the rule names one and the record has it.
    pub fn source_service<'m>(
        &self,
        topic: &'m str,
        key: Option<&'m [u8]>,
        header: impl FnOnce(&str) -> Option<&'m [u8]>,
    ) -> Option<&'m str> {
        let text = |bytes: &'m [u8]| {
            std::str::from_utf8(bytes)
                .ok()
                .map(str::trim)
                .filter(|name| !name.is_empty())
        };
        match self {
            ServiceRule::Topic => Some(topic),
            ServiceRule::Key => key.and_then(text),
            ServiceRule::Header(name) => header(name).and_then(text),
            ServiceRule::Field(_) => None,
        }
    }
}

impl fmt::Display for ServiceRule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceRule::Topic => formatter.write_str("topic"),
            ServiceRule::Key => formatter.write_str("key"),
            ServiceRule::Header(name) => write!(formatter, "header:{name}"),
            ServiceRule::Field(name) => write!(formatter, "field:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rule_and_refuses_others() {
        assert_eq!(
            ServiceRule::parse("topic").expect("rule"),
            ServiceRule::Topic
        );
        assert_eq!(ServiceRule::parse("key").expect("rule"), ServiceRule::Key);
        assert_eq!(
            ServiceRule::parse("header:svc").expect("rule"),
            ServiceRule::Header("svc".to_string())
        );
        assert_eq!(
            ServiceRule::parse("field:app.name").expect("rule"),
            ServiceRule::Field("app.name".to_string())
        );
        for bad in ["", "header:", "field: ", "value:x", "topics"] {
            assert!(ServiceRule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ServiceRule::Header("svc".to_string()).to_string(),
            "header:svc"
        );
    }

    #[test]
    fn source_service_follows_the_rule_and_skips_missing_values() {
        let headers = |name: &str| (name == "svc").then_some(&b"payments"[..]);
        let header_rule = ServiceRule::Header("svc".to_string());
        assert_eq!(
            ServiceRule::Topic.source_service("logs", None, headers),
            Some("logs")
        );
        assert_eq!(
            header_rule.source_service("logs", None, headers),
            Some("payments")
        );
        assert_eq!(
            ServiceRule::Header("other".to_string()).source_service("logs", None, headers),
            None
        );
        assert_eq!(
            ServiceRule::Key.source_service("logs", Some(b"gateway"), headers),
            Some("gateway")
        );
        assert_eq!(
            ServiceRule::Key.source_service("logs", Some(&[0xff]), headers),
            None
        );
        assert_eq!(
            ServiceRule::Field("app".to_string()).source_service("logs", None, headers),
            None
        );
    }
}
