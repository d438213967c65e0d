//! `devstack measure` (`cargo measure`): the deployable artifacts and what they
//! cost to run, in one table.
//!
//! 1. `cargo lambda build --release --output-format zip` for the six functions
//!    (x86_64, or arm64 with `--arm64`), into `target/lambda/<function>/`.
//! 2. The same build as plain binaries
//!    (`target/measure/lambda/<function>/bootstrap`, the file each zip holds)
//!    and, for x86_64 (this machine can run it), each function's `runtime`
//!    benchmark with `BENCH_LAMBDA_DIR` pointing there, so that the binary it
//!    starts is the one in the zip: start-up to the first Runtime API request
//!    (median of [`COLD_STARTS`]) and peak resident memory over a fixed
//!    workload, written to `target/measure/<function>.json`
//!    (`runtime_api::report`).
//! 3. A Markdown table of zip size, binary size, start-up and peak memory, as
//!    the README's "Measured" gives it.
//!
//! The benchmarks compile the functions once more (Cargo's `bench` profile
//! keeps its own artifacts), but only to drive them: what is timed and
//! measured is the zipped binary.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::runtime_api::Measured;
use crate::venv::Venv;
use crate::{Error, workspace_root};

/// The functions, in the README's order.
pub const FUNCTIONS: [&str; 6] = [
    "login",
    "certificate",
    "alert-sms",
    "tax-refund",
    "hazard-report",
    "consent",
];

/// Cold starts timed per function.
pub const COLD_STARTS: usize = 10;

/// The size of each function's workload (the benchmarks' own variables),
/// small enough that the six run in a few minutes on two cores.
const WORKLOADS: [(&str, &str); 7] = [
    ("BENCH_LOGINS", "100"),
    ("BENCH_ISSUES", "100"),
    ("BENCH_EVENTS", "200"),
    ("BENCH_JOURNEYS", "3"),
    ("BENCH_CLAIMS", "100"),
    ("BENCH_REPORTS", "100"),
    ("BENCH_SIGNATURES", "100"),
];

/// Runs `devstack measure [--arm64]`.
///
/// # Errors
/// When cargo-lambda cannot be installed, or a build or benchmark fails.
pub fn run(args: &[String]) -> Result<ExitCode, Error> {
    let arm64 = match args {
        [] => false,
        [flag] if flag == "--arm64" => true,
        _ => {
            eprintln!("usage: devstack measure [--arm64]");
            return Ok(ExitCode::from(2));
        }
    };
    let root = workspace_root();
    let venv = Venv::workspace();
    venv.ensure()?;
    let lambda_dir = root.join("target").join("lambda");
    let triple = if arm64 {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };

    eprintln!("measure: cargo lambda build --release --output-format zip --target {triple}");
    if !status(&mut lambda_build(&venv, &root, triple, "zip", &lambda_dir))? {
        return Ok(ExitCode::FAILURE);
    }
    // The same build again as plain binaries (nothing is compiled twice), for
    // the benchmarks to run: a zip holds only `bootstrap`.
    let binaries = root.join("target").join("measure").join("lambda");
    if !status(&mut lambda_build(&venv, &root, triple, "binary", &binaries))? {
        return Ok(ExitCode::FAILURE);
    }

    let report_dir = root.join("target").join("measure");
    let mut rows = Vec::new();
    for function in FUNCTIONS {
        let zip = lambda_dir.join(function).join("bootstrap.zip");
        let zip_bytes = std::fs::metadata(&zip)
            .map(|m| m.len())
            .map_err(|source| io(&zip, source))?;
        let measured = if arm64 || std::env::consts::ARCH != "x86_64" {
            None
        } else {
            let _ = std::fs::remove_file(report_dir.join(format!("{function}.json")));
            eprintln!("measure: cargo bench -p {function} --bench runtime");
            let mut bench = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            bench
                .args([
                    "bench", "-p", function, "--bench", "runtime", "--target", triple,
                ])
                .env("BENCH_LAMBDA_DIR", &binaries)
                .env("BENCH_REPORT_DIR", &report_dir)
                .env("BENCH_COLD", COLD_STARTS.to_string())
                // hazard-report's search over stored reports is not part of this.
                .env("BENCH_STORED", "0")
                .current_dir(&root);
            for (name, value) in WORKLOADS {
                bench.env(name, value);
            }
            if !status(&mut bench)? {
                return Ok(ExitCode::FAILURE);
            }
            Some(read_report(&report_dir, function)?)
        };
        rows.push((function, zip_bytes, measured));
    }

    println!();
    println!(
        "| function | zip ({triple}) | binary | start-up (median of {COLD_STARTS}) | peak memory | workload |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (function, zip_bytes, measured) in rows {
        let binary = binaries.join(function).join("bootstrap");
        let binary_bytes = measured
            .as_ref()
            .map(|m| m.binary_bytes)
            .or_else(|| std::fs::metadata(&binary).ok().map(|m| m.len()))
            .unwrap_or(0);
        let (startup, peak, workload) = match &measured {
            Some(m) => (
                format!(
                    "{:.1} ms (p90 {:.1})",
                    m.startup_median_ms, m.startup_p90_ms
                ),
                format!("{:.1} MiB", m.peak_kib as f64 / 1024.0),
                m.workload.clone(),
            ),
            None => ("-".into(), "-".into(), "not run on this machine".into()),
        };
        println!(
            "| `{function}` | {} | {} | {startup} | {peak} | {workload} |",
            mib(zip_bytes),
            mib(binary_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo lambda build --release` of the six functions for `triple`, as
/// `format` (`zip` or `binary`) into `dir`.
fn lambda_build(venv: &Venv, root: &Path, triple: &str, format: &str, dir: &Path) -> Command {
    let mut build = Command::new(venv.bin("cargo-lambda"));
    build
        .args(["lambda", "build", "--release", "--output-format", format])
        .args(["--target", triple])
        .arg("--lambda-dir")
        .arg(dir)
        .current_dir(root);
    // cargo-lambda links with Zig, which it finds as `python3 -m ziglang`: the
    // virtual environment's Python has it (a dependency of cargo-lambda).
    if let Some(bin) = venv.bin("python").parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let joined = std::env::join_paths(
            std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)),
        );
        if let Ok(joined) = joined {
            build.env("PATH", joined);
        }
    }
    for function in FUNCTIONS {
        build.args(["-p", function]);
    }
    build
}

/// `3,456,789 B` as `3.30 MiB (3,456,789 B)`.
fn mib(bytes: u64) -> String {
    format!(
        "{:.2} MiB ({} B)",
        bytes as f64 / 1_048_576.0,
        crate::runtime_api::thousands(bytes)
    )
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn status(command: &mut Command) -> Result<bool, Error> {
    command
        .status()
        .map(|s| s.success())
        .map_err(|source| io(Path::new(command.get_program()), source))
}

/// What the function's benchmark wrote with `runtime_api::report`.
fn read_report(dir: &Path, function: &str) -> Result<Measured, Error> {
    let path: PathBuf = dir.join(format!("{function}.json"));
    let text = std::fs::read_to_string(&path).map_err(|source| io(&path, source))?;
    serde_json::from_str(&text).map_err(|e| {
        io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })
}
