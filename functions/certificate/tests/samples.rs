//! The sample events in `events/certificate/` are real API Gateway v2 payloads:
//! each is run through the function here, so none can rot. Filled in with values
//! from a real flow, each answers its documented success status; as committed
//! (with `REPLACE_WITH_...` placeholders, as `cargo lambda invoke` would send
//! them against `cargo dev`) none answers a server error.

mod common;

use common::{Harness, download};
use data_encoding::BASE64;
use devstack::reply::samples;

const PLACEHOLDER_PDF: &str =
    "JVBERi0xLjcKJSBSRVBMQUNFX1dJVEhfUERGOiBhIFBERiB0aGF0IHBvY2tldGdvdiBuZXZlciBpc3N1ZWQKJSVFT0YK";

async fn run(h: &Harness, name: &str, subs: &[(&str, &str)]) -> common::Reply {
    h.reply(
        h.app
            .handle(samples::request("certificate", name, subs))
            .await,
    )
}

#[tokio::test]
async fn every_sample_event_answers_its_documented_status_when_filled_in() {
    let h = Harness::new().await;
    let me = h.taxpayer("citizen1", "citizen1").await;
    let token = ("REPLACE_WITH_ACCESS_TOKEN", me.token.as_str());
    let mut covered = Vec::new();
    let mut check = |name: &str, reply: &common::Reply, status: u16| {
        reply.expect(status);
        covered.push(name.to_owned());
    };

    for name in ["lands-search", "land", "buildings", "list"] {
        let r = run(&h, name, &[token]).await;
        check(name, &r, 200);
    }
    let search = run(&h, "lands-search", &[token]).await;
    assert_eq!(search.body["items"].as_array().unwrap().len(), 7);
    let r = run(&h, "keys", &[]).await;
    check("keys", &r, 200);
    let r = run(&h, "issue-tax-assessment", &[token]).await;
    check("issue-tax-assessment", &r, 201);
    let r = run(&h, "issue", &[token]).await;
    check("issue", &r, 201);
    let no = r.str("issueNumber");
    let number = ("REPLACE_WITH_ISSUE_NUMBER", no.as_str());
    let pdf = BASE64.encode(&download(&r.str("downloadUrl")).await.2);
    let r = run(&h, "verify", &[(PLACEHOLDER_PDF, &pdf)]).await;
    check("verify", &r, 200);
    assert_eq!(r.body["valid"], true);
    for name in ["get", "verification", "verifications"] {
        let r = run(&h, name, &[token, number]).await;
        check(name, &r, 200);
    }
    let r = run(&h, "revocation", &[token, number]).await;
    check("revocation", &r, 200);
    assert_eq!(r.str("status"), "revoked");

    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        samples::names("certificate"),
        "every sample is exercised"
    );
}

#[tokio::test]
async fn every_sample_event_as_committed_answers_without_a_server_error() {
    let h = Harness::new().await;
    for name in samples::names("certificate") {
        let r = run(&h, &name, &[]).await;
        assert!(r.status.as_u16() < 500, "{name}: {} {}", r.status, r.body);
        assert!(!r.header("x-request-id").is_empty());
    }
}
