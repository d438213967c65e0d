use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde_json::json;
use shared::auth::{Claims, Role, TokenSigner};

use crate::common::Harness;

fn claims(h: &Harness, sub: &str) -> Claims {
    let now = shared::time::now_secs();
    Claims {
        iss: h.issuer(),
        aud: "pocketgov".into(),
        sub: sub.into(),
        role: Role::Citizen,
        scope: None,
        amr: vec!["pwd".into()],
        auth_time: now,
        iat: now,
        exp: now + 900,
        jti: "test".into(),
        agency: None,
    }
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_sign_in() {
    let h = Harness::new().await;
    let tokens = h.citizen("tokuser1").await;
    let first = tokens["refreshToken"].as_str().unwrap();
    let r = h
        .post("/v1/auth/token", json!({"refreshToken": first}))
        .await;
    r.expect(200);
    let second = r.str("refreshToken");
    assert_ne!(second, first);
    assert_eq!(
        r.body["amr"],
        json!(["pwd"]),
        "the sign-in's methods carry over"
    );

    h.post("/v1/auth/token", json!({"refreshToken": first}))
        .await
        .expect_problem(401, "auth.refresh_reused");
    // The whole family is gone, including the legitimate successor.
    h.post("/v1/auth/token", json!({"refreshToken": second}))
        .await
        .expect_problem(401, "auth.invalid_refresh_token");
    let events = h.events_of("auth.refresh_reused").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["userId"], tokens["userId"]);
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_give_exactly_one_success() {
    let h = Harness::new().await;
    let tokens = h.citizen("tokuser2").await;
    let body = json!({"refreshToken": tokens["refreshToken"]});
    let (a, b) = tokio::join!(
        h.post("/v1/auth/token", body.clone()),
        h.post("/v1/auth/token", body)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
    // The loser counts as a reuse: the sign-in is revoked and told once.
    assert_eq!(h.events_of("auth.refresh_reused").await.len(), 1);
    h.post(
        "/v1/auth/token",
        json!({"refreshToken": tokens["refreshToken"]}),
    )
    .await
    .expect_problem(401, "auth.refresh_reused");
    assert_eq!(h.events_of("auth.refresh_reused").await.len(), 1);
}

#[tokio::test]
async fn logout_ends_the_sign_in() {
    let h = Harness::new().await;
    let tokens = h.citizen("tokuser3").await;
    let body = json!({"refreshToken": tokens["refreshToken"]});
    h.post("/v1/auth/logout", body.clone()).await.expect(204);
    h.post("/v1/auth/token", body.clone())
        .await
        .expect_problem(401, "auth.invalid_refresh_token");
    h.post("/v1/auth/logout", body).await.expect(204);
    h.post("/v1/auth/token", json!({"refreshToken": "never-issued"}))
        .await
        .expect_problem(401, "auth.invalid_refresh_token");
}

#[tokio::test]
async fn forged_tokens_are_refused_with_invalid_token() {
    let h = Harness::new().await;
    let tokens = h.citizen("tokuser4").await;
    let user_id = tokens["userId"].as_str().unwrap();
    let keys = h.signing_keys().await;
    let kid = keys.signer.kid().to_owned();
    let payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&claims(&h, user_id)).unwrap());

    let alg_none = format!(
        "{}.{payload}.",
        BASE64URL_NOPAD.encode(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes())
    );
    let hs_input = format!(
        "{}.{payload}",
        BASE64URL_NOPAD
            .encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#).as_bytes())
    );
    let jwk = &h
        .send("GET", "/.well-known/jwks.json", None, &[])
        .await
        .body["keys"][0];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(jwk.to_string().as_bytes()).unwrap();
    mac.update(hs_input.as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        BASE64URL_NOPAD.encode(&mac.finalize().into_bytes())
    );
    let other_key = TokenSigner::generate(&kid).sign(&claims(&h, user_id));
    let mut expired = claims(&h, user_id);
    expired.iat -= 1000;
    expired.exp = expired.iat + 900;
    let mut wrong_aud = claims(&h, user_id);
    wrong_aud.aud = "another-service".into();
    let mut wrong_iss = claims(&h, user_id);
    wrong_iss.iss = "https://evil.example".into();

    let cases = [
        ("alg none", alg_none),
        ("HS256 keyed with the public key", hs256),
        ("another key", other_key),
        ("expired", keys.signer.sign(&expired)),
        ("wrong aud", keys.signer.sign(&wrong_aud)),
        ("wrong iss", keys.signer.sign(&wrong_iss)),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (name, token) in cases {
        let r = h.authed("GET", "/v1/auth/devices", &token, None).await;
        assert_eq!(r.status.as_u16(), 401, "{name}");
        assert_eq!(r.code(), "auth.invalid_token", "{name}");
        assert_eq!(
            r.header("www-authenticate"),
            r#"Bearer error="invalid_token""#,
            "{name}"
        );
    }
    // Missing and malformed headers too.
    let r = h.send("GET", "/v1/auth/devices", None, &[]).await;
    r.expect_problem(401, "auth.invalid_token");
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer error="invalid_token""#
    );
    let r = h
        .send(
            "GET",
            "/v1/auth/devices",
            None,
            &[("authorization", "Basic abc")],
        )
        .await;
    r.expect_problem(401, "auth.invalid_token");
    // And the genuine token works.
    h.authed(
        "GET",
        "/v1/auth/devices",
        tokens["accessToken"].as_str().unwrap(),
        None,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn adding_a_device_needs_a_recent_sign_in() {
    let h = Harness::new().await;
    let tokens = h.citizen("tokuser5").await;
    let keys = h.signing_keys().await;
    let mut old = claims(&h, tokens["userId"].as_str().unwrap());
    old.auth_time -= 3600;
    let r = h
        .authed(
            "POST",
            "/v1/auth/devices",
            &keys.signer.sign(&old),
            Some(json!({"deviceName": "x", "publicKey": crate::common::spki(&p256::ecdsa::SigningKey::random(&mut rand_core::OsRng))})),
        )
        .await;
    r.expect_problem(401, "auth.step_up_required");
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer error="insufficient_user_authentication", max_age=600"#
    );
}

#[tokio::test]
async fn officials_get_their_scopes_and_agency_in_the_token_and_citizens_neither() {
    let h = Harness::new().await;
    login::accounts::provision(
        &h.app,
        login::accounts::Provision {
            login_id: "official9".into(),
            password: "Official9-pocketgov".into(),
            name: "이순신".into(),
            phone: "010-3456-7890".into(),
            role: login::accounts::Role::Official,
            scopes: vec!["tax:review".into(), "alerts:issue".into()],
            agency: Some("11".into()),
        },
    )
    .await
    .unwrap();
    let r = h.login("official9", "Official9-pocketgov").await;
    r.expect(200);
    assert_eq!(r.body["role"], "official");
    let claims = h
        .app
        .verifier()
        .verify(
            r.body["accessToken"].as_str().unwrap(),
            shared::time::now_secs(),
        )
        .unwrap();
    assert_eq!(claims.scope.as_deref(), Some("tax:review alerts:issue"));
    assert_eq!(claims.agency.as_deref(), Some("11"));
    let citizen = h.citizen("tokuser9").await;
    let citizen = h
        .app
        .verifier()
        .verify(
            citizen["accessToken"].as_str().unwrap(),
            shared::time::now_secs(),
        )
        .unwrap();
    assert_eq!((citizen.scope, citizen.agency), (None, None));
    // Provisioning again leaves the account as it is.
    let again = login::accounts::provision(
        &h.app,
        login::accounts::Provision {
            login_id: "official9".into(),
            password: "Different-pass-123".into(),
            name: "x".into(),
            phone: "010-3456-7890".into(),
            role: login::accounts::Role::Official,
            scopes: vec![],
            agency: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(again, claims.sub);
    h.login("official9", "Official9-pocketgov")
        .await
        .expect(200);
}
