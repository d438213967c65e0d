//! Render benchmark: `cargo bench -p certificate --bench render`.
//!
//! Renders each of four sample certificates (land register, building register, local-tax
//! payment, local-tax assessment with 12 bills) `BENCH_N` times (default 200) and prints,
//! per type, the median and p90 render time in ms and the PDF size in bytes, then the
//! process's peak RSS (VmHWM from /proc/self/status).

use std::time::Instant;

use certificate::pdf::{Block, Certificate, Section, render};
use chrono::{FixedOffset, NaiveDate, TimeZone};

fn kst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(9 * 3600)
        .and_then(|tz| tz.with_ymd_and_hms(y, mo, d, h, mi, 0).single())
        .expect("valid sample date")
}

/// A compact-JWS-like ASCII payload of `len` bytes (deterministic).
fn jws(len: usize, seed: u32) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::from("eyJhbGciOiJFZERTQSIsImtpZCI6ImNlcnQtMjAyNi0xIn0.");
    let mut x: u32 = 0x9E37_79B9 ^ seed;
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

fn fields(pairs: &[(&str, &str)]) -> Block {
    Block::Fields(
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table {
        headers: headers.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}

fn section(heading: &str, block: Block) -> Section {
    Section {
        heading: heading.into(),
        block,
    }
}

fn won(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn certificate(
    title: &str,
    subtitle: &str,
    sections: Vec<Section>,
    statement: &str,
    authority: &str,
    issue_number: &str,
    payload_len: usize,
) -> Certificate {
    Certificate {
        title: title.into(),
        subtitle: Some(subtitle.into()),
        sections,
        statement: statement.into(),
        authority: authority.into(),
        issued_at: kst(2026, 11, 29, 14, 5),
        valid_until: NaiveDate::from_ymd_opt(2027, 2, 27).expect("valid date"),
        issue_number: issue_number.into(),
        qr_payload: jws(payload_len, payload_len as u32),
        verify_url: format!(
            "https://api.pocketgov.example/v1/certificates/{issue_number}/verification"
        ),
    }
}

fn land_register() -> Certificate {
    let prices = [
        "5,120,000",
        "4,980,000",
        "4,812,000",
        "4,650,000",
        "4,901,000",
        "4,433,000",
        "4,106,000",
        "3,870,000",
        "3,511,000",
        "3,288,000",
    ];
    let rows = prices
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let year = 2026 - i;
            vec![
                year.to_string(),
                format!("{year}.01.01"),
                p.to_string(),
                String::new(),
            ]
        })
        .collect();
    certificate(
        "토지대장",
        "Land Register",
        vec![
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
                table(&["기준연도", "기준일자", "공시지가(원/㎡)", "비고"], rows),
            ),
        ],
        "위 토지대장의 기재 내용이 사실과 다름없음을 증명합니다.",
        "서울특별시 종로구청장",
        "1234-5678-9012-3456",
        420,
    )
}

fn building_register() -> Certificate {
    let buildings = [
        [
            "주동",
            "업무시설",
            "철근콘크리트구조",
            "지상 12 / 지하 3",
            "18,432.55",
            "2011-08-30",
        ],
        [
            "부속동",
            "근린생활시설",
            "철골구조",
            "지상 2 / 지하 0",
            "612.30",
            "2011-08-30",
        ],
        [
            "주차동",
            "자동차관련시설",
            "철골철근콘크리트구조",
            "지상 5 / 지하 1",
            "4,980.00",
            "2012-02-14",
        ],
    ];
    certificate(
        "건축물대장",
        "General Building Register",
        vec![
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
                        .iter()
                        .map(|r| r.iter().map(|s| s.to_string()).collect())
                        .collect(),
                ),
            ),
        ],
        "위 건축물대장의 기재 내용이 사실과 다름없음을 증명합니다.",
        "서울특별시 강남구청장",
        "2026-0503-0941-0007",
        460,
    )
}

fn tax_payment() -> Certificate {
    certificate(
        "지방세 납세증명서",
        "Certificate of Local Tax Payment",
        vec![
            section(
                "납세자",
                fields(&[
                    ("성명", "홍길동"),
                    ("주민등록번호", "900101-1******"),
                    (
                        "주소",
                        "서울특별시 마포구 월드컵북로 400 (상암동, 서울산업진흥원) 5층 501호",
                    ),
                    ("증명서 용도", "금융기관 제출용"),
                    ("발급 기준일", "2026년 11월 29일"),
                ]),
            ),
            section(
                "증명 내용",
                Block::Text(
                    "위 납세자는 발급 기준일 현재 지방자치단체에 납부하여야 할 지방세, 지방세 \
                     가산금 및 체납처분비를 체납한 사실이 없음을 증명합니다. 다만 징수유예 등의 \
                     금액 및 납부기한이 남아 있는 지방세는 체납으로 보지 않습니다."
                        .into(),
                ),
            ),
            section(
                "체납 내역",
                table(
                    &["세목", "과세연도", "과세기관", "체납액(원)", "비고"],
                    vec![vec![
                        "해당 없음".into(),
                        "-".into(),
                        "-".into(),
                        "0원".into(),
                        String::new(),
                    ]],
                ),
            ),
        ],
        "위와 같이 지방세 납세 사실을 증명합니다.",
        "서울특별시 마포구청장",
        "4821-7730-1150-2264",
        380,
    )
}

fn tax_assessment() -> Certificate {
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
    let bills = taxes
        .iter()
        .enumerate()
        .map(|(i, (tax, month, amount))| {
            let paid = if i % 5 == 4 { amount / 2 } else { *amount };
            vec![
                tax.to_string(),
                format!("2026.{month}."),
                "서울특별시 마포구".to_string(),
                won(*amount),
                won(paid),
                won(amount - paid),
            ]
        })
        .collect();
    certificate(
        "지방세 과세증명서",
        "Certificate of Local Tax Assessment",
        vec![
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
        "위와 같이 2026년도 지방세 과세 사실을 증명합니다.",
        "서울특별시 마포구청장",
        "7310-0042-8876-5519",
        500,
    )
}

/// The `q`-quantile of sorted samples (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(1);
    let samples = [
        ("land-register", land_register()),
        ("building-register", building_register()),
        ("local-tax-payment", tax_payment()),
        ("local-tax-assessment", tax_assessment()),
    ];

    // The first render parses the embedded font (once per process): time it separately.
    let start = Instant::now();
    let first = render(&samples[0].1).expect("render");
    let cold_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "first render (font parsing included): {cold_ms:.2} ms, {} bytes",
        first.len()
    );
    println!("renders per type: {n}");
    println!(
        "{:<22} {:>10} {:>10} {:>10}",
        "type", "median ms", "p90 ms", "bytes"
    );

    for (name, c) in &samples {
        let mut times = Vec::with_capacity(n);
        let mut size = 0;
        for _ in 0..n {
            let start = Instant::now();
            let pdf = render(c).expect("render");
            times.push(start.elapsed().as_secs_f64() * 1e3);
            size = std::hint::black_box(pdf).len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<22} {:>10.2} {:>10.2} {size:>10}",
            quantile(&times, 0.5),
            quantile(&times, 0.9)
        );
    }
    match peak_rss_kib() {
        Some(kib) => println!(
            "peak RSS (VmHWM): {kib} KiB ({:.1} MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("peak RSS (VmHWM): unavailable"),
    }
}
