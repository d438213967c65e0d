//! The compiled `certificate` binary itself, not only the in-process handler: it
//! runs under cargo-lambda's emulation of the Lambda Runtime API (`cargo lambda
//! watch --only-lambda-apis`), configured exactly as template.yaml configures
//! it, and is called over real HTTP. Access tokens come from the real `login`
//! App, and the binary fetches the issuer's JWK Set over HTTP, as in the cloud.

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devstack::TestStack;
use devstack::json_stub::JsonStub;
use devstack::venv::Venv;
use serde_json::{Value, json};
use shared::config::Env;
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_issues_and_verifies_with_tokens_checked_against_the_issuers_keys() {
    // GIVEN the stack, the registers, and an issuer whose keys are served over HTTP
    let stack = TestStack::new().await;
    stack.seed_registers().await;
    let keys = login::signing::KeySet::from_json(stack.signing_keys()).unwrap();
    let jwks = JsonStub::start(
        "/.well-known/jwks.json",
        &shared::auth::jwks(&keys.public_keys),
    )
    .await;
    let issuer = jwks.base_url();
    let Env::Map(mut login_vars) = stack.env("login") else {
        unreachable!("test stacks give maps")
    };
    login_vars.insert("TOKEN_ISSUER".into(), issuer.clone());
    let login_env = Env::from_map(login_vars);
    let sdk = shared::aws::sdk_config(&login_env).await;
    let login = Arc::new(login::App::from_env(&login_env, &sdk).await.unwrap());

    let call_login = |path: &str, body: Value| {
        let login = login.clone();
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(body.to_string()))
            .unwrap();
        async move {
            let response = login.handle(req).await;
            let body = match response.into_body() {
                lambda_http::Body::Text(t) => t.into_bytes(),
                lambda_http::Body::Binary(b) => b,
                _ => vec![],
            };
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    call_login(
        "/v1/auth/signup",
        json!({"loginId": "binholder", "password": "Binary-user-pass-1", "name": "홍길동", "phone": "010-1234-5678"}),
    )
    .await;
    let tokens = call_login(
        "/v1/auth/login",
        json!({"loginId": "binholder", "password": "Binary-user-pass-1"}),
    )
    .await;
    let token = tokens["accessToken"].as_str().unwrap().to_owned();

    // AND the compiled function, configured as the template configures it
    let Env::Map(mut vars) = stack.env("certificate") else {
        unreachable!("test stacks give maps")
    };
    vars.insert("TOKEN_ISSUER".into(), issuer.clone());
    let venv = Venv::workspace();
    venv.ensure()
        .expect("the project's .venv with cargo-lambda");
    let port = free_port();
    let mut runtime = Command::new(venv.bin("cargo-lambda"))
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cargo-lambda starts");
    wait_for_port(port, &mut runtime, "cargo-lambda").await;
    let mut function = Command::new(env!("CARGO_BIN_EXE_certificate"))
        .env_clear()
        .envs(&vars)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the certificate binary starts");
    let base = format!("http://127.0.0.1:{port}/lambda-url/_");
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
    assert_eq!(jwks.hits(), 1);
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
    assert_eq!(jwks.hits(), 1);

    function.kill().await.ok();
    let out = function.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
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
