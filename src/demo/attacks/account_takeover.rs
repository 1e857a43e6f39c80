//! The account takeover: credential stuffing at the gateway and the auth service, one
//! account taken over, its session replayed from a second address on orders and payments, a
//! shell in a payments pod, the namespace's secrets read, and the pod role's temporary AWS key
//! used from outside to read many secrets and download customer exports.

use serde_json::json;

use super::super::formats::Caller;
use super::super::logs::{Service, Timeline};
use super::super::platform::{Customer, PAYMENTS_POD, PAYMENTS_POD_IP, PAYMENTS_ROLE, Platform};
use super::super::rng::DemoRng;
use super::{Expected, HOUR, MINUTE, SECOND, SECRETS, address, audit, pod_exec, trail};

/// Accounts the credential stuffing list tries before one works.
const STUFFED: [&str; 8] = [
    "j.smith", "m.lee", "test", "support", "k.tanaka", "o.brien", "p.novak", "info",
];

/// Credential stuffing → takeover → session replay → pod exec → secrets → key abuse.
pub(super) fn weave(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    timeline: &mut Timeline,
) -> Expected {
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
    let mut expected = Expected::new(
        "account takeover",
        &["gateway", "auth", "orders", "cluster-audit", "cloudtrail"],
    );
    expected.expect("user", victim);
    expected.expect("src_ip", &stuffer);
    expected.expect("src_ip", &replayer);
    expected.expect("session_id", &session);
    for guess in STUFFED {
        expected.allow("user", guess);
    }
    // The pod role's identity and temporary key: the pod's own reads in the same window
    // are part of the evidence of the key used from two addresses.
    expected.allow("user", &format!("{PAYMENTS_ROLE}/{PAYMENTS_POD}"));
    // (its key changes every hour: the pod's reads in the window may carry the neighbours)
    for hour in [-1, 0, 1] {
        let key = platform.payments_access_key(time + hour * HOUR);
        expected.allow("session_id", &key);
    }
    expected.allow("src_ip", PAYMENTS_POD_IP);
    expected
}
