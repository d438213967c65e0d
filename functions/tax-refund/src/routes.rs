//! The routes of api.md ("Local-tax refunds"): handlers parse the request
//! into types, authorise, call the store and map the result.

use std::time::Duration;

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use shared::auth::{Principal, Role};
use shared::events::DomainEvent;
use shared::http::{ApiError, Fields, Invalid, json};

mod claim;
mod review;

use crate::App;
use crate::ledger::{self, Overpayment};
use crate::records::Book;
use crate::refunds::Refund;
use crate::status::Status;
use crate::views::{BillView, OverpaymentView, RefundView};

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
        let items: Vec<(String, BillView)> = match self.book(&principal.user_id).await? {
            None => Vec::new(),
            Some(book) => book
                .bills
                .iter()
                .filter(|b| year.is_none_or(|y| b.item.year == y))
                .map(|b| (b.item.bill_id.clone(), BillView::of(b, today)))
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
                .map(|o| (o.refundable_id.clone(), OverpaymentView::of(&o)))
                .collect(),
        };
        Ok(json(StatusCode::OK, &paged(cursors, &list, items, &page)))
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
        let items: Vec<RefundView> = refunds.iter().map(Refund::view).collect();
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
        let items: Vec<RefundView> = refunds.iter().map(Refund::review_view).collect();
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
}

/// The open overpayments of `book` on `today`: claimable and not claimed.
fn open_overpayments(book: &Book, today: chrono::NaiveDate) -> Vec<Overpayment> {
    ledger::overpayments(&book.ledger_bills(), today)
        .into_iter()
        .filter(|o| !book.is_claimed(&o.refundable_id))
        .collect()
}

/// A page of an in-memory list of `(position, item)`, in order.
fn paged<T: Serialize>(
    cursors: &shared::cursor::Cursors,
    list: &str,
    items: Vec<(String, T)>,
    page: &shared::cursor::PageRequest,
) -> serde_json::Value {
    let start = match &page.after {
        Some(after) => items
            .iter()
            .position(|(id, _)| id == after)
            .map_or(items.len(), |i| i + 1),
        None => 0,
    };
    let limit = usize::try_from(page.limit).unwrap_or(1);
    let rest = &items[start.min(items.len())..];
    let shown: Vec<&T> = rest.iter().take(limit).map(|(_, v)| v).collect();
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
