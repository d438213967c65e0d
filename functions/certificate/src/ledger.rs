//! The local-tax ledger (read-only here): bills and payments per taxpayer.
//!
//! Items in the tax-ledger table (the tax-refund function will own the writes):
//! - `TAXPAYER#<userId>` / `PROFILE`: name, address, the authority of residence;
//! - `TAXPAYER#<userId>` / `BILL#<year>#<billId>`: one assessed bill;
//! - `TAXPAYER#<userId>` / `PAY#<billId>#<paymentId>`: one payment of a bill.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::store::{StoreError, item_n, item_s, n, s};

/// A bill in the import file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BillRecord {
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
}

/// A payment in the import file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PaymentRecord {
    /// Unique payment id.
    pub payment_id: String,
    /// The bill paid.
    pub bill_id: String,
    /// Payment date.
    pub paid_on: NaiveDate,
    /// Amount paid.
    pub amount_krw: i64,
    /// How (가상계좌, 자동이체, ...).
    pub method: String,
}

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
    /// Bills.
    pub bills: Vec<BillRecord>,
    /// Payments.
    pub payments: Vec<PaymentRecord>,
}

/// The ledger import file (`infra/devstack/data/tax-ledger.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LedgerFile {
    /// Every taxpayer.
    pub taxpayers: Vec<TaxpayerRecord>,
}

/// A bill with what was paid on it.
#[derive(Debug, Clone, PartialEq)]
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
    /// Sum of the payments.
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

/// Writes one taxpayer's ledger under `user_id`.
pub async fn import(
    db: &Client,
    table: &str,
    user_id: &str,
    t: &TaxpayerRecord,
) -> Result<(), StoreError> {
    let pk = format!("TAXPAYER#{user_id}");
    let mut items = vec![HashMap::from([
        ("pk".to_owned(), s(&pk)),
        ("sk".to_owned(), s("PROFILE")),
        ("name".to_owned(), s(&t.name)),
        ("address".to_owned(), s(&t.address)),
        ("authority".to_owned(), s(&authority_of(&t.address))),
    ])];
    for b in &t.bills {
        items.push(HashMap::from([
            ("pk".to_owned(), s(&pk)),
            (
                "sk".to_owned(),
                s(&format!("BILL#{}#{}", b.year, b.bill_id)),
            ),
            ("billId".to_owned(), s(&b.bill_id)),
            ("taxType".to_owned(), s(&b.tax_type)),
            ("taxName".to_owned(), s(&b.tax_name)),
            ("year".to_owned(), n(b.year)),
            ("period".to_owned(), s(&b.period)),
            ("authority".to_owned(), s(&b.authority)),
            ("assessedOn".to_owned(), s(&b.assessed_on.to_string())),
            ("dueDate".to_owned(), s(&b.due_date.to_string())),
            ("amountKrw".to_owned(), n(b.amount_krw)),
        ]));
    }
    for p in &t.payments {
        items.push(HashMap::from([
            ("pk".to_owned(), s(&pk)),
            (
                "sk".to_owned(),
                s(&format!("PAY#{}#{}", p.bill_id, p.payment_id)),
            ),
            ("billId".to_owned(), s(&p.bill_id)),
            ("paymentId".to_owned(), s(&p.payment_id)),
            ("paidOn".to_owned(), s(&p.paid_on.to_string())),
            ("amountKrw".to_owned(), n(p.amount_krw)),
            ("method".to_owned(), s(&p.method)),
        ]));
    }
    crate::store::put_all(db, table, &items).await
}

/// The ledger of `user_id`, or `None` when the ledger has no such taxpayer.
pub async fn load(db: &Client, table: &str, user_id: &str) -> Result<Option<Ledger>, StoreError> {
    let pk = format!("TAXPAYER#{user_id}");
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
    let mut start = None;
    loop {
        let out = db
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let Some(profile) = items
        .iter()
        .find(|i| i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("PROFILE"))
    else {
        return Ok(None);
    };
    let mut paid: HashMap<String, i64> = HashMap::new();
    for i in &items {
        if item_s(i, "sk")?.starts_with("PAY#") {
            *paid.entry(item_s(i, "billId")?).or_default() += item_n::<i64>(i, "amountKrw")?;
        }
    }
    let mut bills = Vec::new();
    for i in &items {
        if !item_s(i, "sk")?.starts_with("BILL#") {
            continue;
        }
        let bill_id = item_s(i, "billId")?;
        let date = |name: &str| {
            item_s(i, name)?
                .parse::<NaiveDate>()
                .map_err(|_| StoreError::Data(format!("`{name}` is not a date")))
        };
        bills.push(Bill {
            paid_krw: paid.get(&bill_id).copied().unwrap_or(0),
            bill_id,
            tax_name: item_s(i, "taxName")?,
            year: item_n(i, "year")?,
            period: item_s(i, "period")?,
            authority: item_s(i, "authority")?,
            due_date: date("dueDate")?,
            amount_krw: item_n(i, "amountKrw")?,
        });
    }
    bills.sort_by(|a, b| (a.due_date, &a.bill_id).cmp(&(b.due_date, &b.bill_id)));
    Ok(Some(Ledger {
        name: item_s(profile, "name")?,
        address: item_s(profile, "address")?,
        authority: item_s(profile, "authority")?,
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

    #[test]
    fn the_seed_file_is_valid() {
        let file: LedgerFile =
            serde_json::from_str(include_str!("../../../infra/devstack/data/tax-ledger.json"))
                .unwrap();
        assert!(file.taxpayers.iter().any(|t| t.login_id == "citizen1"));
    }
}
