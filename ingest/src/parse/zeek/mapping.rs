//! Which schema columns a Zeek log fills, by its path (`#path` in TSV, `_path` in JSON).
//!
//! Every log: `time` = `ts` (epoch seconds, or ISO 8601 in JSON), `session_id` = `uid` (the
//! connection uid that joins a connection's logs), `src_ip`/`src_port` = `id.orig_h`/`id.orig_p`,
//! `dst_ip`/`dst_port` = `id.resp_h`/`id.resp_p`; the class is `network_activity` when the log
//! names an endpoint, else `other`. Then, per path:
//!
//! | path | class | activity | outcome | other columns |
//! | --- | --- | --- | --- | --- |
//! | conn | network_activity | from `conn_state` (OCSF: open, close, reset, fail, refuse, traffic) | from `conn_state` | |
//! | dns | dns_activity | `query` | `rcode_name` NOERROR = success, else failure | resource = `query` |
//! | http | http_activity | | from `status_code` | http_method, url = `host` + `uri`, http_status, user_agent, user = `username` |
//! | ssh | authentication | `logon` | `auth_success` | |
//! | kerberos | authentication | `authentication_ticket` (AS) / `service_ticket_request` (TGS) | `success` | user = `client`, resource = `service`, message = `error_msg` |
//! | ntlm | authentication | `logon` | `success` | user = `username` |
//! | radius | authentication | `logon` | `result` | user = `username` |
//! | ssl | network_activity | `open` / `fail` by `established` | `established` | resource = `server_name` |
//! | rdp | network_activity | | | user = `cookie` |
//! | ftp | network_activity | `command` | `reply_code` (1xx-3xx success) | user, resource = `arg`, message = `reply_msg` |
//! | smtp, sip | network_activity | | | user_agent |
//! | dce_rpc | network_activity | `operation` | | resource = `endpoint` |
//! | smb_mapping | network_activity | | | resource = `path` |
//! | files | file_activity | | | resource = `filename` (else `fuid`), session_id = `conn_uids.0` when no `uid` |
//! | smb_files | file_activity | from `action` (`SMB::FILE_OPEN` = `open`) | | resource = `path` + `name` |
//! | notice | other | `note` | | message = `msg`, src/dst/dst_port from `src`/`dst`/`p` when no `id.*` |
//! | weird | other | | | message = `name` |
//! | x509 | other | | | resource = `certificate.subject` |
//! | syslog | network_activity | | | message = `message`, severity from `severity` |
//! | analyzer, dpd | network_activity | | | message = `failure_reason` |
//!
//! Zeek field names are not run through the alias table: they are well defined, and several
//! would be misread by generic aliases (`host` is the HTTP Host header, `service` the detected
//! protocol, `path` an SMB share).

use std::borrow::Cow;

use crate::event::{Class, Event, Outcome, fill};
use crate::parse::alias::{Column, outcome_from_text, set_column, severity_from_text};
use crate::time;

/// The value of a field, sharing the event's storage.
fn value<'a>(event: &Event<'a>, key: &str) -> Option<Cow<'a, str>> {
    event
        .attrs
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.clone())
}

fn has(event: &Event<'_>, key: &str) -> bool {
    event.attrs.iter().any(|(name, _)| name == key)
}

/// Zeek booleans: `T`/`F` in TSV, `true`/`false` in JSON.
fn boolean(event: &Event<'_>, key: &str) -> Option<bool> {
    match event.attr(key)? {
        "T" | "true" => Some(true),
        "F" | "false" => Some(false),
        _ => None,
    }
}

fn port(event: &Event<'_>, key: &str) -> Option<i32> {
    event.attr(key)?.trim().parse().ok()
}

fn set<'a>(slot: &mut Option<Cow<'a, str>>, value: Option<Cow<'a, str>>) {
    if let Some(value) = value {
        fill(slot, value);
    }
}

/// The path of a JSON record without `_path`, guessed from fields only that log has.
pub fn infer_path(event: &Event<'_>) -> Option<&'static str> {
    let has = |key: &str| has(event, key);
    let path = if has("note") {
        "notice"
    } else if has("certificate.subject") {
        "x509"
    } else if has("conn_state") {
        "conn"
    } else if has("qtype_name") || has("rcode_name") || (has("query") && has("trans_id")) {
        "dns"
    } else if has("auth_success") {
        "ssh"
    } else if has("call_id") {
        "sip"
    } else if has("method") && has("uri") {
        "http"
    } else if has("ssl_history") || has("cert_chain_fps") || has("cert_chain_fuids") {
        "ssl"
    } else if has("request_type") && has("client") {
        "kerberos"
    } else if has("addl") || (has("name") && has("notice") && has("peer")) {
        "weird"
    } else if has("fuid") && (has("analyzers") || has("seen_bytes") || has("total_bytes")) {
        "files"
    } else {
        return None;
    };
    Some(path)
}

/// Fills the event's columns from its `attrs` as the log `path` defines them.
pub fn apply(path: Option<&str>, event: &mut Event<'_>) {
    if let Some(ts) = event.attr("ts") {
        event.time = time::parse_epoch(ts).or_else(|| time::parse_rfc3339(ts));
    }
    let uid = value(event, "uid");
    set(&mut event.session_id, uid);
    let src_ip = value(event, "id.orig_h");
    set(&mut event.src_ip, src_ip);
    let dst_ip = value(event, "id.resp_h");
    set(&mut event.dst_ip, dst_ip);
    event.src_port = port(event, "id.orig_p");
    event.dst_port = port(event, "id.resp_p");
    event.class = if event.src_ip.is_some() || event.dst_ip.is_some() {
        Class::NetworkActivity
    } else {
        Class::Other
    };
    match path.unwrap_or_default() {
        "conn" => conn(event),
        "dns" => dns(event),
        "http" => http(event),
        "ssh" => {
            event.class = Class::Authentication;
            event.activity = Some(Cow::Borrowed("logon"));
            event.outcome = Some(outcome_of(boolean(event, "auth_success")));
        }
        "kerberos" => kerberos(event),
        "ntlm" => {
            event.class = Class::Authentication;
            event.activity = Some(Cow::Borrowed("logon"));
            let user = value(event, "username");
            set(&mut event.user, user);
            event.outcome = Some(outcome_of(boolean(event, "success")));
        }
        "radius" => {
            event.class = Class::Authentication;
            event.activity = Some(Cow::Borrowed("logon"));
            let user = value(event, "username");
            set(&mut event.user, user);
            event.outcome = Some(
                event
                    .attr("result")
                    .and_then(outcome_from_text)
                    .unwrap_or(Outcome::Unknown),
            );
        }
        "ssl" => {
            let established = boolean(event, "established");
            if let Some(established) = established {
                event.activity = Some(Cow::Borrowed(if established { "open" } else { "fail" }));
            }
            event.outcome = established.map(|established| outcome_of(Some(established)));
            let server_name = value(event, "server_name");
            set(&mut event.resource, server_name);
        }
        "rdp" => {
            let cookie = value(event, "cookie");
            set(&mut event.user, cookie);
        }
        "ftp" => ftp(event),
        "smtp" | "sip" => {
            let user_agent = value(event, "user_agent");
            set(&mut event.user_agent, user_agent);
        }
        "dce_rpc" => {
            let operation = value(event, "operation");
            set(&mut event.activity, operation);
            let endpoint = value(event, "endpoint");
            set(&mut event.resource, endpoint);
        }
        "smb_mapping" => {
            let share = value(event, "path");
            set(&mut event.resource, share);
        }
        "files" => {
            event.class = Class::FileActivity;
            let file = value(event, "filename").or_else(|| value(event, "fuid"));
            set(&mut event.resource, file);
            let conn_uid = value(event, "conn_uids.0");
            set(&mut event.session_id, conn_uid);
        }
        "smb_files" => smb_files(event),
        "notice" => notice(event),
        "weird" => {
            event.class = Class::Other;
            let name = value(event, "name");
            set(&mut event.message, name);
        }
        "x509" => {
            event.class = Class::Other;
            let subject = value(event, "certificate.subject");
            set(&mut event.resource, subject);
        }
        "syslog" => {
            let message = value(event, "message");
            set(&mut event.message, message);
            event.severity = event.attr("severity").and_then(severity_from_text);
        }
        "analyzer" | "dpd" => {
            let reason = value(event, "failure_reason");
            set(&mut event.message, reason);
        }
        _ => {}
    }
}

fn outcome_of(success: Option<bool>) -> Outcome {
    match success {
        Some(true) => Outcome::Success,
        Some(false) => Outcome::Failure,
        None => Outcome::Unknown,
    }
}

/// conn: OCSF network activity from Zeek's connection state (TCP only; other protocols have
/// no handshake to judge, so they are `traffic`).
fn conn(event: &mut Event<'_>) {
    let is_tcp = event.attr("proto") == Some("tcp");
    let (activity, outcome) = match event.attr("conn_state") {
        _ if !is_tcp => ("traffic", None),
        // Established and closed normally, or a close seen from one side.
        Some("SF" | "S2" | "S3") => ("close", Some(Outcome::Success)),
        Some("S1") => ("open", Some(Outcome::Success)),
        Some("REJ") => ("refuse", Some(Outcome::Failure)),
        // A SYN answered by nothing, or abandoned before the handshake completed.
        Some("S0" | "SH" | "RSTOS0") => ("fail", Some(Outcome::Failure)),
        Some("RSTO" | "RSTR" | "RSTRH") => ("reset", None),
        _ => ("traffic", None),
    };
    event.activity = Some(Cow::Borrowed(activity));
    event.outcome = outcome;
}

fn dns(event: &mut Event<'_>) {
    event.class = Class::DnsActivity;
    event.activity = Some(Cow::Borrowed("query"));
    let query = value(event, "query");
    set(&mut event.resource, query);
    event.outcome = match (event.attr("rcode_name"), boolean(event, "rejected")) {
        (_, Some(true)) => Some(Outcome::Failure),
        (Some("NOERROR"), _) => Some(Outcome::Success),
        (Some(_), _) => Some(Outcome::Failure),
        (None, _) => None,
    };
}

fn http(event: &mut Event<'_>) {
    event.class = Class::HttpActivity;
    if let Some(method) = value(event, "method") {
        set_column(event, Column::HttpMethod, method);
    }
    // Zeek's own HTTP::build_url: the Host header followed by the URI.
    let url = match (value(event, "host"), value(event, "uri")) {
        (Some(host), Some(uri)) if uri.starts_with('/') => Some(Cow::Owned(format!("{host}{uri}"))),
        (_, uri) => uri,
    };
    set(&mut event.url, url);
    event.http_status = port(event, "status_code");
    event.outcome = event.http_status.map(Outcome::from_http_status);
    let user_agent = value(event, "user_agent");
    set(&mut event.user_agent, user_agent);
    let user = value(event, "username");
    set(&mut event.user, user);
}

fn kerberos(event: &mut Event<'_>) {
    event.class = Class::Authentication;
    event.activity = match event.attr("request_type") {
        Some("AS") => Some(Cow::Borrowed("authentication_ticket")),
        Some("TGS") => Some(Cow::Borrowed("service_ticket_request")),
        _ => None,
    };
    event.outcome = Some(outcome_of(boolean(event, "success")));
    let client = value(event, "client");
    set(&mut event.user, client);
    let service = value(event, "service");
    set(&mut event.resource, service);
    let error = value(event, "error_msg");
    set(&mut event.message, error);
}

fn ftp(event: &mut Event<'_>) {
    let command = value(event, "command");
    set(&mut event.activity, command);
    let user = value(event, "user");
    set(&mut event.user, user);
    let argument = value(event, "arg");
    set(&mut event.resource, argument);
    let reply = value(event, "reply_msg");
    set(&mut event.message, reply);
    // FTP reply codes (RFC 959 section 4.2): 1yz-3yz positive, 4yz-5yz negative.
    event.outcome = port(event, "reply_code").map(Outcome::from_http_status);
}

fn smb_files(event: &mut Event<'_>) {
    event.class = Class::FileActivity;
    if let Some(action) = event.attr("action") {
        let verb = action.strip_prefix("SMB::FILE_").unwrap_or(action);
        event.activity = Some(Cow::Owned(verb.to_ascii_lowercase()));
    }
    let resource = match (value(event, "path"), value(event, "name")) {
        (Some(share), Some(name)) => {
            let separator = if name.starts_with('\\') { "" } else { "\\" };
            Some(Cow::Owned(format!("{share}{separator}{name}")))
        }
        (share, name) => name.or(share),
    };
    set(&mut event.resource, resource);
}

fn notice(event: &mut Event<'_>) {
    event.class = Class::Other;
    let note = value(event, "note");
    set(&mut event.activity, note);
    let message = value(event, "msg");
    set(&mut event.message, message);
    let src = value(event, "src");
    set(&mut event.src_ip, src);
    let dst = value(event, "dst");
    set(&mut event.dst_ip, dst);
    if event.dst_port.is_none() {
        event.dst_port = port(event, "p");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attrs: &[(&'static str, &'static str)]) -> Event<'static> {
        let mut event = Event::new("zeek");
        event.attrs = attrs
            .iter()
            .map(|(key, value)| (Cow::Borrowed(*key), Cow::Borrowed(*value)))
            .collect();
        event
    }

    #[test]
    fn conn_states_map_to_ocsf_activities() {
        let cases = [
            ("SF", "close", Some(Outcome::Success)),
            ("S0", "fail", Some(Outcome::Failure)),
            ("REJ", "refuse", Some(Outcome::Failure)),
            ("RSTO", "reset", None),
            ("OTH", "traffic", None),
        ];
        for (state, activity, outcome) in cases {
            let mut conn = event(&[("proto", "tcp"), ("conn_state", state)]);
            apply(Some("conn"), &mut conn);
            assert_eq!(conn.activity.as_deref(), Some(activity), "{state}");
            assert_eq!(conn.outcome, outcome, "{state}");
        }
        let mut udp = event(&[("proto", "udp"), ("conn_state", "S0")]);
        apply(Some("conn"), &mut udp);
        assert_eq!(udp.activity.as_deref(), Some("traffic"));
        assert_eq!(udp.outcome, None);
    }

    #[test]
    fn http_url_is_host_and_uri() {
        let mut http = event(&[
            ("method", "get"),
            ("host", "example.com"),
            ("uri", "/a?b=c"),
            ("status_code", "404"),
        ]);
        apply(Some("http"), &mut http);
        assert_eq!(http.url.as_deref(), Some("example.com/a?b=c"));
        assert_eq!(http.http_method.as_deref(), Some("GET"));
        assert_eq!(http.outcome, Some(Outcome::Failure));
        let mut proxy = event(&[("host", "example.com"), ("uri", "http://other/")]);
        apply(Some("http"), &mut proxy);
        assert_eq!(proxy.url.as_deref(), Some("http://other/"));
    }

    #[test]
    fn dns_outcome_follows_rcode() {
        let mut answered = event(&[("query", "example.com"), ("rcode_name", "NOERROR")]);
        apply(Some("dns"), &mut answered);
        assert_eq!(answered.outcome, Some(Outcome::Success));
        assert_eq!(answered.resource.as_deref(), Some("example.com"));
        let mut missing = event(&[("query", "nope.example"), ("rcode_name", "NXDOMAIN")]);
        apply(Some("dns"), &mut missing);
        assert_eq!(missing.outcome, Some(Outcome::Failure));
    }

    #[test]
    fn smb_file_actions_become_verbs() {
        let mut file = event(&[
            ("action", "SMB::FILE_OPEN"),
            ("path", r"\\srv\C$"),
            ("name", "x.exe"),
        ]);
        apply(Some("smb_files"), &mut file);
        assert_eq!(file.activity.as_deref(), Some("open"));
        assert_eq!(file.resource.as_deref(), Some(r"\\srv\C$\x.exe"));
        assert_eq!(file.class, Class::FileActivity);
    }

    #[test]
    fn paths_are_inferred_from_marker_fields() {
        assert_eq!(infer_path(&event(&[("conn_state", "SF")])), Some("conn"));
        assert_eq!(
            infer_path(&event(&[("method", "GET"), ("uri", "/")])),
            Some("http")
        );
        assert_eq!(
            infer_path(&event(&[("note", "x"), ("fuid", "F")])),
            Some("notice")
        );
        assert_eq!(infer_path(&event(&[("anything", "x")])), None);
    }
}
