//! The compiled `hazard-report` binary itself, configured exactly as
//! template.yaml configures it, answering over real HTTP through
//! cargo-lambda's emulation with tokens checked against the issuer's keys:
//! a report created, its photo uploaded through the returned form, submitted
//! and found nearby; logs hold no description, location or token.

mod common;

use std::time::Duration;

use common::*;
use devstack::issuer::LocalIssuer;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_takes_a_report_with_its_photo_and_logs_nothing_personal() {
    let h = H::new().await;
    let issuer = LocalIssuer::start(&h.stack).await;
    let (_, token) = issuer.sign_in("bin.reporter", PASSWORD).await;
    let vars = issuer.env_of(&h.stack, "hazard-report");
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_hazard-report"), &vars, 256);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let description = "비밀스러운 골목 37번지 앞 맨홀 뚜껑 파손";
    let jpeg = gps_jpeg();
    let created: Value = http
        .post(format!("{base}/v1/reports"))
        .bearer_auth(&token)
        .header("idempotency-key", "binary-report-1")
        .json(&json!({"category": "facility-hazard", "description": description, "location": {"lat": 37.51234, "lon": 127.05678}, "photos": [{"contentType": "image/jpeg", "sizeBytes": jpeg.len()}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["status"], "draft", "{created}");
    assert!((200..300).contains(&upload(&created["uploads"][0], jpeg).await));
    let id = created["reportId"].as_str().unwrap();
    let r = http
        .post(format!("{base}/v1/reports/{id}/submit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let near: Value = http
        .get(format!(
            "{base}/v1/reports/nearby?lat=37.5123&lon=127.0567&radiusM=200"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(near["items"][0]["reportId"], id, "{near}");

    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "POST /v1/reports/{reportId}/submit" && l["status"] == 200),
        "{logs}"
    );
    for secret in [description, "37.51234", "127.05678", token.as_str()] {
        assert!(!logs.contains(secret), "the logs leak `{secret}`");
    }
}
