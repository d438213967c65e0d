use serde_json::Value;
use shared::auth::TokenVerifier;

use crate::common::{Harness, PASSWORD};

#[tokio::test]
async fn password_login_returns_a_token_response_verifiable_with_the_jwks() {
    let h = Harness::new().await;
    let user_id = h.signup("citizen9").await;
    let r = h.login("citizen9", PASSWORD).await;
    r.expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    let b = &r.body;
    assert_eq!(b["tokenType"], "Bearer");
    assert_eq!(b["expiresIn"], 900);
    assert_eq!(b["userId"], user_id.as_str());
    assert_eq!(b["role"], "citizen");
    assert_eq!(b["amr"], serde_json::json!(["pwd"]));
    assert!(
        b["refreshToken"].as_str().unwrap().len() >= 43,
        "at least 256 bits"
    );

    let jwks = h
        .send("GET", "/.well-known/jwks.json", None, &[])
        .await
        .body;
    let verifier = TokenVerifier::from_jwks(h.issuer(), &jwks).unwrap();
    let claims = verifier
        .verify(b["accessToken"].as_str().unwrap(), shared::time::now_secs())
        .unwrap();
    assert_eq!(claims.sub, user_id);
    assert_eq!(claims.aud, "pocketgov");
    assert_eq!(claims.exp - claims.iat, 900);
    assert!(claims.scope.is_none(), "citizens have no scope");
    let header: Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(
                b["accessToken"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let h = Harness::new().await;
    h.signup("citizen8").await;
    let wrong = h.login("citizen8", "not-the-password-1").await;
    let unknown = h.login("nobody99", "not-the-password-1").await;
    let malformed = h.login("NO", "not-the-password-1").await;
    for r in [&wrong, &unknown, &malformed] {
        r.expect_problem(401, "auth.invalid_credentials");
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, malformed.body);
}

#[tokio::test]
async fn five_failures_lock_the_login_id_and_a_success_before_resets_the_count() {
    let h = Harness::new().await;
    let user_id = h.signup("citizen7").await;
    for _ in 0..4 {
        h.login("citizen7", "wrong-password-123")
            .await
            .expect_problem(401, "auth.invalid_credentials");
    }
    h.login("citizen7", PASSWORD).await.expect(200);
    for _ in 0..4 {
        h.login("citizen7", "wrong-password-123")
            .await
            .expect_problem(401, "auth.invalid_credentials");
    }
    // Still open after 4 + 4 failures with a success between.
    h.login("citizen7", "wrong-password-123")
        .await
        .expect_problem(401, "auth.invalid_credentials");
    // That was the 5th consecutive failure: now even the right password is refused.
    let locked = h.login("citizen7", PASSWORD).await;
    locked.expect_problem(423, "auth.locked");
    let retry_after: i64 = locked.header("retry-after").parse().unwrap();
    assert!((850..=900).contains(&retry_after), "{retry_after}");
    // Failures while locked lock nothing again.
    h.login("citizen7", "wrong-password-123")
        .await
        .expect_problem(423, "auth.locked");
    let events = h.events_of("auth.locked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["userId"], user_id.as_str());
    let until = events[0]["data"]["lockedUntil"].as_str().unwrap();
    assert!(chrono_like_rfc3339(until), "{until}");
}

fn chrono_like_rfc3339(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn unknown_login_ids_lock_the_same_way() {
    let h = Harness::new().await;
    for _ in 0..5 {
        h.login("ghost123", "wrong-password-123")
            .await
            .expect_problem(401, "auth.invalid_credentials");
    }
    h.login("ghost123", "wrong-password-123")
        .await
        .expect_problem(423, "auth.locked");
}

#[tokio::test]
async fn parallel_guesses_get_at_most_five_checks() {
    let h = Harness::new().await;
    h.signup("citizen6").await;
    let guesses = (0..8).map(|i| {
        let h = &h;
        async move {
            h.login("citizen6", &format!("wrong-password-{i:03}"))
                .await
                .status
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 423).count(),
        3,
        "{statuses:?}"
    );
    // One lock, one notice, written with the lock.
    let outbox = h.stack.outbox("LoginTable").await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["type"], "auth.locked");
    assert_eq!(h.events_of("auth.locked").await.len(), 1);
}
