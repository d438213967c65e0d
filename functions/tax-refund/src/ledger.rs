//! The arithmetic of the local-tax ledger that refunds rest on, free of
//! storage: what a bill's status is, which overpayments may still be claimed
//! (5 years from the payment that overpaid), and which arrears a claim offsets
//! (oldest due date first, never the part other claims have reserved).
//!
//! The store enforces the same rules with DynamoDB conditions; these functions
//! decide what to ask for, and are what the conditions are checked against.

use chrono::{Months, NaiveDate};

/// How long an overpayment may be claimed, from the day it was paid.
pub const CLAIM_YEARS: u32 = 5;

/// A payment of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// When it was paid.
    pub paid_on: NaiveDate,
    /// How much.
    pub amount_krw: i64,
}

/// An assessed bill and its payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    /// The bill's id (`B2022-30170-PROP-07`).
    pub bill_id: String,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount assessed.
    pub amount_krw: i64,
    /// Payments, in any order.
    pub payments: Vec<Payment>,
}

/// api.md's bill statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "TaxBillStatus")]
pub enum BillStatus {
    /// Paid in full.
    Paid,
    /// Not (fully) paid, not yet due.
    Unpaid,
    /// Not (fully) paid after its due date: arrears.
    Overdue,
    /// Paid more than assessed.
    Overpaid,
}

impl BillStatus {
    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            BillStatus::Paid => "paid",
            BillStatus::Unpaid => "unpaid",
            BillStatus::Overdue => "overdue",
            BillStatus::Overpaid => "overpaid",
        }
    }
}

impl Bill {
    /// Everything paid.
    pub fn paid_krw(&self) -> i64 {
        self.payments.iter().map(|p| p.amount_krw).sum()
    }

    /// What is still owed (0 when paid in full or more).
    pub fn unpaid_krw(&self) -> i64 {
        (self.amount_krw - self.paid_krw()).max(0)
    }

    /// What was paid beyond the assessment.
    pub fn overpaid_krw(&self) -> i64 {
        (self.paid_krw() - self.amount_krw).max(0)
    }

    /// The status on `today`.
    pub fn status(&self, today: NaiveDate) -> BillStatus {
        if self.overpaid_krw() > 0 {
            BillStatus::Overpaid
        } else if self.unpaid_krw() == 0 {
            BillStatus::Paid
        } else if today > self.due_date {
            BillStatus::Overdue
        } else {
            BillStatus::Unpaid
        }
    }

    /// The day of the payment that took the total past the assessment (the
    /// day the overpayment happened), if any.
    pub fn overpaid_on(&self) -> Option<NaiveDate> {
        let mut payments: Vec<&Payment> = self.payments.iter().collect();
        payments.sort_by_key(|p| p.paid_on);
        let mut total = 0;
        payments.into_iter().find_map(|p| {
            total += p.amount_krw;
            (total > self.amount_krw).then_some(p.paid_on)
        })
    }
}

/// Why a bill was overpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "OverpaymentReason")]
pub enum Reason {
    /// Paid in full more than once.
    DuplicatePayment,
    /// Paid more than assessed.
    Overpaid,
}

impl Reason {
    /// The api.md `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DuplicatePayment => "duplicate-payment",
            Reason::Overpaid => "overpaid",
        }
    }
}

/// An overpayment that may be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overpayment {
    /// `OP-<billId>`: one per bill, so it is claimed at most once.
    pub refundable_id: String,
    /// The bill.
    pub bill_id: String,
    /// How much may be refunded.
    pub amount_krw: i64,
    /// Why.
    pub reason: Reason,
    /// The day it was paid.
    pub paid_on: NaiveDate,
    /// The last day it may be claimed.
    pub claimable_until: NaiveDate,
}

/// The refundable id of `bill_id`'s overpayment.
pub fn refundable_id(bill_id: &str) -> String {
    format!("OP-{bill_id}")
}

/// The last day an overpayment paid on `paid_on` may be claimed.
pub fn claimable_until(paid_on: NaiveDate) -> NaiveDate {
    paid_on
        .checked_add_months(Months::new(12 * CLAIM_YEARS))
        .unwrap_or(NaiveDate::MAX)
}

/// The overpayments of `bills` still claimable on `today` (claims in flight
/// are the store's business), oldest payment first.
pub fn overpayments(bills: &[Bill], today: NaiveDate) -> Vec<Overpayment> {
    let mut found: Vec<Overpayment> = bills
        .iter()
        .filter(|bill| bill.overpaid_krw() > 0)
        .filter_map(|bill| {
            let paid_on = bill.overpaid_on()?;
            let until = claimable_until(paid_on);
            (today <= until).then(|| Overpayment {
                refundable_id: refundable_id(&bill.bill_id),
                bill_id: bill.bill_id.clone(),
                amount_krw: bill.overpaid_krw(),
                reason: if bill
                    .payments
                    .iter()
                    .filter(|p| p.amount_krw >= bill.amount_krw)
                    .count()
                    > 1
                {
                    Reason::DuplicatePayment
                } else {
                    Reason::Overpaid
                },
                paid_on,
                claimable_until: until,
            })
        })
        .collect();
    found.sort_by(|a, b| (a.paid_on, &a.bill_id).cmp(&(b.paid_on, &b.bill_id)));
    found
}

/// A bill in arrears, with what claims in flight have reserved of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrear {
    /// The bill.
    pub bill_id: String,
    /// Its due date (the oldest is offset first).
    pub due_date: NaiveDate,
    /// What is owed.
    pub unpaid_krw: i64,
    /// What other claims have reserved to offset.
    pub reserved_krw: i64,
}

impl Arrear {
    /// What is left to offset.
    pub fn open_krw(&self) -> i64 {
        (self.unpaid_krw - self.reserved_krw).max(0)
    }
}

/// The arrears of `bills` on `today` (overdue bills), nothing reserved yet.
pub fn arrears(bills: &[Bill], today: NaiveDate) -> Vec<Arrear> {
    bills
        .iter()
        .filter(|b| b.status(today) == BillStatus::Overdue)
        .map(|b| Arrear {
            bill_id: b.bill_id.clone(),
            due_date: b.due_date,
            unpaid_krw: b.unpaid_krw(),
            reserved_krw: 0,
        })
        .collect()
}

/// One part of an offset: this much of this bill's arrears.
// Fields in the alphabetical order of their JSON names: refunds were answered
// as `serde_json::Value`s, whose objects sort their keys, and clients keep
// receiving the same bytes.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "RefundOffset")]
pub struct Offset {
    /// How much of it, in won.
    #[serde(rename = "amountKrw")]
    pub krw: i64,
    /// The bill in arrears.
    pub bill_id: String,
}

/// What a refund of `amount_krw` offsets: the open part of the arrears, oldest
/// due date first, up to the amount.
pub fn plan_offsets(arrears: &[Arrear], amount_krw: i64) -> Vec<Offset> {
    let mut ordered: Vec<&Arrear> = arrears.iter().collect();
    ordered.sort_by(|a, b| (a.due_date, &a.bill_id).cmp(&(b.due_date, &b.bill_id)));
    let mut left = amount_krw.max(0);
    let mut offsets = Vec::new();
    for arrear in ordered {
        if left == 0 {
            break;
        }
        let krw = arrear.open_krw().min(left);
        if krw > 0 {
            offsets.push(Offset {
                bill_id: arrear.bill_id.clone(),
                krw,
            });
            left -= krw;
        }
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn bill(id: &str, due: &str, amount: i64, payments: &[(&str, i64)]) -> Bill {
        Bill {
            bill_id: id.into(),
            due_date: day(due),
            amount_krw: amount,
            payments: payments
                .iter()
                .map(|(on, krw)| Payment {
                    paid_on: day(on),
                    amount_krw: *krw,
                })
                .collect(),
        }
    }

    /// citizen3's demo ledger (issue 9).
    fn citizen3() -> Vec<Bill> {
        vec![
            bill(
                "B2020-30170-RESI-08",
                "2020-08-31",
                6_000,
                &[("2020-08-20", 46_000)],
            ),
            bill(
                "B2022-30170-PROP-07",
                "2022-07-31",
                300_000,
                &[("2022-07-20", 300_000), ("2022-07-21", 300_000)],
            ),
            bill(
                "B2024-30170-VEHI-06",
                "2024-06-30",
                180_000,
                &[("2024-06-25", 300_000)],
            ),
            bill("B2025-30170-PROP-09", "2025-09-30", 150_000, &[]),
        ]
    }

    #[test]
    fn statuses_follow_payments_and_due_dates() {
        let today = day("2026-12-04");
        let bills = citizen3();
        let statuses: Vec<&str> = bills.iter().map(|b| b.status(today).as_str()).collect();
        assert_eq!(statuses, ["overpaid", "overpaid", "overpaid", "overdue"]);
        assert_eq!(
            bill("x", "2027-01-31", 10, &[]).status(today),
            BillStatus::Unpaid
        );
        assert_eq!(
            bill("x", "2026-01-31", 10, &[("2026-01-02", 10)]).status(today),
            BillStatus::Paid
        );
        assert_eq!(
            bill("x", "2026-01-31", 10, &[("2026-01-02", 4)]).status(today),
            BillStatus::Overdue
        );
    }

    #[test]
    fn overpayments_older_than_five_years_are_not_claimable() {
        // GIVEN citizen3's ledger on 2026-12-04
        let open = overpayments(&citizen3(), day("2026-12-04"));
        // THEN the 2020 overpayment (paid 2020-08-20) is gone; the two others stay
        let ids: Vec<&str> = open.iter().map(|o| o.refundable_id.as_str()).collect();
        assert_eq!(ids, ["OP-B2022-30170-PROP-07", "OP-B2024-30170-VEHI-06"]);
        assert_eq!(open[0].amount_krw, 300_000);
        assert_eq!(open[0].reason, Reason::DuplicatePayment);
        assert_eq!(
            open[0].paid_on,
            day("2022-07-21"),
            "the second payment overpaid"
        );
        assert_eq!(open[0].claimable_until, day("2027-07-21"));
        assert_eq!(open[1].amount_krw, 120_000);
        assert_eq!(open[1].reason, Reason::Overpaid);
        // AND on the last day it is still claimable, the day after not
        let edge = bill("E", "2021-01-31", 10, &[("2021-01-10", 30)]);
        assert_eq!(
            overpayments(std::slice::from_ref(&edge), day("2026-01-10")).len(),
            1
        );
        assert!(overpayments(&[edge], day("2026-01-11")).is_empty());
    }

    #[test]
    fn a_refunded_overpayment_is_paid_and_no_longer_claimable() {
        // GIVEN the 2022 bill paid twice, and its refund booked as a negative
        // payment (what the payment step writes)
        let refunded = bill(
            "B2022-30170-PROP-07",
            "2022-07-31",
            300_000,
            &[
                ("2022-07-20", 300_000),
                ("2022-07-21", 300_000),
                ("2026-12-04", -300_000),
            ],
        );
        // THEN it is simply paid, and nothing is left to claim
        assert_eq!(refunded.status(day("2026-12-05")), BillStatus::Paid);
        assert!(overpayments(&[refunded], day("2026-12-05")).is_empty());
    }

    #[test]
    fn offsets_take_the_oldest_arrears_first_and_never_what_is_reserved() {
        let today = day("2026-12-04");
        let mut owed = arrears(&citizen3(), today);
        assert_eq!(owed.len(), 1);
        assert_eq!(owed[0].unpaid_krw, 150_000);
        // citizen3's first claim (300,000) offsets all 150,000 ...
        let first = plan_offsets(&owed, 300_000);
        assert_eq!(
            first,
            [Offset {
                bill_id: "B2025-30170-PROP-09".into(),
                krw: 150_000
            }]
        );
        // ... and once that is reserved, the second (120,000) offsets nothing:
        // together exactly 150,000
        owed[0].reserved_krw = 150_000;
        assert!(plan_offsets(&owed, 120_000).is_empty());
        // Oldest due date first, partial amounts, reservations respected
        let many = vec![
            Arrear {
                bill_id: "new".into(),
                due_date: day("2025-06-30"),
                unpaid_krw: 100,
                reserved_krw: 0,
            },
            Arrear {
                bill_id: "old".into(),
                due_date: day("2024-06-30"),
                unpaid_krw: 50,
                reserved_krw: 20,
            },
        ];
        assert_eq!(
            plan_offsets(&many, 60),
            [
                Offset {
                    bill_id: "old".into(),
                    krw: 30
                },
                Offset {
                    bill_id: "new".into(),
                    krw: 30
                },
            ]
        );
        assert!(plan_offsets(&many, 0).is_empty());
    }
}
