//! The JSON request bodies of the tax-refund routes. Fields are read as
//! strings and checked one by one by the handlers, so that each bad field is
//! named; the schema attributes give the shape the handlers accept (their
//! schemas are in docs/openapi.json).

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

/// The body of `POST /v1/tax/refunds`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "RefundClaim")]
pub struct ClaimBody {
    /// The overpayment, as `GET /v1/tax/refunds/eligible` lists it.
    #[schemars(length(min = 1, max = 64))]
    pub refundable_id: String,
    /// The receiving bank: a 3-digit code of the Korean interbank network.
    #[schemars(schema_with = "bank_codes")]
    pub bank_code: String,
    /// The account: 10 to 16 digits, hyphens allowed between them.
    #[schemars(length(min = 10, max = 31), regex(pattern = r"^[0-9]+(-[0-9]+)*$"))]
    pub account_number: String,
    /// The account holder, who must be the citizen (spaces and ASCII case
    /// aside); 1 to 40 characters.
    #[schemars(length(min = 1, max = 40))]
    pub account_holder: String,
}

/// The body of `POST /v1/tax/refunds/{refundId}/decision`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RefundDecision")]
pub struct DecisionBody {
    /// `approve` or `reject`.
    #[schemars(schema_with = "decisions")]
    pub decision: String,
    /// Why, shown to the citizen: required to reject, at most 500 characters.
    #[schemars(length(max = 500))]
    pub reason: Option<String>,
}

/// The body of `POST /v1/tax/refunds/{refundId}/payment`, which may be left
/// out: nothing but an empty object.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RefundPayment")]
pub struct PaymentBody {}

/// The codes of `shared::codes::BANKS`.
fn bank_codes(_: &mut SchemaGenerator) -> Schema {
    let codes: Vec<&str> = shared::codes::BANKS.iter().map(|(code, _)| *code).collect();
    json_schema!({ "type": "string", "enum": codes })
}

/// The decisions an official may take.
fn decisions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": ["approve", "reject"] })
}
