//! The syslog parsers over a whole real `/var/log/auth.log`: elastic/examples'
//! `suspicious_login_activity/data/auth.log` (7,121 lines, three weeks of an EC2 host; see
//! `shared/corpora/elastic-examples/SOURCE.md`), read with `syslog3164`.
//!
//! The expected counts were made with `grep` over the corpus file, independently of the
//! parser (`grep -cE PATTERN auth.log`, each pattern below beside its count). The patterns
//! are disjoint, and their sums are the totals asserted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use weft_ingest::parse::{self, ParseContext, ParserOptions};
use weft_ingest::time::parse_rfc3339;
use weft_ingest::{Class, Flag, Outcome};

const AUTH_LOG: &str = "elastic-examples/suspicious_login_activity/data/auth.log";
const LINES: usize = 7_121;

/// Authentication events by (activity, outcome), with the grep patterns that count them.
const AUTHENTICATION: &[(&str, Outcome, usize)] = &[
    // 'sshd\[[0-9]+\]: Accepted '
    ("logon", Outcome::Success, 226),
    // 632 'sshd\[[0-9]+\]: Failed '
    // + 85 'sshd\[[0-9]+\]: message repeated [0-9]+ times: \[ Failed '
    // + 178 'sshd\[[0-9]+\]: Invalid user '
    // + 189 'sshd\[[0-9]+\]: error: maximum authentication attempts exceeded for '
    // + 343 'sshd\[[0-9]+\]: pam_unix\(sshd:auth\): authentication failure;'
    // + 141 'sshd\[[0-9]+\]: PAM [0-9]+ more authentication failures;'
    ("logon", Outcome::Failure, 1_568),
    // 'sshd\[[0-9]+\]: Disconnected from [0-9.]+ port [0-9]+$' (no [preauth]: after a logon)
    ("logoff", Outcome::Success, 218),
    // ': pam_unix\([a-z-]+:session\): session opened for user ' (sshd, cron, sudo, su, systemd-user)
    ("session_open", Outcome::Success, 1_268),
    // ': pam_unix\([a-z-]+:session\): session closed for user '
    ("session_close", Outcome::Success, 1_074),
    // 186 'sudo: +[a-z_0-9]+ : TTY=' + 9 'su\[[0-9]+\]: Successful su for ' + 9 'su\[[0-9]+\]: \+ '
    ("privilege_escalation", Outcome::Success, 204),
];

/// Account changes by (activity, outcome).
const ACCOUNT_CHANGE: &[(&str, Outcome, usize)] = &[
    // 'useradd\[[0-9]+\]: new user: '
    ("user_create", Outcome::Success, 10),
    // 'useradd\[[0-9]+\]: failed adding user '
    ("user_create", Outcome::Failure, 30),
    // 'new group: |group added to ' (useradd's per-user groups, groupadd's three lines)
    ("group_create", Outcome::Success, 13),
    // 'pam_unix\(chpasswd:chauthtok\): password changed for '
    ("password_change", Outcome::Success, 10),
    // 'pam_unix\(chpasswd:chauthtok\): user .* does not exist'
    ("password_change", Outcome::Failure, 407),
];

// The corpus holds no refused sudo or su ('sudo: .*(incorrect password|NOT in sudoers|could
// not identify|authentication failure)|su\[[0-9]+\]: (FAILED|- )' counts 0) and predates
// OpenSSH's `Disconnected from authenticating user ...` form ('(Disconnected from|Connection
// closed by) (user|authenticating user|invalid user) ' counts 0): no other combination occurs.

fn corpus_file() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
    if !root.is_dir() {
        eprintln!("skipped: ../shared/corpora not found");
        return None;
    }
    Some(root.join(AUTH_LOG))
}

#[test]
fn auth_log_parses_whole_with_exact_authentication_counts() {
    let Some(path) = corpus_file() else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("the corpus auth.log is readable UTF-8");
    // The host's clock year: filebeat 5.2 and the EC2 host's logs date from spring 2017.
    let context = ParseContext {
        reference_time: parse_rfc3339("2017-04-21T00:00:00Z").expect("valid"),
    };
    let first = parse_rfc3339("2017-03-27T13:06:56Z").expect("valid");
    let last = parse_rfc3339("2017-04-20T14:14:29Z").expect("valid");
    let mut parser =
        parse::build("syslog3164", &ParserOptions::default()).expect("syslog3164 is registered");

    let mut lines = 0;
    let mut errors = Vec::new();
    let mut counts: HashMap<(Class, String, Option<Outcome>), usize> = HashMap::new();
    let mut previous_time = i64::MIN;
    for (number, line) in text.lines().enumerate() {
        lines += 1;
        let mut events = Vec::new();
        if let Err(error) = parser.parse(line, &context, &mut events) {
            errors.push(format!("line {}: {error}", number + 1));
            continue;
        }
        assert_eq!(events.len(), 1, "line {}", number + 1);
        let event = &events[0];
        let time = event.time.expect("every line has a timestamp");
        assert!(
            (first..=last).contains(&time) && time >= previous_time,
            "line {}: time {time} out of order or range",
            number + 1
        );
        previous_time = time;
        assert_eq!(event.flags, vec![Flag::YearInferred], "line {}", number + 1);
        assert_eq!(event.host.as_deref(), Some("ip-10-77-20-248"));
        assert!(event.process.is_some(), "line {}: no tag", number + 1);
        assert!(event.message.is_some(), "line {}: no message", number + 1);
        assert_eq!(event.severity, None, "auth.log lines carry no <PRI>");

        let activity = event.activity.as_deref().unwrap_or("").to_string();
        match (event.class, activity.as_str()) {
            (Class::Authentication, "logon") => {
                assert!(
                    event.src_ip.is_some(),
                    "line {}: logon without source",
                    number + 1
                );
            }
            (Class::Authentication, "session_open" | "session_close") => {
                assert!(
                    event.user.is_some(),
                    "line {}: session without user",
                    number + 1
                );
            }
            (Class::Authentication, "privilege_escalation") => {
                assert!(
                    event.user.is_some(),
                    "line {}: escalation without user",
                    number + 1
                );
                if event.process.as_deref() == Some("sudo") {
                    assert!(event.command_line.is_some(), "line {}", number + 1);
                    assert!(
                        event.attr("sudo.target_user").is_some(),
                        "line {}",
                        number + 1
                    );
                }
            }
            _ => {}
        }
        if event.class == Class::Authentication
            && activity == "logon"
            && event.outcome == Some(Outcome::Success)
        {
            assert!(event.user.is_some() && event.attr("auth.method").is_some());
        }
        *counts
            .entry((event.class, activity, event.outcome))
            .or_default() += 1;
    }

    assert_eq!(lines, LINES);
    assert!(errors.is_empty(), "{} errors: {errors:?}", errors.len());
    let mut expected: HashMap<(Class, String, Option<Outcome>), usize> = HashMap::new();
    for (class, table) in [
        (Class::Authentication, AUTHENTICATION),
        (Class::AccountChange, ACCOUNT_CHANGE),
    ] {
        for &(activity, outcome, count) in table {
            expected.insert((class, activity.to_string(), Some(outcome)), count);
        }
    }
    let classified: usize = expected.values().sum();
    expected.insert((Class::Other, String::new(), None), LINES - classified);
    assert_eq!(counts, expected);

    let by_outcome = |class: Class, outcome: Outcome| -> usize {
        counts
            .iter()
            .filter(|((event_class, _, event_outcome), _)| {
                *event_class == class && *event_outcome == Some(outcome)
            })
            .map(|(_, count)| count)
            .sum()
    };
    assert_eq!(by_outcome(Class::Authentication, Outcome::Success), 2_990);
    assert_eq!(by_outcome(Class::Authentication, Outcome::Failure), 1_568);
    assert_eq!(by_outcome(Class::Authentication, Outcome::Unknown), 0);
}
