//! Webhook signatures: HMAC-SHA256 over `"<timestamp>.<body>"` with the output's secret.
//!
//! weft sends `X-Weft-Timestamp: <unix seconds>` and
//! `X-Weft-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
//! every webhook request. A receiver verifies a request by:
//!
//! 1. reading the raw request body as bytes, before any JSON parsing;
//! 2. computing HMAC-SHA256 with the shared secret over the `X-Weft-Timestamp` header value
//!    exactly as sent, a `.`, and the body bytes;
//! 3. comparing `sha256=` plus the lowercase hex digest with `X-Weft-Signature` in constant
//!    time ([`verify_signature`] does steps 2 and 3);
//! 4. refusing timestamps too far from its own clock (five minutes is usual), so a captured
//!    request cannot be replayed later, and ignoring a `X-Weft-Delivery` id it has already
//!    processed: delivery is at least once, so the same delivery may arrive again after a
//!    retry.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of the `X-Weft-Signature` header value.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// The `X-Weft-Signature` value of `body` sent at `timestamp` (unix seconds):
/// `sha256=<hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mac = keyed(secret, timestamp.to_string().as_bytes(), body);
    let digest = mac.finalize().into_bytes();
    let mut header = String::with_capacity(SIGNATURE_PREFIX.len() + digest.len() * 2);
    header.push_str(SIGNATURE_PREFIX);
    for byte in digest {
        header.push(hex_digit(byte >> 4));
        header.push(hex_digit(byte & 0x0f));
    }
    header
}

/// Whether `header` (an `X-Weft-Signature` value) is the signature of `body` sent with the
/// `X-Weft-Timestamp` value `timestamp` under `secret`. The comparison is constant time; a
/// malformed header is simply not valid. It does not judge the timestamp's age: refuse old
/// timestamps yourself.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix(SIGNATURE_PREFIX) else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    keyed(secret, timestamp.as_bytes(), body)
        .verify_slice(&expected)
        .is_ok()
}

fn keyed(secret: &[u8], timestamp: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length (long keys are hashed first).
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret).expect("hmac accepts keys of any length");
    mac.update(timestamp);
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_timestamp_dot_body() {
        // python3: hmac.new(b"whsec_test", b'1777636800.{"alert_id":"a1"}', sha256).hexdigest()
        assert_eq!(
            sign(b"whsec_test", 1_777_636_800, br#"{"alert_id":"a1"}"#),
            "sha256=1e29913c3cbb46318e2a6115045c604987352d7f1837cccfd1bb8441e16cf736"
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        let body = b"{}";
        let good = sign(b"s", 1, body);
        assert!(verify_signature(b"s", "1", body, &good));
        assert!(verify_signature(
            b"s",
            "1",
            body,
            &good.to_uppercase().replace("SHA256=", "sha256=")
        ));
        for bad in [
            "",
            "sha256=",
            "sha256=abc",
            "sha256=zz",
            "md5=00",
            &good[7..],
        ] {
            assert!(!verify_signature(b"s", "1", body, bad), "{bad}");
        }
    }
}
