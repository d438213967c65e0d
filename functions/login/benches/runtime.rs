//! Benchmarks of the compiled `login` binary (release profile) as Lambda runs it:
//! a minimal Lambda Runtime API here feeds it API Gateway v2 events.
//!
//! ```sh
//! cargo bench -p login --bench runtime            # 1,000 logins, 20 cold starts
//! BENCH_LOGINS=200 BENCH_COLD=5 cargo bench -p login --bench runtime
//! ```
//!
//! Reports: start-up time to the first `GET /runtime/invocation/next`, latency
//! of warm password logins, peak resident memory (VmHWM) over all of them, and
//! the time of a wrong password against an unknown loginId, and argon2id alone.
//! Request latencies include the emulator's round trips.

use std::time::Instant;

use devstack::TestStack;
use devstack::runtime_api::{RuntimeApi, summary, vm_hwm_kib};
use serde_json::{Value, json};
use shared::config::Env;

fn login_event(login_id: &str, password: &str) -> String {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/login/login.json"
    ))
    .unwrap();
    let mut event: Value = serde_json::from_str(&template).unwrap();
    event["body"] = Value::String(json!({"loginId": login_id, "password": password}).to_string());
    event.to_string()
}

#[tokio::main]
async fn main() {
    let logins: usize = std::env::var("BENCH_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let colds: usize = std::env::var("BENCH_COLD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let stack = TestStack::new().await;
    let env = stack.env("login");
    let Env::Map(vars) = env.clone() else {
        unreachable!()
    };
    let app = login::App::from_env(&env, &shared::aws::sdk_config(&env).await)
        .await
        .unwrap();
    let users = 40;
    for i in 0..users {
        login::accounts::provision(
            &app,
            login::accounts::Provision::citizen(
                &format!("bench{i:03}"),
                "Bench-password-2026",
                "홍길동",
                "010-1234-5678",
            ),
        )
        .await
        .unwrap();
    }

    let api = RuntimeApi::start().await;
    let binary = &devstack::runtime_api::bench_binary("login", env!("CARGO_BIN_EXE_login"));

    // Cold starts: process start to the first request for work.
    let mut cold = Vec::new();
    let mut first_invoke = Vec::new();
    for _ in 0..colds {
        let mut f = api.spawn(binary, &vars, 256);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        let sent = Instant::now();
        let answer = api
            .invoke(login_event("bench000", "Bench-password-2026"))
            .await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
        first_invoke.push(sent.elapsed().as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Warm: many password logins in one process; peak memory over all of them.
    let mut f = api.spawn(binary, &vars, 256);
    let pid = f.child.id().unwrap();
    let mut warm = Vec::with_capacity(logins);
    for i in 0..logins {
        let sent = Instant::now();
        let answer = api
            .invoke(login_event(
                &format!("bench{:03}", i % users),
                "Bench-password-2026",
            ))
            .await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
        warm.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    let hwm_after_logins = vm_hwm_kib(pid);

    // Same cost for an unknown loginId as for a wrong password (first failure of
    // each id, so no lockout interferes).
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..users {
        let sent = Instant::now();
        let answer = api
            .invoke(login_event(&format!("bench{i:03}"), "Not-the-password-1"))
            .await;
        assert_eq!(answer["statusCode"], 401, "{answer}");
        wrong.push(sent.elapsed().as_secs_f64() * 1000.0);
        let sent = Instant::now();
        let answer = api
            .invoke(login_event(&format!("ghost{i:03}"), "Not-the-password-1"))
            .await;
        assert_eq!(answer["statusCode"], 401, "{answer}");
        unknown.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    f.child.kill().await.ok();

    // argon2id alone, in this (release) process, with its memory block reused.
    let hasher = login::passwords::Hasher::new();
    let stored = hasher.hash("Bench-password-2026");
    let mut argon = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        assert!(hasher.verify("Bench-password-2026", &stored));
        argon.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "login binary: {} ({:.2} MiB)",
        binary,
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "login",
        binary,
        &cold,
        hwm_after_logins,
        format!("{logins} password logins"),
    );
    summary("start-up to first /next", cold);
    summary("first invocation after start-up", first_invoke);
    summary("warm password login (200)", warm);
    summary("wrong password (401)", wrong);
    summary("unknown loginId (401)", unknown);
    summary("argon2id verify (19 MiB, t=2), in-process", argon);
    println!(
        "peak RSS (VmHWM) after {logins} logins: {:.1} MiB",
        hwm_after_logins as f64 / 1024.0
    );
}
