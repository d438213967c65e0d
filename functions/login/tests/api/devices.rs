use p256::ecdsa::SigningKey;
use serde_json::json;

use crate::common::{Harness, sign, spki};

async fn challenge(h: &Harness, device_id: &str) -> String {
    let r = h
        .post(
            "/v1/auth/login/device/challenge",
            json!({"deviceId": device_id}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["expiresIn"], 120);
    let c = r.str("challenge");
    assert_eq!(
        data_encoding::BASE64URL_NOPAD
            .decode(c.as_bytes())
            .unwrap()
            .len(),
        32
    );
    c
}

#[tokio::test]
async fn a_registered_device_key_signs_in_with_hwk() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser1").await;
    let (device_id, key) = h.device(tokens["accessToken"].as_str().unwrap()).await;
    let c = challenge(&h, &device_id).await;
    let r = h
        .post(
            "/v1/auth/login/device",
            json!({"deviceId": device_id, "challenge": c, "signature": sign(&key, &c)}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["amr"], json!(["hwk"]));
    assert_eq!(r.body["userId"], tokens["userId"]);
    let listed = h
        .authed(
            "GET",
            "/v1/auth/devices",
            tokens["accessToken"].as_str().unwrap(),
            None,
        )
        .await;
    listed.expect(200);
    let item = &listed.body["items"][0];
    assert_eq!(item["deviceId"], device_id.as_str());
    assert_eq!(item["deviceName"], "Galaxy S26");
    assert!(item["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(item["lastUsedAt"].is_string(), "sign-in recorded");
}

#[tokio::test]
async fn registering_a_device_sends_a_security_notice() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser2").await;
    let (device_id, _) = h.device(tokens["accessToken"].as_str().unwrap()).await;
    let events = h.events_of("auth.device_registered").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["userId"], tokens["userId"]);
    assert_eq!(events[0]["data"]["deviceId"], device_id.as_str());
    assert!(events[0]["eventId"].is_string() && events[0]["occurredAt"].is_string());
}

#[tokio::test]
async fn the_notice_is_written_with_the_device_and_carried_from_the_outbox_once() {
    // GIVEN a citizen
    let h = Harness::new().await;
    let tokens = h.citizen("devuser9").await;
    let token = tokens["accessToken"].as_str().unwrap();
    // WHEN a registration is refused, and then one succeeds
    h.authed(
        "POST",
        "/v1/auth/devices",
        token,
        Some(json!({"deviceName": "Broken", "publicKey": "not-a-key"})),
    )
    .await
    .expect_problem(400, "request.invalid");
    let (device_id, _) = h.device(token).await;
    // THEN login's outbox holds exactly the one notice, written with the device
    let outbox = h.stack.outbox("LoginTable").await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["type"], "auth.device_registered");
    assert_eq!(outbox[0]["data"]["deviceId"], device_id.as_str());
    // AND the pipe carries it to the topic once, however often it runs
    assert_eq!(h.stack.carry_events().await, 1);
    assert_eq!(h.stack.carry_events().await, 0);
    let events = h.events_of("auth.device_registered").await;
    assert_eq!(events, outbox);
}

#[tokio::test]
async fn a_challenge_works_once() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser3").await;
    let (device_id, key) = h.device(tokens["accessToken"].as_str().unwrap()).await;
    let c = challenge(&h, &device_id).await;
    let body = json!({"deviceId": device_id, "challenge": c, "signature": sign(&key, &c)});
    h.post("/v1/auth/login/device", body.clone())
        .await
        .expect(200);
    h.post("/v1/auth/login/device", body)
        .await
        .expect_problem(401, "auth.invalid_challenge");
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused_and_burns_the_challenge() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser4").await;
    let (device_id, key) = h.device(tokens["accessToken"].as_str().unwrap()).await;
    let intruder = SigningKey::random(&mut rand_core::OsRng);
    let c = challenge(&h, &device_id).await;
    h.post(
        "/v1/auth/login/device",
        json!({"deviceId": device_id, "challenge": c, "signature": sign(&intruder, &c)}),
    )
    .await
    .expect_problem(401, "auth.invalid_credentials");
    h.post(
        "/v1/auth/login/device",
        json!({"deviceId": device_id, "challenge": c, "signature": sign(&key, &c)}),
    )
    .await
    .expect_problem(401, "auth.invalid_challenge");
    // A signature over something else is refused as well.
    let c = challenge(&h, &device_id).await;
    h.post(
        "/v1/auth/login/device",
        json!({"deviceId": device_id, "challenge": c, "signature": sign(&key, "other")}),
    )
    .await
    .expect_problem(401, "auth.invalid_credentials");
}

#[tokio::test]
async fn a_challenge_is_bound_to_its_device() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser5").await;
    let token = tokens["accessToken"].as_str().unwrap();
    let (first, _) = h.device(token).await;
    let (second, second_key) = h.device(token).await;
    let c = challenge(&h, &first).await;
    h.post(
        "/v1/auth/login/device",
        json!({"deviceId": second, "challenge": c, "signature": sign(&second_key, &c)}),
    )
    .await
    .expect_problem(401, "auth.invalid_challenge");
}

#[tokio::test]
async fn devices_are_removed_only_by_their_owner() {
    let h = Harness::new().await;
    let owner = h.citizen("devuser6").await;
    let other = h.citizen("devuser7").await;
    let owner_token = owner["accessToken"].as_str().unwrap();
    let (device_id, _) = h.device(owner_token).await;
    h.authed(
        "DELETE",
        &format!("/v1/auth/devices/{device_id}"),
        other["accessToken"].as_str().unwrap(),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    h.authed(
        "DELETE",
        &format!("/v1/auth/devices/{device_id}"),
        owner_token,
        None,
    )
    .await
    .expect(204);
    let listed = h.authed("GET", "/v1/auth/devices", owner_token, None).await;
    assert_eq!(listed.body["items"], json!([]));
    h.post(
        "/v1/auth/login/device/challenge",
        json!({"deviceId": device_id}),
    )
    .await
    .expect_problem(404, "auth.unknown_device");
}

#[tokio::test]
async fn bad_device_registrations_name_the_field() {
    let h = Harness::new().await;
    let tokens = h.citizen("devuser8").await;
    let token = tokens["accessToken"].as_str().unwrap();
    let r = h
        .authed(
            "POST",
            "/v1/auth/devices",
            token,
            Some(json!({"deviceName": "", "publicKey": "AAAA"})),
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["deviceName", "publicKey"]);
    let key = SigningKey::random(&mut rand_core::OsRng);
    h.send(
        "POST",
        "/v1/auth/devices",
        Some(json!({"deviceName": "x", "publicKey": spki(&key)})),
        &[],
    )
    .await
    .expect_problem(401, "auth.invalid_token");
}
