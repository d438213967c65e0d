//! The request bodies of the login routes, as serde reads them. The handlers
//! check each field into the types of [`crate::inputs`]; the `schemars`
//! attributes give the shape those checks accept (docs/openapi.json).

use serde::Deserialize;
use shared::http::Invalid;

use crate::inputs::Pattern;

/// A login id as signup accepts it (and as every stored one is).
const LOGIN_ID: &str = r"^[a-z0-9._-]+$";
/// A UUID as this function issues them (device ids).
const UUID: &str = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// A TOTP code: 6 digits.
const OTP_CODE: &str = r"^[0-9]{6}$";
/// base64url, padding tolerated.
const BASE64URL: &str = r"^[A-Za-z0-9_-]+=*$";

/// The body of `POST /v1/auth/signup`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignupBody {
    /// 4-32 of `[a-z0-9._-]`, unique (409 `auth.login_id_taken`).
    #[schemars(length(min = 4, max = 32), regex(pattern = LOGIN_ID))]
    pub login_id: String,
    /// 12-128 characters, not a common password, not containing the loginId
    /// (400 `auth.weak_password`).
    #[schemars(length(min = 12, max = 128))]
    pub password: String,
    /// The citizen's name, 1-50 characters (trimmed, no control characters).
    #[schemars(length(min = 1, max = 50))]
    pub name: String,
    /// A Korean mobile number in any usual form (`010-1234-5678`,
    /// `+82 10 1234 5678`); stored as E.164.
    #[schemars(length(min = 1, max = 32))]
    pub phone: String,
}

/// The body of `POST /v1/auth/login`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginBody {
    /// The login id (a malformed one is answered like a wrong password: 401).
    #[schemars(length(min = 4, max = 32), regex(pattern = LOGIN_ID))]
    pub login_id: String,
    /// The password.
    pub password: String,
}

/// The body of `POST /v1/auth/login/otp`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OtpLoginBody {
    /// The mfaToken of the password step (lives 300 s, works once).
    pub mfa_token: String,
    /// The current TOTP code.
    #[schemars(regex(pattern = OTP_CODE))]
    pub code: String,
}

/// The body of `POST /v1/auth/otp/confirm`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpConfirmBody {
    /// A TOTP code from the new secret.
    #[schemars(regex(pattern = OTP_CODE))]
    pub code: String,
}

/// The body of `POST /v1/auth/devices`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewDeviceBody {
    /// Shown in the device list, 1-64 characters (trimmed, no control characters).
    #[schemars(length(min = 1, max = 64))]
    pub device_name: String,
    /// base64url of a P-256 SubjectPublicKeyInfo (DER).
    #[schemars(regex(pattern = BASE64URL))]
    pub public_key: String,
}

/// The body of `PUT /v1/auth/devices/{deviceId}/pattern`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternBody {
    /// The new pattern.
    pub pattern: PatternInput,
}

/// The body of `POST /v1/auth/login/device/challenge`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeviceChallengeBody {
    /// The registered device (404 `auth.unknown_device` otherwise).
    #[schemars(regex(pattern = UUID))]
    pub device_id: String,
}

/// The body of `POST /v1/auth/login/device`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeviceLoginBody {
    /// The registered device.
    #[schemars(regex(pattern = UUID))]
    pub device_id: String,
    /// The challenge issued for this device (works once).
    #[schemars(length(max = 128))]
    pub challenge: String,
    /// base64url DER ECDSA-P256-SHA256 over the UTF-8 bytes of the challenge.
    #[schemars(length(max = 256), regex(pattern = BASE64URL))]
    pub signature: String,
}

/// The body of `POST /v1/auth/login/pattern`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatternLoginBody {
    /// The device the pattern is set on.
    #[schemars(regex(pattern = UUID))]
    pub device_id: String,
    /// The pattern.
    pub pattern: PatternInput,
}

/// The body of `POST /v1/auth/token` and `POST /v1/auth/logout`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshBody {
    /// The refresh token of the sign-in. No length is given: `/v1/auth/token`
    /// answers 401 for one over 128 characters, but logout ignores it (204).
    pub refresh_token: String,
}

/// A pattern as a list of cells (`[0,1,2,5]`) or a string of digits (`"0125"`).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum PatternInput {
    /// Cell numbers in the order drawn.
    Cells(Vec<i64>),
    /// The same as one digit per cell.
    Digits(String),
}

impl PatternInput {
    /// The pattern, if it is 4-9 distinct cells numbered 0-8.
    pub fn parse(&self) -> Result<Pattern, Invalid> {
        match self {
            PatternInput::Cells(cells) => Pattern::parse(cells),
            PatternInput::Digits(digits) => {
                let cells: Option<Vec<i64>> = digits
                    .chars()
                    .map(|c| c.to_digit(10).map(i64::from))
                    .collect();
                Pattern::parse(&cells.unwrap_or_default())
            }
        }
    }
}

// Written by hand: the derived schema of an untagged enum would say neither the
// cells' range nor the lengths that `Pattern::parse` accepts.
impl schemars::JsonSchema for PatternInput {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UnlockPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "4-9 distinct cells of a 3x3 grid numbered 0-8, in the order drawn: a list of cell numbers or a string of digits.",
            "oneOf": [
                {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 0, "maximum": 8 },
                    "minItems": 4,
                    "maxItems": 9,
                    "uniqueItems": true
                },
                { "type": "string", "pattern": "^[0-8]{4,9}$" }
            ]
        })
    }
}
