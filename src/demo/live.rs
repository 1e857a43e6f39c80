//! The demo's live traffic: what the platform logs each second is appended to its log file,
//! and exactly those new lines are ingested (as the same file at the same byte offsets, so
//! an event's id is what `weft ingest` of the whole file would give it).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use weft_ingest::config::IngestConfig;
use weft_ingest::parse::{self, ParseContext, Parser};
use weft_ingest::pipeline::{IngestOptions, Ingestor, RecordOrigin};
use weft_ingest::store::FlushPolicy;

use super::logs::{Appended, Service};

/// Ingests lines appended to the demo's log files.
pub struct LiveIngest {
    ingestor: Ingestor,
    config: IngestConfig,
    parsers: BTreeMap<Service, Box<dyn Parser>>,
    origins: BTreeMap<Service, String>,
}

impl std::fmt::Debug for LiveIngest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LiveIngest")
            .field("ingestor", &self.ingestor)
            .finish()
    }
}

impl LiveIngest {
    pub fn open(data_dir: &Path) -> anyhow::Result<LiveIngest> {
        let config = IngestConfig::default();
        let options = IngestOptions {
            format: None,
            service: None,
            config: config.clone(),
            flush: FlushPolicy::default(),
        };
        let ingestor = Ingestor::open(data_dir, options)
            .with_context(|| format!("cannot open the data directory {}", data_dir.display()))?;
        Ok(LiveIngest {
            ingestor,
            config,
            parsers: BTreeMap::new(),
            origins: BTreeMap::new(),
        })
    }

    /// Parses and stores the appended lines, then makes them durable (one checkpoint).
    /// Returns how many lines were ingested.
    pub fn ingest(&mut self, appended: &[Appended], now: i64) -> anyhow::Result<usize> {
        let context = ParseContext {
            reference_time: now,
        };
        let mut lines = 0;
        for file in appended {
            let service = file.service;
            if !self.parsers.contains_key(&service) {
                let name = service.name();
                let format = self.config.format_for(Some(name)).to_string();
                let options = self.config.parser_options(Some(name))?;
                let parser = parse::build(&format, &options)
                    .with_context(|| format!("weft has no parser named {format}"))?;
                self.parsers.insert(service, parser);
                let absolute = std::fs::canonicalize(&file.path)
                    .with_context(|| format!("cannot resolve {}", file.path.display()))?;
                self.origins
                    .insert(service, format!("file:{}", absolute.display()));
            }
            let (Some(parser), Some(origin)) =
                (self.parsers.get_mut(&service), self.origins.get(&service))
            else {
                continue;
            };
            for (offset, line) in &file.lines {
                let record = RecordOrigin {
                    origin,
                    offset: *offset,
                    line: None,
                    default_service: service.name(),
                    service: None,
                    topic_partition: None,
                };
                self.ingestor
                    .ingest_record(parser.as_mut(), &context, &record, line.as_bytes())
                    .with_context(|| format!("cannot store a line of {}", file.path.display()))?;
                lines += 1;
            }
        }
        self.ingestor
            .checkpoint(Vec::new())
            .context("cannot make the live events durable")?;
        Ok(lines)
    }
}
