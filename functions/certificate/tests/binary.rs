//! The compiled `certificate` binary itself, not only the in-process handler: it
//! runs under cargo-lambda's emulation of the Lambda Runtime API (`cargo lambda
//! watch --only-lambda-apis`), configured exactly as template.yaml configures
//! it, and is called over real HTTP. Access tokens come from the real `login`
//! App, and the binary fetches the issuer's JWK Set over HTTP, as in the cloud.

use std::time::Duration;

use devstack::TestStack;
use devstack::issuer::LocalIssuer;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_issues_and_verifies_with_tokens_checked_against_the_issuers_keys() {
    // GIVEN the stack, the registers, and an issuer whose keys are served over HTTP
    let stack = TestStack::new().await;
    stack.seed_registers().await;
    let issuer = LocalIssuer::start(&stack).await;
    let (_, token) = issuer.sign_in("binholder", "Binary-user-pass-1").await;

    // AND the compiled function, configured as the template configures it
    let vars = issuer.env_of(&stack, "certificate");
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_certificate"), &vars, 512);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // WHEN a citizen issues a certificate over HTTP
    let r = http
        .post(format!("{base}/v1/certificates"))
        .bearer_auth(&token)
        .header("idempotency-key", "binary-1")
        .json(&json!({"type": "building-register", "pnu": "1111010100100010000"}))
        .send()
        .await
        .unwrap();
    // THEN it is issued, the issuer's keys having been fetched once
    assert_eq!(r.status(), 201);
    assert!(r.headers().contains_key("x-request-id"));
    let issued: Value = r.json().await.unwrap();
    assert_eq!(issuer.jwks.hits(), 1);
    let no = issued["issueNumber"].as_str().unwrap();
    let pdf = reqwest::get(issued["downloadUrl"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let r = http
        .post(format!("{base}/v1/certificates/verify"))
        .header("content-type", "application/pdf")
        .body(pdf.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let verdict: Value = r.json().await.unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["issueNumber"], no);

    // AND a second request uses the cached keys; a forged token is refused
    let r = http
        .get(format!("{base}/v1/certificates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{base}/v1/certificates"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(issuer.jwks.hits(), 1);

    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines.iter().any(|l| l["route"] == "POST /v1/certificates"
            && l["status"] == 201
            && l["span"]["request_id"].is_string()),
        "{logs}"
    );
    for secret in [token.as_str(), "홍길동", "Binary-user-pass-1"] {
        assert!(
            !logs.contains(secret),
            "a secret or personal data reached the logs"
        );
    }
}
