//! The text messages: one Korean text per event type, all in [`TEMPLATES`], the
//! one place to read and change them.
//!
//! Every text must fit one SMS segment. Korean needs UCS-2, where a segment holds
//! [`SEGMENT_UNITS`] UTF-16 code units (a longer text is split into parts of 67
//! and billed per part). Each slot in a template (`{name:width}`) declares the
//! most code units its value may take; values are clipped to that width (text
//! the citizen or an official typed, such as a device name, ends in `…`), so a
//! template whose fixed text plus its widths fits 70 always renders into one
//! segment. A test checks that for every template, and renders every type with
//! the longest realistic data.

use chrono::{DateTime, FixedOffset};
use shared::codes::{bank_name, province_name};
use shared::events::payloads::{
    AccountLocked, CertificateIssued, ConsentAccessed, ConsentRequested, DeviceRegistered,
    RefreshReused, RefundApproved, RefundPaid, RefundRejected, RefundRequested,
    ReportStatusChanged, ReportSubmitted,
};
use shared::events::{DomainEvent, EventError, Payload};

/// UTF-16 code units in one UCS-2 SMS segment.
pub const SEGMENT_UNITS: usize = 70;

/// The texts, by event type. `{name:width}` is a slot of at most `width` UTF-16
/// code units. The service is named first; security notices say what to do
/// when it was not the citizen.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        DeviceRegistered::TYPE,
        "[손안의정부] 새 기기 '{device:16}' 등록됨. 본인이 아니면 앱에서 기기를 지우고 비밀번호를 바꾸세요.",
    ),
    (
        AccountLocked::TYPE,
        "[손안의정부] 로그인 5회 실패로 {until:13}까지 잠겼습니다. 본인이 아니면 비밀번호를 바꾸세요.",
    ),
    (
        RefreshReused::TYPE,
        "[손안의정부] 로그인 정보가 다시 쓰여 모든 기기에서 로그아웃했습니다. 본인이 아니면 비밀번호를 바꾸세요.",
    ),
    (
        CertificateIssued::TYPE,
        "[손안의정부] {certificate:9} 발급(번호 {number:19}). 본인이 아니면 앱에서 폐기하세요.",
    ),
    (
        RefundRequested::TYPE,
        "[손안의정부] 지방세 환급 {amount:13}원 신청 접수{offset:22}. 심사 후 알립니다.",
    ),
    (
        RefundApproved::TYPE,
        "[손안의정부] 지방세 환급 신청이 승인됐습니다. 지급 예정액 {payable:13}원.",
    ),
    (
        RefundRejected::TYPE,
        "[손안의정부] 지방세 환급 신청이 반려됐습니다. 사유: {reason:38}",
    ),
    (
        RefundPaid::TYPE,
        "[손안의정부] 지방세 환급금 {payable:13}원을 {bank:8} 계좌로 지급했습니다.",
    ),
    (
        ReportSubmitted::TYPE,
        "[손안의정부] {category:6} 신고가 접수됐습니다. 처리 상황을 문자로 알려 드립니다.",
    ),
    (
        ReportStatusChanged::TYPE,
        "[손안의정부] {category:6} 신고 처리 상태: {status:5}. 자세한 내용은 앱에서 확인하세요.",
    ),
    (
        ConsentRequested::TYPE,
        "[손안의정부] {agency:7}에서 '{petition:14}' 처리를 위한 정보 열람 동의를 요청했습니다. 앱에서 확인하세요.",
    ),
    (
        ConsentAccessed::TYPE,
        "[손안의정부] {agency:7} 담당자가 동의에 따라 {document:10} 열람. 동의한 적 없다면 앱에서 철회하세요.",
    ),
];

/// Why an event has no text.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The type is not one that texts the citizen.
    #[error("events of type `{0}` are not texted")]
    NotTexted(String),
    /// The event's data is not what its type says.
    #[error(transparent)]
    Data(#[from] EventError),
}

/// The text for `event`.
pub fn render(event: &DomainEvent) -> Result<String, TextError> {
    let template = template(&event.kind).ok_or_else(|| TextError::NotTexted(event.kind.clone()))?;
    let slots = slots(event)?;
    Ok(fill(template, &slots))
}

/// The template of event type `kind`.
pub fn template(kind: &str) -> Option<&'static str> {
    TEMPLATES.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// How many UTF-16 code units `text` takes in a UCS-2 SMS.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The values of an event's slots, by name.
fn slots(event: &DomainEvent) -> Result<Vec<(&'static str, String)>, EventError> {
    Ok(match event.kind.as_str() {
        DeviceRegistered::TYPE => {
            let p: DeviceRegistered = event.payload()?;
            vec![("device", p.device_name)]
        }
        AccountLocked::TYPE => {
            let p: AccountLocked = event.payload()?;
            let until =
                DateTime::parse_from_rfc3339(&p.locked_until).map_err(|_| EventError::Data {
                    kind: event.kind.clone(),
                    message: "`lockedUntil` is not RFC 3339".into(),
                })?;
            vec![("until", korean_time(until))]
        }
        RefreshReused::TYPE => {
            let _: RefreshReused = event.payload()?;
            Vec::new()
        }
        CertificateIssued::TYPE => {
            let p: CertificateIssued = event.payload()?;
            vec![
                ("certificate", certificate_name(&p.kind).into()),
                ("number", p.issue_number),
            ]
        }
        RefundRequested::TYPE => {
            let p: RefundRequested = event.payload()?;
            // Arrears offset first are named; with none, nothing is said.
            let offset = if p.offset_krw > 0 {
                format!("(체납 충당 {}원)", won(p.offset_krw))
            } else {
                String::new()
            };
            vec![("amount", won(p.amount_krw)), ("offset", offset)]
        }
        RefundApproved::TYPE => {
            let p: RefundApproved = event.payload()?;
            vec![("payable", won(p.payable_krw))]
        }
        RefundRejected::TYPE => {
            let p: RefundRejected = event.payload()?;
            vec![("reason", p.reason)]
        }
        RefundPaid::TYPE => {
            let p: RefundPaid = event.payload()?;
            let bank = bank_name(&p.bank_code).unwrap_or("등록하신");
            vec![("payable", won(p.payable_krw)), ("bank", bank.into())]
        }
        ReportSubmitted::TYPE => {
            let p: ReportSubmitted = event.payload()?;
            vec![("category", category_name(&p.category).into())]
        }
        ReportStatusChanged::TYPE => {
            let p: ReportStatusChanged = event.payload()?;
            vec![
                ("category", category_name(&p.category).into()),
                ("status", status_name(&p.status).into()),
            ]
        }
        ConsentRequested::TYPE => {
            let p: ConsentRequested = event.payload()?;
            vec![
                ("agency", agency_name(&p.agency).into()),
                ("petition", p.petition_name),
            ]
        }
        ConsentAccessed::TYPE => {
            let p: ConsentAccessed = event.payload()?;
            vec![
                ("agency", agency_name(&p.agency).into()),
                ("document", document_name(&p.document).into()),
            ]
        }
        _ => Vec::new(),
    })
}

/// Replaces every `{name:width}` of `template` with its value, clipped to width.
/// A slot without a value stays empty (the tests render every slot).
fn fill(template: &str, slots: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let slot = &rest[open + 1..open + close];
        let (name, width) = slot.split_once(':').unwrap_or((slot, "0"));
        let width = width.parse().unwrap_or(0);
        if let Some((_, value)) = slots.iter().find(|(n, _)| *n == name) {
            out.push_str(&clip(value, width));
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// `value` on one line, at most `width` UTF-16 code units, ending in `…` when
/// cut (never inside a surrogate pair).
pub fn clip(value: &str, width: usize) -> String {
    let line: String = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if units(&line) <= width {
        return line;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf16() + 1 > width {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

/// The fixed text of a template plus the widths of its slots: the most UTF-16
/// code units it can render to.
pub fn widest(template: &str) -> usize {
    let mut total = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        total += units(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len() - open, |c| c);
        let slot = &rest[open + 1..(open + close).min(rest.len())];
        total += slot
            .split_once(':')
            .and_then(|(_, w)| w.parse::<usize>().ok())
            .unwrap_or(0);
        rest = rest.get(open + close + 1..).unwrap_or("");
    }
    total + units(rest)
}

/// `12월 4일 16:45` in Korea Standard Time.
fn korean_time(t: DateTime<FixedOffset>) -> String {
    let kst = FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| t.timezone());
    t.with_timezone(&kst)
        .format("%-m월 %-d일 %H:%M")
        .to_string()
}

/// `1,234,500` (won, digits grouped by three).
fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn certificate_name(kind: &str) -> &'static str {
    match kind {
        "land-register" => "토지대장",
        "building-register" => "건축물대장",
        "local-tax-payment" => "지방세 납세증명서",
        "local-tax-assessment" => "지방세 과세증명서",
        _ => "증명서",
    }
}

fn category_name(category: &str) -> &'static str {
    match category {
        "road-damage" => "도로 파손",
        "streetlight" => "가로등 고장",
        "illegal-parking" => "불법 주정차",
        "facility-hazard" => "시설물 위험",
        "traffic-safety" => "교통안전",
        "environment" => "환경오염",
        _ => "생활불편",
    }
}

fn status_name(status: &str) -> &'static str {
    match status {
        "submitted" => "접수",
        "accepted" => "수용",
        "in-progress" => "처리 중",
        "resolved" => "처리 완료",
        "rejected" => "불수용",
        _ => "변경",
    }
}

fn agency_name(code: &str) -> &'static str {
    province_name(code).unwrap_or("행정기관")
}

fn document_name(code: &str) -> &'static str {
    match code {
        "resident-registration-abstract" => "주민등록표 초본",
        "family-relation-certificate" => "가족관계증명서",
        "local-tax-payment-certificate" => "지방세 납세증명서",
        "building-register" => "건축물대장",
        "land-register" => "토지대장",
        "business-registration-certificate" => "사업자등록증명",
        "health-insurance-eligibility" => "건강보험 자격확인서",
        _ => "행정정보",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::events::TEXTED_TYPES;

    fn event(kind: &str, data: serde_json::Value) -> DomainEvent {
        DomainEvent {
            event_id: "e-1".into(),
            kind: kind.into(),
            occurred_at: "2026-12-04T07:45:00Z".into(),
            user_id: "u-1".into(),
            data,
        }
    }

    /// Each texted type with the longest data it can realistically carry.
    fn longest() -> Vec<DomainEvent> {
        let long_text = "가".repeat(200);
        vec![
            event(
                DeviceRegistered::TYPE,
                json!({"deviceId": "d", "deviceName": "😀".repeat(64)}),
            ),
            event(
                AccountLocked::TYPE,
                json!({"lockedUntil": "2026-12-31T14:59:00Z"}),
            ),
            event(RefreshReused::TYPE, json!({"familyId": "f"})),
            event(
                CertificateIssued::TYPE,
                json!({"issueNumber": "4817-2093-5561-0384", "type": "local-tax-assessment"}),
            ),
            event(
                RefundRequested::TYPE,
                json!({"refundId": "r", "amountKrw": 9_999_999_999_i64, "offsetKrw": 9_999_999_999_i64, "payableKrw": 0}),
            ),
            event(
                RefundApproved::TYPE,
                json!({"refundId": "r", "payableKrw": 9_999_999_999_i64}),
            ),
            event(
                RefundRejected::TYPE,
                json!({"refundId": "r", "reason": long_text}),
            ),
            event(
                RefundPaid::TYPE,
                json!({"refundId": "r", "payableKrw": 9_999_999_999_i64, "bankCode": "002"}),
            ),
            event(
                ReportSubmitted::TYPE,
                json!({"reportId": "p", "category": "illegal-parking"}),
            ),
            event(
                ReportStatusChanged::TYPE,
                json!({"reportId": "p", "category": "facility-hazard", "status": "in-progress"}),
            ),
            event(
                ConsentRequested::TYPE,
                json!({"consentId": "c", "agency": "36", "petitionName": long_text}),
            ),
            event(
                ConsentAccessed::TYPE,
                json!({"consentId": "c", "agency": "51", "document": "health-insurance-eligibility"}),
            ),
        ]
    }

    #[test]
    fn every_texted_type_has_one_template_and_no_other_type_has_one() {
        for kind in TEXTED_TYPES {
            assert_eq!(
                TEMPLATES.iter().filter(|(k, _)| k == kind).count(),
                1,
                "{kind}"
            );
        }
        assert_eq!(TEMPLATES.len(), TEXTED_TYPES.len());
    }

    #[test]
    fn every_template_fits_one_segment_at_its_widest() {
        for (kind, template) in TEMPLATES {
            let widest = widest(template);
            assert!(
                widest <= SEGMENT_UNITS,
                "{kind}: {widest} code units at most"
            );
            assert!(
                template.starts_with("[손안의정부] "),
                "{kind} names the service"
            );
        }
    }

    #[test]
    fn every_texted_type_renders_its_longest_data_in_one_segment() {
        let events = longest();
        assert_eq!(events.len(), TEXTED_TYPES.len());
        for e in &events {
            let text = render(e).unwrap_or_else(|err| panic!("{}: {err}", e.kind));
            assert!(
                units(&text) <= SEGMENT_UNITS,
                "{}: {} units: {text}",
                e.kind,
                units(&text)
            );
            assert!(
                !text.contains('{') && !text.contains('}'),
                "{}: a slot left: {text}",
                e.kind
            );
        }
    }

    #[test]
    fn security_notices_say_what_to_do_when_it_was_not_the_citizen() {
        for kind in [
            DeviceRegistered::TYPE,
            AccountLocked::TYPE,
            RefreshReused::TYPE,
        ] {
            let e = longest().into_iter().find(|e| e.kind == kind).unwrap();
            assert!(render(&e).unwrap().contains("본인이 아니면"), "{kind}");
        }
    }

    #[test]
    fn values_appear_in_the_text() {
        let e = event(
            DeviceRegistered::TYPE,
            json!({"deviceId": "d", "deviceName": "Galaxy S26"}),
        );
        assert_eq!(
            render(&e).unwrap(),
            "[손안의정부] 새 기기 'Galaxy S26' 등록됨. 본인이 아니면 앱에서 기기를 지우고 비밀번호를 바꾸세요."
        );
        let e = event(
            AccountLocked::TYPE,
            json!({"lockedUntil": "2026-12-04T07:45:00Z"}),
        );
        assert!(render(&e).unwrap().contains("12월 4일 16:45까지"));
        let e = event(
            RefundPaid::TYPE,
            json!({"refundId": "r", "payableKrw": 1_234_500, "bankCode": "090"}),
        );
        assert!(
            render(&e)
                .unwrap()
                .contains("1,234,500원을 카카오뱅크 계좌로")
        );
        let e = event(
            CertificateIssued::TYPE,
            json!({"issueNumber": "4817-2093-5561-0384", "type": "land-register"}),
        );
        assert!(
            render(&e)
                .unwrap()
                .contains("토지대장 발급(번호 4817-2093-5561-0384)")
        );
    }

    #[test]
    fn long_typed_text_is_clipped_on_one_line_and_never_splits_a_surrogate_pair() {
        assert_eq!(clip("Galaxy\nS26", 16), "Galaxy S26");
        let clipped = clip(&"😀".repeat(10), 6);
        assert_eq!(clipped, "😀😀…");
        assert!(units(&clipped) <= 6);
        assert_eq!(clip("가나다라마바", 4), "가나다…");
    }

    #[test]
    fn data_that_is_not_what_the_type_says_is_an_error_and_other_types_have_no_text() {
        let e = event(RefundPaid::TYPE, json!({"refundId": "r"}));
        assert!(matches!(render(&e), Err(TextError::Data(_))));
        let e = event("certificate.revoked", json!({}));
        assert!(matches!(render(&e), Err(TextError::NotTexted(_))));
    }

    #[test]
    fn amounts_are_grouped_by_three() {
        assert_eq!(won(0), "0");
        assert_eq!(won(999), "999");
        assert_eq!(won(1000), "1,000");
        assert_eq!(won(9_999_999_999), "9,999,999,999");
        assert_eq!(won(-46_000), "-46,000");
    }

    #[test]
    fn a_refund_claim_names_the_offset_only_when_arrears_were_offset() {
        let claim = |offset: i64| {
            render(&event(
                RefundRequested::TYPE,
                json!({"refundId": "r", "amountKrw": 300_000, "offsetKrw": offset, "payableKrw": 300_000 - offset}),
            ))
            .unwrap()
        };
        assert_eq!(
            claim(150_000),
            "[손안의정부] 지방세 환급 300,000원 신청 접수(체납 충당 150,000원). 심사 후 알립니다."
        );
        assert_eq!(
            claim(0),
            "[손안의정부] 지방세 환급 300,000원 신청 접수. 심사 후 알립니다."
        );
    }
}
