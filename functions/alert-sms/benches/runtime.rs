//! Benchmarks of the compiled `alert-sms` binary (release profile) as Lambda runs
//! it: devstack's minimal Runtime API feeds it SQS batches on the emulator.
//!
//! ```sh
//! cargo bench -p alert-sms --bench runtime              # 1,000 events, 20 cold starts
//! BENCH_EVENTS=200 BENCH_COLD=5 cargo bench -p alert-sms --bench runtime
//! ```
//!
//! Reports the binary size; start-up time to the first
//! `GET /runtime/invocation/next`; texts per second through one process in
//! batches of 10 (each text: a profile read, a claim, an SNS publish and the
//! claim marked sent, all against the emulator) and peak resident memory (VmHWM)
//! over all the events; and the delay from a committed change (a device
//! registered through the login App) to its text, carried the way `cargo dev`
//! carries it (devstack's pipes polling every 250 ms, the queue long-polled and
//! fed to the binary).

use std::sync::Arc;
use std::time::{Duration, Instant};

use devstack::TestStack;
use devstack::runtime_api::{RuntimeApi, env_number, summary, vm_hwm_kib};
use serde_json::{Value, json};
use shared::config::Env;
use shared::events::DomainEvent;
use shared::events::payloads::DeviceRegistered;

/// An SQS batch as Lambda builds it, one message per event.
fn batch(events: &[DomainEvent]) -> String {
    let records: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "messageId": shared::random::uuid(),
                "receiptHandle": "bench",
                "body": e.body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:bench",
                "awsRegion": "ap-northeast-2"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

fn phone(i: usize) -> String {
    format!("010-7{:03}-{:04}", i % 1000, (i * 7919) % 10_000)
}

#[tokio::main]
async fn main() {
    let events = env_number("BENCH_EVENTS", 1000);
    let colds = env_number("BENCH_COLD", 20);
    let journeys = env_number("BENCH_JOURNEYS", 20);

    // The stack and 50 citizens with phone numbers.
    let stack = TestStack::new().await;
    let Env::Map(vars) = stack.env("alert-sms") else {
        unreachable!("test stacks give maps")
    };
    let login_env = stack.env("login");
    let sdk = shared::aws::sdk_config(&login_env).await;
    let login = login::App::from_env(&login_env, &sdk).await.unwrap();
    let mut users = Vec::new();
    for i in 0..50 {
        let user = login::accounts::provision(
            &login,
            login::accounts::Provision::citizen(
                &format!("bench{i}"),
                "Bench-password-2026",
                "홍길동",
                &phone(i),
            ),
        )
        .await
        .unwrap();
        users.push(user);
    }
    let api = RuntimeApi::start().await;
    let binary = &devstack::runtime_api::bench_binary("alert-sms", env!("CARGO_BIN_EXE_alert-sms"));

    // Cold starts: process start to the first request for work.
    let mut cold = Vec::new();
    for _ in 0..colds {
        let mut f = api.spawn(binary, &vars, 128);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Warm: `events` texts in batches of 10 through one process.
    let mut f = api.spawn(binary, &vars, 128);
    let pid = f.child.id().unwrap();
    let all: Vec<DomainEvent> = (0..events)
        .map(|i| {
            let device = DeviceRegistered {
                device_id: shared::random::uuid(),
                device_name: format!("Galaxy S{}", 20 + i % 7),
            };
            DomainEvent::new(&users[i % users.len()], &device).unwrap()
        })
        .collect();
    let mut per_batch = Vec::new();
    let started = Instant::now();
    for chunk in all.chunks(10) {
        let sent = Instant::now();
        let answer = api.invoke(batch(chunk)).await;
        per_batch.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let hwm = vm_hwm_kib(pid);

    // Change -> text, carried as `cargo dev` carries it.
    let pipes = Arc::new(devstack::pipes::Pipes::from_stack(stack.stack(), &sdk).unwrap());
    let carrying = tokio::spawn(pipes.run(Duration::from_millis(250)));
    let source = stack.sqs_source("alert-sms", "DomainEvents");
    let mut delays = Vec::new();
    let device_key = {
        use p256::pkcs8::EncodePublicKey;
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        data_encoding::BASE64URL_NOPAD
            .encode(key.verifying_key().to_public_key_der().unwrap().as_bytes())
    };
    for j in 0..journeys {
        let i = 50 + j;
        let number = phone(i);
        login::accounts::provision(
            &login,
            login::accounts::Provision::citizen(
                &format!("journey{j}"),
                "Bench-password-2026",
                "홍길동",
                &number,
            ),
        )
        .await
        .unwrap();
        let e164 = shared::phone::PhoneNumber::parse(&number)
            .unwrap()
            .e164()
            .to_owned();
        let tokens = sign_in(&login, &format!("journey{j}")).await;
        let committed = Instant::now();
        let r = login
            .handle(devstack::reply::request(
                "POST",
                "/v1/auth/devices",
                Some(&json!({"deviceName": "Bench phone", "publicKey": device_key})),
                &[("authorization", &format!("Bearer {tokens}"))],
            ))
            .await;
        assert_eq!(r.status(), 201);
        let committed_in = committed.elapsed();
        loop {
            let delivered = source
                .poll_once(1, |event| {
                    let api = &api;
                    async move { Ok(api.invoke(event.to_string()).await) }
                })
                .await
                .unwrap();
            if delivered.deleted > 0 && !stack.texts_to(&e164).await.is_empty() {
                break;
            }
            assert!(
                committed.elapsed() < Duration::from_secs(30),
                "no text in 30 s"
            );
        }
        delays.push((committed.elapsed() - committed_in).as_secs_f64() * 1000.0);
    }
    carrying.abort();
    f.child.kill().await.ok();

    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "alert-sms binary: {binary} ({:.2} MiB)",
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "alert-sms",
        binary,
        &cold,
        hwm,
        format!("{events} event texts in batches of 10"),
    );
    summary("start-up to first /next", cold);
    summary("batch of 10 texts", per_batch);
    println!(
        "{events} texts in {elapsed:.1} s through one process: {:.0} texts/s; peak RSS (VmHWM) {:.1} MiB",
        events as f64 / elapsed,
        hwm as f64 / 1024.0
    );
    summary("committed change -> text (pipes every 250 ms)", delays);
}

async fn sign_in(login: &login::App, login_id: &str) -> String {
    let r = login
        .handle(devstack::reply::request(
            "POST",
            "/v1/auth/login",
            Some(&json!({"loginId": login_id, "password": "Bench-password-2026"})),
            &[],
        ))
        .await;
    let body: Value = match r.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        lambda_http::Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        lambda_http::Body::Empty => Value::Null,
        _ => Value::Null,
    };
    body["accessToken"].as_str().unwrap().to_owned()
}
