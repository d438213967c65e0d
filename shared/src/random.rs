//! Randomness from the operating system's CSPRNG, and identifiers made from it.

use data_encoding::BASE64URL_NOPAD;
use rand_core::{OsRng, RngCore};

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// A random token of `N` bytes, base64url without padding.
pub fn token<const N: usize>() -> String {
    BASE64URL_NOPAD.encode(&bytes::<N>())
}

/// A random UUID version 4 in its usual lowercase hyphenated form.
pub fn uuid() -> String {
    let mut b = bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = data_encoding::HEXLOWER.encode(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid(), id);
    }

    #[test]
    fn token_of_32_bytes_is_43_chars() {
        assert_eq!(token::<32>().len(), 43);
    }
}
