//! Another citizen's certificates are invisible (404), and personal
//! certificates are only ever about the caller.

use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn when_another_citizen_asks_for_my_certificate_should_answer_404() {
    let h = Harness::new().await;
    let me = h.taxpayer("owner", "citizen1").await;
    let other = h.taxpayer("stranger", "citizen2").await;
    let r = h.issue(&me, json!({"type": "local-tax-payment"})).await;
    r.expect(201);
    let no = r.str("issueNumber");
    for (method, path) in [
        ("GET", format!("/v1/certificates/{no}")),
        ("POST", format!("/v1/certificates/{no}/revocation")),
        ("GET", format!("/v1/certificates/{no}/verifications")),
    ] {
        let r = h.send(&other, method, &path, None).await;
        r.expect_problem(404, "not_found");
    }
    // Nothing changed: still valid, and absent from the stranger's list.
    assert_eq!(h.verify_number(&no).await.body["valid"], true);
    let list = h.get(&other, "/v1/certificates").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn when_a_tax_certificate_is_requested_for_someone_else_should_refuse() {
    let h = Harness::new().await;
    let me = h.taxpayer("taxme", "citizen2").await;
    let victim = h.taxpayer("victim", "citizen1").await;
    // There is no field to name another taxpayer: any attempt is an unknown field.
    for field in ["userId", "subject", "loginId", "taxpayer"] {
        let mut body = json!({"type": "local-tax-payment"});
        body[field] = json!(victim.user_id);
        let r = h.issue(&me, body).await;
        r.expect_problem(400, "request.invalid");
        assert_eq!(r.fields(), [field]);
    }
    // My certificate is about me only.
    let r = h
        .issue(&me, json!({"type": "local-tax-assessment", "year": 2025}))
        .await;
    r.expect(201);
    let pdf = crate::common::download(&r.str("downloadUrl")).await.2;
    let text = crate::common::pdf_text(&pdf);
    assert!(text.contains("김영희"), "{text}");
    assert!(!text.contains("홍길동"));
    // A citizen without a ledger gets 404, not someone else's.
    let nobody = h.citizen("nobody").await;
    h.issue(&nobody, json!({"type": "local-tax-payment"}))
        .await
        .expect_problem(404, "certificate.no_tax_record");
}

#[tokio::test]
async fn when_not_signed_in_should_answer_401_except_on_public_routes() {
    let h = Harness::new().await;
    for (method, path) in [
        ("POST", "/v1/certificates"),
        ("GET", "/v1/certificates"),
        ("GET", "/v1/certificates/4111-1111-1111-1111"),
        ("POST", "/v1/certificates/4111-1111-1111-1111/revocation"),
        ("GET", "/v1/certificates/4111-1111-1111-1111/verifications"),
    ] {
        let r = h.call(&h.app, method, path, None, &[]).await;
        r.expect_problem(401, "auth.invalid_token");
    }
    let forged = h
        .call(
            &h.app,
            "GET",
            "/v1/certificates",
            None,
            &[("authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")],
        )
        .await;
    forged.expect_problem(401, "auth.invalid_token");
}
