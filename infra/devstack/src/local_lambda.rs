//! A compiled function binary run as Lambda runs it, for tests: cargo-lambda's
//! emulation of the Lambda Runtime API (`cargo lambda watch --only-lambda-apis`)
//! on a free port, the binary connected to it, and the function reachable over
//! HTTP at [`LocalLambda::base_url`].

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::venv::Venv;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// cargo-lambda's Runtime API, running; it stops when dropped.
pub struct LocalLambda {
    runtime: Child,
    port: u16,
}

impl LocalLambda {
    /// Starts `cargo lambda watch --only-lambda-apis` from the project's
    /// `.venv/` (created if needed) and waits until it listens.
    ///
    /// # Panics
    ///
    /// When cargo-lambda cannot be installed or does not come up in 30 s.
    pub async fn start() -> LocalLambda {
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
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = runtime.try_wait() {
                panic!("cargo-lambda exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "cargo-lambda did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        LocalLambda { runtime, port }
    }

    /// Starts the function `binary` with exactly the environment `vars` (plus
    /// `PATH` and the Lambda variables); its stdout (the JSON logs) is piped.
    pub fn spawn(&self, binary: &str, vars: &BTreeMap<String, String>, memory_mb: u32) -> Child {
        Command::new(binary)
            .env_clear()
            .envs(vars)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the function binary starts")
    }

    /// Stops a function started by [`LocalLambda::spawn`] and returns its
    /// output (the log) and the lines of it that are JSON.
    pub async fn stop(mut function: Child) -> (String, Vec<serde_json::Value>) {
        function.kill().await.ok();
        let out = function
            .wait_with_output()
            .await
            .expect("the function's output");
        let logs = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines = logs
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (logs, lines)
    }

    /// The function's HTTP base URL (its Function URL emulation).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/lambda-url/_", self.port)
    }

    /// The Lambda Invoke API of the function: POST an event (an SQS batch, ...)
    /// and get its answer, as Lambda's event source mappings do.
    pub fn invoke_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
            self.port
        )
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        let _ = self.runtime.start_kill();
    }
}
