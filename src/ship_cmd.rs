//! `weft ship`: a small producer that sends log lines to a Kafka topic, one record per line,
//! for demos, benchmarks and tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use weft_ingest::source::kafka::ship::Shipper;

/// How long `weft ship` waits for the broker to acknowledge the last records.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct ShipArgs {
    /// Bootstrap servers, HOST:PORT[,HOST:PORT...].
    #[arg(long)]
    brokers: String,
    /// Topic to send to.
    #[arg(long)]
    topic: String,
    /// Use this top-level field of each JSON line as the message key (lines that are not JSON
    /// objects, or lack the field, are sent without a key).
    #[arg(long, value_name = "FIELD")]
    key_field: Option<String>,
    /// Files to send (plain text, one record per line), or `-` for stdin.
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<String>,
}

fn key_of(line: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    match value.get(field)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

pub fn run(args: ShipArgs) -> anyhow::Result<ExitCode> {
    let mut shipper =
        Shipper::new(&args.brokers, &args.topic).context("cannot create the kafka producer")?;
    let started = Instant::now();
    let mut bytes: u64 = 0;
    for input in &args.inputs {
        let reader: Box<dyn BufRead> = if input == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let path = PathBuf::from(input);
            Box::new(BufReader::new(
                std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            ))
        };
        for line in reader.split(b'\n') {
            let line = line.with_context(|| format!("cannot read {input}"))?;
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.is_empty() {
                continue;
            }
            let key = args
                .key_field
                .as_deref()
                .and_then(|field| key_of(&String::from_utf8_lossy(line), field));
            shipper
                .send(line, key.as_deref().map(str::as_bytes))
                .with_context(|| format!("cannot send to topic {}", args.topic))?;
            bytes += line.len() as u64;
        }
    }
    let sent = shipper
        .finish(FLUSH_TIMEOUT)
        .context("the broker did not acknowledge every record")?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "sent {sent} records ({bytes} bytes) to {} in {seconds:.2} s",
        args.topic
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_comes_from_a_top_level_json_field() {
        assert_eq!(
            key_of(r#"{"svc":"api","n":1}"#, "svc").as_deref(),
            Some("api")
        );
        assert_eq!(key_of(r#"{"svc":"api","n":1}"#, "n").as_deref(), Some("1"));
        assert_eq!(key_of(r#"{"svc":null}"#, "svc"), None);
        assert_eq!(key_of("plain text", "svc"), None);
    }
}
