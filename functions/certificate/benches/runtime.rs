//! Benchmarks of the compiled `certificate` binary (release profile) as Lambda
//! runs it: devstack's minimal Runtime API feeds it API Gateway v2 events.
//!
//! ```sh
//! cargo bench -p certificate --bench runtime            # 1,000 certificates, 20 cold starts
//! BENCH_ISSUES=200 BENCH_COLD=5 cargo bench -p certificate --bench runtime
//! ```
//!
//! Reports the binary size, start-up time to the first
//! `GET /runtime/invocation/next`, the latency of issuing (render, S3 put,
//! DynamoDB transaction, presigning; the four types in turn) and of verifying
//! an uploaded PDF, and peak resident memory (VmHWM) over all the issues.
//! Latencies include the emulator's round trips; PDF rendering alone is
//! measured by `cargo bench -p certificate --bench render`.

use std::time::Instant;

use data_encoding::BASE64;
use devstack::TestStack;
use devstack::issuer::LocalIssuer;
use devstack::runtime_api::{RuntimeApi, env_number, summary, vm_hwm_kib};
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../../events/certificate/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn issue_event(token: &str, key: &str, body: &Value) -> String {
    let mut event = sample("issue");
    event["headers"]["authorization"] = json!(format!("Bearer {token}"));
    event["headers"]["idempotency-key"] = json!(key);
    event["body"] = json!(body.to_string());
    event.to_string()
}

fn verify_event(pdf: &[u8]) -> String {
    let mut event = sample("verify");
    event["body"] = json!(BASE64.encode(pdf));
    event.to_string()
}

#[tokio::main]
async fn main() {
    let issues = env_number("BENCH_ISSUES", 1000);
    let colds = env_number("BENCH_COLD", 20);

    // The stack, the registers, a taxpayer, and the issuer's keys served over HTTP.
    let stack = TestStack::new().await;
    stack.seed_registers().await;
    let issuer = LocalIssuer::start(&stack).await;
    let (user_id, token) = issuer.sign_in("bench", "Bench-password-2026").await;
    stack.seed_tax_ledger("citizen1", &user_id).await;
    let vars = issuer.env_of(&stack, "certificate");
    let api = RuntimeApi::start().await;
    let binary =
        &devstack::runtime_api::bench_binary("certificate", env!("CARGO_BIN_EXE_certificate"));
    let bodies = [
        json!({"type": "land-register", "pnu": "1111010100100010000"}),
        json!({"type": "building-register", "pnu": "1111010100100010000"}),
        json!({"type": "local-tax-payment"}),
        json!({"type": "local-tax-assessment", "year": 2025}),
    ];

    // Cold starts: process start to the first request for work, then the first
    // issue (which also fetches the issuer's keys).
    let mut cold = Vec::new();
    let mut first_issue = Vec::new();
    for i in 0..colds {
        let mut f = api.spawn(binary, &vars, 512);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        let sent = Instant::now();
        let answer = api
            .invoke(issue_event(&token, &format!("cold-{i}"), &bodies[0]))
            .await;
        assert_eq!(answer["statusCode"], 201, "{answer}");
        first_issue.push(sent.elapsed().as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Warm: many issues in one process; peak memory over all of them.
    let mut f = api.spawn(binary, &vars, 512);
    let pid = f.child.id().unwrap();
    let mut warm: Vec<Vec<f64>> = vec![Vec::new(); bodies.len()];
    let mut sizes: Vec<usize> = vec![0; bodies.len()];
    let mut last_url = [None, None, None, None];
    for i in 0..issues {
        let kind = i % bodies.len();
        let sent = Instant::now();
        let answer = api
            .invoke(issue_event(&token, &format!("warm-{i}"), &bodies[kind]))
            .await;
        warm[kind].push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer["statusCode"], 201, "{answer}");
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        last_url[kind] = body["downloadUrl"].as_str().map(str::to_owned);
    }
    let hwm_after_issues = vm_hwm_kib(pid);
    let mut pdfs = Vec::new();
    for (kind, url) in last_url.iter().enumerate() {
        let pdf = reqwest::get(url.as_deref().unwrap())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        sizes[kind] = pdf.len();
        pdfs.push(pdf);
    }
    let mut verify = Vec::new();
    for i in 0..100 {
        let sent = Instant::now();
        let answer = api.invoke(verify_event(&pdfs[i % pdfs.len()])).await;
        verify.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer["statusCode"], 200, "{answer}");
    }
    let hwm_after_verify = vm_hwm_kib(pid);
    f.child.kill().await.ok();

    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "certificate binary: {binary} ({:.2} MiB)",
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "certificate",
        binary,
        &cold,
        hwm_after_verify,
        format!("{issues} certificates issued, then 100 verified"),
    );
    summary("start-up to first /next", cold);
    summary("first issue after start-up", first_issue);
    for (kind, ms) in warm.into_iter().enumerate() {
        let name = bodies[kind]["type"].as_str().unwrap();
        summary(&format!("issue {name} (201)"), ms);
        println!("{:<38} PDF {} bytes", "", sizes[kind]);
    }
    summary("verify an uploaded PDF (200)", verify);
    println!(
        "peak RSS (VmHWM) after {issues} issues: {:.1} MiB; after 100 verifications: {:.1} MiB",
        hwm_after_issues as f64 / 1024.0,
        hwm_after_verify as f64 / 1024.0
    );
    println!("issuer key fetches: {}", issuer.jwks.hits());
}
