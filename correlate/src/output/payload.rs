//! The document an output receives for one alert, and its delivery id.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::record::AlertRecord;

/// What an output receives for one alert: the [`AlertRecord`]'s fields (`alert`, `entities`,
/// `services`, `source`) at the top level, plus where it goes and the incident it belongs to.
///
/// ```json
/// {"delivery_id": "…", "output": "soc", "incident_id": "…",
///  "alert": {"alert_id": "…", "title": "…", "level": "high", …},
///  "entities": [{"type": "user", "value": "alice"}], "services": ["auth"],
///  "source": {"kind": "stream"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPayload {
    /// Stable across retries; deduplicate on it.
    pub delivery_id: String,
    /// The output's name.
    pub output: String,
    /// The incident the alert was grouped into, `null` when not known at enqueue time.
    pub incident_id: Option<String>,
    #[serde(flatten)]
    pub record: AlertRecord,
}

/// The delivery id of `alert_id` to `output`: the first 128 bits of
/// SHA-256(output, NUL, alert id), in hex. Alert ids are deterministic, so a replay or a
/// restart delivers the same alert under the same id.
pub fn delivery_id(output: &str, alert_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(output.as_bytes());
    hasher.update([0]);
    hasher.update(alert_id.as_bytes());
    hasher.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_are_stable_and_separate_their_parts() {
        assert_eq!(delivery_id("soc", "a1"), delivery_id("soc", "a1"));
        assert_ne!(delivery_id("soc", "a1"), delivery_id("so", "ca1"));
        assert_ne!(delivery_id("soc", "a1"), delivery_id("siem", "a1"));
        assert_eq!(delivery_id("soc", "a1").len(), 32);
    }
}
