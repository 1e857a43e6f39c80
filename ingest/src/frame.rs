//! Framing: cutting a byte stream into records.
//!
//! Most logs are one record per line. JSON is sometimes written one document over many lines
//! (a pretty-printed Windows event, a CloudTrail `{"Records": [...]}` file): when a source's
//! first line starts a JSON value that does not end on that line, the source is framed by JSON
//! values instead, tracking nesting outside strings.
//!
//! Every record keeps its origin: byte offset and line number in the source. A record over the
//! size limit is returned as [`Frame::Oversized`] (its bytes kept for the dead letters) instead
//! of being dropped; one over the hard cap keeps only its first [`HARD_CAP`] bytes.

use std::io::{self, BufRead, Read};

/// Records longer than this are not even kept whole for the dead letters.
pub const HARD_CAP: usize = 64 * 1024 * 1024;

/// How a source is cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingMode {
    /// One record per line (`\n`, with an optional `\r` before it).
    Lines,
    /// One record per top-level JSON value, which may span lines.
    JsonValues,
}

/// Where a record starts in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset of the record's first byte.
    pub offset: u64,
    /// 1-based line number of the record's first byte.
    pub line: u64,
}

/// One framed record.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'b> {
    Record {
        position: Position,
        bytes: &'b [u8],
    },
    /// A record longer than the size limit. `bytes` holds at most [`HARD_CAP`] of it.
    Oversized {
        position: Position,
        size: u64,
        bytes: &'b [u8],
    },
}

/// Cuts a reader into records.
pub struct Framer<R> {
    reader: R,
    mode: Option<FramingMode>,
    max_record: usize,
    buffer: Vec<u8>,
    /// Bytes read past the current record (the first line read while choosing the mode).
    pending: Vec<u8>,
    /// How much of `pending` has been consumed.
    pending_pos: usize,
    offset: u64,
    line: u64,
}

impl<R> std::fmt::Debug for Framer<R> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Framer")
            .field("mode", &self.mode)
            .field("offset", &self.offset)
            .field("line", &self.line)
            .finish()
    }
}

impl<R: BufRead> Framer<R> {
    /// A framer that picks its mode from the first line (`mode: None`) or uses the given one.
    pub fn new(reader: R, mode: Option<FramingMode>, max_record: usize) -> Self {
        Framer {
            reader,
            mode,
            max_record,
            buffer: Vec::new(),
            pending: Vec::new(),
            pending_pos: 0,
            offset: 0,
            line: 1,
        }
    }

    /// The framing mode in use (known after the first record).
    pub fn mode(&self) -> Option<FramingMode> {
        self.mode
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record, or `None` at the end of the input. Blank lines are not records.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let mode = match self.mode {
            Some(mode) => mode,
            None => {
                let mode = self.choose_mode()?;
                self.mode = Some(mode);
                mode
            }
        };
        match mode {
            FramingMode::Lines => self.next_line(),
            FramingMode::JsonValues => self.next_json_value(),
        }
    }

    /// Reads the first line into `pending` and decides.
    fn choose_mode(&mut self) -> io::Result<FramingMode> {
        let mut first = Vec::new();
        read_line_capped(&mut self.reader, &mut first, HARD_CAP)?;
        let trimmed = trim_ascii_start(&first);
        let starts_json = matches!(trimmed.first(), Some(b'{' | b'['));
        // Multi-line JSON only when the first line is JSON cut short by the end of the line;
        // a line that is simply not JSON (`[2016-04-15T20:17:00Z] ...`) keeps line framing.
        let continues_past_line = starts_json
            && serde_json::from_slice::<serde::de::IgnoredAny>(trim_line_end(&first))
                .is_err_and(|error| error.is_eof());
        self.pending = first;
        Ok(if continues_past_line {
            FramingMode::JsonValues
        } else {
            FramingMode::Lines
        })
    }

    fn next_line(&mut self) -> io::Result<Option<Frame<'_>>> {
        loop {
            self.buffer.clear();
            let start = Position {
                offset: self.offset,
                line: self.line,
            };
            let read = if self.pending.is_empty() {
                read_line_capped(&mut self.reader, &mut self.buffer, HARD_CAP)?
            } else {
                std::mem::swap(&mut self.buffer, &mut self.pending);
                self.pending.clear();
                ReadLine {
                    consumed: self.buffer.len() as u64,
                    truncated: false,
                    terminator: (self.buffer.len() - trim_line_end(&self.buffer).len()) as u64,
                }
            };
            if read.consumed == 0 {
                return Ok(None);
            }
            self.offset += read.consumed;
            self.line += 1;
            // The record's own size: its line ending is not part of it.
            let size = read.consumed - read.terminator;
            let record = trim_line_end(&self.buffer);
            if trim_ascii_start(record).is_empty() {
                continue;
            }
            let record_len = record.len();
            if record_len > self.max_record || read.truncated {
                return Ok(Some(Frame::Oversized {
                    position: start,
                    size,
                    bytes: &self.buffer[..record_len],
                }));
            }
            return Ok(Some(Frame::Record {
                position: start,
                bytes: &self.buffer[..record_len],
            }));
        }
    }

    fn next_json_value(&mut self) -> io::Result<Option<Frame<'_>>> {
        self.buffer.clear();
        let mut scanner = JsonScanner::default();
        let mut start: Option<Position> = None;
        let mut size = 0u64;
        while let Some(byte) = self.next_byte()? {
            size += 1;
            let position = Position {
                offset: self.offset,
                line: self.line,
            };
            self.offset += 1;
            if byte == b'\n' {
                self.line += 1;
            }
            if start.is_none() {
                if byte.is_ascii_whitespace() || byte == b',' {
                    size = 0;
                    continue;
                }
                start = Some(position);
            }
            if self.buffer.len() < HARD_CAP {
                self.buffer.push(byte);
            }
            if scanner.feed(byte) {
                break;
            }
        }
        let Some(position) = start else {
            return Ok(None);
        };
        let bytes = &self.buffer[..];
        if bytes.len() > self.max_record || size as usize > bytes.len() {
            return Ok(Some(Frame::Oversized {
                position,
                size,
                bytes,
            }));
        }
        Ok(Some(Frame::Record { position, bytes }))
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        if let Some(&byte) = self.pending.get(self.pending_pos) {
            self.pending_pos += 1;
            return Ok(Some(byte));
        }
        let available = self.reader.fill_buf()?;
        let Some(&byte) = available.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        Ok(Some(byte))
    }
}

/// Tracks JSON nesting outside strings; `feed` returns true when a top-level value ends.
#[derive(Debug, Default)]
struct JsonScanner {
    depth: usize,
    in_string: bool,
    escaped: bool,
    started: bool,
}

impl JsonScanner {
    fn feed(&mut self, byte: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                return self.depth == 0;
            }
            return false;
        }
        match byte {
            b'"' => {
                self.in_string = true;
                self.started = true;
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.started = true;
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                return self.depth == 0;
            }
            b'\n' if self.depth == 0 && self.started => return true,
            _ => self.started = true,
        }
        false
    }
}

struct ReadLine {
    consumed: u64,
    truncated: bool,
    /// Bytes of the line ending (`\n` or `\r\n`) among those consumed.
    terminator: u64,
}

/// Reads up to and including the next `\n`, keeping at most `cap` bytes in `out`.
fn read_line_capped<R: BufRead>(
    reader: &mut R,
    out: &mut Vec<u8>,
    cap: usize,
) -> io::Result<ReadLine> {
    let mut consumed = 0u64;
    let mut truncated = false;
    // The last two bytes consumed: the line ending, even when `out` was cut short.
    let mut tail = [0u8; 2];
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(index) => (&available[..=index], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(out.len());
        if chunk.len() > room {
            truncated = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        match chunk {
            [.., before, last] => tail = [*before, *last],
            [last] => tail = [tail[1], *last],
            [] => {}
        }
        let length = chunk.len();
        consumed += length as u64;
        reader.consume(length);
        if done {
            break;
        }
    }
    let terminator = match tail {
        [b'\r', b'\n'] => 2,
        [_, b'\n' | b'\r'] => 1,
        _ => 0,
    };
    Ok(ReadLine {
        consumed,
        truncated,
        terminator: terminator.min(consumed),
    })
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Reads all frames of `input` into owned records (for tests and small inputs).
pub fn frame_all(input: &[u8], max_record: usize) -> io::Result<Vec<(Position, Vec<u8>, bool)>> {
    let mut framer = Framer::new(io::BufReader::new(input), None, max_record);
    let mut frames = Vec::new();
    while let Some(frame) = framer.next_frame()? {
        frames.push(match frame {
            Frame::Record { position, bytes } => (position, bytes.to_vec(), false),
            Frame::Oversized {
                position, bytes, ..
            } => (position, bytes.to_vec(), true),
        });
    }
    Ok(frames)
}

/// Reads a whole reader into memory, for callers that need the bytes at once.
pub fn read_to_end(mut reader: impl Read) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<(u64, u64, String)> {
        frame_all(input.as_bytes(), 1024)
            .expect("in-memory input")
            .into_iter()
            .map(|(position, bytes, _)| {
                (
                    position.offset,
                    position.line,
                    String::from_utf8(bytes).expect("utf8"),
                )
            })
            .collect()
    }

    #[test]
    fn lines_with_offsets_skipping_blank_ones() {
        assert_eq!(
            records("a\r\n\nbb\nccc"),
            [
                (0, 1, "a".to_string()),
                (4, 3, "bb".to_string()),
                (7, 4, "ccc".to_string())
            ]
        );
    }

    #[test]
    fn ndjson_stays_line_framed() {
        assert_eq!(
            records("{\"a\":1}\n{\"b\":\n").len(),
            2,
            "a truncated line is its own record"
        );
    }

    #[test]
    fn pretty_printed_documents_are_framed_by_value() {
        let input = "{\n  \"a\": \"}\\\"{\",\n  \"b\": [1,\n 2]\n}\n{\"c\": {}}\n";
        let framed = records(input);
        assert_eq!(framed.len(), 2);
        assert_eq!(framed[0].2, "{\n  \"a\": \"}\\\"{\",\n  \"b\": [1,\n 2]\n}");
        assert_eq!((framed[1].0, framed[1].1), (34, 6));
    }

    #[test]
    fn bracketed_text_lines_stay_line_framed() {
        let framed = records(
            "[Wed Oct 11 14:32:52 2000] [error] one\n[Wed Oct 11 14:32:53 2000] [error] two\n",
        );
        assert_eq!(framed.len(), 2);
    }

    #[test]
    fn truncated_document_is_still_a_record() {
        let framed = records("{\n \"a\": [1,\n");
        assert_eq!(framed.len(), 1, "the parser reports it; nothing is lost");
    }

    #[test]
    fn an_oversized_line_has_its_own_size_without_the_line_ending() {
        for input in ["\nafter\n", "\r\nafter\n", "\n", "\r", ""] {
            let input = format!("{}{input}", "x".repeat(2000));
            let mut framer = Framer::new(input.as_bytes(), Some(FramingMode::Lines), 1024);
            match framer.next_frame().expect("in-memory input") {
                Some(Frame::Oversized { size, bytes, .. }) => {
                    assert_eq!(size, 2000, "{:?}", &input[2000..]);
                    assert_eq!(bytes.len(), 2000);
                }
                _ => panic!("the long line is oversized"),
            }
        }
    }

    #[test]
    fn oversized_lines_are_marked_not_dropped() {
        let input = format!("short\n{}\nafter\n", "x".repeat(2000));
        let frames = frame_all(input.as_bytes(), 1024).expect("in-memory input");
        assert_eq!(frames.len(), 3);
        assert!(frames[1].2, "second record is oversized");
        assert_eq!(
            frames[1].1.len(),
            2000,
            "its bytes are kept for the dead letters"
        );
        assert!(!frames[2].2);
    }

    proptest::proptest! {
        #[test]
        fn line_framing_keeps_every_non_blank_byte(input in "[a-z{}\\[\\]\" \r\n]{0,200}") {
            let mut framer = Framer::new(io::BufReader::new(input.as_bytes()), Some(FramingMode::Lines), 16);
            let mut kept = 0;
            while let Some(frame) = framer.next_frame().expect("in-memory input") {
                let bytes = match frame {
                    Frame::Record { bytes, .. } | Frame::Oversized { bytes, .. } => bytes,
                };
                kept += bytes.iter().filter(|b| !b.is_ascii_whitespace()).count();
            }
            let total = input.bytes().filter(|b| !b.is_ascii_whitespace()).count();
            proptest::prop_assert_eq!(kept, total);
            proptest::prop_assert_eq!(framer.offset(), input.len() as u64);
        }

        #[test]
        fn json_framing_never_panics(input in "[a-z{}\\[\\]\",: \n\\\\]{0,200}") {
            let _ = frame_all(input.as_bytes(), 64);
        }
    }
}
