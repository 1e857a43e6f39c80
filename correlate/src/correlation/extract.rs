//! Signals from a batch: for every match of a correlated rule, the event's time, id and the
//! fields the correlations consuming that rule group and aggregate by.

use arrow_array::{Array, RecordBatch, TimestampMicrosecondArray};
use rustc_hash::FxHashMap;
use weft_ingest::schema;

use super::compile::CorrelationSet;
use super::signal::{EventKey, Evidence, Signal, Source};
use crate::sigma::columns::{AttrsReader, ColumnReader};
use crate::sigma::fieldmap::FieldSource;
use crate::sigma::{MatchError, SigmaMatch};

/// The event times of a batch (`time` column), UTC microseconds.
pub fn event_times(batch: &RecordBatch) -> Result<&TimestampMicrosecondArray, MatchError> {
    batch
        .column_by_name(schema::TIME)
        .and_then(|column| column.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or(MatchError::Column(schema::TIME))
}

/// Signals for the matches of correlated rules in `batch`. Row `i` of the batch is at
/// `offset_of(i)` in `partition`.
pub fn signals_from_batch(
    set: &CorrelationSet,
    batch: &RecordBatch,
    matches: &[SigmaMatch],
    partition: u32,
    offset_of: &dyn Fn(usize) -> u64,
) -> Result<Vec<Signal>, MatchError> {
    let times = event_times(batch)?;
    let ids = ColumnReader::new(batch, schema::EVENT_ID)?;
    let attrs = AttrsReader::new(batch)?;
    let mut columns: FxHashMap<&'static str, ColumnReader<'_>> = FxHashMap::default();
    let mut signals = Vec::new();
    for found in matches {
        if !set.is_correlated(found.rule) || found.row >= batch.num_rows() {
            continue;
        }
        let row = found.row;
        let mut values = Vec::with_capacity(set.sources_of(found.rule).len());
        for sources in set.sources_of(found.rule) {
            let mut value = None;
            for source in sources {
                value = match source {
                    FieldSource::Column(name) => {
                        let reader = match columns.get(name) {
                            Some(reader) => *reader,
                            None => {
                                let reader = ColumnReader::new(batch, name)?;
                                columns.insert(name, reader);
                                reader
                            }
                        };
                        reader
                            .text(row)
                            .map(|text| text.into_owned().into_boxed_str())
                    }
                    FieldSource::Attr(key) => attrs
                        .entries(row)
                        .find(|(name, _)| name == key)
                        .map(|(_, value)| value.into()),
                };
                if value.is_some() {
                    break;
                }
            }
            values.push(value);
        }
        let event_id = ids.text(row).map(|id| id.into_owned()).unwrap_or_default();
        signals.push(Signal {
            source: Source::Rule(found.rule),
            key: EventKey {
                time: times.value(row),
                partition,
                offset: offset_of(row),
            },
            evidence: Evidence::One(event_id.into_boxed_str()),
            values,
        });
    }
    Ok(signals)
}
