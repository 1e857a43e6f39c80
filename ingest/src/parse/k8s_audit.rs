//! Kubernetes API server audit events: `audit.k8s.io/v1` and `v1beta1` `Event` objects, one per
//! record (the log backend writes NDJSON), or an `EventList` (the webhook backend's batches)
//! whose `items` each become an event with `raw` set to the item's own text.
//!
//! A record is refused when its `kind` is not `Event` or its `apiVersion` is not
//! `audit.k8s.io/*` (a core `v1` Event, as `kubectl get events` lists them, is not an audit
//! event), or when it has none of `kind`, `auditID` and `verb`.
//!
//! Every field is kept in `attrs` under its dotted path (`objectRef.namespace`,
//! `impersonatedUser.username`, `annotations.authorization.k8s.io/decision`, ...). Columns:
//!
//! | column | from |
//! | --- | --- |
//! | `class` | always `api_activity` |
//! | `activity` | `verb` (`create`, `get`, `list`, `watch`, `patch`, ...) |
//! | `user` | `user.username` (the authenticated user; an impersonated user stays in attrs) |
//! | `src_ip` | the first of `sourceIPs` that is an IP address (the client; later ones are proxies) |
//! | `http_method` | from `verb`: get/list/watch `GET`, create `POST`, update `PUT`, patch `PATCH`, delete/deletecollection `DELETE`; a non-resource request's verb is its HTTP method, upper-cased |
//! | `url` | `requestURI` |
//! | `http_status` | `responseStatus.code` |
//! | `resource` | the object's REST path without the API group and version: `namespaces/<namespace>/<resource>[/<name>][/<subresource>]`, or `<resource>[/<name>][/<subresource>]` for cluster-scoped objects (`namespaces/default/pods/web-1/exec`, `clusterroles/admin`) |
//! | `outcome` | `failure` when the authorizer's decision annotation is `forbid` (or `deny`), else from `responseStatus.code` (1xx-3xx success, 4xx-5xx failure), else from `responseStatus.status`, else `unknown` |
//! | `severity` | medium for denials (decision `forbid`/`deny`, status 401 or 403), low for other failures, informational otherwise |
//! | `time` | `requestReceivedTimestamp`, else `stageTimestamp`, else (v1beta1) `timestamp` or `metadata.creationTimestamp` |
//! | `request_id` | `auditID` |
//! | `session_id` | `user.extra.authentication.kubernetes.io/credential-id` (the token's `JTI=...`, Kubernetes 1.30+) |
//! | `user_agent` | `userAgent` |
//! | `message` | `responseStatus.message` |
//!
//! Columns the record leaves empty are then filled through the alias table (the service's
//! configured aliases, then the defaults), as for generic JSON.
//!
//! Reference: <https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/>.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::flatten::{field_capacity, flatten_into};
use super::json::{element_events, json_error};
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome, severity};
use crate::time;

pub const NAME: &str = "k8s_audit";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["kubernetes_audit"],
    description: "Kubernetes API server audit events (audit.k8s.io v1/v1beta1 Event or EventList)",
    build: |options| Box::new(K8sAuditParser::new(options)),
};

/// Parser of Kubernetes audit events.
#[derive(Debug, Clone)]
pub struct K8sAuditParser {
    aliases: AliasTable,
}

impl K8sAuditParser {
    pub fn new(options: &ParserOptions) -> Self {
        K8sAuditParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// The envelope of an `EventList`; other fields are skipped.
#[derive(Deserialize)]
struct EventList<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// Indexes into `attrs` of the fields that fill columns (the first occurrence of each).
#[derive(Default)]
struct Found {
    kind: Option<usize>,
    api_version: Option<usize>,
    verb: Option<usize>,
    audit_id: Option<usize>,
    username: Option<usize>,
    source_ip: Option<usize>,
    namespace: Option<usize>,
    resource: Option<usize>,
    name: Option<usize>,
    subresource: Option<usize>,
    request_uri: Option<usize>,
    status_code: Option<usize>,
    status_text: Option<usize>,
    status_message: Option<usize>,
    decision: Option<usize>,
    user_agent: Option<usize>,
    received: Option<usize>,
    stage: Option<usize>,
    timestamp: Option<usize>,
    created: Option<usize>,
    credential_id: Option<usize>,
}

impl Found {
    fn scan(attrs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Found {
        let mut found = Found::default();
        for (index, (key, value)) in attrs.iter().enumerate() {
            let slot = match key.as_ref() {
                "kind" => &mut found.kind,
                "apiVersion" => &mut found.api_version,
                "verb" => &mut found.verb,
                "auditID" => &mut found.audit_id,
                "user.username" => &mut found.username,
                "objectRef.namespace" => &mut found.namespace,
                "objectRef.resource" => &mut found.resource,
                "objectRef.name" => &mut found.name,
                "objectRef.subresource" => &mut found.subresource,
                "requestURI" => &mut found.request_uri,
                "responseStatus.code" => &mut found.status_code,
                "responseStatus.status" => &mut found.status_text,
                "responseStatus.message" => &mut found.status_message,
                "annotations.authorization.k8s.io/decision" => &mut found.decision,
                "userAgent" => &mut found.user_agent,
                "requestReceivedTimestamp" => &mut found.received,
                "stageTimestamp" => &mut found.stage,
                "timestamp" => &mut found.timestamp,
                "metadata.creationTimestamp" => &mut found.created,
                "user.extra.authentication.kubernetes.io/credential-id.0" => {
                    &mut found.credential_id
                }
                key if key.starts_with("sourceIPs.") => {
                    if !super::ascii::is_ip_address(super::ascii::trim(value)) {
                        continue;
                    }
                    &mut found.source_ip
                }
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(index);
            }
        }
        found
    }
}

/// The HTTP method of a request with audit verb `verb`.
fn http_method(verb: &str) -> Option<Cow<'static, str>> {
    let method = match verb {
        "get" | "list" | "watch" => "GET",
        "create" | "post" => "POST",
        "update" | "put" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        "head" => "HEAD",
        "options" => "OPTIONS",
        other if !other.is_empty() && other.bytes().all(|byte| byte.is_ascii_alphabetic()) => {
            return Some(Cow::Owned(other.to_ascii_uppercase()));
        }
        _ => return None,
    };
    Some(Cow::Borrowed(method))
}

/// The REST path of the object a request touched (see the module docs).
fn object_path(
    namespace: Option<&str>,
    resource: Option<&str>,
    name: Option<&str>,
    subresource: Option<&str>,
) -> Option<String> {
    let resource = resource.filter(|resource| !resource.is_empty())?;
    let mut path = String::with_capacity(64);
    let namespace = namespace.filter(|namespace| !namespace.is_empty());
    if let Some(namespace) = namespace
        && !(resource == "namespaces" && name == Some(namespace))
    {
        path.push_str("namespaces/");
        path.push_str(namespace);
        path.push('/');
    }
    path.push_str(resource);
    for part in [name, subresource].into_iter().flatten() {
        if !part.is_empty() {
            path.push('/');
            path.push_str(part);
        }
    }
    Some(path)
}

/// One audit event from the JSON object `json`.
fn audit_event<'a>(aliases: &AliasTable, json: &'a str) -> Result<Event<'a>, ParseError> {
    if !json.trim_start().starts_with('{') {
        return Err(ParseError::malformed(
            NAME,
            "an audit event is a JSON object",
        ));
    }
    let mut event = Event::new(NAME);
    event.attrs.reserve(field_capacity(json));
    flatten_into(json, &mut event.attrs).map_err(|error| json_error(NAME, error))?;
    from_flattened(aliases, event)
}

/// The audit event of one record whose fields are already flattened into `event.attrs`
/// (format detection flattens a JSON record once and hands it here).
pub fn from_flattened<'a>(
    aliases: &AliasTable,
    mut event: Event<'a>,
) -> Result<Event<'a>, ParseError> {
    event.format = NAME;
    let found = Found::scan(&event.attrs);
    let value = |slot: Option<usize>| -> Option<Cow<'a, str>> {
        slot.and_then(|index| event.attrs.get(index))
            .map(|(_, value)| value.clone())
    };

    let kind = value(found.kind);
    match kind.as_deref() {
        Some("Event") => {}
        Some(other) => {
            return Err(ParseError::malformed(
                NAME,
                format!("kind is `{other}`, not `Event`"),
            ));
        }
        None if found.audit_id.is_none() && found.verb.is_none() => {
            return Err(ParseError::malformed(
                NAME,
                "no `kind`, `auditID` or `verb`: not an audit event",
            ));
        }
        None => {}
    }
    if let Some(api_version) = value(found.api_version)
        && !api_version.starts_with("audit.k8s.io/")
    {
        // A core `v1` Event (what `kubectl get events` lists) is not an audit event.
        return Err(ParseError::malformed(
            NAME,
            format!("apiVersion is `{api_version}`, not audit.k8s.io"),
        ));
    }

    let verb = value(found.verb);
    let status = value(found.status_code).and_then(|code| code.trim().parse::<i32>().ok());
    let decision = value(found.decision);
    let denied = decision.as_deref().is_some_and(|decision| {
        decision.eq_ignore_ascii_case("forbid") || decision.eq_ignore_ascii_case("deny")
    });
    let outcome = if denied {
        Outcome::Failure
    } else if let Some(status) = status {
        Outcome::from_http_status(status)
    } else {
        match value(found.status_text).as_deref() {
            Some("Success") => Outcome::Success,
            Some("Failure") => Outcome::Failure,
            _ => Outcome::Unknown,
        }
    };
    let severity = if denied || matches!(status, Some(401 | 403)) {
        severity::MEDIUM
    } else if outcome == Outcome::Failure {
        severity::LOW
    } else {
        severity::INFORMATIONAL
    };
    let time = [found.received, found.stage, found.timestamp, found.created]
        .into_iter()
        .find_map(|slot| value(slot).and_then(|text| time::parse_rfc3339(&text)));
    let resource = object_path(
        value(found.namespace).as_deref(),
        value(found.resource).as_deref(),
        value(found.name).as_deref(),
        value(found.subresource).as_deref(),
    );

    let user = value(found.username);
    let src_ip = value(found.source_ip);
    let url = value(found.request_uri);
    let user_agent = value(found.user_agent);
    let request_id = value(found.audit_id);
    let session_id = value(found.credential_id);
    let message = value(found.status_message);

    event.class = Class::ApiActivity;
    event.http_method = verb.as_deref().and_then(http_method);
    event.activity = verb.filter(|verb| !verb.is_empty());
    event.http_status = status;
    event.outcome = Some(outcome);
    event.severity = Some(severity);
    event.time = time;
    event.resource = resource.map(Cow::Owned);
    event.user = user.filter(|user| !user.is_empty());
    event.src_ip = src_ip.map(|ip| match ip {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    });
    event.url = url.filter(|url| !url.is_empty());
    event.user_agent = user_agent.filter(|agent| !agent.is_empty());
    event.request_id = request_id.filter(|id| !id.is_empty());
    event.session_id = session_id.filter(|id| !id.is_empty());
    event.message = message.filter(|message| !message.is_empty());
    aliases.apply(&mut event);
    Ok(event)
}

/// Finds the `"EventList"` key; built once, as building a searcher costs more than a search.
static EVENT_LIST_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"EventList\""));

impl Parser for K8sAuditParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        if EVENT_LIST_KEY.find(record.as_bytes()).is_some() {
            let list: EventList<'a> =
                serde_json::from_str(record).map_err(|error| json_error(NAME, error.into()))?;
            if list.kind.as_deref() == Some("EventList") {
                let Some(items) = list.items else {
                    return Err(ParseError::invalid(NAME, "EventList without `items`"));
                };
                return element_events(items, |json| audit_event(&self.aliases, json), out);
            }
        }
        out.push(audit_event(&self.aliases, record)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
        let mut out = Vec::new();
        K8sAuditParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        Ok(out)
    }

    fn one(record: &str) -> Event<'_> {
        let mut events = parse(record).expect("valid audit event");
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"ca1ed9f4","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web-1/exec?command=bash","verb":"create","user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["192.168.99.1","10.0.0.1"],"userAgent":"kubectl/v1.29.0","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2024-05-01T12:00:00.123456Z","stageTimestamp":"2024-05-01T12:00:01Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

    #[test]
    fn pod_exec_fills_columns_and_keeps_attrs() {
        let event = one(EXEC);
        assert_eq!(event.class, Class::ApiActivity);
        assert_eq!(event.activity.as_deref(), Some("create"));
        assert_eq!(event.http_method.as_deref(), Some("POST"));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("192.168.99.1"));
        assert_eq!(
            event.resource.as_deref(),
            Some("namespaces/default/pods/web-1/exec")
        );
        assert_eq!(
            event.url.as_deref(),
            Some("/api/v1/namespaces/default/pods/web-1/exec?command=bash")
        );
        assert_eq!(event.http_status, Some(101));
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(
            event.time,
            time::parse_rfc3339("2024-05-01T12:00:00.123456Z")
        );
        assert_eq!(event.request_id.as_deref(), Some("ca1ed9f4"));
        assert_eq!(event.user_agent.as_deref(), Some("kubectl/v1.29.0"));
        assert_eq!(event.attr("objectRef.subresource"), Some("exec"));
        assert_eq!(event.attr("user.groups.0"), Some("system:authenticated"));
        assert_eq!(event.attr("sourceIPs.1"), Some("10.0.0.1"));
        assert_eq!(event.raw, None);
    }

    #[test]
    fn verbs_map_to_http_methods() {
        for (verb, method) in [
            ("get", Some("GET")),
            ("list", Some("GET")),
            ("watch", Some("GET")),
            ("create", Some("POST")),
            ("update", Some("PUT")),
            ("patch", Some("PATCH")),
            ("delete", Some("DELETE")),
            ("deletecollection", Some("DELETE")),
            ("propfind", Some("PROPFIND")),
            ("", None),
            ("not a verb", None),
        ] {
            assert_eq!(http_method(verb).as_deref(), method, "{verb}");
        }
    }

    #[test]
    fn cluster_scoped_and_namespace_objects_have_short_paths() {
        let event = one(
            r#"{"kind":"Event","verb":"delete","objectRef":{"resource":"clusterroles","name":"admin","apiGroup":"rbac.authorization.k8s.io"}}"#,
        );
        assert_eq!(event.resource.as_deref(), Some("clusterroles/admin"));
        let event = one(
            r#"{"kind":"Event","verb":"create","objectRef":{"resource":"namespaces","namespace":"foo","name":"foo"}}"#,
        );
        assert_eq!(event.resource.as_deref(), Some("namespaces/foo"));
        let event = one(
            r#"{"kind":"Event","verb":"list","objectRef":{"resource":"secrets","namespace":"kube-system"}}"#,
        );
        assert_eq!(
            event.resource.as_deref(),
            Some("namespaces/kube-system/secrets")
        );
        let event = one(r#"{"kind":"Event","verb":"get","requestURI":"/healthz"}"#);
        assert_eq!(event.resource, None);
    }

    #[test]
    fn forbidden_decision_is_a_medium_failure() {
        let event = one(
            r#"{"kind":"Event","auditID":"x","verb":"get","responseStatus":{"code":403,"status":"Failure","message":"forbidden: User \"bob\" cannot get secrets"},"annotations":{"authorization.k8s.io/decision":"forbid"}}"#,
        );
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.severity, Some(severity::MEDIUM));
        assert_eq!(
            event.message.as_deref(),
            Some("forbidden: User \"bob\" cannot get secrets")
        );
        let event = one(r#"{"kind":"Event","verb":"create","responseStatus":{"code":409}}"#);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.severity, Some(severity::LOW));
        let event = one(r#"{"kind":"Event","verb":"create"}"#);
        assert_eq!(event.outcome, Some(Outcome::Unknown));
    }

    #[test]
    fn v1beta1_timestamp_and_impersonation_are_kept() {
        let event = one(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2018-10-26T13:38:34Z"},"timestamp":"2018-10-26T13:38:34Z","verb":"get","user":{"username":"admin"},"impersonatedUser":{"username":"system:serviceaccount:default:sa"}}"#,
        );
        assert_eq!(event.time, time::parse_rfc3339("2018-10-26T13:38:34Z"));
        assert_eq!(event.user.as_deref(), Some("admin"));
        assert_eq!(
            event.attr("impersonatedUser.username"),
            Some("system:serviceaccount:default:sa")
        );
    }

    #[test]
    fn source_ip_skips_values_that_are_not_addresses() {
        let event = one(r#"{"kind":"Event","verb":"get","sourceIPs":["not-an-ip","10.0.1.5"]}"#);
        assert_eq!(event.src_ip.as_deref(), Some("10.0.1.5"));
        assert_eq!(event.attr("sourceIPs.0"), Some("not-an-ip"));
    }

    #[test]
    fn credential_id_becomes_the_session() {
        let event = one(
            r#"{"kind":"Event","verb":"get","user":{"username":"system:serviceaccount:ns:sa","extra":{"authentication.kubernetes.io/credential-id":["JTI=4f6c"]}}}"#,
        );
        assert_eq!(event.session_id.as_deref(), Some("JTI=4f6c"));
    }

    #[test]
    fn event_list_yields_one_event_per_item_with_its_raw_text() {
        let record = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"auditID":"a","verb":"get","user":{"username":"u1"}}, {"auditID":"b","verb":"watch","user":{"username":"u2"}}]}"#;
        let events = parse(record).expect("valid list");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].request_id.as_deref(), Some("a"));
        assert_eq!(
            events[1].raw,
            Some(r#"{"auditID":"b","verb":"watch","user":{"username":"u2"}}"#)
        );
        assert!(
            parse(r#"{"kind":"EventList","items":[]}"#)
                .expect("empty list")
                .is_empty()
        );
    }

    #[test]
    fn bad_list_item_fails_the_whole_record() {
        let error = parse(r#"{"kind":"EventList","items":[{"verb":"get"},{"kind":0}]}"#)
            .expect_err("second item is not an event");
        assert!(error.to_string().contains("kind"), "{error}");
        assert!(parse(r#"{"kind":"EventList"}"#).is_err());
    }

    #[test]
    fn records_that_are_not_audit_events_are_refused() {
        assert!(parse(r#"{"kind": 0}"#).is_err());
        assert!(parse(r#"{"kind":"Pod","verb":"get"}"#).is_err());
        let error = parse(
            r#"{"kind":"Event","apiVersion":"v1","reason":"Pulled","involvedObject":{"kind":"Pod"}}"#,
        )
        .expect_err("a core Event is not an audit event");
        assert!(error.to_string().contains("apiVersion"), "{error}");
        assert!(parse(r#"{"msg":"hello"}"#).is_err());
        assert!(parse(r#"["verb"]"#).is_err());
        assert!(parse(r#"{"kind":"Event","verb":"get""#).is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_audit_like_json(
            verb in ".{0,12}",
            code in proptest::num::i64::ANY,
            ip in ".{0,20}",
            list in proptest::bool::ANY,
        ) {
            let item = serde_json::json!({
                "kind": "Event", "verb": verb, "sourceIPs": [ip],
                "responseStatus": {"code": code}, "objectRef": {"resource": verb, "name": ip},
            });
            let record = if list {
                serde_json::json!({"kind": "EventList", "items": [item]}).to_string()
            } else {
                item.to_string()
            };
            let _ = parse(&record);
        }
    }
}
