//! The simulated platform over time: a day of history (benign traffic with the attack chains
//! woven in), then, second by second, live traffic with a gateway probe every few minutes.
//! Everything is drawn from one seed: the same seed and the same clock give the same logs.

use super::attacks::{self, Weave, Woven};
use super::logs::{Record, Timeline};
use super::platform::Platform;
use super::rng::DemoRng;

const MINUTE: i64 = 60_000_000;

/// The simulation's state between steps.
#[derive(Debug)]
pub struct Simulation {
    platform: Platform,
    attack_rng: DemoRng,
    timeline: Timeline,
    weave: Weave,
    probes: u64,
    next_probe: Option<i64>,
}

/// The history [`Simulation::day`] produced.
#[derive(Debug)]
pub struct Day {
    /// Every record before the day's end, oldest first.
    pub records: Vec<Record>,
    pub woven: Vec<Woven>,
}

impl Simulation {
    /// `scale` multiplies the benign traffic (1.0: about 80,000 events a day); `weave` says
    /// what the history holds besides it.
    pub fn new(seed: u64, scale: f64, weave: Weave) -> Simulation {
        let mut rng = DemoRng::new(seed);
        let platform = Platform::new(&mut rng, scale);
        let attack_rng = rng.fork();
        Simulation {
            platform,
            attack_rng,
            timeline: Timeline::default(),
            weave,
            probes: 0,
            next_probe: None,
        }
    }

    /// The history from `start` to `end` (UTC microseconds). Requests of sessions still open
    /// at `end` stay scheduled for [`Simulation::advance`].
    pub fn day(&mut self, start: i64, end: i64) -> Day {
        self.platform.schedule(start, end, &mut self.timeline);
        let woven = attacks::weave(
            &mut self.platform,
            &mut self.attack_rng,
            (start, end),
            self.weave,
            &mut self.timeline,
        );
        Day {
            records: self.timeline.release(end),
            woven,
        }
    }

    /// Live traffic from `from` to `to`: the records before `to`, oldest first.
    pub fn advance(&mut self, from: i64, to: i64) -> Vec<Record> {
        self.platform.schedule(from, to, &mut self.timeline);
        let next_probe = *self
            .next_probe
            .get_or_insert_with(|| from + self.attack_rng.between(2, 4) * MINUTE);
        if to >= next_probe {
            attacks::gateway_probe(
                &mut self.platform,
                self.probes,
                next_probe,
                &mut self.timeline,
            );
            self.probes += 1;
            self.next_probe = Some(next_probe + self.attack_rng.between(3, 8) * MINUTE);
        }
        self.timeline.release(to)
    }

    /// Gateway probes started so far while live.
    pub fn probes(&self) -> u64 {
        self.probes
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use weft_ingest::config::IngestConfig;
    use weft_ingest::parse::{self, ParseContext};

    use super::*;
    use crate::demo::logs::Service;

    /// 2026-11-20T12:00:00Z.
    const END: i64 = 1_795_176_000_000_000;
    const HOUR: i64 = 60 * MINUTE;

    fn lines(seed: u64) -> Vec<(Service, String)> {
        let mut simulation = Simulation::new(seed, 0.3, Weave::DEMO);
        let day = simulation.day(END - 24 * HOUR, END);
        day.records
            .into_iter()
            .map(|record| (record.service, record.line))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_logs() {
        let first = lines(5);
        assert_eq!(first, lines(5));
        assert_ne!(first, lines(6));
    }

    #[test]
    fn every_line_parses_as_its_services_format_at_its_time() {
        let mut simulation = Simulation::new(9, 0.3, Weave::DEMO);
        let day = simulation.day(END - 24 * HOUR, END);
        let options = IngestConfig::default()
            .parser_options(None)
            .expect("the default parser options");
        let mut parser = parse::build("auto", &options).expect("the auto parser");
        let mut per_service: BTreeMap<Service, usize> = BTreeMap::new();
        let mut previous = i64::MIN;
        for record in &day.records {
            assert!(record.time >= previous, "records are in time order");
            previous = record.time;
            let expected = match record.service {
                Service::Gateway => "access_log",
                Service::Auth | Service::Orders | Service::Payments => "json",
                Service::Bastion => "syslog3164",
                Service::ClusterAudit => "k8s_audit",
                Service::Cloudtrail => "cloudtrail",
            };
            let mut events = Vec::new();
            let context = ParseContext {
                reference_time: END,
            };
            if let Err(error) = parser.parse(&record.line, &context, &mut events) {
                panic!("{error}: {}", record.line);
            }
            assert_eq!(events.len(), 1, "{}", record.line);
            let event = &events[0];
            assert_eq!(event.format, expected, "{}", record.line);
            let time = event.time.expect("every line has a time");
            assert!(
                (record.time - time).abs() < 1_000_000,
                "parsed {time}, written {}: {}",
                record.time,
                record.line
            );
            *per_service.entry(record.service).or_default() += 1;
        }
        assert_eq!(per_service.len(), Service::ALL.len(), "{per_service:?}");
    }

    #[test]
    fn the_day_holds_every_attack_chain() {
        let mut simulation = Simulation::new(7, 0.3, Weave::DEMO);
        let day = simulation.day(END - 24 * HOUR, END);
        assert_eq!(day.woven.len(), 6, "five chains and the debugging exec");
        assert_eq!(
            day.woven
                .iter()
                .filter(|woven| woven.expected.is_some())
                .count(),
            5
        );
        let count = |needle: &str| {
            day.records
                .iter()
                .filter(|record| record.line.contains(needle))
                .count()
        };
        assert_eq!(count("Accepted password for deploy"), 1);
        assert_eq!(count("\"eventName\":\"CreateAccessKey\""), 2);
        assert_eq!(count("\"eventName\":\"StopLogging\""), 1);
        assert_eq!(count("\"subresource\":\"exec\""), 4);
        assert_eq!(count("push prompt denied"), 7);
        assert_eq!(count("/actuator/env"), 1);
        assert_eq!(
            count("\"user\":\"priya\""),
            1 + 5,
            "the login and five requests"
        );
        assert!(count("python-requests/2.31.0\"") >= 25);
    }

    #[test]
    fn the_chains_leave_the_benign_traffic_unchanged() {
        let benign_only = Weave {
            chains: false,
            debugging_exec: false,
        };
        let with_chains = Weave {
            chains: true,
            debugging_exec: false,
        };
        let lines = |weave: Weave| -> Vec<String> {
            let mut simulation = Simulation::new(11, 0.1, weave);
            let day = simulation.day(END - 48 * HOUR, END);
            let mut lines: Vec<String> =
                day.records.into_iter().map(|record| record.line).collect();
            lines.sort();
            lines
        };
        let benign = lines(benign_only);
        let chained = lines(with_chains);
        assert!(
            chained.len() > benign.len() + 100,
            "{} vs {}",
            chained.len(),
            benign.len()
        );
        let mut chained_iter = chained.iter().peekable();
        for line in &benign {
            while chained_iter.peek().is_some_and(|other| *other < line) {
                chained_iter.next();
            }
            assert_eq!(chained_iter.next(), Some(line), "a benign line is missing");
        }
    }

    #[test]
    fn live_traffic_follows_the_clock_and_probes_the_gateway() {
        let mut simulation = Simulation::new(7, 1.0, Weave::DEMO);
        let _ = simulation.day(END - HOUR, END);
        let mut from = END;
        let mut records = Vec::new();
        for _ in 0..600 {
            let to = from + 1_000_000;
            let released = simulation.advance(from, to);
            assert!(released.iter().all(|record| record.time < to));
            records.extend(released);
            from = to;
        }
        assert!(
            records.len() > 300,
            "{} records in 10 minutes",
            records.len()
        );
        assert!(simulation.probes() >= 1);
        assert!(records.iter().any(|record| record.line.contains("zgrab")));
    }
}
