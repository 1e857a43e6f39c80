//! The batch matcher and the reference evaluator against the specification's examples, one
//! table per construct (modifiers, conditions, values, filters), and against each other on
//! generated rules and events (property test).

mod common;

use std::borrow::Cow;

use proptest::prelude::*;
use weft_correlate::sigma::reference::{FlatEvent, reference_matches};
use weft_correlate::sigma::{FieldMapping, Placeholders, RuleSet, SigmaMatcher, load_texts};
use weft_ingest::Event;

/// An event with these attributes (and message, if given).
fn event(attrs: &[(&str, &str)], message: Option<&str>) -> Event<'static> {
    let mut event = Event::new("json");
    event.attrs = attrs
        .iter()
        .map(|(key, value)| (Cow::Owned(key.to_string()), Cow::Owned(value.to_string())))
        .collect();
    event.message = message.map(|text| Cow::Owned(text.to_string()));
    event
}

fn rule_text(detection: &str) -> String {
    let indented: String = detection
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    format!(
        "title: case\nid: 5b6f6e1a-0000-4000-8000-000000000001\nlogsource:\n    product: test\ndetection:\n{indented}"
    )
}

fn load(texts: &[String], placeholders: &Placeholders) -> RuleSet {
    let sources: Vec<_> = texts.iter().map(|text| (None, text.clone())).collect();
    let set = load_texts(&sources, placeholders);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    set
}

/// Rows matched by the first rule, by the matcher, asserted equal to the reference's.
fn rows_matched(set: RuleSet, events: &[Event<'static>]) -> Vec<usize> {
    let mapping = FieldMapping::default();
    let batch = common::batch(events);
    let matcher = SigmaMatcher::new(set.rules, &mapping);
    let fast: Vec<usize> = matcher
        .match_batch(&batch)
        .expect("schema v1")
        .iter()
        .filter(|found| found.rule == 0)
        .map(|found| found.row)
        .collect();
    let reference: Vec<usize> = (0..events.len())
        .filter(|row| {
            let flat = FlatEvent::from_batch(&batch, *row).expect("schema v1");
            reference_matches(&matcher.rules()[0], &mapping, &flat)
        })
        .collect();
    assert_eq!(fast, reference, "matcher and reference disagree");
    fast
}

/// Runs a table: each case is a detection, events as attribute lists, and the rows expected.
/// Events given as attribute lists.
type Events<'a> = &'a [&'a [(&'a str, &'a str)]];

fn table(cases: &[(&str, Events<'_>, &[usize])]) {
    for (detection, events, expected) in cases {
        let events: Vec<_> = events.iter().map(|attrs| event(attrs, None)).collect();
        let set = load(&[rule_text(detection)], &Placeholders::default());
        assert_eq!(&rows_matched(set, &events), expected, "{detection}");
    }
}

#[test]
fn values_wildcards_and_case() {
    let whoami: &[&[(&str, &str)]] = &[
        &[("Image", r"C:\Windows\System32\whoami.exe")],
        &[("Image", r"c:\windows\system32\WHOAMI.EXE")],
        &[("Image", r"C:\Windows\System32\whoami.exe.bak")],
        &[],
    ];
    let prog: &[&[(&str, &str)]] = &[
        &[("Image", "progA.exe")],
        &[("Image", "prog.exe")],
        &[("Image", "progAB.exe")],
        &[("Image", "antivirus_V21.2.1.exe")],
        &[("Image", "prog*.exe")],
    ];
    let ids: &[&[(&str, &str)]] = &[
        &[("EventID", "4688")],
        &[("EventID", "4689")],
        &[("EventID", "517"), ("EventLog", "Security")],
        &[("EventID", "1102"), ("EventLog", "security")],
        &[("EventID", "1102"), ("EventLog", "System")],
    ];
    table(&[
        // Case-insensitive equality of the whole value.
        (
            "sel:\n  Image: 'C:\\Windows\\System32\\whoami.exe'\ncondition: sel",
            whoami,
            &[0, 1],
        ),
        // `?` is one character, `*` any run.
        ("sel:\n  Image: 'prog?.exe'\ncondition: sel", prog, &[0, 4]),
        (
            "sel:\n  Image: 'antivirus_V*.exe'\ncondition: sel",
            prog,
            &[3],
        ),
        // An escaped wildcard is plain.
        ("sel:\n  Image: 'prog\\*.exe'\ncondition: sel", prog, &[4]),
        // Numbers compare as their text; map entries AND, list values OR.
        ("sel:\n  EventID: 4688\ncondition: sel", ids, &[0]),
        (
            "sel:\n  EventLog: Security\n  EventID: [517, 1102]\ncondition: sel",
            ids,
            &[2, 3],
        ),
        // A list of maps: OR of ANDs.
        (
            "sel:\n  - EventID: 4688\n  - EventLog: System\ncondition: sel",
            ids,
            &[0, 4],
        ),
    ]);
}

#[test]
fn null_empty_and_exists() {
    let events: &[&[(&str, &str)]] = &[
        &[("EventID", "4738")],
        &[("EventID", "4738"), ("PasswordLastSet", "")],
        &[("EventID", "4738"), ("PasswordLastSet", "2024-01-01")],
    ];
    table(&[
        (
            "sel:\n  EventID: 4738\nfilter:\n  PasswordLastSet: null\ncondition: sel and not filter",
            events,
            &[1, 2],
        ),
        ("sel:\n  PasswordLastSet: ''\ncondition: sel", events, &[1]),
        (
            "sel:\n  EventID: 4738\n  PasswordLastSet|exists: true\ncondition: sel",
            events,
            &[1, 2],
        ),
        (
            "sel:\n  PasswordLastSet|exists: false\ncondition: sel",
            events,
            &[0],
        ),
        (
            "main:\n  EventID: 4738\nempty1:\n  PasswordLastSet: ''\nempty2:\n  PasswordLastSet: null\ncondition: main and 1 of empty*",
            events,
            &[0, 1],
        ),
    ]);
}

#[test]
fn string_modifiers() {
    let cmd: &[&[(&str, &str)]] = &[
        &[(
            "CommandLine",
            "powershell.exe -NoProfile -EncodedCommand abc",
        )],
        &[("CommandLine", "powershell.exe /encodedcommand abc")],
        &[("CommandLine", "powershell.exe \u{2013}EncodedCommand abc")],
        &[("CommandLine", "cmd.exe /c whoami")],
        &[("CommandLine", "POWERSHELL")],
    ];
    table(&[
        (
            "sel:\n  CommandLine|contains: 'encodedcommand'\ncondition: sel",
            cmd,
            &[0, 1, 2],
        ),
        (
            "sel:\n  CommandLine|startswith: 'CMD'\ncondition: sel",
            cmd,
            &[3],
        ),
        (
            "sel:\n  CommandLine|endswith: 'WHOAMI'\ncondition: sel",
            cmd,
            &[3],
        ),
        (
            "sel:\n  CommandLine|contains|all: ['-noprofile', 'abc']\ncondition: sel",
            cmd,
            &[0],
        ),
        (
            "sel:\n  CommandLine|contains|cased: 'Encoded'\ncondition: sel",
            cmd,
            &[0, 2],
        ),
        (
            "sel:\n  CommandLine|cased: 'POWERSHELL'\ncondition: sel",
            cmd,
            &[4],
        ),
        // windash: `-`, `/`, en dash, em dash and horizontal bar are interchangeable.
        (
            "sel:\n  CommandLine|windash|contains: ' -encodedcommand '\ncondition: sel",
            cmd,
            &[0, 1, 2],
        ),
        (
            "sel:\n  CommandLine|neq: 'POWERSHELL'\ncondition: sel",
            cmd,
            &[0, 1, 2, 3],
        ),
        // Regular expressions: case-sensitive unless `i`; `m` and `s` as in PCRE.
        (
            "sel:\n  CommandLine|re: 'Encoded[A-Z][a-z]+'\ncondition: sel",
            cmd,
            &[0, 2],
        ),
        (
            "sel:\n  CommandLine|re|i: '^powershell\\.exe [-/]enc'\ncondition: sel",
            cmd,
            &[1],
        ),
    ]);
    let lines: &[&[(&str, &str)]] = &[&[("Text", "first\nsecond")], &[("Text", "firstsecond")]];
    table(&[
        ("sel:\n  Text|re: '^second$'\ncondition: sel", lines, &[]),
        ("sel:\n  Text|re|m: '^second$'\ncondition: sel", lines, &[0]),
        (
            "sel:\n  Text|re: 'first.second'\ncondition: sel",
            lines,
            &[],
        ),
        (
            "sel:\n  Text|re|s: 'first.second'\ncondition: sel",
            lines,
            &[0],
        ),
    ]);
}

#[test]
fn encoding_modifiers() {
    // "powershell -c http://evil" base64-encoded, and "http://" UTF-16LE base64-encoded.
    let events: &[&[(&str, &str)]] = &[
        &[("CommandLine", "x cG93ZXJzaGVsbCAtYyBodHRwOi8vZXZpbA== y")],
        &[("CommandLine", "aAB0AHQAcAA6AC8ALwBlAHYAaQBsAA==")],
        &[("CommandLine", "Y21k")],
    ];
    table(&[
        (
            "sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel",
            events,
            &[0],
        ),
        (
            "sel:\n  CommandLine|wide|base64offset|contains: 'http://'\ncondition: sel",
            events,
            &[1],
        ),
        (
            "sel:\n  CommandLine|base64: 'cmd'\ncondition: sel",
            events,
            &[2],
        ),
        (
            "sel:\n  CommandLine|utf16le|base64: 'http://evil'\ncondition: sel",
            events,
            &[1],
        ),
    ]);
}

#[test]
fn numeric_time_ip_and_fieldref_modifiers() {
    let events: &[&[(&str, &str)]] = &[
        &[
            ("Port", "22"),
            ("Time", "2024-03-05T18:07:09Z"),
            ("Ip", "10.1.2.3"),
            ("A", "x"),
            ("B", "X"),
        ],
        &[
            ("Port", "8080"),
            ("Time", "2024-03-05T08:07:09Z"),
            ("Ip", "2001:db8::1"),
            ("A", "x"),
            ("B", "y"),
        ],
        &[("Port", "n/a"), ("Ip", "not an ip")],
    ];
    table(&[
        ("sel:\n  Port|lt: 1024\ncondition: sel", events, &[0]),
        ("sel:\n  Port|lte: 22\ncondition: sel", events, &[0]),
        ("sel:\n  Port|gt: 1024\ncondition: sel", events, &[1]),
        ("sel:\n  Port|gte: 8080\ncondition: sel", events, &[1]),
        ("sel:\n  Time|hour: 18\ncondition: sel", events, &[0]),
        ("sel:\n  Time|hour|lt: 12\ncondition: sel", events, &[1]),
        ("sel:\n  Time|minute: 7\ncondition: sel", events, &[0, 1]),
        ("sel:\n  Time|day: 5\ncondition: sel", events, &[0, 1]),
        ("sel:\n  Time|week: 10\ncondition: sel", events, &[0, 1]),
        ("sel:\n  Time|month: 3\ncondition: sel", events, &[0, 1]),
        ("sel:\n  Time|year: 2024\ncondition: sel", events, &[0, 1]),
        ("sel:\n  Ip|cidr: 10.0.0.0/8\ncondition: sel", events, &[0]),
        (
            "sel:\n  Ip|cidr: '2001:db8::/32'\ncondition: sel",
            events,
            &[1],
        ),
        (
            "sel:\n  Ip|cidr: ['10.0.0.0/8', '2001:db8::/32']\ncondition: sel",
            events,
            &[0, 1],
        ),
        ("sel:\n  A|fieldref: B\ncondition: sel", events, &[0]),
        ("sel:\n  A|fieldref|cased: B\ncondition: sel", events, &[]),
        ("sel:\n  A|fieldref|neq: B\ncondition: sel", events, &[1]),
    ]);
}

#[test]
fn keywords_search_the_whole_event() {
    let events = [
        event(&[("Service", "EvilService installed")], None),
        event(&[], Some("started svchost.exe -n evil now")),
        event(
            &[
                ("A", "OabVirtualDirectory"),
                ("B", "set -ExternalUrl http://x"),
            ],
            None,
        ),
        event(&[("A", "benign")], Some("nothing")),
        {
            // An access log line: its request URL and user agent are columns, not attrs.
            let mut access = event(&[("access.protocol", "HTTP/1.1")], None);
            access.url = Some(Cow::Borrowed(
                "/search?q=${jndi:ldap://x/Basic/Command/Base64/aWQ=}",
            ));
            access.user_agent = Some(Cow::Borrowed("sqlmap/1.8.2"));
            access
        },
    ];
    let cases: [(&str, &[usize]); 3] = [
        (
            "keywords:\n  - 'EVILSERVICE'\n  - 'svchost.exe -n evil'\ncondition: keywords",
            &[0, 1],
        ),
        (
            "keywords:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: keywords",
            &[2],
        ),
        (
            "url:\n  - '/Basic/Command/Base64/'\nagent:\n  - 'sqlmap/'\ncondition: url and agent",
            &[4],
        ),
    ];
    for (detection, expected) in cases {
        let set = load(&[rule_text(detection)], &Placeholders::default());
        assert_eq!(rows_matched(set, &events), expected, "{detection}");
    }
}

#[test]
fn conditions_follow_precedence_and_quantifiers() {
    let events: &[&[(&str, &str)]] = &[
        &[("A", "1")],
        &[("B", "1")],
        &[("A", "1"), ("B", "1")],
        &[("A", "1"), ("C", "1")],
        &[("H", "1")],
    ];
    let searches = "sel_a:\n  A: 1\nsel_b:\n  B: 1\nfilter:\n  C: 1\n_helper:\n  H: 1\n";
    let cases: [(&str, &[usize]); 8] = [
        ("sel_a or sel_b and not filter", &[0, 1, 2, 3]),
        ("(sel_a or sel_b) and not filter", &[0, 1, 2]),
        ("not sel_a and sel_b", &[1]),
        ("1 of sel_*", &[0, 1, 2, 3]),
        ("all of sel_*", &[2]),
        ("1 of them", &[0, 1, 2, 3]),
        ("all of them", &[]),
        ("1 of sel_* and not 1 of filter*", &[0, 1, 2]),
    ];
    for (condition, expected) in cases {
        let events: Vec<_> = events.iter().map(|attrs| event(attrs, None)).collect();
        let set = load(
            &[rule_text(&format!("{searches}condition: {condition}"))],
            &Placeholders::default(),
        );
        assert_eq!(rows_matched(set, &events), expected, "{condition}");
    }
    // A list of conditions is joined by OR.
    let events: Vec<_> = events.iter().map(|attrs| event(attrs, None)).collect();
    let set = load(
        &[rule_text(&format!(
            "{searches}condition:\n  - sel_a and filter\n  - _helper"
        ))],
        &Placeholders::default(),
    );
    assert_eq!(rows_matched(set, &events), [3, 4]);
}

#[test]
fn expand_uses_configured_placeholders_and_refuses_unconfigured_ones() {
    let detection = "sel:\n  User|expand: '%Administrators%'\ncondition: sel";
    let unconfigured = load_texts(&[(None, rule_text(detection))], &Placeholders::default());
    assert_eq!(unconfigured.totals().refused, 1);
    assert!(
        unconfigured.checks[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("%Administrators%"),
        "{:?}",
        unconfigured.checks
    );
    let placeholders =
        Placeholders::from_toml("Administrators = ['adm_*', 'root']").expect("valid");
    let set = load(&[rule_text(detection)], &placeholders);
    let events: Vec<_> = [("User", "adm_alice"), ("User", "root"), ("User", "bob")]
        .iter()
        .map(|attr| event(&[*attr], None))
        .collect();
    assert_eq!(rows_matched(set, &events), [0, 1]);
}

#[test]
fn filters_suppress_the_rules_they_name() {
    let rule = "title: Data compressed\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\rar.exe'\n    condition: sel\n";
    let filter = |rules: &str| {
        format!(
            "title: Filter admins\nlogsource:\n    category: process_creation\n    product: windows\nfilter:\n    rules: {rules}\n    selection:\n        User|startswith: 'adm_'\n    condition: selection\n"
        )
    };
    let windows = |user: &str| {
        let mut event = event(
            &[("Image", r"C:\rar.exe"), ("User", user), ("EventID", "1")],
            None,
        );
        event.format = "windows";
        event.class = weft_ingest::Class::ProcessActivity;
        event
    };
    let events = [windows("adm_bob"), windows("alice")];
    for rules in ["[6f3e2987-db24-4c78-a860-b4f4095a7095]", "any"] {
        let set = load(&[rule.to_string(), filter(rules)], &Placeholders::default());
        assert_eq!(set.rules[0].filters, ["Filter admins"]);
        assert_eq!(rows_matched(set, &events), [1], "rules: {rules}");
    }
    let set = load(
        &[
            rule.to_string(),
            filter("[00000000-0000-0000-0000-000000000000]"),
        ],
        &Placeholders::default(),
    );
    assert_eq!(rows_matched(set, &events), [0, 1]);
}

#[test]
fn logsource_routes_rules_to_their_events() {
    let rule = "title: Whoami\nid: 5b6f6e1a-0000-4000-8000-000000000002\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\n";
    let mut sysmon = event(&[("Image", r"C:\whoami.exe"), ("EventID", "1")], None);
    sysmon.format = "windows";
    sysmon.class = weft_ingest::Class::ProcessActivity;
    let mut security = event(
        &[("NewProcessName", r"C:\whoami.exe"), ("EventID", "4688")],
        None,
    );
    security.format = "windows";
    security.class = weft_ingest::Class::ProcessActivity;
    let mut terminated = sysmon.clone();
    terminated.attrs[1].1 = Cow::Borrowed("5");
    let json = event(&[("Image", r"C:\whoami.exe")], None);
    let set = load(&[rule.to_string()], &Placeholders::default());
    assert_eq!(
        rows_matched(set, &[sysmon, security, terminated, json]),
        [0, 1]
    );
}

#[test]
fn refuses_obsolete_aggregations_and_points_to_correlations() {
    let set = load_texts(
        &[(
            None,
            rule_text("sel:\n  A: 1\ncondition: sel | count() by User > 5"),
        )],
        &Placeholders::default(),
    );
    let reason = set.checks[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("correlation rule"), "{reason}");
}

// Generated rules and events: the matcher and the reference evaluator agree.

const FIELDS: [&str; 3] = ["Image", "CommandLine", "User"];

fn value_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[aAbB/\\-é]{0,4}").expect("valid regex")
}

fn pattern_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[aAb/\\-é*?]{0,4}").expect("valid regex")
}

fn item_strategy() -> impl Strategy<Value = String> {
    let modifiers = prop_oneof![
        Just(""),
        Just("|contains"),
        Just("|startswith"),
        Just("|endswith"),
        Just("|contains|cased"),
        Just("|windash|contains"),
        Just("|neq"),
        Just("|contains|all"),
        Just("|re"),
        Just("|exists"),
        Just("|fieldref"),
        Just("keywords"),
        Just("null"),
    ];
    (
        0..FIELDS.len(),
        modifiers,
        proptest::collection::vec(pattern_strategy(), 2..4),
    )
        .prop_map(|(field, modifiers, values)| {
            let field = FIELDS[field];
            match modifiers {
                "|exists" => format!("{field}|exists: {}", values[0].len() % 2 == 0),
                "null" => format!("{field}: null"),
                "|fieldref" => format!(
                    "{field}|fieldref: {}",
                    FIELDS[values[0].len() % FIELDS.len()]
                ),
                // A keyword search: the whole search identifier is this list.
                "keywords" => {
                    let list: Vec<String> =
                        values.iter().map(|value| format!("'{value}'")).collect();
                    format!("keywords: [{}]", list.join(", "))
                }
                "|re" => format!("{field}|re: '{}'", values[0].replace(['*', '?'], ".")),
                _ => {
                    let list: Vec<String> =
                        values.iter().map(|value| format!("'{value}'")).collect();
                    format!("{field}{modifiers}: [{}]", list.join(", "))
                }
            }
        })
}

fn condition_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("s0"),
        Just("s0 and not s1"),
        Just("s0 or s1 and s2"),
        Just("not (s0 or s1)"),
        Just("1 of s*"),
        Just("all of s*"),
        Just("s2 and not 1 of s0, s1"),
    ]
    .prop_map(|condition| condition.replace(", s1", "").to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn matcher_agrees_with_reference(
        searches in proptest::collection::vec(proptest::collection::vec(item_strategy(), 1..3), 3),
        condition in condition_strategy(),
        events in proptest::collection::vec(
            proptest::collection::vec((0..FIELDS.len(), value_strategy()), 0..4), 1..12),
    ) {
        let mut detection = String::new();
        for (index, items) in searches.iter().enumerate() {
            match items.iter().find_map(|item| item.strip_prefix("keywords: ")) {
                Some(list) => detection.push_str(&format!("s{index}: {list}\n")),
                None => {
                    detection.push_str(&format!("s{index}:\n"));
                    for item in items {
                        detection.push_str(&format!("  {item}\n"));
                    }
                }
            }
        }
        detection.push_str(&format!("condition: {condition}"));
        let text = rule_text(&detection);
        let set = load_texts(&[(None, text.clone())], &Placeholders::default());
        // Generated rules may be invalid (e.g. a bad regex, a duplicated key): skip those.
        prop_assume!(set.errors.is_empty());
        let events: Vec<_> = events
            .iter()
            .map(|attrs| {
                let mut seen = Vec::new();
                let attrs: Vec<(&str, &str)> = attrs
                    .iter()
                    .filter(|(field, _)| {
                        let new = !seen.contains(field);
                        seen.push(*field);
                        new
                    })
                    .map(|(field, value)| (FIELDS[*field], value.as_str()))
                    .collect();
                event(&attrs, None)
            })
            .collect();
        // rows_matched asserts the two evaluators agree.
        rows_matched(set, &events);
    }
}
