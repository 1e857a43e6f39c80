//! Incidents end to end over a real SQLite store: alerts chained by shared entities across
//! services become one incident; ubiquity guards, ignore lists and the lookback keep unrelated
//! alerts apart; bridging alerts merge incidents; suppression counts repeats; replays and
//! restarts change nothing; analysts' changes are audited; the read side filters and sorts;
//! and batching never changes the result.

use std::collections::BTreeMap;

use proptest::prelude::*;
use weft_correlate::correlation::Alert;
use weft_correlate::correlation::alert::alert_id;
use weft_correlate::db;
use weft_correlate::incident::{
    Activity, AlertFilter, IncidentConfig, IncidentError, IncidentFilter, IncidentSort,
    IncidentStatus, IncidentStore, Severity, incident_id,
};
use weft_correlate::record::{AlertRecord, AlertSource, Entity};

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const T0: i64 = 1_777_636_800_000_000; // 2026-05-01T12:00:00Z
const NOW: i64 = T0 + 1000 * HOUR;

/// An alert under construction.
struct A {
    alert: Alert,
    entities: Vec<Entity>,
    services: Vec<String>,
}

fn a(name: &str, rule: &str, minute: i64) -> A {
    A {
        alert: Alert {
            alert_id: alert_id(rule, name, name),
            rule_id: None,
            rule_name: rule.to_string(),
            title: format!("{rule} fired"),
            level: Some("medium".into()),
            tags: Vec::new(),
            author: None,
            correlation_type: "event_count".into(),
            group: BTreeMap::new(),
            window_start: T0 + minute * MINUTE - MINUTE,
            window_end: T0 + minute * MINUTE,
            event_ids: vec![format!("{name}-e1"), format!("{name}-e2")],
            event_count: 2,
        },
        entities: Vec::new(),
        services: Vec::new(),
    }
}

impl A {
    fn entity(mut self, kind: &str, value: &str) -> A {
        self.entities.push(Entity::new(kind, value));
        self
    }
    fn service(mut self, service: &str) -> A {
        self.services.push(service.to_string());
        self
    }
    fn level(mut self, level: &str) -> A {
        self.alert.level = Some(level.to_string());
        self
    }
    fn title(mut self, title: &str) -> A {
        self.alert.title = title.to_string();
        self
    }
    fn tags(mut self, tags: &[&str]) -> A {
        self.alert.tags = tags.iter().map(|tag| tag.to_string()).collect();
        self
    }
    fn group(mut self, field: &str, value: &str) -> A {
        self.alert.group.insert(field.into(), value.into());
        self
    }
    fn build(self) -> AlertRecord {
        AlertRecord::new(
            self.alert,
            self.entities,
            self.services,
            AlertSource::Stream,
        )
    }
}

fn store(config: &str) -> IncidentStore {
    let config: IncidentConfig = toml::from_str(config).expect("config parses");
    IncidentStore::with_connection(db::open_in_memory().expect("db"), &config).expect("store")
}

fn all_incidents(store: &IncidentStore) -> Vec<weft_correlate::incident::IncidentSummary> {
    let filter = IncidentFilter {
        statuses: vec![
            IncidentStatus::Open,
            IncidentStatus::Acknowledged,
            IncidentStatus::Closed,
            IncidentStatus::Merged,
        ],
        sort: IncidentSort::Created,
        ascending: true,
        ..IncidentFilter::default()
    };
    store.list(&filter).expect("list")
}

fn open_incidents(store: &IncidentStore) -> Vec<weft_correlate::incident::IncidentSummary> {
    store.list(&IncidentFilter::default()).expect("list")
}

#[test]
fn a_chain_across_services_sharing_entities_is_one_incident() {
    let mut store = store("");
    let login = a("login", "password_spray", 0)
        .entity("user", "alice")
        .entity("src_ip", "203.0.113.7")
        .service("auth")
        .tags(&["attack.credential_access", "attack.t1110.003"]);
    let token = a("token", "token_reuse", 5)
        .entity("src_ip", "203.0.113.7")
        .entity("session_id", "s-42")
        .service("api")
        .level("high")
        .title("Session token reused from a new address")
        .tags(&["attack.t1550.004", "attack.defense-evasion"]);
    let dump = a("dump", "bulk_export", 9)
        .entity("session_id", "s-42")
        .entity("host", "db-1")
        .service("db")
        .level("high")
        .tags(&["attack.exfiltration", "attack.t1530"]);
    let outcome = store
        .record(&[dump.build(), login.build(), token.build()], NOW)
        .expect("record");
    assert_eq!(outcome.stored, 3);
    assert_eq!(outcome.created.len(), 1);
    let incidents = open_incidents(&store);
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.id, outcome.created[0]);
    assert_eq!(incident.alert_count, 3);
    assert_eq!(incident.rule_count, 3);
    assert_eq!(incident.services, ["api", "auth", "db"]);
    assert_eq!(incident.entities.len(), 4);
    assert_eq!(
        incident.tactics,
        ["defense_evasion", "credential_access", "exfiltration"]
    );
    assert_eq!(incident.techniques, ["T1110.003", "T1530", "T1550.004"]);
    // high, raised one level because three distinct rules agree
    assert_eq!(incident.severity, Severity::Critical);
    // the earliest most severe alert names it, with its most frequent entity
    assert_eq!(
        incident.title,
        "Session token reused from a new address (src_ip 203.0.113.7)"
    );
    assert_eq!(incident.first_seen, T0 - MINUTE);
    assert_eq!(incident.last_seen, T0 + 9 * MINUTE);
    // the incident is named after its first alert
    let first = outcome.placements.first().expect("placed").alert_id.clone();
    assert_eq!(incident.id, incident_id(&first));

    let detail = store.get(&incident.id).expect("get").expect("exists");
    let ids: Vec<&str> = detail
        .alerts
        .iter()
        .map(|alert| alert.alert.title.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "password_spray fired",
            "Session token reused from a new address",
            "bulk_export fired"
        ]
    );
    assert_eq!(detail.evidence_event_ids.len(), 6);
    let ip = detail
        .entity_counts
        .iter()
        .find(|count| count.value == "203.0.113.7")
        .expect("ip counted");
    assert_eq!(ip.alert_count, 2);
    assert_eq!(detail.history[0].activity, Activity::Created);
}

#[test]
fn unrelated_alerts_make_separate_incidents() {
    let mut store = store("");
    let records = [
        a("one", "r1", 0).entity("user", "alice").build(),
        a("two", "r1", 1).entity("user", "bob").build(),
        a("three", "r2", 2).entity("host", "web-1").build(),
        a("none", "r3", 3).build(),
    ];
    let outcome = store.record(&records, NOW).expect("record");
    assert_eq!(outcome.created.len(), 4);
    assert_eq!(store.count(&IncidentFilter::default()).expect("count"), 4);
}

#[test]
fn ubiquitous_values_stop_joining_alerts() {
    let mut store = store("max_alerts_per_entity = 3");
    let records: Vec<AlertRecord> = (0..8)
        .map(|index| {
            a(&format!("nat{index}"), "r", index)
                .entity("src_ip", "198.51.100.1")
                .entity("user", &format!("user{index}"))
                .build()
        })
        .collect();
    store.record(&records, NOW).expect("record");
    let incidents = open_incidents(&store);
    // the first three alerts joined through the address, the other five stand alone
    assert_eq!(incidents.len(), 6);
    let sizes: Vec<u64> = all_incidents(&store)
        .iter()
        .map(|incident| incident.alert_count)
        .collect();
    assert_eq!(sizes, [3, 1, 1, 1, 1, 1]);
}

#[test]
fn ignored_and_placeholder_values_never_join() {
    let mut store = store("ignore = { user = [\"root\"] }");
    let records = [
        a("r1", "r", 0).entity("user", "ROOT").build(),
        a("r2", "r", 1).entity("user", "root").build(),
        a("dash1", "r", 2).entity("user", "-").build(),
        a("dash2", "r", 3).entity("user", "-").build(),
        a("lo1", "r", 4).entity("src_ip", "127.0.0.1").build(),
        a("lo2", "r", 5).entity("src_ip", "127.0.0.1").build(),
        a("other1", "r", 6).entity("process", "bash").build(),
        a("other2", "r", 7).entity("process", "bash").build(),
    ];
    let outcome = store.record(&records, NOW).expect("record");
    assert_eq!(outcome.created.len(), 8);
    // they are still the incidents' entities, only they do not join; no entity names them
    let detail = store
        .get(&outcome.created[0])
        .expect("get")
        .expect("exists");
    assert_eq!(detail.summary.entities, [Entity::new("user", "ROOT")]);
    assert_eq!(detail.summary.title, "r fired");
}

#[test]
fn an_alert_after_the_lookback_starts_a_new_incident() {
    let mut store = store("lookback = \"1h\"");
    store
        .record(&[a("first", "r", 0).entity("user", "alice").build()], NOW)
        .expect("record");
    let joined = store
        .record(&[a("soon", "r", 50).entity("user", "alice").build()], NOW)
        .expect("record");
    assert_eq!(joined.created.len(), 0);
    assert_eq!(joined.updated.len(), 1);
    let late = store
        .record(
            &[a("late", "r", 50 + 61).entity("user", "alice").build()],
            NOW,
        )
        .expect("record");
    assert_eq!(late.created.len(), 1);
    assert_eq!(open_incidents(&store).len(), 2);
}

#[test]
fn an_alert_bridging_two_incidents_merges_them_into_the_oldest() {
    let mut store = store("");
    let first = store
        .record(
            &[a("a", "r1", 0)
                .entity("user", "alice")
                .service("auth")
                .build()],
            NOW,
        )
        .expect("record");
    let second = store
        .record(
            &[a("b", "r2", 1)
                .entity("src_ip", "203.0.113.9")
                .service("api")
                .build()],
            NOW,
        )
        .expect("record");
    let (oldest, younger) = (first.created[0].clone(), second.created[0].clone());
    store
        .comment(&younger, "bob", "looks like a scanner", NOW)
        .expect("comment");
    store
        .assign(&younger, Some("bob"), "bob", NOW)
        .expect("assign");
    let bridge = store
        .record(
            &[a("c", "r3", 2)
                .entity("user", "alice")
                .entity("src_ip", "203.0.113.9")
                .build()],
            NOW + 1,
        )
        .expect("record");
    assert_eq!(bridge.merged.len(), 1);
    assert_eq!(bridge.merged[0].from, younger);
    assert_eq!(bridge.merged[0].into, oldest);
    assert_eq!(bridge.placements[0].incident_id, oldest);

    let open = open_incidents(&store);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].alert_count, 3);
    assert_eq!(open[0].services, ["api", "auth"]);
    assert_eq!(
        open[0].assignee.as_deref(),
        Some("bob"),
        "assignee carried over"
    );
    let merged = store.get(&younger).expect("get").expect("exists");
    assert_eq!(merged.summary.status, IncidentStatus::Merged);
    assert_eq!(merged.summary.merged_into.as_deref(), Some(oldest.as_str()));
    assert!(merged.alerts.is_empty());
    assert_eq!(
        merged.comments.len(),
        1,
        "comments stay where they were written"
    );
    let last = merged.history.last().expect("history");
    assert_eq!(
        (last.from.as_deref(), last.to.as_deref()),
        (Some("open"), Some("merged"))
    );
    let target = store.get(&oldest).expect("get").expect("exists");
    assert_eq!(target.merged_from, std::slice::from_ref(&younger));
    assert!(
        target
            .history
            .iter()
            .any(|entry| entry.activity == Activity::Absorbed)
    );
    let alerts = store
        .alerts(&AlertFilter {
            incident_id: Some(oldest.clone()),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(alerts.len(), 3);

    let error = store
        .set_status(&younger, IncidentStatus::Closed, "bob", NOW)
        .expect_err("merged is read-only");
    assert!(matches!(error, IncidentError::Merged { ref into, .. } if *into == oldest));
    assert!(
        error
            .to_string()
            .contains(&format!("change {oldest} instead"))
    );
}

#[test]
fn repeated_alerts_are_suppressed_within_the_window() {
    let mut store = store("[[suppress]]\nrule = \"brute\"\ngroup_by = [\"user\"]\nwindow = \"1h\"");
    let records = [
        a("b0", "brute", 0).entity("user", "alice").build(),
        a("b1", "brute", 10).group("user", "alice").build(),
        a("b2", "brute", 20).entity("user", "alice").build(),
        a("bob", "brute", 15).entity("user", "bob").build(),
        a("nouser1", "brute", 16)
            .entity("src_ip", "203.0.113.1")
            .build(),
        a("nouser2", "brute", 17)
            .entity("src_ip", "203.0.113.1")
            .build(),
        a("other_rule", "spray", 18).entity("user", "alice").build(),
    ];
    let outcome = store.record(&records, NOW).expect("record");
    assert_eq!((outcome.stored, outcome.suppressed), (5, 2));
    let first = store
        .alerts(&AlertFilter {
            rule: Some("brute".into()),
            entity: Some(Entity::new("user", "alice")),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].suppressed_count, 2);
    assert_eq!(first[0].last_suppressed, Some(T0 + 20 * MINUTE));

    // replaying counts nothing twice
    let replay = store.record(&records, NOW).expect("replay");
    assert_eq!(
        (replay.duplicates, replay.stored, replay.suppressed),
        (7, 0, 0)
    );

    // after the window a new alert is stored and opens the next window
    let later = [
        a("b3", "brute", 61).entity("user", "alice").build(),
        a("b4", "brute", 70).entity("user", "alice").build(),
    ];
    let outcome = store.record(&later, NOW).expect("record");
    assert_eq!((outcome.stored, outcome.suppressed), (1, 1));
    let alice = store
        .alerts(&AlertFilter {
            rule: Some("brute".into()),
            entity: Some(Entity::new("user", "alice")),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(alice.len(), 2);
    assert_eq!(alice[0].alert.window_end, T0 + 61 * MINUTE, "newest first");
    assert_eq!(alice[0].suppressed_count, 1);
}

#[test]
fn replays_and_restarts_create_nothing_new() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let records = vec![
        a("a", "r1", 0).entity("user", "alice").build(),
        a("b", "r2", 1)
            .entity("user", "alice")
            .entity("host", "h")
            .build(),
        a("c", "r3", 2).entity("user", "carol").build(),
    ];
    let config = IncidentConfig::default();
    let before = {
        let mut store = IncidentStore::open(dir.path(), &config)?;
        let outcome = store.record(&records, NOW)?;
        assert_eq!(outcome.created.len(), 2);
        let again = store.record(&records, NOW + HOUR)?;
        assert_eq!((again.duplicates, again.stored), (3, 0));
        all_incidents(&store)
    };
    let mut reopened = IncidentStore::open(dir.path(), &config)?;
    let mut reversed = records.clone();
    reversed.reverse();
    let outcome = reopened.record(&reversed, NOW + 2 * HOUR)?;
    assert_eq!((outcome.duplicates, outcome.stored), (3, 0));
    assert!(outcome.created.is_empty() && outcome.updated.is_empty());
    assert_eq!(all_incidents(&reopened), before);

    // another store given the same alerts in another order names the same incidents
    let mut fresh = store("");
    fresh.record(&reversed, NOW)?;
    let ids = |list: Vec<weft_correlate::incident::IncidentSummary>| {
        list.into_iter()
            .map(|incident| incident.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(all_incidents(&fresh)), ids(before));
    Ok(())
}

#[test]
fn analysts_change_status_assign_and_comment_with_an_audit_trail() {
    let mut store = store("");
    let outcome = store
        .record(&[a("a", "r", 0).entity("user", "alice").build()], NOW)
        .expect("record");
    let id = outcome.created[0].clone();
    store
        .set_status(&id, IncidentStatus::Acknowledged, "ana", NOW + 1)
        .expect("ack");
    store
        .set_status(&id, IncidentStatus::Acknowledged, "ana", NOW + 2)
        .expect("same status is a no-op");
    store
        .assign(&id, Some("ana"), "lead", NOW + 3)
        .expect("assign");
    store
        .set_status(&id, IncidentStatus::Closed, "ana", NOW + 4)
        .expect("close");
    let comment = store
        .comment(&id, "ana", "  false positive? checking  ", NOW + 5)
        .expect("comment");
    assert_eq!(comment.text, "false positive? checking");

    // a new alert sharing the user reopens it
    let again = store
        .record(&[a("b", "r", 30).entity("user", "alice").build()], NOW + 6)
        .expect("record");
    assert_eq!(again.reopened, std::slice::from_ref(&id));
    store.assign(&id, None, "lead", NOW + 7).expect("unassign");

    let detail = store.get(&id).expect("get").expect("exists");
    assert_eq!(detail.summary.status, IncidentStatus::Open);
    assert_eq!(detail.summary.assignee, None);
    assert_eq!(detail.summary.updated, NOW + 7);
    assert_eq!(detail.summary.created, NOW);
    assert_eq!(detail.comments.len(), 1);
    let trail: Vec<(Activity, &str, Option<&str>, Option<&str>)> = detail
        .history
        .iter()
        .map(|entry| {
            (
                entry.activity,
                entry.actor.as_str(),
                entry.from.as_deref(),
                entry.to.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            (Activity::Created, "weft", None, Some("open")),
            (Activity::Status, "ana", Some("open"), Some("acknowledged")),
            (Activity::Assigned, "lead", None, Some("ana")),
            (
                Activity::Status,
                "ana",
                Some("acknowledged"),
                Some("closed")
            ),
            (Activity::Status, "weft", Some("closed"), Some("open")),
            (Activity::Assigned, "lead", Some("ana"), None),
        ]
    );
    assert_eq!(detail.history[4].time, NOW + 6);

    assert!(matches!(
        store.set_status("INC-000000000000", IncidentStatus::Closed, "ana", NOW),
        Err(IncidentError::UnknownIncident { .. })
    ));
    assert!(matches!(
        store.set_status(&id, IncidentStatus::Merged, "ana", NOW),
        Err(IncidentError::InvalidTransition { .. })
    ));
    assert!(matches!(
        store.comment(&id, "ana", "   ", NOW),
        Err(IncidentError::EmptyComment { .. })
    ));
    assert!(matches!(
        store.assign(&id, Some("x"), " ", NOW),
        Err(IncidentError::EmptyName { .. })
    ));
    assert!(store.get("INC-000000000000").expect("get").is_none());
}

#[test]
fn the_read_side_filters_sorts_and_pages() {
    let mut store = store("risk_raise_rules = 0");
    let records = [
        a("low", "r1", 0)
            .level("low")
            .entity("user", "lee")
            .service("auth")
            .title("Odd login")
            .build(),
        a("crit", "r2", 10)
            .level("critical")
            .entity("user", "cat")
            .service("db")
            .title("Mass export")
            .build(),
        a("high", "r3", 5)
            .level("high")
            .entity("host", "web-1")
            .service("api")
            .title("Web shell")
            .build(),
        a("med", "r4", 20)
            .entity("user", "mo")
            .service("api")
            .title("Odd 100%_ match")
            .build(),
    ];
    let outcome = store.record(&records, NOW).expect("record");
    let ids: Vec<(String, String)> = outcome
        .placements
        .iter()
        .map(|placement| {
            let detail = store
                .get(&placement.incident_id)
                .expect("get")
                .expect("exists");
            (detail.summary.title, placement.incident_id.clone())
        })
        .collect();
    let by_title = |title: &str| {
        ids.iter()
            .find(|(full, _)| full.starts_with(title))
            .map(|(_, id)| id.clone())
            .expect("incident")
    };
    let web = by_title("Web shell");
    store
        .assign(&web, Some("ana"), "lead", NOW)
        .expect("assign");
    store
        .set_status(&by_title("Odd login"), IncidentStatus::Closed, "ana", NOW)
        .expect("close");

    let titles = |filter: IncidentFilter| -> Vec<String> {
        store
            .list(&filter)
            .expect("list")
            .into_iter()
            .map(|incident| incident.title)
            .collect()
    };
    assert_eq!(
        titles(IncidentFilter::default()),
        [
            "Mass export (user cat)",
            "Web shell (host web-1)",
            "Odd 100%_ match (user mo)",
            "Odd login (user lee)"
        ]
    );
    assert_eq!(
        titles(IncidentFilter {
            sort: IncidentSort::LastSeen,
            ..IncidentFilter::default()
        })[0],
        "Odd 100%_ match (user mo)"
    );
    assert_eq!(
        titles(IncidentFilter {
            sort: IncidentSort::LastSeen,
            ascending: true,
            limit: Some(2),
            offset: 1,
            ..IncidentFilter::default()
        }),
        ["Web shell (host web-1)", "Mass export (user cat)"]
    );
    assert_eq!(
        titles(IncidentFilter {
            min_severity: Some(Severity::High),
            ..IncidentFilter::default()
        })
        .len(),
        2
    );
    assert_eq!(
        titles(IncidentFilter {
            statuses: vec![IncidentStatus::Closed],
            ..IncidentFilter::default()
        }),
        ["Odd login (user lee)"]
    );
    assert_eq!(
        titles(IncidentFilter {
            assignee: Some("ana".into()),
            ..IncidentFilter::default()
        }),
        ["Web shell (host web-1)"]
    );
    assert_eq!(
        titles(IncidentFilter {
            entity: Some(Entity::new("user", "cat")),
            ..IncidentFilter::default()
        }),
        ["Mass export (user cat)"]
    );
    assert_eq!(
        titles(IncidentFilter {
            service: Some("api".into()),
            ..IncidentFilter::default()
        })
        .len(),
        2
    );
    assert_eq!(
        titles(IncidentFilter {
            text: Some("odd".into()),
            ..IncidentFilter::default()
        })
        .len(),
        2
    );
    assert_eq!(
        titles(IncidentFilter {
            text: Some("100%_".into()),
            ..IncidentFilter::default()
        }),
        ["Odd 100%_ match (user mo)"]
    );
    assert_eq!(
        titles(IncidentFilter {
            text: Some("0%x".into()),
            ..IncidentFilter::default()
        })
        .len(),
        0,
        "LIKE wildcards in the text are literal"
    );
    let filter = IncidentFilter {
        service: Some("api".into()),
        limit: Some(1),
        ..IncidentFilter::default()
    };
    assert_eq!(
        store.count(&filter).expect("count"),
        2,
        "count ignores paging"
    );

    let alerts = store
        .alerts(&AlertFilter {
            min_severity: Some(Severity::High),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(alerts.len(), 2);
    let alerts = store
        .alerts(&AlertFilter {
            service: Some("api".into()),
            since: Some(T0 + 6 * MINUTE),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(alerts.len(), 1);
}

#[test]
fn summaries_serialize_with_the_api_keys() {
    let mut store = store("");
    store
        .record(
            &[a("a", "r", 0)
                .entity("user", "alice")
                .service("auth")
                .tags(&["attack.t1078"])
                .build()],
            NOW,
        )
        .expect("record");
    let summary = open_incidents(&store).remove(0);
    let json = serde_json::to_value(&summary).expect("json");
    for key in [
        "id",
        "title",
        "severity",
        "status",
        "entities",
        "alert_count",
        "services",
        "assignee",
        "tactics",
        "techniques",
        "first_seen",
        "last_seen",
        "created",
        "updated",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(
        json["entities"],
        serde_json::json!([{"type": "user", "value": "alice"}])
    );
    assert_eq!(json["severity"], "medium");
    assert_eq!(json["status"], "open");
    assert_eq!(json["first_seen"], "2026-05-01T11:59:00.000000Z");
    assert_eq!(json["techniques"], serde_json::json!(["T1078"]));
    let detail = store.get(&summary.id).expect("get").expect("exists");
    let json = serde_json::to_value(&detail).expect("json");
    assert_eq!(json["id"], summary.id.as_str());
    assert!(json["alerts"][0]["alert"]["alert_id"].is_string());
    assert!(json["history"][0]["time"].is_string());
}

fn arbitrary_records() -> impl Strategy<Value = Vec<AlertRecord>> {
    let users = ["alice", "bob", "carol", "root", "-"];
    let ips = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "127.0.0.1"];
    let record = (
        0..6usize,
        0..600i64,
        proptest::option::of(0..5usize),
        proptest::option::of(0..4usize),
        0..3usize,
        0..5usize,
    );
    proptest::collection::vec(record, 1..40).prop_map(move |specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(index, (rule, minute, user, ip, service, level))| {
                let mut alert = a(&format!("p{index}"), &format!("rule{rule}"), minute)
                    .level(["informational", "low", "medium", "high", "critical"][level])
                    .service(["auth", "api", "db"][service])
                    .tags(&[["attack.t1110", "attack.execution", "attack.t1059.001"][service]]);
                if let Some(user) = user {
                    alert = alert.entity("user", users[user]);
                }
                if let Some(ip) = ip {
                    alert = alert.entity("src_ip", ips[ip]);
                }
                alert.build()
            })
            .collect()
    })
}

fn snapshot(
    store: &IncidentStore,
) -> Vec<(weft_correlate::incident::IncidentSummary, Vec<String>)> {
    all_incidents(store)
        .into_iter()
        .map(|incident| {
            let alerts = store
                .get(&incident.id)
                .expect("get")
                .expect("exists")
                .alerts
                .into_iter()
                .map(|alert| alert.alert.alert_id)
                .collect();
            (incident, alerts)
        })
        .collect()
}

const PROPERTY_CONFIG: &str = "lookback = \"2h\"\nmax_alerts_per_entity = 6\n[[suppress]]\nrule = \"rule0\"\ngroup_by = [\"user\"]\nwindow = \"30m\"";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batching_never_changes_the_incidents(
        mut records in arbitrary_records(),
        cuts in proptest::collection::vec(0..40usize, 0..6),
    ) {
        records.sort_by(|left, right| {
            (left.alert.window_end, &left.alert.alert_id).cmp(&(right.alert.window_end, &right.alert.alert_id))
        });
        let mut whole = store(PROPERTY_CONFIG);
        let all = whole.record(&records, NOW).expect("record");
        let mut split = store(PROPERTY_CONFIG);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut.min(records.len())).collect();
        cuts.push(0);
        cuts.push(records.len());
        cuts.sort_unstable();
        cuts.dedup();
        let (mut stored, mut suppressed) = (0, 0);
        for bounds in cuts.windows(2) {
            let outcome = split.record(&records[bounds[0]..bounds[1]], NOW).expect("record");
            stored += outcome.stored;
            suppressed += outcome.suppressed;
        }
        prop_assert_eq!((all.stored, all.suppressed), (stored, suppressed));
        prop_assert_eq!(snapshot(&whole), snapshot(&split));
        let replay = split.record(&records, NOW).expect("replay");
        prop_assert_eq!(replay.duplicates, records.len());
    }
}

/// An alert keeps its rule's author (SigmaHQ's licence asks that findings name it), also in a
/// store written before alerts had the column.
#[test]
fn alerts_keep_their_rules_author_also_in_an_older_store() {
    let connection = db::open_in_memory().expect("db");
    connection
        .execute_batch(
            "CREATE TABLE alert (
                alert_id TEXT PRIMARY KEY, rule_id TEXT, rule_name TEXT NOT NULL,
                rule_key TEXT NOT NULL, title TEXT NOT NULL, level TEXT, severity INTEGER NOT NULL,
                tags TEXT NOT NULL, correlation_type TEXT NOT NULL, group_values TEXT NOT NULL,
                window_start INTEGER NOT NULL, window_end INTEGER NOT NULL, event_ids TEXT NOT NULL,
                event_count INTEGER NOT NULL, entities TEXT NOT NULL, services TEXT NOT NULL,
                source TEXT NOT NULL, incident_id TEXT, stored_at INTEGER NOT NULL,
                suppressed_count INTEGER NOT NULL DEFAULT 0, last_suppressed INTEGER)",
        )
        .expect("an alert table without the author");
    let config: IncidentConfig = toml::from_str("").expect("config parses");
    let mut store = IncidentStore::with_connection(connection, &config).expect("store opens");
    let mut sigmahq = a("one", "r1", 0).entity("user", "alice");
    sigmahq.alert.author = Some("Leo Tsaousis (@laripping)".into());
    let ours = a("two", "r2", 1).entity("user", "bob");
    store
        .record(&[sigmahq.build(), ours.build()], NOW)
        .expect("record");
    let alerts = store.alerts(&AlertFilter::default()).expect("alerts");
    let authors: BTreeMap<&str, Option<&str>> = alerts
        .iter()
        .map(|stored| {
            (
                stored.alert.rule_name.as_str(),
                stored.alert.author.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        authors,
        BTreeMap::from([("r1", Some("Leo Tsaousis (@laripping)")), ("r2", None)])
    );
}
