//! Issuing a certificate (`POST /v1/certificates`): the request, its content
//! from the registers or the tax ledger, the PDF, its object in S3 and its
//! record, at most once per Idempotency-Key.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use chrono::{DateTime, FixedOffset};
use data_encoding::HEXLOWER;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::http::{ApiError, Fields, Invalid, json, json_body};
use shared::idempotency::Idempotency;

use crate::documents::{self, Content, Issue, Kind};
use crate::issue_number::IssueNumber;
use crate::registers::{self, Pnu};
use crate::store::{self, InsertError, Record, RequestKey, Status};
use crate::{App, internal, ledger, pdf};

impl App {
    pub(crate) async fn issue(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.citizen(req).await?;
        // The key is checked before the body, so a missing key is reported even
        // for a bad body; the whole request then runs at most once per key.
        let key = RequestKey {
            owner_id: principal.user_id.clone(),
            key: Idempotency::key(req)?,
            fingerprint: Idempotency::fingerprint(req),
        };
        self.idempotency
            .run(req, &principal.user_id, || self.issue_once(req, &key))
            .await
    }

    async fn issue_once(
        &self,
        req: &Request,
        key: &RequestKey,
    ) -> Result<Response<Body>, ApiError> {
        // An earlier attempt of this request may have issued the certificate
        // and lost its answer (the idempotency record was then given back):
        // answer with that one instead of issuing a second.
        let earlier = store::issued_for(&self.db, &self.names.table, key, shared::time::now_secs())
            .await
            .map_err(internal)?;
        if let Some(earlier) = earlier {
            return self.issued_before(key, &earlier).await;
        }
        let body: IssueBody = json_body(req)?;
        let now = self.now();
        let request = IssueRequest::parse(&body.kind, body.pnu.as_deref(), body.year, now)?;
        let content = self.content(&request, &key.owner_id).await?;
        let record = match self.issue_content(&content, key, now).await? {
            Ok(record) => record,
            Err(earlier) => return self.issued_before(key, &earlier).await,
        };
        self.created(&record).await
    }

    /// 201 with the certificate and its Location.
    async fn created(&self, record: &Record) -> Result<Response<Body>, ApiError> {
        let mut response = json(StatusCode::CREATED, &self.metadata(record, true).await?);
        if let Ok(location) =
            HeaderValue::from_str(&format!("/v1/certificates/{}", record.issue_number))
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    /// The answer to a request whose key already issued `earlier`: that
    /// certificate for the same request, 422 for another under the same key.
    async fn issued_before(
        &self,
        key: &RequestKey,
        earlier: &store::Earlier,
    ) -> Result<Response<Body>, ApiError> {
        if earlier.fingerprint != key.fingerprint {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency.key_reused",
                "This Idempotency-Key was already used with a different request.",
                "이 Idempotency-Key는 다른 요청에 이미 사용되었습니다.",
            ));
        }
        let record = store::get(&self.db, &self.names.table, &earlier.issue_number)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("the certificate of an issue request's key is missing"))?;
        tracing::info!(
            issue_number = %record.issue_number,
            "issue retried after its answer was lost: the certificate it issued"
        );
        self.created(&record).await
    }

    async fn content(&self, request: &IssueRequest, user_id: &str) -> Result<Content, ApiError> {
        match request {
            IssueRequest::Land(pnu) => Ok(Content::Land(self.load_land(pnu).await?)),
            IssueRequest::Buildings(pnu) => {
                let land = self.load_land(pnu).await?;
                let buildings = registers::buildings(&self.db, &self.names.table, pnu)
                    .await
                    .map_err(internal)?;
                if buildings.is_empty() {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "certificate.no_buildings",
                        "The building register has no building on this parcel.",
                        "이 필지에는 건축물대장에 등록된 건축물이 없습니다.",
                    )
                    .with_field("pnu", Invalid::new("has no building", "건축물이 없습니다")));
                }
                Ok(Content::Buildings(land, buildings))
            }
            IssueRequest::Payment | IssueRequest::Assessment(_) => {
                let ledger = ledger::load(&self.db, &self.names.ledger_table, user_id)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::NOT_FOUND,
                            "certificate.no_tax_record",
                            "The local-tax ledger has no record of you.",
                            "지방세 대장에 본인의 기록이 없습니다.",
                        )
                    })?;
                Ok(match request {
                    IssueRequest::Assessment(year) => Content::Assessment(ledger, *year),
                    _ => Content::Payment(ledger),
                })
            }
        }
    }

    /// Renders, stores and records one certificate (a fresh number is drawn in
    /// the unlikely event that the first is taken); `Err` inside when the
    /// request's key turns out to have issued one already.
    async fn issue_content(
        &self,
        content: &Content,
        key: &RequestKey,
        now: DateTime<FixedOffset>,
    ) -> Result<Result<Record, store::Earlier>, ApiError> {
        let owner_id = key.owner_id.as_str();
        for _ in 0..3 {
            let number = IssueNumber::generate().to_string();
            let issue = Issue {
                issue_number: &number,
                issued_at: now,
                base_url: &self.names.base_url,
            };
            let kind = content.kind();
            let subject = content.subject();
            let (sections, _, _) = documents::sections(content, now.date_naive());
            let digest = documents::printed_digest(kind.title(), &sections);
            let jws = self
                .keys
                .sign(&documents::claims(kind, &subject, &issue, &digest));
            let certificate = documents::certificate(content, &issue, jws);
            let bytes = pdf::render(&certificate).map_err(internal)?;
            let sha256 = HEXLOWER.encode(&Sha256::digest(&bytes));
            // A random part in the key: a number drawn twice can never overwrite
            // another certificate's PDF.
            let object_key = format!(
                "certificates/{number}/{}.pdf",
                shared::random::token::<12>()
            );
            self.s3
                .put_object()
                .bucket(&self.names.bucket)
                .key(&object_key)
                .content_type("application/pdf")
                .server_side_encryption(ServerSideEncryption::Aes256)
                .checksum_sha256(data_encoding::BASE64.encode(&Sha256::digest(&bytes)))
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|e| internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            let record = Record {
                issue_number: number.clone(),
                kind,
                owner_id: owner_id.to_owned(),
                subject,
                issued_at: now,
                sha256,
                object_key,
                status: Status::Issued,
                revoked_at: None,
            };
            match store::insert(&self.db, &self.names.table, &record, key).await {
                Ok(()) => return Ok(Ok(record)),
                Err(InsertError::Taken) => continue,
                Err(InsertError::Issued(earlier)) => return Ok(Err(earlier)),
                Err(InsertError::Store(e)) => return Err(internal(e)),
            }
        }
        Err(ApiError::internal(
            "three issue numbers in a row were taken",
        ))
    }
}

/// The body of `POST /v1/certificates`. `pnu` is for the register types and
/// `year` (2000 to this year) for `local-tax-assessment` only; the handler
/// names each field that breaks this.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IssueBody {
    /// The certificate type.
    #[serde(rename = "type")]
    #[schemars(with = "Kind")]
    pub kind: String,
    /// The parcel: required for `building-register` and `land-register`,
    /// refused for the personal types.
    #[schemars(with = "Option<Pnu>")]
    pub pnu: Option<String>,
    /// The tax year: required for `local-tax-assessment`, refused for the
    /// other types.
    #[schemars(range(min = 2000))]
    pub year: Option<i64>,
}

/// A parsed issue request.
#[derive(Debug, Clone, PartialEq)]
enum IssueRequest {
    Land(Pnu),
    Buildings(Pnu),
    Payment,
    Assessment(i32),
}

impl IssueRequest {
    fn parse(
        kind: &str,
        pnu: Option<&str>,
        year: Option<i64>,
        now: DateTime<FixedOffset>,
    ) -> Result<Self, ApiError> {
        let mut fields = Fields::new();
        let kind = fields.check(
            "type",
            Kind::parse(kind).ok_or_else(|| {
                Invalid::new(
                    "must be one of building-register, land-register, local-tax-payment, local-tax-assessment",
                    "building-register, land-register, local-tax-payment, local-tax-assessment 중 하나여야 합니다",
                )
            }),
        );
        let Some(kind) = kind else {
            return Err(fields.into_error());
        };
        let not_allowed = || {
            Invalid::new(
                "is not allowed for this type",
                "이 증명서 종류에는 쓸 수 없습니다",
            )
        };
        let required = || Invalid::new("is required for this type", "이 증명서 종류에 필요합니다");
        let pnu = match (kind.is_personal(), pnu) {
            (false, Some(p)) => fields.check("pnu", Pnu::parse(p)),
            (false, None) => fields.check::<Pnu>("pnu", Err(required())),
            (true, Some(_)) => fields.check::<Pnu>("pnu", Err(not_allowed())),
            (true, None) => None,
        };
        let this_year = i64::from(chrono::Datelike::year(&now));
        let year = match (kind, year) {
            (Kind::LocalTaxAssessment, Some(y)) if (2000..=this_year).contains(&y) => {
                i32::try_from(y).ok()
            }
            (Kind::LocalTaxAssessment, Some(_)) => fields.check::<i32>(
                "year",
                Err(Invalid::new(
                    format!("must be a year from 2000 to {this_year}"),
                    format!("2000년부터 {this_year}년 사이여야 합니다"),
                )),
            ),
            (Kind::LocalTaxAssessment, None) => fields.check::<i32>("year", Err(required())),
            (_, Some(_)) => fields.check::<i32>("year", Err(not_allowed())),
            (_, None) => None,
        };
        if !fields.is_empty() {
            return Err(fields.into_error());
        }
        Ok(match (kind, pnu, year) {
            (Kind::LandRegister, Some(p), _) => IssueRequest::Land(p),
            (Kind::BuildingRegister, Some(p), _) => IssueRequest::Buildings(p),
            (Kind::LocalTaxAssessment, _, Some(y)) => IssueRequest::Assessment(y),
            _ => IssueRequest::Payment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-29T10:00:00+09:00").unwrap()
    }

    #[test]
    fn issue_requests_name_each_bad_field() {
        let ok = IssueRequest::parse("land-register", Some("1111010100100010000"), None, now());
        assert!(matches!(ok, Ok(IssueRequest::Land(_))));
        assert!(matches!(
            IssueRequest::parse("local-tax-assessment", None, Some(2025), now()),
            Ok(IssueRequest::Assessment(2025))
        ));
        for (kind, pnu, year, field) in [
            ("passport", None, None, "type"),
            ("land-register", None, None, "pnu"),
            ("land-register", Some("123"), None, "pnu"),
            (
                "land-register",
                Some("1111010100100010000"),
                Some(2025),
                "year",
            ),
            ("local-tax-assessment", None, None, "year"),
            ("local-tax-assessment", None, Some(1999), "year"),
            ("local-tax-assessment", None, Some(2027), "year"),
            (
                "local-tax-payment",
                Some("1111010100100010000"),
                None,
                "pnu",
            ),
        ] {
            let e = IssueRequest::parse(kind, pnu, year, now()).unwrap_err();
            assert_eq!(
                e.status(),
                StatusCode::BAD_REQUEST,
                "{kind} {pnu:?} {year:?}"
            );
            assert!(
                e.errors().iter().any(|f| f.field == field),
                "{kind} {pnu:?} {year:?}: {:?}",
                e.errors()
            );
        }
    }
}
