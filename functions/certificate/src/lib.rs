//! The `certificate` function: every endpoint of api.md's "Certificates".
//!
//! Public registers (land and building records, address search) and four
//! certificate types printed as A4 Korean PDFs ([`pdf`]) whose authenticity can be
//! checked three ways: by issue number, by uploading the PDF (its SHA-256 is
//! stored), and offline by the QR code, a compact EdDSA JWS over the document's
//! data ([`shared::eddsa`]) verifiable with `/v1/certificates/keys`.
//!
//! [`App`] holds what lives across invocations (SDK clients, keys, the font);
//! [`App::handle`] routes one request. Handlers parse, authorise, call a domain
//! module and map the result.
//!
//! [`views`] and [`openapi`]: the answers as types, and the routes as
//! docs/openapi.json lists them.

pub mod documents;
pub mod issue_number;
pub mod ledger;
pub mod openapi;
pub mod pdf;
pub mod registers;
pub mod store;
pub mod views;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use chrono::{DateTime, FixedOffset, TimeZone};
use data_encoding::HEXLOWER;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use shared::auth::{Principal, Role};
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::http::{ApiError, Fields, Invalid, json, json_body};
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;

use crate::documents::{Content, Issue, Kind, VALIDITY_DAYS};
use crate::issue_number::IssueNumber;
use crate::registers::{Pnu, Query};
use crate::store::{Channel, InsertError, Record, RequestKey, Status};
use crate::views::{
    Buildings, CertificateEntry, CertificateStatus, CertificateView, Check, NumberVerification,
    PdfVerification, Reason,
};
use shared::eddsa::{self, KeySet};

/// How long a download URL stays valid.
pub const DOWNLOAD_URL_SECS: u64 = 300;
/// The largest PDF `/v1/certificates/verify` accepts.
pub const MAX_PDF_BYTES: usize = 5 * 1024 * 1024;

/// Korea Standard Time, in which certificates are dated.
fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration variable is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key secret could not be read.
    #[error("could not read the secret named by `CERTIFICATE_KEYS_SECRET_ID`: {0}")]
    Secret(String),
    /// The key secret is malformed.
    #[error("the certificate key secret is unusable: {0}")]
    Keys(#[from] eddsa::KeySetError),
}

/// Where the function keeps things.
#[derive(Debug, Clone)]
pub struct Names {
    /// Registers and issued certificates.
    pub table: String,
    /// The local-tax ledger (read only).
    pub ledger_table: String,
    /// The PDFs.
    pub bucket: String,
    /// The public base URL of the API (the token issuer).
    pub base_url: String,
}

/// The clock, in Unix seconds (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything the function keeps across invocations.
pub struct App {
    db: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    names: Names,
    keys: KeySet,
    jwks: Value,
    auth: Authenticator,
    idempotency: Idempotency,
    cursors: Cursors,
    clock: Clock,
}

impl App {
    /// Builds the app from configuration (`CERTIFICATE_TABLE`, `TAX_LEDGER_TABLE`,
    /// `CERTIFICATE_BUCKET`, `CERTIFICATE_KEYS_SECRET_ID`, `TOKEN_ISSUER`); reads
    /// the signing keys from Secrets Manager (the one network call of start-up).
    /// Access tokens are checked with the issuer's published keys, fetched at the
    /// first request that needs them.
    pub async fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, StartupError> {
        let names = Names {
            table: env.require("CERTIFICATE_TABLE")?,
            ledger_table: env.require("TAX_LEDGER_TABLE")?,
            bucket: env.require("CERTIFICATE_BUCKET")?,
            base_url: env.require("TOKEN_ISSUER")?,
        };
        let secret_id = env.require("CERTIFICATE_KEYS_SECRET_ID")?;
        let auth = Authenticator::remote("TOKEN_ISSUER", &names.base_url)?;
        let secret = shared::aws::secret_string(sdk, &secret_id)
            .await
            .map_err(StartupError::Secret)?;
        let keys = KeySet::from_json(&secret)?;
        Ok(Self::new(
            sdk,
            shared::aws::s3_force_path_style(env),
            names,
            keys,
            auth,
        ))
    }

    /// Builds the app from its parts.
    pub fn new(
        sdk: &SdkConfig,
        s3_path_style: bool,
        names: Names,
        keys: KeySet,
        auth: Authenticator,
    ) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(s3_path_style)
                .build(),
        );
        Self {
            idempotency: Idempotency::new(db.clone(), names.table.clone()),
            cursors: Cursors::new(keys.derive("pocketgov certificate list cursors")),
            jwks: keys.jwks(),
            db,
            s3,
            names,
            keys,
            auth,
            clock: Arc::new(shared::time::now_secs),
        }
    }

    /// Replaces the access-token check (tests: the test stack's keys).
    pub fn with_authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = auth;
        self
    }

    /// Replaces the clock (tests: certificates issued in the past).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The published QR verification keys (JWK Set).
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    fn now(&self) -> DateTime<FixedOffset> {
        kst()
            .timestamp_opt((self.clock)(), 0)
            .single()
            .unwrap_or_else(|| DateTime::<FixedOffset>::MIN_UTC.with_timezone(&kst()))
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        shared::http::serve(
            "certificate",
            req,
            |req| async move { self.route(&req).await },
        )
        .await
    }

    async fn route(&self, req: &Request) -> (&'static str, Result<Response<Body>, ApiError>) {
        let segments = shared::http::segments(req);
        let method = req.method().as_str();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "registers", "lands"]) => {
                ("GET /v1/registers/lands", self.search_lands(req).await)
            }
            ("GET", ["v1", "registers", "lands", pnu]) => {
                ("GET /v1/registers/lands/{pnu}", self.land(req, pnu).await)
            }
            ("GET", ["v1", "registers", "buildings", pnu]) => (
                "GET /v1/registers/buildings/{pnu}",
                self.buildings(req, pnu).await,
            ),
            ("POST", ["v1", "certificates"]) => ("POST /v1/certificates", self.issue(req).await),
            ("GET", ["v1", "certificates"]) => ("GET /v1/certificates", self.list(req).await),
            ("GET", ["v1", "certificates", "keys"]) => {
                ("GET /v1/certificates/keys", Ok(self.keys_document()))
            }
            ("POST", ["v1", "certificates", "verify"]) => {
                ("POST /v1/certificates/verify", self.verify_pdf(req).await)
            }
            ("GET", ["v1", "certificates", no]) => (
                "GET /v1/certificates/{issueNumber}",
                self.get(req, no).await,
            ),
            ("GET", ["v1", "certificates", no, "verification"]) => (
                "GET /v1/certificates/{issueNumber}/verification",
                self.verify_number(no).await,
            ),
            ("POST", ["v1", "certificates", no, "revocation"]) => (
                "POST /v1/certificates/{issueNumber}/revocation",
                self.revoke(req, no).await,
            ),
            ("GET", ["v1", "certificates", no, "verifications"]) => (
                "GET /v1/certificates/{issueNumber}/verifications",
                self.verifications(req, no).await,
            ),
            (_, path) => match allowed_methods(path) {
                Some(allowed) => ("unmatched", Err(shared::http::method_not_allowed(allowed))),
                None => ("unmatched", Err(ApiError::not_found())),
            },
        }
    }

    async fn citizen(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.auth.authenticate(req).await?;
        principal.require_role(Role::Citizen)?;
        Ok(principal)
    }

    async fn search_lands(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        self.citizen(req).await?;
        let params = shared::http::query(req);
        let query = Query::parse(params.first("q")).map_err(|e| field("q", e))?;
        let list = format!("lands:{}", query.normalized());
        let page = self.cursors.page(req, &list)?;
        let limit = usize::try_from(page.limit).unwrap_or(20);
        let (hits, next) =
            registers::search(&self.db, &self.names.table, &query, limit, page.after)
                .await
                .map_err(internal)?;
        let body = self.cursors.page_body(&list, hits, next.as_deref());
        Ok(json(StatusCode::OK, &body))
    }

    async fn land(&self, req: &Request, pnu: &str) -> Result<Response<Body>, ApiError> {
        self.citizen(req).await?;
        let pnu = Pnu::parse(pnu).map_err(|e| field("pnu", e))?;
        let land = self.load_land(&pnu).await?;
        Ok(json(StatusCode::OK, &land))
    }

    async fn load_land(&self, pnu: &Pnu) -> Result<registers::Land, ApiError> {
        registers::land(&self.db, &self.names.table, pnu)
            .await
            .map_err(internal)?
            .ok_or_else(parcel_not_found)
    }

    async fn buildings(&self, req: &Request, pnu: &str) -> Result<Response<Body>, ApiError> {
        self.citizen(req).await?;
        let pnu = Pnu::parse(pnu).map_err(|e| field("pnu", e))?;
        self.load_land(&pnu).await?;
        let items = registers::buildings(&self.db, &self.names.table, &pnu)
            .await
            .map_err(internal)?;
        Ok(json(StatusCode::OK, &Buildings { items }))
    }

    async fn issue(&self, req: &Request) -> Result<Response<Body>, ApiError> {
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

    /// The state of `r` now: `Ok` when it verifies, else the reason.
    fn verdict(&self, r: &Record) -> Result<(), Reason> {
        if r.status == Status::Revoked {
            return Err(Reason::Revoked);
        }
        if self.now() >= expires_at(r) {
            return Err(Reason::Expired);
        }
        Ok(())
    }

    async fn metadata(&self, r: &Record, with_download: bool) -> Result<CertificateView, ApiError> {
        let status = match (self.verdict(r), r.status) {
            (Err(Reason::Expired), _) => CertificateStatus::Expired,
            (_, Status::Issued) => CertificateStatus::Issued,
            (_, Status::Revoked) => CertificateStatus::Revoked,
        };
        let mut view = CertificateView {
            download_expires_at: None,
            download_url: None,
            expires_at: expires_at(r).to_rfc3339(),
            issue_number: r.issue_number.clone(),
            issued_at: r.issued_at.to_rfc3339(),
            revoked_at: r.revoked_at.clone(),
            sha256: r.sha256.clone(),
            status,
            subject: r.subject.clone(),
            kind: r.kind.as_str().to_owned(),
        };
        // Expired PDFs are deleted by the bucket's lifecycle rule.
        if with_download && status != CertificateStatus::Expired {
            let (url, expires) = self.download_url(&r.object_key).await?;
            view.download_url = Some(url);
            view.download_expires_at = Some(expires);
        }
        Ok(view)
    }

    async fn download_url(&self, key: &str) -> Result<(String, String), ApiError> {
        let start = SystemTime::now();
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(Duration::from_secs(DOWNLOAD_URL_SECS))
            .build()
            .map_err(internal)?;
        let presigned = self
            .s3
            .get_object()
            .bucket(&self.names.bucket)
            .key(key)
            .response_content_type("application/pdf")
            .response_content_disposition("inline; filename=\"certificate.pdf\"")
            .presigned(config)
            .await
            .map_err(|e| internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let expires = start
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + DOWNLOAD_URL_SECS;
        let expires = i64::try_from(expires).unwrap_or(i64::MAX);
        Ok((
            presigned.uri().to_owned(),
            kst()
                .timestamp_opt(expires, 0)
                .single()
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ))
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.citizen(req).await?;
        let list = format!("certificates:{}", principal.user_id);
        let page = self.cursors.page(req, &list)?;
        let (entries, next) = store::list(
            &self.db,
            &self.names.table,
            &principal.user_id,
            page.limit,
            page.after,
        )
        .await
        .map_err(internal)?;
        let now = self.now();
        let items: Vec<CertificateEntry> = entries
            .iter()
            .map(|e| {
                let expired = DateTime::parse_from_rfc3339(&e.issued_at)
                    .map(|t| now >= t + chrono::Duration::days(VALIDITY_DAYS as i64))
                    .unwrap_or(false);
                let status = if expired && e.status == Status::Issued.as_str() {
                    CertificateStatus::Expired.as_str()
                } else {
                    e.status.as_str()
                };
                CertificateEntry {
                    issue_number: e.issue_number.clone(),
                    issued_at: e.issued_at.clone(),
                    sha256: e.sha256.clone(),
                    status: status.to_owned(),
                    subject: e.subject.clone(),
                    kind: e.kind.clone(),
                }
            })
            .collect();
        let body = self.cursors.page_body(&list, items, next.as_deref());
        Ok(json(StatusCode::OK, &body))
    }

    /// The record of `no` if `principal` owns it; another citizen's is 404.
    async fn owned(&self, principal: &Principal, no: &str) -> Result<Record, ApiError> {
        let number = IssueNumber::parse(no).map_err(|e| field("issueNumber", e))?;
        let record = store::get(&self.db, &self.names.table, &number.to_string())
            .await
            .map_err(internal)?
            .ok_or_else(ApiError::not_found)?;
        principal.require_owner(&record.owner_id)?;
        Ok(record)
    }

    async fn get(&self, req: &Request, no: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.citizen(req).await?;
        let record = self.owned(&principal, no).await?;
        Ok(json(StatusCode::OK, &self.metadata(&record, true).await?))
    }

    async fn revoke(&self, req: &Request, no: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.citizen(req).await?;
        let record = self.owned(&principal, no).await?;
        let revoked = store::revoke(
            &self.db,
            &self.names.table,
            &record,
            &self.now().to_rfc3339(),
        )
        .await
        .map_err(internal)?;
        Ok(json(StatusCode::OK, &self.metadata(&revoked, false).await?))
    }

    async fn verifications(&self, req: &Request, no: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.citizen(req).await?;
        let record = self.owned(&principal, no).await?;
        let list = format!("checks:{}", record.issue_number);
        let page = self.cursors.page(req, &list)?;
        let (checks, next) = store::checks(
            &self.db,
            &self.names.table,
            &record.issue_number,
            page.limit,
            page.after,
        )
        .await
        .map_err(internal)?;
        let items: Vec<Check> = checks
            .iter()
            .map(|c| Check {
                channel: c.channel.clone(),
                checked_at: c.checked_at.clone(),
                result: c.result.clone(),
            })
            .collect();
        let body = self.cursors.page_body(&list, items, next.as_deref());
        Ok(json(StatusCode::OK, &body))
    }

    async fn verify_number(&self, no: &str) -> Result<Response<Body>, ApiError> {
        let number = IssueNumber::parse(no).map_err(|e| field("issueNumber", e))?;
        let record = store::get(&self.db, &self.names.table, &number.to_string())
            .await
            .map_err(internal)?
            .ok_or_else(ApiError::not_found)?;
        let verdict = self.verdict(&record);
        self.log_check(&record, Channel::Number, verdict).await;
        let body = NumberVerification {
            expires_at: expires_at(&record).to_rfc3339(),
            issue_number: record.issue_number,
            issued_at: record.issued_at.to_rfc3339(),
            reason: verdict.err(),
            sha256: record.sha256,
            subject: record.subject,
            kind: record.kind.as_str().to_owned(),
            valid: verdict.is_ok(),
        };
        Ok(json(StatusCode::OK, &body))
    }

    async fn verify_pdf(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if content_type.as_deref() != Some("application/pdf") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
                "Send the certificate as application/pdf.",
                "증명서를 application/pdf 형식으로 보내십시오.",
            ));
        }
        let bytes = shared::http::body_bytes(req);
        if bytes.len() > MAX_PDF_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.too_large",
                format!("The PDF is larger than {MAX_PDF_BYTES} bytes."),
                format!("PDF가 {MAX_PDF_BYTES}바이트를 넘습니다."),
            ));
        }
        if !bytes.starts_with(b"%PDF-") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "certificate.not_pdf",
                "The body is not a PDF document.",
                "본문이 PDF 문서가 아닙니다.",
            )
            .with_field(
                "body",
                Invalid::new("must be a PDF document", "PDF 문서여야 합니다"),
            ));
        }
        let unknown = || json(StatusCode::OK, &PdfVerification::unknown());
        let Some(number) = pdf::issue_number_in(bytes) else {
            return Ok(unknown());
        };
        let Some(record) = store::get(&self.db, &self.names.table, &number)
            .await
            .map_err(internal)?
        else {
            return Ok(unknown());
        };
        let sha256 = HEXLOWER.encode(&Sha256::digest(bytes));
        let verdict = if sha256 != record.sha256 {
            Err(Reason::Altered)
        } else {
            self.verdict(&record)
        };
        self.log_check(&record, Channel::Pdf, verdict).await;
        let body = match verdict {
            Ok(()) => PdfVerification {
                issue_number: Some(record.issue_number),
                issued_at: Some(record.issued_at.to_rfc3339()),
                reason: None,
                kind: Some(record.kind.as_str().to_owned()),
                valid: true,
            },
            Err(reason) => PdfVerification {
                issue_number: Some(record.issue_number),
                issued_at: None,
                reason: Some(reason),
                kind: None,
                valid: false,
            },
        };
        Ok(json(StatusCode::OK, &body))
    }

    /// Logs a verification for the owner; a failure to log never fails the
    /// verification itself.
    async fn log_check(&self, r: &Record, channel: Channel, verdict: Result<(), Reason>) {
        let result = match verdict {
            Ok(()) => "valid",
            Err(reason) => reason.as_str(),
        };
        if let Err(e) = store::record_check(
            &self.db,
            &self.names.table,
            &r.issue_number,
            channel,
            result,
            self.now(),
        )
        .await
        {
            tracing::error!(error = %e, "could not log a verification");
        }
    }

    fn keys_document(&self) -> Response<Body> {
        let mut response = json(StatusCode::OK, &self.jwks);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        response
    }
}

/// When `r` stops verifying.
fn expires_at(r: &Record) -> DateTime<FixedOffset> {
    r.issued_at + chrono::Duration::days(VALIDITY_DAYS as i64)
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

fn field(name: &str, reason: Invalid) -> ApiError {
    let mut fields = Fields::new();
    fields.check::<()>(name, Err(reason));
    fields.into_error()
}

fn parcel_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "register.parcel_not_found",
        "No parcel has this number.",
        "이 고유번호의 필지가 없습니다.",
    )
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

/// The methods a known path allows (for 405).
fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        ["v1", "registers", "lands"]
        | ["v1", "registers", "lands", _]
        | ["v1", "registers", "buildings", _] => Some("GET"),
        ["v1", "certificates"] => Some("GET, POST"),
        ["v1", "certificates", "verify"] => Some("POST"),
        ["v1", "certificates", _] | ["v1", "certificates", _, "verification" | "verifications"] => {
            Some("GET")
        }
        ["v1", "certificates", _, "revocation"] => Some("POST"),
        _ => None,
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
