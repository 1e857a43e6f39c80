//! The framer over arbitrary bytes, in each mode (chosen from the first line, lines, JSON
//! values), with a small record limit and a small read buffer so that records and reads cross
//! buffer boundaries.
//!
//! Input: two control bytes, then the source. The first picks the mode (modulo 3) and the record
//! limit (1 to 64 bytes); the second the read buffer's size (1 to 256 bytes).
//!
//! Nothing is lost: every frame is the source's bytes at its position, in order, marked
//! oversized exactly when it is over the limit; every byte outside the frames is whitespace
//! (or, between JSON values, a separating comma); the framer ends at the source's end.

#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use weft_ingest::frame::{Frame, Framer, FramingMode};

fuzz_target!(|data: &[u8]| {
    let [control, buffer_size, source @ ..] = data else {
        return;
    };
    let mode = match control % 3 {
        0 => None,
        1 => Some(FramingMode::Lines),
        _ => Some(FramingMode::JsonValues),
    };
    let max_record = 1 + usize::from(control / 3) % 64;
    let reader = BufReader::with_capacity(1 + usize::from(*buffer_size), source);
    let mut framer = Framer::new(reader, mode, max_record);
    // Where the previous frame ended, and the bytes between frames.
    let mut end = 0usize;
    let mut between: Vec<u8> = Vec::new();
    // The line `end` is on.
    let mut line = 1u64;
    while let Some(frame) = framer
        .next_frame()
        .expect("reading from memory cannot fail")
    {
        let (position, bytes, oversized) = match frame {
            Frame::Record { position, bytes } => (position, bytes, false),
            Frame::Oversized {
                position,
                size,
                bytes,
            } => {
                assert_eq!(size, bytes.len() as u64, "far below the hard cap");
                (position, bytes, true)
            }
        };
        let start = usize::try_from(position.offset).expect("a small offset");
        assert!(start >= end, "frames overlap or go back");
        assert_eq!(source.get(start..start + bytes.len()), Some(bytes));
        line += source[end..start]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count() as u64;
        assert_eq!(position.line, line, "line of offset {start}");
        assert_eq!(oversized, bytes.len() > max_record);
        assert!(
            bytes.iter().any(|byte| !byte.is_ascii_whitespace()),
            "a blank frame"
        );
        between.extend_from_slice(&source[end..start]);
        end = start + bytes.len();
        line += bytes.iter().filter(|&&byte| byte == b'\n').count() as u64;
    }
    between.extend_from_slice(&source[end..]);
    assert_eq!(framer.offset(), source.len() as u64);
    let separators: &[u8] = match framer.mode() {
        Some(FramingMode::JsonValues) => b",",
        _ => b"",
    };
    for byte in between {
        assert!(
            byte.is_ascii_whitespace() || separators.contains(&byte),
            "byte {byte:#04x} is in no frame"
        );
    }
});
