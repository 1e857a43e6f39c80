//! The session hijack: a shopper signs in as usual; twenty minutes later their session token
//! (stolen by a malicious browser extension) is replayed from another address, which reads
//! the shopper's saved payment methods, walks order ids through the gateway (most answer
//! 404), then reads the payments of the orders it found.

use super::super::logs::{Service, Timeline};
use super::super::platform::{Customer, Platform};
use super::super::rng::DemoRng;
use super::{Expected, MINUTE, SECOND, address};

/// Order ids the replayer walks, and how many of them exist.
const WALKED: u64 = 30;
const FOUND: u64 = 6;

pub(super) fn weave(
    platform: &mut Platform,
    rng: &mut DemoRng,
    start: i64,
    timeline: &mut Timeline,
) -> Expected {
    let victim = platform.customer(rng.below(platform.customers() as u64) as usize);
    let replayer = address("185.220.101", rng, 10, 250);
    let session = format!("sess-{}", rng.hex(12));
    let mut time = start;
    platform.login(time, &victim, Some(&session), timeline);
    for page in 1..=2 {
        time += rng.between(10, 40) * SECOND;
        platform.app_request(
            time,
            Service::Orders,
            "GET",
            &format!("/orders?page={page}"),
            200,
            &victim,
            &session,
            timeline,
        );
    }
    let replay = Customer {
        ip: replayer.clone(),
        user_agent: "python-httpx/0.27.0",
        ..victim.clone()
    };
    time += 20 * MINUTE;
    platform.app_request(
        time,
        Service::Payments,
        "GET",
        "/payments/methods",
        200,
        &replay,
        &session,
        timeline,
    );
    let first = 41_000 + rng.below(5_000);
    let mut found = Vec::new();
    for step in 0..WALKED {
        time += rng.between(2, 6) * SECOND;
        let order = first + step * 7;
        let status = if step % (WALKED / FOUND) == 3 {
            200
        } else {
            404
        };
        if status == 200 {
            found.push(order);
        }
        platform.app_request(
            time,
            Service::Orders,
            "GET",
            &format!("/orders/{order}"),
            status,
            &replay,
            &session,
            timeline,
        );
    }
    for order in found {
        time += rng.between(3, 8) * SECOND;
        platform.app_request(
            time,
            Service::Payments,
            "GET",
            &format!("/payments/{order}"),
            200,
            &replay,
            &session,
            timeline,
        );
    }
    let mut expected = Expected::new("session hijack", &["gateway", "auth", "orders", "payments"]);
    expected.expect("user", &victim.name);
    expected.expect("src_ip", &victim.ip);
    expected.expect("src_ip", &replayer);
    expected.expect("session_id", &session);
    expected
}
