//! The JSON answers of the tax-refund routes, as typed values (their schemas
//! are in docs/openapi.json).
//!
//! Fields are declared in the alphabetical order of their JSON names: these
//! answers used to be built as `serde_json::Value`s, whose objects sort their
//! keys, and clients keep receiving the same bytes.

use schemars::JsonSchema;
use serde::Serialize;

use crate::ledger::{BillStatus, Offset, Overpayment, Reason};
use crate::records::BookBill;
use crate::status::Status;

/// One bill of `GET /v1/tax/bills`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaxBill")]
pub struct BillView {
    /// Amount assessed, in won.
    pub amount_krw: i64,
    /// Assessing authority.
    pub authority: String,
    /// The bill's id.
    pub bill_id: String,
    /// Due date (`YYYY-MM-DD`).
    #[schemars(extend("format" = "date"))]
    pub due_date: String,
    /// Everything paid, in won.
    pub paid_krw: i64,
    /// Period (e.g. 2025년 7월 정기분).
    pub period: String,
    /// Where the bill stands today.
    pub status: BillStatus,
    /// Korean tax name (재산세, ...).
    pub tax_name: String,
    /// Tax code (`property`, `vehicle`, ...).
    pub tax_type: String,
    /// Tax year.
    pub year: i32,
}

impl BillView {
    /// The bill `b` as it stands on `today`.
    pub fn of(b: &BookBill, today: chrono::NaiveDate) -> Self {
        let i = &b.item;
        BillView {
            amount_krw: i.amount_krw,
            authority: i.authority.clone(),
            bill_id: i.bill_id.clone(),
            due_date: i.due_date.to_string(),
            paid_krw: b.paid_krw(),
            period: i.period.clone(),
            status: b.status(today),
            tax_name: i.tax_name.clone(),
            tax_type: i.tax_type.clone(),
            year: i.year,
        }
    }
}

/// One open overpayment of `GET /v1/tax/refunds/eligible`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "RefundableOverpayment")]
pub struct OverpaymentView {
    /// How much may be refunded, in won.
    pub amount_krw: i64,
    /// The overpaid bill.
    pub bill_id: String,
    /// The last day it may be claimed (5 years after `paidOn`).
    #[schemars(extend("format" = "date"))]
    pub claimable_until: String,
    /// The day of the payment that overpaid.
    #[schemars(extend("format" = "date"))]
    pub paid_on: String,
    /// Why the bill was overpaid.
    pub reason: Reason,
    /// What to claim it by (`refundableId` of `POST /v1/tax/refunds`).
    pub refundable_id: String,
}

impl OverpaymentView {
    /// The overpayment `o`.
    pub fn of(o: &Overpayment) -> Self {
        OverpaymentView {
            amount_krw: o.amount_krw,
            bill_id: o.bill_id.clone(),
            claimable_until: o.claimable_until.to_string(),
            paid_on: o.paid_on.to_string(),
            reason: o.reason,
            refundable_id: o.refundable_id.clone(),
        }
    }
}

/// A refund as api.md shows it: never the account number. Reviewers (scope
/// `tax:review`) also see whose it is (`userId`, `citizenName`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Refund")]
pub struct RefundView {
    /// The account, masked (`1234******5678`).
    pub account_masked: String,
    /// The overpayment, in won.
    pub amount_krw: i64,
    /// The receiving bank (3-digit code).
    pub bank_code: String,
    /// The overpaid bill.
    pub bill_id: String,
    /// The citizen's name on record; reviewers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizen_name: Option<String>,
    /// When claimed (RFC 3339).
    pub created_at: String,
    /// When approved or rejected (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Arrears offset first, in won.
    pub offset_krw: i64,
    /// Which arrears, how much of each.
    pub offsets: Vec<Offset>,
    /// When paid (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// What is paid out: `amountKrw - offsetKrw`.
    pub payable_krw: i64,
    /// The reviewer's reason (always given with a rejection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its id (UUID).
    pub refund_id: String,
    /// The overpayment claimed.
    pub refundable_id: String,
    /// Where it stands.
    pub status: Status,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// The citizen; reviewers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Bumped by every change; send it as If-Match.
    pub version: u64,
}

#[cfg(test)]
mod tests {
    //! The typed answers write exactly what the former `json!` values wrote.

    use serde_json::{Value, json};

    use super::*;
    use crate::ledger::BillStatus;

    fn same(typed: &impl Serialize, former: &Value) {
        assert_eq!(
            serde_json::to_string(typed).unwrap(),
            serde_json::to_string(former).unwrap()
        );
    }

    #[test]
    fn codes_are_written_as_before() {
        for s in [
            BillStatus::Paid,
            BillStatus::Unpaid,
            BillStatus::Overdue,
            BillStatus::Overpaid,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        for r in [Reason::DuplicatePayment, Reason::Overpaid] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
    }

    #[test]
    fn a_refund_keeps_its_bytes() {
        let offsets = vec![Offset {
            krw: 1000,
            bill_id: "B1".into(),
        }];
        let mut view = RefundView {
            account_masked: "1234**7890".into(),
            amount_krw: 5000,
            bank_code: "090".into(),
            bill_id: "B2".into(),
            citizen_name: None,
            created_at: "c".into(),
            decided_at: None,
            offset_krw: 1000,
            offsets: offsets.clone(),
            paid_at: None,
            payable_krw: 4000,
            reason: None,
            refund_id: "r".into(),
            refundable_id: "OP-B2".into(),
            status: Status::Requested,
            updated_at: "u".into(),
            user_id: None,
            version: 1,
        };
        let mut former = json!({
            "refundId": "r", "refundableId": "OP-B2", "billId": "B2", "amountKrw": 5000,
            "offsetKrw": 1000, "payableKrw": 4000, "offsets": offsets, "status": "requested",
            "bankCode": "090", "accountMasked": "1234**7890", "version": 1,
            "createdAt": "c", "updatedAt": "u",
        });
        same(&view, &former);
        view.reason = Some("why".into());
        view.decided_at = Some("d".into());
        view.paid_at = Some("p".into());
        view.user_id = Some("user".into());
        view.citizen_name = Some("이순신".into());
        view.status = Status::Paid;
        for (name, value) in [
            ("reason", "why"),
            ("decidedAt", "d"),
            ("paidAt", "p"),
            ("userId", "user"),
            ("citizenName", "이순신"),
            ("status", "paid"),
        ] {
            former[name] = json!(value);
        }
        same(&view, &former);
    }

    #[test]
    fn lists_keep_their_bytes() {
        let bill = BillView {
            amount_krw: 100,
            authority: "종로구청".into(),
            bill_id: "B1".into(),
            due_date: "2025-07-31".into(),
            paid_krw: 200,
            period: "2025년 7월 정기분".into(),
            status: BillStatus::Overpaid,
            tax_name: "재산세".into(),
            tax_type: "property".into(),
            year: 2025,
        };
        same(
            &bill,
            &json!({
                "billId": "B1", "taxType": "property", "taxName": "재산세", "year": 2025,
                "period": "2025년 7월 정기분", "authority": "종로구청", "amountKrw": 100,
                "paidKrw": 200, "dueDate": "2025-07-31", "status": "overpaid",
            }),
        );
        let o = Overpayment {
            refundable_id: "OP-B1".into(),
            bill_id: "B1".into(),
            amount_krw: 100,
            reason: Reason::DuplicatePayment,
            paid_on: chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            claimable_until: chrono::NaiveDate::from_ymd_opt(2030, 7, 1).unwrap(),
        };
        same(
            &OverpaymentView::of(&o),
            &json!({
                "refundableId": "OP-B1", "billId": "B1", "amountKrw": 100,
                "reason": "duplicate-payment", "paidOn": "2025-07-01",
                "claimableUntil": "2030-07-01",
            }),
        );
    }
}
