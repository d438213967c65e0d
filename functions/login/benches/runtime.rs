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

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devstack::TestStack;
use serde_json::{Value, json};
use shared::config::Env;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

/// Events waiting for the function, and what it answered.
#[derive(Default)]
struct Runtime {
    queue: Mutex<VecDeque<(String, String)>>,
    ready: Notify,
    first_next: Mutex<Option<Instant>>,
    /// Bumped for each function process, so that a killed process's parked
    /// connection never takes an event meant for its successor.
    generation: std::sync::atomic::AtomicU64,
}

async fn serve(
    listener: TcpListener,
    rt: Arc<Runtime>,
    answers: mpsc::UnboundedSender<(String, Value)>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (rt, answers) = (rt.clone(), answers.clone());
        let generation = rt.generation.load(std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let _ = connection(stream, rt, answers, generation).await;
        });
    }
}

async fn connection(
    stream: TcpStream,
    rt: Arc<Runtime>,
    answers: mpsc::UnboundedSender<(String, Value)>,
    generation: u64,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await?;
            if header.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await?;
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            rt.first_next
                .lock()
                .unwrap()
                .get_or_insert_with(Instant::now);
            let (id, event) = loop {
                if rt.generation.load(std::sync::atomic::Ordering::SeqCst) != generation {
                    return Ok(());
                }
                let next = rt.queue.lock().unwrap().pop_front();
                match next {
                    Some(item) => break item,
                    None => rt.ready.notified().await,
                }
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {id}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:ap-northeast-2:123456789012:function:login\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                event.len()
            );
            write.write_all(format!("{head}{event}").as_bytes()).await?;
        } else {
            if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
                let id = rest.split('/').next().unwrap_or("").to_owned();
                let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = answers.send((id, value));
            } else {
                eprintln!(
                    "runtime: {method} {path}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            write
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .await?;
        }
    }
}

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

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Function {
    child: tokio::process::Child,
    spawned: Instant,
}

async fn spawn(
    rt: &Runtime,
    vars: &std::collections::BTreeMap<String, String>,
    port: u16,
) -> Function {
    rt.generation
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    rt.ready.notify_waiters();
    let spawned = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_login"))
        .env_clear()
        .envs(vars)
        .env("RUST_LOG", "warn")
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "login")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    Function { child, spawned }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name:<38} n={:<5} median {:>8.2} ms  p90 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
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

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = Arc::new(Runtime::default());
    let (tx, mut answers) = mpsc::unbounded_channel();
    tokio::spawn(serve(listener, rt.clone(), tx));

    let invoke = |rt: Arc<Runtime>, event: String| {
        let id = shared::random::uuid();
        rt.queue.lock().unwrap().push_back((id.clone(), event));
        rt.ready.notify_waiters();
        rt.ready.notify_one();
        id
    };

    // Cold starts: process start to the first request for work.
    let mut cold = Vec::new();
    let mut first_invoke = Vec::new();
    for _ in 0..colds {
        *rt.first_next.lock().unwrap() = None;
        let mut f = spawn(&rt, &vars, port).await;
        while rt.first_next.lock().unwrap().is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let first = rt.first_next.lock().unwrap().unwrap();
        cold.push((first - f.spawned).as_secs_f64() * 1000.0);
        let sent = Instant::now();
        invoke(rt.clone(), login_event("bench000", "Bench-password-2026"));
        let (_, answer) = answers.recv().await.unwrap();
        assert_eq!(answer["statusCode"], 200, "{answer}");
        first_invoke.push(sent.elapsed().as_secs_f64() * 1000.0);
        f.child.kill().await.ok();
    }

    // Warm: many password logins in one process; peak memory over all of them.
    let mut f = spawn(&rt, &vars, port).await;
    let pid = f.child.id().unwrap();
    let mut warm = Vec::with_capacity(logins);
    for i in 0..logins {
        let sent = Instant::now();
        invoke(
            rt.clone(),
            login_event(&format!("bench{:03}", i % users), "Bench-password-2026"),
        );
        let (_, answer) = answers.recv().await.unwrap();
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
        invoke(
            rt.clone(),
            login_event(&format!("bench{i:03}"), "Not-the-password-1"),
        );
        let (_, answer) = answers.recv().await.unwrap();
        assert_eq!(answer["statusCode"], 401, "{answer}");
        wrong.push(sent.elapsed().as_secs_f64() * 1000.0);
        let sent = Instant::now();
        invoke(
            rt.clone(),
            login_event(&format!("ghost{i:03}"), "Not-the-password-1"),
        );
        let (_, answer) = answers.recv().await.unwrap();
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

    let size = std::fs::metadata(env!("CARGO_BIN_EXE_login"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "login binary: {} ({:.2} MiB)",
        env!("CARGO_BIN_EXE_login"),
        size as f64 / 1048576.0
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
