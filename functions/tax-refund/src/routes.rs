//! The routes of api.md ("Local-tax refunds"): handlers parse the request
//! into types, authorise, call the store and map the result.

use std::time::Duration;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::{Principal, Role};
use shared::events::DomainEvent;
use shared::events::payloads::{RefundApproved, RefundPaid, RefundRejected, RefundRequested};
use shared::http::{ApiError, Fields, Invalid, json, json_body};
use shared::idempotency::Idempotency;

use crate::App;
use crate::account::{AccountNumber, BankCode, HolderError, check_holder, parse_holder};
use crate::ledger::{self, Overpayment};
use crate::records::Book;
use crate::refunds::{ChangeError, ClaimError, Refund};
use crate::status::{Action, Status};
use crate::vault::Binding;

/// Scope of the officials who review and pay refunds.
pub const SCOPE_REVIEW: &str = "tax:review";

/// How often a claim plans again when other claims reserved the arrears it
/// planned to offset first.
const CLAIM_ATTEMPTS: u32 = 6;

/// The longest reason an official may give.
const MAX_REASON_CHARS: usize = 500;

type Answer = Result<Response<Body>, ApiError>;

impl App {
    pub(crate) async fn route(&self, req: &Request) -> (&'static str, Answer) {
        let segments = shared::http::segments(req);
        let method = req.method().as_str();
        match (method, segments.as_slice()) {
            ("GET", ["v1", "tax", "bills"]) => ("GET /v1/tax/bills", self.bills(req).await),
            ("GET", ["v1", "tax", "refunds", "eligible"]) => {
                ("GET /v1/tax/refunds/eligible", self.eligible(req).await)
            }
            ("POST", ["v1", "tax", "refunds"]) => ("POST /v1/tax/refunds", self.claim(req).await),
            ("GET", ["v1", "tax", "refunds"]) => ("GET /v1/tax/refunds", self.mine(req).await),
            ("GET", ["v1", "tax", "refunds", id]) => {
                ("GET /v1/tax/refunds/{refundId}", self.get(req, id).await)
            }
            ("POST", ["v1", "tax", "refunds", id, "decision"]) => (
                "POST /v1/tax/refunds/{refundId}/decision",
                self.decide(req, id).await,
            ),
            ("POST", ["v1", "tax", "refunds", id, "payment"]) => (
                "POST /v1/tax/refunds/{refundId}/payment",
                self.pay(req, id).await,
            ),
            ("GET", ["v1", "tax", "review"]) => ("GET /v1/tax/review", self.review(req).await),
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

    async fn reviewer(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.auth.authenticate(req).await?;
        principal.require_scope(SCOPE_REVIEW)?;
        Ok(principal)
    }

    async fn book(&self, user_id: &str) -> Result<Option<Book>, ApiError> {
        self.records.book(user_id).await.map_err(ApiError::internal)
    }

    async fn bills(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        let query = shared::http::query(req);
        let mut fields = Fields::new();
        let year = fields.check(
            "year",
            query
                .first("year")
                .map(|y| {
                    y.parse::<i32>()
                        .ok()
                        .filter(|y| (1990..=2100).contains(y))
                        .ok_or_else(|| {
                            Invalid::new(
                                "must be a year such as 2024",
                                "2024와 같은 연도여야 합니다",
                            )
                        })
                })
                .transpose(),
        );
        let cursors = self.cursors().await?;
        let list = format!("tax:bills:{}", principal.user_id);
        let page = page_fields(&mut fields, cursors.page(req, &list));
        let (Some(year), Some(page)) = (year, page) else {
            return Err(fields.into_error());
        };
        let today = self.today();
        let items: Vec<(String, Value)> = match self.book(&principal.user_id).await? {
            None => Vec::new(),
            Some(book) => book
                .bills
                .iter()
                .filter(|b| year.is_none_or(|y| b.item.year == y))
                .map(|b| {
                    let i = &b.item;
                    let view = json!({
                        "billId": i.bill_id,
                        "taxType": i.tax_type,
                        "taxName": i.tax_name,
                        "year": i.year,
                        "period": i.period,
                        "authority": i.authority,
                        "amountKrw": i.amount_krw,
                        "paidKrw": b.paid_krw(),
                        "dueDate": i.due_date.to_string(),
                        "status": b.status(today).as_str(),
                    });
                    (i.bill_id.clone(), view)
                })
                .collect(),
        };
        Ok(json(StatusCode::OK, &paged(cursors, &list, items, &page)))
    }

    async fn eligible(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        let cursors = self.cursors().await?;
        let list = format!("tax:eligible:{}", principal.user_id);
        let page = cursors.page(req, &list)?;
        let items = match self.book(&principal.user_id).await? {
            None => Vec::new(),
            Some(book) => open_overpayments(&book, self.today())
                .into_iter()
                .map(|o| (o.refundable_id.clone(), overpayment_view(&o)))
                .collect(),
        };
        Ok(json(StatusCode::OK, &paged(cursors, &list, items, &page)))
    }

    async fn claim(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        principal.require_strong(self.now())?;
        Idempotency::key(req)?;
        self.idempotency
            .run(req, &principal.user_id, || self.claim_once(req, &principal))
            .await
    }

    async fn claim_once(&self, req: &Request, principal: &Principal) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct ClaimBody {
            refundable_id: String,
            bank_code: String,
            account_number: String,
            account_holder: String,
        }
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
                return Err(already_claimed());
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
                    let mut response = refund_response(StatusCode::CREATED, &refund);
                    if let Ok(location) =
                        HeaderValue::from_str(&format!("/v1/tax/refunds/{}", refund.refund_id))
                    {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    return Ok(response);
                }
                Err(ClaimError::AlreadyClaimed) => return Err(already_claimed()),
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

    async fn mine(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        let cursors = self.cursors().await?;
        let list = format!("tax:refunds:{}", principal.user_id);
        let page = cursors.page(req, &list)?;
        let (refunds, next) = self
            .refunds
            .of_citizen(&principal.user_id, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<Value> = refunds.iter().map(Refund::view).collect();
        Ok(json(
            StatusCode::OK,
            &cursors.page_body(&list, items, next.as_deref()),
        ))
    }

    async fn review(&self, req: &Request) -> Answer {
        self.reviewer(req).await?;
        let query = shared::http::query(req);
        let mut fields = Fields::new();
        let status = fields.check(
            "status",
            match query.first("status") {
                None => Ok(Status::Requested),
                Some(s) => Status::parse(s),
            },
        );
        let cursors = self.cursors().await?;
        let list = format!(
            "tax:review:{}",
            status.unwrap_or(Status::Requested).as_str()
        );
        let page = page_fields(&mut fields, cursors.page(req, &list));
        let (Some(status), Some(page)) = (status, page) else {
            return Err(fields.into_error());
        };
        let (refunds, next) = self
            .refunds
            .in_status(status, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<Value> = refunds.iter().map(Refund::review_view).collect();
        Ok(json(
            StatusCode::OK,
            &cursors.page_body(&list, items, next.as_deref()),
        ))
    }

    async fn load(&self, id: &str) -> Result<Refund, ApiError> {
        if !is_refund_id(id) {
            return Err(ApiError::not_found());
        }
        self.refunds
            .get(id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)
    }

    async fn get(&self, req: &Request, id: &str) -> Answer {
        let principal = self.auth.authenticate(req).await?;
        if principal.role == Role::Official {
            principal.require_scope(SCOPE_REVIEW)?;
            let refund = self.load(id).await?;
            return Ok(shared::http::with_etag(
                json(StatusCode::OK, &refund.review_view()),
                refund.version,
            ));
        }
        let refund = self.load(id).await?;
        principal.require_owner(&refund.user_id)?;
        Ok(refund_response(StatusCode::OK, &refund))
    }

    async fn decide(&self, req: &Request, id: &str) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct DecisionBody {
            decision: String,
            reason: Option<String>,
        }
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
                    tokio::time::sleep(backoff(attempt)).await;
                    current = self.load(id).await?;
                }
                Err(ChangeError::Store(e)) => return Err(ApiError::internal(e)),
            }
        }
        Err(busy())
    }

    async fn pay(&self, req: &Request, id: &str) -> Answer {
        let principal = self.reviewer(req).await?;
        let mut current = self.load(id).await?;
        let version = shared::http::require_if_match(req)?;
        let body = shared::http::body_bytes(req);
        if !body.iter().all(u8::is_ascii_whitespace) {
            let _: EmptyBody = json_body(req)?;
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
                    tokio::time::sleep(backoff(attempt)).await;
                    current = self.load(id).await?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyBody {}

/// The open overpayments of `book` on `today`: claimable and not claimed.
fn open_overpayments(book: &Book, today: chrono::NaiveDate) -> Vec<Overpayment> {
    ledger::overpayments(&book.ledger_bills(), today)
        .into_iter()
        .filter(|o| !book.is_claimed(&o.refundable_id))
        .collect()
}

/// The overpayment `refundable_id` if it may be claimed on `today`.
fn claimable(book: &Book, refundable_id: &str, today: chrono::NaiveDate) -> Option<Overpayment> {
    ledger::overpayments(&book.ledger_bills(), today)
        .into_iter()
        .find(|o| o.refundable_id == refundable_id)
}

fn overpayment_view(o: &Overpayment) -> Value {
    json!({
        "refundableId": o.refundable_id,
        "billId": o.bill_id,
        "amountKrw": o.amount_krw,
        "reason": o.reason.as_str(),
        "paidOn": o.paid_on.to_string(),
        "claimableUntil": o.claimable_until.to_string(),
    })
}

/// A page of an in-memory list of `(position, item)`, in order.
fn paged(
    cursors: &shared::cursor::Cursors,
    list: &str,
    items: Vec<(String, Value)>,
    page: &shared::cursor::PageRequest,
) -> Value {
    let start = match &page.after {
        Some(after) => items
            .iter()
            .position(|(id, _)| id == after)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let limit = usize::try_from(page.limit).unwrap_or(1);
    let rest = &items[start.min(items.len())..];
    let shown: Vec<&Value> = rest.iter().take(limit).map(|(_, v)| v).collect();
    let next = (rest.len() > limit)
        .then(|| rest.get(limit - 1).map(|(id, _)| id.as_str()))
        .flatten();
    cursors.page_body(list, shown, next)
}

/// The page request, or its field errors added to `fields`.
fn page_fields(
    fields: &mut Fields,
    page: Result<shared::cursor::PageRequest, ApiError>,
) -> Option<shared::cursor::PageRequest> {
    match page {
        Ok(page) => Some(page),
        Err(e) => {
            for f in e.errors() {
                fields.check::<()>(&f.field, Err(f.reason.clone()));
            }
            None
        }
    }
}

fn event<P: shared::events::Payload>(
    refund: &Refund,
    payload: &P,
) -> Result<DomainEvent, ApiError> {
    DomainEvent::new(&refund.user_id, payload).map_err(ApiError::internal)
}

fn refund_response(status: StatusCode, refund: &Refund) -> Response<Body> {
    shared::http::with_etag(json(status, &refund.view()), refund.version)
}

fn already_claimed() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "refund.already_claimed",
        "This overpayment has been claimed already.",
        "이 과오납금은 이미 환급 신청되었습니다.",
    )
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "refund.busy",
        "Too many changes to this refund at once; try again.",
        "동시에 처리 중인 요청이 많습니다. 다시 시도하세요.",
    )
    .with_header(header::RETRY_AFTER, "1")
}

/// A short, growing, jittered pause before planning again.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(shared::random::bytes::<1>()[0] % 20);
    Duration::from_millis((10 << attempt.min(5)) + jitter)
}

fn is_refund_id(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The methods a known path allows (405), or `None` for an unknown path.
fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        ["v1", "tax", "bills"] | ["v1", "tax", "review"] => Some("GET"),
        ["v1", "tax", "refunds"] => Some("GET, POST"),
        ["v1", "tax", "refunds", _] => Some("GET"),
        ["v1", "tax", "refunds", _, "decision" | "payment"] => Some("POST"),
        _ => None,
    }
}
