//! The compiled `login` binary itself, not only the in-process handler: it runs
//! under cargo-lambda's emulation of the Lambda Runtime API (`cargo lambda watch
//! --only-lambda-apis`), configured exactly as template.yaml configures it, and
//! is called over real HTTP.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use devstack::TestStack;
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

#[tokio::test]
async fn the_compiled_binary_serves_sign_up_and_sign_in_over_http() {
    let stack = TestStack::new().await;
    let Env::Map(vars) = stack.env("login") else {
        unreachable!("test stacks give maps")
    };
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

    let mut function = Command::new(env!("CARGO_BIN_EXE_login"))
        .env_clear()
        .envs(&vars)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the login binary starts");

    let base = format!("http://127.0.0.1:{port}/lambda-url/_");
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

    function.kill().await.ok();
    let out = function.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    // JSON log lines with the request fields, and no secrets in them.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
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
