//! `docs/openapi.json`: the route tables of the six functions assembled into one
//! OpenAPI 3.1 document by [`shared::openapi::document`].
//!
//! `tests/openapi.rs` compares the committed file with [`document`]; after a
//! change to a route or a type, write it again with
//! `POCKETGOV_WRITE_OPENAPI=1 cargo test -p e2e --test openapi`.

use serde_json::Value;
use shared::openapi::{Groups, Operation};

/// Where the document is committed, relative to the workspace root.
pub const PATH: &str = "docs/openapi.json";

fn group(
    tag: (&'static str, &'static str),
    operations: Vec<Operation>,
) -> (&'static str, &'static str, Vec<Operation>) {
    (tag.0, tag.1, operations)
}

/// Every function's routes, in api.md's order.
pub fn groups() -> Groups {
    vec![
        group(login::openapi::TAG, login::openapi::operations()),
        group(
            certificate::openapi::TAG,
            certificate::openapi::operations(),
        ),
        group(tax_refund::openapi::TAG, tax_refund::openapi::operations()),
        group(
            hazard_report::openapi::TAG,
            hazard_report::openapi::operations(),
        ),
        group(consent::openapi::TAG, consent::openapi::operations()),
        group(alert_sms::openapi::TAG, alert_sms::openapi::operations()),
    ]
}

/// The document, as `docs/openapi.json` holds it (pretty-printed, ending with a
/// newline).
pub fn document() -> String {
    let doc: Value = shared::openapi::document(env!("CARGO_PKG_VERSION"), &groups());
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value prints");
    text.push('\n');
    text
}
