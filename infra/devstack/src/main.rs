//! `devstack`, the command behind `cargo dev`.
//!
//! - `devstack up`: the whole stack locally. Creates `.venv/` if needed, starts the
//!   emulator on 127.0.0.1:4566, creates every resource of `infra/template.yaml`
//!   as stack `pocketgov`, fills the signing keys secret from
//!   `.local/signing-keys.json` and the certificate keys secret from
//!   `.local/certificate-keys.json` (both created once), seeds the demo accounts,
//!   the registers and the demo tax ledgers, writes
//!   the functions' environment to `.local/env`, runs `cargo lambda watch` on
//!   127.0.0.1:9001 behind the local API's edge on 127.0.0.1:9000 (`edge`: bodies
//!   cargo-lambda cannot carry, `GET /openapi.json`), carries outbox items from the tables' streams to their topics
//!   and queues as the template's pipes do, feeds the functions' SQS queues to
//!   them through `cargo lambda watch` (one poller per SQS event, so a function
//!   with two queues is fed from both), prints every text message sent (number
//!   masked), and stops everything on Ctrl-C.
//! - `devstack keygen [--certificate | --consent] [--previous FILE]`: prints a
//!   new key set (JSON) for `aws secretsmanager put-secret-value`: the token
//!   signing keys, or with `--certificate` the certificate QR keys, with
//!   `--consent` the consent receipt keys; with `--previous`, the keys of FILE
//!   stay published after the new one.
//! - `devstack resources [--stack NAME]`: prints the resource names of a stack.
//! - `devstack measure [--arm64]`: the functions' Lambda zips and what they cost
//!   to run, as a table (`cargo measure`; see `devstack::measure`).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use devstack::deploy::{self, Stack};
use devstack::emulator::{self, Emulator};
use devstack::resolve::Context;
use devstack::template::{Kind, Template};
use devstack::venv::Venv;
use devstack::{
    ACCOUNT_ID, CERTIFICATE_KEYS_SECRET, CONSENT_KEYS_SECRET, Error, LOCAL_ISSUER, Pipes, REGION,
    SIGNING_KEYS_SECRET, SqsSource,
};

const EMULATOR_PORT: u16 = 4566;
const API_PORT: u16 = 9000;
/// Where cargo lambda watch listens, behind the edge on [`API_PORT`].
const WATCH_PORT: u16 = 9001;
/// How often the pipes read the streams: an event reaches its topic or queue
/// within this.
const PIPE_INTERVAL: Duration = Duration::from_millis(250);
/// How often the emulator's SMS log is read for new texts.
const TEXT_INTERVAL: Duration = Duration::from_millis(500);
const STACK_NAME: &str = "pocketgov";
const OFFICIAL_SCOPES: &str =
    "tax:review reports:manage consent:request alerts:issue alerts:approve";

const USAGE: &str = "\
usage: devstack <command>

commands:
  up                         the local stack: emulator on :4566, resources, demo data,
                             the API on :9000 (what `cargo dev` runs)
  keygen [--certificate | --consent] [--previous FILE]
                             print a new key set (JSON) for the token signing keys
                             secret, with --certificate for the certificate keys
                             secret, with --consent for the consent receipt keys
                             secret; --previous keeps FILE's keys published
  resources [--stack NAME]   print the resource names of a stack (default pocketgov)
  measure [--arm64]          build every function's Lambda zip (cargo lambda, release)
                             and print zip size, binary size, start-up and peak memory
                             (`cargo measure`; with --arm64 the sizes only)
";

/// A demo account of design.md.
struct Demo {
    login_id: &'static str,
    password: &'static str,
    name: &'static str,
    phone: &'static str,
    agency: Option<&'static str>,
}

const DEMO_ACCOUNTS: &[Demo] = &[
    Demo {
        login_id: "citizen1",
        password: "Citizen1-pocketgov",
        name: "홍길동",
        phone: "010-1234-5678",
        agency: None,
    },
    Demo {
        login_id: "citizen2",
        password: "Citizen2-pocketgov",
        name: "김영희",
        phone: "010-2345-6789",
        agency: None,
    },
    Demo {
        login_id: "citizen3",
        password: "Citizen3-pocketgov",
        name: "이순신",
        phone: "010-3456-7890",
        agency: None,
    },
    Demo {
        login_id: "official1",
        password: "Official1-pocketgov",
        name: "이서울",
        phone: "010-5678-9012",
        agency: Some("11"),
    },
    Demo {
        login_id: "official2",
        password: "Official2-pocketgov",
        name: "박부산",
        phone: "010-4567-8901",
        agency: Some("26"),
    },
];

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("up") => up().await,
        Some("keygen") => keygen(rest),
        Some("resources") => resources(rest),
        Some("measure") => devstack::measure::run(rest),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => {
            eprint!("devstack: unknown command `{other}`\n\n{USAGE}");
            Ok(ExitCode::from(2))
        }
        None => {
            eprint!("{USAGE}");
            Ok(ExitCode::from(2))
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("devstack: {e}");
        ExitCode::FAILURE
    })
}

/// The value of `--name VALUE` in `args`, refusing anything else.
fn option(args: &[String], name: &str) -> Result<Option<String>, ExitCode> {
    match args {
        [] => Ok(None),
        [flag, value] if flag == name => Ok(Some(value.clone())),
        _ => {
            eprint!("devstack: unexpected arguments {args:?}\n\n{USAGE}");
            Err(ExitCode::from(2))
        }
    }
}

fn keygen(args: &[String]) -> Result<ExitCode, Error> {
    // Ed25519 key sets (certificate QR codes, consent receipts) or, by
    // default, login's ES256 token keys.
    let ed25519 = [("--certificate", "cert"), ("--consent", "consent")]
        .into_iter()
        .find(|(flag, _)| args.iter().any(|a| a == flag));
    let rest: Vec<String> = args
        .iter()
        .filter(|a| *a != "--certificate" && *a != "--consent")
        .cloned()
        .collect();
    let previous = match option(&rest, "--previous") {
        Ok(path) => path,
        Err(code) => return Ok(code),
    };
    let previous = previous
        .map(|path| {
            fs::read_to_string(&path).map_err(|e| Error::Io {
                path: path.into(),
                source: e,
            })
        })
        .transpose()?;
    let keys = if let Some((_, prefix)) = ed25519 {
        let previous = previous
            .as_deref()
            .map(shared::eddsa::KeySet::from_json)
            .transpose()
            .map_err(|e| Error::Seed {
                what: "the previous Ed25519 keys".into(),
                message: e.to_string(),
            })?;
        let kid = format!(
            "{prefix}-{}",
            shared::time::rfc3339(shared::time::now_secs())
        );
        shared::eddsa::KeySet::generate_json(&kid, previous.as_ref())
    } else {
        login::signing::generate_key_set_json(previous.as_deref())
    };
    println!("{keys}");
    Ok(ExitCode::SUCCESS)
}

fn resources(args: &[String]) -> Result<ExitCode, Error> {
    let stack_name = match option(args, "--stack") {
        Ok(name) => name.unwrap_or_else(|| STACK_NAME.to_owned()),
        Err(code) => return Ok(code),
    };
    let template = Template::workspace()?;
    let context = Context::new(
        &template,
        &stack_name,
        REGION,
        ACCOUNT_ID,
        &deploy::local_parameters(),
    );
    for resource in template.resources() {
        let name = match resource.kind {
            Kind::Table | Kind::Topic | Kind::Queue | Kind::Secret | Kind::Bucket => {
                deploy::resource_name(&context, resource)?
            }
            Kind::Function => format!("(binary `{}`)", resource.binary().unwrap_or("?")),
            Kind::Key => "(a new key id per stack)".to_owned(),
            Kind::Pipe => format!(
                "{} (run by devstack)",
                deploy::resource_name(&context, resource)?
            ),
            _ => "(not created locally)".to_owned(),
        };
        println!(
            "{:<28} {:<30} {}",
            resource.logical_id, resource.type_name, name
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn up() -> Result<ExitCode, Error> {
    let root = devstack::workspace_root();
    emulator::check_port_free(EMULATOR_PORT, "AWS emulator (moto)")?;
    emulator::check_port_free(API_PORT, "local API")?;
    emulator::check_port_free(WATCH_PORT, "cargo lambda watch, behind the local API")?;

    let venv = Venv::at(&root);
    venv.ensure()?;
    let emulator = Emulator::start(&venv, EMULATOR_PORT)?;
    let endpoint = emulator.endpoint().to_owned();
    let sdk = deploy::sdk_config(&endpoint).await;

    let template = Template::load(root.join("infra").join("template.yaml"))?;
    let stack = deploy::deploy(
        &sdk,
        template,
        STACK_NAME,
        &endpoint,
        &deploy::local_parameters(),
    )
    .await?;
    let local = root.join(".local");
    fs::create_dir_all(&local).map_err(|e| Error::Io {
        path: local.clone(),
        source: e,
    })?;
    let keys = key_file(&local.join("signing-keys.json"), || {
        login::signing::generate_key_set_json(None)
    })?;
    stack.put_secret(&sdk, SIGNING_KEYS_SECRET, &keys).await?;
    let keys = key_file(&local.join("certificate-keys.json"), || {
        shared::eddsa::KeySet::generate_json("dev-certificate", None)
    })?;
    stack
        .put_secret(&sdk, CERTIFICATE_KEYS_SECRET, &keys)
        .await?;
    let keys = key_file(&local.join("consent-keys.json"), || {
        shared::eddsa::KeySet::generate_json("dev-consent", None)
    })?;
    stack.put_secret(&sdk, CONSENT_KEYS_SECRET, &keys).await?;
    seed(&stack, &sdk).await?;
    // Read before anything starts, so a pipe or queue devstack cannot run stops
    // `cargo dev` with a message instead of failing later in the background.
    let pipes = Arc::new(Pipes::from_stack(&stack, &sdk)?);
    let sources = SqsSource::all(&stack, &sdk)?;

    let (env, conflicts) = stack.all_functions_env()?;
    for name in conflicts {
        eprintln!(
            "devstack: warning: functions set `{name}` differently; .local/env keeps the first value"
        );
    }
    let env_file = local.join("env");
    write_env_file(&env_file, &env)?;

    let mut watch = start_watch(&venv, &root, &env_file)?;
    devstack::edge::serve(API_PORT, WATCH_PORT, root.join("docs").join("openapi.json"))
        .await
        .map_err(|e| Error::Io {
            path: PathBuf::from(format!("127.0.0.1:{API_PORT}")),
            source: e,
        })?;
    print_banner(&stack, &endpoint, &pipes, &sources);

    let mut background = tokio::task::JoinSet::new();
    background.spawn(pipes.clone().run(PIPE_INTERVAL));
    let api = format!("http://127.0.0.1:{WATCH_PORT}");
    for source in sources {
        let api = api.clone();
        background.spawn(async move {
            // A message received before cargo lambda watch listens would fail and
            // wait out the queue's visibility timeout.
            wait_for_port(WATCH_PORT).await;
            source.run(api).await;
        });
    }
    background.spawn(print_texts(endpoint.clone()));

    enum Stop {
        Signal,
        Watch(std::io::Result<std::process::ExitStatus>),
        Emulator,
    }
    let stop = tokio::select! {
        _ = tokio::signal::ctrl_c() => Stop::Signal,
        _ = terminate() => Stop::Signal,
        status = watch.wait() => Stop::Watch(status),
        _ = emulator_exit(&emulator) => Stop::Emulator,
    };
    eprintln!("\ndevstack: stopping");
    background.abort_all();
    let code = match stop {
        Stop::Signal => {
            stop_watch(&mut watch).await;
            ExitCode::SUCCESS
        }
        Stop::Watch(status) => {
            eprintln!("devstack: cargo lambda watch ended ({status:?})");
            ExitCode::FAILURE
        }
        Stop::Emulator => {
            eprintln!("devstack: the emulator ended unexpectedly");
            stop_watch(&mut watch).await;
            ExitCode::FAILURE
        }
    };
    emulator.stop();
    Ok(code)
}

/// Development keys: read from `path`, or made by `generate` and written there
/// once (mode 0600), so tokens and QR codes stay valid across restarts.
fn key_file(path: &Path, generate: impl FnOnce() -> String) -> Result<String, Error> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    match fs::read_to_string(path) {
        Ok(keys) if !keys.trim().is_empty() => return Ok(keys),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let keys = generate();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(keys.as_bytes()).map_err(io)?;
    eprintln!("devstack: created development keys in {}", path.display());
    Ok(keys)
}

async fn seed(stack: &Stack, sdk: &shared::aws::SdkConfig) -> Result<(), Error> {
    use login::accounts::{Provision, Role, provision};
    let seed_error = |what: &str, message: String| Error::Seed {
        what: what.to_owned(),
        message,
    };
    let env = shared::config::Env::from_map(stack.function_env("login")?);
    let app = login::App::from_env(&env, sdk)
        .await
        .map_err(|e| seed_error("the login function", e.to_string()))?;
    for demo in DEMO_ACCOUNTS {
        let (role, scopes) = match demo.agency {
            None => (Role::Citizen, Vec::new()),
            Some(_) => (
                Role::Official,
                OFFICIAL_SCOPES.split(' ').map(str::to_owned).collect(),
            ),
        };
        let user_id = provision(
            &app,
            Provision {
                login_id: demo.login_id.to_owned(),
                password: demo.password.to_owned(),
                name: demo.name.to_owned(),
                phone: demo.phone.to_owned(),
                role,
                scopes,
                agency: demo.agency.map(str::to_owned),
            },
        )
        .await
        .map_err(|e| seed_error(&format!("account `{}`", demo.login_id), e.to_string()))?;
        if demo.agency.is_none() {
            devstack::seed::tax_ledger(stack, sdk, demo.login_id, &user_id).await?;
        }
    }
    devstack::seed::registers(stack, sdk).await?;
    Ok(())
}

fn write_env_file(path: &Path, env: &BTreeMap<String, String>) -> Result<(), Error> {
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    fs::write(path, text).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Variables `cargo run` sets for devstack itself; cargo-lambda must not inherit
/// them, or it would take devstack's package for the one to serve.
const CARGO_RUN_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

fn start_watch(venv: &Venv, root: &Path, env_file: &Path) -> Result<tokio::process::Child, Error> {
    let program: PathBuf = venv.bin("cargo-lambda");
    let mut command = tokio::process::Command::new(&program);
    command
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(WATCH_PORT.to_string())
        .arg("--env-file")
        .arg(env_file)
        .current_dir(root)
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_") || CARGO_RUN_VARIABLES.contains(&name.as_ref()) {
            command.env_remove(name.as_ref());
        }
    }
    // On Linux, cargo-lambda also stops if devstack dies without cleaning up
    // (kill -9); elsewhere only Ctrl-C and normal shutdown stop it.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; it runs in the child before exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    command.spawn().map_err(|e| Error::Io {
        path: program,
        source: e,
    })
}

/// Asks cargo-lambda to stop (SIGINT, as Ctrl-C would), then kills it.
async fn stop_watch(watch: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = watch.id().and_then(|id| i32::try_from(id).ok()) {
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
    if tokio::time::timeout(Duration::from_secs(10), watch.wait())
        .await
        .is_err()
    {
        let _ = watch.kill().await;
    }
}

async fn emulator_exit(emulator: &Emulator) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if emulator.has_exited() {
            return;
        }
    }
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending().await
}

/// Waits until 127.0.0.1:`port` accepts connections.
async fn wait_for_port(port: u16) {
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prints each text message the emulator's SNS is asked to send, as it arrives
/// (moto sends none; this is how a developer sees them). Numbers are masked as
/// in the functions' logs.
async fn print_texts(endpoint: String) {
    let mut shown = 0;
    loop {
        tokio::time::sleep(TEXT_INTERVAL).await;
        // A failed read (the emulator stopping) is retried at the next round.
        let Ok(texts) = emulator::sent_texts(&endpoint).await else {
            continue;
        };
        for text in texts.iter().skip(shown) {
            println!(
                "text to {}: {}",
                shared::phone::mask_phone(&text.phone_number),
                text.message
            );
        }
        shown = texts.len();
    }
}

fn print_banner(stack: &Stack, endpoint: &str, pipes: &Pipes, sources: &[SqsSource]) {
    let mut out = String::new();
    out.push_str("\npocketgov is running locally\n\n");
    out.push_str(&format!(
        "  API (cargo lambda watch)  {LOCAL_ISSUER}   (description: {LOCAL_ISSUER}/openapi.json)\n"
    ));
    out.push_str(&format!(
        "  AWS emulator (moto)       {endpoint}   (aws --endpoint-url {endpoint} --region {REGION} ...)\n"
    ));
    out.push_str(&format!("  stack                     {}\n", stack.name()));
    for (id, physical) in stack.context().all_physical() {
        out.push_str(&format!("    {id:<24} {}\n", physical.reference));
    }
    if !pipes.pipes().is_empty() || !sources.is_empty() {
        out.push_str(
            "\n  run by devstack (in the cloud: EventBridge pipes, Lambda SQS event sources)\n",
        );
        for pipe in pipes.pipes() {
            out.push_str(&format!(
                "    outbox {}: {} stream -> {}\n",
                pipe.logical_id, pipe.table_name, pipe.target
            ));
        }
        for source in sources {
            out.push_str(&format!(
                "    queue {} -> {}\n",
                source.queue_name, source.binary
            ));
        }
    }
    out.push_str("\n  demo accounts\n");
    out.push_str(&format!(
        "    {:<10} {:<20} {:<9} {}\n",
        "loginId", "password", "role", "notes"
    ));
    for demo in DEMO_ACCOUNTS {
        let (role, notes) = match demo.agency {
            None => ("citizen", format!("{} {}", demo.name, demo.phone)),
            Some(agency) => (
                "official",
                format!("agency {agency}; scopes {OFFICIAL_SCOPES}"),
            ),
        };
        out.push_str(&format!(
            "    {:<10} {:<20} {:<9} {}\n",
            demo.login_id, demo.password, role, notes
        ));
    }
    out.push_str(&format!(
        "\n  try: curl -s {LOCAL_ISSUER}/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"loginId\":\"citizen1\",\"password\":\"Citizen1-pocketgov\"}}'\n"
    ));
    out.push_str("  (a function compiles on its first request; Ctrl-C stops everything)\n");
    out.push_str(
        "  text messages the functions send are printed here: `text to +82****5678: ...`\n\n",
    );
    print!("{out}");
}
