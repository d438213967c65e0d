//! An official asks for consent (`POST /v1/consents`): the request checked,
//! the payload the citizen will sign fixed, and the consent stored with its
//! `consent.requested` event, at most once per Idempotency-Key.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::auth::Principal;
use shared::events::DomainEvent;
use shared::events::payloads::ConsentRequested;
use shared::http::{ApiError, Invalid, json_body};
use shared::idempotency::Idempotency;

use super::{Answer, DAY_MS, SCOPE_REQUEST, key_reused};
use crate::app::App;
use crate::payload::{SigningFields, signing_payload};
use crate::request::{ConsentRequest, RequestBody};
use crate::status::Status;
use crate::store::{Consent, Created, RequestKey};

impl App {
    pub(super) async fn create(&self, req: &Request) -> Answer {
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
}
