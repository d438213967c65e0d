//! Verification: by number, by uploaded PDF, revocation, expiry, the log.

use serde_json::json;

use crate::common::{DAY, Harness, download};

const CHEONGUN: &str = "1111010100100010000";

async fn issued(h: &Harness, who: &crate::common::Citizen) -> (String, Vec<u8>) {
    let r = h
        .issue(who, json!({"type": "land-register", "pnu": CHEONGUN}))
        .await;
    r.expect(201);
    let (_, _, pdf) = download(&r.str("downloadUrl")).await;
    (r.str("issueNumber"), pdf)
}

#[tokio::test]
async fn when_one_byte_of_the_pdf_changes_should_answer_altered() {
    let h = Harness::new().await;
    let me = h.citizen("alter").await;
    let (no, mut pdf) = issued(&h, &me).await;
    let middle = pdf.len() / 2;
    pdf[middle] ^= 0x01;
    let r = h.verify_pdf(&pdf, "application/pdf").await;
    r.expect(200);
    assert_eq!(r.body["valid"], false);
    assert_eq!(r.str("reason"), "altered");
    assert_eq!(r.str("issueNumber"), no);
}

#[tokio::test]
async fn when_revoked_should_answer_revoked_by_number_and_by_pdf() {
    let h = Harness::new().await;
    let me = h.citizen("revoker").await;
    let (no, pdf) = issued(&h, &me).await;
    let r = h
        .send(
            &me,
            "POST",
            &format!("/v1/certificates/{no}/revocation"),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.str("status"), "revoked");
    assert!(r.body["revokedAt"].is_string());
    let v = h.verify_number(&no).await;
    v.expect(200);
    assert_eq!(v.body["valid"], false);
    assert_eq!(v.str("reason"), "revoked");
    let u = h.verify_pdf(&pdf, "application/pdf").await;
    assert_eq!(u.body["valid"], false);
    assert_eq!(u.str("reason"), "revoked");
    // Revoking again changes nothing.
    let again = h
        .send(
            &me,
            "POST",
            &format!("/v1/certificates/{no}/revocation"),
            None,
        )
        .await;
    again.expect(200);
    assert_eq!(again.str("revokedAt"), r.str("revokedAt"));
    let revoked_events = h
        .stack
        .published()
        .await
        .into_iter()
        .filter(|e| e.message["type"] == "certificate.revoked")
        .count();
    assert_eq!(revoked_events, 1);
}

#[tokio::test]
async fn when_revoked_twice_at_the_same_moment_should_keep_one_revocation_and_one_event() {
    // GIVEN an issued certificate
    let h = Harness::new().await;
    let me = h.citizen("double-revoker").await;
    let (no, _) = issued(&h, &me).await;
    // WHEN its owner revokes it twice at once
    let path = format!("/v1/certificates/{no}/revocation");
    let (a, b) = tokio::join!(
        h.send(&me, "POST", &path, None),
        h.send(&me, "POST", &path, None)
    );
    // THEN both answer the one revocation, and one event reports it
    a.expect(200);
    b.expect(200);
    assert_eq!(a.str("revokedAt"), b.str("revokedAt"));
    let revoked: Vec<_> = h
        .stack
        .outbox("CertificateTable")
        .await
        .into_iter()
        .filter(|e| e["type"] == "certificate.revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["data"]["issueNumber"], no.as_str());
}

#[tokio::test]
async fn when_issued_91_days_ago_should_answer_expired() {
    // GIVEN a certificate issued by an instance whose clock is 91 days behind
    let h = Harness::new().await;
    let me = h.citizen("old-timer").await;
    let past = Harness::certificate_app(&h.stack, &h.login, Some(91 * DAY)).await;
    let r = h
        .issue_on(
            &past,
            &me,
            json!({"type": "land-register", "pnu": CHEONGUN}),
            "old-1",
        )
        .await;
    r.expect(201);
    let no = r.str("issueNumber");
    let (_, _, pdf) = download(&r.str("downloadUrl")).await;
    // WHEN it is verified today
    let v = h.verify_number(&no).await;
    // THEN it has expired, by number and by PDF
    v.expect(200);
    assert_eq!(v.body["valid"], false);
    assert_eq!(v.str("reason"), "expired");
    let u = h.verify_pdf(&pdf, "application/pdf").await;
    assert_eq!(u.str("reason"), "expired");
    // AND its owner sees it as expired, without a download URL
    let m = h.get(&me, &format!("/v1/certificates/{no}")).await;
    m.expect(200);
    assert_eq!(m.str("status"), "expired");
    assert!(m.body.get("downloadUrl").is_none());

    // AND one issued 89 days ago still verifies
    let recent = Harness::certificate_app(&h.stack, &h.login, Some(89 * DAY)).await;
    let r = h
        .issue_on(
            &recent,
            &me,
            json!({"type": "land-register", "pnu": CHEONGUN}),
            "old-2",
        )
        .await;
    let v = h.verify_number(&r.str("issueNumber")).await;
    assert_eq!(v.body["valid"], true, "{}", v.body);
}

#[tokio::test]
async fn when_unknown_should_answer_404_by_number_and_unknown_by_pdf() {
    let h = Harness::new().await;
    // A well-formed number (valid check digit) that was never issued.
    h.verify_number("4111-1111-1111-1111")
        .await
        .expect_problem(404, "not_found");
    let r = h.verify_number("4111-1111-1111-1112").await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["issueNumber"]);
    let u = h
        .verify_pdf(
            b"%PDF-1.7\n% a pdf that pocketgov never issued\n%%EOF",
            "application/pdf",
        )
        .await;
    u.expect(200);
    assert_eq!(u.body, json!({"valid": false, "reason": "unknown"}));
}

#[tokio::test]
async fn when_the_upload_is_not_a_pdf_or_too_large_should_refuse_it() {
    let h = Harness::new().await;
    h.verify_pdf(b"%PDF-1.7", "text/plain")
        .await
        .expect_problem(415, "request.unsupported_media_type");
    let r = h
        .verify_pdf(b"<html>not a pdf</html>", "application/pdf")
        .await;
    r.expect_problem(400, "certificate.not_pdf");
    assert_eq!(r.fields(), ["body"]);
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    h.verify_pdf(&big, "application/pdf")
        .await
        .expect_problem(413, "request.too_large");
}

#[tokio::test]
async fn when_verified_should_log_each_check_for_the_owner() {
    let h = Harness::new().await;
    let me = h.citizen("logged").await;
    let (no, pdf) = issued(&h, &me).await;
    h.verify_number(&no).await.expect(200);
    h.verify_pdf(&pdf, "application/pdf").await.expect(200);
    let mut altered = pdf.clone();
    altered[100] ^= 0x20;
    h.verify_pdf(&altered, "application/pdf").await.expect(200);
    let r = h
        .get(&me, &format!("/v1/certificates/{no}/verifications"))
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{}", r.body);
    let channels: Vec<&str> = items
        .iter()
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.iter().filter(|c| **c == "pdf").count(), 2);
    assert_eq!(channels.iter().filter(|c| **c == "number").count(), 1);
    assert!(items.iter().any(|i| i["result"] == "altered"));
    for i in items {
        chrono::DateTime::parse_from_rfc3339(i["checkedAt"].as_str().unwrap()).unwrap();
    }
}

#[tokio::test]
async fn when_fetching_the_keys_should_publish_ed25519_jwks_without_private_parts() {
    let h = Harness::new().await;
    let r = h
        .call(&h.app, "GET", "/v1/certificates/keys", None, &[])
        .await;
    r.expect(200);
    let keys = r.body["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["kty"], "OKP");
        assert_eq!(k["crv"], "Ed25519");
        assert_eq!(k["alg"], "EdDSA");
        assert!(k.get("d").is_none());
    }
    assert_eq!(&r.body, h.app.jwks());
}

#[tokio::test]
async fn when_the_qr_code_is_scanned_its_jws_verifies_with_the_published_key_and_not_another() {
    // GIVEN an issued certificate and the published keys
    let h = Harness::new().await;
    let me = h.citizen("scanner").await;
    let (no, pdf) = issued(&h, &me).await;
    let keys = h
        .call(&h.app, "GET", "/v1/certificates/keys", None, &[])
        .await
        .body;
    // WHEN the QR code printed on it is read
    let jws = crate::common::qr_payload(&pdf);
    // THEN it is a compact JWS (EdDSA) that verifies with the published key
    let header: serde_json::Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(jws.split('.').next().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let claims = shared::eddsa::verify(&jws, &keys).expect("verifies with the published key");
    assert_eq!(claims["no"], no.as_str());
    assert_eq!(claims["typ"], "land-register");
    assert_eq!(claims["sub"], CHEONGUN);
    let issued_at = h.verify_number(&no).await.str("issuedAt");
    assert_eq!(
        claims["iat"],
        chrono::DateTime::parse_from_rfc3339(&issued_at)
            .unwrap()
            .timestamp()
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        90 * DAY
    );
    assert_eq!(
        claims["dig"].as_str().unwrap().len(),
        43,
        "base64url SHA-256"
    );
    // AND fails with another key set, even under the same kid
    let kid = header["kid"].as_str().unwrap();
    let other =
        shared::eddsa::KeySet::from_json(&shared::eddsa::KeySet::generate_json(kid, None)).unwrap();
    assert_eq!(
        shared::eddsa::verify(&jws, &other.jwks()),
        Err(shared::eddsa::JwsError::Signature)
    );
}
