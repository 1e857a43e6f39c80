//! The MFA fatigue attack: an engineer's password is known (reused from a breached site);
//! push prompts are sent until one is approved, and with the single sign-on session the
//! attacker creates a privileged pod with the node's filesystem in `kube-system`, binds
//! cluster-admin to its service account, opens a shell in it, then in AWS creates a user with
//! a key and AdministratorAccess: a backdoor that outlives the session.

use serde_json::json;

use super::super::formats::{self, AuthLine, Caller};
use super::super::logs::{Service, Timeline};
use super::super::platform::{Platform, STAFF_GROUPS};
use super::super::rng::DemoRng;
use super::{Expected, MINUTE, SECOND, address, pod_exec, trail};

const VICTIM: &str = "sofia";
const SSO_ROLE: &str = "AWSReservedSSO_PlatformAdmin_4f2a";
const SSO_SESSION: &str = "sofia@shop.example.com";
const BACKDOOR_USER: &str = "backup-svc";
const POD: &str = "node-debugger-7x2k";
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

pub(super) fn weave(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    timeline: &mut Timeline,
) -> Expected {
    let attacker = address("45.155.205", rng, 10, 250);
    let mut time = start;
    // The password is right; the second factor is pushed until the engineer gives in.
    for attempt in 0..8 {
        time += rng.between(30, 50) * SECOND;
        let approved = attempt == 7;
        platform.gateway(
            time,
            &attacker,
            "POST",
            "/api/v1/login/mfa",
            if approved { 200 } else { 401 },
            BROWSER,
            timeline,
        );
        let trace = rng.hex(32);
        let line = formats::auth_json(&AuthLine {
            time: time + 2_000,
            action: "mfa_push",
            success: approved,
            user: VICTIM,
            client_ip: &attacker,
            session_id: None,
            trace_id: &trace,
            reason: (!approved).then_some("push_denied"),
        });
        timeline.push(time + 2_000, Service::Auth, line);
    }
    let session = format!("sess-{}", rng.hex(12));
    time += 3 * SECOND;
    let trace = rng.hex(32);
    let line = formats::auth_json(&AuthLine {
        time,
        action: "logon",
        success: true,
        user: VICTIM,
        client_ip: &attacker,
        session_id: Some(&session),
        trace_id: &trace,
        reason: None,
    });
    timeline.push(time, Service::Auth, line);

    // The cluster, through the single sign-on: a privileged pod with the node's filesystem.
    time += 4 * MINUTE;
    let pod = json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": POD, "namespace": "kube-system"},
        "spec": {
            "hostPID": true,
            "serviceAccountName": "node-debugger",
            "containers": [{
                "name": "debug",
                "image": "docker.io/library/alpine:3.19",
                "command": ["sleep", "infinity"],
                "securityContext": {"privileged": true},
                "volumeMounts": [{"name": "host", "mountPath": "/host"}],
            }],
            "volumes": [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}],
        },
    });
    let object =
        json!({"resource": "pods", "namespace": "kube-system", "name": POD, "apiVersion": "v1"});
    staff_audit(
        rng,
        time,
        &attacker,
        "create",
        "/api/v1/namespaces/kube-system/pods",
        object,
        201,
        Some(pod),
        timeline,
    );
    time += MINUTE;
    let binding = json!({
        "kind": "ClusterRoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "node-debugger-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "node-debugger", "namespace": "kube-system"}],
    });
    let object = json!({"resource": "clusterrolebindings", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"});
    staff_audit(
        rng,
        time,
        &attacker,
        "create",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        object,
        201,
        Some(binding),
        timeline,
    );
    time += MINUTE;
    pod_exec(rng, time, VICTIM, &attacker, "kube-system", POD, timeline);

    // AWS, through the same sign-on: a user of its own, with a key and administrator rights.
    let key = format!("ASIA{}", rng.alnum_upper(16));
    let caller = || Caller::Role {
        role: SSO_ROLE,
        session: SSO_SESSION,
        access_key: &key,
    };
    let backdoor_key = format!("AKIA{}", rng.alnum_upper(16));
    let steps = [
        (
            ("iam.amazonaws.com", "CreateUser"),
            json!({"userName": BACKDOOR_USER}),
            json!({"user": {"userName": BACKDOOR_USER}}),
        ),
        (
            ("iam.amazonaws.com", "CreateAccessKey"),
            json!({"userName": BACKDOOR_USER}),
            json!({"accessKey": {"userName": BACKDOOR_USER, "accessKeyId": backdoor_key, "status": "Active"}}),
        ),
        (
            ("iam.amazonaws.com", "AttachUserPolicy"),
            json!({"userName": BACKDOOR_USER, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            json!(null),
        ),
    ];
    time += 5 * MINUTE;
    for (call, request, response) in steps {
        time += rng.between(20, 60) * SECOND;
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
    let mut expected = Expected::new("mfa fatigue", &["auth", "cluster-audit", "cloudtrail"]);
    expected.expect("user", VICTIM);
    expected.expect("user", &format!("{SSO_ROLE}/{SSO_SESSION}"));
    expected.expect("src_ip", &attacker);
    expected.allow("session_id", &session);
    expected.allow("session_id", &key);
    expected
}

/// One audit event of a request the attacker made as the engineer (single sign-on groups).
#[allow(clippy::too_many_arguments)] // the fields of the record
fn staff_audit(
    rng: &mut DemoRng,
    time: i64,
    source_ip: &str,
    verb: &str,
    uri: &str,
    object_ref: serde_json::Value,
    code: u16,
    request_object: Option<serde_json::Value>,
    timeline: &mut Timeline,
) {
    let audit_id = rng.uuid();
    let line = formats::k8s_audit(&formats::AuditLine {
        time,
        audit_id: &audit_id,
        verb,
        request_uri: uri,
        user: VICTIM,
        groups: &STAFF_GROUPS,
        source_ip,
        user_agent: "kubectl/v1.29.2",
        object_ref,
        code,
        request_object,
    });
    timeline.push(time, Service::ClusterAudit, line);
}
