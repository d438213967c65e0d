//! JSON log lines for CloudWatch: one object per line, with the span fields of
//! [`crate::http::serve`] (request id, function) on every line inside a request.
//!
//! What is logged is chosen field by field at the call sites; request bodies,
//! headers, tokens, passwords, account numbers and full phone numbers are never
//! passed to the logger (use [`crate::phone::mask_phone`] when a number matters).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. `RUST_LOG` overrides the default level `info`
/// (the AWS SDK's own chatter is kept at `warn`). Calling it twice is harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,aws_runtime=warn")
    });
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .try_init();
}
