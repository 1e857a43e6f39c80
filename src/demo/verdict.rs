//! The verdict of `weft scenarios`: per attack chain, whether it became exactly one incident
//! with the entities and services it must show and no entity of the benign traffic; whether
//! the benign traffic alone raised any incident; and the false-positive rate (alerts and
//! incidents per million benign events). Rendered as Markdown tables or as JSON.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;
use weft_correlate::incident::model::{IncidentSummary, StoredAlert};
use weft_correlate::record::Entity;

use super::attacks::{Expected, Woven};
use super::scenario::Setup;

/// Entity types whose every value in a chain's incident must come from the chain: the ones
/// an analyst pivots on. (Trace ids are per request and never shared with benign alerts.)
const JUDGED_TYPES: [&str; 4] = ["user", "src_ip", "session_id", "host"];

/// What one run produced.
#[derive(Debug)]
pub struct Measured {
    /// Log lines generated (one event each).
    pub events: u64,
    pub stored: u64,
    pub dead_lettered: u64,
    pub woven: Vec<Woven>,
    /// Incidents, merged ones left out.
    pub incidents: Vec<IncidentSummary>,
    pub alerts: Vec<StoredAlert>,
    pub seconds: f64,
}

/// One chain's result.
#[derive(Debug, Serialize)]
pub struct ChainResult {
    pub chain: String,
    /// Services the chain's incident must span.
    pub services: Vec<String>,
    /// Incidents that carry one of the chain's entities (exactly one is right).
    pub incidents: Vec<String>,
    /// Services the incident spans.
    pub incident_services: Vec<String>,
    /// Expected entities the incident lacks.
    pub missing_entities: Vec<Entity>,
    /// Entities of the incident the chain's events do not carry (pulled in from elsewhere).
    pub foreign_entities: Vec<Entity>,
    /// Expected services the incident lacks.
    pub missing_services: Vec<String>,
    pub alerts: u64,
    pub rules: u64,
    pub severity: String,
    pub passed: bool,
}

/// One run's totals.
#[derive(Debug, Serialize)]
pub struct RunTotals {
    pub events: u64,
    pub stored: u64,
    pub dead_lettered: u64,
    pub alerts: u64,
    pub incidents: u64,
    pub seconds: f64,
}

/// The whole verdict.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub setup: Setup,
    /// Events of the benign traffic (the benign-only run's events).
    pub benign_events: u64,
    /// Events the chains added.
    pub chain_events: u64,
    pub chains: Vec<ChainResult>,
    pub with_chains: RunTotals,
    pub benign_only: RunTotals,
    /// Incidents of the run with chains that belong to no chain.
    pub unexplained_incidents: Vec<String>,
    /// Alerts of the run with chains outside the chains' incidents.
    pub benign_alerts_with_chains: u64,
    /// Rules that fired in the benign-only run, with their alert counts.
    pub benign_rules: Vec<(String, u64)>,
    pub false_positive_alerts_per_million: f64,
    pub false_positive_incidents_per_million: f64,
    pub seconds: f64,
    pub passed: bool,
}

impl Verdict {
    pub fn judge(
        setup: Setup,
        with_chains: Measured,
        benign_only: Measured,
        seconds: f64,
    ) -> Verdict {
        let chains: Vec<ChainResult> = with_chains
            .woven
            .iter()
            .filter_map(|woven| woven.expected.as_ref())
            .map(|expected| judge_chain(expected, &with_chains.incidents))
            .collect();
        let explained: BTreeSet<&str> = chains
            .iter()
            .flat_map(|chain| chain.incidents.iter().map(String::as_str))
            .collect();
        let unexplained_incidents: Vec<String> = with_chains
            .incidents
            .iter()
            .filter(|incident| !explained.contains(incident.id.as_str()))
            .map(|incident| incident.id.clone())
            .collect();
        let benign_alerts_with_chains = with_chains
            .alerts
            .iter()
            .filter(|alert| {
                alert
                    .incident_id
                    .as_deref()
                    .is_none_or(|id| !explained.contains(id))
            })
            .count() as u64;
        let mut benign_rules: Vec<(String, u64)> = Vec::new();
        for alert in &benign_only.alerts {
            let name = alert.alert.rule_name.clone();
            match benign_rules.iter_mut().find(|(rule, _)| *rule == name) {
                Some((_, count)) => *count += 1,
                None => benign_rules.push((name, 1)),
            }
        }
        benign_rules.sort();
        let benign_events = benign_only.events;
        let per_million = |count: usize| {
            if benign_events == 0 {
                0.0
            } else {
                count as f64 * 1_000_000.0 / benign_events as f64
            }
        };
        let passed = chains.len() >= 5
            && chains.iter().all(|chain| chain.passed)
            && unexplained_incidents.is_empty()
            && benign_only.incidents.is_empty()
            && with_chains.dead_lettered == 0
            && benign_only.dead_lettered == 0;
        Verdict {
            setup,
            benign_events,
            chain_events: with_chains.events.saturating_sub(benign_events),
            false_positive_alerts_per_million: per_million(benign_only.alerts.len()),
            false_positive_incidents_per_million: per_million(benign_only.incidents.len()),
            chains,
            with_chains: totals(&with_chains),
            benign_only: totals(&benign_only),
            unexplained_incidents,
            benign_alerts_with_chains,
            benign_rules,
            seconds,
            passed,
        }
    }

    /// The verdict as Markdown: the chains' table, the runs' table, the rate and the result.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let setup = &self.setup;
        let _ = writeln!(
            out,
            "weft scenarios: seed {}, {} h ending {}, scale {}: {} benign events, {} chain events\n",
            setup.seed,
            setup.hours,
            setup.end,
            setup.scale,
            thousands(self.benign_events),
            thousands(self.chain_events)
        );
        let _ = writeln!(
            out,
            "| chain | services | incident | entities | alerts (rules) | severity |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        for chain in &self.chains {
            let incident = match chain.incidents.as_slice() {
                [one] => format!("yes, {one}"),
                [] => "no".to_string(),
                many => format!("split into {}", many.len()),
            };
            let entities = if chain.missing_entities.is_empty() && chain.foreign_entities.is_empty()
            {
                "ok".to_string()
            } else {
                let mut problems = Vec::new();
                if !chain.missing_entities.is_empty() {
                    problems.push(format!("missing {}", entity_list(&chain.missing_entities)));
                }
                if !chain.foreign_entities.is_empty() {
                    problems.push(format!("foreign {}", entity_list(&chain.foreign_entities)));
                }
                problems.join("; ")
            };
            let mut services = chain.incident_services.join(", ");
            if !chain.missing_services.is_empty() {
                let _ = write!(services, " (missing {})", chain.missing_services.join(", "));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} ({}) | {} |",
                chain.chain,
                services,
                incident,
                entities,
                chain.alerts,
                chain.rules,
                chain.severity
            );
        }
        let _ = writeln!(
            out,
            "\n| run | events | alerts | incidents | time (generate, ingest, detect) |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        for (name, run) in [
            ("benign traffic with the chains", &self.with_chains),
            ("benign traffic alone", &self.benign_only),
        ] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {:.0} s |",
                thousands(run.events),
                run.alerts,
                run.incidents,
                run.seconds
            );
        }
        let _ = writeln!(
            out,
            "\nfalse positives per million benign events: {:.2} alerts, {:.2} incidents",
            self.false_positive_alerts_per_million, self.false_positive_incidents_per_million
        );
        if !self.benign_rules.is_empty() {
            let rules: Vec<String> = self
                .benign_rules
                .iter()
                .map(|(rule, count)| format!("{rule} ({count})"))
                .collect();
            let _ = writeln!(out, "rules firing on benign traffic: {}", rules.join(", "));
        }
        let _ = writeln!(
            out,
            "alerts outside the chains' incidents in the run with chains: {}",
            self.benign_alerts_with_chains
        );
        if !self.unexplained_incidents.is_empty() {
            let _ = writeln!(
                out,
                "incidents of no chain in the run with chains: {}",
                self.unexplained_incidents.join(", ")
            );
        }
        let found = self.chains.iter().filter(|chain| chain.passed).count();
        let _ = writeln!(
            out,
            "result: {} ({found} of {} chains right, {} benign incidents, {:.0} s)",
            if self.passed { "pass" } else { "FAIL" },
            self.chains.len(),
            self.benign_only.incidents,
            self.seconds
        );
        out
    }
}

fn totals(run: &Measured) -> RunTotals {
    RunTotals {
        events: run.events,
        stored: run.stored,
        dead_lettered: run.dead_lettered,
        alerts: run.alerts.len() as u64,
        incidents: run.incidents.len() as u64,
        seconds: run.seconds,
    }
}

/// Judges one chain against the incidents of the run with chains.
fn judge_chain(expected: &Expected, incidents: &[IncidentSummary]) -> ChainResult {
    let own: Vec<&IncidentSummary> = incidents
        .iter()
        .filter(|incident| {
            incident
                .entities
                .iter()
                .any(|entity| expected.entities.contains(entity))
        })
        .collect();
    let services: Vec<String> = expected.services.iter().map(|s| s.to_string()).collect();
    let mut result = ChainResult {
        chain: expected.chain.to_string(),
        services: services.clone(),
        incidents: own.iter().map(|incident| incident.id.clone()).collect(),
        incident_services: Vec::new(),
        missing_entities: expected.entities.clone(),
        foreign_entities: Vec::new(),
        missing_services: services,
        alerts: 0,
        rules: 0,
        severity: String::new(),
        passed: false,
    };
    let [incident] = own.as_slice() else {
        return result;
    };
    result.incident_services = incident.services.clone();
    result.missing_entities = expected
        .entities
        .iter()
        .filter(|entity| !incident.entities.contains(entity))
        .cloned()
        .collect();
    result.foreign_entities = incident
        .entities
        .iter()
        .filter(|entity| JUDGED_TYPES.contains(&entity.kind.as_str()) && !expected.admits(entity))
        .cloned()
        .collect();
    result.missing_services = expected
        .services
        .iter()
        .filter(|service| !incident.services.iter().any(|name| name == *service))
        .map(|service| service.to_string())
        .collect();
    result.alerts = incident.alert_count;
    result.rules = incident.rule_count;
    result.severity = incident.severity.as_str().to_string();
    result.passed = result.missing_entities.is_empty()
        && result.foreign_entities.is_empty()
        && result.missing_services.is_empty();
    result
}

fn entity_list(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|entity| format!("{}={}", entity.kind, entity.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1234567` as `1,234,567`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
