//! The access-token signing keys: loaded from AWS Secrets Manager at start-up
//! (locally, devstack puts a key generated under `.local/` into the emulator's
//! secret), never from the repository or the template.
//!
//! The secret holds `{"keys":[{"kid","privateKeyPem"}, ...]}`: the first key signs,
//! every key is published in the JWKS and accepted, so a rotation
//! ([`generate_key_set_json`] with the old set as `previous`) signs no one out.

use serde::{Deserialize, Serialize};
use shared::auth::{PublicKey, TokenSigner};

/// Key material problems.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not the expected JSON.
    #[error("signing key set is not JSON of the form {{\"keys\":[{{\"kid\",\"privateKeyPem\"}}]}}")]
    Format,
    /// No keys.
    #[error("signing key set holds no keys")]
    Empty,
    /// A key does not parse.
    #[error(transparent)]
    Key(#[from] shared::auth::KeyError),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    kid: String,
    private_key_pem: String,
}

#[derive(Serialize, Deserialize)]
struct StoredSet {
    keys: Vec<StoredKey>,
}

/// The signing key and every key still accepted.
#[derive(Debug)]
pub struct KeySet {
    /// Signs new tokens.
    pub signer: TokenSigner,
    /// Published and accepted (the signer's first).
    pub public_keys: Vec<PublicKey>,
}

impl KeySet {
    /// Parses the secret's JSON.
    pub fn from_json(json: &str) -> Result<Self, KeySetError> {
        let set: StoredSet = serde_json::from_str(json).map_err(|_| KeySetError::Format)?;
        let mut signers = set
            .keys
            .iter()
            .map(|k| TokenSigner::from_pkcs8_pem(&k.kid, &k.private_key_pem))
            .collect::<Result<Vec<_>, _>>()?;
        if signers.is_empty() {
            return Err(KeySetError::Empty);
        }
        let public_keys = signers.iter().map(TokenSigner::public_key).collect();
        Ok(Self {
            signer: signers.remove(0),
            public_keys,
        })
    }
}

/// A new key set JSON: a fresh key first, then the current key of `previous` (if
/// given), so tokens signed before the rotation keep verifying until they expire.
pub fn generate_key_set_json(previous: Option<&str>) -> String {
    let kid = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d"),
        &data_encoding::HEXLOWER.encode(&shared::random::bytes::<4>())
    );
    let fresh = TokenSigner::generate(&kid);
    let mut keys = vec![StoredKey {
        kid,
        private_key_pem: fresh.to_pkcs8_pem(),
    }];
    if let Some(previous) = previous.and_then(|p| serde_json::from_str::<StoredSet>(p).ok())
        && let Some(current) = previous.keys.into_iter().next()
    {
        keys.push(current);
    }
    serde_json::to_string_pretty(&StoredSet { keys }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_set_parses_and_rotation_keeps_the_old_key() {
        let first = generate_key_set_json(None);
        let one = KeySet::from_json(&first).unwrap();
        assert_eq!(one.public_keys.len(), 1);
        let second = generate_key_set_json(Some(&first));
        let two = KeySet::from_json(&second).unwrap();
        assert_eq!(two.public_keys.len(), 2);
        assert_eq!(two.public_keys[1].kid(), one.signer.kid());
        assert_ne!(two.signer.kid(), one.signer.kid());
    }

    #[test]
    fn bad_secret_is_refused_without_echoing_it() {
        let err = KeySet::from_json("not json SECRET")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRET"));
        assert!(matches!(
            KeySet::from_json(r#"{"keys":[]}"#),
            Err(KeySetError::Empty)
        ));
    }
}
