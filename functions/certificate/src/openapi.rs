//! The certificate routes as the API description lists them
//! (`docs/openapi.json`; the router is [`crate::App::handle`]).

use schemars::{Schema, SchemaGenerator, json_schema};
use shared::openapi::{Access, Header, JwkSet, Operation, page, problem, schema};

use crate::IssueBody;
use crate::registers::{Hit, Land};
use crate::views::{
    Buildings, CertificateEntry, CertificateView, Check, NumberVerification, PdfVerification,
};

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "certificate",
    "Public land and building registers, and certificates issued as A4 Korean PDFs that verify by issue number, by upload and offline by their QR code.",
);

/// The `q` of the address search: what [`crate::registers::Query::parse`]
/// accepts, as far as a schema can say it (at most 10 words, one of them of
/// at least 2 characters).
fn search_words(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "minLength": 2, "maxLength": 100 })
}

/// The routes of `certificate`.
pub fn operations() -> Vec<Operation> {
    let pnu = ("pnu", "The parcel number (PNU, 19 digits).");
    let issue_number = (
        "issueNumber",
        "The issue number, NNNN-NNNN-NNNN-NNNN (the last digit a check digit).",
    );
    // A malformed path parameter is a 400 naming it, not a 404.
    let bad_param = problem(400, "request.invalid");
    let no_parcel = problem(404, "register.parcel_not_found");
    vec![
        Operation::new("GET", "/v1/registers/lands", "searchLands", Access::Citizen)
            .doc(
                "Parcels whose address contains every word of q",
                "Ordered by parcel number. q has at most 100 characters and 10 words, one of at least 2 characters.",
            )
            .query("q", true, "The words to look for.", search_words)
            .paged()
            .reply(200, "A page of parcels", page::<Hit>),
        Operation::new("GET", "/v1/registers/lands/{pnu}", "getLand", Access::Citizen)
            .doc(
                "The land record of a parcel (토지대장)",
                "Address, land category (지목), area and official land prices; owner data is never returned.",
            )
            .path_param(pnu.0, pnu.1)
            .reply(200, "The land record", schema::<Land>)
            .problems(&[bad_param, no_parcel]),
        Operation::new(
            "GET",
            "/v1/registers/buildings/{pnu}",
            "listBuildings",
            Access::Citizen,
        )
        .doc(
            "The building records of a parcel (건축물대장)",
            "Name, main use, structure, floors, total floor area and approval date of each building; owner data is never returned.",
        )
        .path_param(pnu.0, pnu.1)
        .reply(200, "The buildings (empty when none)", schema::<Buildings>)
        .problems(&[bad_param, no_parcel]),
        Operation::new("POST", "/v1/certificates", "issueCertificate", Access::Citizen)
            .doc(
                "Issue a certificate",
                "Renders the PDF, stores its SHA-256 and answers a download URL valid 300 s. pnu is for the register types, year for local-tax-assessment.",
            )
            .idempotency(Header::Required)
            .json_body(schema::<IssueBody>)
            .reply(201, "The certificate, with a download URL", schema::<CertificateView>)
            .with_header("Location")
            .problems(&[
                no_parcel,
                problem(404, "certificate.no_tax_record"),
                problem(422, "certificate.no_buildings"),
            ]),
        Operation::new("GET", "/v1/certificates", "listCertificates", Access::Citizen)
            .doc("The citizen's issued certificates", "Newest first.")
            .paged()
            .reply(200, "A page of certificates", page::<CertificateEntry>),
        Operation::new(
            "GET",
            "/v1/certificates/{issueNumber}",
            "getCertificate",
            Access::Citizen,
        )
        .doc(
            "One certificate with a fresh download URL (its owner only; 404 to anyone else)",
            "No download URL once expired.",
        )
        .path_param(issue_number.0, issue_number.1)
        .reply(200, "The certificate", schema::<CertificateView>)
        .problems(&[bad_param]),
        Operation::new(
            "GET",
            "/v1/certificates/{issueNumber}/verification",
            "verifyCertificateNumber",
            Access::Public,
        )
        .doc(
            "Verify a certificate by its issue number",
            "Valid for 90 days after issue unless revoked; the subject of personal types is masked. Logged for the owner.",
        )
        .path_param(issue_number.0, issue_number.1)
        .reply(200, "Whether it verifies", schema::<NumberVerification>)
        .problems(&[bad_param]),
        Operation::new(
            "POST",
            "/v1/certificates/verify",
            "verifyCertificatePdf",
            Access::Public,
        )
        .doc(
            "Verify a certificate by uploading its PDF",
            "The body is the PDF's bytes (application/pdf, at most 5 MiB). A PDF whose bytes differ from the issued ones answers reason altered; one that is no certificate of this service, unknown. Logged for the owner.",
        )
        .raw_body("application/pdf")
        .reply(200, "Whether it verifies", schema::<PdfVerification>)
        .problems(&[problem(400, "certificate.not_pdf")]),
        Operation::new("GET", "/v1/certificates/keys", "certificateKeys", Access::Public)
            .doc("The QR signing keys (JWK Set, OKP Ed25519)", "")
            .reply(200, "The JWK Set", schema::<JwkSet>)
            .with_header("Cache-Control"),
        Operation::new(
            "POST",
            "/v1/certificates/{issueNumber}/revocation",
            "revokeCertificate",
            Access::Citizen,
        )
        .doc(
            "Revoke a certificate (its owner only)",
            "Verification then answers valid false, reason revoked. Revoking again changes nothing.",
        )
        .path_param(issue_number.0, issue_number.1)
        .reply(200, "The certificate, revoked (no download URL)", schema::<CertificateView>)
        .problems(&[bad_param]),
        Operation::new(
            "GET",
            "/v1/certificates/{issueNumber}/verifications",
            "listCertificateVerifications",
            Access::Citizen,
        )
        .doc(
            "Who checked a certificate (its owner only)",
            "Newest first, by issue number or by PDF.",
        )
        .path_param(issue_number.0, issue_number.1)
        .paged()
        .reply(200, "A page of verifications", page::<Check>),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_makes_a_document() {
        let doc = shared::openapi::document("0", &vec![(TAG.0, TAG.1, operations())]);
        assert_eq!(operations().len(), 11);
        let schemas = &doc["components"]["schemas"];
        for name in [
            "CertificateView",
            "CertificateType",
            "Pnu",
            "LandRecord",
            "BuildingRecord",
        ] {
            assert!(schemas[name].is_object(), "{name}");
        }
        if std::env::var_os("PRINT_OPENAPI").is_some() {
            println!("{}", serde_json::to_string_pretty(&doc).unwrap());
        }
    }
}
