use serde_json::json;

use crate::common::{Harness, PASSWORD, totp_at};

/// Signs up, enrols and confirms OTP; returns the base32 secret.
async fn with_otp(h: &Harness, login_id: &str) -> String {
    let tokens = h.citizen(login_id).await;
    let token = tokens["accessToken"].as_str().unwrap();
    let r = h.authed("POST", "/v1/auth/otp", token, None).await;
    r.expect(200);
    let secret = r.str("secret");
    assert!(r.str("otpauthUri").starts_with("otpauth://totp/pocketgov:"));
    assert!(r.str("otpauthUri").contains(&format!("secret={secret}")));
    // Not active before confirmation: password alone still signs in.
    h.login(login_id, PASSWORD).await.expect(200);
    // Confirm with the previous step's code, so the test's own logins below can
    // use the current one.
    h.authed(
        "POST",
        "/v1/auth/otp/confirm",
        token,
        Some(json!({"code": totp_at(&secret, -1)})),
    )
    .await
    .expect(204);
    secret
}

async fn mfa_token(h: &Harness, login_id: &str) -> String {
    let r = h.login(login_id, PASSWORD).await;
    r.expect(200);
    assert_eq!(r.body["mfaRequired"], true);
    assert_eq!(r.body["methods"], json!(["otp"]));
    assert!(r.body.get("accessToken").is_none());
    r.str("mfaToken")
}

#[tokio::test]
async fn otp_login_gives_pwd_and_otp_and_a_code_works_only_once() {
    let h = Harness::new().await;
    let secret = with_otp(&h, "otpuser1").await;
    let mfa = mfa_token(&h, "otpuser1").await;
    let code = totp_at(&secret, 0);
    let r = h
        .post("/v1/auth/login/otp", json!({"mfaToken": mfa, "code": code}))
        .await;
    r.expect(200);
    assert_eq!(r.body["amr"], json!(["pwd", "otp"]));

    // The same code again, with a fresh mfaToken: refused.
    let mfa = mfa_token(&h, "otpuser1").await;
    h.post("/v1/auth/login/otp", json!({"mfaToken": mfa, "code": code}))
        .await
        .expect_problem(401, "auth.otp_replayed");
    // An older code (the confirmation step) is refused too.
    h.post(
        "/v1/auth/login/otp",
        json!({"mfaToken": mfa, "code": totp_at(&secret, -1)}),
    )
    .await
    .expect_problem(401, "auth.otp_replayed");
}

#[tokio::test]
async fn an_mfa_token_works_once() {
    let h = Harness::new().await;
    let secret = with_otp(&h, "otpuser2").await;
    let mfa = mfa_token(&h, "otpuser2").await;
    h.post(
        "/v1/auth/login/otp",
        json!({"mfaToken": mfa, "code": totp_at(&secret, 0)}),
    )
    .await
    .expect(200);
    h.post(
        "/v1/auth/login/otp",
        json!({"mfaToken": mfa, "code": totp_at(&secret, 1)}),
    )
    .await
    .expect_problem(401, "auth.invalid_mfa_token");
    h.post(
        "/v1/auth/login/otp",
        json!({"mfaToken": "made-up", "code": "123456"}),
    )
    .await
    .expect_problem(401, "auth.invalid_mfa_token");
}

#[tokio::test]
async fn failed_codes_count_like_failed_passwords() {
    let h = Harness::new().await;
    let secret = with_otp(&h, "otpuser3").await;
    let mfa = mfa_token(&h, "otpuser3").await;
    let wrong = if totp_at(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..3 {
        h.post(
            "/v1/auth/login/otp",
            json!({"mfaToken": mfa, "code": wrong}),
        )
        .await
        .expect_problem(401, "auth.invalid_otp");
    }
    // A correct password between wrong codes does not reset the count.
    let mfa = mfa_token(&h, "otpuser3").await;
    for _ in 0..2 {
        h.post(
            "/v1/auth/login/otp",
            json!({"mfaToken": mfa, "code": wrong}),
        )
        .await
        .expect_problem(401, "auth.invalid_otp");
    }
    h.post(
        "/v1/auth/login/otp",
        json!({"mfaToken": mfa, "code": totp_at(&secret, 0)}),
    )
    .await
    .expect_problem(423, "auth.locked");
    h.login("otpuser3", PASSWORD)
        .await
        .expect_problem(423, "auth.locked");
}

#[tokio::test]
async fn confirming_with_a_wrong_code_or_without_enrolment_is_refused() {
    let h = Harness::new().await;
    let tokens = h.citizen("otpuser4").await;
    let token = tokens["accessToken"].as_str().unwrap();
    h.authed(
        "POST",
        "/v1/auth/otp/confirm",
        token,
        Some(json!({"code": "123456"})),
    )
    .await
    .expect_problem(409, "auth.otp_not_started");
    h.authed("POST", "/v1/auth/otp", token, None)
        .await
        .expect(200);
    let r = h
        .authed(
            "POST",
            "/v1/auth/otp/confirm",
            token,
            Some(json!({"code": "12345x"})),
        )
        .await;
    r.expect_problem(422, "auth.invalid_otp");
    assert_eq!(r.body["errors"][0]["field"], "code");
}

#[tokio::test]
async fn replacing_an_active_otp_needs_a_strong_sign_in() {
    let h = Harness::new().await;
    let secret = with_otp(&h, "otpuser5").await;
    // A password-only token (as a thief with the password would hold: forged
    // here with the real key, since the API no longer hands one out).
    let keys = h.signing_keys().await;
    let now = shared::time::now_secs();
    let user_id = h
        .post(
            "/v1/auth/login/otp",
            json!({"mfaToken": mfa_token(&h, "otpuser5").await, "code": totp_at(&secret, 0)}),
        )
        .await
        .str("userId");
    let weak = keys.signer.sign(&shared::auth::Claims {
        iss: h.issuer(),
        aud: "pocketgov".into(),
        sub: user_id,
        role: shared::auth::Role::Citizen,
        scope: None,
        amr: vec!["pwd".into()],
        auth_time: now,
        iat: now,
        exp: now + 900,
        jti: "t".into(),
        agency: None,
    });
    let r = h.authed("POST", "/v1/auth/otp", &weak, None).await;
    r.expect_problem(401, "auth.step_up_required");
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer error="insufficient_user_authentication", max_age=600"#
    );
}
