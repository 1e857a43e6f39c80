//! Synthetic log records for benchmarks, generated from a fixed seed so every run measures the
//! same bytes.

/// A small deterministic generator (64-bit LCG), enough to vary names, addresses and numbers.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn ip(&mut self) -> String {
        format!("{}.{}.{}.{}", 1 + self.below(223), self.below(256), self.below(256), 1 + self.below(254))
    }
}

const EVENT_NAMES: &[&str] = &[
    "GetObject", "PutObject", "AssumeRole", "DescribeInstances", "ConsoleLogin", "GetSecretValue",
    "CreateAccessKey", "ListBuckets", "Decrypt", "RunInstances",
];
const SOURCES: &[&str] = &[
    "s3.amazonaws.com", "sts.amazonaws.com", "ec2.amazonaws.com", "signin.amazonaws.com",
    "secretsmanager.amazonaws.com", "iam.amazonaws.com", "kms.amazonaws.com",
];
const USERS: &[&str] = &["alice", "bob", "carol", "deploy-bot", "ci-runner", "mallory"];
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
        rng.next(),
        user,
        rng.next(),
        user,
        second,
        rng.below(60),
        second,
        rng.pick(SOURCES),
        rng.pick(EVENT_NAMES),
        rng.ip(),
        rng.pick(AGENTS),
        rng.below(100),
        rng.next(),
        rng.next(),
        rng.next(),
        rng.below(65536),
        rng.below(4096),
        rng.below(4096),
        rng.next(),
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
        rng.pick(&["order placed", "payment declined", "login failed", "cart updated"]),
        rng.pick(USERS),
        rng.ip(),
        rng.pick(&["200", "201", "401", "403", "500"]),
        rng.next(),
        rng.next(),
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
