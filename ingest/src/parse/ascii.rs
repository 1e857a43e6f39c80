//! ASCII fast paths for the text parsers handle: trimming and address checks that decide
//! without decoding characters when the text is plain ASCII, and agree exactly with the
//! standard library's `str::trim` and `IpAddr` parsing otherwise (property tests below).

use std::net::IpAddr;

/// `text.trim()`, without decoding characters when both ends are ASCII and not whitespace.
pub fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last))
            if is_ascii_non_whitespace(first) && is_ascii_non_whitespace(last) =>
        {
            text
        }
        _ => text.trim(),
    }
}

/// `text.trim_end()`, without decoding characters when the end is ASCII and not whitespace.
pub fn trim_end(text: &str) -> &str {
    match text.as_bytes().last() {
        Some(&last) if is_ascii_non_whitespace(last) => text,
        _ => text.trim_end(),
    }
}

/// An ASCII byte that `char::is_whitespace` does not match (a whole character, never part of
/// a multi-byte one).
fn is_ascii_non_whitespace(byte: u8) -> bool {
    byte.is_ascii() && !matches!(byte, b'\t'..=b'\r' | b' ')
}

/// Whether `text` is an IPv4 or IPv6 address, exactly as `text.parse::<IpAddr>()` decides.
/// Text of digits and dots can only be an IPv4 address, which is checked here directly.
pub fn is_ip_address(text: &str) -> bool {
    match dotted_quad(text.as_bytes()) {
        Some(valid) => valid,
        None => text.parse::<IpAddr>().is_ok(),
    }
}

/// For text made only of digits and dots, whether it is an IPv4 address. `None` for text with
/// any other byte.
fn dotted_quad(bytes: &[u8]) -> Option<bool> {
    if is_dotted_quad(bytes) {
        return Some(true);
    }
    bytes
        .iter()
        .all(|&byte| byte.is_ascii_digit() || byte == b'.')
        .then_some(false)
}

/// Four decimal octets separated by dots, each at most 255 and without a leading zero (`0` is
/// an octet, `00` and `01` are not), as the standard library reads IPv4. One pass over the
/// bytes, without splitting.
fn is_dotted_quad(bytes: &[u8]) -> bool {
    let mut dots = 0u8;
    let mut digits = 0u8;
    let mut octet = 0u16;
    for &byte in bytes {
        if byte == b'.' {
            if digits == 0 || dots == 3 {
                return false;
            }
            dots += 1;
            digits = 0;
            octet = 0;
            continue;
        }
        let digit = byte.wrapping_sub(b'0');
        // A digit after a leading `0` makes a leading zero.
        if digit > 9 || (digits == 1 && octet == 0) {
            return false;
        }
        octet = octet * 10 + u16::from(digit);
        digits += 1;
        if octet > 255 {
            return false;
        }
    }
    dots == 3 && digits > 0
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    proptest::proptest! {
        #[test]
        fn ip_check_agrees_with_the_standard_library(text in "[0-9a-fA-F.:]{0,20}") {
            proptest::prop_assert_eq!(is_ip_address(&text), text.parse::<IpAddr>().is_ok());
        }

        #[test]
        fn dotted_quad_check_agrees_with_the_standard_library(text in "[0-9.]{0,16}") {
            proptest::prop_assert_eq!(is_ip_address(&text), text.parse::<IpAddr>().is_ok());
        }

        #[test]
        fn trims_agree_with_the_standard_library(text in "\\PC{0,12}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
            proptest::prop_assert_eq!(trim_end(&text), text.trim_end());
        }
    }

    #[test]
    fn dotted_quads() {
        for (text, valid) in [
            ("10.0.0.1", true),
            ("255.255.255.255", true),
            ("0.0.0.0", true),
            ("256.1.1.1", false),
            ("01.2.3.4", false),
            ("1.2.3", false),
            ("1.2.3.4.5", false),
            ("::1", true),
            ("fe80::1%eth0", false),
            ("1.2.3.00", false),
            ("1.2.3.0", true),
            ("1.2.3.255", true),
            ("1.2.3.2555", false),
            ("1..2.3", false),
            ("1.2.3.", false),
            (".1.2.3", false),
            ("", false),
        ] {
            assert_eq!(is_ip_address(text), valid, "{text}");
        }
    }
}
