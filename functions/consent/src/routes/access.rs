//! An official looks a document up under a granted consent (each look-up
//! logged once and texted to the citizen through its event), and the
//! citizen's log of those look-ups.

use lambda_http::Request;
use lambda_http::http::{HeaderValue, StatusCode};
use shared::auth::Role;
use shared::events::DomainEvent;
use shared::events::payloads::ConsentAccessed;
use shared::http::{ApiError, json, json_body};
use shared::idempotency::Idempotency;

use super::{Answer, key_reused};
use crate::app::App;
use crate::request::{AccessBody, Document};
use crate::status::Status;
use crate::store::{Access, ChangeError, Consent, Logged};

impl App {
    /// An official's look-up of one document: allowed only to the asking
    /// official under a granted, unexpired consent that lists the document.
    /// Allowed ones are logged with their event (the citizen is texted);
    /// refused ones are logged without. With an Idempotency-Key (optional, as
    /// for a request), a retry of an allowed look-up whose answer was lost is
    /// answered 204 again (`Idempotent-Replayed: true`) and logged once.
    pub(super) async fn access(&self, req: &Request, id: &str) -> Answer {
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

    pub(super) async fn access_log(&self, req: &Request, id: &str) -> Answer {
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
