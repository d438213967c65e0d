//! The citizen answers: a signature over exactly the stored payload (granted),
//! a refusal of a pending consent, or the revocation of a granted one.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::http::{ApiError, Invalid, json, json_body};

use super::Answer;
use crate::app::App;
use crate::payload::sha256_hex;
use crate::request::SignatureBody;
use crate::status::Status;
use crate::store::{ChangeError, Consent};
use crate::views::Signed;

impl App {
    /// The citizen's signature: checked against their registered device key
    /// over exactly the stored payload, then stored with the service's receipt
    /// if the consent is still pending (one conditional write).
    pub(super) async fn sign(&self, req: &Request, id: &str) -> Answer {
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
    pub(super) async fn answer(&self, req: &Request, id: &str, to: Status) -> Answer {
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
