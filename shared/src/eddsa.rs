//! Ed25519 key sets and the compact JWS (RFC 7515, `alg` EdDSA per RFC 8037)
//! made and checked with them: certificate QR codes and consent receipts.
//!
//! Keys are kept like the login function's: a Secrets Manager secret holding
//! `{"keys":[{"kid":"...","privateKeyPem":"..."}]}` (PKCS#8 PEM); the first key
//! signs, every key is published (`/v1/certificates/keys`,
//! `/v1/consents/keys`), so what was signed before a rotation keeps verifying
//! offline.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

/// Why a key set is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not the expected JSON.
    #[error("not {{\"keys\":[{{\"kid\",\"privateKeyPem\"}}]}}: {0}")]
    Json(String),
    /// No key at all.
    #[error("the key set is empty")]
    Empty,
    /// A key is not an Ed25519 PKCS#8 PEM.
    #[error("key `{0}` is not an Ed25519 PKCS#8 private key")]
    Key(String),
    /// Two keys share a kid.
    #[error("kid `{0}` appears twice")]
    DuplicateKid(String),
}

/// Why a JWS does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts with JSON header and payload.
    #[error("malformed")]
    Malformed,
    /// `alg` is not EdDSA.
    #[error("wrong algorithm")]
    Algorithm,
    /// No published key has this `kid`.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("bad signature")]
    Signature,
}

/// The signing keys; the first one signs.
pub struct KeySet {
    keys: Vec<(String, SigningKey)>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    /// Reads the secret's JSON.
    pub fn from_json(text: &str) -> Result<Self, KeySetError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct File {
            keys: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct Entry {
            kid: String,
            private_key_pem: String,
        }
        let file: File =
            serde_json::from_str(text).map_err(|e| KeySetError::Json(e.to_string()))?;
        if file.keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        let mut keys: Vec<(String, SigningKey)> = Vec::new();
        for entry in file.keys {
            if keys.iter().any(|(kid, _)| *kid == entry.kid) {
                return Err(KeySetError::DuplicateKid(entry.kid));
            }
            let key = SigningKey::from_pkcs8_pem(&entry.private_key_pem)
                .map_err(|_| KeySetError::Key(entry.kid.clone()))?;
            keys.push((entry.kid, key));
        }
        Ok(Self { keys })
    }

    /// A new key set of one fresh key, as the secret's JSON (for `devstack
    /// keygen` and tests). `previous`, if given, is an existing
    /// set whose keys stay published after the new one.
    pub fn generate_json(kid: &str, previous: Option<&KeySet>) -> String {
        let key = SigningKey::from_bytes(&crate::random::bytes::<32>());
        let mut entries = vec![(kid.to_owned(), key)];
        if let Some(previous) = previous {
            entries.extend(previous.keys.iter().cloned());
        }
        let keys: Vec<Value> = entries
            .iter()
            .map(|(kid, key)| {
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .expect("an Ed25519 key always encodes as PKCS#8");
                json!({"kid": kid, "privateKeyPem": pem.as_str()})
            })
            .collect();
        json!({ "keys": keys }).to_string()
    }

    /// The kid of the signing key.
    pub fn signing_kid(&self) -> &str {
        &self.keys[0].0
    }

    /// The public keys as a JWK Set (`kty` OKP, `crv` Ed25519).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|(kid, key)| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": BASE64URL_NOPAD.encode(key.verifying_key().as_bytes()),
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// A compact JWS of `payload` signed with the first key.
    pub fn sign(&self, payload: &Value) -> String {
        let (kid, key) = &self.keys[0];
        let header = json!({"alg": "EdDSA", "kid": kid});
        let input = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
            BASE64URL_NOPAD.encode(payload.to_string().as_bytes())
        );
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", BASE64URL_NOPAD.encode(&signature.to_bytes()))
    }

    /// A secret derived from the signing key for another purpose (`label`), so
    /// the function needs one secret only; for example the key of list cursors.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.keys[0].1.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Verifies a compact JWS against a JWK Set and returns its payload.
pub fn verify(jws: &str, jwks: &Value) -> Result<Value, JwsError> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode = |part: &str| {
        BASE64URL_NOPAD
            .decode(part.as_bytes())
            .map_err(|_| JwsError::Malformed)
    };
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| JwsError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(JwsError::Algorithm);
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|k| k.get("kid").and_then(Value::as_str) == kid && kid.is_some())
        .ok_or(JwsError::UnknownKey)?;
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return Err(JwsError::UnknownKey);
    }
    let x: [u8; 32] = jwk
        .get("x")
        .and_then(Value::as_str)
        .and_then(|x| BASE64URL_NOPAD.decode(x.as_bytes()).ok())
        .and_then(|x| x.try_into().ok())
        .ok_or(JwsError::UnknownKey)?;
    let key = VerifyingKey::from_bytes(&x).map_err(|_| JwsError::UnknownKey)?;
    let signature: [u8; 64] = decode(s)?.try_into().map_err(|_| JwsError::Signature)?;
    key.verify_strict(
        &jws.as_bytes()[..h.len() + 1 + p.len()],
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| JwsError::Signature)?;
    serde_json::from_slice(&decode(p)?).map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kid: &str) -> KeySet {
        KeySet::from_json(&KeySet::generate_json(kid, None)).unwrap()
    }

    #[test]
    fn a_signed_payload_verifies_with_the_published_keys() {
        let set = keys("cert-1");
        let payload = json!({"no": "1234-5678-9012-3452", "type": "land-register"});
        let jws = set.sign(&payload);
        assert_eq!(verify(&jws, &set.jwks()).unwrap(), payload);
        let jwk = &set.jwks()["keys"][0];
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert!(jwk.get("d").is_none(), "no private part in the JWK Set");
    }

    #[test]
    fn a_signature_from_another_key_with_the_same_kid_fails() {
        let jws = keys("cert-1").sign(&json!({"a": 1}));
        assert_eq!(
            verify(&jws, &keys("cert-1").jwks()),
            Err(JwsError::Signature)
        );
        assert_eq!(
            verify(&jws, &keys("other").jwks()),
            Err(JwsError::UnknownKey)
        );
    }

    #[test]
    fn a_changed_payload_or_algorithm_fails() {
        let set = keys("k");
        let jws = set.sign(&json!({"no": "1"}));
        let parts: Vec<&str> = jws.split('.').collect();
        let forged_payload = BASE64URL_NOPAD.encode(br#"{"no":"2"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(&forged, &set.jwks()), Err(JwsError::Signature));
        let none = format!(
            "{}.{}.",
            BASE64URL_NOPAD.encode(br#"{"alg":"none","kid":"k"}"#),
            parts[1]
        );
        assert_eq!(verify(&none, &set.jwks()), Err(JwsError::Algorithm));
        assert_eq!(verify("a.b", &set.jwks()), Err(JwsError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_signatures_verifiable() {
        let old = keys("old");
        let jws = old.sign(&json!({"x": 1}));
        let rotated = KeySet::from_json(&KeySet::generate_json("new", Some(&old))).unwrap();
        assert_eq!(rotated.signing_kid(), "new");
        assert!(verify(&jws, &rotated.jwks()).is_ok());
    }

    #[test]
    fn bad_key_sets_are_refused_without_echoing_secrets() {
        assert!(matches!(KeySet::from_json("{}"), Err(KeySetError::Json(_))));
        assert!(matches!(
            KeySet::from_json(r#"{"keys":[]}"#),
            Err(KeySetError::Empty)
        ));
        let e = KeySet::from_json(r#"{"keys":[{"kid":"a","privateKeyPem":"SECRET"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SECRET"));
    }
}
