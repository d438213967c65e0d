//! Argon2id hashing of passwords and patterns at OWASP's setting (19 MiB, 2
//! passes, 1 lane), PHC string format.
//!
//! The work itself is `login_argon2::argon2id`, a separate crate so that the
//! size-optimised release build still compiles it at opt-level 3.
//!
//! The 19 MiB working memory is allocated once per process and reused: allocating
//! it per hash pushed peak memory past a 128 MB Lambda. A pool (not a single
//! buffer) keeps concurrent hashes in tests and local runs from waiting on each
//! other; in Lambda, with one request at a time, it holds one buffer.

use std::sync::Mutex;

use data_encoding::BASE64_NOPAD;
use login_argon2::{Block, Params};
use subtle::ConstantTimeEq;

/// OWASP's Argon2id minimum: m = 19 MiB, t = 2, p = 1.
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// The hash of a random secret that was thrown away: verified against when the
/// loginId is unknown, so that it costs the same argon2 work as a wrong password.
/// A constant (rather than hashed at start-up) keeps 15 ms and 19 MiB out of the
/// cold start; nobody knows a password that matches it.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Knedf22cVMkfordmWA0ABw$nTTY203+S70ndtDe71egf+doWfrwHfHwVpBdCEcVNkA";

/// Hashes and verifies secrets with a reused memory block.
pub struct Hasher {
    pool: Mutex<Vec<Vec<Block>>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher; its memory block is allocated by the first hash and then reused.
    pub fn new() -> Self {
        Self {
            pool: Mutex::new(Vec::new()),
        }
    }

    fn params(m: u32, t: u32, p: u32) -> Option<Params> {
        Params::new(m, t, p, Some(OUTPUT_LEN)).ok()
    }

    fn compute(&self, params: Params, secret: &[u8], salt: &[u8]) -> Option<[u8; OUTPUT_LEN]> {
        let blocks = params.block_count();
        let mut memory = self
            .pool
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .filter(|m| m.len() == blocks)
            .unwrap_or_else(|| vec![Block::default(); blocks]);
        let mut out = [0u8; OUTPUT_LEN];
        // Compiled at opt-level 3 in login-argon2 (see its docs).
        let ok = login_argon2::argon2id(params, secret, salt, &mut out, &mut memory).is_ok();
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(memory);
        }
        ok.then_some(out)
    }

    /// The PHC string of `secret` with a fresh salt.
    pub fn hash(&self, secret: &str) -> String {
        let salt = shared::random::bytes::<SALT_LEN>();
        let params =
            Self::params(M_COST, T_COST, P_COST).expect("constant argon2 parameters are valid");
        let out = self
            .compute(params, secret.as_bytes(), &salt)
            .expect("argon2 with valid parameters and a 16-byte salt cannot fail");
        format!(
            "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
            BASE64_NOPAD.encode(&salt),
            BASE64_NOPAD.encode(&out)
        )
    }

    /// Whether `secret` matches the PHC string `stored` (constant-time compare).
    pub fn verify(&self, secret: &str, stored: &str) -> bool {
        self.try_verify(secret, stored).unwrap_or(false)
    }

    /// Burns the time of one verification, for unknown users.
    pub fn verify_dummy(&self, secret: &str) {
        let _ = self.verify(secret, DUMMY_HASH);
    }

    fn try_verify(&self, secret: &str, stored: &str) -> Option<bool> {
        let mut parts = stored.split('$');
        let (Some(""), Some("argon2id"), Some("v=19"), Some(params), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let mut m = None;
        let mut t = None;
        let mut p = None;
        for kv in params.split(',') {
            let (k, v) = kv.split_once('=')?;
            let v: u32 = v.parse().ok()?;
            match k {
                "m" => m = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                _ => return None,
            }
        }
        let params = Self::params(m?, t?, p?)?;
        let salt = BASE64_NOPAD.decode(salt.as_bytes()).ok()?;
        let expected = BASE64_NOPAD.decode(hash.as_bytes()).ok()?;
        let actual = self.compute(params, secret.as_bytes(), &salt)?;
        Some(bool::from(actual.as_slice().ct_eq(&expected)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_secret() {
        let h = Hasher::new();
        let stored = h.hash("correct horse battery staple");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify("correct horse battery staple", &stored));
        assert!(!h.verify("correct horse battery stapl", &stored));
    }

    #[test]
    fn same_secret_gets_different_salts() {
        let h = Hasher::new();
        assert_ne!(h.hash("same"), h.hash("same"));
    }

    #[test]
    fn garbage_stored_hash_never_verifies() {
        let h = Hasher::new();
        for bad in [
            "",
            "$argon2id$",
            "plain",
            "$argon2i$v=19$m=8,t=1,p=1$AAAA$AAAA",
        ] {
            assert!(!h.verify("x", bad), "{bad}");
        }
    }

    #[test]
    fn dummy_hash_has_the_parameters_of_real_ones() {
        let real = Hasher::new().hash("x");
        assert_eq!(DUMMY_HASH[..31], real[..31]);
        assert_eq!(DUMMY_HASH.len(), real.len());
    }

    #[test]
    fn memory_block_is_reused() {
        let h = Hasher::new();
        h.hash("a");
        h.hash("b");
        assert_eq!(h.pool.lock().unwrap().len(), 1);
    }
}
