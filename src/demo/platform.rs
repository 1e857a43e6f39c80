//! The benign traffic of the simulated platform, second by second: shoppers logging in and
//! using the orders and payments services through the gateway, anonymous browsing and health
//! checks here; staff, the control plane, CI, AWS and scanners in `operations.rs`. Activity
//! follows the time of day (UTC). None of it should raise an incident.

use super::formats::{self, AccessLine, AppLine, AuthLine};
use super::logs::{Service, Timeline};
use super::rng::DemoRng;

pub(super) const SECOND: i64 = 1_000_000;

const FIRST_NAMES: [&str; 24] = [
    "anna", "ben", "chloe", "daniel", "elena", "felix", "grace", "hugo", "isla", "jakob", "kira",
    "liam", "maya", "noah", "olga", "pablo", "quinn", "rosa", "sam", "tara", "umar", "vera", "wei",
    "yusuf",
];
pub(super) const BROWSERS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "ShopApp/4.2.1 (Android 14; Pixel 8)",
];
/// Staff: engineers with accounts on the auth service, the bastion and the cluster.
pub const STAFF: [&str; 5] = ["priya", "jonas", "mei", "tomasz", "sofia"];
pub(super) const STAFF_GROUPS: [&str; 2] = ["system:authenticated", "oidc:platform-team"];
pub(super) const SCANNED_USERS: [&str; 8] = [
    "admin", "test", "user", "oracle", "postgres", "pi", "ftpuser", "guest",
];
/// The payments pod whose role reads the payments secrets.
pub const PAYMENTS_POD: &str = "payments-7d9f4c-x2kq";
pub const PAYMENTS_POD_IP: &str = "10.42.3.17";
pub const PAYMENTS_ROLE: &str = "payments-app";
pub(super) const ORDERS_POD_IP: &str = "10.42.1.23";
const SHOP: &str = "https://shop.example.com/";

/// A shopper of the platform.
#[derive(Debug, Clone)]
pub struct Customer {
    pub name: String,
    pub ip: String,
    pub user_agent: &'static str,
}

/// The benign traffic model.
#[derive(Debug)]
pub struct Platform {
    pub(super) rng: DemoRng,
    customers: Vec<Customer>,
    /// Seeds the temporary AWS keys of the application roles (one key per role per hour).
    pub(super) key_salt: String,
    /// Traffic scale: 1.0 is about 80,000 events a day.
    scale: f64,
}

/// Share of the peak traffic at `time` (UTC microseconds): low at night, high in the day.
fn activity(time: i64) -> f64 {
    let hour = (time.rem_euclid(86_400 * SECOND)) as f64 / (3_600.0 * SECOND as f64);
    if (6.0..22.0).contains(&hour) {
        0.25 + 0.75 * (std::f64::consts::PI * (hour - 6.0) / 16.0).sin()
    } else {
        0.25
    }
}

/// Share of staff activity at `time`: office hours only.
fn office(time: i64) -> f64 {
    let hour = time.rem_euclid(86_400 * SECOND) / (3_600 * SECOND);
    if (8..18).contains(&hour) { 1.0 } else { 0.05 }
}

impl Platform {
    pub fn new(rng: &mut DemoRng, scale: f64) -> Platform {
        let mut rng = rng.fork();
        let customers = (0..120)
            .map(|index| {
                let first = rng.pick(&FIRST_NAMES);
                let last = char::from(b'a' + rng.below(26) as u8);
                let user_agent = *rng.pick(&BROWSERS);
                Customer {
                    name: format!("{first}.{last}{}", index % 10),
                    ip: format!("198.51.100.{}", 10 + index),
                    user_agent,
                }
            })
            .collect();
        let key_salt = rng.alnum_upper(10);
        Platform {
            rng,
            customers,
            key_salt,
            scale,
        }
    }

    /// How many shoppers the platform has.
    pub fn customers(&self) -> usize {
        self.customers.len()
    }

    /// The `index`-th shopper (wrapping around).
    pub fn customer(&self, index: usize) -> Customer {
        self.customers[index % self.customers.len().max(1)].clone()
    }

    /// The temporary key of the payments pod's role session during the hour of `time`.
    pub fn payments_access_key(&self, time: i64) -> String {
        let hour = time.div_euclid(3_600 * SECOND).rem_euclid(1_000_000);
        format!("ASIA{}{hour:06}", self.key_salt)
    }

    /// The VPN address of a staff member.
    pub fn staff_ip(name: &str) -> String {
        let index = STAFF.iter().position(|staff| *staff == name).unwrap_or(0);
        format!("10.8.0.{}", 21 + index)
    }

    /// Schedules the activity that starts in `[from, to)` (UTC microseconds); requests of a
    /// session that outlives `to` are scheduled after it.
    pub fn schedule(&mut self, from: i64, to: i64, timeline: &mut Timeline) {
        let first = from.div_euclid(SECOND) + i64::from(from.rem_euclid(SECOND) != 0);
        let last = to.div_euclid(SECOND) - i64::from(to.rem_euclid(SECOND) == 0);
        for second in first..=last {
            self.second(second, timeline);
        }
    }

    fn second(&mut self, second: i64, timeline: &mut Timeline) {
        let time = second * SECOND;
        let busy = activity(time) * self.scale;
        let staff = office(time) * self.scale;
        let jitter = |rng: &mut DemoRng| time + rng.below(SECOND as u64) as i64;
        if self.rng.chance(0.05 * busy) {
            let start = jitter(&mut self.rng);
            self.customer_session(start, timeline);
        }
        if self.rng.chance(0.2 * busy) {
            let start = jitter(&mut self.rng);
            self.anonymous_visit(start, timeline);
        }
        if second.rem_euclid(15) == 0 {
            self.health_check(time, timeline);
        }
        if second.rem_euclid(10) == 0 {
            self.control_plane(time + 3_000, timeline);
        }
        if self.rng.chance(0.0008 * staff) {
            let start = jitter(&mut self.rng);
            self.staff_session(start, timeline);
        }
        if self.rng.chance(0.0003 * staff) {
            let start = jitter(&mut self.rng);
            self.ci_deploy(start, timeline);
        }
        if self.rng.chance(1.0 / 600.0 * self.scale) {
            let start = jitter(&mut self.rng);
            self.payments_reads_secret(start, timeline);
        }
        if self.rng.chance(0.015 * busy) {
            let start = jitter(&mut self.rng);
            self.orders_stores_invoice(start, timeline);
        }
        if self.rng.chance(0.0002 * staff) {
            let start = jitter(&mut self.rng);
            self.console_login(start, timeline);
        }
        if second.rem_euclid(3_600) == 60 {
            self.cron(time, timeline);
        }
        if second.rem_euclid(86_400) == 7_200 {
            self.nightly_report(time, timeline);
        }
        if self.rng.chance(1.0 / 1_500.0) {
            let start = jitter(&mut self.rng);
            self.ssh_scanner(start, timeline);
        }
    }

    fn customer_session(&mut self, start: i64, timeline: &mut Timeline) {
        let customer = self.rng.pick(&self.customers).clone();
        let session = format!("sess-{}", self.rng.hex(12));
        let mut time = start;
        if self.rng.chance(0.03) {
            self.login(time, &customer, None, timeline);
            time += self.rng.between(5, 25) * SECOND;
        }
        self.login(time, &customer, Some(&session), timeline);
        let requests = self.rng.between(3, 25);
        for _ in 0..requests {
            time += self.rng.between(4, 90) * SECOND + self.rng.below(SECOND as u64) as i64;
            self.request(time, &customer, &session, timeline);
        }
        if self.rng.chance(0.4) {
            time += self.rng.between(5, 60) * SECOND;
            let trace = self.rng.hex(32);
            self.gateway(
                time,
                &customer.ip,
                "POST",
                "/api/v1/logout",
                204,
                customer.user_agent,
                timeline,
            );
            let line = formats::auth_json(&AuthLine {
                time: time + 2_000,
                action: "logout",
                success: true,
                user: &customer.name,
                client_ip: &customer.ip,
                session_id: Some(&session),
                trace_id: &trace,
                reason: None,
            });
            timeline.push(time + 2_000, Service::Auth, line);
        }
    }

    /// A login through the gateway: accepted with `session`, else rejected (a mistyped
    /// password).
    pub fn login(
        &mut self,
        time: i64,
        customer: &Customer,
        session: Option<&str>,
        timeline: &mut Timeline,
    ) {
        let status = if session.is_some() { 200 } else { 401 };
        self.gateway(
            time,
            &customer.ip,
            "POST",
            "/api/v1/login",
            status,
            customer.user_agent,
            timeline,
        );
        let trace = self.rng.hex(32);
        let line = formats::auth_json(&AuthLine {
            time: time + 3_000,
            action: "logon",
            success: session.is_some(),
            user: &customer.name,
            client_ip: &customer.ip,
            session_id: session,
            trace_id: &trace,
            reason: session.is_none().then_some("bad_password"),
        });
        timeline.push(time + 3_000, Service::Auth, line);
    }

    /// One authenticated request: the gateway's line and the business service's.
    pub fn request(
        &mut self,
        time: i64,
        customer: &Customer,
        session: &str,
        timeline: &mut Timeline,
    ) {
        let order = 40_000 + self.rng.below(9_000);
        let (service, method, path) = match self.rng.below(20) {
            0..=6 => (
                Service::Orders,
                "GET",
                format!("/orders?page={}", 1 + self.rng.below(4)),
            ),
            7..=10 => (Service::Orders, "GET", format!("/orders/{order}")),
            11..=12 => (Service::Orders, "POST", "/orders".to_string()),
            13..=15 => (Service::Payments, "GET", "/payments/methods".to_string()),
            16..=17 => (Service::Payments, "POST", "/payments/charge".to_string()),
            _ => (Service::Payments, "GET", format!("/payments/{order}")),
        };
        let status = match (method, self.rng.below(1_000)) {
            (_, 0..=2) => 500,
            ("GET", 3..=12) if path.contains('/') && !path.contains('?') => 404,
            ("POST", 3..=20) if service == Service::Payments => 402,
            ("POST", _) => 201,
            _ => 200,
        };
        self.app_request(
            time, service, method, &path, status, customer, session, timeline,
        );
    }

    /// A request to `service` (`path` as the service sees it) through the gateway.
    #[allow(clippy::too_many_arguments)]
    pub fn app_request(
        &mut self,
        time: i64,
        service: Service,
        method: &str,
        path: &str,
        status: u16,
        customer: &Customer,
        session: &str,
        timeline: &mut Timeline,
    ) {
        let gateway_path = format!("/api/v1{path}");
        self.gateway(
            time,
            &customer.ip,
            method,
            &gateway_path,
            status,
            customer.user_agent,
            timeline,
        );
        let trace = self.rng.hex(32);
        let span = self.rng.hex(16);
        let duration_ms = 5 + self.rng.below(180);
        let line = formats::app_json(&AppLine {
            time: time + 1_000,
            service: service.name(),
            method,
            path,
            status,
            user: &customer.name,
            client_ip: &customer.ip,
            session_id: session,
            trace_id: &trace,
            span_id: &span,
            duration_ms,
        });
        timeline.push(time + 1_000, service, line);
    }

    /// The gateway's access log line.
    #[allow(clippy::too_many_arguments)]
    pub fn gateway(
        &mut self,
        time: i64,
        client_ip: &str,
        method: &str,
        path: &str,
        status: u16,
        user_agent: &str,
        timeline: &mut Timeline,
    ) {
        let bytes = match status {
            _ if path == "/healthz" => 15,
            200 => 400 + self.rng.below(12_000),
            _ => 40 + self.rng.below(80),
        };
        let referer = if user_agent.starts_with("Mozilla") {
            SHOP
        } else {
            "-"
        };
        let line = formats::nginx(&AccessLine {
            time,
            client_ip,
            method,
            path,
            status,
            bytes,
            referer,
            user_agent,
        });
        timeline.push(time, Service::Gateway, line);
    }

    fn anonymous_visit(&mut self, time: i64, timeline: &mut Timeline) {
        let ip = format!("198.51.100.{}", 130 + self.rng.below(120));
        let user_agent = *self.rng.pick(&BROWSERS);
        let product = 1_000 + self.rng.below(400);
        let (path, status) = match self.rng.below(12) {
            0..=3 => ("/api/v1/catalog".to_string(), 200),
            4..=6 => (format!("/api/v1/catalog/{product}"), 200),
            7..=9 => ("/static/app.js".to_string(), 200),
            10 => ("/favicon.ico".to_string(), 404),
            _ => (format!("/api/v1/catalog?q=item{}", self.rng.below(50)), 200),
        };
        self.gateway(time, &ip, "GET", &path, status, user_agent, timeline);
    }

    fn health_check(&mut self, time: i64, timeline: &mut Timeline) {
        self.gateway(
            time,
            "10.0.0.5",
            "GET",
            "/healthz",
            200,
            "ELB-HealthChecker/2.0",
            timeline,
        );
    }
}

/// The long-term access key of the `svc-reporting` IAM user.
pub const REPORTING_KEY: &str = "AKIAQX3REPORTING7KEY";
