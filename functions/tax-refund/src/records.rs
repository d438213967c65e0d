//! The local-tax ledger table, whose only writer this function is (the
//! `certificate` function reads it). One partition per taxpayer,
//! `pk` = `TAXPAYER#<userId>`:
//!
//! - `PROFILE`: name and address (the name is who refunds may go to);
//! - `BILL#<year>#<billId>`: an assessed bill, with `openKrw` (what is owed and
//!   not yet reserved by a claim) and `reservedKrw` (what claims in flight will
//!   offset): the two numbers the claim, rejection and payment transactions
//!   move with conditions, so offsets never exceed what is owed;
//! - `PAY#<billId>#<paymentId>`: a payment. A paid refund books two kinds:
//!   the offset of an arrear (positive, method 환급충당) and the refund of the
//!   overpayment itself (negative, method 과오납환급), so every bill's paid
//!   amount is the sum of its payments, for certificates too;
//! - `CLAIM#<refundableId>`: the lock of an overpayment, created by the claim
//!   with `attribute_not_exists` (whatever the idempotency keys, one claim
//!   wins), deleted by a rejection, marked `paid` by the payment.
//!
//! Items are mapped with serde_dynamo.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shared::dynamo::{self, Item, StoreError, key, n, s};

use crate::ledger::{Arrear, Bill as LedgerBill, BillStatus, Payment};

/// The partition key of a taxpayer.
pub fn taxpayer_pk(user_id: &str) -> String {
    format!("TAXPAYER#{user_id}")
}

/// Method of a payment that offsets an arrear with a refund.
pub const METHOD_OFFSET: &str = "환급충당";
/// Method of the negative payment that refunds an overpayment.
pub const METHOD_REFUND: &str = "과오납환급";

/// A taxpayer's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Name on record (refunds go only to an account in this name).
    pub name: String,
    /// Address.
    pub address: String,
}

/// An assessed bill as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillItem {
    /// Unique bill id.
    pub bill_id: String,
    /// Tax code (`property`, `vehicle`, ...).
    pub tax_type: String,
    /// Korean tax name (재산세, ...).
    pub tax_name: String,
    /// Tax year.
    pub year: i32,
    /// Period (e.g. 2025년 7월 정기분).
    pub period: String,
    /// Assessing authority.
    pub authority: String,
    /// Assessment date.
    pub assessed_on: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount assessed.
    pub amount_krw: i64,
    /// What is owed and not reserved by a claim.
    #[serde(default)]
    pub open_krw: i64,
    /// What claims in flight will offset.
    #[serde(default)]
    pub reserved_krw: i64,
}

/// A payment as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentItem {
    /// Unique payment id.
    pub payment_id: String,
    /// The bill paid.
    pub bill_id: String,
    /// Payment date.
    pub paid_on: NaiveDate,
    /// Amount paid (negative for a refund of an overpayment).
    pub amount_krw: i64,
    /// How (가상계좌, 자동이체, 환급충당, ...).
    pub method: String,
}

/// The lock of a claimed overpayment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimItem {
    /// The overpayment.
    pub refundable_id: String,
    /// The refund that claims it.
    pub refund_id: String,
    /// `claimed`, then `paid`.
    pub state: String,
}

/// A bill with its payments.
#[derive(Debug, Clone)]
pub struct BookBill {
    /// The bill as stored.
    pub item: BillItem,
    /// Its payments, oldest first.
    pub payments: Vec<PaymentItem>,
}

impl BookBill {
    /// The bill for the ledger arithmetic.
    pub fn ledger(&self) -> LedgerBill {
        LedgerBill {
            bill_id: self.item.bill_id.clone(),
            due_date: self.item.due_date,
            amount_krw: self.item.amount_krw,
            payments: self
                .payments
                .iter()
                .map(|p| Payment {
                    paid_on: p.paid_on,
                    amount_krw: p.amount_krw,
                })
                .collect(),
        }
    }

    /// What was paid.
    pub fn paid_krw(&self) -> i64 {
        self.payments.iter().map(|p| p.amount_krw).sum()
    }

    /// The api.md status on `today`.
    pub fn status(&self, today: NaiveDate) -> BillStatus {
        self.ledger().status(today)
    }
}

/// One taxpayer's partition, read at once.
#[derive(Debug, Clone)]
pub struct Book {
    /// The profile.
    pub profile: Profile,
    /// Bills, oldest due date first.
    pub bills: Vec<BookBill>,
    /// Overpayments claimed (or paid out), by refundable id.
    pub claims: Vec<ClaimItem>,
}

impl Book {
    /// The bills for the ledger arithmetic.
    pub fn ledger_bills(&self) -> Vec<LedgerBill> {
        self.bills.iter().map(BookBill::ledger).collect()
    }

    /// The arrears on `today`, with what is still open to offset.
    pub fn arrears(&self, today: NaiveDate) -> Vec<Arrear> {
        self.bills
            .iter()
            .filter(|b| b.status(today) == BillStatus::Overdue)
            .map(|b| Arrear {
                bill_id: b.item.bill_id.clone(),
                due_date: b.item.due_date,
                unpaid_krw: b.item.open_krw + b.item.reserved_krw,
                reserved_krw: b.item.reserved_krw,
            })
            .collect()
    }

    /// Whether `refundable_id` is claimed (or paid out).
    pub fn is_claimed(&self, refundable_id: &str) -> bool {
        self.claims.iter().any(|c| c.refundable_id == refundable_id)
    }

    /// The stored bill `bill_id`.
    pub fn bill(&self, bill_id: &str) -> Option<&BillItem> {
        self.bills
            .iter()
            .map(|b| &b.item)
            .find(|b| b.bill_id == bill_id)
    }
}

/// The ledger table.
#[derive(Debug, Clone)]
pub struct Records {
    db: Client,
    table: String,
}

impl Records {
    /// The ledger table `table`.
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

    /// The partition of `user_id`, strongly consistent, or `None` when the
    /// ledger has no such taxpayer.
    pub async fn book(&self, user_id: &str) -> Result<Option<Book>, StoreError> {
        let items = dynamo::query_partition(&self.db, &self.table, &taxpayer_pk(user_id)).await?;
        let mut profile = None;
        let mut bills: Vec<BookBill> = Vec::new();
        let mut payments: Vec<PaymentItem> = Vec::new();
        let mut claims = Vec::new();
        for item in items {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == "PROFILE" {
                profile = Some(dynamo::from_item::<Profile>(item)?);
            } else if sk.starts_with("BILL#") {
                bills.push(BookBill {
                    item: dynamo::from_item(item)?,
                    payments: Vec::new(),
                });
            } else if sk.starts_with("PAY#") {
                payments.push(dynamo::from_item(item)?);
            } else if sk.starts_with("CLAIM#") {
                claims.push(dynamo::from_item(item)?);
            }
        }
        let Some(profile) = profile else {
            return Ok(None);
        };
        payments.sort_by(|a, b| (a.paid_on, &a.payment_id).cmp(&(b.paid_on, &b.payment_id)));
        for payment in payments {
            if let Some(bill) = bills.iter_mut().find(|b| b.item.bill_id == payment.bill_id) {
                bill.payments.push(payment);
            }
        }
        bills.sort_by(|a, b| {
            (a.item.due_date, &a.item.bill_id).cmp(&(b.item.due_date, &b.item.bill_id))
        });
        Ok(Some(Book {
            profile,
            bills,
            claims,
        }))
    }

    fn bill_key(&self, user_id: &str, bill: &BillItem) -> Item {
        key(
            taxpayer_pk(user_id),
            format!("BILL#{}#{}", bill.year, bill.bill_id),
        )
    }

    fn claim_key(&self, user_id: &str, refundable_id: &str) -> Item {
        key(taxpayer_pk(user_id), format!("CLAIM#{refundable_id}"))
    }

    /// The claim's lock of the overpayment: fails when it is claimed already.
    pub fn lock(&self, user_id: &str, claim: &ClaimItem) -> Result<TransactWriteItem, StoreError> {
        let mut item = dynamo::to_item(claim)?;
        item.extend(self.claim_key(user_id, &claim.refundable_id));
        put(&self.table, item, "attribute_not_exists(pk)")
    }

    /// A rejection's release of the lock (only the refund's own lock).
    pub fn unlock(
        &self,
        user_id: &str,
        refundable_id: &str,
        refund_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(self.claim_key(user_id, refundable_id)))
            .condition_expression("refundId = :refund")
            .expression_attribute_values(":refund", s(refund_id))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The payment's closing of the lock (only the refund's own lock).
    pub fn close(
        &self,
        user_id: &str,
        refundable_id: &str,
        refund_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.claim_key(user_id, refundable_id)))
            .update_expression("SET #state = :paid")
            .condition_expression("refundId = :refund AND #state = :claimed")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":refund", s(refund_id))
            .expression_attribute_values(":paid", s("paid"))
            .expression_attribute_values(":claimed", s("claimed"))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A claim's reservation of `krw` of a bill's arrears: fails when less
    /// than that is open (another claim reserved it first).
    pub fn reserve(
        &self,
        user_id: &str,
        bill: &BillItem,
        krw: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.move_reservation(
            user_id,
            bill,
            "SET openKrw = openKrw - :x, reservedKrw = reservedKrw + :x",
            "openKrw >= :x",
            krw,
        )
    }

    /// A rejection's release of a reservation.
    pub fn release(
        &self,
        user_id: &str,
        bill: &BillItem,
        krw: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.move_reservation(
            user_id,
            bill,
            "SET openKrw = openKrw + :x, reservedKrw = reservedKrw - :x",
            "reservedKrw >= :x",
            krw,
        )
    }

    /// A payment's settlement of a reservation (the payment item that goes
    /// with it is [`Records::payment`]).
    pub fn settle(
        &self,
        user_id: &str,
        bill: &BillItem,
        krw: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        self.move_reservation(
            user_id,
            bill,
            "SET reservedKrw = reservedKrw - :x",
            "reservedKrw >= :x",
            krw,
        )
    }

    fn move_reservation(
        &self,
        user_id: &str,
        bill: &BillItem,
        update: &str,
        condition: &str,
        krw: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.bill_key(user_id, bill)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":x", n(krw))
            .build()
            .map_err(built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A new payment item (fails if a payment of that id exists: a refund
    /// books each of its payments once).
    pub fn payment(
        &self,
        user_id: &str,
        payment: &PaymentItem,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = dynamo::to_item(payment)?;
        item.extend(key(
            taxpayer_pk(user_id),
            format!("PAY#{}#{}", payment.bill_id, payment.payment_id),
        ));
        put(&self.table, item, "attribute_not_exists(pk)")
    }
}

/// A conditional Put.
pub(crate) fn put(
    table: &str,
    item: Item,
    condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .map_err(built)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A request the SDK refused to build.
pub(crate) fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError(format!("request: {e}"))
}

/// The import file of the ledger (`infra/devstack/data/tax-ledger.json`).
pub mod import {
    use super::*;

    /// One taxpayer in the import file.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct TaxpayerRecord {
        /// The demo account it belongs to.
        pub login_id: String,
        /// Name.
        pub name: String,
        /// Address.
        pub address: String,
        /// Bills (`openKrw` and `reservedKrw` are computed, not read).
        pub bills: Vec<BillItem>,
        /// Payments.
        pub payments: Vec<PaymentItem>,
    }

    /// The whole file.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct LedgerFile {
        /// Every taxpayer.
        pub taxpayers: Vec<TaxpayerRecord>,
    }

    /// Writes one taxpayer's ledger under `user_id` (profile, bills with
    /// nothing reserved, payments). For seeds: not a transaction.
    pub async fn write(
        db: &Client,
        table: &str,
        user_id: &str,
        t: &TaxpayerRecord,
    ) -> Result<(), StoreError> {
        let pk = taxpayer_pk(user_id);
        let mut profile = dynamo::to_item(&Profile {
            name: t.name.clone(),
            address: t.address.clone(),
        })?;
        profile.extend(key(&pk, "PROFILE"));
        let mut items = vec![profile];
        for b in &t.bills {
            let paid: i64 = t
                .payments
                .iter()
                .filter(|p| p.bill_id == b.bill_id)
                .map(|p| p.amount_krw)
                .sum();
            let mut item = dynamo::to_item(&BillItem {
                open_krw: (b.amount_krw - paid).max(0),
                reserved_krw: 0,
                ..b.clone()
            })?;
            item.extend(key(&pk, format!("BILL#{}#{}", b.year, b.bill_id)));
            items.push(item);
        }
        for p in &t.payments {
            let mut item = dynamo::to_item(p)?;
            item.extend(key(&pk, format!("PAY#{}#{}", p.bill_id, p.payment_id)));
            items.push(item);
        }
        dynamo::put_all(db, table, &items).await
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_seed_file_is_valid_and_has_citizen3() {
            let file: LedgerFile =
                serde_json::from_str(include_str!("../../../infra/devstack/data/tax-ledger.json"))
                    .unwrap();
            for who in ["citizen1", "citizen2", "citizen3"] {
                assert!(file.taxpayers.iter().any(|t| t.login_id == who), "{who}");
            }
        }
    }
}
