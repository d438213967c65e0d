//! Benchmarks of the compiled `consent` binary (release profile) as Lambda
//! runs it: devstack's minimal Runtime API feeds it API Gateway v2 events on
//! the emulator.
//!
//! ```sh
//! cargo bench -p consent --bench runtime            # 1,000 signatures
//! BENCH_SIGNATURES=100 cargo bench -p consent --bench runtime
//! ```
//!
//! Reports the binary size; start-up time to the first
//! `GET /runtime/invocation/next` (the receipt keys are read from Secrets
//! Manager before it); `BENCH_SIGNATURES` consents asked by an official and
//! signed by a citizen's registered device key through one process, with the
//! peak resident memory after them; and the AWS calls of a signature, counted
//! by the emulator's request recorder. The emulator copies every table in each
//! transaction, so the work runs in rounds of `BENCH_ROUND` (100) with the
//! consent table emptied between rounds.

use std::time::Instant;

use devstack::TestStack;
use devstack::json_stub::JsonStub;
use devstack::runtime_api::{
    RuntimeApi, api_event, bench_claims, env_number, per_operation, recorded_calls, recorder,
    summary, vm_hwm_kib,
};
use serde_json::{Value, json};
use shared::auth::{Role, TokenSigner};
use shared::config::Env;

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// A citizen provisioned with login, with a device key registered through
/// login's handler, as the phone does.
async fn citizen(stack: &TestStack) -> devstack::users::User {
    let sdk = stack.sdk_config().await;
    let login = login::App::from_env(&stack.env("login"), &sdk)
        .await
        .unwrap();
    let p = login::accounts::Provision::citizen(
        "benchcitizen",
        "Consent-bench-pass-1",
        "홍길동",
        "010-1234-5678",
    );
    let mut user = devstack::users::sign_in(&login, p).await;
    devstack::users::add_device(&login, &mut user).await;
    user
}

#[tokio::main]
async fn main() {
    let signatures = env_number("BENCH_SIGNATURES", 1000);
    let colds = env_number("BENCH_COLD", 20);
    let round = env_number("BENCH_ROUND", 100).max(1);

    let stack = TestStack::new().await;
    let endpoint = stack.endpoint().to_owned();
    let signer = TokenSigner::generate("bench-key");
    let jwks = JsonStub::start(
        "/.well-known/jwks.json",
        &shared::auth::jwks(&[signer.public_key()]),
    )
    .await;
    let issuer = jwks.base_url();
    let Env::Map(mut vars) = stack.env("consent") else {
        unreachable!("test stacks give maps")
    };
    vars.insert("TOKEN_ISSUER".into(), issuer.clone());
    let citizen = citizen(&stack).await;
    let device_id = citizen.device_id();
    let mut claims = bench_claims(&issuer, &shared::random::uuid(), Role::Official);
    claims.scope = Some(consent::SCOPE_REQUEST.to_owned());
    claims.agency = Some("11".to_owned());
    let official = signer.sign(&claims);
    let strong = signer.sign(&bench_claims(&issuer, &citizen.user_id, Role::Citizen));

    let api = RuntimeApi::start().await;
    let binary = &devstack::runtime_api::bench_binary("consent", env!("CARGO_BIN_EXE_consent"));
    let mut cold = Vec::new();
    for _ in 0..colds {
        let mut f = api.spawn(binary, &vars, 128);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    let mut f = api.spawn(binary, &vars, 128);
    let pid = f.child.id().unwrap();
    let request = json!({"citizenLoginId": "benchcitizen", "petitionId": "P-BENCH", "petitionName": "주거급여 신청",
        "documents": ["resident-registration-abstract", "local-tax-payment-certificate"],
        "purpose": "주거급여 자격 확인", "validDays": 7});
    let mut ask_ms = Vec::new();
    let mut sign_ms = Vec::new();
    recorder(&endpoint, "reset-recording").await;
    let started = Instant::now();
    let mut emptying = 0.0;
    for first in (0..signatures).step_by(round) {
        let last = (first + round).min(signatures);
        if first > 0 {
            let t = Instant::now();
            stack.empty("ConsentTable").await;
            emptying += t.elapsed().as_secs_f64();
        }
        let mut asked = Vec::new();
        for _ in first..last {
            let t = Instant::now();
            let answer = api
                .invoke(api_event(
                    "POST",
                    "/v1/consents",
                    "",
                    &official,
                    &[],
                    Some(&request),
                ))
                .await;
            ask_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["statusCode"], 201, "{answer}");
            asked.push(body(&answer));
        }
        recorder(&endpoint, "start-recording").await;
        for c in &asked {
            let payload = c["signingPayload"].as_str().unwrap();
            let signature = citizen.sign(payload);
            let path = format!(
                "/v1/consents/{}/signature",
                c["consentId"].as_str().unwrap()
            );
            let t = Instant::now();
            let answer = api
                .invoke(api_event(
                    "POST",
                    &path,
                    "",
                    &strong,
                    &[],
                    Some(&json!({"deviceId": device_id, "signature": signature})),
                ))
                .await;
            sign_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["statusCode"], 200, "{answer}");
        }
        recorder(&endpoint, "stop-recording").await;
    }
    let elapsed = started.elapsed().as_secs_f64() - emptying;
    let hwm = vm_hwm_kib(pid);
    f.child.kill().await.ok();
    let calls = recorded_calls(&endpoint).await;

    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "consent binary: {binary} ({size} bytes, {:.2} MiB)",
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "consent",
        binary,
        &cold,
        hwm,
        format!("{signatures} consents asked and signed"),
    );
    summary("start-up to first /next", cold);
    summary("request (login read, transaction)", ask_ms);
    summary("signature (device key, receipt, write)", sign_ms);
    println!(
        "{signatures} consents asked and signed in {elapsed:.1} s through one process; peak RSS (VmHWM) {:.1} MiB after them",
        hwm as f64 / 1024.0
    );
    per_operation("signature", &calls, signatures);
}
