//! The compiled `consent` binary itself, configured exactly as template.yaml
//! configures it, answering over real HTTP through cargo-lambda's emulation
//! with tokens checked against the issuer's keys: a consent asked, signed with
//! a device key, a document looked up and the log read; logs hold no purpose,
//! signature, login id or token.

mod common;

use std::time::Duration;

use common::*;
use devstack::issuer::LocalIssuer;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_takes_a_signed_consent_and_logs_nothing_personal() {
    let h = Harness::new().await;
    let issuer = LocalIssuer::start(&h.stack).await;
    let official = official_on(&issuer.login, "bin.asker", "41").await;
    let citizen = citizen_on(&issuer.login, "bin.signer").await;
    let vars = issuer.env_of(&h.stack, "consent");
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_consent"), &vars, 128);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let purpose = "비밀 조사 목적 7731";
    let asked: Value = http
        .post(format!("{base}/v1/consents"))
        .bearer_auth(&official.token)
        .json(&json!({"citizenLoginId": "bin.signer", "petitionId": "P-77", "petitionName": "건축 허가",
            "documents": ["building-register"], "purpose": purpose, "validDays": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["status"], "pending", "{asked}");
    assert_eq!(asked["agency"], "41");
    let id = asked["consentId"].as_str().unwrap();
    let signature = citizen.sign(asked["signingPayload"].as_str().unwrap());
    let signed: Value = http
        .post(format!("{base}/v1/consents/{id}/signature"))
        .bearer_auth(&citizen.strong)
        .json(&json!({"deviceId": citizen.device_id(), "signature": signature}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed["consent"]["status"], "granted", "{signed}");
    let keys: Value = http
        .get(format!("{base}/v1/consents/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    shared::eddsa::verify(signed["receipt"].as_str().unwrap(), &keys)
        .expect("the receipt verifies");
    let r = http
        .post(format!("{base}/v1/consents/{id}/access"))
        .bearer_auth(&official.token)
        .json(&json!({"document": "building-register"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let log: Value = http
        .get(format!("{base}/v1/consents/{id}/access-log"))
        .bearer_auth(&citizen.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["agency"], "41", "{log}");

    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "POST /v1/consents/{consentId}/signature" && l["status"] == 200),
        "{logs}"
    );
    for secret in [
        purpose,
        signature.as_str(),
        "bin.signer",
        citizen.strong.as_str(),
        official.token.as_str(),
    ] {
        assert!(!logs.contains(secret), "the logs leak `{secret}`");
    }
}
