//! Refunds in the function's own table, and the three transactions that move
//! money: the claim, the decision and the payment. Each is one
//! `TransactWriteItems` across this table and the ledger table whose
//! conditions are the money rules (design: never a read followed by a write):
//!
//! - claim: lock the overpayment (`attribute_not_exists`), reserve each offset
//!   (`openKrw >= :x`), put the refund, put `refund.requested`;
//! - decision: the refund (`version` and `status` as read), on rejection the
//!   lock deleted and the reservations released, put `refund.approved` or
//!   `refund.rejected`;
//! - payment: the refund, the lock marked paid, each reservation settled with
//!   its payment item, the overpayment's refund booked, put `refund.paid`.
//!
//! Items: `REFUND#<refundId>` / `REFUND`, the refund (serde_dynamo) with the
//! keys of two indexes: `ByCitizen` (`citizenKey` = userId, newest first) and
//! `ByStatus` (`queueKey` = status, oldest first), both ranged by `listedAt` =
//! `<createdMs>#<refundId>`. Outbox and idempotency items live here too.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use shared::dynamo::{self, Item, StoreError, key, s};
use shared::events::DomainEvent;

use crate::ledger::Offset;
use crate::records::{Book, ClaimItem, PaymentItem, Records, put};
use crate::status::Status;
use crate::views::RefundView;

/// The index of a citizen's refunds.
pub const BY_CITIZEN: &str = "ByCitizen";
/// The index of refunds by status (the review queue).
pub const BY_STATUS: &str = "ByStatus";

/// A refund, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// Id (a UUID).
    pub refund_id: String,
    /// The citizen.
    pub user_id: String,
    /// The citizen's name on record (shown to reviewers).
    pub citizen_name: String,
    /// The overpayment claimed (`OP-<billId>`).
    pub refundable_id: String,
    /// The overpaid bill.
    pub bill_id: String,
    /// The overpayment.
    pub amount_krw: i64,
    /// Arrears offset first.
    pub offset_krw: i64,
    /// What is paid out: `amountKrw - offsetKrw`.
    pub payable_krw: i64,
    /// Which arrears, how much of each.
    pub offsets: Vec<Offset>,
    /// Where it stands.
    pub status: Status,
    /// The receiving bank.
    pub bank_code: String,
    /// The account, masked (`1234******5678`).
    pub account_masked: String,
    /// The account number under the KMS key (base64), for the payment only.
    pub account_ciphertext: String,
    /// Optimistic-concurrency version (`ETag`).
    pub version: u64,
    /// When claimed.
    pub created_at: String,
    /// When claimed, in Unix milliseconds (orders the lists).
    #[serde(default)]
    pub created_ms: i64,
    /// Last change.
    pub updated_at: String,
    /// The reviewer's reason (required to reject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Who paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_by: Option<String>,
    /// When paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// The Idempotency-Key of the claim that made it: a retry of that claim
    /// whose first answer was lost after the write recognises its refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_key: Option<String>,
}

impl Refund {
    /// What the citizen sees (api.md): never the account number, never the
    /// ciphertext.
    pub fn view(&self) -> RefundView {
        RefundView {
            account_masked: self.account_masked.clone(),
            amount_krw: self.amount_krw,
            bank_code: self.bank_code.clone(),
            bill_id: self.bill_id.clone(),
            citizen_name: None,
            created_at: self.created_at.clone(),
            decided_at: self.decided_at.clone(),
            offset_krw: self.offset_krw,
            offsets: self.offsets.clone(),
            paid_at: self.paid_at.clone(),
            payable_krw: self.payable_krw,
            reason: self.reason.clone(),
            refund_id: self.refund_id.clone(),
            refundable_id: self.refundable_id.clone(),
            status: self.status,
            updated_at: self.updated_at.clone(),
            user_id: None,
            version: self.version,
        }
    }

    /// What a reviewer sees: the citizen's view with who they are.
    pub fn review_view(&self) -> RefundView {
        RefundView {
            user_id: Some(self.user_id.clone()),
            citizen_name: Some(self.citizen_name.clone()),
            ..self.view()
        }
    }

    fn listed_at(&self) -> String {
        format!("{:015}#{}", self.created_ms, self.refund_id)
    }
}

/// Why a claim's transaction did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The overpayment is claimed already (409 `refund.already_claimed`).
    #[error("the overpayment is claimed already")]
    AlreadyClaimed,
    /// Another claim reserved arrears first, or transactions collided: plan
    /// again from a fresh read.
    #[error("the arrears moved; plan again")]
    Moved,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a transition's transaction did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The refund changed since it was read: read again and decide.
    #[error("the refund changed")]
    Changed,
    /// Storage failed (or the ledger disagrees with the refund).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The refund table.
#[derive(Debug, Clone)]
pub struct Refunds {
    db: Client,
    table: String,
}

impl Refunds {
    /// The refund table `table`.
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn item(&self, refund: &Refund) -> Result<Item, StoreError> {
        let mut item = dynamo::to_item(refund)?;
        item.extend(key(format!("REFUND#{}", refund.refund_id), "REFUND"));
        item.insert("citizenKey".into(), s(&refund.user_id));
        item.insert("queueKey".into(), s(refund.status.as_str()));
        item.insert("listedAt".into(), s(refund.listed_at()));
        Ok(item)
    }

    /// The refund `refund_id`, strongly consistent.
    pub async fn get(&self, refund_id: &str) -> Result<Option<Refund>, StoreError> {
        dynamo::get(
            &self.db,
            &self.table,
            key(format!("REFUND#{refund_id}"), "REFUND"),
        )
        .await
    }

    /// Writes a claim: the lock, the reservations, the refund and its event,
    /// all or nothing.
    pub async fn claim(
        &self,
        records: &Records,
        book: &Book,
        refund: &Refund,
        event: &DomainEvent,
    ) -> Result<(), ClaimError> {
        let user = &refund.user_id;
        let mut items = vec![
            records.lock(
                user,
                &ClaimItem {
                    refundable_id: refund.refundable_id.clone(),
                    refund_id: refund.refund_id.clone(),
                    state: "claimed".into(),
                },
            )?,
            put(&self.table, self.item(refund)?, "attribute_not_exists(pk)")?,
            self.outbox(event)?,
        ];
        for offset in &refund.offsets {
            let bill = bill_of(book, offset)?;
            items.push(records.reserve(user, bill, offset.krw)?);
        }
        match self.transact(items).await? {
            None => Ok(()),
            Some(reasons) if failed(&reasons, 0) => Err(ClaimError::AlreadyClaimed),
            Some(_) => Err(ClaimError::Moved),
        }
    }

    /// Writes a decision: `next` (the refund after it) if `current` is still
    /// what is stored; a rejection releases the lock and the reservations.
    pub async fn decide(
        &self,
        records: &Records,
        book: &Book,
        current: &Refund,
        next: &Refund,
        event: &DomainEvent,
    ) -> Result<(), ChangeError> {
        let mut items = vec![self.replace(current, next)?, self.outbox(event)?];
        if next.status == Status::Rejected {
            let user = &current.user_id;
            items.push(records.unlock(user, &current.refundable_id, &current.refund_id)?);
            for offset in &current.offsets {
                items.push(records.release(user, bill_of(book, offset)?, offset.krw)?);
            }
        }
        self.change(items).await
    }

    /// Writes a payment: the refund paid, the lock closed, each reservation
    /// settled with its payment, the overpayment refunded in the ledger.
    pub async fn pay(
        &self,
        records: &Records,
        book: &Book,
        current: &Refund,
        next: &Refund,
        event: &DomainEvent,
        paid_on: chrono::NaiveDate,
    ) -> Result<(), ChangeError> {
        let user = &current.user_id;
        let mut items = vec![
            self.replace(current, next)?,
            self.outbox(event)?,
            records.close(user, &current.refundable_id, &current.refund_id)?,
            records.payment(
                user,
                &PaymentItem {
                    payment_id: format!("R-{}", current.refund_id),
                    bill_id: current.bill_id.clone(),
                    paid_on,
                    amount_krw: -current.amount_krw,
                    method: crate::records::METHOD_REFUND.into(),
                },
            )?,
        ];
        for offset in &current.offsets {
            items.push(records.settle(user, bill_of(book, offset)?, offset.krw)?);
            items.push(records.payment(
                user,
                &PaymentItem {
                    payment_id: format!("O-{}", current.refund_id),
                    bill_id: offset.bill_id.clone(),
                    paid_on,
                    amount_krw: offset.krw,
                    method: crate::records::METHOD_OFFSET.into(),
                },
            )?);
        }
        self.change(items).await
    }

    /// One page of `user_id`'s refunds, newest first.
    pub async fn of_citizen(
        &self,
        user_id: &str,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Refund>, Option<String>), StoreError> {
        self.index_page(BY_CITIZEN, "citizenKey", user_id, false, limit, after)
            .await
    }

    /// One page of the refunds in `status`, oldest first.
    pub async fn in_status(
        &self,
        status: Status,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Refund>, Option<String>), StoreError> {
        self.index_page(BY_STATUS, "queueKey", status.as_str(), true, limit, after)
            .await
    }

    async fn index_page(
        &self,
        index: &str,
        hash: &str,
        value: &str,
        ascending: bool,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Refund>, Option<String>), StoreError> {
        dynamo::IndexPage {
            index,
            hash,
            value,
            range: "listedAt",
            pk_prefix: "REFUND#",
            sk: "REFUND",
            ascending,
        }
        .read(&self.db, &self.table, limit, after)
        .await
    }

    fn replace(&self, current: &Refund, next: &Refund) -> Result<TransactWriteItem, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(next)?))
            .condition_expression("version = :v AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":v", dynamo::n(current.version))
            .expression_attribute_values(":from", s(current.status.as_str()))
            .build()
            .map_err(crate::records::built)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn outbox(&self, event: &DomainEvent) -> Result<TransactWriteItem, StoreError> {
        event
            .outbox_put(&self.table)
            .map_err(|e| StoreError(e.to_string()))
    }

    /// A transition's transaction: `Changed` when the refund (item 0) moved,
    /// an error when anything else refused (the ledger disagreeing with a
    /// refund is a bug to see, never to paper over).
    async fn change(&self, items: Vec<TransactWriteItem>) -> Result<(), ChangeError> {
        match self.transact(items).await? {
            None => Ok(()),
            Some(reasons) if failed(&reasons, 0) || conflicted(&reasons) => {
                Err(ChangeError::Changed)
            }
            Some(reasons) => Err(ChangeError::Store(StoreError(format!(
                "the ledger refused a refund's transaction: {reasons:?}"
            )))),
        }
    }

    /// Runs a transaction: `None` when it happened, the cancellation reasons
    /// when DynamoDB cancelled it.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        match self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e) => match dynamo::cancellation_reasons(&e) {
                Some(reasons) => Ok(Some(reasons)),
                None => Err(StoreError::sdk(e)),
            },
        }
    }
}

fn bill_of<'a>(
    book: &'a Book,
    offset: &Offset,
) -> Result<&'a crate::records::BillItem, StoreError> {
    book.bill(&offset.bill_id).ok_or_else(|| {
        StoreError(format!(
            "the ledger has no bill {} that a refund offsets",
            offset.bill_id
        ))
    })
}

fn failed(reasons: &[String], index: usize) -> bool {
    reasons.get(index).map(String::as_str) == Some("ConditionalCheckFailed")
}

fn conflicted(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r == "TransactionConflict")
}
