//! The index answers lists and counts exactly as the store does: same filters (exact values,
//! case and all), same order and tie-breaks, same totals and pages, merged incidents left out
//! unless asked for, and changes made after the index was built seen at once.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow};
use weft_correlate::correlation::Alert;
use weft_correlate::correlation::alert::alert_id;
use weft_correlate::incident::{
    IncidentConfig, IncidentFilter, IncidentSort, IncidentStatus, IncidentStore, Severity,
};
use weft_correlate::record::{AlertRecord, AlertSource, Entity};

use super::{IncidentPage, IncidentQuery, Incidents};

/// 2026-11-01T00:00:00Z.
const START: i64 = 1_793_491_200_000_000;
const MINUTE: i64 = 60_000_000;
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const RULES: [(&str, &str, &str); 4] = [
    ("password_spray", "Password spray", "attack.t1110.003"),
    ("token_reuse", "Session token reused", "attack.t1550.001"),
    ("pod_exec", "Interactive exec into a pod", "attack.t1609"),
    ("egress", "Unusual egress", "attack.t1041"),
];
const SERVICES: [&str; 5] = ["auth", "Auth", "payments", "gateway", "k8s"];

/// Alert `index` of a varied history: users shared by several alerts (and unique ones), an
/// address now and then that bridges two users' incidents (a merge), process names differing
/// only in case, services too, and window ends shared by three alerts at a time.
fn alert(index: u64) -> AlertRecord {
    let (rule, title, technique) = RULES[(index % 4) as usize];
    let end = START + i64::try_from(index / 3).unwrap_or(0) * MINUTE;
    let user = if index.is_multiple_of(4) {
        format!("user-{index}")
    } else {
        format!("user-{}", index % 37)
    };
    let mut entities = vec![Entity::new("user", &user)];
    if index.is_multiple_of(7) {
        entities.push(Entity::new("src_ip", format!("10.0.0.{}", index % 50)));
    }
    if index.is_multiple_of(11) {
        entities.push(Entity::new("process", "Sshd"));
    } else if index.is_multiple_of(13) {
        entities.push(Entity::new("process", "sshd"));
    }
    let event = format!("e-{index}");
    let alert = Alert {
        alert_id: alert_id(rule, &user, &event),
        rule_id: Some(format!("{rule}-id")),
        rule_name: rule.to_string(),
        title: format!("{title} ({user})"),
        level: Some(LEVELS[(index * 7 % 5) as usize].to_string()),
        tags: vec![
            "attack.credential_access".to_string(),
            technique.to_string(),
        ],
        author: None,
        correlation_type: "event_count".to_string(),
        group: BTreeMap::new(),
        window_start: end - MINUTE,
        window_end: end,
        event_ids: vec![event],
        event_count: 1,
    };
    let services = vec![
        SERVICES[(index % 5) as usize].to_string(),
        SERVICES[(index / 5 % 5) as usize].to_string(),
    ];
    AlertRecord::new(alert, entities, services, AlertSource::Stream)
}

/// Records alerts `from..to` in batches of 40 (incidents of one batch share their creation
/// time), then acknowledges, closes and assigns some of the open incidents.
fn record(store: &mut IncidentStore, from: u64, to: u64) -> anyhow::Result<()> {
    let mut next = from;
    while next < to {
        let end = (next + 40).min(to);
        let records: Vec<AlertRecord> = (next..end).map(alert).collect();
        store.record(&records, START + i64::try_from(end).unwrap_or(0))?;
        next = end;
    }
    let open = store.list(&IncidentFilter {
        statuses: vec![IncidentStatus::Open],
        sort: IncidentSort::Created,
        ascending: true,
        ..IncidentFilter::default()
    })?;
    let now = START + i64::try_from(to).unwrap_or(0) + 1;
    let mut changes = Vec::new();
    for (position, incident) in open.iter().enumerate() {
        match position % 5 {
            1 => changes.push((incident.id.as_str(), IncidentStatus::Acknowledged)),
            2 => changes.push((incident.id.as_str(), IncidentStatus::Closed)),
            _ => {}
        }
    }
    store.set_statuses(&changes, "dana", now)?;
    for (position, incident) in open.iter().enumerate() {
        let assignee = match position % 4 {
            0 => "dana",
            1 => "Dana",
            2 => "erin",
            _ => continue,
        };
        store.assign(&incident.id, Some(assignee), "lead", now)?;
    }
    Ok(())
}

/// Filters over every status set, least severity, exact filter, sort, order and page.
fn filters() -> Vec<IncidentFilter> {
    use IncidentStatus::{Acknowledged, Closed, Merged, Open};
    let statuses = [
        vec![],
        vec![Open],
        vec![Open, Acknowledged],
        vec![Closed],
        vec![Merged],
        vec![Open, Acknowledged, Closed, Merged],
    ];
    let severities = [None, Some(Severity::Medium), Some(Severity::Critical)];
    let exact: [(Option<&str>, Option<Entity>, Option<&str>); 8] = [
        (None, None, None),
        (Some("dana"), None, None),
        (Some("Dana"), None, None),
        (Some("nobody"), None, None),
        (None, Some(Entity::new("process", "Sshd")), None),
        (None, Some(Entity::new("process", "sshd")), None),
        (None, Some(Entity::new("user", "user-5")), Some("auth")),
        (None, None, Some("Auth")),
    ];
    let orders = [
        (IncidentSort::Severity, false),
        (IncidentSort::Severity, true),
        (IncidentSort::LastSeen, false),
        (IncidentSort::LastSeen, true),
        (IncidentSort::Created, false),
        (IncidentSort::Created, true),
    ];
    let pages = [(5, 0), (7, 3), (50, 10), (1000, 0)];
    let mut filters = Vec::new();
    let mut variant = 0_usize;
    for statuses in &statuses {
        for severity in severities {
            for (assignee, entity, service) in &exact {
                // Every order and page for the unfiltered queue, one of each in turn otherwise.
                let every = assignee.is_none() && entity.is_none() && service.is_none();
                for (order_index, (sort, ascending)) in orders.iter().enumerate() {
                    for (page_index, (limit, offset)) in pages.iter().enumerate() {
                        variant += 1;
                        if !every && !(order_index + page_index + variant).is_multiple_of(5) {
                            continue;
                        }
                        filters.push(IncidentFilter {
                            statuses: statuses.clone(),
                            min_severity: severity,
                            assignee: assignee.map(str::to_string),
                            entity: entity.clone(),
                            service: service.map(str::to_string),
                            text: None,
                            sort: *sort,
                            ascending: *ascending,
                            limit: Some(*limit),
                            offset: *offset,
                        });
                    }
                }
            }
        }
    }
    filters
}

/// Lists and counts every filter through the index and through the store, and compares.
fn assert_index_answers_as_the_store(
    incidents: &Incidents,
    store: &IncidentStore,
) -> anyhow::Result<usize> {
    let mut nonempty = 0;
    for filter in filters() {
        let expected = IncidentPage {
            incidents: store.list(&filter)?,
            total: store.count(&filter)?,
        };
        let snapshot = incidents.index().snapshot(store)?;
        let page = incidents
            .index()
            .page(&snapshot, "", &filter)?
            .ok_or_else(|| anyhow!("the index answers {filter:?}"))?;
        let from_index = IncidentPage {
            incidents: store.summaries_by_seq(&page.seqs)?,
            total: page.total,
        };
        assert_eq!(from_index, expected, "{filter:?}");
        let query = IncidentQuery {
            filter: filter.clone(),
            search: None,
        };
        assert_eq!(incidents.list(&query)?, expected, "{filter:?}");
        let counts = store.counts(&filter)?;
        let from_index = incidents
            .index()
            .counts(&snapshot, "", &filter)?
            .ok_or_else(|| anyhow!("the index counts {filter:?}"))?;
        assert_eq!(from_index, counts, "{filter:?}");
        assert_eq!(incidents.counts(&query)?, counts, "{filter:?}");
        if !expected.incidents.is_empty() {
            nonempty += 1;
        }
    }
    Ok(nonempty)
}

/// A search through the index, paged by the index, against the same search's matches listed
/// and paged by the store.
fn assert_search_pages_as_the_store(
    incidents: &Incidents,
    store: &IncidentStore,
    text: &str,
) -> anyhow::Result<()> {
    let matching = incidents.index().search(store, text)?;
    for filter in filters().into_iter().step_by(7) {
        let listed: Vec<_> = store
            .list(&IncidentFilter {
                limit: None,
                offset: 0,
                ..filter.clone()
            })?
            .into_iter()
            .filter(|incident| matching.contains(&incident.id))
            .collect();
        let expected = IncidentPage {
            total: u64::try_from(listed.len())?,
            incidents: listed
                .into_iter()
                .skip(usize::try_from(filter.offset)?)
                .take(usize::try_from(filter.limit.unwrap_or(u32::MAX))?)
                .collect(),
        };
        let query = IncidentQuery {
            filter: filter.clone(),
            search: Some(text.to_string()),
        };
        assert_eq!(incidents.list(&query)?, expected, "{text} {filter:?}");
    }
    Ok(())
}

#[test]
fn the_index_lists_and_counts_as_the_store_before_and_after_changes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = IncidentStore::open(dir.path(), &IncidentConfig::default())?;
    record(&mut store, 0, 400)?;
    let merged = store.count(&IncidentFilter {
        statuses: vec![IncidentStatus::Merged],
        ..IncidentFilter::default()
    })?;
    assert!(merged > 0, "the history merges incidents");
    let incidents = Incidents::open(dir.path())?;
    let built = incidents.index().rebuild(&store)?;
    assert!(built > 100, "{built} incidents indexed");
    let nonempty = assert_index_answers_as_the_store(&incidents, &store)?;
    assert!(nonempty > 100, "{nonempty} filters list incidents");
    for text in ["spray", "entity:user-5", "service:auth OR technique:t1609"] {
        assert_search_pages_as_the_store(&incidents, &store, text)?;
    }

    // Changes after the index was built: new alerts (new incidents, alerts joining and
    // merging existing ones), an assignment, a status change and a comment.
    record(&mut store, 400, 480)?;
    let oldest = store
        .list(&IncidentFilter {
            statuses: vec![IncidentStatus::Open],
            sort: IncidentSort::Created,
            ascending: true,
            limit: Some(2),
            ..IncidentFilter::default()
        })?
        .into_iter()
        .map(|incident| incident.id)
        .collect::<Vec<_>>();
    let [first, second] = oldest.as_slice() else {
        return Err(anyhow!("two open incidents, not {oldest:?}"));
    };
    let later = START + 1_000 * MINUTE;
    store.assign(first, Some("Frank"), "lead", later)?;
    store.set_status(second, IncidentStatus::Closed, "lead", later)?;
    store.comment(second, "lead", "a scanner we know", later)?;
    let merged_after = store.count(&IncidentFilter {
        statuses: vec![IncidentStatus::Merged],
        ..IncidentFilter::default()
    })?;
    assert!(merged_after > merged, "the new alerts merge incidents");
    assert_index_answers_as_the_store(&incidents, &store)?;
    let frank = incidents.list(&IncidentQuery {
        filter: IncidentFilter {
            assignee: Some("Frank".to_string()),
            limit: Some(10),
            ..IncidentFilter::default()
        },
        search: None,
    })?;
    let listed: Vec<&str> = frank
        .incidents
        .iter()
        .map(|incident| incident.id.as_str())
        .collect();
    assert_eq!(listed, [first.as_str()]);
    assert_search_pages_as_the_store(&incidents, &store, "comment:scanner")?;
    Ok(())
}

#[test]
fn the_queue_is_read_from_the_store_until_the_index_is_built() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = IncidentStore::open(dir.path(), &IncidentConfig::default())?;
    record(&mut store, 0, 120)?;
    let incidents = Incidents::open(dir.path())?;
    let filter = IncidentFilter {
        limit: Some(20),
        ..IncidentFilter::default()
    };
    let query = IncidentQuery {
        filter: filter.clone(),
        search: None,
    };
    let expected = IncidentPage {
        incidents: store.list(&filter)?,
        total: store.count(&filter)?,
    };
    // The first list starts the build and is answered at once, by the store or the index.
    assert_eq!(incidents.list(&query)?, expected);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !incidents.index().path().join("meta.json").is_file() {
        if std::time::Instant::now() > deadline {
            return Err(anyhow!("the index was not built within a minute"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let snapshot = incidents.index().snapshot(&store)?;
    let page = incidents
        .index()
        .page(&snapshot, "", &filter)?
        .context("the built index answers")?;
    assert_eq!(store.summaries_by_seq(&page.seqs)?, expected.incidents);
    assert_eq!(incidents.list(&query)?, expected);
    Ok(())
}
