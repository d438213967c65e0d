//! The JSON answers of the certificate routes, as typed values (their schemas
//! are in docs/openapi.json).
//!
//! Fields are declared in the alphabetical order of their JSON names: these
//! answers used to be built as `serde_json::Value`s, whose objects sort their
//! keys, and clients keep receiving the same bytes.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;

use crate::documents::Kind;
use crate::registers::Building;
use crate::store::Channel;

/// Where a certificate stands when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "CertificateStatus")]
pub enum CertificateStatus {
    /// Issued, within its validity.
    Issued,
    /// Revoked by its owner.
    Revoked,
    /// Issued more than 90 days ago (computed when read; its PDF is gone).
    Expired,
}

impl CertificateStatus {
    /// As api.md writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Issued => "issued",
            CertificateStatus::Revoked => "revoked",
            CertificateStatus::Expired => "expired",
        }
    }
}

/// Why a certificate does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "VerificationReason")]
pub enum Reason {
    /// Revoked by its owner.
    Revoked,
    /// Issued more than 90 days ago.
    Expired,
    /// The PDF's bytes differ from the issued ones.
    Altered,
    /// No certificate of this PDF was issued.
    Unknown,
}

impl Reason {
    /// As api.md writes it (and the verification log stores it).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Revoked => "revoked",
            Reason::Expired => "expired",
            Reason::Altered => "altered",
            Reason::Unknown => "unknown",
        }
    }
}

/// A certificate's metadata (`POST /v1/certificates`, `GET` and revocation of
/// `/v1/certificates/{issueNumber}`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    /// When `downloadUrl` stops working (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_expires_at: Option<String>,
    /// A presigned S3 GET of the PDF, valid 300 s; absent once expired and in
    /// the answer to a revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// When it stops verifying: 90 days after issue (RFC 3339).
    pub expires_at: String,
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// When it was issued (RFC 3339, KST).
    pub issued_at: String,
    /// When it was revoked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// SHA-256 of the PDF bytes, lowercase hex.
    pub sha256: String,
    /// Where it stands.
    pub status: CertificateStatus,
    /// What it is about: the parcel number, or the citizen's masked name.
    pub subject: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schemars(with = "Kind")]
    pub kind: String,
}

/// One entry of `GET /v1/certificates`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateEntry {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// When it was issued (RFC 3339, KST).
    pub issued_at: String,
    /// SHA-256 of the PDF bytes, lowercase hex.
    pub sha256: String,
    /// Where it stands.
    #[schemars(with = "CertificateStatus")]
    pub status: String,
    /// What it is about: the parcel number, or the citizen's masked name.
    pub subject: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schemars(with = "Kind")]
    pub kind: String,
}

/// One verification of a certificate, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "CertificateCheck")]
pub struct Check {
    /// How it was checked: by issue number or by uploading the PDF.
    #[schemars(schema_with = "channel_schema")]
    pub channel: String,
    /// When (RFC 3339, milliseconds).
    pub checked_at: String,
    /// What the checker was told: `valid`, or why not.
    #[schemars(schema_with = "result_schema")]
    pub result: String,
}

/// The answer of `GET /v1/certificates/{issueNumber}/verification`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumberVerification {
    /// When it stops verifying: 90 days after issue (RFC 3339).
    pub expires_at: String,
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// When it was issued (RFC 3339, KST).
    pub issued_at: String,
    /// Why it does not verify; absent when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// SHA-256 of the issued PDF, lowercase hex.
    pub sha256: String,
    /// The parcel number, or the citizen's masked name.
    pub subject: String,
    /// Its type.
    #[serde(rename = "type")]
    #[schemars(with = "Kind")]
    pub kind: String,
    /// Whether it verifies now.
    pub valid: bool,
}

/// The answer of `POST /v1/certificates/verify`: `{valid: true, issueNumber,
/// type, issuedAt}`, or `{valid: false, reason}` with `issueNumber` when the
/// PDF names a certificate that was issued.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PdfVerification {
    /// The certificate the PDF is; absent when `reason` is `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_number: Option<String>,
    /// When it was issued (RFC 3339, KST); valid PDFs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// Why it does not verify; absent when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Its type; valid PDFs only.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Kind>")]
    pub kind: Option<String>,
    /// Whether the PDF is an issued certificate that verifies now.
    pub valid: bool,
}

impl PdfVerification {
    /// A PDF that is no certificate of this service.
    pub fn unknown() -> Self {
        PdfVerification {
            issue_number: None,
            issued_at: None,
            reason: Some(Reason::Unknown),
            kind: None,
            valid: false,
        }
    }
}

/// The answer of `GET /v1/registers/buildings/{pnu}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Buildings {
    /// The buildings on the parcel, in register order (empty when none).
    pub items: Vec<Building>,
}

/// The channels of [`Channel`], as a schema enum.
fn channel_schema(_: &mut SchemaGenerator) -> Schema {
    let codes: Vec<&str> = [Channel::Number, Channel::Pdf]
        .iter()
        .map(|c| c.as_str())
        .collect();
    json_schema!({ "type": "string", "enum": codes })
}

/// What a verification log entry may say: `valid` or a reason (never
/// `unknown`, which has no certificate to log it under).
fn result_schema(_: &mut SchemaGenerator) -> Schema {
    let mut codes = vec!["valid"];
    codes.extend(
        [Reason::Revoked, Reason::Expired, Reason::Altered]
            .iter()
            .map(|r| r.as_str()),
    );
    json_schema!({ "type": "string", "enum": codes })
}

#[cfg(test)]
mod tests {
    //! The typed answers write exactly what the former `json!` values wrote.

    use serde_json::json;

    use super::*;

    fn same(typed: &impl Serialize, former: &serde_json::Value) {
        assert_eq!(
            serde_json::to_string(typed).unwrap(),
            serde_json::to_string(former).unwrap()
        );
    }

    #[test]
    fn metadata_keeps_its_bytes() {
        let mut view = CertificateView {
            download_expires_at: Some("2026-11-29T10:05:00+09:00".into()),
            download_url: Some("https://s3/x".into()),
            expires_at: "2027-02-27T10:00:00+09:00".into(),
            issue_number: "1234-5678-9012-3456".into(),
            issued_at: "2026-11-29T10:00:00+09:00".into(),
            revoked_at: None,
            sha256: "ab".into(),
            status: CertificateStatus::Issued,
            subject: "홍*동".into(),
            kind: "local-tax-payment".into(),
        };
        let mut former = json!({
            "issueNumber": "1234-5678-9012-3456",
            "type": "local-tax-payment",
            "issuedAt": "2026-11-29T10:00:00+09:00",
            "expiresAt": "2027-02-27T10:00:00+09:00",
            "sha256": "ab",
            "subject": "홍*동",
            "status": "issued",
        });
        former["downloadUrl"] = json!("https://s3/x");
        former["downloadExpiresAt"] = json!("2026-11-29T10:05:00+09:00");
        same(&view, &former);
        view.download_url = None;
        view.download_expires_at = None;
        view.revoked_at = Some("2026-11-30T10:00:00+09:00".into());
        view.status = CertificateStatus::Revoked;
        former.as_object_mut().unwrap().remove("downloadUrl");
        former.as_object_mut().unwrap().remove("downloadExpiresAt");
        former["revokedAt"] = json!("2026-11-30T10:00:00+09:00");
        former["status"] = json!("revoked");
        same(&view, &former);
    }

    #[test]
    fn verifications_keep_their_bytes() {
        let mut number = NumberVerification {
            expires_at: "e".into(),
            issue_number: "n".into(),
            issued_at: "i".into(),
            reason: None,
            sha256: "h".into(),
            subject: "s".into(),
            kind: "land-register".into(),
            valid: true,
        };
        let mut former = json!({
            "valid": true, "issueNumber": "n", "type": "land-register", "issuedAt": "i",
            "expiresAt": "e", "sha256": "h", "subject": "s",
        });
        same(&number, &former);
        number.valid = false;
        number.reason = Some(Reason::Expired);
        former["valid"] = json!(false);
        former["reason"] = json!("expired");
        same(&number, &former);

        same(
            &PdfVerification::unknown(),
            &json!({"valid": false, "reason": "unknown"}),
        );
        same(
            &PdfVerification {
                issue_number: Some("n".into()),
                issued_at: Some("i".into()),
                reason: None,
                kind: Some("land-register".into()),
                valid: true,
            },
            &json!({"valid": true, "issueNumber": "n", "type": "land-register", "issuedAt": "i"}),
        );
        same(
            &PdfVerification {
                issue_number: Some("n".into()),
                issued_at: None,
                reason: Some(Reason::Altered),
                kind: None,
                valid: false,
            },
            &json!({"valid": false, "reason": "altered", "issueNumber": "n"}),
        );
    }

    #[test]
    fn lists_keep_their_bytes() {
        let building = Building {
            approval_date: "2001-02-03".into(),
            floors_above: 3,
            floors_below: 1,
            main_use: "단독주택".into(),
            name: "가동".into(),
            structure: "철근콘크리트구조".into(),
            total_floor_area_m2: 120.5,
        };
        same(
            &Buildings {
                items: vec![building.clone()],
            },
            &json!({ "items": [building] }),
        );
        same(
            &CertificateEntry {
                issue_number: "n".into(),
                issued_at: "i".into(),
                sha256: "h".into(),
                status: "expired".into(),
                subject: "s".into(),
                kind: "land-register".into(),
            },
            &json!({"issueNumber": "n", "type": "land-register", "issuedAt": "i", "sha256": "h", "subject": "s", "status": "expired"}),
        );
        same(
            &Check {
                channel: "pdf".into(),
                checked_at: "c".into(),
                result: "altered".into(),
            },
            &json!({"checkedAt": "c", "channel": "pdf", "result": "altered"}),
        );
    }
}
