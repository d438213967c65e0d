//! Argon2id (RFC 9106, v1.3) as one non-generic function.
//!
//! `argon2`'s `hash_password_into_with_memory` is generic over the memory
//! buffer, so its body (the block filling, nearly all of the work) is compiled
//! in the crate that calls it. Called from `login`, that was opt-level "z",
//! which made a verification ~3 times slower than the same code at opt-level 3.
//! This crate instantiates it once, for a slice of blocks, and the release
//! profile builds this crate (and `argon2`, `blake2`) at opt-level 3, while the
//! rest of the binary stays size-optimised.
#![warn(missing_docs)]

use argon2::{Algorithm, Argon2, Version};
pub use argon2::{Block, Error, Params};

/// Argon2id v1.3 of `secret` with `salt` under `params` into `out`, in `memory`
/// (at least `params.block_count()` blocks, reused between calls by the caller).
///
/// # Errors
/// When the salt, the output length or the memory does not fit `params`.
#[inline(never)]
pub fn argon2id(
    params: Params,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Result<(), Error> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(secret, salt, out, memory)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bytes as the argon2 crate's own allocating entry point.
    #[test]
    fn matches_the_argon2_crate() {
        let params = Params::new(64, 2, 1, Some(32)).unwrap();
        let mut memory = vec![Block::default(); params.block_count()];
        let mut ours = [0u8; 32];
        argon2id(
            params.clone(),
            b"password",
            b"somesaltsomesalt",
            &mut ours,
            &mut memory,
        )
        .unwrap();
        let mut theirs = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(b"password", b"somesaltsomesalt", &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs);
        assert_ne!(ours, [0u8; 32]);
    }
}
