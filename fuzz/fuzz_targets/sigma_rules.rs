//! The Sigma rule loader and matcher, over arbitrary rule text: load it as a rule file (every
//! document: rules, correlations, filters), compile what loads into a matcher with the
//! default field mapping and match it against a small batch of events. Nothing may panic; a
//! text that loads nothing is refused with an error per document, never silently.

#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use arrow_array::RecordBatch;
use libfuzzer_sys::fuzz_target;
use weft_correlate::sigma::{FieldMapping, Placeholders, SigmaMatcher, load_texts};
use weft_ingest::batch::{EventBatchBuilder, RecordMeta};
use weft_ingest::event::{Class, Event, Outcome};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let placeholders = Placeholders::default();
    let set = load_texts(&[(None, text.to_string())], &placeholders);
    assert_eq!(
        set.checks.len(),
        set.checks
            .iter()
            .filter(|check| check.status == "loaded")
            .count()
            + set.errors.len(),
        "every document is loaded or refused with an error"
    );
    if set.rules.is_empty() {
        return;
    }
    let matcher = SigmaMatcher::new(set.rules, &FieldMapping::default());
    // A rule the matcher cannot evaluate on this batch is an error, not a panic.
    let _ = matcher.match_batch(events());
});

/// A few events of different shapes, built once.
fn events() -> &'static RecordBatch {
    static EVENTS: OnceLock<RecordBatch> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let mut builder = EventBatchBuilder::new();
        let samples = [
            (
                "sshd",
                "Failed password for root from 203.0.113.7 port 22 ssh2",
                Class::Authentication,
            ),
            ("nginx", "GET /wp-login.php HTTP/1.1", Class::HttpActivity),
            ("kubernetes", "create pods/exec", Class::ApiActivity),
        ];
        for (index, (process, message, class)) in samples.into_iter().enumerate() {
            let mut event = Event::new("json");
            event.time = Some(1_750_000_000_000_000 + index as i64 * 1_000_000);
            event.class = class;
            event.outcome = Some(if index == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            });
            event.process = Some(Cow::Borrowed(process));
            event.message = Some(Cow::Borrowed(message));
            event.user = Some(Cow::Borrowed("root"));
            event.src_ip = Some(Cow::Borrowed("203.0.113.7"));
            event.http_status = Some(401);
            event.attrs = vec![
                (Cow::Borrowed("objectRef.resource"), Cow::Borrowed("pods")),
                (Cow::Borrowed("verb"), Cow::Borrowed("create")),
            ];
            let id = format!("fuzz-{index}");
            builder.append(
                &event,
                &RecordMeta {
                    ingest_time: 1_750_000_100_000_000,
                    event_id: &id,
                    service: "fuzz",
                    raw: message,
                    not_utf8: false,
                },
            );
        }
        builder.finish().expect("events always make a valid batch")
    })
}
