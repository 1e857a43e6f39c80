//! JSON flattening over arbitrary text: never panics, and accepts exactly the documents
//! serde_json decodes into a `Value` (same grammar, same string escapes, same nesting limit).

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_ingest::parse::flatten;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let flattened = flatten::flatten(&text);
    let accepted = serde_json::from_str::<serde_json::Value>(&text).is_ok();
    assert_eq!(
        flattened.is_ok(),
        accepted,
        "flatten and serde_json disagree: {flattened:?}"
    );
});
