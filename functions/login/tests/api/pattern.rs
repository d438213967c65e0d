use serde_json::json;

use crate::common::{Harness, PASSWORD};

#[tokio::test]
async fn a_device_pattern_signs_in_and_five_wrong_ones_lock_it_until_a_password_login() {
    let h = Harness::new().await;
    let tokens = h.citizen("patuser1").await;
    let token = tokens["accessToken"].as_str().unwrap();
    let (device_id, _) = h.device(token).await;
    h.authed(
        "PUT",
        &format!("/v1/auth/devices/{device_id}/pattern"),
        token,
        Some(json!({"pattern": [0, 4, 8, 5]})),
    )
    .await
    .expect(204);

    let r = h
        .post(
            "/v1/auth/login/pattern",
            json!({"deviceId": device_id, "pattern": [0, 4, 8, 5]}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["amr"], json!(["pattern"]));
    assert_eq!(r.body["userId"], tokens["userId"]);

    for _ in 0..5 {
        h.post(
            "/v1/auth/login/pattern",
            json!({"deviceId": device_id, "pattern": [0, 1, 2, 3]}),
        )
        .await
        .expect_problem(401, "auth.invalid_credentials");
    }
    h.post(
        "/v1/auth/login/pattern",
        json!({"deviceId": device_id, "pattern": [0, 4, 8, 5]}),
    )
    .await
    .expect_problem(423, "auth.pattern_locked");
    h.login("patuser1", PASSWORD).await.expect(200);
    h.post(
        "/v1/auth/login/pattern",
        json!({"deviceId": device_id, "pattern": "0485"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn patterns_are_validated_and_bound_to_the_owners_device() {
    let h = Harness::new().await;
    let owner = h.citizen("patuser2").await;
    let other = h.citizen("patuser3").await;
    let (device_id, _) = h.device(owner["accessToken"].as_str().unwrap()).await;
    let path = format!("/v1/auth/devices/{device_id}/pattern");
    for bad in [
        json!([0, 1, 2]),
        json!([0, 1, 1, 2]),
        json!([0, 1, 2, 9]),
        json!("01a3"),
    ] {
        let r = h
            .authed(
                "PUT",
                &path,
                owner["accessToken"].as_str().unwrap(),
                Some(json!({"pattern": bad})),
            )
            .await;
        r.expect_problem(400, "request.invalid");
        assert_eq!(r.body["errors"][0]["field"], "pattern");
    }
    h.authed(
        "PUT",
        &path,
        other["accessToken"].as_str().unwrap(),
        Some(json!({"pattern": [1, 2, 3, 4]})),
    )
    .await
    .expect_problem(404, "not_found");
    // No pattern set yet: answered like a wrong pattern.
    h.post(
        "/v1/auth/login/pattern",
        json!({"deviceId": device_id, "pattern": [1, 2, 3, 4]}),
    )
    .await
    .expect_problem(401, "auth.invalid_credentials");
}
