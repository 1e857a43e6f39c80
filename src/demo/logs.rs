//! The demo's log files: one per service of the simulated platform, written under
//! `<data_dir>/demo-logs/` in the format that service really logs in. Records are scheduled
//! on a [`Timeline`] (a session schedules its later requests at once) and released in time
//! order, so that a file always reads forward in time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A service of the simulated platform; its log file is `<name>.log`, so `weft ingest`
/// names the events' service after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// The API gateway: nginx access log (combined format).
    Gateway,
    /// The auth service: JSON lines.
    Auth,
    /// The orders service: JSON lines with OpenTelemetry trace and span ids.
    Orders,
    /// The payments service: JSON lines with OpenTelemetry trace and span ids.
    Payments,
    /// The SSH bastion host: sshd, PAM and sudo in syslog (RFC 3164).
    Bastion,
    /// The Kubernetes API server's audit log (JSON lines).
    ClusterAudit,
    /// AWS CloudTrail, one record per line.
    Cloudtrail,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::Gateway,
        Service::Auth,
        Service::Orders,
        Service::Payments,
        Service::Bastion,
        Service::ClusterAudit,
        Service::Cloudtrail,
    ];

    /// The service name weft stores (and the log file's stem).
    pub fn name(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Auth => "auth",
            Service::Orders => "orders",
            Service::Payments => "payments",
            Service::Bastion => "bastion",
            Service::ClusterAudit => "cluster-audit",
            Service::Cloudtrail => "cloudtrail",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.log", self.name())
    }
}

/// One log line of one service at one event time (UTC microseconds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    pub time: i64,
    /// Scheduling order: breaks ties between records of the same time deterministically.
    pub sequence: u64,
    pub service: Service,
    pub line: String,
}

/// Records scheduled for the future, released in time order.
#[derive(Debug, Default)]
pub struct Timeline {
    pending: BinaryHeap<Reverse<Record>>,
    next_sequence: u64,
}

impl Timeline {
    /// Schedules `line` of `service` at `time`.
    pub fn push(&mut self, time: i64, service: Service, line: String) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.pending.push(Reverse(Record {
            time,
            sequence,
            service,
            line,
        }));
    }

    /// Removes and returns every record before `until`, oldest first.
    pub fn release(&mut self, until: i64) -> Vec<Record> {
        let mut released = Vec::new();
        while self
            .pending
            .peek()
            .is_some_and(|Reverse(record)| record.time < until)
        {
            if let Some(Reverse(record)) = self.pending.pop() {
                released.push(record);
            }
        }
        released
    }

    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// The demo's log directory and what has been written to each file.
#[derive(Debug)]
pub struct LogDir {
    dir: PathBuf,
    /// Bytes written so far to each service's file (the offset of the next line).
    lengths: BTreeMap<Service, u64>,
}

/// Lines appended to one service's file, with the byte offset of each.
#[derive(Debug)]
pub struct Appended {
    pub service: Service,
    pub path: PathBuf,
    pub lines: Vec<(u64, String)>,
}

impl LogDir {
    /// Creates `dir` and truncates (or creates) one empty file per service.
    pub fn create(dir: &Path) -> anyhow::Result<LogDir> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
        for service in Service::ALL {
            let path = dir.join(service.file_name());
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        }
        Ok(LogDir {
            dir: dir.to_path_buf(),
            lengths: Service::ALL.iter().map(|service| (*service, 0)).collect(),
        })
    }

    /// Continues the files of an earlier demo in `dir` (appending after what they hold).
    pub fn open(dir: &Path) -> anyhow::Result<LogDir> {
        let mut lengths = BTreeMap::new();
        for service in Service::ALL {
            let path = dir.join(service.file_name());
            let length = match std::fs::metadata(&path) {
                Ok(metadata) => metadata.len(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot read {}", path.display()));
                }
            };
            lengths.insert(service, length);
        }
        Ok(LogDir {
            dir: dir.to_path_buf(),
            lengths,
        })
    }

    pub fn path(&self, service: Service) -> PathBuf {
        self.dir.join(service.file_name())
    }

    /// Appends `records` (in time order) to their services' files; returns what each file
    /// received, with byte offsets, for ingesting exactly the new lines.
    pub fn append(&mut self, records: Vec<Record>) -> anyhow::Result<Vec<Appended>> {
        let mut by_service: BTreeMap<Service, Vec<String>> = BTreeMap::new();
        for record in records {
            by_service
                .entry(record.service)
                .or_default()
                .push(record.line);
        }
        let mut appended = Vec::new();
        for (service, lines) in by_service {
            let path = self.path(service);
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            let length = self.lengths.entry(service).or_insert(0);
            let mut with_offsets = Vec::with_capacity(lines.len());
            for line in lines {
                writer
                    .write_all(line.as_bytes())
                    .and_then(|()| writer.write_all(b"\n"))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let offset = *length;
                *length += line.len() as u64 + 1;
                with_offsets.push((offset, line));
            }
            writer
                .flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            appended.push(Appended {
                service,
                path: path.clone(),
                lines: with_offsets,
            });
        }
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_releases_in_time_then_schedule_order() {
        let mut timeline = Timeline::default();
        timeline.push(30, Service::Auth, "c".into());
        timeline.push(10, Service::Gateway, "a".into());
        timeline.push(10, Service::Auth, "b".into());
        timeline.push(50, Service::Orders, "d".into());
        let released: Vec<String> = timeline
            .release(50)
            .into_iter()
            .map(|record| record.line)
            .collect();
        assert_eq!(released, ["a", "b", "c"]);
        assert_eq!(timeline.pending(), 1);
    }
}
