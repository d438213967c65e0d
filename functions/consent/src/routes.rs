//! The routes of api.md ("Consent to joint use of administrative
//! information").

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::auth::{Principal, Role};
use shared::events::DomainEvent;
use shared::events::payloads::{ConsentAccessed, ConsentRequested};
use shared::http::{ApiError, Invalid, json, json_body};
use shared::idempotency::Idempotency;

use crate::app::App;
use crate::payload::{SigningFields, sha256_hex, signing_payload};
use crate::request::{AccessBody, ConsentRequest, Document, RequestBody, SignatureBody};
use crate::status::Status;
use crate::store::{Access, ChangeError, Consent, Created, Logged, RequestKey};
use crate::views::{ConsentView, Signed};

/// Scope of the officials who may ask for consent.
pub const SCOPE_REQUEST: &str = "consent:request";

const DAY_MS: i64 = 86_400_000;

type Answer = Result<Response<Body>, ApiError>;

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

    async fn create(&self, req: &Request) -> Answer {
        let p = self.auth.authenticate(req).await?;
        p.require_scope(SCOPE_REQUEST)?;
        // A retried request with the same Idempotency-Key asks once (and texts
        // the citizen once), even when the first one's answer was lost after
        // the consent was stored; the header is optional here.
        if req.headers().contains_key(shared::idempotency::HEADER) {
            let key = Idempotency::key(req)?;
            self.idempotency
                .run(req, &p.user_id, || self.create_once(req, &p, Some(&key)))
                .await
        } else {
            self.create_once(req, &p, None).await
        }
    }

    async fn create_once(&self, req: &Request, p: &Principal, key: Option<&str>) -> Answer {
        let Some(agency) = p.agency.clone() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "consent.agency_required",
                "Your token names no agency; sign in again as an official of an agency.",
                "토큰에 소속 기관이 없습니다. 기관 소속 공무원으로 다시 로그인하세요.",
            ));
        };
        let body: RequestBody = json_body(req)?;
        let asked = ConsentRequest::parse(&body)?;
        let citizen_id = self
            .directory
            .citizen(&asked.citizen_login_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "consent.unknown_citizen",
                    "No citizen signs in with this login id.",
                    "이 로그인 아이디를 쓰는 시민이 없습니다.",
                )
                .with_field(
                    "citizenLoginId",
                    Invalid::new(
                        "is not a citizen's login id",
                        "시민의 로그인 아이디가 아닙니다",
                    ),
                )
            })?;
        let now_ms = self.now_ms();
        // The texts are whole seconds and the expiry agrees with them exactly;
        // the list position keeps the milliseconds, so consents asked within
        // one second still list newest first.
        let requested_secs = now_ms.div_euclid(1000);
        let expires_ms = requested_secs * 1000 + asked.valid_days * DAY_MS;
        let consent_id = shared::random::uuid();
        let documents: Vec<String> = asked
            .documents
            .iter()
            .map(|d| d.as_str().to_owned())
            .collect();
        let requested_at = shared::time::rfc3339(requested_secs);
        let expires_at = shared::time::rfc3339(expires_ms / 1000);
        let signing_payload = signing_payload(&SigningFields {
            consent_id: &consent_id,
            citizen_id: &citizen_id,
            official_id: &p.user_id,
            agency: &agency,
            petition_id: &asked.petition_id,
            petition_name: &asked.petition_name,
            documents: &documents,
            purpose: &asked.purpose,
            requested_at: &requested_at,
            expires_at: &expires_at,
        })
        .map_err(ApiError::internal)?;
        let consent = Consent {
            consent_id,
            citizen_id,
            official_id: p.user_id.clone(),
            agency,
            petition_id: asked.petition_id,
            petition_name: asked.petition_name,
            documents,
            purpose: asked.purpose,
            requested_at,
            requested_ms: now_ms,
            expires_at,
            expires_ms,
            status: Status::Pending,
            version: 1,
            signing_payload,
            signed_at: None,
            device_id: None,
            citizen_signature: None,
            receipt: None,
            ended_at: None,
        };
        let event = DomainEvent::new(
            &consent.citizen_id,
            &ConsentRequested {
                consent_id: consent.consent_id.clone(),
                agency: consent.agency.clone(),
                petition_name: consent.petition_name.clone(),
            },
        )
        .map_err(ApiError::internal)?;
        let fingerprint = Idempotency::fingerprint(req);
        let request = key.map(|key| RequestKey {
            key,
            fingerprint: &fingerprint,
        });
        match self
            .consents
            .create(&consent, &event, request, now_ms)
            .await
            .map_err(ApiError::internal)?
        {
            Created::Now => {
                tracing::info!(consent_id = %consent.consent_id, documents = consent.documents.len(), "consent requested");
                Ok(self.created(&consent))
            }
            // This request, retried after its answer was lost: the consent
            // it made.
            Created::Before {
                consent_id,
                fingerprint: first,
            } if first == fingerprint => {
                let earlier = self
                    .consents
                    .get(&consent_id)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal("the consent of a used key is gone"))?;
                Ok(self.created(&earlier))
            }
            Created::Before { .. } => Err(key_reused()),
        }
    }

    /// 201 with the consent and its Location.
    fn created(&self, consent: &Consent) -> Response<Body> {
        let mut response = self.consent_response(StatusCode::CREATED, consent);
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/consents/{}", consent.consent_id))
        {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
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

    /// The citizen's signature: checked against their registered device key
    /// over exactly the stored payload, then stored with the service's receipt
    /// if the consent is still pending (one conditional write).
    async fn sign(&self, req: &Request, id: &str) -> Answer {
        let p = self.citizen(req).await?;
        let now_ms = self.now_ms();
        p.require_strong(now_ms / 1000)?;
        let current = self.load_for(&p, id).await?;
        let expected = shared::http::if_match(req)?;
        let body: SignatureBody = json_body(req)?;
        let mut fields = shared::http::Fields::new();
        if body.device_id.is_empty() || body.device_id.len() > 64 {
            fields.check::<()>(
                "deviceId",
                Err(Invalid::new(
                    "must be a device id",
                    "기기 아이디여야 합니다",
                )),
            );
        }
        if body.signature.is_empty() || body.signature.len() > 256 {
            fields.check::<()>(
                "signature",
                Err(Invalid::new(
                    "must be a base64url DER ECDSA signature",
                    "base64url DER ECDSA 서명이어야 합니다",
                )),
            );
        }
        if !fields.is_empty() {
            return Err(fields.into_error());
        }
        if expected.is_some_and(|v| v != current.version) {
            return Err(shared::http::precondition_failed());
        }
        let status = current.status_at(now_ms);
        if !status.may_become(Status::Granted) {
            return Err(invalid_transition(status, Status::Granted));
        }
        let key = self
            .directory
            .device_key(&current.citizen_id, &body.device_id)
            .await
            .map_err(ApiError::internal)?;
        let verifies = key.as_deref().is_some_and(|key| {
            shared::auth::verify_device_signature(
                key,
                current.signing_payload.as_bytes(),
                &body.signature,
            )
        });
        if !verifies {
            tracing::info!(consent_id = %current.consent_id, known_device = key.is_some(), "consent signature refused");
            let (field, en, ko) = if key.is_none() {
                (
                    "deviceId",
                    "is not a device you registered",
                    "등록한 기기가 아닙니다",
                )
            } else {
                (
                    "signature",
                    "does not verify over signingPayload with this device's key",
                    "이 기기의 키로 signingPayload에 대해 검증되지 않습니다",
                )
            };
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "consent.bad_signature",
                "The signature does not verify against your registered device.",
                "서명이 등록된 기기의 키로 검증되지 않습니다.",
            )
            .with_field(field, Invalid::new(en, ko)));
        }
        let signed_at = shared::time::rfc3339(now_ms / 1000);
        let receipt = self.keys.sign(&json!({
            "consentId": current.consent_id,
            "signingPayloadSha256": sha256_hex(&current.signing_payload),
            "citizenSignature": body.signature,
            "signedAt": signed_at,
        }));
        let next = Consent {
            status: Status::Granted,
            version: current.version + 1,
            signed_at: Some(signed_at),
            device_id: Some(body.device_id),
            citizen_signature: Some(body.signature),
            receipt: Some(receipt.clone()),
            ..current.clone()
        };
        self.store_change(&current, &next, Status::Granted, now_ms)
            .await?;
        tracing::info!(consent_id = %next.consent_id, "consent granted");
        Ok(shared::http::with_etag(
            json(
                StatusCode::OK,
                &Signed {
                    consent: self.view(&next),
                    receipt,
                },
            ),
            next.version,
        ))
    }

    /// The citizen's refusal (of a pending consent) or revocation (of a
    /// granted one).
    async fn answer(&self, req: &Request, id: &str, to: Status) -> Answer {
        let p = self.citizen(req).await?;
        let current = self.load_for(&p, id).await?;
        if shared::http::if_match(req)?.is_some_and(|v| v != current.version) {
            return Err(shared::http::precondition_failed());
        }
        let now_ms = self.now_ms();
        let status = current.status_at(now_ms);
        if !status.may_become(to) {
            return Err(invalid_transition(status, to));
        }
        let next = Consent {
            status: to,
            version: current.version + 1,
            ended_at: Some(shared::time::rfc3339(now_ms / 1000)),
            ..current.clone()
        };
        self.store_change(&current, &next, to, now_ms).await?;
        tracing::info!(consent_id = %next.consent_id, status = to.as_str(), "consent answered");
        Ok(self.consent_response(StatusCode::OK, &next))
    }

    /// Stores `next` if `current` is still as read; otherwise tells what the
    /// consent became meanwhile (409).
    async fn store_change(
        &self,
        current: &Consent,
        next: &Consent,
        to: Status,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        match self.consents.change(current, next, now_ms).await {
            Ok(()) => Ok(()),
            Err(ChangeError::Changed) => {
                let now = self
                    .consents
                    .get(&current.consent_id)
                    .await
                    .map_err(ApiError::internal)?
                    .map_or(Status::Expired, |c| c.status_at(now_ms));
                Err(invalid_transition(now, to))
            }
            Err(ChangeError::Store(e)) => Err(ApiError::internal(e)),
        }
    }

    /// An official's look-up of one document: allowed only to the asking
    /// official under a granted, unexpired consent that lists the document.
    /// Allowed ones are logged with their event (the citizen is texted);
    /// refused ones are logged without. With an Idempotency-Key (optional, as
    /// for a request), a retry of an allowed look-up whose answer was lost is
    /// answered 204 again (`Idempotent-Replayed: true`) and logged once.
    async fn access(&self, req: &Request, id: &str) -> Answer {
        let p = self.auth.authenticate(req).await?;
        p.require_role(Role::Official)?;
        let key = if req.headers().contains_key(shared::idempotency::HEADER) {
            Some(Idempotency::key(req)?)
        } else {
            None
        };
        let consent = self.load(id).await?;
        let body: AccessBody = json_body(req)?;
        let document = Document::parse(&body.document).map_err(|reason| {
            ApiError::validation(vec![shared::http::FieldError {
                field: "document".into(),
                reason,
            }])
        })?;
        let now_ms = self.now_ms();
        let access = Access {
            document: document.as_str().to_owned(),
            official_id: p.user_id.clone(),
            agency: p.agency.clone().unwrap_or_else(|| consent.agency.clone()),
            accessed_at: shared::time::rfc3339(now_ms / 1000),
            refused: None,
        };
        let refusal = if consent.official_id != p.user_id {
            Some("another-official")
        } else if consent.status_at(now_ms) != Status::Granted {
            Some("not-granted")
        } else if !consent.documents.iter().any(|d| d == document.as_str()) {
            Some("document-not-listed")
        } else {
            None
        };
        if let Some(reason) = refusal {
            // A retry of a look-up that was allowed and logged (the consent
            // since revoked or expired) is that look-up, not a new one.
            if let Some(key) = &key
                && let Some(logged) = self
                    .consents
                    .looked_up(&consent.consent_id, &p.user_id, key, now_ms)
                    .await
                    .map_err(ApiError::internal)?
            {
                return replay_look_up(&logged, &access.document);
            }
            return self.refuse_access(&consent, access, reason, now_ms).await;
        }
        let event = DomainEvent::new(
            &consent.citizen_id,
            &ConsentAccessed {
                consent_id: consent.consent_id.clone(),
                agency: access.agency.clone(),
                document: access.document.clone(),
            },
        )
        .map_err(ApiError::internal)?;
        match self
            .consents
            .log_access(&consent, &access, now_ms, &event, key.as_deref())
            .await
        {
            Ok(Logged::Now) => {
                tracing::info!(consent_id = %consent.consent_id, document = %access.document, "document looked up");
                Ok(shared::http::no_content())
            }
            Ok(Logged::Before { document }) => replay_look_up(&document, &access.document),
            // Revoked (or expired) between the read and the write.
            Err(ChangeError::Changed) => {
                self.refuse_access(&consent, access, "not-granted", now_ms)
                    .await
            }
            Err(ChangeError::Store(e)) => Err(ApiError::internal(e)),
        }
    }

    async fn refuse_access(
        &self,
        consent: &Consent,
        mut access: Access,
        reason: &'static str,
        now_ms: i64,
    ) -> Answer {
        access.refused = Some(reason.to_owned());
        self.consents
            .log_refusal(consent, &access, now_ms)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(consent_id = %consent.consent_id, reason, "look-up refused");
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "consent.not_granted",
            "No granted, unexpired consent of yours covers this document.",
            "이 문서를 포함하는 유효한 동의가 없습니다.",
        ))
    }

    async fn access_log(&self, req: &Request, id: &str) -> Answer {
        let p = self.citizen(req).await?;
        let consent = self.load_for(&p, id).await?;
        let list = format!("access-log:{}", consent.consent_id);
        let page = self.cursors.page(req, &list)?;
        let (entries, next) = self
            .consents
            .access_log(&consent.consent_id, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        Ok(json(
            StatusCode::OK,
            &self.cursors.page_body(&list, entries, next.as_deref()),
        ))
    }
}

/// The answer to a look-up whose Idempotency-Key already logged one of
/// `logged`: 204 again when it is the same document, else 422 (api.md's
/// `idempotency.key_reused`).
fn replay_look_up(logged: &str, document: &str) -> Answer {
    if logged != document {
        return Err(key_reused());
    }
    let mut response = shared::http::no_content();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
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

fn invalid_transition(from: Status, to: Status) -> ApiError {
    let verb = match to {
        Status::Granted => ("be signed", "서명할 수 없습니다"),
        Status::Refused => ("be refused", "거절할 수 없습니다"),
        _ => ("be revoked", "철회할 수 없습니다"),
    };
    ApiError::new(
        StatusCode::CONFLICT,
        "consent.invalid_transition",
        format!("A consent that is {} cannot {}.", from.as_str(), verb.0),
        format!("{} 상태의 동의는 {}.", from.as_str(), verb.1),
    )
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
