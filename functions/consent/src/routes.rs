//! The routes of api.md ("Consent to joint use of administrative
//! information").

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::auth::{Principal, Role};
use shared::http::{ApiError, json};

use crate::app::App;
use crate::status::Status;
use crate::store::Consent;
use crate::views::ConsentView;

/// Scope of the officials who may ask for consent.
pub const SCOPE_REQUEST: &str = "consent:request";

const DAY_MS: i64 = 86_400_000;

type Answer = Result<Response<Body>, ApiError>;

mod access;
mod answer;
mod ask;

impl App {
    pub(crate) async fn route(&self, req: &Request) -> (&'static str, Answer) {
        let segments = shared::http::segments(req);
        match (req.method().as_str(), segments.as_slice()) {
            ("POST", ["v1", "consents"]) => ("POST /v1/consents", self.create(req).await),
            ("GET", ["v1", "consents"]) => ("GET /v1/consents", self.list(req).await),
            ("GET", ["v1", "consents", "keys"]) => ("GET /v1/consents/keys", Ok(self.keys())),
            ("GET", ["v1", "consents", id]) => {
                ("GET /v1/consents/{consentId}", self.get(req, id).await)
            }
            ("POST", ["v1", "consents", id, "signature"]) => (
                "POST /v1/consents/{consentId}/signature",
                self.sign(req, id).await,
            ),
            ("POST", ["v1", "consents", id, "refusal"]) => (
                "POST /v1/consents/{consentId}/refusal",
                self.answer(req, id, Status::Refused).await,
            ),
            ("POST", ["v1", "consents", id, "revocation"]) => (
                "POST /v1/consents/{consentId}/revocation",
                self.answer(req, id, Status::Revoked).await,
            ),
            ("POST", ["v1", "consents", id, "access"]) => (
                "POST /v1/consents/{consentId}/access",
                self.access(req, id).await,
            ),
            ("GET", ["v1", "consents", id, "access-log"]) => (
                "GET /v1/consents/{consentId}/access-log",
                self.access_log(req, id).await,
            ),
            (_, path) => match allowed_methods(path) {
                Some(allowed) => ("unmatched", Err(shared::http::method_not_allowed(allowed))),
                None => ("unmatched", Err(ApiError::not_found())),
            },
        }
    }

    fn keys(&self) -> Response<Body> {
        let mut response = json(StatusCode::OK, &self.jwks());
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        response
    }

    async fn citizen(&self, req: &Request) -> Result<Principal, ApiError> {
        let p = self.auth.authenticate(req).await?;
        p.require_role(Role::Citizen)?;
        Ok(p)
    }

    /// The consent `id`; 404 when it does not exist.
    async fn load(&self, id: &str) -> Result<Consent, ApiError> {
        if !is_uuid(id) {
            return Err(ApiError::not_found());
        }
        self.consents
            .get(id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)
    }

    /// The consent `id` if `p` is its citizen or its official (else 404:
    /// nobody else learns that it exists).
    async fn load_for(&self, p: &Principal, id: &str) -> Result<Consent, ApiError> {
        let consent = self.load(id).await?;
        let party = match p.role {
            Role::Citizen => &consent.citizen_id,
            Role::Official => &consent.official_id,
        };
        if *party == p.user_id {
            Ok(consent)
        } else {
            Err(ApiError::not_found())
        }
    }

    fn view(&self, c: &Consent) -> ConsentView {
        view(c, self.now_ms())
    }

    fn consent_response(&self, status: StatusCode, c: &Consent) -> Response<Body> {
        shared::http::with_etag(json(status, &self.view(c)), c.version)
    }

    async fn list(&self, req: &Request) -> Answer {
        let p = self.auth.authenticate(req).await?;
        let query = shared::http::query(req);
        let status = match query.first("status") {
            None => None,
            Some(s) => Some(Status::parse(s).map_err(|reason| {
                ApiError::validation(vec![shared::http::FieldError {
                    field: "status".into(),
                    reason,
                }])
            })?),
        };
        let by_official = p.role == Role::Official;
        let list = format!(
            "consents:{}:{}:{}",
            if by_official { "official" } else { "citizen" },
            p.user_id,
            status.map_or("all", Status::as_str)
        );
        let page = self.cursors.page(req, &list)?;
        let now_ms = self.now_ms();
        let (consents, next) = self
            .consents
            .list(
                &p.user_id,
                by_official,
                status,
                now_ms,
                page.limit,
                page.after,
            )
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<ConsentView> = consents.iter().map(|c| view(c, now_ms)).collect();
        Ok(json(
            StatusCode::OK,
            &self.cursors.page_body(&list, items, next.as_deref()),
        ))
    }

    async fn get(&self, req: &Request, id: &str) -> Answer {
        let p = self.auth.authenticate(req).await?;
        let consent = self.load_for(&p, id).await?;
        Ok(self.consent_response(StatusCode::OK, &consent))
    }
}

/// 422 `idempotency.key_reused` (api.md, conventions).
fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency.key_reused",
        "This Idempotency-Key was already used with a different request.",
        "이 Idempotency-Key는 다른 요청에 이미 사용되었습니다.",
    )
}

/// A consent as api.md shows it, with its status at `now_ms`.
fn view(c: &Consent, now_ms: i64) -> ConsentView {
    ConsentView {
        consent_id: c.consent_id.clone(),
        status: c.status_at(now_ms),
        citizen_id: c.citizen_id.clone(),
        official_id: c.official_id.clone(),
        agency: c.agency.clone(),
        petition_id: c.petition_id.clone(),
        petition_name: c.petition_name.clone(),
        documents: c.documents.clone(),
        purpose: c.purpose.clone(),
        requested_at: c.requested_at.clone(),
        expires_at: c.expires_at.clone(),
        signed_at: c.signed_at.clone(),
        receipt: c.receipt.clone(),
        version: c.version,
        signing_payload: c.signing_payload.clone(),
    }
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        ["v1", "consents"] => Some("GET, POST"),
        ["v1", "consents", _] | ["v1", "consents", _, "access-log"] => Some("GET"),
        [
            "v1",
            "consents",
            _,
            "signature" | "refusal" | "revocation" | "access",
        ] => Some("POST"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_name_the_allowed_ones() {
        assert_eq!(allowed_methods(&["v1", "consents"]), Some("GET, POST"));
        assert_eq!(
            allowed_methods(&["v1", "consents", "x", "access"]),
            Some("POST")
        );
        assert_eq!(allowed_methods(&["v1", "consentz"]), None);
    }
}
