//! What each certificate type says: the printed sections built from a record,
//! the subject, and the signed claims of the QR code. Pure: no I/O.

use chrono::{DateTime, Days, FixedOffset, NaiveDate};
use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ledger::Ledger;
use crate::pdf::{Block, Certificate, Section};
use crate::registers::{Building, Land};

/// How long a certificate verifies as valid.
pub const VALIDITY_DAYS: u64 = 90;

/// The certificate types of api.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 건축물대장.
    BuildingRegister,
    /// 토지대장.
    LandRegister,
    /// 지방세 납세증명서.
    LocalTaxPayment,
    /// 지방세 과세증명서 (for one year).
    LocalTaxAssessment,
}

impl Kind {
    /// Every type.
    pub const ALL: [Kind; 4] = [
        Kind::BuildingRegister,
        Kind::LandRegister,
        Kind::LocalTaxPayment,
        Kind::LocalTaxAssessment,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BuildingRegister => "building-register",
            Kind::LandRegister => "land-register",
            Kind::LocalTaxPayment => "local-tax-payment",
            Kind::LocalTaxAssessment => "local-tax-assessment",
        }
    }

    /// From the API name.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether it is about the citizen (personal data) rather than a parcel.
    pub fn is_personal(self) -> bool {
        matches!(self, Kind::LocalTaxPayment | Kind::LocalTaxAssessment)
    }

    /// The printed title.
    pub fn title(self) -> &'static str {
        match self {
            Kind::BuildingRegister => "건축물대장",
            Kind::LandRegister => "토지대장",
            Kind::LocalTaxPayment => "지방세 납세증명서",
            Kind::LocalTaxAssessment => "지방세 과세증명서",
        }
    }
}

/// The type codes, as a JSON Schema enum (`CertificateType` in the API
/// description).
impl schemars::JsonSchema for Kind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CertificateType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": codes,
            "description": "building-register (건축물대장) and land-register (토지대장) are about a parcel; local-tax-payment (지방세 납세증명서) and local-tax-assessment (지방세 과세증명서, for one year) about the citizen."
        })
    }
}

/// The data a certificate is made from.
#[derive(Debug, Clone)]
pub enum Content {
    /// A land record.
    Land(Land),
    /// A parcel and its buildings.
    Buildings(Land, Vec<Building>),
    /// A taxpayer's arrears as of the issue date.
    Payment(Ledger),
    /// A taxpayer's bills of one year.
    Assessment(Ledger, i32),
}

impl Content {
    /// The type of certificate this content makes.
    pub fn kind(&self) -> Kind {
        match self {
            Content::Land(_) => Kind::LandRegister,
            Content::Buildings(..) => Kind::BuildingRegister,
            Content::Payment(_) => Kind::LocalTaxPayment,
            Content::Assessment(..) => Kind::LocalTaxAssessment,
        }
    }

    /// The subject shown by verification: the parcel number, or the masked
    /// name of the taxpayer.
    pub fn subject(&self) -> String {
        match self {
            Content::Land(l) | Content::Buildings(l, _) => l.pnu.as_str().to_owned(),
            Content::Payment(t) | Content::Assessment(t, _) => mask_name(&t.name),
        }
    }
}

/// `홍길동` → `홍*동`, `남궁민수` → `남**수`, `이산` → `이*`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Everything that identifies one issued certificate.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: &'a str,
    /// When (KST).
    pub issued_at: DateTime<FixedOffset>,
    /// The public base URL of the API, for the printed verification address.
    pub base_url: &'a str,
}

/// The last day a certificate issued at `issued_at` verifies.
pub fn valid_until(issued_at: DateTime<FixedOffset>) -> NaiveDate {
    issued_at
        .date_naive()
        .checked_add_days(Days::new(VALIDITY_DAYS))
        .unwrap_or(NaiveDate::MAX)
}

/// `4620000` → `4,620,000`.
pub(crate) fn won(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        out.insert(0, '-');
    }
    out
}

fn area(v: f64) -> String {
    format!("{v:.2}㎡")
}

fn date_ko(d: NaiveDate) -> String {
    d.format("%Y. %m. %d.").to_string()
}

/// The printed sections, statement and authority of `content`.
pub fn sections(content: &Content, today: NaiveDate) -> (Vec<Section>, String, String) {
    match content {
        Content::Land(l) => (
            vec![
                land_section(l),
                Section {
                    heading: "개별공시지가".into(),
                    block: Block::Table {
                        headers: vec![
                            "기준연도".into(),
                            "기준일자".into(),
                            "개별공시지가(원/㎡)".into(),
                        ],
                        rows: l
                            .official_land_prices
                            .iter()
                            .map(|p| {
                                vec![
                                    format!("{}년", p.year),
                                    format!("{}. 01. 01.", p.year),
                                    won(p.price_per_m2_krw),
                                ]
                            })
                            .collect(),
                    },
                },
                owner_note(),
            ],
            "위 토지대장의 기재 내용이 사실과 다름없음을 증명합니다.".into(),
            l.authority.clone(),
        ),
        Content::Buildings(l, buildings) => (
            vec![
                land_section(l),
                Section {
                    heading: "건축물 현황".into(),
                    block: Block::Table {
                        headers: vec![
                            "명칭".into(),
                            "주용도".into(),
                            "구조".into(),
                            "층수(지상/지하)".into(),
                            "연면적(㎡)".into(),
                            "사용승인일".into(),
                        ],
                        rows: buildings
                            .iter()
                            .map(|b| {
                                vec![
                                    b.name.clone(),
                                    b.main_use.clone(),
                                    b.structure.clone(),
                                    format!("{} / {}", b.floors_above, b.floors_below),
                                    format!("{:.2}", b.total_floor_area_m2),
                                    b.approval_date.clone(),
                                ]
                            })
                            .collect(),
                    },
                },
                owner_note(),
            ],
            "위 건축물대장의 기재 내용이 사실과 다름없음을 증명합니다.".into(),
            l.authority.clone(),
        ),
        Content::Payment(t) => {
            let arrears: Vec<_> = t.bills.iter().filter(|b| b.in_arrears(today)).collect();
            let total: i64 = arrears.iter().map(|b| b.unpaid_krw()).sum();
            let mut sections = vec![
                taxpayer_section(t),
                Section {
                    heading: "체납 현황".into(),
                    block: Block::Fields(vec![
                        ("기준일".into(), date_ko(today)),
                        ("체납 건수".into(), format!("{}건", arrears.len())),
                        ("체납액 합계".into(), format!("{}원", won(total))),
                    ]),
                },
            ];
            if arrears.is_empty() {
                sections.push(Section {
                    heading: "증명 내용".into(),
                    block: Block::Text("위 납세자는 기준일 현재 체납한 지방세가 없습니다.".into()),
                });
            } else {
                sections.push(Section {
                    heading: "체납 내역".into(),
                    block: Block::Table {
                        headers: vec![
                            "과세기관".into(),
                            "세목".into(),
                            "과세기간".into(),
                            "납부기한".into(),
                            "체납액(원)".into(),
                        ],
                        rows: arrears
                            .iter()
                            .map(|b| {
                                vec![
                                    b.authority.clone(),
                                    b.tax_name.clone(),
                                    b.period.clone(),
                                    b.due_date.to_string(),
                                    won(b.unpaid_krw()),
                                ]
                            })
                            .collect(),
                    },
                });
            }
            (
                sections,
                "위와 같이 지방세 납세 사실을 증명합니다.".into(),
                t.authority.clone(),
            )
        }
        Content::Assessment(t, year) => {
            let bills: Vec<_> = t.bills.iter().filter(|b| b.year == *year).collect();
            let mut sections = vec![taxpayer_section(t)];
            if bills.is_empty() {
                sections.push(Section {
                    heading: format!("{year}년 과세 내역"),
                    block: Block::Text(format!("{year}년에 부과된 지방세가 없습니다.")),
                });
            } else {
                let mut rows: Vec<Vec<String>> = bills
                    .iter()
                    .map(|b| {
                        vec![
                            b.authority.clone(),
                            b.tax_name.clone(),
                            b.period.clone(),
                            won(b.amount_krw),
                            won(b.paid_krw),
                            won(b.unpaid_krw()),
                        ]
                    })
                    .collect();
                rows.push(vec![
                    "합계".into(),
                    String::new(),
                    format!("{}건", bills.len()),
                    won(bills.iter().map(|b| b.amount_krw).sum()),
                    won(bills.iter().map(|b| b.paid_krw).sum()),
                    won(bills.iter().map(|b| b.unpaid_krw()).sum()),
                ]);
                sections.push(Section {
                    heading: format!("{year}년 과세 내역"),
                    block: Block::Table {
                        headers: vec![
                            "과세기관".into(),
                            "세목".into(),
                            "과세기간".into(),
                            "부과액(원)".into(),
                            "납부액(원)".into(),
                            "미납액(원)".into(),
                        ],
                        rows,
                    },
                });
            }
            (
                sections,
                format!("위와 같이 {year}년 지방세 과세 사실을 증명합니다."),
                t.authority.clone(),
            )
        }
    }
}

fn land_section(l: &Land) -> Section {
    Section {
        heading: "토지 표시".into(),
        block: Block::Fields(vec![
            ("고유번호".into(), l.pnu.as_str().to_owned()),
            ("지목".into(), l.land_category.clone()),
            ("소재지".into(), l.address.clone()),
            ("면적".into(), area(l.area_m2)),
            (
                "개별공시지가".into(),
                l.official_land_price_per_m2_krw
                    .map(|p| format!("{}원/㎡", won(p)))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]),
    }
}

fn owner_note() -> Section {
    Section {
        heading: "소유자".into(),
        block: Block::Text(
            "소유자 정보는 개인정보 보호를 위하여 이 증명서에 표시하지 않습니다.".into(),
        ),
    }
}

fn taxpayer_section(t: &Ledger) -> Section {
    Section {
        heading: "납세자".into(),
        block: Block::Fields(vec![
            ("성명".into(), t.name.clone()),
            ("주소".into(), t.address.clone()),
        ]),
    }
}

/// SHA-256 (base64url) over the printed title and sections, in a canonical
/// JSON form: what the QR's `dig` claim commits to.
pub fn printed_digest(title: &str, sections: &[Section]) -> String {
    let sections: Vec<Value> = sections
        .iter()
        .map(|s| {
            let block = match &s.block {
                Block::Fields(pairs) => json!({"fields": pairs}),
                Block::Table { headers, rows } => json!({"headers": headers, "rows": rows}),
                Block::Text(t) => json!({"text": t}),
            };
            json!({"heading": s.heading, "block": block})
        })
        .collect();
    let canonical = json!({"title": title, "sections": sections}).to_string();
    BASE64URL_NOPAD.encode(&Sha256::digest(canonical.as_bytes()))
}

/// The claims the QR's JWS signs (short names keep the QR small).
pub fn claims(kind: Kind, subject: &str, issue: &Issue<'_>, digest: &str) -> Value {
    let iat = issue.issued_at.timestamp();
    json!({
        "iss": issue.base_url,
        "no": issue.issue_number,
        "typ": kind.as_str(),
        "sub": subject,
        "iat": iat,
        "exp": iat + i64::try_from(VALIDITY_DAYS).unwrap_or(90) * 86_400,
        "dig": digest,
    })
}

/// The printable certificate (its QR payload is the signed claims).
pub fn certificate(content: &Content, issue: &Issue<'_>, qr_payload: String) -> Certificate {
    let kind = content.kind();
    let (sections, statement, authority) = sections(content, issue.issued_at.date_naive());
    let subtitle = match content {
        Content::Assessment(_, year) => format!("{} ({year})", english(kind)),
        _ => english(kind).to_owned(),
    };
    Certificate {
        title: kind.title().to_owned(),
        subtitle: Some(subtitle),
        sections,
        statement,
        authority,
        issued_at: issue.issued_at,
        valid_until: valid_until(issue.issued_at),
        issue_number: issue.issue_number.to_owned(),
        qr_payload,
        verify_url: format!(
            "{}/v1/certificates/{}/verification",
            issue.base_url, issue.issue_number
        ),
    }
}

fn english(kind: Kind) -> &'static str {
    match kind {
        Kind::BuildingRegister => "Building Register",
        Kind::LandRegister => "Land Register",
        Kind::LocalTaxPayment => "Certificate of Local Tax Payment",
        Kind::LocalTaxAssessment => "Certificate of Local Tax Assessment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Bill;

    #[test]
    fn names_are_masked_but_recognisable() {
        assert_eq!(mask_name("홍길동"), "홍*동");
        assert_eq!(mask_name("남궁민수"), "남**수");
        assert_eq!(mask_name("이산"), "이*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(won(0), "0");
        assert_eq!(won(999), "999");
        assert_eq!(won(1000), "1,000");
        assert_eq!(won(4_620_000), "4,620,000");
        assert_eq!(won(-54_000), "-54,000");
    }

    fn ledger() -> Ledger {
        let bill = |id: &str, year, due: &str, amount, paid| Bill {
            bill_id: id.into(),
            tax_name: "재산세".into(),
            year,
            period: format!("{year}년 7월 정기분"),
            authority: "서울특별시 종로구".into(),
            due_date: due.parse().unwrap(),
            amount_krw: amount,
            paid_krw: paid,
        };
        Ledger {
            name: "홍길동".into(),
            address: "서울특별시 종로구 청운동 1".into(),
            authority: "서울특별시 종로구청장".into(),
            bills: vec![
                bill("a", 2025, "2025-07-31", 100_000, 100_000),
                bill("b", 2025, "2025-09-30", 50_000, 0),
                bill("c", 2026, "2026-12-31", 70_000, 0),
            ],
        }
    }

    #[test]
    fn the_payment_certificate_lists_only_arrears() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let (sections, _, authority) = sections(&Content::Payment(ledger()), today);
        assert_eq!(authority, "서울특별시 종로구청장");
        let Block::Table { rows, .. } = &sections[2].block else {
            panic!("arrears table expected")
        };
        assert_eq!(rows.len(), 1, "only bill b is past due and unpaid");
        assert_eq!(rows[0][4], "50,000");
    }

    #[test]
    fn the_assessment_certificate_covers_one_year_with_a_total() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let (sections, statement, _) = sections(&Content::Assessment(ledger(), 2025), today);
        assert!(statement.contains("2025년"));
        let Block::Table { rows, .. } = &sections[1].block else {
            panic!("bills table expected")
        };
        assert_eq!(rows.len(), 3, "two bills of 2025 and the total");
        assert_eq!(rows[2][3], "150,000");
        assert_eq!(rows[2][5], "50,000");
    }

    #[test]
    fn the_digest_changes_with_any_printed_field() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let (a, _, _) = sections(&Content::Payment(ledger()), today);
        let mut other = ledger();
        other.address.push('2');
        let (b, _, _) = sections(&Content::Payment(other), today);
        assert_eq!(printed_digest("t", &a), printed_digest("t", &a));
        assert_ne!(printed_digest("t", &a), printed_digest("t", &b));
    }

    #[test]
    fn validity_is_ninety_days() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00+09:00").unwrap();
        assert_eq!(
            valid_until(at),
            NaiveDate::from_ymd_opt(2027, 2, 27).unwrap()
        );
    }
}
