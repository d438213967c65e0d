//! The local AWS: moto's server, one process that speaks the DynamoDB, S3, SNS,
//! SQS and Secrets Manager wire protocols.
//!
//! It runs `moto_launcher.py` (beside this crate's `Cargo.toml`) with a pipe as
//! its standard input and exits when that pipe closes, which the operating system
//! does whenever this process ends, however it ends. `cargo dev` uses port 4566;
//! tests use one emulator per test process on a free port ([`shared()`]).
//!
//! moto sends no text messages; it keeps them. [`sent_texts`] reads them back
//! through the launcher's own endpoint.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::venv::Venv;

/// Environment variable naming an already running emulator for tests
/// (`DEVSTACK_ENDPOINT=http://127.0.0.1:4566`), instead of starting one.
pub const ENDPOINT_VARIABLE: &str = "DEVSTACK_ENDPOINT";

/// Exit status of the launcher when its port is taken.
const PORT_TAKEN: i32 = 3;

/// The launcher's endpoint that lists the text messages SNS was asked to send.
pub const SMS_LOG_PATH: &str = "/_devstack/sms";

/// A text message SNS was asked to send (`Publish` with a `PhoneNumber`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SentText {
    /// The id `Publish` returned.
    pub message_id: String,
    /// The number, as given to `Publish` (E.164).
    pub phone_number: String,
    /// The text.
    pub message: String,
}

/// Every text message the emulator at `endpoint` was asked to send, in send
/// order (per region).
pub async fn sent_texts(endpoint: &str) -> Result<Vec<SentText>> {
    let url = format!("{}{SMS_LOG_PATH}", endpoint.trim_end_matches('/'));
    let response = crate::http_client::get(&url, Duration::from_secs(10)).await?;
    let unexpected = |problem: String| Error::Http {
        method: "GET",
        url: url.clone(),
        problem,
    };
    if response.status != 200 {
        return Err(unexpected(format!(
            "HTTP {} (is this emulator started by devstack's launcher?): {}",
            response.status,
            response.text()
        )));
    }
    serde_json::from_slice(&response.body).map_err(|e| unexpected(format!("not an SMS log: {e}")))
}

/// A running emulator. Dropping it stops it.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    port: u16,
    process: Mutex<Option<(Child, ChildStdin)>>,
}

impl Emulator {
    /// Starts moto from `venv` on 127.0.0.1:`port` (0 picks a free port) and waits
    /// until it accepts requests.
    pub fn start(venv: &Venv, port: u16) -> Result<Emulator> {
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_launcher.py");
        // moto's request recorder (the benchmarks count AWS calls with it) writes
        // `moto_recording` into the working directory unless told otherwise:
        // keep it out of the source tree.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let recording = std::env::temp_dir().join(format!(
            "pocketgov-moto-recording-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(venv.python())
            .arg(&launcher)
            .arg(port.to_string())
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Emulator(format!("cannot run {}: {e}", venv.python().display())))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::Emulator("no pipe to the launcher".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Emulator("no pipe from the launcher".into()))?;

        // The first line says `ready <port>`; the rest is drained so the
        // launcher can never block on a full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            for _ in lines {}
        });

        let ready = rx.recv_timeout(Duration::from_secs(60));
        let actual_port = match ready {
            Ok(Some(Ok(line))) => line
                .strip_prefix("ready ")
                .and_then(|p| p.trim().parse::<u16>().ok())
                .ok_or_else(|| Error::Emulator(format!("unexpected launcher output `{line}`"))),
            _ => {
                let _ = child.kill();
                let status = child.wait().ok().and_then(|s| s.code());
                if status == Some(PORT_TAKEN) {
                    Err(Error::PortTaken {
                        port,
                        purpose: "AWS emulator (moto)",
                    })
                } else {
                    Err(Error::Emulator(
                        "the launcher exited before it was ready (see its messages above)".into(),
                    ))
                }
            }
        };
        let actual_port = match actual_port {
            Ok(p) => p,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Emulator {
            endpoint: format!("http://127.0.0.1:{actual_port}"),
            port: actual_port,
            process: Mutex::new(Some((child, stdin))),
        })
    }

    /// An emulator someone else runs, at `endpoint`.
    pub fn external(endpoint: &str) -> Emulator {
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(0);
        Emulator {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            port,
            process: Mutex::new(None),
        }
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the emulator process has exited (always false for an external one).
    pub fn has_exited(&self) -> bool {
        let mut guard = self.process.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some((child, _)) => !matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the emulator: closes its pipe, waits briefly, then kills it.
    pub fn stop(&self) {
        let mut guard = self.process.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((mut child, mut stdin)) = guard.take() {
            let _ = stdin.flush();
            drop(stdin);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The emulator of this process, started on first use (one per test process).
///
/// With [`ENDPOINT_VARIABLE`] set, that emulator is used instead. Blocks while the
/// virtual environment is created (first run only) and the emulator starts.
pub fn shared() -> std::result::Result<&'static Emulator, &'static Error> {
    static SHARED: OnceLock<Result<Emulator>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            if let Ok(endpoint) = std::env::var(ENDPOINT_VARIABLE)
                && !endpoint.trim().is_empty()
            {
                return Ok(Emulator::external(endpoint.trim()));
            }
            let venv = Venv::workspace();
            venv.ensure()?;
            Emulator::start(&venv, 0)
        })
        .as_ref()
}

/// Fails with [`Error::PortTaken`] when 127.0.0.1:`port` is in use.
pub fn check_port_free(port: u16, purpose: &'static str) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(_) => Err(Error::PortTaken { port, purpose }),
    }
}
