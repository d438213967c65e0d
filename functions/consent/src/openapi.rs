//! The consent routes as the API description lists them (`docs/openapi.json`;
//! the router is `routes.rs`).

use shared::openapi::{Access, Header, Operation, page, problem, schema};

use crate::request::{AccessBody, RequestBody, SignatureBody};
use crate::routes::SCOPE_REQUEST;
use crate::status::Status;
use crate::store::Access as Accessed;
use crate::views::{ConsentView, Signed};

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "consent",
    "Consent to joint use of administrative information: an official asks, the citizen signs with a device key, every look-up is logged.",
);

/// The routes of `consent`.
pub fn operations() -> Vec<Operation> {
    let consent_id = ("consentId", "The consent's id (UUID).");
    let transition = problem(409, "consent.invalid_transition");
    vec![
        Operation::new("POST", "/v1/consents", "requestConsent", Access::Scope(SCOPE_REQUEST))
            .doc(
                "Ask a citizen for consent to look up documents",
                "The agency comes from the official's token. Texts the citizen (event consent.requested). Idempotency-Key is optional here.",
            )
            .idempotency(Header::Optional)
            .json_body(schema::<RequestBody>)
            .reply(201, "The consent, pending", schema::<ConsentView>)
            .with_header("ETag")
            .with_header("Location")
            .problems(&[
                problem(403, "consent.agency_required"),
                problem(422, "consent.unknown_citizen"),
            ]),
        Operation::new("GET", "/v1/consents", "listConsents", Access::Anyone)
            .doc("A citizen's consents, or an official's requests", "Newest first.")
            .paged()
            .query("status", false, "Only consents in this status.", schema::<Status>)
            .reply(200, "A page of consents", page::<ConsentView>),
        Operation::new("GET", "/v1/consents/keys", "consentReceiptKeys", Access::Public)
            .doc("The receipt keys (JWK Set, OKP Ed25519)", "")
            .reply(200, "The JWK Set", schema::<shared::openapi::JwkSet>)
            .with_header("Cache-Control"),
        Operation::new("GET", "/v1/consents/{consentId}", "getConsent", Access::Anyone)
            .doc("One consent (its citizen or its official only; 404 to anyone else)", "")
            .path_param(consent_id.0, consent_id.1)
            .reply(200, "The consent", schema::<ConsentView>)
            .with_header("ETag"),
        Operation::new(
            "POST",
            "/v1/consents/{consentId}/signature",
            "signConsent",
            Access::Citizen,
        )
        .doc(
            "Sign the consent with a registered device key",
            "The signature covers the UTF-8 bytes of signingPayload. A signature that does not verify changes nothing (422 consent.bad_signature).",
        )
        .strong()
        .path_param(consent_id.0, consent_id.1)
        .if_match(Header::Optional)
        .json_body(schema::<SignatureBody>)
        .reply(200, "The consent, granted, with the receipt", schema::<Signed>)
        .with_header("ETag")
        .problems(&[transition, problem(422, "consent.bad_signature")]),
        Operation::new(
            "POST",
            "/v1/consents/{consentId}/refusal",
            "refuseConsent",
            Access::Citizen,
        )
        .doc("Refuse a pending consent", "")
        .path_param(consent_id.0, consent_id.1)
        .if_match(Header::Optional)
        .reply(200, "The consent, refused", schema::<ConsentView>)
        .with_header("ETag")
        .problems(&[transition]),
        Operation::new(
            "POST",
            "/v1/consents/{consentId}/revocation",
            "revokeConsent",
            Access::Citizen,
        )
        .doc("Revoke a granted consent", "")
        .path_param(consent_id.0, consent_id.1)
        .if_match(Header::Optional)
        .reply(200, "The consent, revoked", schema::<ConsentView>)
        .with_header("ETag")
        .problems(&[transition]),
        Operation::new(
            "POST",
            "/v1/consents/{consentId}/access",
            "lookUpDocument",
            Access::Official,
        )
        .doc(
            "Look up one document under the consent (the asking official only)",
            "Logged and texted to the citizen when allowed; refused look-ups are logged too. Idempotency-Key is optional here: a retry of an allowed look-up with the same key is answered 204 again and logged once.",
        )
        .idempotency(Header::Optional)
        .path_param(consent_id.0, consent_id.1)
        .json_body(schema::<AccessBody>)
        .no_content("Allowed and logged")
        .problems(&[problem(403, "consent.not_granted")]),
        Operation::new(
            "GET",
            "/v1/consents/{consentId}/access-log",
            "consentAccessLog",
            Access::Citizen,
        )
        .doc("Who looked up the citizen's documents under the consent", "")
        .path_param(consent_id.0, consent_id.1)
        .paged()
        .reply(200, "A page of look-ups", page::<Accessed>),
    ]
}
