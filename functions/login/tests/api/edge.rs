use lambda_http::Body;
use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn unknown_fields_are_refused_naming_the_field() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1/auth/login",
            json!({"loginId": "citizen1", "password": "x", "isAdmin": true}),
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.body["errors"][0]["field"], "isAdmin");
}

#[tokio::test]
async fn missing_fields_and_wrong_types_are_named() {
    let h = Harness::new().await;
    let r = h
        .post("/v1/auth/login", json!({"loginId": "citizen1"}))
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.body["errors"][0]["field"], "password");
    let r = h
        .post("/v1/auth/login", json!({"loginId": 5, "password": "x"}))
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.body["errors"][0]["field"], "loginId");
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1/auth/login",
            json!({"loginId": "a".repeat(70_000), "password": "x"}),
        )
        .await;
    r.expect_problem(413, "request.too_large");
}

#[tokio::test]
async fn malformed_json_missing_body_and_wrong_content_type_are_4xx() {
    let h = Harness::new().await;
    let req = |ct: Option<&str>, body: Body| {
        let mut b = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/auth/login");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(body).unwrap()
    };
    h.raw(req(
        Some("application/json"),
        Body::Text("{\"loginId\":".into()),
    ))
    .await
    .expect_problem(400, "request.malformed_json");
    h.raw(req(Some("application/json"), Body::Empty))
        .await
        .expect_problem(400, "request.body_missing");
    h.raw(req(Some("text/plain"), Body::Text("{}".into())))
        .await
        .expect_problem(415, "request.unsupported_media_type");
    h.raw(req(None, Body::Text("{}".into())))
        .await
        .expect_problem(415, "request.unsupported_media_type");
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let h = Harness::new().await;
    h.send("GET", "/v1/auth/nothing", None, &[])
        .await
        .expect_problem(404, "not_found");
    let r = h.send("GET", "/v1/auth/login", None, &[]).await;
    r.expect_problem(405, "request.method_not_allowed");
    assert_eq!(r.header("allow"), "POST");
}

#[tokio::test]
async fn jwks_and_discovery_describe_the_signing_keys() {
    let h = Harness::new().await;
    let r = h.send("GET", "/.well-known/jwks.json", None, &[]).await;
    r.expect(200);
    let key = &r.body["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "never the private part");
    let r = h
        .send("GET", "/.well-known/openid-configuration", None, &[])
        .await;
    r.expect(200);
    assert_eq!(r.body["issuer"], h.issuer());
    assert_eq!(
        r.body["jwks_uri"],
        format!("{}/.well-known/jwks.json", h.issuer())
    );
}
