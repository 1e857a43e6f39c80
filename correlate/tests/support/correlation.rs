//! Helpers for the correlation tests: rule sets from YAML, signals by rule name and fields,
//! batch replay.

#![allow(dead_code)]

use std::sync::Arc;

use weft_correlate::correlation::{
    Alert, CorrelationSet, Correlator, CorrelatorConfig, EventKey, ManualClock, Signal,
    parse_sequences,
};
use weft_correlate::sigma::{FieldMapping, Placeholders, load_texts};

pub const SECOND: i64 = 1_000_000;

/// A detection rule document named `name` (its logsource admits nothing in particular).
pub fn base_rule(name: &str) -> String {
    format!(
        "title: {name}\nname: {name}\nlogsource:\n    product: test\ndetection:\n    selection:\n        activity: {name}\n    condition: selection\n"
    )
}

/// Rules and correlations compiled from YAML documents.
pub struct Rules {
    pub set: Arc<CorrelationSet>,
}

impl Rules {
    /// `base` rule names plus the `correlations` YAML (documents separated by `---`).
    pub fn new(base: &[&str], correlations: &str) -> Rules {
        Rules::try_new(base, correlations).expect("rules compile")
    }

    pub fn try_new(
        base: &[&str],
        correlations: &str,
    ) -> Result<Rules, weft_correlate::correlation::CorrelationError> {
        let mut text: Vec<String> = base.iter().map(|name| base_rule(name)).collect();
        text.push(correlations.to_string());
        let loaded = load_texts(&[(None, text.join("---\n"))], &Placeholders::default());
        assert!(loaded.errors.is_empty(), "rules load: {:?}", loaded.errors);
        let set = CorrelationSet::new(
            &loaded.rules,
            &loaded.correlations,
            &FieldMapping::default(),
        )?;
        Ok(Rules { set: Arc::new(set) })
    }

    /// `base` rule names plus weft sequence documents.
    pub fn sequences(base: &[&str], sequences: &str) -> Rules {
        Rules::mixed(base, None, sequences)
    }

    /// `base` rule names, correlation documents and weft sequence documents.
    pub fn mixed(base: &[&str], correlations: Option<&str>, sequences: &str) -> Rules {
        let mut text: Vec<String> = base.iter().map(|name| base_rule(name)).collect();
        text.extend(correlations.map(str::to_string));
        let loaded = load_texts(&[(None, text.join("---\n"))], &Placeholders::default());
        assert!(loaded.errors.is_empty(), "rules load: {:?}", loaded.errors);
        let (sequences, errors) = parse_sequences(sequences);
        assert!(errors.is_empty(), "sequences load: {errors:?}");
        let set = CorrelationSet::with_sequences(
            &loaded.rules,
            &loaded.correlations,
            &sequences,
            &FieldMapping::default(),
        )
        .expect("sequences compile");
        Rules { set: Arc::new(set) }
    }

    pub fn rule(&self, name: &str) -> usize {
        self.set
            .rule_meta()
            .iter()
            .position(|meta| meta.name.as_deref() == Some(name))
            .expect("rule exists")
    }

    /// A signal of rule `name` at `seconds` (partition 0, offset from the time unless given).
    pub fn signal(&self, name: &str, micros: i64, fields: &[(&str, &str)]) -> Signal {
        self.signal_at(name, micros, 0, micros as u64, fields)
    }

    pub fn signal_at(
        &self,
        name: &str,
        micros: i64,
        partition: u32,
        offset: u64,
        fields: &[(&str, &str)],
    ) -> Signal {
        let id = format!("{name}@{micros}p{partition}o{offset}");
        self.set.signal(
            self.rule(name),
            EventKey {
                time: micros,
                partition,
                offset,
            },
            &id,
            |field| {
                fields
                    .iter()
                    .find(|(name, _)| *name == field)
                    .map(|(_, value)| value.to_string())
            },
        )
    }

    pub fn correlator(&self, config: CorrelatorConfig) -> Correlator {
        Correlator::new(self.set.clone(), config, Arc::new(ManualClock::new(0)))
    }

    /// All signals, then the end of the stream.
    pub fn replay(&self, signals: Vec<Signal>) -> Vec<Alert> {
        let mut correlator = self.correlator(CorrelatorConfig {
            allowed_lateness: 0,
            ..CorrelatorConfig::default()
        });
        for signal in signals {
            correlator.observe(signal);
        }
        correlator.flush()
    }
}
