//! The compiled `tax-refund` binary itself, configured exactly as template.yaml
//! configures it, answering over real HTTP through cargo-lambda's emulation,
//! with tokens checked against the issuer's keys fetched over HTTP: a claim,
//! its approval and its payment, and logs that hold neither the account
//! number nor the name nor a token.

mod common;

use std::time::Duration;

use common::*;
use devstack::issuer::LocalIssuer;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_claims_reviews_and_pays_and_logs_no_account_number() {
    // GIVEN citizen3, a reviewer, the issuer and the compiled function
    let h = Harness::new().await;
    let issuer = LocalIssuer::start(&h.stack).await;
    let me = h.citizen3_on(&issuer.login, "bin.citizen").await;
    let reviewer = Harness::official_on(&issuer.login, "bin.reviewer", &["tax:review"]).await;
    let vars = issuer.env_of(&h.stack, "tax-refund");
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_tax-refund"), &vars, 128);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // WHEN the citizen claims the 2022 overpayment on the phone
    let r = http
        .post(format!("{base}/v1/tax/refunds"))
        .bearer_auth(&me.strong)
        .header("idempotency-key", "binary-claim-1")
        .json(&claim_body(OP_2022))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let refund: Value = r.json().await.unwrap();
    assert_eq!(refund["offsetKrw"], 150_000);
    let id = refund["refundId"].as_str().unwrap();
    // AND the reviewer approves and pays it
    for (path, etag, body) in [
        ("decision", "\"1\"", Some(json!({"decision": "approve"}))),
        ("payment", "\"2\"", None),
    ] {
        let mut req = http
            .post(format!("{base}/v1/tax/refunds/{id}/{path}"))
            .bearer_auth(&reviewer.token)
            .header("if-match", etag);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }

    // THEN the ledger shows the arrear settled
    let bills: Value = http
        .get(format!("{base}/v1/tax/bills?year=2025"))
        .bearer_auth(&me.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bills["items"][0]["billId"], ARREAR, "{bills}");
    assert_eq!(bills["items"][0]["paidKrw"], 150_000, "{bills}");
    assert_eq!(bills["items"][0]["status"], "paid", "{bills}");
    // AND the logs name routes and steps, never the account, the name or a token
    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "POST /v1/tax/refunds" && l["status"] == 201),
        "{logs}"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "refund paid"),
        "{logs}"
    );
    for secret in [
        ACCOUNT_DIGITS,
        ACCOUNT,
        &ACCOUNT_DIGITS[4..9],
        "이순신",
        me.strong.as_str(),
        reviewer.token.as_str(),
    ] {
        assert!(!logs.contains(secret), "the logs leak `{secret}`");
    }
}
