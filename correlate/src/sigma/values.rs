//! How event text is read for the typed modifiers (numbers, dates, addresses) and folded for
//! case-insensitive matching. Shared by both evaluators so they read values alike.

use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

use super::modifier::TimePart;

/// Lowercases character by character, so that a folded substring is a substring of the folded
/// whole (unlike `str::to_lowercase`, whose final-sigma rule depends on context).
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        out.extend(c.to_lowercase());
    }
    out
}

/// A field value read as a number: decimal, or hexadecimal with `0x`.
pub fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(|value| value as f64);
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// A field value read as a date (RFC 3339, or `YYYY-MM-DD HH:MM:SS[.f]` / with `T`), and the
/// part the time modifiers extract, as written (no time zone conversion).
pub fn time_part(text: &str, part: TimePart) -> Option<f64> {
    let text = text.trim();
    let naive = DateTime::parse_from_rfc3339(text)
        .map(|time| time.naive_local())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    Some(f64::from(match part {
        TimePart::Minute => naive.minute(),
        TimePart::Hour => naive.hour(),
        TimePart::Day => naive.day(),
        TimePart::Week => naive.iso_week().week(),
        TimePart::Month => naive.month(),
        TimePart::Year => return Some(f64::from(naive.year())),
    }))
}

/// A field value read as an IP address.
pub fn ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_per_character() {
        assert_eq!(fold("CMD.EXE"), "cmd.exe");
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
    }

    #[test]
    fn reads_numbers_and_dates() {
        assert_eq!(number(" 42 "), Some(42.0));
        assert_eq!(number("0x17"), Some(23.0));
        assert_eq!(number("x"), None);
        let time = "2024-03-05T18:07:09.123Z";
        assert_eq!(time_part(time, TimePart::Hour), Some(18.0));
        assert_eq!(time_part(time, TimePart::Minute), Some(7.0));
        assert_eq!(time_part(time, TimePart::Day), Some(5.0));
        assert_eq!(time_part(time, TimePart::Week), Some(10.0));
        assert_eq!(time_part(time, TimePart::Month), Some(3.0));
        assert_eq!(time_part(time, TimePart::Year), Some(2024.0));
        assert_eq!(
            time_part("2024-03-05 01:02:03", TimePart::Minute),
            Some(2.0)
        );
        assert_eq!(time_part("yesterday", TimePart::Hour), None);
    }
}
