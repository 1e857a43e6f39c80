//! AWS CloudTrail: single event records (NDJSON, as EventBridge, CloudWatch Logs and most
//! shippers deliver them) and CloudTrail log files (`{"Records": [...]}`, as written to S3), where
//! each record becomes an event with `raw` set to that record's own text.
//!
//! Every field is kept in `attrs` under its dotted path (`userIdentity.arn`,
//! `requestParameters.bucketName`, `recipientAccountId`, `awsRegion`, `readOnly`, ...), so Sigma
//! rules written for CloudTrail field names match as they are. Columns:
//!
//! | column | from |
//! | --- | --- |
//! | `class` | `authentication` for sign-ins and credential issuance (see [`is_authentication`]), else `api_activity` |
//! | `activity` | `eventName` |
//! | `user` | `userIdentity.userName`; else, for an assumed role, `<role>/<session>` from `userIdentity.arn` (`AWSReservedSSO_Admin_ab12/alice@example.com`), so both the role and the person or instance behind the session can be searched; else the last segment of `userIdentity.arn`; else `sessionContext.sessionIssuer.userName`; else `userIdentity.principalId`; else `userIdentity.invokedBy` (an AWS service acting on its own) |
//! | `src_ip` | `sourceIPAddress`, only when it is an IP address: AWS writes a service name (`ec2.amazonaws.com`) or `AWS Internal` when a service made the call, and those stay in attrs only |
//! | `user_agent` | `userAgent` |
//! | `resource` | the most specific object the call names: the S3 object ARN from `requestParameters.bucketName` and `key`; else `resources.0.ARN`; else the S3 bucket ARN; else the first `requestParameters.*Arn` ARN; else a named parameter as `<service>:<kind>/<name>` (`iam:user/bob`, `lambda:function/api`, `ec2:instance/i-0abc`); else `eventSource` |
//! | `outcome` | `failure` when `errorCode` is present or `responseElements.ConsoleLogin` is `Failure`, else `success` |
//! | `severity` | medium for denials (an `errorCode` containing `AccessDenied`, `Unauthorized` or `Forbidden`) and failed console logins, low for other errors, informational otherwise |
//! | `time` | `eventTime` (else the shipper's `@timestamp`) |
//! | `request_id` | `requestID` |
//! | `session_id` | `userIdentity.accessKeyId` when it is a temporary STS key (`ASIA...`): the key names one session of a role or federated user, so it links the calls made in that session |
//! | `message` | `errorMessage` |
//!
//! An EventBridge event (`"detail-type": "AWS API Call via CloudTrail"`, or `AWS Console Sign
//! In via CloudTrail`) is read through its `detail`: `detail.eventName` fills `activity` as
//! `eventName` would; its attrs keep the `detail.` prefix.
//!
//! `host` stays empty: an account or region is not a host. `recipientAccountId`, `awsRegion`
//! and `userIdentity.accountId` are in attrs. Top-level names spelled in lower case (as some
//! query engines export them: `eventname`, `eventsource`, `useridentity.arn`) are read too.
//!
//! Columns the record leaves empty are then filled through the alias table (the service's
//! configured aliases, then the defaults), as for generic JSON; `src_ip` still only ever
//! takes an IP address.
//!
//! Reference: <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::flatten::{field_capacity, flatten_into};
use super::json::{element_events, json_error};
use super::{AliasTable, FormatSpec, ParseContext, ParseError, Parser, ParserOptions};
use crate::event::{Class, Event, Outcome, severity};
use crate::time;

pub const NAME: &str = "cloudtrail";

pub const SPEC: FormatSpec = FormatSpec {
    name: NAME,
    also_known_as: &["aws_cloudtrail"],
    description: "AWS CloudTrail events, one per record or a {\"Records\": [...]} log file",
    build: |options| Box::new(CloudTrailParser::new(options)),
};

/// Parser of AWS CloudTrail records.
#[derive(Debug, Clone)]
pub struct CloudTrailParser {
    aliases: AliasTable,
}

impl CloudTrailParser {
    pub fn new(options: &ParserOptions) -> Self {
        CloudTrailParser {
            aliases: options.aliases.clone(),
        }
    }
}

/// A CloudTrail log file; other top-level fields are skipped.
#[derive(Deserialize)]
struct LogFile<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
}

/// Whether `eventName` from `eventSource` signs someone in or issues them credentials:
/// console and IAM Identity Center sign-ins, and the STS calls that return credentials.
pub fn is_authentication(event_source: &str, event_name: &str) -> bool {
    match event_source {
        "signin.amazonaws.com" => matches!(
            event_name,
            "ConsoleLogin"
                | "CheckMfa"
                | "SwitchRole"
                | "ExternalIdPDirectoryLogin"
                | "GetSigninToken"
                | "UserAuthentication"
                | "CredentialVerification"
                | "CredentialChallenge"
        ),
        "sts.amazonaws.com" => matches!(
            event_name,
            "AssumeRole"
                | "AssumeRoleWithSAML"
                | "AssumeRoleWithWebIdentity"
                | "AssumeRoot"
                | "GetSessionToken"
                | "GetFederationToken"
        ),
        "sso.amazonaws.com" => matches!(event_name, "Authenticate" | "Federate"),
        _ => false,
    }
}

/// Request parameters that name the object of a call, with the kind written in `resource`.
fn named_parameter(key: &str) -> Option<&'static str> {
    Some(match key {
        "requestParameters.userName" => "user",
        "requestParameters.roleName" => "role",
        "requestParameters.groupName" => "group",
        "requestParameters.policyName" => "policy",
        "requestParameters.functionName" => "function",
        "requestParameters.instanceId" | "requestParameters.instancesSet.items.0.instanceId" => {
            "instance"
        }
        "requestParameters.secretId" => "secret",
        "requestParameters.keyId" => "key",
        "requestParameters.trailName" => "trail",
        "requestParameters.logGroupName" => "log-group",
        "requestParameters.tableName" => "table",
        "requestParameters.queueUrl" => "queue",
        "requestParameters.clusterName" => "cluster",
        "requestParameters.dBInstanceIdentifier" => "db",
        "requestParameters.detectorId" => "detector",
        _ => return None,
    })
}

/// Indexes into `attrs` of the fields that fill columns (the first occurrence of each).
#[derive(Default)]
struct Found {
    event_version: Option<usize>,
    event_id: Option<usize>,
    event_name: Option<usize>,
    event_source: Option<usize>,
    event_time: Option<usize>,
    timestamp: Option<usize>,
    identity: Option<usize>,
    identity_type: Option<usize>,
    user_name: Option<usize>,
    arn: Option<usize>,
    principal_id: Option<usize>,
    invoked_by: Option<usize>,
    access_key_id: Option<usize>,
    issuer_user_name: Option<usize>,
    source_ip: Option<usize>,
    user_agent: Option<usize>,
    error_code: Option<usize>,
    error_message: Option<usize>,
    console_login: Option<usize>,
    request_id: Option<usize>,
    resource_arn: Option<usize>,
    bucket: Option<usize>,
    object_key: Option<usize>,
    parameter_arn: Option<usize>,
    named: Option<(usize, &'static str)>,
}

impl Found {
    fn scan(attrs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Found {
        let mut found = Found::default();
        for (index, (key, value)) in attrs.iter().enumerate() {
            // An EventBridge event carries the CloudTrail record in its `detail`.
            let key = key.strip_prefix("detail.").unwrap_or(key);
            let slot = match key {
                "eventVersion" | "eventversion" => &mut found.event_version,
                "eventID" | "eventid" => &mut found.event_id,
                "eventName" | "eventname" => &mut found.event_name,
                "eventSource" | "eventsource" => &mut found.event_source,
                "eventTime" | "eventtime" => &mut found.event_time,
                "@timestamp" => &mut found.timestamp,
                "userIdentity.type" | "useridentity.type" => &mut found.identity_type,
                "userIdentity.userName" | "useridentity.userName" => &mut found.user_name,
                "userIdentity.arn" | "useridentity.arn" => &mut found.arn,
                "userIdentity.principalId" | "useridentity.principalId" => &mut found.principal_id,
                "userIdentity.invokedBy" | "useridentity.invokedBy" => &mut found.invoked_by,
                "userIdentity.accessKeyId" | "useridentity.accessKeyId" => &mut found.access_key_id,
                "userIdentity.sessionContext.sessionIssuer.userName" => &mut found.issuer_user_name,
                "sourceIPAddress" | "sourceipaddress" => &mut found.source_ip,
                "userAgent" | "useragent" => &mut found.user_agent,
                "errorCode" | "errorcode" => &mut found.error_code,
                "errorMessage" | "errormessage" => &mut found.error_message,
                "responseElements.ConsoleLogin" => &mut found.console_login,
                "requestID" | "requestid" => &mut found.request_id,
                "resources.0.ARN" | "resources.0.arn" => &mut found.resource_arn,
                "requestParameters.bucketName" => &mut found.bucket,
                "requestParameters.key" => &mut found.object_key,
                key => {
                    if found.identity.is_none()
                        && (key.starts_with("userIdentity.") || key.starts_with("useridentity."))
                    {
                        found.identity = Some(index);
                    }
                    if let Some(kind) = named_parameter(key) {
                        if found.named.is_none() && !value.is_empty() {
                            found.named = Some((index, kind));
                        }
                    } else if let Some(name) = key.strip_prefix("requestParameters.")
                        && !name.contains('.')
                        && (name.ends_with("Arn") || name.ends_with("ARN"))
                        && value.starts_with("arn:")
                        && found.parameter_arn.is_none()
                    {
                        found.parameter_arn = Some(index);
                    }
                    continue;
                }
            };
            if slot.is_none() {
                *slot = Some(index);
            }
        }
        found
    }

    /// Whether the record carries any field that marks a CloudTrail event.
    fn is_cloudtrail(&self) -> bool {
        self.event_version.is_some()
            || self.event_id.is_some()
            || self.event_name.is_some()
            || self.event_source.is_some()
            || self.event_time.is_some()
            || self.identity.is_some()
            || self.identity_type.is_some()
            || self.user_name.is_some()
            || self.arn.is_some()
    }
}

/// The part of `value` in `range`, borrowed when `value` is.
fn sub<'a>(value: &Cow<'a, str>, start: usize, end: usize) -> Option<Cow<'a, str>> {
    match value {
        Cow::Borrowed(text) => text.get(start..end).map(Cow::Borrowed),
        Cow::Owned(text) => text
            .get(start..end)
            .map(|part| Cow::Owned(part.to_string())),
    }
}

/// The user an ARN names: `<role>/<session>` of an assumed role, else its last segment.
fn user_from_arn<'a>(arn: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    const ASSUMED_ROLE: &str = ":assumed-role/";
    if let Some(at) = arn.find(ASSUMED_ROLE) {
        return sub(arn, at + ASSUMED_ROLE.len(), arn.len()).filter(|user| !user.is_empty());
    }
    let start = arn
        .rfind('/')
        .or_else(|| arn.rfind(':'))
        .map_or(0, |at| at + 1);
    sub(arn, start, arn.len()).filter(|user| !user.is_empty())
}

fn is_ip(text: &str) -> bool {
    super::ascii::is_ip_address(text)
}

/// One CloudTrail event from the JSON object `json`.
fn trail_event<'a>(aliases: &AliasTable, json: &'a str) -> Result<Event<'a>, ParseError> {
    if !json.trim_start().starts_with('{') {
        return Err(ParseError::malformed(
            NAME,
            "a CloudTrail record is a JSON object",
        ));
    }
    let mut event = Event::new(NAME);
    event.attrs.reserve(field_capacity(json));
    flatten_into(json, &mut event.attrs).map_err(|error| json_error(NAME, error))?;
    from_flattened(aliases, event)
}

/// The CloudTrail event of one record whose fields are already flattened into `event.attrs`
/// (format detection flattens a JSON record once and hands it here).
pub fn from_flattened<'a>(
    aliases: &AliasTable,
    mut event: Event<'a>,
) -> Result<Event<'a>, ParseError> {
    event.format = NAME;
    let found = Found::scan(&event.attrs);
    if !found.is_cloudtrail() {
        return Err(ParseError::invalid(
            NAME,
            "no eventName, eventSource, eventTime, eventID, eventVersion or userIdentity: not a CloudTrail record",
        ));
    }
    let value = |slot: Option<usize>| -> Option<Cow<'a, str>> {
        slot.and_then(|index| event.attrs.get(index))
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };

    let event_name = value(found.event_name);
    let event_source = value(found.event_source);
    let authentication = matches!(
        (event_source.as_deref(), event_name.as_deref()),
        (Some(source), Some(name)) if is_authentication(source, name)
    );
    let error_code = value(found.error_code);
    let console_failed = value(found.console_login).as_deref() == Some("Failure");
    let outcome = if error_code.is_some() || console_failed {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let denied = error_code.as_deref().is_some_and(|code| {
        code.contains("AccessDenied") || code.contains("Unauthorized") || code.contains("Forbidden")
    });
    let severity = if denied || console_failed {
        severity::MEDIUM
    } else if outcome == Outcome::Failure {
        severity::LOW
    } else {
        severity::INFORMATIONAL
    };

    let user = value(found.user_name)
        .or_else(|| value(found.arn).as_ref().and_then(user_from_arn))
        .or_else(|| value(found.issuer_user_name))
        .or_else(|| value(found.principal_id))
        .or_else(|| value(found.invoked_by));

    let resource = resource(&found, &value, event_source.as_ref());
    let time = [found.event_time, found.timestamp]
        .into_iter()
        .find_map(|slot| value(slot).and_then(|text| time::parse_rfc3339(&text)));
    let src_ip = value(found.source_ip).filter(|ip| is_ip(ip));
    let session_id = value(found.access_key_id).filter(|key| key.starts_with("ASIA"));
    let user_agent = value(found.user_agent);
    let request_id = value(found.request_id);
    let message = value(found.error_message);

    event.class = if authentication {
        Class::Authentication
    } else {
        Class::ApiActivity
    };
    event.activity = event_name;
    event.outcome = Some(outcome);
    event.severity = Some(severity);
    event.user = user;
    event.resource = resource;
    event.time = time;
    event.src_ip = src_ip;
    event.session_id = session_id;
    event.user_agent = user_agent;
    event.request_id = request_id;
    event.message = message;
    let had_src_ip = event.src_ip.is_some();
    aliases.apply(&mut event);
    if !had_src_ip && !event.src_ip.as_deref().is_some_and(is_ip) {
        // The default aliases name `sourceIPAddress`; a service name must not land in `src_ip`.
        event.src_ip = None;
    }
    Ok(event)
}

/// An S3 bucket's ARN up to the bucket name.
const S3_ARN_PREFIX: &str = "arn:aws:s3:::";

/// `parts` joined in one allocation of the exact size (`format!` goes through the formatting
/// machinery and grows its string as it writes).
fn concat<const N: usize>(parts: [&str; N]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        joined.push_str(part);
    }
    joined
}

/// The `resource` column (see the module docs for the order).
fn resource<'a>(
    found: &Found,
    value: &impl Fn(Option<usize>) -> Option<Cow<'a, str>>,
    event_source: Option<&Cow<'a, str>>,
) -> Option<Cow<'a, str>> {
    let bucket = value(found.bucket);
    if let Some(bucket) = &bucket
        && let Some(key) = value(found.object_key)
    {
        return Some(Cow::Owned(concat([S3_ARN_PREFIX, bucket, "/", &key])));
    }
    if let Some(arn) = value(found.resource_arn) {
        return Some(arn);
    }
    if let Some(bucket) = bucket {
        return Some(Cow::Owned(concat([S3_ARN_PREFIX, &bucket])));
    }
    if let Some(arn) = value(found.parameter_arn) {
        return Some(arn);
    }
    if let Some((index, kind)) = found.named
        && let Some(name) = value(Some(index))
    {
        if name.starts_with("arn:") || name.starts_with("https://") {
            return Some(name);
        }
        let service = event_source
            .and_then(|source| source.split('.').next())
            .filter(|service| !service.is_empty())
            .unwrap_or("aws");
        return Some(Cow::Owned(concat([service, ":", kind, "/", &name])));
    }
    event_source.cloned()
}

/// Finds the `"Records"` key; built once, as building a searcher costs more than a search.
static RECORDS_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"Records\""));

impl Parser for CloudTrailParser {
    fn parse<'a>(
        &mut self,
        record: &'a str,
        _context: &ParseContext,
        out: &mut Vec<Event<'a>>,
    ) -> Result<(), ParseError> {
        if RECORDS_KEY.find(record.as_bytes()).is_some() {
            let file: LogFile<'a> =
                serde_json::from_str(record).map_err(|error| json_error(NAME, error.into()))?;
            if let Some(records) = file.records {
                return element_events(records, |json| trail_event(&self.aliases, json), out);
            }
        }
        out.push(trail_event(&self.aliases, record)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(record: &str) -> Result<Vec<Event<'_>>, ParseError> {
        let mut out = Vec::new();
        CloudTrailParser::new(&ParserOptions::default()).parse(
            record,
            &ParseContext { reference_time: 0 },
            &mut out,
        )?;
        Ok(out)
    }

    fn one(record: &str) -> Event<'_> {
        let mut events = parse(record).expect("valid CloudTrail record");
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    #[test]
    fn iam_user_api_call_fills_columns() {
        let event = one(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionConfiguration20150331v2","awsRegion":"us-west-2","sourceIPAddress":"203.0.113.50","userAgent":"aws-cli/2.13.5","requestParameters":{"functionName":"production-api"},"responseElements":null,"requestID":"req-1","eventID":"ev-1","readOnly":false,"recipientAccountId":"123456789012"}"#,
        );
        assert_eq!(event.class, Class::ApiActivity);
        assert_eq!(
            event.activity.as_deref(),
            Some("UpdateFunctionConfiguration20150331v2")
        );
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("203.0.113.50"));
        assert_eq!(event.user_agent.as_deref(), Some("aws-cli/2.13.5"));
        assert_eq!(
            event.resource.as_deref(),
            Some("lambda:function/production-api")
        );
        assert_eq!(event.outcome, Some(Outcome::Success));
        assert_eq!(event.severity, Some(severity::INFORMATIONAL));
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(event.request_id.as_deref(), Some("req-1"));
        assert_eq!(event.session_id, None, "AKIA keys are long-term");
        assert_eq!(event.host, None);
        assert_eq!(event.attr("recipientAccountId"), Some("123456789012"));
        assert_eq!(event.attr("readOnly"), Some("false"));
    }

    #[test]
    fn assumed_role_user_is_role_and_session_and_temporary_key_is_the_session() {
        let event = one(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice@example.com","arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_ab12/alice@example.com","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","userName":"AWSReservedSSO_Admin_ab12"}}},"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"198.51.100.7","requestParameters":{"bucketName":"payroll","key":"2024/may.csv"},"resources":[{"ARN":"arn:aws:s3:::payroll"},{"ARN":"arn:aws:s3:::payroll/2024/may.csv"}]}"#,
        );
        assert_eq!(
            event.user.as_deref(),
            Some("AWSReservedSSO_Admin_ab12/alice@example.com")
        );
        assert_eq!(event.session_id.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(
            event.resource.as_deref(),
            Some("arn:aws:s3:::payroll/2024/may.csv")
        );
    }

    #[test]
    fn user_falls_back_through_arn_principal_and_invoking_service() {
        let user = |record: &'static str| one(record).user.map(Cow::into_owned);
        assert_eq!(
            user(
                r#"{"eventName":"X","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","principalId":"123456789012"}}"#
            ),
            Some("root".to_string())
        );
        assert_eq!(
            user(
                r#"{"eventName":"X","userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::123456789012:federated-user/bob"}}"#
            ),
            Some("bob".to_string())
        );
        assert_eq!(
            user(
                r#"{"eventName":"X","userIdentity":{"type":"AWSAccount","principalId":"AROAEXAMPLE:session"}}"#
            ),
            Some("AROAEXAMPLE:session".to_string())
        );
        assert_eq!(
            user(
                r#"{"eventName":"X","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}}"#
            ),
            Some("lambda.amazonaws.com".to_string())
        );
    }

    #[test]
    fn service_names_in_source_ip_stay_in_attrs() {
        let event = one(
            r#"{"eventName":"AssumeRole","eventSource":"sts.amazonaws.com","sourceIPAddress":"lambda.amazonaws.com","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},"requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/fn","roleSessionName":"s"}}"#,
        );
        assert_eq!(event.src_ip, None);
        assert_eq!(event.attr("sourceIPAddress"), Some("lambda.amazonaws.com"));
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(
            event.resource.as_deref(),
            Some("arn:aws:iam::123456789012:role/fn")
        );
        let event = one(r#"{"eventName":"X","sourceIPAddress":"AWS Internal"}"#);
        assert_eq!(event.src_ip, None);
        let event = one(r#"{"eventName":"X","sourceIPAddress":"2001:db8::1"}"#);
        assert_eq!(event.src_ip.as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn failed_console_login_is_a_medium_authentication_failure() {
        let event = one(
            r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"},"userIdentity":{"type":"IAMUser","userName":"alice"}}"#,
        );
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.severity, Some(severity::MEDIUM));
        assert_eq!(event.message.as_deref(), Some("Failed authentication"));
        assert_eq!(event.resource.as_deref(), Some("signin.amazonaws.com"));
        let event = one(
            r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"}}"#,
        );
        assert_eq!(event.outcome, Some(Outcome::Success));
    }

    #[test]
    fn error_codes_set_failure_and_severity() {
        let event = one(r#"{"eventName":"GetObject","errorCode":"AccessDenied"}"#);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.severity, Some(severity::MEDIUM));
        let event = one(r#"{"eventName":"DeleteBucket","errorCode":"BucketNotEmpty"}"#);
        assert_eq!(event.severity, Some(severity::LOW));
        let event =
            one(r#"{"eventName":"RunInstances","errorCode":"Client.UnauthorizedOperation"}"#);
        assert_eq!(event.severity, Some(severity::MEDIUM));
    }

    #[test]
    fn authentication_events_are_the_sign_ins_and_credential_issuers() {
        assert!(is_authentication("signin.amazonaws.com", "ConsoleLogin"));
        assert!(is_authentication("sts.amazonaws.com", "AssumeRoleWithSAML"));
        assert!(is_authentication("sts.amazonaws.com", "GetSessionToken"));
        assert!(!is_authentication("sts.amazonaws.com", "GetCallerIdentity"));
        assert!(!is_authentication("iam.amazonaws.com", "ConsoleLogin"));
    }

    #[test]
    fn log_file_yields_one_event_per_record_with_its_raw_text() {
        let record = r#"{"Records":[{"eventName":"A","eventSource":"ec2.amazonaws.com"}, {"eventName":"PutRecords","eventSource":"kinesis.amazonaws.com"}]}"#;
        let events = parse(record).expect("valid file");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].activity.as_deref(), Some("A"));
        assert_eq!(
            events[1].raw,
            Some(r#"{"eventName":"PutRecords","eventSource":"kinesis.amazonaws.com"}"#)
        );
        assert!(parse(r#"{"Records":[]}"#).expect("empty file").is_empty());
        let error = parse(r#"{"Records":[{"eventName":"A"}, {"nope":1}]}"#)
            .expect_err("second record is not CloudTrail");
        assert!(
            error.to_string().contains("not a CloudTrail record"),
            "{error}"
        );
    }

    #[test]
    fn single_record_mentioning_records_is_not_a_log_file() {
        let event = one(
            r#"{"eventName":"GetRecords","eventSource":"dynamodb.amazonaws.com","requestParameters":{"note":"\"Records\""}}"#,
        );
        assert_eq!(event.activity.as_deref(), Some("GetRecords"));
    }

    #[test]
    fn lower_case_field_names_are_read() {
        let event = one(
            r#"{"eventname":"GetRecords","eventsource":"dynamodb.amazonaws.com","eventtime":"2023-01-10 21:04:02","useridentity":{"arn":"arn:aws:iam::123456789012:user/carol"}}"#,
        );
        assert_eq!(event.activity.as_deref(), Some("GetRecords"));
        assert_eq!(event.user.as_deref(), Some("carol"));
        assert_eq!(event.time, time::parse_rfc3339("2023-01-10T21:04:02Z"));
    }

    #[test]
    fn eventbridge_events_are_read_through_their_detail() {
        let event = one(
            r#"{"version":"0","id":"6f87d04b","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":"123456789012","time":"2024-05-01T12:00:05Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"alice"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.7","responseElements":{"ConsoleLogin":"Failure"}}}"#,
        );
        assert_eq!(event.class, Class::Authentication);
        assert_eq!(event.outcome, Some(Outcome::Failure));
        assert_eq!(event.user.as_deref(), Some("alice"));
        assert_eq!(event.src_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(event.time, time::parse_rfc3339("2024-05-01T12:00:00Z"));
        assert_eq!(event.attr("detail.eventName"), Some("ConsoleLogin"));
    }

    #[test]
    fn shipper_timestamp_is_the_fallback_time() {
        let event = one(r#"{"eventName":"X","@timestamp":"2020-09-14T00:44:23.000Z"}"#);
        assert_eq!(event.time, time::parse_rfc3339("2020-09-14T00:44:23Z"));
    }

    #[test]
    fn records_that_are_not_cloudtrail_are_refused() {
        assert!(parse(r#"{"eventType":"logout"}"#).is_err());
        assert!(parse(r#"["eventName"]"#).is_err());
        assert!(parse(r#"{"eventName":"X""#).is_err());
        assert!(parse(r#"{"Records":{"eventName":"X"}}"#).is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,256}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_cloudtrail_like_json(
            name in ".{0,12}",
            arn in ".{0,40}",
            ip in ".{0,20}",
            file in proptest::bool::ANY,
        ) {
            let record = serde_json::json!({
                "eventName": name, "eventSource": "signin.amazonaws.com", "sourceIPAddress": ip,
                "userIdentity": {"arn": arn, "type": "AssumedRole"},
                "requestParameters": {"bucketName": name, "key": arn, "userName": ip},
            });
            let record = if file {
                serde_json::json!({"Records": [record]}).to_string()
            } else {
                record.to_string()
            };
            let _ = parse(&record);
        }
    }
}
