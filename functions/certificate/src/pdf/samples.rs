//! Sample certificates (one of each type, and a long table) for the renderer's
//! tests and the render benchmark: realistic Korean content with fixed dates,
//! so their output is stable.

use chrono::{FixedOffset, NaiveDate, TimeZone};

use super::{Block, Certificate, Section};
use crate::documents::won;

/// A time in Korea Standard Time.
pub fn kst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(9 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
}

/// A compact-JWS-like ASCII payload of about `len` bytes (deterministic).
/// A JWS-looking ASCII payload of `len` bytes (deterministic per `seed`).
pub fn jws(len: usize, seed: u8) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::from("eyJhbGciOiJFZERTQSIsImtpZCI6ImNlcnQtMjAyNi0xIn0.");
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(seed);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if s.len() == len - 87 {
            s.push('.');
        } else {
            s.push(B64[(x % 64) as usize] as char);
        }
    }
    s
}

/// A label/value block.
pub fn fields(pairs: &[(&str, &str)]) -> Block {
    Block::Fields(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

/// A table block.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

/// A section.
pub fn section(heading: &str, block: Block) -> Section {
    Section {
        heading: heading.into(),
        block,
    }
}

/// A land register with ten years of prices.
pub fn land_register(issue_number: &str) -> Certificate {
    let prices = [
        (2026, "5,120,000"),
        (2025, "4,980,000"),
        (2024, "4,812,000"),
        (2023, "4,650,000"),
        (2022, "4,901,000"),
        (2021, "4,433,000"),
        (2020, "4,106,000"),
        (2019, "3,870,000"),
        (2018, "3,511,000"),
        (2017, "3,288,000"),
    ];
    Certificate {
        title: "토지대장".into(),
        subtitle: Some("Land Register".into()),
        sections: vec![
            section(
                "토지 표시",
                fields(&[
                    ("고유번호", "1111010100100010000"),
                    ("도면번호", "23"),
                    (
                        "소재지",
                        "서울특별시 종로구 청운동 1-1 (자하문로 36길 일대)",
                    ),
                    ("지목", "대"),
                    ("면적", "325.40㎡"),
                    ("축척", "1:1200"),
                    (
                        "토지이동 사유",
                        "(40) 2003년 06월 12일 분할되어 본번에 -1을 부함",
                    ),
                ]),
            ),
            section(
                "개별공시지가",
                table(
                    &["기준연도", "기준일자", "공시지가(원/㎡)", "비고"],
                    prices
                        .iter()
                        .map(|(y, p)| {
                            vec![
                                y.to_string(),
                                format!("{y}.01.01"),
                                p.to_string(),
                                String::new(),
                            ]
                        })
                        .collect(),
                ),
            ),
        ],
        statement: "위 토지대장의 기재 내용이 사실과 다름없음을 증명합니다.".into(),
        authority: "서울특별시 종로구청장".into(),
        issued_at: kst(2026, 11, 29, 14, 5),
        valid_until: NaiveDate::from_ymd_opt(2027, 2, 27).unwrap(),
        issue_number: issue_number.into(),
        qr_payload: jws(420, 1),
        verify_url: format!(
            "https://api.pocketgov.example/v1/certificates/{issue_number}/verification"
        ),
    }
}

/// A building register with three buildings.
pub fn building_register() -> Certificate {
    let buildings = vec![
        vec![
            "주동",
            "업무시설",
            "철근콘크리트구조",
            "지상 12 / 지하 3",
            "18,432.55",
            "2011-08-30",
        ],
        vec![
            "부속동",
            "근린생활시설",
            "철골구조",
            "지상 2 / 지하 0",
            "612.30",
            "2011-08-30",
        ],
        vec![
            "주차동",
            "자동차관련시설",
            "철골철근콘크리트구조",
            "지상 5 / 지하 1",
            "4,980.00",
            "2012-02-14",
        ],
    ];
    Certificate {
        title: "건축물대장".into(),
        subtitle: Some("General Building Register".into()),
        sections: vec![
            section(
                "대지 및 건축물 개요",
                fields(&[
                    ("고유번호", "1168010100107360012"),
                    ("대지위치", "서울특별시 강남구 역삼동"),
                    (
                        "도로명주소",
                        "서울특별시 강남구 테헤란로 152 (역삼동, 강남파이낸스센터)",
                    ),
                    ("지번", "736-12"),
                    ("대지면적", "3,154.00㎡"),
                    ("건축면적", "1,402.85㎡"),
                    ("연면적", "24,024.85㎡"),
                    ("건폐율", "44.48%"),
                    ("용적률", "598.21%"),
                    ("주용도", "업무시설"),
                ]),
            ),
            section(
                "건축물 현황",
                table(
                    &[
                        "명칭",
                        "주용도",
                        "구조",
                        "층수(지상/지하)",
                        "연면적(㎡)",
                        "사용승인일",
                    ],
                    buildings
                        .into_iter()
                        .map(|r| r.into_iter().map(String::from).collect())
                        .collect(),
                ),
            ),
        ],
        statement: "위 건축물대장의 기재 내용이 사실과 다름없음을 증명합니다.".into(),
        authority: "서울특별시 강남구청장".into(),
        issued_at: kst(2026, 5, 3, 9, 41),
        valid_until: NaiveDate::from_ymd_opt(2026, 8, 1).unwrap(),
        issue_number: "2026-0503-0941-0007".into(),
        qr_payload: jws(460, 2),
        verify_url:
            "https://api.pocketgov.example/v1/certificates/2026-0503-0941-0007/verification".into(),
    }
}

/// A local-tax payment certificate with arrears.
pub fn tax_payment() -> Certificate {
    Certificate {
        title: "지방세 납세증명서".into(),
        subtitle: Some("Certificate of Local Tax Payment".into()),
        sections: vec![
            section(
                "납세자",
                fields(&[
                    ("성명", "홍길동"),
                    ("주민등록번호", "900101-1******"),
                    ("주소", "서울특별시 마포구 월드컵북로 400 (상암동, 서울산업진흥원) 5층 501호"),
                    ("증명서 용도", "금융기관 제출용"),
                    ("발급 기준일", "2026년 11월 29일"),
                ]),
            ),
            section(
                "증명 내용",
                Block::Text(
                    "위 납세자는 발급 기준일 현재 지방자치단체에 납부하여야 할 지방세, 지방세 가산금 및 \
                     체납처분비를 체납한 사실이 없음을 증명합니다. 다만 징수유예 등의 금액 및 \
                     납부기한이 남아 있는 지방세는 체납으로 보지 않습니다."
                        .into(),
                ),
            ),
            section(
                "체납 내역",
                table(
                    &["세목", "과세연도", "과세기관", "체납액(원)", "비고"],
                    vec![vec!["해당 없음".into(), "-".into(), "-".into(), "0원".into(), String::new()]],
                ),
            ),
        ],
        statement: "위와 같이 지방세 납세 사실을 증명합니다.".into(),
        authority: "서울특별시 마포구청장".into(),
        issued_at: kst(2026, 11, 29, 10, 12),
        valid_until: NaiveDate::from_ymd_opt(2027, 2, 27).unwrap(),
        issue_number: "4821-7730-1150-2264".into(),
        qr_payload: jws(380, 3),
        verify_url: "https://api.pocketgov.example/v1/certificates/4821-7730-1150-2264/verification".into(),
    }
}

/// A local-tax assessment certificate with `rows` bills.
pub fn tax_assessment(rows: usize) -> Certificate {
    let taxes = [
        ("재산세(주택)", "07", 182_400),
        ("재산세(주택)", "09", 182_400),
        ("재산세(건축물)", "07", 45_210),
        ("지역자원시설세", "07", 12_880),
        ("지방교육세", "07", 36_480),
        ("자동차세", "06", 143_000),
        ("자동차세", "12", 143_000),
        ("주민세(개인분)", "08", 10_000),
        ("지방소득세(종합소득)", "05", 284_350),
        ("등록면허세(면허)", "01", 40_500),
        ("재산세(토지)", "09", 318_770),
        ("지방교육세", "09", 63_750),
    ];
    let mut bills = Vec::new();
    for i in 0..rows {
        let (tax, month, amount) = taxes[i % taxes.len()];
        let paid = if i % 5 == 4 { amount / 2 } else { amount };
        bills.push(vec![
            tax.to_string(),
            format!("2026.{month}."),
            "서울특별시 마포구".to_string(),
            won(amount),
            won(paid),
            won(amount - paid),
        ]);
    }
    Certificate {
        title: "지방세 과세증명서".into(),
        subtitle: Some("Certificate of Local Tax Assessment".into()),
        sections: vec![
            section(
                "납세자",
                fields(&[
                    ("성명", "홍길동"),
                    ("주민등록번호", "900101-1******"),
                    ("주소", "서울특별시 마포구 월드컵북로 400 (상암동)"),
                    ("과세연도", "2026년"),
                ]),
            ),
            section(
                "과세 내역",
                table(
                    &[
                        "세목",
                        "과세기간",
                        "과세기관",
                        "부과액(원)",
                        "납부액(원)",
                        "미납액(원)",
                    ],
                    bills,
                ),
            ),
        ],
        statement: "위와 같이 2026년도 지방세 과세 사실을 증명합니다.".into(),
        authority: "서울특별시 마포구청장".into(),
        issued_at: kst(2026, 11, 29, 16, 30),
        valid_until: NaiveDate::from_ymd_opt(2027, 2, 27).unwrap(),
        issue_number: "7310-0042-8876-5519".into(),
        qr_payload: jws(500, 4),
        verify_url:
            "https://api.pocketgov.example/v1/certificates/7310-0042-8876-5519/verification".into(),
    }
}

/// An address of 200 characters, longer than any cell is wide.
pub fn long_address() -> String {
    "서울특별시 종로구 세종대로 209 정부서울청사 별관 "
        .chars()
        .cycle()
        .take(200)
        .collect()
}

/// A certificate with extreme content: a 200-character address, a cell taller than
/// a page, a long paragraph, a long authority and a long verification URL.
pub fn edge_case() -> Certificate {
    let mut c = land_register("1234-5678-9012-3456");
    if let Block::Fields(f) = &mut c.sections[0].block {
        f[2].1 = long_address();
    }
    c.sections.push(section(
        "비고",
        table(
            &["구분", "내용"],
            vec![vec!["참고".into(), "가나다라 ".repeat(3000)]],
        ),
    ));
    c.sections
        .push(section("설명", Block::Text("긴 문단입니다. ".repeat(300))));
    c.authority = "경기도 성남시 분당구 정자일로 행정복지센터 민원담당 특별자치시장".into();
    c.verify_url = format!("https://verify.pocketgov.example/check/{}", "x".repeat(150));
    c
}
