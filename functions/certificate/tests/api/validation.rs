//! Bad input: problem+json 4xx naming the field, nothing written.

use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn when_the_issue_request_is_bad_should_answer_4xx_naming_the_field() {
    let h = Harness::new().await;
    let me = h.taxpayer("validator", "citizen1").await;
    for (body, status, field) in [
        (json!({"type": "passport"}), 400, "type"),
        (json!({"type": "land-register"}), 400, "pnu"),
        (json!({"type": "land-register", "pnu": "12345"}), 400, "pnu"),
        (
            json!({"type": "land-register", "pnu": 1111010100100010000_u64}),
            400,
            "pnu",
        ),
        (
            json!({"type": "building-register", "pnu": "1111010100300010000"}),
            400,
            "pnu",
        ),
        (json!({"type": "local-tax-assessment"}), 400, "year"),
        (
            json!({"type": "local-tax-assessment", "year": "2025"}),
            400,
            "year",
        ),
        (
            json!({"type": "local-tax-assessment", "year": 1999}),
            400,
            "year",
        ),
        (
            json!({"type": "local-tax-payment", "year": 2025}),
            400,
            "year",
        ),
        (json!({"pnu": "1111010100100010000"}), 400, "type"),
    ] {
        let r = h.issue(&me, body.clone()).await;
        r.expect_problem(status, "request.invalid");
        assert!(r.fields().contains(&field), "{body}: {}", r.body);
    }
    // An unknown parcel is 404; a parcel without buildings has no building register.
    h.issue(
        &me,
        json!({"type": "land-register", "pnu": "1111010100199990000"}),
    )
    .await
    .expect_problem(404, "register.parcel_not_found");
    let bare = "5176038024200120000"; // forest land in 평창, no building
    let r = h
        .issue(&me, json!({"type": "building-register", "pnu": bare}))
        .await;
    r.expect_problem(422, "certificate.no_buildings");
    // Nothing was issued by any of these.
    let list = h.get(&me, "/v1/certificates").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    assert!(
        h.stack
            .published()
            .await
            .iter()
            .all(|e| e.message["type"] != "certificate.issued"),
        "no certificate.issued event"
    );
}

#[tokio::test]
async fn when_the_idempotency_key_is_missing_or_bad_should_answer_400() {
    let h = Harness::new().await;
    let me = h.citizen("nokey").await;
    let auth = format!("Bearer {}", me.token);
    let r = h
        .call(
            &h.app,
            "POST",
            "/v1/certificates",
            Some(json!({"type": "land-register", "pnu": "1111010100100010000"})),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = h
        .issue_on(
            &h.app,
            &me,
            json!({"type": "land-register", "pnu": "1111010100100010000"}),
            "bad key!",
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn when_a_path_or_method_is_unknown_should_answer_404_or_405() {
    let h = Harness::new().await;
    let me = h.citizen("paths").await;
    h.send(&me, "DELETE", "/v1/certificates", None)
        .await
        .expect_problem(405, "request.method_not_allowed");
    h.send(&me, "GET", "/v1/certificates/verify", None)
        .await
        .expect(400);
    h.send(&me, "GET", "/v1/nothing", None)
        .await
        .expect_problem(404, "not_found");
}
