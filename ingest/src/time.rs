//! Timestamps as logs write them, normalized to UTC microseconds since the epoch.
//!
//! The common shapes are parsed by hand (they are on the hot path of every parser) into a
//! [`Civil`] date-time, which converts to microseconds with Howard Hinnant's `days_from_civil`.
//! Every function returns `None` for input it does not recognize or for impossible dates; none
//! of them panics on any input.

/// Microseconds per second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A calendar date and time of day with an offset from UTC in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
    pub offset_seconds: i32,
}

impl Civil {
    /// UTC microseconds since the epoch, or `None` if a field is out of range.
    /// A leap second (`:60`) is folded into the last microsecond of its minute.
    pub fn to_micros(self) -> Option<i64> {
        if !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(self.year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || self.micros > 999_999
            || !(-1..=9999).contains(&self.year)
        {
            return None;
        }
        let (second, micros) = if self.second == 60 {
            (59, 999_999)
        } else {
            (self.second, self.micros)
        };
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds_of_day = i64::from(self.hour * 3600 + self.minute * 60 + second);
        Some(
            days * MICROS_PER_DAY + seconds_of_day * MICROS_PER_SECOND + i64::from(micros)
                - i64::from(self.offset_seconds) * MICROS_PER_SECOND,
        )
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The UTC calendar year of a timestamp in microseconds.
pub fn year_of(micros: i64) -> i32 {
    let days = micros.div_euclid(MICROS_PER_DAY);
    // civil_from_days, year part only.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let year = year_of_era + era * 400 + i64::from(month_index >= 10);
    i32::try_from(year).unwrap_or(i32::MAX)
}

/// A tiny cursor over ASCII digits and separators.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `count` digits.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + count)?;
        let mut value = 0u32;
        for &byte in slice {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(byte - b'0');
        }
        self.pos += count;
        Some(value)
    }

    /// One or two digits (days and hours are sometimes not zero-padded).
    fn one_or_two_digits(&mut self) -> Option<u32> {
        let first = self.peek().filter(u8::is_ascii_digit)?;
        self.pos += 1;
        match self.peek() {
            Some(second) if second.is_ascii_digit() => {
                self.pos += 1;
                Some(u32::from(first - b'0') * 10 + u32::from(second - b'0'))
            }
            _ => Some(u32::from(first - b'0')),
        }
    }

    /// A fraction after `.` or `,`: any number of digits, kept to microseconds.
    fn fraction(&mut self) -> u32 {
        if !(self.eat(b'.') || self.eat(b',')) {
            return 0;
        }
        let mut micros = 0u32;
        let mut scale = 100_000u32;
        while let Some(byte) = self.peek().filter(u8::is_ascii_digit) {
            micros += u32::from(byte - b'0') * scale;
            scale /= 10;
            self.pos += 1;
        }
        micros
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos.min(self.bytes.len())..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// A UTC offset: `Z`, `+hh:mm`, `+hhmm`, `+hh`, or ` UTC`/` GMT`. `None` if absent.
    fn offset(&mut self) -> Option<Option<i32>> {
        match self.peek() {
            Some(b'Z') | Some(b'z') => {
                self.pos += 1;
                Some(Some(0))
            }
            Some(sign @ (b'+' | b'-')) => {
                self.pos += 1;
                let hours = self.digits(2)?;
                self.eat(b':');
                let minutes = if self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                    self.digits(2)?
                } else {
                    0
                };
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = (hours * 3600 + minutes * 60) as i32;
                Some(Some(if sign == b'-' { -seconds } else { seconds }))
            }
            _ => Some(None),
        }
    }
}

/// Parses `HH:MM:SS[.fraction]`.
fn clock(cursor: &mut Cursor) -> Option<(u32, u32, u32, u32)> {
    let hour = cursor.one_or_two_digits()?;
    if !cursor.eat(b':') {
        return None;
    }
    let minute = cursor.digits(2)?;
    let second = if cursor.eat(b':') {
        cursor.digits(2)?
    } else {
        0
    };
    let micros = cursor.fraction();
    Some((hour, minute, second, micros))
}

/// RFC 3339 / ISO 8601 date-times: `2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.123+02:00`,
/// up to nanosecond fractions (Windows `SystemTime` has seven digits). A time without an offset
/// is taken as UTC. A date alone is midnight UTC.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let mut cursor = Cursor::new(text.trim());
    let year = cursor.digits(4)? as i32;
    if !cursor.eat(b'-') {
        return None;
    }
    let month = cursor.digits(2)?;
    if !cursor.eat(b'-') {
        return None;
    }
    let day = cursor.digits(2)?;
    let (hour, minute, second, micros) = if cursor.eat(b'T') || cursor.eat(b't') || cursor.eat(b' ')
    {
        clock(&mut cursor)?
    } else {
        (0, 0, 0, 0)
    };
    cursor.skip_spaces();
    let offset = match cursor.offset()? {
        Some(offset) => offset,
        None => {
            let rest = cursor.rest();
            if rest.eq_ignore_ascii_case(b"UTC") || rest.eq_ignore_ascii_case(b"GMT") {
                cursor.pos += 3;
            }
            0
        }
    };
    if !cursor.at_end() {
        return None;
    }
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds: offset,
    }
    .to_micros()
}

/// A number of seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by
/// magnitude (as most log tools do): below 10^11 seconds, below 10^14 milliseconds, below 10^17
/// microseconds, else nanoseconds. Fractions are allowed (`1425565512.962928`).
pub fn parse_epoch(text: &str) -> Option<i64> {
    let bytes = crate::parse::ascii::trim(text).as_bytes();
    let (integer, fraction) = match memchr::memchr(b'.', bytes) {
        Some(dot) => (&bytes[..dot], &bytes[dot + 1..]),
        None => (bytes, &[][..]),
    };
    if integer.is_empty() || integer.len() > 19 {
        return None;
    }
    let digit = |byte: u8| {
        let value = byte.wrapping_sub(b'0');
        (value <= 9).then_some(i64::from(value))
    };
    let mut value = 0i64;
    for &byte in integer {
        value = value.checked_mul(10)?.checked_add(digit(byte)?)?;
    }
    let (unit_micros_num, unit_micros_den): (i64, i64) = match value {
        0..100_000_000_000 => (1_000_000, 1),
        100_000_000_000..100_000_000_000_000 => (1_000, 1),
        100_000_000_000_000..100_000_000_000_000_000 => (1, 1),
        _ => (1, 1_000),
    };
    let whole = value.checked_mul(unit_micros_num)? / unit_micros_den;
    let mut fractional = 0i64;
    let mut scale = unit_micros_num / 10;
    for &byte in fraction {
        let value = digit(byte)?;
        fractional += value * scale;
        scale /= 10;
    }
    whole.checked_add(fractional)
}

/// Epoch time from a JSON number (integer or float), by the same magnitude rule as
/// [`parse_epoch`].
pub fn epoch_from_f64(value: f64) -> Option<i64> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let micros = if value < 1e11 {
        value * 1e6
    } else if value < 1e14 {
        value * 1e3
    } else if value < 1e17 {
        value
    } else {
        value / 1e3
    };
    if micros > 9.2e18 {
        return None;
    }
    Some(micros as i64)
}

/// The month (1-12) of an English three-letter abbreviation at the start of `name`, any case.
pub fn month_from_abbrev(name: &[u8]) -> Option<u32> {
    let lower = |index: usize| name.get(index).map(u8::to_ascii_lowercase);
    let key = [lower(0)?, lower(1)?, lower(2)?];
    let month = match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(month)
}

/// Apache/nginx `$time_local`: `10/Oct/2000:13:55:36 -0700` (the brackets are optional).
pub fn parse_apache(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let mut cursor = Cursor::new(text);
    let day = cursor.one_or_two_digits()?;
    if !cursor.eat(b'/') {
        return None;
    }
    let month = month_from_abbrev(cursor.rest())?;
    cursor.pos += 3;
    if !cursor.eat(b'/') {
        return None;
    }
    let year = cursor.digits(4)? as i32;
    if !cursor.eat(b':') {
        return None;
    }
    let (hour, minute, second, micros) = clock(&mut cursor)?;
    cursor.skip_spaces();
    let offset = cursor.offset()?.unwrap_or(0);
    if !cursor.at_end() {
        return None;
    }
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds: offset,
    }
    .to_micros()
}

/// The RFC 3164 timestamp `Mmm dd hh:mm:ss` (day space-padded), which has no year and no zone.
/// Returns the parsed month/day/time and how many bytes it took, so the caller can go on
/// parsing the line.
pub fn parse_rfc3164_prefix(text: &str) -> Option<(Civil, usize)> {
    let mut cursor = Cursor::new(text);
    let month = month_from_abbrev(cursor.rest())?;
    cursor.pos += 3;
    if !cursor.eat(b' ') {
        return None;
    }
    cursor.skip_spaces();
    let day = cursor.one_or_two_digits()?;
    if !cursor.eat(b' ') {
        return None;
    }
    let (hour, minute, second, micros) = clock(&mut cursor)?;
    let civil = Civil {
        year: 1970,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds: 0,
    };
    Some((civil, cursor.pos))
}

/// Resolves a year-less timestamp (RFC 3164) against a reference time (when the record was
/// written or received): of the years before, of and after the reference's, the one that puts
/// the timestamp closest to the reference. So `Dec 31 23:59:59` read just after New Year
/// lands in the old year, and `Jan 1 00:00:01` from a clock slightly ahead in the new one.
pub fn resolve_year(civil: Civil, reference_micros: i64) -> Option<i64> {
    let reference_year = year_of(reference_micros);
    [reference_year - 1, reference_year, reference_year + 1]
        .into_iter()
        .filter_map(|year| Civil { year, ..civil }.to_micros())
        .min_by_key(|micros| (micros - reference_micros).unsigned_abs())
}

/// Apache error log and ctime-style times: `Wed Oct 11 14:32:52.123456 2000` (weekday optional).
pub fn parse_ctime(text: &str) -> Option<i64> {
    let mut text = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    // Optional weekday.
    if text.len() > 4 && text.as_bytes()[3] == b' ' && month_from_abbrev(text.as_bytes()).is_none()
    {
        text = text.get(4..)?;
    }
    let (civil, used) = parse_rfc3164_prefix(text)?;
    let mut cursor = Cursor::new(text);
    cursor.pos = used;
    cursor.skip_spaces();
    let year = cursor.digits(4)? as i32;
    if !cursor.at_end() {
        return None;
    }
    Civil { year, ..civil }.to_micros()
}

/// CEF and Java style `MMM dd yyyy HH:mm:ss[.SSS] [zone]`, as in CEF's `rt` field.
pub fn parse_month_day_year(text: &str) -> Option<i64> {
    let mut cursor = Cursor::new(text.trim());
    let month = month_from_abbrev(cursor.rest())?;
    cursor.pos += 3;
    cursor.skip_spaces();
    let day = cursor.one_or_two_digits()?;
    cursor.skip_spaces();
    let year = cursor.digits(4)? as i32;
    cursor.skip_spaces();
    let (hour, minute, second, micros) = clock(&mut cursor)?;
    cursor.skip_spaces();
    let offset = match cursor.offset()? {
        Some(offset) => offset,
        None => {
            let rest = cursor.rest();
            if rest.is_empty()
                || rest.eq_ignore_ascii_case(b"UTC")
                || rest.eq_ignore_ascii_case(b"GMT")
            {
                0
            } else {
                return None;
            }
        }
    };
    Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds: offset,
    }
    .to_micros()
}

/// Any of the textual representations above, for fields whose format is not known in advance
/// (a JSON `timestamp`): RFC 3339, epoch numbers, Apache, ctime, `MMM dd yyyy HH:mm:ss`.
pub fn parse_any(text: &str) -> Option<i64> {
    let trimmed = crate::parse::ascii::trim(text);
    let first = *trimmed.as_bytes().first()?;
    if first.is_ascii_digit() {
        parse_rfc3339(trimmed)
            .or_else(|| parse_epoch(trimmed))
            .or_else(|| parse_apache(trimmed))
    } else if first == b'[' {
        parse_apache(trimmed).or_else(|| parse_ctime(trimmed))
    } else {
        parse_ctime(trimmed).or_else(|| parse_month_day_year(trimmed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T2000: i64 = 971_275_336 * MICROS_PER_SECOND; // 2000-10-11T14:42:16Z

    #[test]
    fn rfc3339_variants() {
        assert_eq!(parse_rfc3339("2000-10-11T14:42:16Z"), Some(T2000));
        assert_eq!(parse_rfc3339("2000-10-11T16:42:16+02:00"), Some(T2000));
        assert_eq!(parse_rfc3339("2000-10-11T09:42:16-0500"), Some(T2000));
        assert_eq!(parse_rfc3339("2000-10-11 14:42:16"), Some(T2000));
        assert_eq!(
            parse_rfc3339("2000-10-11T14:42:16.5270000Z"),
            Some(T2000 + 527_000)
        );
        assert_eq!(
            parse_rfc3339("2000-10-11T14:42:16.123456789Z"),
            Some(T2000 + 123_456)
        );
        assert_eq!(parse_rfc3339("2000-10-11 14:42:16 UTC"), Some(T2000));
        assert_eq!(parse_rfc3339("1970-01-01"), Some(0));
    }

    #[test]
    fn rfc3339_rejects_impossible_dates() {
        assert_eq!(parse_rfc3339("2001-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2000-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2000-10-11T25:00:00Z"), None);
        assert_eq!(parse_rfc3339("2000-10-11T14:42:16Zjunk"), None);
        assert_eq!(parse_rfc3339(""), None);
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_some(), "leap day");
    }

    #[test]
    fn leap_second_folds_into_its_minute() {
        let leap = parse_rfc3339("2016-12-31T23:59:60Z");
        assert_eq!(leap, parse_rfc3339("2016-12-31T23:59:59.999999Z"));
    }

    #[test]
    fn epoch_units_by_magnitude() {
        assert_eq!(parse_epoch("971275336"), Some(T2000));
        assert_eq!(parse_epoch("971275336000"), Some(T2000));
        assert_eq!(parse_epoch("971275336000000"), Some(T2000));
        assert_eq!(parse_epoch("971275336000000000"), Some(T2000));
        assert_eq!(parse_epoch("971275336.25"), Some(T2000 + 250_000));
        assert_eq!(parse_epoch("-5"), None);
        assert_eq!(parse_epoch("99999999999999999999999"), None);
        assert_eq!(epoch_from_f64(971_275_336.5), Some(T2000 + 500_000));
    }

    #[test]
    fn apache_time_local() {
        assert_eq!(parse_apache("[11/Oct/2000:07:42:16 -0700]"), Some(T2000));
        assert_eq!(parse_apache("11/Oct/2000:14:42:16 +0000"), Some(T2000));
        assert_eq!(parse_apache("11/Foo/2000:14:42:16 +0000"), None);
    }

    #[test]
    fn ctime_and_month_day_year() {
        assert_eq!(
            parse_ctime("[Wed Oct 11 14:42:16.000250 2000]"),
            Some(T2000 + 250)
        );
        assert_eq!(parse_ctime("Oct 11 14:42:16 2000"), Some(T2000));
        assert_eq!(parse_month_day_year("Oct 11 2000 14:42:16"), Some(T2000));
        assert_eq!(
            parse_month_day_year("Oct 11 2000 16:42:16 +02:00"),
            Some(T2000)
        );
    }

    #[test]
    fn rfc3164_year_resolves_around_new_year() {
        let new_year_2025 = parse_rfc3339("2025-01-01T00:00:30Z").expect("valid");
        let (december, _) = parse_rfc3164_prefix("Dec 31 23:59:59 host").expect("valid");
        assert_eq!(
            resolve_year(december, new_year_2025),
            parse_rfc3339("2024-12-31T23:59:59Z")
        );
        let end_of_2024 = parse_rfc3339("2024-12-31T23:59:50Z").expect("valid");
        let (january, _) = parse_rfc3164_prefix("Jan  1 00:00:01 host").expect("valid");
        assert_eq!(
            resolve_year(january, end_of_2024),
            parse_rfc3339("2025-01-01T00:00:01Z")
        );
        let (leap_day, _) = parse_rfc3164_prefix("Feb 29 12:00:00").expect("valid");
        let mid_2025 = parse_rfc3339("2025-06-01T00:00:00Z").expect("valid");
        assert_eq!(
            resolve_year(leap_day, mid_2025),
            parse_rfc3339("2024-02-29T12:00:00Z"),
            "Feb 29 only exists in 2024 of 2024..=2026"
        );
    }

    #[test]
    fn apache_offsets_on_both_sides_of_dst_changes_give_utc() {
        // New York springs forward at 07:00 UTC on 2024-03-10, Berlin at 01:00 UTC on
        // 2024-03-31; Berlin's 02:30 happens twice on 2024-10-27, told apart by the offset.
        for (local, utc) in [
            ("10/Mar/2024:01:59:59 -0500", "2024-03-10T06:59:59Z"),
            ("10/Mar/2024:03:00:00 -0400", "2024-03-10T07:00:00Z"),
            ("31/Mar/2024:01:59:59 +0100", "2024-03-31T00:59:59Z"),
            ("31/Mar/2024:03:00:00 +0200", "2024-03-31T01:00:00Z"),
            ("27/Oct/2024:02:30:00 +0200", "2024-10-27T00:30:00Z"),
            ("27/Oct/2024:02:30:00 +0100", "2024-10-27T01:30:00Z"),
            ("29/Feb/2024:23:30:00 -0100", "2024-03-01T00:30:00Z"),
        ] {
            assert_eq!(parse_apache(local), parse_rfc3339(utc), "{local}");
        }
        assert_eq!(parse_apache("29/Feb/2023:12:00:00 +0000"), None);
        assert_eq!(
            parse_apache("29/Feb/2100:12:00:00 +0000"),
            None,
            "not a leap year"
        );
        assert!(
            parse_apache("29/Feb/2000:12:00:00 +0000").is_some(),
            "a leap year"
        );
    }

    #[test]
    fn rfc3164_leap_day_resolves_to_the_nearest_leap_year() {
        let (leap_day, _) = parse_rfc3164_prefix("Feb 29 23:59:59 host").expect("valid");
        let after = parse_rfc3339("2024-03-01T00:00:30Z").expect("valid");
        assert_eq!(
            resolve_year(leap_day, after),
            parse_rfc3339("2024-02-29T23:59:59Z")
        );
        let before_2028 = parse_rfc3339("2027-12-31T23:00:00Z").expect("valid");
        assert_eq!(
            resolve_year(leap_day, before_2028),
            parse_rfc3339("2028-02-29T23:59:59Z"),
            "a clock ahead into a leap year"
        );
        let mid_2026 = parse_rfc3339("2026-06-01T00:00:00Z").expect("valid");
        assert_eq!(
            resolve_year(leap_day, mid_2026),
            None,
            "no leap year within a year either side: the caller flags the time missing"
        );
    }

    #[test]
    fn year_of_round_trips() {
        for year in [1969, 1970, 1999, 2000, 2024, 2025, 2100] {
            let micros = Civil {
                year,
                month: 12,
                day: 31,
                hour: 23,
                minute: 59,
                second: 59,
                micros: 0,
                offset_seconds: 0,
            }
            .to_micros()
            .expect("valid");
            assert_eq!(year_of(micros), year);
            assert_eq!(year_of(micros + MICROS_PER_SECOND), year + 1);
        }
    }

    #[test]
    fn parse_any_accepts_each_shape() {
        for text in [
            "2000-10-11T14:42:16Z",
            "971275336",
            "971275336000",
            "11/Oct/2000:14:42:16 +0000",
            "Wed Oct 11 14:42:16 2000",
            "Oct 11 2000 14:42:16",
        ] {
            assert_eq!(parse_any(text), Some(T2000), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in ".{0,64}") {
            let _ = parse_any(&text);
            let _ = parse_rfc3164_prefix(&text);
            let _ = parse_month_day_year(&text);
        }
    }
}
