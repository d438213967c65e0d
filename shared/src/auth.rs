//! Access tokens: ES256 JWTs with a `kid`, the claims of api.md, and verification
//! that pins the algorithm and checks `iss`, `aud` and `exp`. Plus the role, scope,
//! ownership and step-up (RFC 9470) checks every handler calls.
//!
//! Only the `login` function holds a [`TokenSigner`]; every other function verifies
//! with public keys only ([`TokenVerifier`]).

use data_encoding::BASE64URL_NOPAD;
use lambda_http::Request;
use lambda_http::http::{StatusCode, header};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::ApiError;

/// The `aud` of every access token.
pub const AUDIENCE: &str = "pocketgov";
/// Access-token lifetime in seconds.
pub const ACCESS_TOKEN_TTL: i64 = 900;
/// How old `auth_time` may be for a **strong** endpoint, in seconds.
pub const STEP_UP_MAX_AGE: i64 = 600;
/// Clock skew tolerated on `iat`.
const IAT_LEEWAY: i64 = 60;

/// Who the token's subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A citizen (self-registered).
    Citizen,
    /// A civil servant (provisioned).
    Official,
}

impl Role {
    /// `citizen` or `official`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Official => "official",
        }
    }
}

/// The claims of an access token (api.md, "Identity and tokens").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience, always [`AUDIENCE`].
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The user's role.
    pub role: Role,
    /// Space-separated scopes (officials only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Authentication methods (RFC 8176): `pwd`, `otp`, `pattern`, `hwk`.
    pub amr: Vec<String>,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The official's agency: the 2-digit province code of their office
    /// (officials only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// Key material problems.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The private key is not a PKCS#8 P-256 key.
    #[error("signing key `{0}` is not a PKCS#8 PEM P-256 private key")]
    BadPrivateKey(String),
    /// A JWK is not an EC P-256 public key.
    #[error("JWK is not an EC P-256 public key: {0}")]
    BadJwk(&'static str),
}

/// A public verification key and its id.
#[derive(Debug, Clone)]
pub struct PublicKey {
    kid: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK (`kty EC`, `crv P-256`, `alg ES256`, `use sig`).
    pub fn to_jwk(&self) -> Value {
        let point = self.key.to_encoded_point(false);
        let (x, y) = (point.x().map(|x| &x[..]), point.y().map(|y| &y[..]));
        json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
            "x": BASE64URL_NOPAD.encode(x.unwrap_or_default()),
            "y": BASE64URL_NOPAD.encode(y.unwrap_or_default()),
        })
    }

    /// Reads one JWK.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &'static str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or(KeyError::BadJwk(name))
        };
        if field("kty")? != "EC" || field("crv")? != "P-256" {
            return Err(KeyError::BadJwk("kty/crv"));
        }
        let coord = |name: &'static str| -> Result<Vec<u8>, KeyError> {
            let bytes = BASE64URL_NOPAD
                .decode(field(name)?.as_bytes())
                .map_err(|_| KeyError::BadJwk(name))?;
            if bytes.len() == 32 {
                Ok(bytes)
            } else {
                Err(KeyError::BadJwk(name))
            }
        };
        let (x, y) = (coord("x")?, coord("y")?);
        let point = p256::EncodedPoint::from_affine_coordinates(
            x.as_slice().into(),
            y.as_slice().into(),
            false,
        );
        let key =
            VerifyingKey::from_encoded_point(&point).map_err(|_| KeyError::BadJwk("point"))?;
        Ok(Self {
            kid: field("kid")?.to_owned(),
            key,
        })
    }
}

/// A JWK Set document of `keys`.
pub fn jwks(keys: &[PublicKey]) -> Value {
    json!({ "keys": keys.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() })
}

/// The private key that signs access tokens (held by `login` only).
pub struct TokenSigner {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// Loads a PKCS#8 PEM P-256 private key.
    pub fn from_pkcs8_pem(kid: &str, pem: &str) -> Result<Self, KeyError> {
        let key =
            SigningKey::from_pkcs8_pem(pem).map_err(|_| KeyError::BadPrivateKey(kid.to_owned()))?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// A fresh random key.
    pub fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            key: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// The private key as PKCS#8 PEM (for storing in a secret).
    pub fn to_pkcs8_pem(&self) -> String {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            key: *self.key.verifying_key(),
        }
    }

    /// Signs `claims` as a compact JWS (`alg ES256`, `typ JWT`, this `kid`).
    pub fn sign(&self, claims: &Claims) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
            BASE64URL_NOPAD.encode(&serde_json::to_vec(claims).unwrap_or_default())
        );
        let signature: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", BASE64URL_NOPAD.encode(&signature.to_bytes()))
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not ES256 (e.g. `none`, `HS256`).
    #[error("algorithm not allowed")]
    Algorithm,
    /// No key with that `kid`.
    #[error("unknown key id")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `iat` lies in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("wrong issuer")]
    Issuer,
    /// Wrong `aud`.
    #[error("wrong audience")]
    Audience,
}

/// Verifies access tokens with public keys.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    issuer: String,
    keys: Vec<PublicKey>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id (`sub`).
    pub user_id: String,
    /// The role.
    pub role: Role,
    /// Scopes (empty for citizens).
    pub scopes: Vec<String>,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The official's agency (`agency` claim; officials only).
    pub agency: Option<String>,
}

impl TokenVerifier {
    /// A verifier for tokens from `issuer` signed by any of `keys`.
    pub fn new(issuer: impl Into<String>, keys: Vec<PublicKey>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
        }
    }

    /// A verifier from a JWK Set document (as served at `/.well-known/jwks.json`).
    pub fn from_jwks(issuer: impl Into<String>, jwks: &Value) -> Result<Self, KeyError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeyError::BadJwk("keys"))?
            .iter()
            .map(PublicKey::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(issuer, keys))
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies `token` at time `now` (Unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |part: &str| {
            BASE64URL_NOPAD
                .decode(part.as_bytes())
                .map_err(|_| TokenError::Malformed)
        };
        let header: Value =
            serde_json::from_slice(&decode(h)?).map_err(|_| TokenError::Malformed)?;
        // The algorithm is pinned: whatever the header says, only ES256 is tried.
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err(TokenError::Algorithm);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        let signature = Signature::from_slice(&decode(s)?).map_err(|_| TokenError::Signature)?;
        let signed = &token[..h.len() + 1 + p.len()];
        key.key
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&decode(p)?).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        if claims.aud != AUDIENCE {
            return Err(TokenError::Audience);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + IAT_LEEWAY {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// Authenticates the bearer token of `req`; 401 `auth.invalid_token` (with
    /// `WWW-Authenticate: Bearer error="invalid_token"`) when it is missing,
    /// malformed, expired or forged.
    pub fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        let token = bearer_token(req)?;
        let claims = self
            .verify(token, crate::time::now_secs())
            .map_err(|e| match e {
                TokenError::Expired => invalid_token(
                    "The access token has expired.",
                    "액세스 토큰이 만료되었습니다.",
                ),
                _ => invalid_token(
                    "The access token is not valid.",
                    "액세스 토큰이 올바르지 않습니다.",
                ),
            })?;
        Ok(Principal {
            user_id: claims.sub,
            role: claims.role,
            scopes: claims
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            amr: claims.amr,
            auth_time: claims.auth_time,
            agency: claims.agency,
        })
    }

    /// Whether a key with id `kid` is among this verifier's keys.
    pub fn has_key(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }
}

/// The bearer token of `req`, or the 401 `auth.invalid_token` problem.
pub fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .ok_or_else(|| {
            invalid_token(
                "A bearer access token is required.",
                "액세스 토큰이 필요합니다.",
            )
        })
}

/// The `kid` in the (unverified) header of `token`, if it has one.
pub fn token_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = BASE64URL_NOPAD.decode(header.as_bytes()).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

fn invalid_token(en: &'static str, ko: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", en, ko)
        .with_header(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)
}

impl Principal {
    /// 403 `auth.forbidden` unless the caller has `role`.
    pub fn require_role(&self, role: Role) -> Result<(), ApiError> {
        if self.role == role {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "auth.forbidden",
                "Your account may not do this.",
                "이 계정으로는 할 수 없는 작업입니다.",
            ))
        }
    }

    /// 403 `auth.insufficient_scope` unless the caller is an official with `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        self.require_role(Role::Official)?;
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "auth.insufficient_scope",
                format!("This needs the scope `{scope}`."),
                format!("`{scope}` 권한이 필요합니다."),
            ))
        }
    }

    /// 404 unless the caller is `owner_id`: another citizen's resource is
    /// answered as if it did not exist.
    pub fn require_owner(&self, owner_id: &str) -> Result<(), ApiError> {
        if self.user_id == owner_id {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    }

    /// Step-up for **strong** endpoints (RFC 9470): `amr` must contain `otp` or
    /// `hwk` and `auth_time` be at most [`STEP_UP_MAX_AGE`] seconds old.
    pub fn require_strong(&self, now: i64) -> Result<(), ApiError> {
        let strong = self.amr.iter().any(|m| m == "otp" || m == "hwk");
        if strong && now - self.auth_time <= STEP_UP_MAX_AGE {
            Ok(())
        } else {
            Err(step_up_required())
        }
    }
}

/// 401 `auth.step_up_required` with `WWW-Authenticate: Bearer
/// error="insufficient_user_authentication", max_age=600` (RFC 9470): the client
/// should sign in again with a strong method and retry.
pub fn step_up_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "auth.step_up_required",
        "Sign in again with a one-time code or a device key to do this.",
        "이 작업을 하려면 일회용 코드나 기기 인증으로 다시 로그인하세요.",
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        format!(r#"Bearer error="insufficient_user_authentication", max_age={STEP_UP_MAX_AGE}"#),
    )
}

/// Whether `signature_b64` (base64url of a DER ECDSA P-256 SHA-256 signature)
/// verifies over `message` with the device key `public_key_b64` (base64url of
/// a P-256 SubjectPublicKeyInfo, as devices are registered with login).
/// Anything malformed is simply a signature that does not verify.
pub fn verify_device_signature(public_key_b64: &str, message: &[u8], signature_b64: &str) -> bool {
    let decode = |text: &str| {
        BASE64URL_NOPAD
            .decode(text.trim_end_matches('=').as_bytes())
            .ok()
    };
    let key = decode(public_key_b64).and_then(|der| VerifyingKey::from_public_key_der(&der).ok());
    let signature = decode(signature_b64).and_then(|der| Signature::from_der(&der).ok());
    match (key, signature) {
        (Some(key), Some(signature)) => key.verify(message, &signature).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn hs256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(msg);
        mac.finalize().into_bytes().to_vec()
    }

    const ISS: &str = "http://127.0.0.1:9000";

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISS.into(),
            aud: AUDIENCE.into(),
            sub: "u1".into(),
            role: Role::Citizen,
            scope: None,
            amr: vec!["pwd".into()],
            auth_time: now,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL,
            jti: "j1".into(),
            agency: None,
        }
    }

    fn setup() -> (TokenSigner, TokenVerifier) {
        let signer = TokenSigner::generate("k1");
        let verifier = TokenVerifier::new(ISS, vec![signer.public_key()]);
        (signer, verifier)
    }

    #[test]
    fn signed_token_verifies_and_round_trips_claims() {
        let (signer, verifier) = setup();
        let c = claims(1000);
        assert_eq!(verifier.verify(&signer.sign(&c), 1001).unwrap(), c);
    }

    #[test]
    fn expired_wrong_issuer_and_wrong_audience_are_refused() {
        let (signer, verifier) = setup();
        let c = claims(1000);
        assert_eq!(
            verifier.verify(&signer.sign(&c), 1000 + ACCESS_TOKEN_TTL),
            Err(TokenError::Expired)
        );
        let mut other = claims(1000);
        other.iss = "https://evil".into();
        assert_eq!(
            verifier.verify(&signer.sign(&other), 1001),
            Err(TokenError::Issuer)
        );
        let mut other = claims(1000);
        other.aud = "someone-else".into();
        assert_eq!(
            verifier.verify(&signer.sign(&other), 1001),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn alg_none_and_hs256_with_the_public_key_are_refused() {
        let (signer, verifier) = setup();
        let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&claims(1000)).unwrap());
        let none = format!(
            "{}.{payload}.",
            BASE64URL_NOPAD.encode(br#"{"alg":"none","kid":"k1"}"#)
        );
        assert_eq!(verifier.verify(&none, 1001), Err(TokenError::Algorithm));
        // The classic confusion attack: HMAC keyed with the public key's bytes.
        let header = BASE64URL_NOPAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
        let input = format!("{header}.{payload}");
        let public = signer.public_key().key.to_encoded_point(false);
        let mac = hs256(public.as_bytes(), input.as_bytes());
        let forged = format!("{input}.{}", BASE64URL_NOPAD.encode(&mac));
        assert_eq!(verifier.verify(&forged, 1001), Err(TokenError::Algorithm));
    }

    #[test]
    fn token_from_another_key_with_the_same_kid_is_refused() {
        let (_, verifier) = setup();
        let intruder = TokenSigner::generate("k1");
        assert_eq!(
            verifier.verify(&intruder.sign(&claims(1000)), 1001),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn tampered_payload_is_refused() {
        let (signer, verifier) = setup();
        let token = signer.sign(&claims(1000));
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut c = claims(1000);
        c.role = Role::Official;
        let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&c).unwrap());
        parts[1] = &payload;
        assert_eq!(
            verifier.verify(&parts.join("."), 1001),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn jwk_round_trip_keeps_the_key() {
        let (signer, _) = setup();
        let set = jwks(&[signer.public_key()]);
        let verifier = TokenVerifier::from_jwks(ISS, &set).unwrap();
        assert!(verifier.verify(&signer.sign(&claims(1000)), 1001).is_ok());
        assert_eq!(set["keys"][0]["alg"], "ES256");
        assert_eq!(set["keys"][0]["crv"], "P-256");
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let (signer, verifier) = setup();
        let again = TokenSigner::from_pkcs8_pem("k1", &signer.to_pkcs8_pem()).unwrap();
        assert!(verifier.verify(&again.sign(&claims(1000)), 1001).is_ok());
    }

    #[test]
    fn step_up_needs_otp_or_hwk_within_600_seconds() {
        let p = |amr: &[&str], auth_time| Principal {
            user_id: "u".into(),
            role: Role::Citizen,
            scopes: vec![],
            amr: amr.iter().map(|s| s.to_string()).collect(),
            auth_time,
            agency: None,
        };
        assert!(p(&["pwd", "otp"], 1000).require_strong(1600).is_ok());
        assert!(p(&["hwk"], 1000).require_strong(1000).is_ok());
        let err = p(&["pwd"], 1000).require_strong(1000).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        let r = err.to_response(crate::http::Lang::En);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_user_authentication", max_age=600"#
        );
        assert!(p(&["pwd", "otp"], 1000).require_strong(1601).is_err());
        assert!(p(&["pattern"], 1000).require_strong(1000).is_err());
    }
}
