//! Synthetic log records for benchmarks, generated from a fixed seed so every run measures the
//! same bytes.

/// A small deterministic generator (64-bit LCG), enough to vary names, addresses and numbers.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn ip(&mut self) -> String {
        format!(
            "{}.{}.{}.{}",
            1 + self.below(223),
            self.below(256),
            self.below(256),
            1 + self.below(254)
        )
    }
}

const EVENT_NAMES: &[&str] = &[
    "GetObject",
    "PutObject",
    "AssumeRole",
    "DescribeInstances",
    "ConsoleLogin",
    "GetSecretValue",
    "CreateAccessKey",
    "ListBuckets",
    "Decrypt",
    "RunInstances",
];
const SOURCES: &[&str] = &[
    "s3.amazonaws.com",
    "sts.amazonaws.com",
    "ec2.amazonaws.com",
    "signin.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "iam.amazonaws.com",
    "kms.amazonaws.com",
];
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "deploy-bot",
    "ci-runner",
    "mallory",
];
const AGENTS: &[&str] = &[
    "aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0 exe/x86_64.ubuntu.22",
    "Boto3/1.28.0 Python/3.10.12 Linux/6.2.0 Botocore/1.31.0",
    "console.amazonaws.com",
];

/// One CloudTrail record of roughly 800 bytes, as CloudTrail writes them (one per line).
pub fn cloudtrail_record(rng: &mut Lcg) -> String {
    let user = rng.pick(USERS);
    let second = rng.below(60);
    let error = if rng.below(10) == 0 {
        r#","errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation""#
    } else {
        ""
    };
    format!(
        concat!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{:016X}","#,
            r#""arn":"arn:aws:iam::123456789012:user/{}","accountId":"123456789012","accessKeyId":"AKIA{:016X}","#,
            r#""userName":"{}","sessionContext":{{"attributes":{{"creationDate":"2024-05-01T11:{:02}:00Z","mfaAuthenticated":"false"}}}}}},"#,
            r#""eventTime":"2024-05-01T12:{:02}:{:02}Z","eventSource":"{}","eventName":"{}","awsRegion":"us-east-1","#,
            r#""sourceIPAddress":"{}","userAgent":"{}","requestParameters":{{"bucketName":"logs-{}","key":"k/{}.json"}},"#,
            r#""responseElements":null,"requestID":"{:016X}","eventID":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","#,
            r#""readOnly":true,"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::logs/k/{}.json"}}],"#,
            r#""eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012"{}}}"#
        ),
        rng.next_u64(),
        user,
        rng.next_u64(),
        user,
        second,
        rng.below(60),
        second,
        rng.pick(SOURCES),
        rng.pick(EVENT_NAMES),
        rng.ip(),
        rng.pick(AGENTS),
        rng.below(100),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.below(65536),
        rng.below(4096),
        rng.below(4096),
        rng.next_u64(),
        rng.below(1000),
        error,
    )
}

/// A day of generic JSON application log lines.
pub fn app_json_record(rng: &mut Lcg) -> String {
    format!(
        r#"{{"ts":"2024-05-01T12:{:02}:{:02}.{:03}Z","level":"{}","service":"checkout","msg":"{}","user":{{"name":"{}"}},"client_ip":"{}","http":{{"method":"POST","status_code":{}}},"trace_id":"{:016x}{:016x}","duration_ms":{}}}"#,
        rng.below(60),
        rng.below(60),
        rng.below(1000),
        rng.pick(&["info", "warn", "error"]),
        rng.pick(&[
            "order placed",
            "payment declined",
            "login failed",
            "cart updated"
        ]),
        rng.pick(USERS),
        rng.ip(),
        rng.pick(&["200", "201", "401", "403", "500"]),
        rng.next_u64(),
        rng.next_u64(),
        rng.below(2000),
    )
}

/// Records joined by newlines into one input of about `bytes` bytes.
pub fn lines(mut record: impl FnMut(&mut Lcg) -> String, seed: u64, bytes: usize) -> String {
    let mut rng = Lcg::new(seed);
    let mut out = String::with_capacity(bytes + 1024);
    while out.len() < bytes {
        out.push_str(&record(&mut rng));
        out.push('\n');
    }
    out
}

const HOSTS: &[&str] = &["bastion-1", "web-3", "db-2", "ip-10-77-20-248"];

/// An auth.log line as sshd and sudo write it (RFC 3164 without PRI).
pub fn syslog_auth_record(rng: &mut Lcg) -> String {
    let host = rng.pick(HOSTS);
    let user = rng.pick(USERS);
    let (hour, minute, second) = (rng.below(24), rng.below(60), rng.below(60));
    let pid = 1000 + rng.below(30000);
    match rng.below(4) {
        0 => format!(
            "May {:>2} {hour:02}:{minute:02}:{second:02} {host} sshd[{pid}]: Failed password for invalid user {user} from {} port {} ssh2",
            1 + rng.below(28),
            rng.ip(),
            1024 + rng.below(60000)
        ),
        1 => format!(
            "May {:>2} {hour:02}:{minute:02}:{second:02} {host} sshd[{pid}]: Accepted publickey for {user} from {} port {} ssh2: RSA SHA256:Zm9vYmFyYmF6",
            1 + rng.below(28),
            rng.ip(),
            1024 + rng.below(60000)
        ),
        2 => format!(
            "May {:>2} {hour:02}:{minute:02}:{second:02} {host} sudo:   {user} : TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            1 + rng.below(28),
            rng.below(9)
        ),
        _ => format!(
            "<38>May {:>2} {hour:02}:{minute:02}:{second:02} {host} systemd-logind[{pid}]: New session {} of user {user}.",
            1 + rng.below(28),
            rng.below(100000)
        ),
    }
}

/// An nginx access log line in the Combined Log Format.
pub fn access_record(rng: &mut Lcg) -> String {
    format!(
        r#"{} - {} [01/May/2024:{:02}:{:02}:{:02} +0000] "{} /api/v1/{}/{} HTTP/1.1" {} {} "https://shop.example.com/" "{}""#,
        rng.ip(),
        rng.pick(&["-", "alice", "bob"]),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.pick(&["GET", "POST", "PUT", "DELETE"]),
        rng.pick(&["orders", "users", "cart", "login", "admin"]),
        rng.below(100000),
        rng.pick(&["200", "201", "304", "401", "403", "404", "500"]),
        rng.below(50000),
        rng.pick(&[
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "curl/8.5.0",
            "python-requests/2.31.0",
        ]),
    )
}

/// A CEF record after a syslog header, as firewalls and IDSs send them.
pub fn cef_record(rng: &mut Lcg) -> String {
    format!(
        "<134>May {:>2} {:02}:{:02}:{:02} fw-1 CEF:0|Palo Alto Networks|PAN-OS|10.1|{}|{}|{}|src={} spt={} dst={} dpt={} proto=TCP act={} suser={} rt={} msg=connection {} by policy cs1Label=Rule cs1=allow-web",
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1000),
        rng.pick(&["TRAFFIC", "THREAT", "login failure"]),
        rng.below(11),
        rng.ip(),
        1024 + rng.below(60000),
        rng.ip(),
        rng.pick(&["443", "22", "3389", "53"]),
        rng.pick(&["allow", "deny", "drop"]),
        rng.pick(USERS),
        1_714_564_800_000 + rng.below(86_400_000),
        rng.pick(&["allowed", "denied"]),
    )
}
