//! The attacks woven into the demo's traffic. Each chain crosses several services and is
//! linked by what an analyst would pivot on (an address, an account, a session, a key), so
//! that weft's rule pack turns each into exactly one incident:
//!
//! - **account takeover**: credential stuffing at the gateway and the auth service, one
//!   account taken over, its session replayed from a second address on orders and payments,
//!   a shell in a payments pod, the namespace's secrets read, and the pod role's temporary
//!   AWS key used from outside to read many secrets and download customer exports;
//! - **bastion takeover**: SSH brute force on the bastion, the `deploy` account broken into,
//!   a root shell through sudo, then cluster-admin granted and a pod exec in the cluster;
//! - **cloud key abuse**: a leaked long-term key of a service user creates a key for another
//!   user, attaches AdministratorAccess, stops CloudTrail logging and reads many secrets.
//!
//! Plus one false positive that a real day has (an engineer's `kubectl exec` while
//! debugging), and, while the demo runs live, a gateway probe every few minutes.

use serde_json::json;

use super::formats::{self, AuditLine, Caller, TrailLine};
use super::logs::{Service, Timeline};
use super::platform::{Customer, PAYMENTS_POD, PAYMENTS_ROLE, Platform, REPORTING_KEY};
use super::rng::DemoRng;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const ATTACK_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0";
const BASTION_IP: &str = "10.20.0.15";
/// Accounts the credential stuffing list tries before one works.
const STUFFED: [&str; 8] = [
    "j.smith", "m.lee", "test", "support", "k.tanaka", "o.brien", "p.novak", "info",
];
/// Accounts the SSH brute force tries, in order (`deploy` is the one that falls).
const SSH_GUESSES: [&str; 6] = ["root", "deploy", "ubuntu", "root", "git", "deploy"];
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
}

/// Schedules the day's attack chains (and its false positive) between `start` and `end`.
pub fn weave_day(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    end: i64,
    timeline: &mut Timeline,
) -> Vec<Woven> {
    let span = end - start;
    let at = |rng: &mut DemoRng, share: f64| {
        start + (span as f64 * share) as i64 + rng.between(-20, 20) * MINUTE
    };
    let mut woven = Vec::new();
    let time = at(rng, 0.15);
    bastion_takeover(rng, time, timeline);
    woven.push(Woven {
        name: "bastion takeover: ssh brute force, root shell, cluster-admin",
        time,
    });
    let time = at(rng, 0.58);
    account_takeover(platform, rng, time, timeline);
    woven.push(Woven {
        name: "account takeover: credential stuffing, session replay, pod exec, secrets, key abuse",
        time,
    });
    let time = at(rng, 0.82);
    cloud_key_abuse(rng, time, timeline);
    woven.push(Woven {
        name: "cloud key abuse: access key for another user, admin policy, logging stopped",
        time,
    });
    // The false positive: an engineer debugging a pod at 10:30 UTC.
    let mut time = end.div_euclid(DAY) * DAY + 10 * HOUR + 30 * MINUTE;
    if time >= end {
        time -= DAY;
    }
    if time >= start {
        debugging_exec(rng, time, timeline);
        woven.push(Woven {
            name: "benign: an engineer's kubectl exec while debugging",
            time,
        });
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

/// Credential stuffing → takeover → session replay → pod exec → secrets → key abuse.
fn account_takeover(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    timeline: &mut Timeline,
) {
    let stuffer = address("203.0.113", rng, 20, 120);
    let replayer = address("192.0.2", rng, 10, 120);
    let victim = "priya";
    let bot = Customer {
        name: victim.to_string(),
        ip: stuffer.clone(),
        user_agent: "python-requests/2.31.0",
    };
    let mut time = start;
    for attempt in 0..24 {
        time += rng.between(1, 2) * SECOND;
        let guess = Customer {
            name: STUFFED[attempt % STUFFED.len()].to_string(),
            ..bot.clone()
        };
        platform.login(time, &guess, None, timeline);
    }
    let session = format!("sess-{}", rng.hex(12));
    time += 6 * SECOND;
    platform.login(time, &bot, Some(&session), timeline);
    for page in 1..=3 {
        time += rng.between(20, 40) * SECOND;
        platform.app_request(
            time,
            Service::Orders,
            "GET",
            &format!("/orders?page={page}"),
            200,
            &bot,
            &session,
            timeline,
        );
    }
    let replay = Customer {
        ip: replayer.clone(),
        user_agent: "curl/8.5.0",
        ..bot.clone()
    };
    time += 10 * MINUTE;
    platform.app_request(
        time,
        Service::Orders,
        "GET",
        "/orders/export?all=true",
        200,
        &replay,
        &session,
        timeline,
    );
    time += 40 * SECOND;
    platform.app_request(
        time,
        Service::Payments,
        "GET",
        "/payments/refunds?status=all",
        200,
        &replay,
        &session,
        timeline,
    );
    time += 2 * MINUTE;
    pod_exec(
        rng,
        time,
        victim,
        &replayer,
        "payments",
        PAYMENTS_POD,
        timeline,
    );
    time += MINUTE;
    let list = json!({"resource": "secrets", "namespace": "payments", "apiVersion": "v1"});
    audit(
        rng,
        time,
        victim,
        &replayer,
        "list",
        "/api/v1/namespaces/payments/secrets",
        list,
        200,
        None,
        timeline,
    );
    time += 5 * SECOND;
    let get = json!({"resource": "secrets", "namespace": "payments", "name": "payments-aws", "apiVersion": "v1"});
    audit(
        rng,
        time,
        victim,
        &replayer,
        "get",
        "/api/v1/namespaces/payments/secrets/payments-aws",
        get,
        200,
        None,
        timeline,
    );
    // The pod's role credentials, now used from the attacker's machine.
    time += 2 * MINUTE;
    let key = platform.payments_access_key(time);
    let caller = || Caller::Role {
        role: PAYMENTS_ROLE,
        session: PAYMENTS_POD,
        access_key: &key,
    };
    for secret in SECRETS {
        time += rng.between(3, 9) * SECOND;
        let parameters = json!({"secretId": secret});
        trail(
            rng,
            time,
            caller(),
            &replayer,
            ("secretsmanager.amazonaws.com", "GetSecretValue"),
            parameters,
            json!(null),
            timeline,
        );
    }
    for part in 0..3 {
        time += rng.between(10, 30) * SECOND;
        let parameters = json!({"bucketName": "customer-exports", "key": format!("2026/full/customers-{part}.csv.gz")});
        trail(
            rng,
            time,
            caller(),
            &replayer,
            ("s3.amazonaws.com", "GetObject"),
            parameters,
            json!(null),
            timeline,
        );
    }
}

/// SSH brute force → `deploy` broken into → root shell → cluster-admin and a pod exec.
fn bastion_takeover(rng: &mut DemoRng, start: i64, timeline: &mut Timeline) {
    let attacker = address("203.0.113", rng, 130, 230);
    let pid = 50_000 + rng.below(9_000) as u32;
    let mut time = start;
    for attempt in 0..26 {
        time += rng.between(4, 9) * SECOND;
        let user = SSH_GUESSES[attempt % SSH_GUESSES.len()];
        let invalid = if matches!(user, "ubuntu" | "git") {
            "invalid user "
        } else {
            ""
        };
        let port = 40_000 + rng.below(20_000);
        let message =
            format!("Failed password for {invalid}{user} from {attacker} port {port} ssh2");
        timeline.push(
            time,
            Service::Bastion,
            formats::syslog(time, "sshd", Some(pid + attempt as u32), &message),
        );
    }
    time += 20 * SECOND;
    let port = 40_000 + rng.below(20_000);
    let message = format!("Accepted password for deploy from {attacker} port {port} ssh2");
    timeline.push(
        time,
        Service::Bastion,
        formats::syslog(time, "sshd", Some(pid + 99), &message),
    );
    let opened = "pam_unix(sshd:session): session opened for user deploy(uid=1002) by (uid=0)";
    timeline.push(
        time + 10_000,
        Service::Bastion,
        formats::syslog(time + 10_000, "sshd", Some(pid + 99), opened),
    );
    time += 2 * MINUTE;
    timeline.push(
        time,
        Service::Bastion,
        formats::sudo(time, "deploy", "root", "/bin/bash"),
    );
    time += 3 * MINUTE;
    let binding = json!({
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "deploy-maintenance"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "deploy", "apiGroup": "rbac.authorization.k8s.io"}],
    });
    let object = json!({"resource": "clusterrolebindings", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"});
    audit(
        rng,
        time,
        "deploy",
        BASTION_IP,
        "create",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        object,
        201,
        Some(binding),
        timeline,
    );
    time += MINUTE;
    pod_exec(
        rng,
        time,
        "deploy",
        BASTION_IP,
        "orders",
        "orders-5c8b7d-m4zt",
        timeline,
    );
}

/// A leaked `svc-reporting` key: recon, a key for another user, admin policy, logging off,
/// then the secrets.
fn cloud_key_abuse(rng: &mut DemoRng, start: i64, timeline: &mut Timeline) {
    let attacker = address("192.0.2", rng, 130, 250);
    let caller = || Caller::User {
        name: "svc-reporting",
        access_key: REPORTING_KEY,
    };
    let mut time = start;
    let steps: [((&str, &str), serde_json::Value, serde_json::Value); 6] = [
        (
            ("sts.amazonaws.com", "GetCallerIdentity"),
            json!(null),
            json!(null),
        ),
        (("iam.amazonaws.com", "ListUsers"), json!(null), json!(null)),
        (
            ("iam.amazonaws.com", "ListAttachedUserPolicies"),
            json!({"userName": "svc-reporting"}),
            json!(null),
        ),
        (
            ("iam.amazonaws.com", "CreateAccessKey"),
            json!({"userName": "ops-admin"}),
            json!({"accessKey": {"userName": "ops-admin", "accessKeyId": format!("AKIA{}", rng.alnum_upper(16)), "status": "Active"}}),
        ),
        (
            ("iam.amazonaws.com", "AttachUserPolicy"),
            json!({"userName": "svc-reporting", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            json!(null),
        ),
        (
            ("cloudtrail.amazonaws.com", "StopLogging"),
            json!({"name": format!("arn:aws:cloudtrail:{}:{}:trail/org-trail", formats::REGION, formats::ACCOUNT)}),
            json!(null),
        ),
    ];
    for (call, request, response) in steps {
        time += rng.between(15, 60) * SECOND;
        trail(
            rng,
            time,
            caller(),
            &attacker,
            call,
            request,
            response,
            timeline,
        );
    }
    for secret in SECRETS.iter().rev() {
        time += rng.between(4, 12) * SECOND;
        trail(
            rng,
            time,
            caller(),
            &attacker,
            ("secretsmanager.amazonaws.com", "GetSecretValue"),
            json!({"secretId": secret}),
            json!(null),
            timeline,
        );
    }
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
