//! `docs/openapi.json` is what the code produces, and it lists exactly the routes
//! that `cargo dev` (and API Gateway, through the template test of devstack)
//! serves.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

#[test]
fn the_committed_openapi_document_is_what_the_code_produces() {
    let path = root().join(e2e::openapi::PATH);
    let produced = e2e::openapi::document();
    if std::env::var_os("POCKETGOV_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &produced).expect("docs/openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == produced,
        "docs/openapi.json is not what the route tables and types produce; write it again with\n  \
         POCKETGOV_WRITE_OPENAPI=1 cargo test -p e2e --test openapi\nand commit it"
    );
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_local_router() {
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .expect("the workspace manifest")
        .parse()
        .expect("valid TOML");
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a router table");
    let mut routed = BTreeSet::new();
    for (path, targets) in router {
        for target in targets.as_array().expect("a list of targets") {
            let function = target["function"].as_str().expect("a function");
            let method = target["method"].as_str().expect("a method");
            routed.insert((method.to_owned(), path.clone(), function.to_owned()));
        }
    }
    let mut documented = BTreeSet::new();
    for (tag, _, operations) in e2e::openapi::groups() {
        for op in operations {
            documented.insert((op.method.to_owned(), op.path.to_owned(), tag.to_owned()));
        }
    }
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routed but not documented: {missing:?}\ndocumented but not routed: {extra:?}"
    );
}

#[test]
fn every_operation_documents_its_successes_500_and_request_ids() {
    let doc: serde_json::Value =
        serde_json::from_str(&e2e::openapi::document()).expect("the document is JSON");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success"
            );
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            for (status, response) in responses {
                assert!(
                    response["headers"]["x-request-id"].is_object(),
                    "{method} {path} {status} lacks x-request-id"
                );
            }
            for p in op["parameters"].as_array().expect("parameters") {
                if p["in"] == "path" {
                    let name = p["name"].as_str().expect("a name");
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name}"
                    );
                }
            }
        }
    }
}
