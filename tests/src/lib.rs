//! Journeys across pocketgov functions with the compiled binaries (crate `e2e`).
//!
//! A journey runs several functions as Lambda runs them (cargo-lambda's Runtime
//! API, `devstack::local_lambda`), configured from template.yaml on a test stack,
//! and follows one user action across them: today, a device registered with
//! `login` that `alert-sms` texts through the outbox, the events topic and the
//! queue (`tests/texts.rs`). A journey of one function with the login App
//! in-process lives in that function's own `tests/binary.rs`, because Cargo
//! gives a test the path of its own package's binaries only; this crate builds
//! the binaries it needs itself ([`binary`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use devstack::TestStack;

pub mod openapi;

/// The compiled binary `name` of the workspace (debug profile), built first if
/// needed: Cargo builds only a package's own binaries for its tests.
///
/// The build is `cargo test --workspace --no-run`, the build of the README's
/// `cargo test`: within that run it has nothing to do, while a plain
/// `cargo build --bin` would resolve features without the dev-dependencies and
/// compile much of the dependency graph again.
///
/// # Panics
///
/// When the build fails.
pub fn binary(name: &str) -> String {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let root = devstack::workspace_root();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo test --workspace --no-run failed");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
        .to_string_lossy()
        .into_owned()
}

/// The environment of `function` on `stack`, as template.yaml sets it.
///
/// # Panics
///
/// When the template has no such function.
pub fn vars(stack: &TestStack, function: &str) -> BTreeMap<String, String> {
    match stack.env(function) {
        shared::config::Env::Map(vars) => vars,
        shared::config::Env::Process => unreachable!("test stacks give maps"),
    }
}

pub use devstack::phone::{TestPhone as Phone, unique as unique_phone};

/// A fresh device public key: base64url of a P-256 SubjectPublicKeyInfo (DER).
pub fn device_public_key() -> String {
    use p256::pkcs8::EncodePublicKey;
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let der = key
        .verifying_key()
        .to_public_key_der()
        .expect("a P-256 key encodes");
    data_encoding::BASE64URL_NOPAD.encode(der.as_bytes())
}
