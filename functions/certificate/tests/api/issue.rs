//! Issuing, downloading and listing certificates.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Harness, download, pdf_text};

const CHEONGUN: &str = "1111010100100010000";

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn when_each_type_is_issued_should_download_a_pdf_that_verifies_by_number_and_upload() {
    // GIVEN a citizen with the demo tax ledger
    let h = Harness::new().await;
    let me = h.taxpayer("hong", "citizen1").await;
    let cases: [(Value, &str, &str); 4] = [
        (
            json!({"type": "land-register", "pnu": CHEONGUN}),
            "토지대장",
            "서울특별시 종로구 청운동 1",
        ),
        (
            json!({"type": "building-register", "pnu": CHEONGUN}),
            "건축물대장",
            "청운빌라 가동",
        ),
        (
            json!({"type": "local-tax-payment"}),
            "지방세 납세증명서",
            "홍길동",
        ),
        (
            json!({"type": "local-tax-assessment", "year": 2025}),
            "지방세 과세증명서",
            "재산세",
        ),
    ];
    for (body, title, printed) in cases {
        let kind = body["type"].as_str().unwrap().to_owned();
        // WHEN it is issued
        let r = h.issue(&me, body).await;
        // THEN 201 with the contract's fields
        r.expect(201);
        let no = r.str("issueNumber");
        assert_eq!(no.len(), 19, "{no}");
        assert!(
            no.chars()
                .enumerate()
                .all(|(i, c)| if [4, 9, 14].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                })
        );
        assert_eq!(r.str("type"), kind);
        assert!(
            chrono::DateTime::parse_from_rfc3339(&r.str("issuedAt"))
                .unwrap()
                .offset()
                .local_minus_utc()
                == 9 * 3600
        );
        let expires = chrono::DateTime::parse_from_rfc3339(&r.str("downloadExpiresAt")).unwrap();
        let lifetime = expires.timestamp() - shared::time::now_secs();
        assert!(
            (290..=300).contains(&lifetime),
            "download URL lives 300 s, got {lifetime}"
        );
        assert_eq!(r.header("location"), format!("/v1/certificates/{no}"));

        // AND the presigned URL gives the PDF whose SHA-256 was announced
        let (status, content_type, pdf) = download(&r.str("downloadUrl")).await;
        assert_eq!(status, 200);
        assert_eq!(content_type, "application/pdf");
        assert_eq!(hex_sha256(&pdf), r.str("sha256"));
        assert!(pdf.starts_with(b"%PDF-"));

        // AND its text has the title, the issue number and the record's data
        let text = pdf_text(&pdf);
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(&title.replace(' ', "")), "{kind}: {text}");
        assert!(text.contains(&no), "{kind}: issue number in the text");
        assert!(
            compact.contains(&printed.replace(' ', "")),
            "{kind}: {printed} in {text}"
        );
        assert!(!text.contains("설하람"), "owners are never printed");

        // AND it verifies by number and by upload
        let v = h.verify_number(&no).await;
        v.expect(200);
        assert_eq!(v.body["valid"], true, "{}", v.body);
        assert_eq!(v.str("type"), kind);
        assert_eq!(v.str("sha256"), r.str("sha256"));
        let u = h.verify_pdf(&pdf, "application/pdf").await;
        u.expect(200);
        assert_eq!(u.body["valid"], true, "{}", u.body);
        assert_eq!(u.str("issueNumber"), no);
        assert_eq!(u.str("issuedAt"), r.str("issuedAt"));
    }
    // AND one certificate.issued event per certificate
    let published = h.stack.published().await;
    let issued: Vec<_> = published
        .iter()
        .filter(|e| e.message["type"] == "certificate.issued")
        .collect();
    assert_eq!(issued.len(), 4);
    assert!(
        issued
            .iter()
            .all(|e| e.message["userId"] == me.user_id.as_str())
    );
}

#[tokio::test]
async fn when_a_tax_certificate_is_verified_should_show_a_masked_subject() {
    let h = Harness::new().await;
    let me = h.taxpayer("masked", "citizen1").await;
    let r = h.issue(&me, json!({"type": "local-tax-payment"})).await;
    r.expect(201);
    let v = h.verify_number(&r.str("issueNumber")).await;
    v.expect(200);
    assert_eq!(v.str("subject"), "홍*동");
    let text = pdf_text(&download(&r.str("downloadUrl")).await.2);
    // citizen1 has two bills in arrears in the demo ledger.
    assert!(text.contains("B2025") || text.contains("체납"), "{text}");
}

#[tokio::test]
async fn citizen3s_ledger_prints_the_bill_paid_twice_as_paid_and_the_2025_property_tax_in_arrears()
{
    // GIVEN the demo ledger of citizen3 (overpayments and one unpaid bill)
    let h = Harness::new().await;
    let me = h.taxpayer("yisunsin", "citizen3").await;
    // WHEN a payment certificate and the 2022 assessment are issued
    let r = h.issue(&me, json!({"type": "local-tax-payment"})).await;
    r.expect(201);
    let text = pdf_text(&download(&r.str("downloadUrl")).await.2);
    // THEN the unpaid 2025 property tax is the one bill in arrears
    assert!(
        text.contains("1건") && text.contains("2025년 9월 정기분"),
        "{text}"
    );
    assert!(text.contains("150,000원"), "{text}");
    assert!(
        !text.contains("2022년 7월 정기분"),
        "paid twice is not in arrears: {text}"
    );
    let r = h
        .issue(&me, json!({"type": "local-tax-assessment", "year": 2022}))
        .await;
    r.expect(201);
    let text = pdf_text(&download(&r.str("downloadUrl")).await.2);
    assert!(text.contains("2022년 7월 정기분"), "{text}");
    assert!(text.contains("300,000"), "{text}");
}

#[tokio::test]
async fn when_the_same_idempotency_key_is_replayed_should_return_the_same_issue_number() {
    let h = Harness::new().await;
    let me = h.citizen("replayer").await;
    let body = json!({"type": "land-register", "pnu": CHEONGUN});
    let first = h.issue_on(&h.app, &me, body.clone(), "key-1").await;
    first.expect(201);
    let again = h.issue_on(&h.app, &me, body, "key-1").await;
    again.expect(201);
    assert_eq!(again.str("issueNumber"), first.str("issueNumber"));
    assert_eq!(again.header("idempotent-replayed"), "true");
    // A different body under the same key is refused.
    h.issue_on(
        &h.app,
        &me,
        json!({"type": "building-register", "pnu": CHEONGUN}),
        "key-1",
    )
    .await
    .expect_problem(422, "idempotency.key_reused");
    // Only one certificate exists.
    let list = h.get(&me, "/v1/certificates").await;
    list.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn when_concurrent_requests_share_a_key_should_issue_one_certificate() {
    let h = Harness::new().await;
    let me = h.citizen("racer").await;
    let body = json!({"type": "land-register", "pnu": CHEONGUN});
    let replies = futures::future::join_all(
        (0..4).map(|_| h.issue_on(&h.app, &me, body.clone(), "same-key")),
    )
    .await;
    let numbers: std::collections::BTreeSet<String> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.str("issueNumber"))
        .collect();
    assert_eq!(
        numbers.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .all(|r| r.status == 201 || r.code() == "idempotency.in_progress")
    );
    let list = h.get(&me, "/v1/certificates").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    // One certificate, one event, written with its record.
    let outbox = h.stack.outbox("CertificateTable").await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["type"], "certificate.issued");
    assert_eq!(
        outbox[0]["data"]["issueNumber"],
        numbers.first().unwrap().as_str()
    );
    assert_eq!(outbox[0]["userId"], me.user_id.as_str());
    assert_eq!(h.stack.carry_events().await, 1);
}

#[tokio::test]
async fn when_listing_should_show_my_certificates_newest_first_with_paging() {
    let h = Harness::new().await;
    let me = h.citizen("lister").await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let r = h
            .issue(&me, json!({"type": "land-register", "pnu": CHEONGUN}))
            .await;
        r.expect(201);
        numbers.push(r.str("issueNumber"));
        // Distinct issue times order the list.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let first = h.get(&me, "/v1/certificates?limit=2").await;
    first.expect(200);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["issueNumber"], numbers[2].as_str());
    assert_eq!(items[1]["issueNumber"], numbers[1].as_str());
    assert_eq!(items[0]["status"], "issued");
    let cursor = first.str("nextCursor");
    let second = h
        .get(&me, &format!("/v1/certificates?limit=2&cursor={cursor}"))
        .await;
    second.expect(200);
    assert_eq!(second.body["items"][0]["issueNumber"], numbers[0].as_str());
    assert!(
        second.body.get("nextCursor").is_none(),
        "the last page has no cursor"
    );
    let exact = h.get(&me, "/v1/certificates?limit=3").await;
    assert_eq!(exact.body["items"].as_array().unwrap().len(), 3);
    assert!(
        exact.body.get("nextCursor").is_none(),
        "a full last page has no cursor either"
    );

    // Fetching one gives its metadata and a fresh download URL.
    let one = h
        .get(&me, &format!("/v1/certificates/{}", numbers[0]))
        .await;
    one.expect(200);
    assert_eq!(one.str("status"), "issued");
    let (status, _, pdf) = download(&one.str("downloadUrl")).await;
    assert_eq!(status, 200);
    assert_eq!(hex_sha256(&pdf), one.str("sha256"));
}
