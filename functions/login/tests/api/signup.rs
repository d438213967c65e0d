use serde_json::json;

use crate::common::{Harness, PASSWORD};

#[tokio::test]
async fn signup_creates_a_citizen_and_stores_the_phone_in_e164() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1/auth/signup",
            json!({"loginId": "hong.gd", "password": PASSWORD, "name": "홍길동", "phone": "+82 10 1234 5678"}),
        )
        .await;
    r.expect(201);
    let user_id = r.str("userId");
    let item = h
        .item(&format!("USER#{user_id}"), "PROFILE")
        .await
        .expect("profile stored");
    assert_eq!(item["phone"].as_s().unwrap(), "+821012345678");
    assert_eq!(item["role"].as_s().unwrap(), "citizen");
    assert!(
        !item.contains_key("passwordHash"),
        "the hash lives only on the credential item"
    );
    let credential = h
        .item("LOGINID#hong.gd", "LOGINID")
        .await
        .expect("credential stored");
    assert_eq!(credential["userId"].as_s().unwrap(), &user_id);
    let hash = credential["passwordHash"].as_s().unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "argon2id at OWASP's setting"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn when_login_id_is_taken_signup_returns_409() {
    let h = Harness::new().await;
    h.signup("taken1").await;
    let r = h
        .post(
            "/v1/auth/signup",
            json!({"loginId": "taken1", "password": "another-Strong-pass-9", "name": "김영희", "phone": "010-2345-6789"}),
        )
        .await;
    r.expect_problem(409, "auth.login_id_taken");
    assert_eq!(r.body["errors"][0]["field"], "loginId");
}

#[tokio::test]
async fn concurrent_signups_with_one_login_id_create_exactly_one_account() {
    let h = Harness::new().await;
    let body =
        json!({"loginId": "racer", "password": PASSWORD, "name": "A", "phone": "010-1111-2222"});
    let (a, b) = tokio::join!(
        h.post("/v1/auth/signup", body.clone()),
        h.post("/v1/auth/signup", body)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
}

#[tokio::test]
async fn weak_passwords_are_refused_naming_the_field() {
    let h = Harness::new().await;
    for password in [
        "short-1A",
        "password1234",
        "Password1234",
        "my-weakling1-pass",
        &"x".repeat(129),
    ] {
        let r = h
            .post(
                "/v1/auth/signup",
                json!({"loginId": "weakling1", "password": password, "name": "A", "phone": "010-1234-5678"}),
            )
            .await;
        r.expect_problem(400, "auth.weak_password");
        assert_eq!(r.body["errors"][0]["field"], "password", "{password}");
    }
}

#[tokio::test]
async fn invalid_fields_are_all_named_at_once() {
    let h = Harness::new().await;
    let r = h
        .post(
            "/v1/auth/signup",
            json!({"loginId": "AB", "password": PASSWORD, "name": " ", "phone": "02-123-4567"}),
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["loginId", "name", "phone"]);
}

#[tokio::test]
async fn problems_are_korean_when_the_client_prefers_korean() {
    let h = Harness::new().await;
    let r = h
        .send(
            "POST",
            "/v1/auth/signup",
            Some(json!({"loginId": "x", "password": PASSWORD, "name": "A", "phone": "010-1234-5678"})),
            &[("accept-language", "ko-KR,ko;q=0.9")],
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.body["title"], "잘못된 요청");
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("영문")
    );
}
