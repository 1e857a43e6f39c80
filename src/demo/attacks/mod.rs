//! The attacks woven into the demo's traffic. Each chain crosses at least three services and
//! is linked by what an analyst would pivot on (an address, an account, a session, a key), so
//! that weft's rule pack turns each into exactly one incident:
//!
//! - **account takeover** (`account_takeover.rs`): credential stuffing at the gateway and the
//!   auth service, one account taken over, its session replayed from a second address on
//!   orders and payments, a shell in a payments pod, the namespace's secrets read, and the pod
//!   role's temporary AWS key used from outside to read many secrets and download exports;
//! - **bastion takeover** (`bastion_takeover.rs`): SSH brute force on the bastion, the
//!   `deploy` account broken into, a root shell through sudo, cluster-admin granted and a pod
//!   exec in the cluster, then the account's AWS key reading many secrets from the bastion;
//! - **cloud key abuse** (`cloud_key_abuse.rs`): a scanner finds a service user's long-term
//!   key behind the gateway, creates a key for another user, attaches AdministratorAccess,
//!   stops CloudTrail logging, reads many secrets, then lists the cluster's secrets;
//! - **session hijack** (`session_hijack.rs`): a shopper's session token replayed from
//!   another address, order ids enumerated through the gateway, saved payment methods read;
//! - **MFA fatigue** (`mfa_fatigue.rs`): an engineer's password known, push prompts until
//!   one is approved, then a privileged pod with the host's filesystem and cluster-admin in
//!   the cluster and a backdoor key in AWS.
//!
//! Plus, in the demo only, one true alert that is benign (an engineer's `kubectl exec` while
//! debugging), and, while the demo runs live, a gateway probe every few minutes.

mod account_takeover;
mod bastion_takeover;
mod cloud_key_abuse;
mod mfa_fatigue;
mod session_hijack;

use serde_json::json;
use weft_correlate::record::Entity;

use super::formats::{self, AuditLine, Caller, TrailLine};
use super::logs::{Service, Timeline};
use super::platform::Platform;
use super::rng::DemoRng;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const ATTACK_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0";
const BASTION_IP: &str = "10.20.0.15";
const SECRETS: [&str; 12] = [
    "prod/payments/db",
    "prod/payments/stripe-api-key",
    "prod/payments/webhook-secret",
    "prod/orders/db",
    "prod/orders/s3-signing",
    "prod/auth/jwt-signing-key",
    "prod/auth/oauth-client",
    "prod/shared/smtp",
    "prod/shared/datadog-api-key",
    "prod/shared/slack-webhook",
    "prod/reporting/warehouse",
    "prod/ci/registry-token",
];
const PROBED_PATHS: [&str; 25] = [
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/wp-admin/",
    "/phpmyadmin/",
    "/admin.php",
    "/config.json",
    "/backup.zip",
    "/.aws/credentials",
    "/server-status",
    "/actuator/env",
    "/actuator/heapdump",
    "/api/v1/debug",
    "/console",
    "/.DS_Store",
    "/db.sql",
    "/api/swagger.json",
    "/v2/api-docs",
    "/graphql",
    "/solr/admin",
    "/jenkins/script",
    "/cgi-bin/luci",
    "/HNAP1/",
    "/boaform/admin",
    "/.well-known/security.txt.bak",
];

/// What was woven in, for the demo's summary.
#[derive(Debug, Clone)]
pub struct Woven {
    pub name: &'static str,
    pub time: i64,
    /// What an attack chain's incident must show; `None` for a benign event.
    pub expected: Option<Expected>,
}

/// The incident an attack chain must become: the services it spans and the entities an
/// analyst pivots on, and every user, address, session and host the chain's events carry
/// (the incident may carry no other: no benign entity pulled in).
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// A short name: `account takeover`.
    pub chain: &'static str,
    pub services: Vec<&'static str>,
    /// Entities the incident must carry.
    pub entities: Vec<Entity>,
    /// Entities the incident may carry besides `entities`.
    pub allowed: Vec<Entity>,
}

impl Expected {
    fn new(chain: &'static str, services: &[&'static str]) -> Expected {
        Expected {
            chain,
            services: services.to_vec(),
            ..Expected::default()
        }
    }

    /// An entity the incident must carry.
    fn expect(&mut self, kind: &str, value: &str) {
        self.entities.push(Entity::new(kind, value));
    }

    /// An entity of the chain's events the incident may carry.
    fn allow(&mut self, kind: &str, value: &str) {
        self.allowed.push(Entity::new(kind, value));
    }

    /// Whether the incident may carry `entity`.
    pub fn admits(&self, entity: &Entity) -> bool {
        self.entities.contains(entity) || self.allowed.contains(entity)
    }
}

/// What to weave into the history besides the benign traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weave {
    /// The five attack chains.
    pub chains: bool,
    /// The demo's benign true alert (an engineer's `kubectl exec` at 10:30 UTC).
    pub debugging_exec: bool,
}

impl Weave {
    /// The demo's history: every chain and the debugging exec.
    pub const DEMO: Weave = Weave {
        chains: true,
        debugging_exec: true,
    };
}

/// Schedules the attack chains (and the demo's benign exec) between `start` and `end`. The
/// chains are spread evenly over the span, in an order fixed by the seed's draws only.
pub fn weave(
    platform: &mut Platform,
    rng: &mut DemoRng,
    span: (i64, i64),
    what: Weave,
    timeline: &mut Timeline,
) -> Vec<Woven> {
    let (start, end) = span;
    let length = end - start;
    let at = |rng: &mut DemoRng, share: f64| {
        start + (length as f64 * share) as i64 + rng.between(-20, 20) * MINUTE
    };
    let mut woven = Vec::new();
    if what.chains {
        let time = at(rng, 0.08);
        let expected = bastion_takeover::weave(rng, time, timeline);
        woven.push(Woven {
            name: "bastion takeover: ssh brute force, root shell, cluster-admin, secrets read with its AWS key",
            time,
            expected: Some(expected),
        });
        let time = at(rng, 0.26);
        let expected = session_hijack::weave(platform, rng, time, timeline);
        woven.push(Woven {
            name: "session hijack: a shopper's session replayed, order ids enumerated, payment methods read",
            time,
            expected: Some(expected),
        });
        let time = at(rng, 0.44);
        let expected = account_takeover::weave(platform, rng, time, timeline);
        woven.push(Woven {
            name: "account takeover: credential stuffing, session replay, pod exec, secrets, key abuse",
            time,
            expected: Some(expected),
        });
        let time = at(rng, 0.62);
        let expected = mfa_fatigue::weave(platform, rng, time, timeline);
        woven.push(Woven {
            name: "mfa fatigue: push prompts until approved, privileged host pod, cluster-admin, backdoor key",
            time,
            expected: Some(expected),
        });
        let time = at(rng, 0.80);
        let expected = cloud_key_abuse::weave(platform, rng, time, timeline);
        woven.push(Woven {
            name: "cloud key abuse: key found behind the gateway, admin policy, logging stopped, cluster secrets",
            time,
            expected: Some(expected),
        });
    }
    if what.debugging_exec {
        // An engineer debugging a pod at 10:30 UTC.
        let mut time = end.div_euclid(DAY) * DAY + 10 * HOUR + 30 * MINUTE;
        if time >= end {
            time -= DAY;
        }
        if time >= start {
            debugging_exec(rng, time, timeline);
            woven.push(Woven {
                name: "benign: an engineer's kubectl exec while debugging",
                time,
                expected: None,
            });
        }
    }
    woven
}

fn address(prefix: &str, rng: &mut DemoRng, low: u64, high: u64) -> String {
    format!("{prefix}.{}", low + rng.below(high - low))
}

/// One audit event of a request to the API server, as the attacker made it.
#[allow(clippy::too_many_arguments)] // the fields of the record
fn audit(
    rng: &mut DemoRng,
    time: i64,
    user: &str,
    source_ip: &str,
    verb: &str,
    uri: &str,
    object_ref: serde_json::Value,
    code: u16,
    request_object: Option<serde_json::Value>,
    timeline: &mut Timeline,
) {
    let audit_id = rng.uuid();
    let line = formats::k8s_audit(&AuditLine {
        time,
        audit_id: &audit_id,
        verb,
        request_uri: uri,
        user,
        groups: &["system:authenticated"],
        source_ip,
        user_agent: "kubectl/v1.29.2",
        object_ref,
        code,
        request_object,
    });
    timeline.push(time, Service::ClusterAudit, line);
}

fn pod_exec(
    rng: &mut DemoRng,
    time: i64,
    user: &str,
    source_ip: &str,
    namespace: &str,
    pod: &str,
    timeline: &mut Timeline,
) {
    let uri = format!(
        "/api/v1/namespaces/{namespace}/pods/{pod}/exec?command=%2Fbin%2Fsh&container=app&stdin=true&tty=true"
    );
    let object = json!({"resource": "pods", "namespace": namespace, "name": pod, "subresource": "exec", "apiVersion": "v1"});
    audit(
        rng, time, user, source_ip, "create", &uri, object, 101, None, timeline,
    );
}

/// One CloudTrail record of a call the attacker made.
#[allow(clippy::too_many_arguments)] // the fields of the record
fn trail(
    rng: &mut DemoRng,
    time: i64,
    caller: Caller<'_>,
    source_ip: &str,
    call: (&str, &str),
    request_parameters: serde_json::Value,
    response_elements: serde_json::Value,
    timeline: &mut Timeline,
) {
    let event_id = rng.uuid();
    let (event_source, event_name) = call;
    let read_only = event_name.starts_with("Get") || event_name.starts_with("List");
    let line = formats::cloudtrail(&TrailLine {
        time,
        caller,
        event_source,
        event_name,
        source_ip,
        user_agent: ATTACK_CLI,
        request_parameters,
        response_elements,
        event_id: &event_id,
        read_only,
        additional: None,
    });
    timeline.push(time, Service::Cloudtrail, line);
}

/// An engineer opening a shell in an orders pod from the VPN (a real alert, benign).
fn debugging_exec(rng: &mut DemoRng, time: i64, timeline: &mut Timeline) {
    let engineer = "tomasz";
    pod_exec(
        rng,
        time,
        engineer,
        &Platform::staff_ip(engineer),
        "orders",
        "orders-5c8b7d-m4zt",
        timeline,
    );
}

/// A scanner probing the gateway from a fresh address (the `index`-th probe): paths that do
/// not exist, then the admin API without credentials.
pub fn gateway_probe(platform: &mut Platform, index: u64, start: i64, timeline: &mut Timeline) {
    let ip = format!("198.19.{}.{}", (index / 250) % 250, 1 + index % 250);
    let agent = "zgrab/0.x";
    let mut time = start;
    for path in PROBED_PATHS {
        time += 700_000;
        platform.gateway(time, &ip, "GET", path, 404, agent, timeline);
    }
    for _ in 0..22 {
        time += 900_000;
        platform.gateway(
            time,
            &ip,
            "GET",
            "/api/v1/admin/users",
            401,
            agent,
            timeline,
        );
    }
}
