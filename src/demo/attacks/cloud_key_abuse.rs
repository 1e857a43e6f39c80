//! The cloud key abuse: a scanner finds the `svc-reporting` user's long-term key in a
//! reporting job's actuator endpoint behind the gateway, and from the same address creates a
//! key for another user, attaches AdministratorAccess, stops CloudTrail logging, reads many
//! secrets, then gives itself access to the EKS cluster and reads the cluster's secrets.

use serde_json::json;

use super::super::formats::{self, Caller};
use super::super::logs::Timeline;
use super::super::platform::{Platform, REPORTING_KEY};
use super::super::rng::DemoRng;
use super::{Expected, MINUTE, PROBED_PATHS, SECOND, SECRETS, address, audit, trail};

/// The probed path that answers, with the job's environment in it.
const LEAKING_PATH: &str = "/actuator/env";
const SCANNER: &str = "Mozilla/5.0 zgrab/0.x";

/// A scanner finds the `svc-reporting` key behind the gateway: recon, a key for another
/// user, admin policy, logging off, the secrets, then the cluster's secrets.
pub(super) fn weave(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    timeline: &mut Timeline,
) -> Expected {
    let attacker = address("192.0.2", rng, 130, 250);
    // The scan: every path but the reporting job's actuator answers 404.
    let mut time = start;
    for path in PROBED_PATHS {
        time += rng.between(300, 900) * 1_000;
        let status = if path == LEAKING_PATH { 200 } else { 404 };
        platform.gateway(time, &attacker, "GET", path, status, SCANNER, timeline);
    }
    time += 25 * MINUTE;
    let caller = || Caller::User {
        name: "svc-reporting",
        access_key: REPORTING_KEY,
    };
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
    // AdministratorAccess reaches the EKS cluster: an access entry for the key's user, then
    // the cluster's secrets listed and read with it.
    let user_arn = format!("arn:aws:iam::{}:user/svc-reporting", formats::ACCOUNT);
    let cluster = format!(
        "arn:aws:eks:{}:{}:cluster/shop-prod",
        formats::REGION,
        formats::ACCOUNT
    );
    for (name, request) in [
        (
            "CreateAccessEntry",
            json!({"clusterName": "shop-prod", "principalArn": user_arn}),
        ),
        (
            "AssociateAccessPolicy",
            json!({"clusterName": "shop-prod", "principalArn": user_arn, "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}),
        ),
    ] {
        time += rng.between(20, 60) * SECOND;
        trail(
            rng,
            time,
            caller(),
            &attacker,
            ("eks.amazonaws.com", name),
            request,
            json!({"cluster": cluster}),
            timeline,
        );
    }
    time += 2 * MINUTE;
    let list = json!({"resource": "secrets", "apiVersion": "v1"});
    audit(
        rng,
        time,
        &user_arn,
        &attacker,
        "list",
        "/api/v1/secrets?limit=500",
        list,
        200,
        None,
        timeline,
    );
    for (namespace, name) in [("payments", "payments-aws"), ("orders", "orders-db")] {
        time += rng.between(5, 20) * SECOND;
        let get = json!({"resource": "secrets", "namespace": namespace, "name": name, "apiVersion": "v1"});
        audit(
            rng,
            time,
            &user_arn,
            &attacker,
            "get",
            &format!("/api/v1/namespaces/{namespace}/secrets/{name}"),
            get,
            200,
            None,
            timeline,
        );
    }
    let mut expected = Expected::new(
        "cloud key abuse",
        &["gateway", "cloudtrail", "cluster-audit"],
    );
    expected.expect("user", "svc-reporting");
    expected.expect("user", &user_arn);
    expected.expect("src_ip", &attacker);
    expected
}
