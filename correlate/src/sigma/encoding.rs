//! The encoding modifiers: `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`, `utf16`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `base64`: the standard alphabet, padded.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// `base64offset`: the three encodings of `bytes` as it would appear at offsets 0, 1 and 2 of
/// a longer base64-encoded text, with the leading and trailing characters that depend on the
/// surrounding bytes removed.
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let mut variants = Vec::with_capacity(3);
    for shift in 0..3usize {
        let mut shifted = vec![b' '; shift];
        shifted.extend_from_slice(bytes);
        let encoded = STANDARD.encode(&shifted);
        // Characters that also encode the padding bytes in front.
        let start = [0, 2, 3][shift];
        // Characters that depend on the bytes after the value: one partial character plus
        // the padding, by how many bytes the last group holds.
        let end_trim = [0, 3, 2][(bytes.len() + shift) % 3];
        let end = encoded.len().saturating_sub(end_trim);
        if start < end {
            variants.push(encoded[start..end].to_string());
        }
    }
    variants
}

/// `utf16le` (and its alias `wide`).
pub fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `utf16be`.
pub fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// `utf16`: a little-endian byte order mark, then UTF-16LE.
pub fn utf16(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16le(text));
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_examples_from_the_specification() {
        assert_eq!(utf16le("cmd"), [0x63, 0, 0x6d, 0, 0x64, 0]);
        assert_eq!(utf16be("cmd"), [0, 0x63, 0, 0x6d, 0, 0x64]);
        assert_eq!(utf16("cmd"), [0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]);
    }

    #[test]
    fn base64offset_variants_are_found_inside_longer_encodings() {
        let value = b"http://";
        let variants = base64_offsets(value);
        assert_eq!(variants, ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]);
        for prefix in ["", "x", "xy", "abc", "abcd"] {
            let mut text = prefix.as_bytes().to_vec();
            text.extend_from_slice(value);
            text.extend_from_slice(b"example.com");
            let encoded = base64(&text);
            assert!(
                variants
                    .iter()
                    .any(|variant| encoded.contains(variant.as_str())),
                "{prefix:?}: {encoded}"
            );
        }
    }

    #[test]
    fn base64_is_padded_standard() {
        assert_eq!(base64(b"cmd"), "Y21k");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
