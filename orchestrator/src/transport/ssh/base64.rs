//! Standard base64 (RFC 4648 §4) as SSH writes it: padded in known_hosts
//! lines, unpadded in `SHA256:` fingerprints, and read either way.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const PADDED: GeneralPurpose = GeneralPurpose::new(&STANDARD, GeneralPurposeConfig::new());
const UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_encode_padding(false),
);
/// known_hosts files written by other tools need not be canonical.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes `data`; with `pad`, the output length is a multiple of 4
/// (known_hosts keys), without it the trailing `=` are left out (OpenSSH
/// fingerprints).
pub fn encode(data: &[u8], pad: bool) -> String {
    if pad {
        PADDED.encode(data)
    } else {
        UNPADDED.encode(data)
    }
}

/// Decodes standard base64 with or without padding; `None` on any
/// character outside the alphabet or an impossible length.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes(), true), coded);
            assert_eq!(encode(plain.as_bytes(), false), coded.trim_end_matches('='));
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(
                decode(coded.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert!(decode("Zm9v!").is_none());
        assert!(decode("Z").is_none());
    }
}
