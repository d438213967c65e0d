//! Benchmarks of the compiled `hazard-report` binary (release profile) as
//! Lambda runs it: devstack's minimal Runtime API feeds it API Gateway v2
//! events on the emulator.
//!
//! ```sh
//! cargo bench -p hazard-report --bench runtime      # 1,000 reports, 100,000 stored for nearby
//! BENCH_REPORTS=100 BENCH_STORED=10000 cargo bench -p hazard-report --bench runtime
//! ```
//!
//! The emulator copies every table in each transaction, so the reports are
//! made in rounds of `BENCH_ROUND` (100) with the table emptied between
//! rounds (one process throughout: the peak memory covers all of them). The
//! emulator also reads a whole table for each index query, so the nearby
//! times measure moto more than the index: the cells and items each search
//! read are printed too (counted from the reports written, not asked of the
//! emulator), which is what DynamoDB's time and price follow.
//!
//! Reports the binary size; start-up time to the first
//! `GET /runtime/invocation/next`; `BENCH_REPORTS` reports through one
//! process (create with a presigned POST, the photo posted to the emulator's
//! S3, submit with the photo check and the duplicate query) with the peak
//! resident memory after them; then `BENCH_STORED` submitted reports written
//! around Seoul and the time of `BENCH_QUERIES` (3) nearby queries of 300 m
//! and of 2 km over them, with the cells and items each reads.

use std::time::Instant;

use devstack::TestStack;
use devstack::json_stub::JsonStub;
use devstack::runtime_api::{RuntimeApi, api_event, bench_claims, env_number, summary, vm_hwm_kib};
use hazard_report::geo::{self, Point};
use hazard_report::status::Status;
use hazard_report::store::{Location, Photo, Report, Reports, WIDE};
use serde_json::{Value, json};
use shared::auth::{Role, TokenSigner};
use shared::config::Env;

async fn upload(form: &Value, bytes: Vec<u8>) {
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in form["fields"].as_object().unwrap() {
        multipart = multipart.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("p"),
    );
    let r = reqwest::Client::new()
        .post(form["url"].as_str().unwrap())
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// A pseudo-random number in [0, 1) from `i` (splitmix64's finaliser, so
/// consecutive `i` scatter evenly; no dependency needed).
fn unit(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[tokio::main]
async fn main() {
    let count = env_number("BENCH_REPORTS", 1000);
    let stored = env_number("BENCH_STORED", 100_000);
    let colds = env_number("BENCH_COLD", 20);
    let round = env_number("BENCH_ROUND", 100).max(1);

    let stack = TestStack::new().await;
    let signer = TokenSigner::generate("bench-key");
    let jwks = JsonStub::start(
        "/.well-known/jwks.json",
        &shared::auth::jwks(&[signer.public_key()]),
    )
    .await;
    let issuer = jwks.base_url();
    let Env::Map(mut vars) = stack.env("hazard-report") else {
        unreachable!("test stacks give maps")
    };
    vars.insert("TOKEN_ISSUER".into(), issuer.clone());
    let citizen = signer.sign(&bench_claims(
        &issuer,
        &shared::random::uuid(),
        Role::Citizen,
    ));
    let api = RuntimeApi::start().await;
    let binary =
        &devstack::runtime_api::bench_binary("hazard-report", env!("CARGO_BIN_EXE_hazard-report"));

    let mut cold = Vec::new();
    for _ in 0..colds {
        let mut f = api.spawn(binary, &vars, 256);
        let first = api.first_next().await;
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Reports through one process.
    let mut f = api.spawn(binary, &vars, 256);
    let pid = f.child.id().unwrap();
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let mut create_ms = Vec::new();
    let mut submit_ms = Vec::new();
    for i in 0..count {
        if i > 0 && i % round == 0 {
            stack.empty("HazardReportTable").await;
        }
        let body = json!({"category": "road-damage", "description": "보도블록 파손", "location": {"lat": 37.45 + 0.2 * unit(2 * i as u64), "lon": 126.85 + 0.3 * unit(2 * i as u64 + 1)}, "photos": [{"contentType": "image/png", "sizeBytes": png.len()}]});
        let t = Instant::now();
        let answer = api
            .invoke(api_event(
                "POST",
                "/v1/reports",
                "",
                &citizen,
                &[("idempotency-key", &format!("bench-{i}"))],
                Some(&body),
            ))
            .await;
        create_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer["statusCode"], 201, "{answer}");
        let created: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        upload(&created["uploads"][0], png.clone()).await;
        let id = created["reportId"].as_str().unwrap();
        let t = Instant::now();
        let answer = api
            .invoke(api_event(
                "POST",
                &format!("/v1/reports/{id}/submit"),
                "",
                &citizen,
                &[],
                None,
            ))
            .await;
        submit_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(answer["statusCode"], 200, "{answer}");
    }
    let hwm = vm_hwm_kib(pid);
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    // Printed now: the nearby phase below is long on the emulator.
    println!(
        "hazard-report binary: {binary} ({size} bytes, {:.2} MiB)",
        size as f64 / 1048576.0
    );
    devstack::runtime_api::report(
        "hazard-report",
        binary,
        &cold,
        hwm,
        format!("{count} reports created and submitted"),
    );
    summary("start-up to first /next", cold);
    summary("create (presigned POST)", create_ms);
    summary("submit (photo check, duplicates)", submit_ms);
    println!(
        "peak RSS (VmHWM) after {count} reports: {:.1} MiB",
        hwm as f64 / 1024.0
    );

    if stored == 0 {
        // `cargo measure` stops here: start-up and peak memory are measured.
        return;
    }

    // `stored` submitted reports around Seoul, written in batches.
    let sdk = stack.sdk_config().await;
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let table = stack
        .physical("HazardReportTable")
        .unwrap()
        .reference
        .clone();
    let reports = Reports::new(db.clone(), table.clone());
    stack.empty("HazardReportTable").await;
    let seeding = Instant::now();
    let now_ms = shared::time::now_secs() * 1000;
    let mut batch = Vec::new();
    let mut cells = std::collections::HashMap::<String, usize>::new();
    let mut item_bytes = 0;
    for i in 0..stored {
        let id = shared::random::uuid();
        let r = Report {
            report_id: id,
            user_id: "seed".into(),
            category: "streetlight".into(),
            description: "가로등 고장".into(),
            location: Location {
                lat: 37.45 + 0.2 * unit(7 * i as u64 + 3),
                lon: 126.85 + 0.3 * unit(7 * i as u64 + 5),
                accuracy_m: None,
            },
            photos: vec![Photo {
                photo_id: "p".into(),
                content_type: "image/png".into(),
                size_bytes: 12,
            }],
            status: Status::Submitted,
            version: 2,
            created_at: "2026-12-04T00:00:00Z".into(),
            created_ms: now_ms,
            submitted_at: Some("2026-12-04T00:00:00Z".into()),
            submitted_ms: Some(now_ms - i as i64),
            updated_at: "2026-12-04T00:00:00Z".into(),
            history: Vec::new(),
        };
        *cells.entry(r.location.point().geohash(WIDE)).or_default() += 1;
        let item = reports.item(&r).unwrap();
        item_bytes += dynamo_size(&item);
        batch.push(item);
        if batch.len() == 500 || i + 1 == stored {
            shared::dynamo::put_all(&db, &table, &batch).await.unwrap();
            batch.clear();
        }
    }
    let seeded = seeding.elapsed().as_secs_f64();
    let mean_item = item_bytes / stored.max(1);
    println!(
        "{stored} reports written in {seeded:.1} s; {} cells of 6 characters hold them; items of ~{mean_item} bytes",
        cells.len()
    );
    // What each search reads is known here without asking the emulator: the
    // stored reports in the cells covering its circle (DynamoDB reads exactly
    // those, 1 MB a page, 0.5 read unit per 4 KB eventually consistent).
    let queries = env_number("BENCH_QUERIES", 3) as u64;
    for (radius, label) in [(300.0, "nearby 300 m"), (2000.0, "nearby 2 km")] {
        let mut ms = Vec::new();
        let (mut found, mut covered, mut read) = (0, 0, 0);
        for q in 0..queries {
            let lat = 37.5 + 0.1 * unit(1000 + q);
            let lon = 126.9 + 0.2 * unit(2000 + q);
            let cover = geo::cover(Point::in_korea(lat, lon).unwrap(), radius, WIDE);
            covered += cover.len();
            read += cover.iter().filter_map(|c| cells.get(c)).sum::<usize>();
            let query = format!("lat={lat}&lon={lon}&radiusM={radius}");
            let t = Instant::now();
            let answer = api
                .invoke(api_event(
                    "GET",
                    "/v1/reports/nearby",
                    &query,
                    &citizen,
                    &[],
                    None,
                ))
                .await;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer["statusCode"], 200, "{answer}");
            let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            found += body["items"].as_array().unwrap().len();
        }
        let n = queries.max(1) as usize;
        let read = read / n;
        summary(
            &format!(
                "{label} over {stored} reports: mean {} found, {} cells, {read} items read (~{:.0} read units on DynamoDB)",
                found / n,
                covered / n,
                (read * mean_item) as f64 / 4096.0 * 0.5
            ),
            ms,
        );
    }
    println!(
        "peak RSS (VmHWM) after the nearby queries: {:.1} MiB",
        vm_hwm_kib(pid) as f64 / 1024.0
    );
    f.child.kill().await.ok();
}

/// The size DynamoDB bills for an item: attribute names and values (strings
/// as UTF-8, numbers about half their digits, maps and lists with their
/// overhead), roughly.
fn dynamo_size(item: &shared::dynamo::Item) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    fn value(v: &A) -> usize {
        match v {
            A::S(s) => s.len(),
            A::N(n) => n.len().div_ceil(2) + 1,
            A::Bool(_) | A::Null(_) => 1,
            A::L(l) => 3 + l.iter().map(|v| 1 + value(v)).sum::<usize>(),
            A::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value(v)).sum::<usize>(),
            _ => 8,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}
