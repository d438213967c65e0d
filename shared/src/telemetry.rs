//! JSON log lines for CloudWatch: one object per line, with the span fields of
//! [`crate::http::serve`] (request id, function) on every line inside a request.
//!
//! What is logged is chosen field by field at the call sites; request bodies,
//! headers, tokens, passwords, account numbers and full phone numbers are never
//! passed to the logger (use [`crate::phone::mask_phone`] when a number matters).

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter when `RUST_LOG` is unset or unreadable: `info`, with the AWS SDK's
/// own chatter kept at `warn`.
const DEFAULT_FILTER: &str = "info,aws_smithy_runtime=warn,aws_runtime=warn";

/// Installs the JSON subscriber. `RUST_LOG` overrides the default filter with
/// comma-separated `level` and `target=level` directives (tracing-subscriber's
/// `Targets` syntax: no span or field filters, which would link a regex engine
/// into every function for a feature nobody uses in production). Calling it
/// twice is harmless.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(default_filter);
    let format = tracing_subscriber::fmt::layer()
        .json()
        .with_target(false)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true);
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init();
}

fn default_filter() -> Targets {
    // A constant that parses: covered by the test below.
    DEFAULT_FILTER.parse().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn default_filter_logs_info_and_keeps_the_sdk_at_warn() {
        // GIVEN no RUST_LOG, WHEN the default filter is built
        let filter = default_filter();
        // THEN the functions log at info and the SDK's runtime only warnings
        assert!(filter.would_enable("login", &Level::INFO));
        assert!(!filter.would_enable("login", &Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(filter.would_enable("aws_smithy_runtime::client", &Level::WARN));
        assert!(!filter.would_enable("aws_runtime", &Level::INFO));
    }

    #[test]
    fn rust_log_directives_parse_as_targets() {
        // GIVEN a RUST_LOG a developer would write
        let filter: Targets = "warn,consent=debug".parse().unwrap();
        // THEN the named function logs at debug and the rest at warn
        assert!(filter.would_enable("consent::app", &Level::DEBUG));
        assert!(!filter.would_enable("shared::http", &Level::INFO));
    }
}
