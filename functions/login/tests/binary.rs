//! The compiled `login` binary itself, not only the in-process handler: it runs
//! under cargo-lambda's emulation of the Lambda Runtime API (`cargo lambda watch
//! --only-lambda-apis`), configured exactly as template.yaml configures it, and
//! is called over real HTTP.

use std::time::Duration;

use devstack::TestStack;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};
use shared::config::Env;

#[tokio::test]
async fn the_compiled_binary_serves_sign_up_and_sign_in_over_http() {
    let stack = TestStack::new().await;
    let Env::Map(vars) = stack.env("login") else {
        unreachable!("test stacks give maps")
    };
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_login"), &vars, 256);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let r = http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let jwks: Value = r.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    let r = http
        .post(format!("{base}/v1/auth/signup"))
        .json(&json!({"loginId": "binuser1", "password": "Binary-user-pass-1", "name": "홍길동", "phone": "010-1234-5678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"loginId": "binuser1", "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "auth.invalid_credentials");

    let r = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"loginId": "binuser1", "password": "Binary-user-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let r = http
        .get(format!("{base}/v1/auth/devices"))
        .bearer_auth(tokens["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"items": []}));

    // JSON log lines with the request fields, and no secrets in them.
    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines.iter().any(|l| l["route"] == "POST /v1/auth/login"
            && l["status"] == 200
            && l["span"]["request_id"].is_string()),
        "{logs}"
    );
    for secret in [
        "Binary-user-pass-1",
        "wrong-password-1",
        tokens["accessToken"].as_str().unwrap(),
        "01012345678",
        "1234-5678",
    ] {
        assert!(
            !logs.contains(secret),
            "a secret or phone number reached the logs"
        );
    }
}
