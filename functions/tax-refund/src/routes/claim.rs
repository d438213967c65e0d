//! The claim (`POST /v1/tax/refunds`): parsed into types, checked against
//! the citizen's ledger, the account sealed under KMS, and written in one
//! transaction that locks the overpayment and reserves the arrears it
//! offsets; a lost race for a reservation plans again from a fresh read.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::auth::Principal;
use shared::events::payloads::RefundRequested;
use shared::http::{ApiError, Fields, Invalid, json_body};
use shared::idempotency::Idempotency;

use super::{Answer, CLAIM_ATTEMPTS, backoff, busy, event, refund_response};
use crate::App;
use crate::account::{AccountNumber, BankCode, HolderError, check_holder, parse_holder};
use crate::ledger::{self, Overpayment};
use crate::records::Book;
use crate::refunds::{ClaimError, Refund};
use crate::request::ClaimBody;
use crate::status::Status;
use crate::vault::Binding;

impl App {
    pub(super) async fn claim(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        principal.require_strong(self.now())?;
        let key = Idempotency::key(req)?;
        self.idempotency
            .run(req, &principal.user_id, || {
                self.claim_once(req, &principal, &key)
            })
            .await
    }

    /// The refund this citizen's claim with `key` already made of
    /// `refundable_id`, if that is what claimed it: the claim's write happened
    /// and its answer was lost (the SDK's retry then met its own write, or the
    /// client retried after a 5xx).
    async fn own_claim(
        &self,
        book: &Book,
        principal: &Principal,
        refundable_id: &str,
        key: &str,
    ) -> Result<Option<Refund>, ApiError> {
        let Some(lock) = book
            .claims
            .iter()
            .find(|c| c.refundable_id == refundable_id)
        else {
            return Ok(None);
        };
        let refund = self
            .refunds
            .get(&lock.refund_id)
            .await
            .map_err(ApiError::internal)?;
        Ok(
            refund
                .filter(|r| r.user_id == principal.user_id && r.claim_key.as_deref() == Some(key)),
        )
    }

    async fn claim_once(&self, req: &Request, principal: &Principal, key: &str) -> Answer {
        let body: ClaimBody = json_body(req)?;
        let mut fields = Fields::new();
        let refundable_id = fields.check(
            "refundableId",
            Some(body.refundable_id.trim())
                .filter(|id| (1..=64).contains(&id.len()))
                .ok_or_else(|| {
                    Invalid::new(
                        "is required: an id from /v1/tax/refunds/eligible",
                        "필수입니다: /v1/tax/refunds/eligible의 id",
                    )
                }),
        );
        let bank = fields.check("bankCode", BankCode::parse(&body.bank_code));
        let account = fields.check("accountNumber", AccountNumber::parse(&body.account_number));
        let holder = fields.check("accountHolder", parse_holder(&body.account_holder));
        let (Some(refundable_id), Some(bank), Some(account), Some(holder)) =
            (refundable_id, bank, account, holder)
        else {
            return Err(fields.into_error());
        };
        let today = self.today();
        let unknown = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "refund.not_refundable",
                "You have no overpayment with this id; see /v1/tax/refunds/eligible.",
                "이 id의 과오납금이 없습니다. /v1/tax/refunds/eligible을 확인하세요.",
            )
            .with_field(
                "refundableId",
                Invalid::new(
                    "is not one of your overpayments",
                    "본인의 과오납금이 아닙니다",
                ),
            )
        };
        let mut book = self.book(&principal.user_id).await?.ok_or_else(unknown)?;
        if let Err(HolderError::NotTheCitizen) = check_holder(holder, &book.profile.name) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund.account_holder_mismatch",
                "Refunds are paid only into an account in your own name.",
                "환급금은 본인 명의 계좌로만 받을 수 있습니다.",
            )
            .with_field(
                "accountHolder",
                Invalid::new(
                    "must be your registered name",
                    "등록된 본인 이름이어야 합니다",
                ),
            ));
        }
        let refund_id = shared::random::uuid();
        let sealed = self
            .vault
            .seal(
                &account,
                Binding {
                    refund_id: &refund_id,
                    user_id: &principal.user_id,
                },
            )
            .await
            .map_err(ApiError::internal)?;
        for attempt in 0..CLAIM_ATTEMPTS {
            if book.is_claimed(refundable_id) {
                return match self.own_claim(&book, principal, refundable_id, key).await? {
                    Some(refund) => Ok(created(&refund)),
                    None => Err(already_claimed()),
                };
            }
            let overpayment = claimable(&book, refundable_id, today).ok_or_else(unknown)?;
            let offsets = ledger::plan_offsets(&book.arrears(today), overpayment.amount_krw);
            let offset_krw: i64 = offsets.iter().map(|o| o.krw).sum();
            let now = shared::time::rfc3339(self.now());
            let refund = Refund {
                refund_id: refund_id.clone(),
                user_id: principal.user_id.clone(),
                citizen_name: book.profile.name.clone(),
                refundable_id: overpayment.refundable_id.clone(),
                bill_id: overpayment.bill_id.clone(),
                amount_krw: overpayment.amount_krw,
                offset_krw,
                payable_krw: overpayment.amount_krw - offset_krw,
                offsets,
                status: Status::Requested,
                bank_code: bank.code().to_owned(),
                account_masked: account.masked(),
                account_ciphertext: sealed.clone(),
                version: 1,
                created_at: now.clone(),
                created_ms: self.now_ms(),
                updated_at: now,
                reason: None,
                decided_by: None,
                decided_at: None,
                paid_by: None,
                paid_at: None,
                claim_key: Some(key.to_owned()),
            };
            let event = event(
                &refund,
                &RefundRequested {
                    refund_id: refund.refund_id.clone(),
                    amount_krw: refund.amount_krw,
                    offset_krw: refund.offset_krw,
                    payable_krw: refund.payable_krw,
                },
            )?;
            match self
                .refunds
                .claim(&self.records, &book, &refund, &event)
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        refund_id = %refund.refund_id,
                        refundable_id = %refund.refundable_id,
                        amount_krw = refund.amount_krw,
                        offset_krw = refund.offset_krw,
                        attempt,
                        "refund claimed"
                    );
                    return Ok(created(&refund));
                }
                Err(ClaimError::AlreadyClaimed) => {
                    // Perhaps by this very claim (a retried write whose first
                    // answer was lost): read again and see.
                    book = self.book(&principal.user_id).await?.ok_or_else(unknown)?;
                }
                Err(ClaimError::Moved) => {
                    // Another claim of this citizen reserved arrears first:
                    // read again and offset what is still open.
                    tokio::time::sleep(backoff(attempt)).await;
                    book = self.book(&principal.user_id).await?.ok_or_else(unknown)?;
                }
                Err(ClaimError::Store(e)) => return Err(ApiError::internal(e)),
            }
        }
        Err(busy())
    }
}

/// 201 with the refund and its Location.
fn created(refund: &Refund) -> Response<Body> {
    let mut response = refund_response(StatusCode::CREATED, refund);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/tax/refunds/{}", refund.refund_id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The overpayment `refundable_id` if it may be claimed on `today`.
fn claimable(book: &Book, refundable_id: &str, today: chrono::NaiveDate) -> Option<Overpayment> {
    ledger::overpayments(&book.ledger_bills(), today)
        .into_iter()
        .find(|o| o.refundable_id == refundable_id)
}

fn already_claimed() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "refund.already_claimed",
        "This overpayment has been claimed already.",
        "이 과오납금은 이미 환급 신청되었습니다.",
    )
}
