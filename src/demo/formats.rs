//! How each service of the simulated platform writes one log line: the nginx combined access
//! log, JSON application logs, sshd/sudo syslog, Kubernetes audit events and CloudTrail
//! records, in the shapes weft's parsers read (the same as `examples/logs/`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The AWS account of the simulated platform.
pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "eu-west-1";

fn utc(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// RFC 3339 with milliseconds (`2026-11-20T09:10:40.123Z`).
pub fn rfc3339_millis(micros: i64) -> String {
    utc(micros).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// RFC 3339 with seconds, as CloudTrail writes `eventTime`.
pub fn rfc3339_seconds(micros: i64) -> String {
    utc(micros).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One request through the gateway.
#[derive(Debug, Clone)]
pub struct AccessLine<'a> {
    pub time: i64,
    pub client_ip: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub referer: &'a str,
    pub user_agent: &'a str,
}

/// nginx combined log format.
pub fn nginx(line: &AccessLine<'_>) -> String {
    format!(
        "{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\"",
        line.client_ip,
        utc(line.time).format("%d/%b/%Y:%H:%M:%S +0000"),
        line.method,
        line.path,
        line.status,
        line.bytes,
        line.referer,
        line.user_agent
    )
}

/// One login, logout or token event of the auth service.
#[derive(Debug, Clone)]
pub struct AuthLine<'a> {
    pub time: i64,
    pub action: &'a str,
    pub success: bool,
    pub user: &'a str,
    pub client_ip: &'a str,
    pub session_id: Option<&'a str>,
    pub trace_id: &'a str,
    pub reason: Option<&'a str>,
}

/// The auth service's JSON line.
pub fn auth_json(line: &AuthLine<'_>) -> String {
    let (level, outcome) = if line.success {
        ("info", "success")
    } else {
        ("warn", "failure")
    };
    let message = match (line.action, line.success) {
        ("logon", true) => "login succeeded",
        ("logon", false) => "login failed",
        ("logout", _) => "logged out",
        ("mfa_push", true) => "push prompt approved",
        ("mfa_push", false) => "push prompt denied",
        _ => "token refreshed",
    };
    let mut record = Map::new();
    record.insert("ts".into(), rfc3339_millis(line.time).into());
    record.insert("level".into(), level.into());
    record.insert("service".into(), "auth".into());
    record.insert("msg".into(), message.into());
    record.insert("action".into(), line.action.into());
    record.insert("outcome".into(), outcome.into());
    record.insert("user".into(), line.user.into());
    record.insert("client_ip".into(), line.client_ip.into());
    if let Some(session) = line.session_id {
        record.insert("session_id".into(), session.into());
    }
    if let Some(reason) = line.reason {
        record.insert("reason".into(), reason.into());
    }
    record.insert("trace_id".into(), line.trace_id.into());
    Value::Object(record).to_string()
}

/// One request handled by a business service (orders, payments).
#[derive(Debug, Clone)]
pub struct AppLine<'a> {
    pub time: i64,
    pub service: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub user: &'a str,
    pub client_ip: &'a str,
    pub session_id: &'a str,
    pub trace_id: &'a str,
    pub span_id: &'a str,
    pub duration_ms: u64,
}

/// A business service's JSON line, with OpenTelemetry trace and span ids.
pub fn app_json(line: &AppLine<'_>) -> String {
    let severity = match line.status {
        500.. => "ERROR",
        400.. => "WARN",
        _ => "INFO",
    };
    json!({
        "timestamp": rfc3339_millis(line.time),
        "severity": severity,
        "service": line.service,
        "message": format!("{} {} {}", line.method, line.path, line.status),
        "http": {"method": line.method, "path": line.path, "status": line.status},
        "duration_ms": line.duration_ms,
        "user": line.user,
        "client_ip": line.client_ip,
        "session_id": line.session_id,
        "trace_id": line.trace_id,
        "span_id": line.span_id,
    })
    .to_string()
}

/// A syslog (RFC 3164) line of the bastion host: `program[pid]: message`, or `sudo: message`.
pub fn syslog(time: i64, program: &str, pid: Option<u32>, message: &str) -> String {
    let tag = match pid {
        Some(pid) => format!("{program}[{pid}]"),
        None => program.to_string(),
    };
    format!(
        "{} bastion {tag}: {message}",
        utc(time).format("%b %e %H:%M:%S")
    )
}

/// sudo's log line for `user` running `command` as `target`.
pub fn sudo(time: i64, user: &str, target: &str, command: &str) -> String {
    syslog(
        time,
        "sudo",
        None,
        &format!("  {user} : TTY=pts/0 ; PWD=/home/{user} ; USER={target} ; COMMAND={command}"),
    )
}

/// One request to the Kubernetes API server.
#[derive(Debug, Clone)]
pub struct AuditLine<'a> {
    pub time: i64,
    pub audit_id: &'a str,
    pub verb: &'a str,
    pub request_uri: &'a str,
    pub user: &'a str,
    pub groups: &'a [&'a str],
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub object_ref: Value,
    pub code: u16,
    pub request_object: Option<Value>,
}

/// The API server's audit event (stage ResponseComplete).
pub fn k8s_audit(line: &AuditLine<'_>) -> String {
    let mut record = Map::new();
    record.insert("kind".into(), "Event".into());
    record.insert("apiVersion".into(), "audit.k8s.io/v1".into());
    let level = if line.request_object.is_some() {
        "RequestResponse"
    } else {
        "Metadata"
    };
    record.insert("level".into(), level.into());
    record.insert("auditID".into(), line.audit_id.into());
    record.insert("stage".into(), "ResponseComplete".into());
    record.insert("requestURI".into(), line.request_uri.into());
    record.insert("verb".into(), line.verb.into());
    record.insert(
        "user".into(),
        json!({"username": line.user, "groups": line.groups}),
    );
    record.insert("sourceIPs".into(), json!([line.source_ip]));
    record.insert("userAgent".into(), line.user_agent.into());
    record.insert("objectRef".into(), line.object_ref.clone());
    record.insert(
        "responseStatus".into(),
        json!({"metadata": {}, "code": line.code}),
    );
    if let Some(object) = &line.request_object {
        record.insert("requestObject".into(), object.clone());
    }
    record.insert(
        "requestReceivedTimestamp".into(),
        rfc3339_millis(line.time).into(),
    );
    record.insert(
        "stageTimestamp".into(),
        rfc3339_millis(line.time + 40_000).into(),
    );
    let decision = if line.code == 403 { "forbid" } else { "allow" };
    record.insert(
        "annotations".into(),
        json!({"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""}),
    );
    Value::Object(record).to_string()
}

/// Who made an AWS API call.
#[derive(Debug, Clone)]
pub enum Caller<'a> {
    /// An IAM user with a long-term key (`AKIA...`).
    User { name: &'a str, access_key: &'a str },
    /// A session of an assumed role, with its temporary key (`ASIA...`).
    Role {
        role: &'a str,
        session: &'a str,
        access_key: &'a str,
    },
}

impl Caller<'_> {
    fn identity(&self) -> Value {
        match self {
            Caller::User { name, access_key } => json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", name.to_uppercase().replace('-', "")),
                "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
                "accountId": ACCOUNT,
                "accessKeyId": access_key,
                "userName": name,
            }),
            Caller::Role {
                role,
                session,
                access_key,
            } => json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{}:{session}", role.to_uppercase().replace('-', "")),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
                "accountId": ACCOUNT,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                        "accountId": ACCOUNT,
                        "userName": role,
                    },
                    "attributes": {"mfaAuthenticated": "false"},
                },
            }),
        }
    }
}

/// One CloudTrail record.
#[derive(Debug, Clone)]
pub struct TrailLine<'a> {
    pub time: i64,
    pub caller: Caller<'a>,
    pub event_source: &'a str,
    pub event_name: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub event_id: &'a str,
    pub read_only: bool,
    pub additional: Option<Value>,
}

/// CloudTrail's record, one per line.
pub fn cloudtrail(line: &TrailLine<'_>) -> String {
    let mut record = Map::new();
    record.insert("eventVersion".into(), "1.09".into());
    record.insert("userIdentity".into(), line.caller.identity());
    record.insert("eventTime".into(), rfc3339_seconds(line.time).into());
    record.insert("eventSource".into(), line.event_source.into());
    record.insert("eventName".into(), line.event_name.into());
    record.insert("awsRegion".into(), REGION.into());
    record.insert("sourceIPAddress".into(), line.source_ip.into());
    record.insert("userAgent".into(), line.user_agent.into());
    record.insert("requestParameters".into(), line.request_parameters.clone());
    record.insert("responseElements".into(), line.response_elements.clone());
    if let Some(additional) = &line.additional {
        record.insert("additionalEventData".into(), additional.clone());
    }
    record.insert("requestID".into(), line.event_id.into());
    record.insert("eventID".into(), line.event_id.into());
    record.insert("readOnly".into(), line.read_only.into());
    record.insert("eventType".into(), "AwsApiCall".into());
    record.insert("managementEvent".into(), true.into());
    record.insert("recipientAccountId".into(), ACCOUNT.into());
    Value::Object(record).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-20T09:10:40.250Z
    const TIME: i64 = 1_795_165_840_250_000;

    #[test]
    fn nginx_line_is_combined_format() {
        let line = nginx(&AccessLine {
            time: TIME,
            client_ip: "198.51.100.7",
            method: "GET",
            path: "/api/v1/orders",
            status: 200,
            bytes: 512,
            referer: "-",
            user_agent: "curl/8.5.0",
        });
        assert_eq!(
            line,
            "198.51.100.7 - - [20/Nov/2026:09:10:40 +0000] \"GET /api/v1/orders HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\""
        );
    }

    #[test]
    fn syslog_pads_the_day_like_rfc3164() {
        let day_one = TIME - 19 * 86_400_000_000;
        assert_eq!(
            syslog(day_one, "sshd", Some(42), "x"),
            "Nov  1 09:10:40 bastion sshd[42]: x"
        );
    }
}
