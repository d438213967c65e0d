//! Checking a certificate: by issue number, by the PDF's bytes (its SHA-256),
//! the owner's log of checks, and the public keys of the QR code's signature.

use data_encoding::HEXLOWER;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use shared::http::{ApiError, Invalid, json};

use crate::issue_number::IssueNumber;
use crate::store::{self, Channel, Record, Status};
use crate::views::{Check, NumberVerification, PdfVerification, Reason};
use crate::{App, MAX_PDF_BYTES, expires_at, field, internal, pdf};

impl App {
    /// The state of `r` now: `Ok` when it verifies, else the reason.
    pub(crate) fn verdict(&self, r: &Record) -> Result<(), Reason> {
        if r.status == Status::Revoked {
            return Err(Reason::Revoked);
        }
        if self.now() >= expires_at(r) {
            return Err(Reason::Expired);
        }
        Ok(())
    }

    pub(crate) async fn verifications(
        &self,
        req: &Request,
        no: &str,
    ) -> Result<Response<Body>, ApiError> {
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

    pub(crate) async fn verify_number(&self, no: &str) -> Result<Response<Body>, ApiError> {
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

    pub(crate) async fn verify_pdf(&self, req: &Request) -> Result<Response<Body>, ApiError> {
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

    pub(crate) fn keys_document(&self) -> Response<Body> {
        let mut response = json(StatusCode::OK, &self.jwks);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        response
    }
}
