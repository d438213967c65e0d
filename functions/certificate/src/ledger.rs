//! The local-tax ledger (read-only here): bills and payments per taxpayer.
//!
//! Items in the tax-ledger table (written by the tax-refund function, see its
//! `records` module; certificates read bills and payments only):
//! - `TAXPAYER#<userId>` / `PROFILE`: name and address (the authority of
//!   residence follows from the address);
//! - `TAXPAYER#<userId>` / `BILL#<year>#<billId>`: one assessed bill;
//! - `TAXPAYER#<userId>` / `PAY#<billId>#<paymentId>`: one payment of a bill.
//!
//! Items are read with serde_dynamo, each as the part of it certificates use
//! (the other attributes the tax-refund function keeps are ignored).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::store::{StoreError, from_item};

/// A bill with what was paid on it, read from its bill item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    /// Bill id.
    pub bill_id: String,
    /// Korean tax name.
    pub tax_name: String,
    /// Tax year.
    pub year: i32,
    /// Period.
    pub period: String,
    /// Assessing authority.
    pub authority: String,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount assessed.
    pub amount_krw: i64,
    /// Sum of the payments (from the payment items: the bill item has none).
    #[serde(skip)]
    pub paid_krw: i64,
}

impl Bill {
    /// What is still owed (0 when paid in full or overpaid).
    pub fn unpaid_krw(&self) -> i64 {
        (self.amount_krw - self.paid_krw).max(0)
    }

    /// Whether it is owed past its due date on `today` (arrears, 체납).
    pub fn in_arrears(&self, today: NaiveDate) -> bool {
        self.unpaid_krw() > 0 && today > self.due_date
    }
}

/// The profile item: whose ledger it is.
#[derive(Debug, Deserialize)]
struct Profile {
    name: String,
    address: String,
}

/// What certificates use of a payment item.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentItem {
    bill_id: String,
    amount_krw: i64,
}

/// A taxpayer's ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// The head of the local government of residence (issues certificates).
    pub authority: String,
    /// Bills, oldest first.
    pub bills: Vec<Bill>,
}

/// The authority of residence for an address: `서울특별시 종로구 …` →
/// `서울특별시 종로구청장`, `… 성남시 …` → `… 성남시장`, `… 평창군 …` →
/// `… 평창군수`.
pub fn authority_of(address: &str) -> String {
    let mut words = address.split_whitespace().peekable();
    let mut parts: Vec<&str> = Vec::new();
    while let Some(w) = words.next() {
        parts.push(w);
        let city = w.ends_with('시') && (parts.len() > 1 || w.ends_with("특별자치시"));
        if city {
            // A city with districts (성남시 분당구): the district keeps the register.
            if let Some(district) = words.next_if(|n| n.ends_with('구')) {
                parts.push(district);
            }
            break;
        }
        if w.ends_with('구') || w.ends_with('군') || parts.len() == 3 {
            break;
        }
    }
    let head = parts.join(" ");
    if head.ends_with('구') {
        format!("{head}청장")
    } else if head.ends_with('군') {
        format!("{head}수")
    } else {
        format!("{head}장")
    }
}

/// The ledger of `user_id`, or `None` when the ledger has no such taxpayer.
pub async fn load(db: &Client, table: &str, user_id: &str) -> Result<Option<Ledger>, StoreError> {
    let items = shared::dynamo::query_partition(db, table, &format!("TAXPAYER#{user_id}")).await?;
    let mut profile = None;
    let mut bills: Vec<Bill> = Vec::new();
    let mut paid: HashMap<String, i64> = HashMap::new();
    for item in items {
        // The sort key tells the kind of item; claims and others are not read.
        let sk: String = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk == "PROFILE" {
            profile = Some(from_item::<Profile>(item)?);
        } else if sk.starts_with("BILL#") {
            bills.push(from_item(item)?);
        } else if sk.starts_with("PAY#") {
            let payment: PaymentItem = from_item(item)?;
            *paid.entry(payment.bill_id).or_default() += payment.amount_krw;
        }
    }
    let Some(profile) = profile else {
        return Ok(None);
    };
    for bill in &mut bills {
        bill.paid_krw = paid.get(&bill.bill_id).copied().unwrap_or(0);
    }
    bills.sort_by(|a, b| (a.due_date, &a.bill_id).cmp(&(b.due_date, &b.bill_id)));
    Ok(Some(Ledger {
        authority: authority_of(&profile.address),
        name: profile.name,
        address: profile.address,
        bills,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_of_residence_follows_the_address() {
        assert_eq!(
            authority_of("서울특별시 종로구 청운동 1"),
            "서울특별시 종로구청장"
        );
        assert_eq!(
            authority_of("경기도 성남시 분당구 정자동 1"),
            "경기도 성남시 분당구청장"
        );
        assert_eq!(
            authority_of("경기도 성남시 수정구"),
            "경기도 성남시 수정구청장"
        );
        assert_eq!(
            authority_of("강원특별자치도 평창군 대관령면 횡계리 1"),
            "강원특별자치도 평창군수"
        );
        assert_eq!(
            authority_of("제주특별자치도 제주시 애월읍 광령리 1"),
            "제주특별자치도 제주시장"
        );
    }

    #[test]
    fn a_bill_is_read_as_the_tax_refund_function_writes_it() {
        use shared::dynamo::{n, s};
        let item: shared::dynamo::Item = [
            ("pk", s("TAXPAYER#u")),
            ("sk", s("BILL#2025#b")),
            ("billId", s("b")),
            ("taxType", s("property")),
            ("taxName", s("재산세")),
            ("year", n(2025)),
            ("period", s("2025년 7월 정기분")),
            ("authority", s("서울특별시 종로구")),
            ("assessedOn", s("2025-07-10")),
            ("dueDate", s("2025-07-31")),
            ("amountKrw", n(100)),
            ("openKrw", n(60)),
            ("reservedKrw", n(0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let bill: Bill = from_item(item.clone()).unwrap();
        assert_eq!(bill.due_date, NaiveDate::from_ymd_opt(2025, 7, 31).unwrap());
        assert_eq!((bill.amount_krw, bill.paid_krw, bill.year), (100, 0, 2025));
        let mut corrupt = item;
        corrupt.insert("dueDate".into(), s("31.07.2025"));
        assert!(matches!(
            from_item::<Bill>(corrupt),
            Err(StoreError::Data(_))
        ));
    }

    #[test]
    fn arrears_are_unpaid_bills_past_their_due_date() {
        let bill = Bill {
            bill_id: "b".into(),
            tax_name: "재산세".into(),
            year: 2025,
            period: "7월".into(),
            authority: "서울특별시 종로구".into(),
            due_date: NaiveDate::from_ymd_opt(2025, 7, 31).unwrap(),
            amount_krw: 100,
            paid_krw: 40,
        };
        assert_eq!(bill.unpaid_krw(), 60);
        assert!(!bill.in_arrears(NaiveDate::from_ymd_opt(2025, 7, 31).unwrap()));
        assert!(bill.in_arrears(NaiveDate::from_ymd_opt(2025, 8, 1).unwrap()));
        let overpaid = Bill {
            paid_krw: 200,
            ..bill
        };
        assert_eq!(overpaid.unpaid_krw(), 0);
    }
}
