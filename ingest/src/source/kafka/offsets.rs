//! Per-partition progress of a worker: where each assigned partition resumed, what it read
//! since the last checkpoint, and the offset ranges the next checkpoint completes.

use std::collections::BTreeMap;
use std::time::Instant;

use rdkafka::{Offset, TopicPartitionList};

use crate::store::manifest::PartitionRange;

/// Progress of one assigned partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Partition {
    /// The next offset no checkpoint has completed (from the manifest, then from our own
    /// checkpoints); `None` when the manifest never saw the partition.
    next: Option<i64>,
    /// Offsets read since the last checkpoint, first and last.
    pending: Option<(i64, i64)>,
    /// `kafka:<topic>/<partition>`, the origin of its records.
    origin: String,
}

/// What to do with a message the consumer delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Process it.
    Read,
    /// Already read or completed (a message delivered twice around a seek): skip it.
    Duplicate,
    /// Not a partition this worker holds: skip it.
    NotAssigned,
}

/// Progress of every partition this worker holds.
#[derive(Debug, Default)]
pub struct PartitionProgress {
    partitions: BTreeMap<(String, i32), Partition>,
    /// When the oldest read since the last checkpoint happened: the time bound counts from it.
    pending_since: Option<Instant>,
}

impl PartitionProgress {
    /// Takes over `assigned` partitions, resuming each where `resume` (the manifest) says.
    /// Sets each partition's start offset in `assigned` for the consumer's assignment.
    pub fn assign(
        &mut self,
        assigned: &mut TopicPartitionList,
        resume: &BTreeMap<(String, i32), i64>,
    ) -> rdkafka::error::KafkaResult<()> {
        self.clear();
        let keys: Vec<(String, i32)> = assigned
            .elements()
            .iter()
            .map(|element| (element.topic().to_string(), element.partition()))
            .collect();
        for (topic, partition) in keys {
            let next = resume.get(&(topic.clone(), partition)).copied();
            let offset = next.map_or(Offset::Beginning, Offset::Offset);
            assigned.set_partition_offset(&topic, partition, offset)?;
            let origin = format!("kafka:{topic}/{partition}");
            self.partitions.insert(
                (topic, partition),
                Partition {
                    next,
                    pending: None,
                    origin,
                },
            );
        }
        Ok(())
    }

    /// Forgets what was read since the last checkpoint, keeping the partitions: those reads
    /// were dropped and must never be recorded as completed.
    pub fn drop_pending(&mut self) {
        for state in self.partitions.values_mut() {
            state.pending = None;
        }
        self.pending_since = None;
    }

    /// Gives every partition up.
    pub fn clear(&mut self) {
        self.partitions.clear();
        self.pending_since = None;
    }

    /// Partitions held.
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Decides about a delivered message and, when it is to be read, notes its offset.
    /// Returns the record origin too.
    pub fn admit(&mut self, topic: &str, partition: i32, offset: i64) -> (Admission, &str) {
        let Some(state) = self.partitions.get_mut(&(topic.to_string(), partition)) else {
            return (Admission::NotAssigned, "");
        };
        let last_read = state.pending.map(|(_, last)| last + 1).or(state.next);
        if last_read.is_some_and(|next| offset < next) {
            return (Admission::Duplicate, &state.origin);
        }
        state.pending = Some(match state.pending {
            Some((first, _)) => (first, offset),
            None => (state.next.unwrap_or(offset), offset),
        });
        self.pending_since.get_or_insert_with(Instant::now);
        (Admission::Read, &state.origin)
    }

    /// When the oldest message read since the last checkpoint was read, if any was.
    pub fn pending_since(&self) -> Option<Instant> {
        self.pending_since
    }

    /// The ranges the next checkpoint completes: per partition read since the last one, from
    /// where it resumed to the last offset read.
    pub fn pending_ranges(&self) -> Vec<PartitionRange> {
        self.partitions
            .iter()
            .filter_map(|((topic, partition), state)| {
                state
                    .pending
                    .map(|(first_offset, last_offset)| PartitionRange {
                        topic: topic.clone(),
                        partition: *partition,
                        first_offset,
                        last_offset,
                    })
            })
            .collect()
    }

    /// The checkpoint of the pending ranges is durable: they are completed.
    pub fn completed(&mut self) {
        for state in self.partitions.values_mut() {
            if let Some((_, last)) = state.pending.take() {
                state.next = Some(last + 1);
            }
        }
        self.pending_since = None;
    }

    /// Forgets what was read since the last checkpoint and resumes from `resume` (the manifest,
    /// after another worker recorded some of these partitions). Returns where each partition
    /// must be sought to.
    pub fn reset(&mut self, resume: &BTreeMap<(String, i32), i64>) -> Vec<(String, i32, Offset)> {
        self.pending_since = None;
        self.partitions
            .iter_mut()
            .map(|((topic, partition), state)| {
                state.pending = None;
                state.next = resume.get(&(topic.clone(), *partition)).copied();
                let offset = state.next.map_or(Offset::Beginning, Offset::Offset);
                (topic.clone(), *partition, offset)
            })
            .collect()
    }

    /// Offsets to commit to Kafka (for lag monitoring): each partition's next offset.
    pub fn commit_list(&self) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), state) in &self.partitions {
            if let Some(next) = state.next {
                // Adding a partition with a valid offset cannot fail.
                let _ = list.add_partition_offset(topic, *partition, Offset::Offset(next));
            }
        }
        list
    }

    /// Each held partition with its next uncompleted offset, for lag.
    pub fn positions(&self) -> impl Iterator<Item = (&str, i32, Option<i64>)> {
        self.partitions.iter().map(|((topic, partition), state)| {
            (
                topic.as_str(),
                *partition,
                state.pending.map(|(_, last)| last + 1).or(state.next),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(partitions: &[i32]) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for partition in partitions {
            list.add_partition("logs", *partition);
        }
        list
    }

    #[test]
    fn assignment_seeks_to_the_manifest_and_ranges_start_there() {
        let mut progress = PartitionProgress::default();
        let mut list = assigned(&[0, 1]);
        let resume = BTreeMap::from([(("logs".to_string(), 0), 100)]);
        progress.assign(&mut list, &resume).expect("assign");
        let offsets: Vec<Offset> = list
            .elements()
            .iter()
            .map(|element| element.offset())
            .collect();
        assert_eq!(offsets, [Offset::Offset(100), Offset::Beginning]);

        assert_eq!(progress.admit("logs", 0, 99).0, Admission::Duplicate);
        assert_eq!(
            progress.admit("logs", 0, 102),
            (Admission::Read, "kafka:logs/0")
        );
        assert_eq!(progress.admit("logs", 0, 102).0, Admission::Duplicate);
        assert_eq!(progress.admit("logs", 1, 7).0, Admission::Read);
        assert_eq!(progress.admit("logs", 2, 0).0, Admission::NotAssigned);
        let ranges = progress.pending_ranges();
        assert_eq!(
            (ranges[0].first_offset, ranges[0].last_offset),
            (100, 102),
            "a gap at 100-101 is completed too"
        );
        assert_eq!((ranges[1].first_offset, ranges[1].last_offset), (7, 7));
        progress.completed();
        assert!(progress.pending_ranges().is_empty());
        assert_eq!(progress.admit("logs", 1, 8).0, Admission::Read);
        assert_eq!(progress.pending_ranges()[0].first_offset, 8);
        let commits: Vec<(String, Offset)> = progress
            .commit_list()
            .elements()
            .iter()
            .map(|element| {
                (
                    format!("{}/{}", element.topic(), element.partition()),
                    element.offset(),
                )
            })
            .collect();
        assert_eq!(
            commits,
            [
                ("logs/0".to_string(), Offset::Offset(103)),
                ("logs/1".to_string(), Offset::Offset(8))
            ]
        );
    }

    #[test]
    fn reset_drops_pending_reads_and_resumes_from_the_manifest() {
        let mut progress = PartitionProgress::default();
        progress
            .assign(&mut assigned(&[0]), &BTreeMap::new())
            .expect("assign");
        progress.admit("logs", 0, 0);
        let seeks = progress.reset(&BTreeMap::from([(("logs".to_string(), 0), 50)]));
        assert_eq!(seeks, [("logs".to_string(), 0, Offset::Offset(50))]);
        assert!(progress.pending_ranges().is_empty());
        assert_eq!(progress.admit("logs", 0, 49).0, Admission::Duplicate);
    }

    #[test]
    fn dropped_reads_are_never_recorded_and_the_partitions_stay_held() {
        let mut progress = PartitionProgress::default();
        progress
            .assign(
                &mut assigned(&[0]),
                &BTreeMap::from([(("logs".to_string(), 0), 10)]),
            )
            .expect("assign");
        progress.admit("logs", 0, 10);
        progress.admit("logs", 0, 11);
        progress.drop_pending();
        assert!(progress.pending_ranges().is_empty());
        assert_eq!(progress.pending_since(), None);
        assert_eq!(progress.len(), 1);
        let seeks = progress.reset(&BTreeMap::from([(("logs".to_string(), 0), 10)]));
        assert_eq!(seeks, [("logs".to_string(), 0, Offset::Offset(10))]);
        assert_eq!(progress.admit("logs", 0, 10).0, Admission::Read);
    }

    #[test]
    fn the_time_bound_counts_from_the_oldest_read_since_the_last_checkpoint() {
        let mut progress = PartitionProgress::default();
        progress
            .assign(&mut assigned(&[0, 1]), &BTreeMap::new())
            .expect("assign");
        assert_eq!(progress.pending_since(), None, "nothing read yet");
        progress.admit("logs", 2, 0);
        assert_eq!(progress.pending_since(), None, "not a partition held");
        let before = Instant::now();
        progress.admit("logs", 0, 0);
        let since = progress.pending_since().expect("a read is pending");
        assert!(since >= before);
        progress.admit("logs", 1, 0);
        progress.admit("logs", 0, 1);
        assert_eq!(
            progress.pending_since(),
            Some(since),
            "later reads keep the oldest"
        );
        progress.admit("logs", 0, 1);
        progress.completed();
        assert_eq!(
            progress.pending_since(),
            None,
            "a checkpoint completed them"
        );
        progress.admit("logs", 0, 1);
        assert_eq!(progress.pending_since(), None, "a duplicate is not read");
        progress.admit("logs", 0, 2);
        assert!(progress.pending_since().is_some_and(|again| again >= since));
        progress.reset(&BTreeMap::new());
        assert_eq!(progress.pending_since(), None, "reset drops the reads");
        progress.admit("logs", 0, 0);
        progress.clear();
        assert_eq!(progress.pending_since(), None, "partitions given up");
    }
}
