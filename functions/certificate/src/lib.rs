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
mod issuing;
pub mod ledger;
pub mod openapi;
pub mod pdf;
pub mod registers;
pub mod store;
mod verification;
pub mod views;

pub use issuing::IssueBody;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, FixedOffset, TimeZone};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::auth::{Principal, Role};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::http::{ApiError, Fields, Invalid, json};
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;

use crate::documents::VALIDITY_DAYS;
use crate::issue_number::IssueNumber;
use crate::registers::{Pnu, Query};
use crate::store::{Record, Status};
use crate::views::{Buildings, CertificateEntry, CertificateStatus, CertificateView, Reason};
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
}

/// When `r` stops verifying.
pub(crate) fn expires_at(r: &Record) -> DateTime<FixedOffset> {
    r.issued_at + chrono::Duration::days(VALIDITY_DAYS as i64)
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
