//! RFC 6238 time-based one-time codes: SHA-1, 6 digits, 30 s steps, base32
//! secrets (the parameters every authenticator app supports).

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Steps of clock drift accepted on either side.
const DRIFT_STEPS: i64 = 1;

/// A new random 160-bit secret, base32 without padding.
pub fn new_secret() -> String {
    BASE32_NOPAD.encode(&shared::random::bytes::<20>())
}

/// The `otpauth://` URI that authenticator apps scan.
pub fn otpauth_uri(secret: &str, account: &str) -> String {
    format!(
        "otpauth://totp/pocketgov:{account}?secret={secret}&issuer=pocketgov&algorithm=SHA1&digits=6&period={STEP_SECS}"
    )
}

/// The 6-digit HOTP code (RFC 4226) of `secret` for `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 1_000_000
}

/// The time step of `code` for `secret` at `now`, if it matches within the drift
/// window. The caller must refuse a step at or before the last accepted one, so
/// that each code works once.
pub fn matching_step(secret_b32: &str, code: &str, now: i64) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u32 = code.parse().ok()?;
    let secret = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let current = now.div_euclid(STEP_SECS);
    (current - DRIFT_STEPS..=current + DRIFT_STEPS)
        .filter(|step| *step >= 0)
        .find(|step| hotp(&secret, *step as u64) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890" (last 6 digits).
    #[test]
    fn rfc6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59u64, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
        ] {
            assert_eq!(hotp(seed, time / 30), expected, "t={time}");
        }
    }

    #[test]
    fn code_matches_within_one_step_of_drift_only() {
        let secret = new_secret();
        let raw = BASE32_NOPAD.decode(secret.as_bytes()).unwrap();
        let now = 1_800_000_000;
        let code = format!("{:06}", hotp(&raw, (now / 30) as u64));
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn uri_names_issuer_and_parameters() {
        let uri = otpauth_uri("ABC", "citizen1");
        assert!(uri.starts_with("otpauth://totp/pocketgov:citizen1?secret=ABC&issuer=pocketgov"));
        assert!(
            uri.contains("digits=6") && uri.contains("period=30") && uri.contains("algorithm=SHA1")
        );
    }
}
