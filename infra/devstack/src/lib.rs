//! devstack: the local twin of `infra/template.yaml`.
//!
//! It brings up, on a laptop or in CI, the resources the template describes:
//! moto's server as the AWS emulator ([`emulator`]), started from the project's
//! Python environment ([`venv`]), and in it every table, topic, queue and secret
//! of the template ([`template`], [`resolve`], [`deploy`]), named from the
//! template itself so that local and cloud cannot drift.
//!
//! Two users: `cargo dev` (the `devstack up` binary: emulator on port 4566, demo
//! data, `cargo lambda watch` on port 9000) and tests ([`TestStack`]: one emulator
//! per test process, fresh names per stack).

pub mod deploy;
pub mod emulator;
mod error;
pub mod issuer;
pub mod json_stub;
pub mod local_lambda;
pub mod reply;
pub mod resolve;
pub mod runtime_api;
pub mod seed;
pub mod template;
mod test_stack;
pub mod venv;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};
pub use test_stack::{
    CERTIFICATE_KEYS_SECRET, EVENTS_TOPIC, PublishedEvent, SIGNING_KEYS_SECRET, TestStack,
};

/// The region of every local stack (Seoul).
pub const REGION: &str = "ap-northeast-2";
/// The account id the emulator uses.
pub const ACCOUNT_ID: &str = "123456789012";
/// The local token issuer: the base URL of `cargo lambda watch`.
pub const LOCAL_ISSUER: &str = "http://127.0.0.1:9000";

/// The workspace root (the directory of the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}
