//! Benchmarks of the compiled `tax-refund` binary (release profile) as Lambda
//! runs it: devstack's minimal Runtime API feeds it API Gateway v2 events on
//! the emulator.
//!
//! ```sh
//! cargo bench -p tax-refund --bench runtime            # 1,000 claims, 20 cold starts
//! BENCH_CLAIMS=200 BENCH_COLD=5 BENCH_ROUND=50 cargo bench -p tax-refund --bench runtime
//! ```
//!
//! moto copies every table a transaction touches (with its stream records) for
//! each of the transaction's items, so large tables make it slow and hungry:
//! the claims run in rounds of `BENCH_ROUND` citizens, and between rounds the
//! two tables are emptied (the function's process runs on through all of them).
//!
//! Reports the binary size; start-up time to the first
//! `GET /runtime/invocation/next`; the latency of a claim (a taxpayer's ledger
//! read, a KMS encryption, the claim transaction with its reservation, and the
//! idempotency record) over `BENCH_CLAIMS` citizens with citizen3's ledger, one
//! claim each through one process, and the peak resident memory (VmHWM) after
//! them; the latency of approvals and payments; and the AWS calls per claim,
//! approval and payment as the emulator saw them (moto's request recorder).

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

#[tokio::main]
async fn main() {
    let claims = env_number("BENCH_CLAIMS", 1000);
    let colds = env_number("BENCH_COLD", 20);

    // The stack, a token issuer of the bench's own, and `claims` taxpayers
    // with citizen3's ledger.
    let stack = TestStack::new().await;
    let signer = TokenSigner::generate("bench-key");
    let jwks = JsonStub::start(
        "/.well-known/jwks.json",
        &shared::auth::jwks(&[signer.public_key()]),
    )
    .await;
    let issuer = jwks.base_url();
    let Env::Map(mut vars) = stack.env("tax-refund") else {
        unreachable!("test stacks give maps")
    };
    vars.insert("TOKEN_ISSUER".into(), issuer.clone());
    let round = env_number("BENCH_ROUND", 100).max(1);
    let mut review = bench_claims(&issuer, &shared::random::uuid(), Role::Official);
    review.scope = Some("tax:review".to_owned());
    let reviewer = signer.sign(&review);

    let api = RuntimeApi::start().await;
    let binary =
        &devstack::runtime_api::bench_binary("tax-refund", env!("CARGO_BIN_EXE_tax-refund"));

    // Cold starts: process start to the first request for work.
    let mut cold = Vec::new();
    for _ in 0..colds {
        let mut f = api.spawn(binary, &vars, 128);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Warm: one claim per citizen through one process.
    let mut f = api.spawn(binary, &vars, 128);
    let pid = f.child.id().unwrap();
    let body = json!({
        "refundableId": "OP-B2022-30170-PROP-07",
        "bankCode": "088",
        "accountNumber": "110-234-567890",
        "accountHolder": "이순신",
    });
    let mut ids = Vec::new();
    let mut claim_ms = Vec::new();
    let endpoint = stack.endpoint().to_owned();
    let mut seeding = 0.0;
    let started = Instant::now();
    for first in (0..claims).step_by(round) {
        let last = (first + round).min(claims);
        let is_last = last == claims;
        let seeded = Instant::now();
        if first > 0 {
            for table in ["TaxRefundTable", "TaxLedgerTable"] {
                stack.empty(table).await;
            }
        }
        let mut citizens = Vec::new();
        for _ in first..last {
            let user = shared::random::uuid();
            stack.seed_tax_ledger("citizen3", &user).await;
            citizens.push(signer.sign(&bench_claims(&issuer, &user, Role::Citizen)));
        }
        seeding += seeded.elapsed().as_secs_f64();
        if is_last {
            recorder(&endpoint, "reset-recording").await;
            recorder(&endpoint, "start-recording").await;
        }
        ids.clear();
        for (i, citizen) in citizens.iter().enumerate() {
            let key = format!("bench-{first}-{i}");
            let sent = Instant::now();
            let answer = api
                .invoke(api_event(
                    "POST",
                    "/v1/tax/refunds",
                    "",
                    citizen,
                    &[("idempotency-key", &key)],
                    Some(&body),
                ))
                .await;
            claim_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["statusCode"], 201, "{answer}");
            let refund: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            ids.push(refund["refundId"].as_str().unwrap().to_owned());
        }
    }
    let reviews = ids.len();
    let elapsed = started.elapsed().as_secs_f64() - seeding;
    recorder(&endpoint, "stop-recording").await;
    let claim_calls = recorded_calls(&endpoint).await;
    let hwm = vm_hwm_kib(pid);

    // Approvals, then payments, of the last `reviews` claims.
    let mut steps = Vec::new();
    for (step, path, etag, body) in [
        (
            "approval",
            "decision",
            "\"1\"",
            Some(json!({"decision": "approve"})),
        ),
        ("payment", "payment", "\"2\"", None),
    ] {
        recorder(&endpoint, "reset-recording").await;
        recorder(&endpoint, "start-recording").await;
        let mut ms = Vec::new();
        for id in &ids {
            let sent = Instant::now();
            let answer = api
                .invoke(api_event(
                    "POST",
                    &format!("/v1/tax/refunds/{id}/{path}"),
                    "",
                    &reviewer,
                    &[("if-match", etag)],
                    body.as_ref(),
                ))
                .await;
            ms.push(sent.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["statusCode"], 200, "{answer}");
        }
        recorder(&endpoint, "stop-recording").await;
        steps.push((step, ms, recorded_calls(&endpoint).await));
    }
    let hwm_after = vm_hwm_kib(pid);
    f.child.kill().await.ok();

    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    println!(
        "tax-refund binary: {binary} ({size} bytes, {:.2} MiB)",
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "tax-refund",
        binary,
        &cold,
        hwm_after,
        format!("{claims} claims, then {reviews} approvals and {reviews} payments"),
    );
    summary("start-up to first /next", cold);
    summary(
        "claim (ledger read, KMS, transaction, idempotency)",
        claim_ms,
    );
    println!(
        "{claims} claims in {elapsed:.1} s through one process: {:.0} claims/s; peak RSS (VmHWM) {:.1} MiB after them, {:.1} MiB after {reviews} approvals and payments",
        claims as f64 / elapsed,
        hwm as f64 / 1024.0,
        hwm_after as f64 / 1024.0
    );
    per_operation("claim", &claim_calls, reviews);
    for (step, ms, calls) in steps {
        summary(step, ms);
        per_operation(step, &calls, reviews);
    }
}
