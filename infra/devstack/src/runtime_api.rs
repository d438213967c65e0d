//! A minimal Lambda Runtime API for benchmarks of the compiled functions: it
//! feeds events to a function process exactly as Lambda does (long-polled
//! `GET /runtime/invocation/next`, answers posted back), so start-up time,
//! latency and peak memory are measured on the real binary, release profile.

use std::collections::{BTreeMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
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
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:ap-northeast-2:123456789012:function:bench\r\n\
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

/// The Runtime API, listening on a free local port.
pub struct RuntimeApi {
    rt: Arc<Runtime>,
    port: u16,
    answers: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
}

/// A function process started by [`RuntimeApi::spawn`].
pub struct Function {
    /// The process.
    pub child: tokio::process::Child,
    /// When it was started.
    pub spawned: Instant,
}

impl RuntimeApi {
    /// Starts serving on 127.0.0.1 (a free port).
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port");
        let port = listener.local_addr().expect("bound").port();
        let rt = Arc::new(Runtime::default());
        let (tx, answers) = mpsc::unbounded_channel();
        tokio::spawn(serve(listener, rt.clone(), tx));
        RuntimeApi {
            rt,
            port,
            answers: tokio::sync::Mutex::new(answers),
        }
    }

    /// Starts the function `binary` with the environment `vars` (plus the
    /// Lambda variables), output discarded. Events queued for an earlier
    /// process are no longer handed to it.
    pub fn spawn(&self, binary: &str, vars: &BTreeMap<String, String>, memory_mb: u32) -> Function {
        self.rt
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.rt.ready.notify_waiters();
        *self.rt.first_next.lock().unwrap() = None;
        let spawned = Instant::now();
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(vars)
            .env("RUST_LOG", "warn")
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", self.port))
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the function binary starts");
        Function { child, spawned }
    }

    /// Waits until the latest process asks for its first event; returns when.
    pub async fn first_next(&self) -> Instant {
        loop {
            if let Some(at) = *self.rt.first_next.lock().unwrap() {
                return at;
            }
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
    }

    /// Hands `event` (JSON text) to the function and returns its answer.
    pub async fn invoke(&self, event: String) -> Value {
        let id = shared::random::uuid();
        self.rt.queue.lock().unwrap().push_back((id.clone(), event));
        self.rt.ready.notify_waiters();
        self.rt.ready.notify_one();
        let mut answers = self.answers.lock().await;
        loop {
            let (answered, value) = answers.recv().await.expect("the runtime API runs");
            if answered == id {
                return value;
            }
        }
    }
}

/// Peak resident memory (VmHWM) of process `pid`, in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Prints count, median, p90, p99 and max of `ms` (milliseconds).
pub fn summary(name: &str, mut ms: Vec<f64>) {
    if ms.is_empty() {
        println!("{name:<38} n=0");
        return;
    }
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

/// An API Gateway HTTP API (v2) event for `method path?query` with a bearer
/// `token`, extra `headers` and a JSON `body`, as benchmarks feed functions.
pub fn api_event(
    method: &str,
    path: &str,
    query: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> String {
    use serde_json::json;
    let mut h =
        json!({"authorization": format!("Bearer {token}"), "content-type": "application/json"});
    for (k, v) in headers {
        h[*k] = json!(v);
    }
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "queryStringParameters": params, "headers": h,
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "127.0.0.1",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": shared::random::uuid(), "routeKey": "$default", "stage": "$default",
            "time": "05/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
        "body": body.map(Value::to_string), "isBase64Encoded": false
    })
    .to_string()
}

/// Starts, stops or resets the emulator's request recorder (`action`:
/// `start-recording`, `stop-recording`, `reset-recording`).
///
/// # Panics
///
/// When the emulator does not answer.
pub async fn recorder(endpoint: &str, action: &str) {
    let url = format!(
        "{}/moto-api/recorder/{action}",
        endpoint.trim_end_matches('/')
    );
    crate::http_client::post_json(&url, Vec::new(), std::time::Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("devstack: the emulator's recorder ({action}): {e}"));
}

/// The requests the emulator recorded, counted by `X-Amz-Target` (the
/// DynamoDB, KMS, ... action; `other` for the rest).
///
/// # Panics
///
/// When the emulator does not answer.
pub async fn recorded_calls(endpoint: &str) -> BTreeMap<String, usize> {
    let url = format!(
        "{}/moto-api/recorder/download-recording",
        endpoint.trim_end_matches('/')
    );
    let response = crate::http_client::get(&url, std::time::Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("devstack: the emulator's recording: {e}"));
    let mut counts = BTreeMap::new();
    for line in response.text().lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let target = entry["headers"]
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            })
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("other");
        let action = target.rsplit('.').next().unwrap_or(target).to_owned();
        *counts.entry(action).or_insert(0) += 1;
    }
    counts
}

/// Prints the calls of `counts` divided by `n` (per operation).
pub fn per_operation(label: &str, counts: &BTreeMap<String, usize>, n: usize) {
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, v)| format!("{k} {:.2}", *v as f64 / n.max(1) as f64))
        .collect();
    println!("AWS calls per {label}: {}", parts.join(", "));
}

/// The number in environment variable `name` (`100000`, `100_000` or
/// `100,000`), or `default` when it is unset or not a number.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

/// Access-token claims of a bench's own issuer for `sub` as `role`: a
/// device-key sign-in (`amr ["hwk"]`, strong) valid two hours, without scope
/// or agency (set them on the result).
pub fn bench_claims(issuer: &str, sub: &str, role: shared::auth::Role) -> shared::auth::Claims {
    let now = shared::time::now_secs();
    shared::auth::Claims {
        iss: issuer.to_owned(),
        aud: shared::auth::AUDIENCE.to_owned(),
        sub: sub.to_owned(),
        role,
        scope: None,
        amr: vec!["hwk".into()],
        auth_time: now,
        iat: now,
        exp: now + 7200,
        jti: shared::random::uuid(),
        agency: None,
    }
}

/// The function binary a benchmark runs: `<BENCH_LAMBDA_DIR>/<function>/bootstrap`
/// (the file `cargo lambda build` puts in the function's zip) when that
/// variable is set, as `cargo measure` sets it; else `built`, the benchmark's
/// own build of the binary (`env!("CARGO_BIN_EXE_<function>")`).
pub fn bench_binary(function: &str, built: &str) -> String {
    match std::env::var("BENCH_LAMBDA_DIR") {
        Ok(dir) if !dir.is_empty() => std::path::Path::new(&dir)
            .join(function)
            .join("bootstrap")
            .to_string_lossy()
            .into_owned(),
        _ => built.to_owned(),
    }
}

/// What a function's runtime benchmark measured, for `cargo measure`'s table.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    /// The function (package and binary name).
    pub function: String,
    /// Size of the binary that ran, in bytes.
    pub binary_bytes: u64,
    /// Start-up to the first Runtime API `next`: median and p90 (ms) of `cold_starts`.
    pub startup_median_ms: f64,
    /// See `startup_median_ms`.
    pub startup_p90_ms: f64,
    /// How many cold starts were timed.
    pub cold_starts: usize,
    /// Peak resident memory (VmHWM) of one process over `workload`, in KiB.
    pub peak_kib: u64,
    /// What that process served, in words ("100 password logins").
    pub workload: String,
}

/// Writes `measured` to `<BENCH_REPORT_DIR>/<function>.json` when that variable
/// is set (by `cargo measure`); otherwise does nothing.
pub fn report(
    function: &str,
    binary: &str,
    cold_ms: &[f64],
    peak_kib: u64,
    workload: impl Into<String>,
) {
    let Ok(dir) = std::env::var("BENCH_REPORT_DIR") else {
        return;
    };
    let mut sorted = cold_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (median, p90) = if sorted.is_empty() {
        (0.0, 0.0)
    } else {
        (percentile(&sorted, 0.5), percentile(&sorted, 0.9))
    };
    let measured = Measured {
        function: function.to_owned(),
        binary_bytes: std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0),
        startup_median_ms: median,
        startup_p90_ms: p90,
        cold_starts: sorted.len(),
        peak_kib,
        workload: workload.into(),
    };
    let path = std::path::Path::new(&dir).join(format!("{function}.json"));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&measured).unwrap_or_default(),
        )
    });
    if let Err(e) = written {
        eprintln!("bench: cannot write {}: {e}", path.display());
    }
}

/// `12345678` as `12,345,678`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
