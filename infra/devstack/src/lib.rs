//! devstack: the local twin of `infra/template.yaml`.
//!
//! It brings up, on a laptop or in CI, the resources the template describes:
//! moto's server as the AWS emulator ([`emulator`]), started from the project's
//! Python environment ([`venv`]), and in it every table, topic, queue and secret
//! of the template ([`template`], [`resolve`], [`deploy`]), named from the
//! template itself so that local and cloud cannot drift.
//!
//! What the cloud runs for the stack besides the functions, devstack runs itself:
//! the template's EventBridge pipes, which carry outbox items from the tables'
//! streams to topics (the events topic) and queues ([`pipes`]), and Lambda's
//! SQS event source mappings, which feed queues to functions ([`sqs_source`]).
//!
//! Two users: `cargo dev` (the `devstack up` binary: emulator on port 4566, demo
//! data, `cargo lambda watch` on port 9000, pipes and queues running, texts
//! printed as they are sent) and tests ([`TestStack`]: one emulator per test
//! process, fresh names per stack, pipes pumped when events are read).
//!
//! Modules: [`template`] reads the template, [`resolve`] resolves its
//! intrinsics, [`deploy`] creates its resources, [`emulator`] runs moto (and
//! reads the texts it kept), [`venv`] the Python environment, [`seed`] the demo
//! data, [`pipes`] and [`sqs_source`] the event plumbing, [`local_lambda`] and
//! [`runtime_api`] run compiled functions, [`reply`], [`json_stub`] and
//! [`issuer`] help function tests, [`phone`] gives each test its own number.

pub mod deploy;
pub mod edge;
pub mod emulator;
mod error;
pub mod faults;
mod http_client;
pub mod issuer;
pub mod json_stub;
pub mod local_lambda;
pub mod measure;
pub mod phone;
pub mod pipes;
pub mod reply;
pub mod resolve;
pub mod runtime_api;
pub mod seed;
pub mod sqs_source;
pub mod template;
mod test_stack;
pub mod users;
pub mod venv;

use std::path::{Path, PathBuf};

pub use emulator::SentText;
pub use error::{Error, Result};
pub use pipes::{Pipe, Pipes, Target};
pub use sqs_source::{Delivered, SqsSource};
pub use test_stack::{
    CERTIFICATE_KEYS_SECRET, CONSENT_KEYS_SECRET, EVENTS_TOPIC, PublishedEvent,
    SIGNING_KEYS_SECRET, TestStack,
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
