//! A consent request as the official sends it, parsed into types at the edge:
//! every bad field is named (`citizenLoginId`, `documents[1]`, `validDays`,
//! ...), all of them at once.

use serde::Deserialize;
use shared::http::{ApiError, Fields, Invalid};

/// The longest petition id, in characters.
pub const MAX_PETITION_ID_CHARS: usize = 64;
/// The longest petition name, in characters.
pub const MAX_PETITION_NAME_CHARS: usize = 100;
/// The longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;
/// The longest a consent may run, in days.
pub const MAX_VALID_DAYS: i64 = 30;

/// The documents an official may ask to look up (api.md's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 주민등록표 초본.
    ResidentRegistrationAbstract,
    /// 가족관계증명서.
    FamilyRelationCertificate,
    /// 지방세 납세증명서.
    LocalTaxPaymentCertificate,
    /// 건축물대장.
    BuildingRegister,
    /// 토지대장.
    LandRegister,
    /// 사업자등록증명.
    BusinessRegistrationCertificate,
    /// 건강보험 자격득실확인서.
    HealthInsuranceEligibility,
}

impl Document {
    /// Every document.
    pub const ALL: [Document; 7] = [
        Document::ResidentRegistrationAbstract,
        Document::FamilyRelationCertificate,
        Document::LocalTaxPaymentCertificate,
        Document::BuildingRegister,
        Document::LandRegister,
        Document::BusinessRegistrationCertificate,
        Document::HealthInsuranceEligibility,
    ];

    /// The api.md code.
    pub fn as_str(self) -> &'static str {
        match self {
            Document::ResidentRegistrationAbstract => "resident-registration-abstract",
            Document::FamilyRelationCertificate => "family-relation-certificate",
            Document::LocalTaxPaymentCertificate => "local-tax-payment-certificate",
            Document::BuildingRegister => "building-register",
            Document::LandRegister => "land-register",
            Document::BusinessRegistrationCertificate => "business-registration-certificate",
            Document::HealthInsuranceEligibility => "health-insurance-eligibility",
        }
    }

    /// Parses an api.md code.
    pub fn parse(value: &str) -> Result<Document, Invalid> {
        Document::ALL
            .into_iter()
            .find(|d| d.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    "must be one of resident-registration-abstract, family-relation-certificate, local-tax-payment-certificate, building-register, land-register, business-registration-certificate, health-insurance-eligibility",
                    "resident-registration-abstract, family-relation-certificate, local-tax-payment-certificate, building-register, land-register, business-registration-certificate, health-insurance-eligibility 중 하나여야 합니다",
                )
            })
    }
}

impl schemars::JsonSchema for Document {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Document".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Document::ALL.iter().map(|d| d.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": codes })
    }
}

/// The request body of `POST /v1/consents`. Fields are read as JSON values and
/// checked one by one, so that each bad field is named; the schema attributes
/// give the shape [`ConsentRequest::parse`] accepts.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestBody {
    /// The citizen's login id.
    #[schemars(
        with = "String",
        length(min = 4, max = 32),
        regex(pattern = r"^[a-z0-9._-]+$")
    )]
    pub citizen_login_id: serde_json::Value,
    /// The petition's id in the official's system.
    #[schemars(with = "String", length(min = 1, max = 64))]
    pub petition_id: serde_json::Value,
    /// The petition's name, shown to the citizen.
    #[schemars(with = "String", length(min = 1, max = 100))]
    pub petition_name: serde_json::Value,
    /// The document codes, 1 to 7, each once.
    #[schemars(with = "Vec<Document>", length(min = 1, max = 7))]
    pub documents: serde_json::Value,
    /// Why the documents are needed, shown to the citizen.
    #[schemars(with = "String", length(min = 1, max = 500))]
    pub purpose: serde_json::Value,
    /// How many days the consent runs once requested.
    #[schemars(with = "u8", range(min = 1, max = 30))]
    pub valid_days: serde_json::Value,
}

/// The body of `POST /v1/consents/{consentId}/signature`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignatureBody {
    /// The registered device whose key signed.
    #[schemars(length(min = 1, max = 64))]
    pub device_id: String,
    /// base64url DER ECDSA-P256-SHA256 over the UTF-8 bytes of signingPayload.
    pub signature: String,
}

/// The body of `POST /v1/consents/{consentId}/access`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    /// The document looked up.
    #[schemars(with = "Document")]
    pub document: String,
}

/// A request with every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// The citizen's login id (lowercase, 4-32 of `[a-z0-9._-]`).
    pub citizen_login_id: String,
    /// 1-64 characters of `[A-Za-z0-9._:/-]`.
    pub petition_id: String,
    /// 1-100 characters, trimmed, no control characters.
    pub petition_name: String,
    /// 1-7 distinct documents, in the order asked.
    pub documents: Vec<Document>,
    /// 1-500 characters, trimmed, no control characters.
    pub purpose: String,
    /// 1-30.
    pub valid_days: i64,
}

impl ConsentRequest {
    /// Checks every field; a 400 names each bad one.
    pub fn parse(body: &RequestBody) -> Result<ConsentRequest, ApiError> {
        let mut fields = Fields::new();
        let login_id = fields.check("citizenLoginId", login_id(&body.citizen_login_id));
        let petition_id = fields.check("petitionId", petition_id(&body.petition_id));
        let petition_name = fields.check(
            "petitionName",
            text(&body.petition_name, MAX_PETITION_NAME_CHARS),
        );
        let purpose = fields.check("purpose", text(&body.purpose, MAX_PURPOSE_CHARS));
        let valid_days = fields.check("validDays", valid_days(&body.valid_days));
        let documents = documents(&body.documents, &mut fields);
        match (
            login_id,
            petition_id,
            petition_name,
            purpose,
            valid_days,
            documents,
        ) {
            (Some(l), Some(i), Some(n), Some(p), Some(v), Some(d)) if fields.is_empty() => {
                Ok(ConsentRequest {
                    citizen_login_id: l,
                    petition_id: i,
                    petition_name: n,
                    documents: d,
                    purpose: p,
                    valid_days: v,
                })
            }
            _ => Err(fields.into_error()),
        }
    }
}

fn login_id(value: &serde_json::Value) -> Result<String, Invalid> {
    let id = value
        .as_str()
        .map(str::trim)
        .filter(|id| {
            (4..=32).contains(&id.len())
                && id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
        .ok_or_else(|| {
            Invalid::new(
                "must be a login id: 4-32 of a-z, 0-9, '.', '_', '-'",
                "로그인 아이디여야 합니다: a-z, 0-9, '.', '_', '-' 4-32자",
            )
        })?;
    Ok(id.to_owned())
}

fn petition_id(value: &serde_json::Value) -> Result<String, Invalid> {
    let id = value
        .as_str()
        .map(str::trim)
        .filter(|id| {
            !id.is_empty()
                && id.chars().count() <= MAX_PETITION_ID_CHARS
                && id.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-')
                })
        })
        .ok_or_else(|| {
            Invalid::new(
                "must be 1-64 of A-Z, a-z, 0-9, '.', '_', ':', '/', '-'",
                "A-Z, a-z, 0-9, '.', '_', ':', '/', '-' 1-64자여야 합니다",
            )
        })?;
    Ok(id.to_owned())
}

fn text(value: &serde_json::Value, max: usize) -> Result<String, Invalid> {
    let Some(text) = value.as_str().map(str::trim) else {
        return Err(Invalid::new("must be a string", "문자열이어야 합니다"));
    };
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(Invalid::new(
            format!("must be 1-{max} characters"),
            format!("1-{max}자여야 합니다"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Invalid::new(
            "must not contain control characters",
            "제어 문자를 포함할 수 없습니다",
        ));
    }
    Ok(text.to_owned())
}

fn valid_days(value: &serde_json::Value) -> Result<i64, Invalid> {
    value
        .as_i64()
        .filter(|d| (1..=MAX_VALID_DAYS).contains(d))
        .ok_or_else(|| {
            Invalid::new(
                "must be a whole number of days from 1 to 30",
                "1에서 30 사이의 정수(일)여야 합니다",
            )
        })
}

fn documents(value: &serde_json::Value, fields: &mut Fields) -> Option<Vec<Document>> {
    let Some(codes) = value.as_array().filter(|c| !c.is_empty() && c.len() <= 7) else {
        fields.check::<()>(
            "documents",
            Err(Invalid::new(
                "must list 1-7 document codes",
                "문서 코드를 1-7개 나열해야 합니다",
            )),
        );
        return None;
    };
    let mut documents = Vec::new();
    let mut ok = true;
    for (i, code) in codes.iter().enumerate() {
        let field = format!("documents[{i}]");
        let parsed = code
            .as_str()
            .ok_or_else(|| Invalid::new("must be a string", "문자열이어야 합니다"))
            .and_then(Document::parse)
            .and_then(|d| {
                if documents.contains(&d) {
                    Err(Invalid::new("is listed twice", "두 번 나열되었습니다"))
                } else {
                    Ok(d)
                }
            });
        match fields.check(&field, parsed) {
            Some(d) => documents.push(d),
            None => ok = false,
        }
    }
    ok.then_some(documents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> RequestBody {
        serde_json::from_value(v).unwrap()
    }

    fn good() -> serde_json::Value {
        json!({"citizenLoginId": "citizen1", "petitionId": "P-2026-0001", "petitionName": "주거급여 신청",
               "documents": ["resident-registration-abstract", "local-tax-payment-certificate"],
               "purpose": "주거급여 자격 확인", "validDays": 7})
    }

    fn fields_of(e: &ApiError) -> Vec<String> {
        e.errors().iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn a_good_request_keeps_the_documents_in_the_order_asked() {
        let r = ConsentRequest::parse(&body(good())).unwrap();
        assert_eq!(
            r.documents,
            [
                Document::ResidentRegistrationAbstract,
                Document::LocalTaxPaymentCertificate
            ]
        );
        assert_eq!(r.valid_days, 7);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let e = ConsentRequest::parse(&body(json!({
            "citizenLoginId": "X", "petitionId": "", "petitionName": "a\u{0007}b",
            "documents": ["land-register", "passport", "land-register"],
            "purpose": "x".repeat(501), "validDays": 31})))
        .unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(
            fields_of(&e),
            [
                "citizenLoginId",
                "petitionId",
                "petitionName",
                "purpose",
                "validDays",
                "documents[1]",
                "documents[2]"
            ]
        );
    }

    #[test]
    fn documents_must_be_a_short_nonempty_list_and_days_whole() {
        for (documents, days) in [(json!([]), json!(0)), (json!("land-register"), json!(1.5))] {
            let mut v = good();
            v["documents"] = documents;
            v["validDays"] = days;
            let e = ConsentRequest::parse(&body(v)).unwrap_err();
            assert_eq!(fields_of(&e), ["validDays", "documents"]);
        }
    }

    #[test]
    fn codes_round_trip() {
        for d in Document::ALL {
            assert_eq!(Document::parse(d.as_str()).unwrap(), d);
        }
    }
}
