//! The JSON answers of the login routes built here, as typed values (their
//! schemas are in docs/openapi.json; the token answers are
//! [`crate::sessions::TokenResponse`] and [`crate::sessions::MfaRequired`], the
//! device list's items [`crate::devices::DeviceView`]).
//!
//! Fields are declared in alphabetical order of their JSON names: these answers
//! were `json!` maps, which serde_json writes sorted, and the bytes on the wire
//! stay the same.

use serde::Serialize;

use crate::devices::DeviceView;

/// The answer to `POST /v1/auth/signup`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedUp {
    /// The new citizen's user id (UUID).
    pub user_id: String,
}

/// The answer to `POST /v1/auth/otp`: a TOTP secret, not active until confirmed.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpEnrolment {
    /// `otpauth://totp/...` for authenticator apps (QR code).
    pub otpauth_uri: String,
    /// The base32 secret (RFC 6238: SHA-1, 6 digits, 30 s).
    pub secret: String,
}

/// The answer to `POST /v1/auth/devices`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredDevice {
    /// The new device's id (UUID).
    pub device_id: String,
}

/// The answer to `GET /v1/auth/devices`: every device, oldest first, on one page.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeviceList {
    /// The devices.
    pub items: Vec<DeviceView>,
}

/// The answer to `POST /v1/auth/login/device/challenge`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceChallenge {
    /// base64url of 32 random bytes; sign its UTF-8 bytes with the device key.
    pub challenge: String,
    /// Seconds the challenge stays valid.
    pub expires_in: i64,
}

/// The answer to `GET /.well-known/openid-configuration` (OpenID Connect
/// Discovery names, hence snake_case).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OpenIdConfiguration {
    /// `["ES256"]`.
    #[schemars(extend("items" = { "type": "string", "enum": ["ES256"] }))]
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// The `iss` of the tokens: the API's base URL.
    pub issuer: String,
    /// Where the public signing keys are.
    pub jwks_uri: String,
    /// Where refresh tokens are exchanged.
    pub token_endpoint: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// These answers were `json!` maps; the types write the same bytes.
    #[test]
    fn the_answers_are_written_as_the_maps_they_replace() {
        fn text<T: Serialize>(answer: &T) -> String {
            serde_json::to_string(answer).expect("serialisable")
        }
        let same = |typed: String, map: serde_json::Value| assert_eq!(typed, map.to_string());
        same(
            text(&SignedUp {
                user_id: "u".into(),
            }),
            json!({ "userId": "u" }),
        );
        same(
            text(&OtpEnrolment {
                otpauth_uri: "otpauth://totp/x".into(),
                secret: "ABC".into(),
            }),
            json!({ "secret": "ABC", "otpauthUri": "otpauth://totp/x" }),
        );
        same(
            text(&RegisteredDevice {
                device_id: "d".into(),
            }),
            json!({ "deviceId": "d" }),
        );
        let device = |last: Option<&str>| DeviceView {
            created_at: "2026-01-01T00:00:00Z".into(),
            device_id: "d".into(),
            device_name: "phone".into(),
            last_used_at: last.map(str::to_owned),
        };
        let items = vec![device(None), device(Some("2026-01-02T00:00:00Z"))];
        let map = json!({ "items": items });
        same(text(&DeviceList { items }), map);
        same(
            text(&DeviceChallenge {
                challenge: "c".into(),
                expires_in: 120,
            }),
            json!({ "challenge": "c", "expiresIn": 120 }),
        );
        same(
            text(&OpenIdConfiguration {
                id_token_signing_alg_values_supported: vec!["ES256"],
                issuer: "http://x".into(),
                jwks_uri: "http://x/.well-known/jwks.json".into(),
                token_endpoint: "http://x/v1/auth/token".into(),
            }),
            json!({
                "issuer": "http://x",
                "jwks_uri": "http://x/.well-known/jwks.json",
                "token_endpoint": "http://x/v1/auth/token",
                "id_token_signing_alg_values_supported": ["ES256"],
            }),
        );
    }
}
