//! The officials' steps: the decision (approve, or reject with a reason)
//! and the payment, each with If-Match, each one transaction whose
//! conditions are the refund's version and status (and, for a rejection or
//! a payment, the ledger's reservations).

use lambda_http::Request;
use lambda_http::http::StatusCode;
use shared::auth::Principal;
use shared::events::payloads::{RefundApproved, RefundPaid, RefundRejected};
use shared::http::{ApiError, Fields, Invalid, json_body};

use super::{Answer, CLAIM_ATTEMPTS, MAX_REASON_CHARS, backoff, busy, event, refund_response};
use crate::App;
use crate::records::Book;
use crate::refunds::{ChangeError, Refund};
use crate::request::{DecisionBody, PaymentBody};
use crate::status::Action;
use crate::vault::Binding;

impl App {
    pub(super) async fn decide(&self, req: &Request, id: &str) -> Answer {
        let principal = self.reviewer(req).await?;
        let current = self.load(id).await?;
        let version = shared::http::require_if_match(req)?;
        let body: DecisionBody = json_body(req)?;
        let mut fields = Fields::new();
        let action = fields.check(
            "decision",
            match body.decision.as_str() {
                "approve" => Ok(Action::Approve),
                "reject" => Ok(Action::Reject),
                _ => Err(Invalid::new(
                    "must be approve or reject",
                    "approve 또는 reject여야 합니다",
                )),
            },
        );
        let reason = body.reason.as_deref().map(str::trim).unwrap_or_default();
        let reason = fields.check(
            "reason",
            if reason.chars().count() > MAX_REASON_CHARS {
                Err(Invalid::new(
                    "must be at most 500 characters",
                    "500자 이하여야 합니다",
                ))
            } else if reason.is_empty() && action == Some(Action::Reject) {
                Err(Invalid::new(
                    "is required to reject: the citizen is told why",
                    "반려하려면 필수입니다: 시민에게 사유가 안내됩니다",
                ))
            } else {
                Ok((!reason.is_empty()).then(|| reason.to_owned()))
            },
        );
        let (Some(action), Some(reason)) = (action, reason) else {
            return Err(fields.into_error());
        };
        let mut current = current;
        for attempt in 0..CLAIM_ATTEMPTS {
            let next = self.transition(&current, version, action, &principal)?;
            let next = Refund {
                reason: reason.clone(),
                ..next
            };
            let event = match action {
                Action::Reject => event(
                    &next,
                    &RefundRejected {
                        refund_id: next.refund_id.clone(),
                        reason: reason.clone().unwrap_or_default(),
                    },
                )?,
                _ => event(
                    &next,
                    &RefundApproved {
                        refund_id: next.refund_id.clone(),
                        payable_krw: next.payable_krw,
                    },
                )?,
            };
            let book = self.ledger_of(&current).await?;
            match self
                .refunds
                .decide(&self.records, &book, &current, &next, &event)
                .await
            {
                Ok(()) => {
                    tracing::info!(refund_id = %next.refund_id, status = next.status.as_str(), "refund decided");
                    return Ok(refund_response(StatusCode::OK, &next));
                }
                Err(ChangeError::Changed) => {
                    current = self.load(id).await?;
                    // This very change, applied by a write whose answer was
                    // lost (the SDK's retry then failed its condition).
                    if is_own(&current, &next) {
                        return Ok(refund_response(StatusCode::OK, &current));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(ChangeError::Store(e)) => return Err(ApiError::internal(e)),
            }
        }
        Err(busy())
    }

    pub(super) async fn pay(&self, req: &Request, id: &str) -> Answer {
        let principal = self.reviewer(req).await?;
        let mut current = self.load(id).await?;
        let version = shared::http::require_if_match(req)?;
        let body = shared::http::body_bytes(req);
        if !body.iter().all(u8::is_ascii_whitespace) {
            let _: PaymentBody = json_body(req)?;
        }
        for attempt in 0..CLAIM_ATTEMPTS {
            let next = self.transition(&current, version, Action::Pay, &principal)?;
            // The one place the account number is decrypted: the transfer
            // order to the treasury's bank. It is checked against what the
            // citizen was shown and never leaves this function's memory.
            let account = self
                .vault
                .open(
                    &current.account_ciphertext,
                    Binding {
                        refund_id: &current.refund_id,
                        user_id: &current.user_id,
                    },
                )
                .await
                .map_err(ApiError::internal)?;
            if account.masked() != current.account_masked {
                return Err(ApiError::internal(
                    "the decrypted account does not match the refund",
                ));
            }
            let event = event(
                &next,
                &RefundPaid {
                    refund_id: next.refund_id.clone(),
                    payable_krw: next.payable_krw,
                    bank_code: next.bank_code.clone(),
                },
            )?;
            let book = self.ledger_of(&current).await?;
            match self
                .refunds
                .pay(&self.records, &book, &current, &next, &event, self.today())
                .await
            {
                Ok(()) => {
                    tracing::info!(refund_id = %next.refund_id, payable_krw = next.payable_krw, offset_krw = next.offset_krw, "refund paid");
                    return Ok(refund_response(StatusCode::OK, &next));
                }
                Err(ChangeError::Changed) => {
                    current = self.load(id).await?;
                    // This very change, applied by a write whose answer was
                    // lost (the SDK's retry then failed its condition).
                    if is_own(&current, &next) {
                        return Ok(refund_response(StatusCode::OK, &current));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(ChangeError::Store(e)) => return Err(ApiError::internal(e)),
            }
        }
        Err(busy())
    }

    /// The refund after `action`, if `current` is at `version` and allows it.
    fn transition(
        &self,
        current: &Refund,
        version: u64,
        action: Action,
        principal: &Principal,
    ) -> Result<Refund, ApiError> {
        if current.version != version {
            return Err(shared::http::precondition_failed());
        }
        let Some(status) = current.status.after(action) else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "refund.invalid_transition",
                format!(
                    "A refund that is {} cannot be {}.",
                    current.status.as_str(),
                    action.done()
                ),
                format!(
                    "{} 상태의 환급은 {} 수 없습니다.",
                    current.status.korean(),
                    action.korean()
                ),
            ));
        };
        let now = shared::time::rfc3339(self.now());
        let mut next = Refund {
            status,
            version: current.version + 1,
            updated_at: now.clone(),
            ..current.clone()
        };
        match action {
            Action::Pay => {
                next.paid_by = Some(principal.user_id.clone());
                next.paid_at = Some(now);
            }
            Action::Approve | Action::Reject => {
                next.decided_by = Some(principal.user_id.clone());
                next.decided_at = Some(now);
            }
        }
        Ok(next)
    }

    async fn ledger_of(&self, refund: &Refund) -> Result<Book, ApiError> {
        self.book(&refund.user_id).await?.ok_or_else(|| {
            ApiError::internal(format!(
                "refund {} has no taxpayer in the ledger",
                refund.refund_id
            ))
        })
    }
}

/// Whether `stored` is `next` as this request wrote it: the same transition
/// (version, status, time) by the same official.
fn is_own(stored: &Refund, next: &Refund) -> bool {
    stored.version == next.version
        && stored.status == next.status
        && stored.updated_at == next.updated_at
        && stored.decided_by == next.decided_by
        && stored.paid_by == next.paid_by
}
