//! The bastion takeover: SSH brute force on the bastion, the `deploy` account broken into, a
//! root shell through sudo, cluster-admin granted and a pod exec in the cluster from the
//! bastion, then the account's long-term AWS key reading many secrets from the bastion.

use serde_json::json;

use super::super::formats::{self, Caller};
use super::super::logs::{Service, Timeline};
use super::super::rng::DemoRng;
use super::{BASTION_IP, Expected, MINUTE, SECOND, SECRETS, address, audit, pod_exec, trail};

/// Accounts the SSH brute force tries, in order (`deploy` is the one that falls).
const SSH_GUESSES: [&str; 6] = ["root", "deploy", "ubuntu", "root", "git", "deploy"];
/// The long-term access key of the `deploy` IAM user, kept on the bastion.
const DEPLOY_KEY: &str = "AKIAQX3DEPLOYBASTION";

/// SSH brute force → `deploy` broken into → root shell → cluster-admin and a pod exec → the
/// account's AWS key reads the secrets.
pub(super) fn weave(rng: &mut DemoRng, start: i64, timeline: &mut Timeline) -> Expected {
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
    // The AWS key in `deploy`'s ~/.aws/credentials, used from the bastion.
    let caller = || Caller::User {
        name: "deploy",
        access_key: DEPLOY_KEY,
    };
    time += 4 * MINUTE;
    trail(
        rng,
        time,
        caller(),
        BASTION_IP,
        ("sts.amazonaws.com", "GetCallerIdentity"),
        json!(null),
        json!(null),
        timeline,
    );
    for secret in &SECRETS[..10] {
        time += rng.between(5, 20) * SECOND;
        trail(
            rng,
            time,
            caller(),
            BASTION_IP,
            ("secretsmanager.amazonaws.com", "GetSecretValue"),
            json!({"secretId": secret}),
            json!(null),
            timeline,
        );
    }
    let mut expected = Expected::new(
        "bastion takeover",
        &["bastion", "cluster-audit", "cloudtrail"],
    );
    expected.expect("user", "deploy");
    expected.expect("src_ip", &attacker);
    expected.expect("src_ip", BASTION_IP);
    expected.expect("host", "bastion");
    for guess in SSH_GUESSES {
        expected.allow("user", guess);
    }
    expected
}
