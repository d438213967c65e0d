//! The JSON answers of the consent routes, as typed values (their schemas are
//! in docs/openapi.json).

use serde::Serialize;

use crate::request::Document;
use crate::status::Status;

/// A consent as api.md shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    /// Its id (UUID).
    pub consent_id: String,
    /// Its status now (`expired` is computed when read).
    pub status: Status,
    /// The citizen asked.
    pub citizen_id: String,
    /// The official asking.
    pub official_id: String,
    /// The official's agency (2-digit province code).
    pub agency: String,
    /// The petition's id in the official's system.
    pub petition_id: String,
    /// The petition's name.
    pub petition_name: String,
    /// The document codes, in the order asked.
    #[schemars(with = "Vec<Document>")]
    pub documents: Vec<String>,
    /// Why the documents are needed.
    pub purpose: String,
    /// When asked (RFC 3339).
    pub requested_at: String,
    /// When it ends (RFC 3339).
    pub expires_at: String,
    /// When the citizen signed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The service's receipt of the signature (compact JWS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Bumped by every change; send it as If-Match.
    pub version: u64,
    /// The RFC 8785 canonical JSON the citizen signs.
    pub signing_payload: String,
}

/// The answer to a signature: the consent, granted, and the receipt.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Signed {
    /// The consent.
    pub consent: ConsentView,
    /// Compact JWS (EdDSA, with `kid`) over `{consentId, signingPayloadSha256,
    /// citizenSignature, signedAt}`, verifiable with `GET /v1/consents/keys`.
    pub receipt: String,
}
