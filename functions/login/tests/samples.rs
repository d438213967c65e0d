//! The sample events in `events/login/` are real API Gateway v2 payloads: each is
//! run through the function here, so none can rot. Filled in with values from a
//! real flow, each answers its documented success status; as committed (with
//! `REPLACE_WITH_...` placeholders, as `cargo lambda invoke` would send them
//! against `cargo dev`) each answers a client error, never a server error.

mod common;

use common::{Harness, sign, spki, totp_at};
use devstack::reply::samples;
use serde_json::Value;

async fn run(h: &Harness, name: &str, subs: &[(&str, &str)]) -> common::Reply {
    h.raw(samples::request("login", name, subs)).await
}

async fn provision_demo_citizen(h: &Harness) {
    login::accounts::provision(
        &h.app,
        login::accounts::Provision::citizen(
            "citizen1",
            "Citizen1-pocketgov",
            "홍길동",
            "010-1234-5678",
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn every_sample_event_answers_its_documented_status_when_filled_in() {
    let h = Harness::new().await;
    provision_demo_citizen(&h).await;
    let mut covered = Vec::new();
    let mut check = |name: &'static str, reply: &common::Reply, status: u16| {
        reply.expect(status);
        covered.push(name.to_owned());
    };

    let r = run(&h, "signup", &[]).await;
    check("signup", &r, 201);
    let r = run(&h, "login", &[]).await;
    check("login", &r, 200);
    let access = r.str("accessToken");
    let refresh = r.str("refreshToken");
    let r = run(&h, "jwks", &[]).await;
    check("jwks", &r, 200);
    let r = run(&h, "openid-configuration", &[]).await;
    check("openid-configuration", &r, 200);

    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let public_key = spki(&key);
    let token = ("REPLACE_WITH_ACCESS_TOKEN", access.as_str());
    let r = run(
        &h,
        "devices-register",
        &[token, ("REPLACE_WITH_PUBLIC_KEY", &public_key)],
    )
    .await;
    check("devices-register", &r, 201);
    let device_id = r.str("deviceId");
    let device = ("00000000-0000-4000-8000-000000000000", device_id.as_str());
    let r = run(&h, "devices-list", &[token]).await;
    check("devices-list", &r, 200);
    assert_eq!(r.body["items"][0]["deviceId"], device_id.as_str());
    let r = run(&h, "device-pattern", &[token, device]).await;
    check("device-pattern", &r, 204);
    let r = run(&h, "pattern-login", &[device]).await;
    check("pattern-login", &r, 200);
    let r = run(&h, "device-challenge", &[device]).await;
    check("device-challenge", &r, 200);
    let challenge = r.str("challenge");
    let signature = sign(&key, &challenge);
    let r = run(
        &h,
        "device-login",
        &[
            device,
            ("REPLACE_WITH_CHALLENGE", &challenge),
            ("REPLACE_WITH_SIGNATURE", &signature),
        ],
    )
    .await;
    check("device-login", &r, 200);

    let r = run(&h, "token", &[("REPLACE_WITH_REFRESH_TOKEN", &refresh)]).await;
    check("token", &r, 200);
    let r = run(
        &h,
        "logout",
        &[("REPLACE_WITH_REFRESH_TOKEN", &r.str("refreshToken"))],
    )
    .await;
    check("logout", &r, 204);

    let r = run(&h, "otp-start", &[token]).await;
    check("otp-start", &r, 200);
    let secret = r.str("secret");
    let r = run(
        &h,
        "otp-confirm",
        &[token, ("REPLACE_WITH_OTP_CODE", &totp_at(&secret, -1))],
    )
    .await;
    check("otp-confirm", &r, 204);
    let mfa = run(&h, "login", &[]).await;
    assert_eq!(mfa.body["mfaRequired"], true);
    let r = run(
        &h,
        "login-otp",
        &[
            ("REPLACE_WITH_MFA_TOKEN", &mfa.str("mfaToken")),
            ("REPLACE_WITH_OTP_CODE", &totp_at(&secret, 0)),
        ],
    )
    .await;
    check("login-otp", &r, 200);
    let r = run(&h, "devices-delete", &[token, device]).await;
    check("devices-delete", &r, 204);

    covered.sort();
    assert_eq!(
        covered,
        samples::names("login"),
        "every sample in events/login is exercised"
    );
}

#[tokio::test]
async fn samples_as_committed_answer_client_errors_not_server_errors() {
    let h = Harness::new().await;
    provision_demo_citizen(&h).await;
    for name in samples::names("login") {
        let r = run(&h, &name, &[]).await;
        assert!(r.status.as_u16() < 500, "{name}: {} {}", r.status, r.body);
        assert!(!r.header("x-request-id").is_empty(), "{name}");
        if r.status.is_client_error() {
            assert!(
                r.body["code"].is_string(),
                "{name}: problem+json with a code: {}",
                r.body
            );
        }
    }
}

#[test]
fn samples_are_api_gateway_v2_http_events() {
    for name in samples::names("login") {
        let text =
            std::fs::read_to_string(samples::dir("login").join(format!("{name}.json"))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], "2.0", "{name}");
        assert_eq!(v["requestContext"]["stage"], "$default", "{name}");
    }
}
