//! The sample events in `events/tax-refund/` are real API Gateway v2 payloads:
//! each is run through the function here, so none can rot. Filled in with
//! values from a real flow (citizen3's ledger), each answers its documented
//! success status; as committed (with `REPLACE_WITH_...` placeholders, as
//! `cargo lambda invoke` would send them against `cargo dev`) none answers a
//! server error.

mod common;

use common::*;
use devstack::reply::samples;

async fn run(h: &Harness, name: &str, subs: &[(&str, &str)]) -> Reply {
    Reply::from(
        h.app
            .handle_http(samples::request("tax-refund", name, subs))
            .await,
    )
}

#[tokio::test]
async fn every_sample_event_answers_its_documented_status_when_filled_in() {
    let h = Harness::new().await;
    let me = h.citizen3("sample.citizen").await;
    let reviewer = h.reviewer("sample.reviewer").await;
    let citizen = ("REPLACE_WITH_ACCESS_TOKEN", me.strong.as_str());
    let official = ("REPLACE_WITH_OFFICIAL_TOKEN", reviewer.token.as_str());
    let mut covered = Vec::new();
    let mut check = |name: &str, reply: &Reply, status: u16| {
        reply.expect(status);
        covered.push(name.to_owned());
    };
    for name in ["bills", "eligible"] {
        let r = run(&h, name, &[citizen]).await;
        check(name, &r, 200);
        assert!(!r.body["items"].as_array().unwrap().is_empty(), "{name}");
    }
    let r = run(&h, "claim", &[citizen]).await;
    check("claim", &r, 201);
    let id = r.str("refundId");
    let refund = ("REPLACE_WITH_REFUND_ID", id.as_str());
    for name in ["list", "get"] {
        let r = run(&h, name, &[citizen, refund]).await;
        check(name, &r, 200);
    }
    let r = run(&h, "review", &[official]).await;
    check("review", &r, 200);
    assert_eq!(r.body["items"][0]["refundId"], id.as_str());
    let r = run(&h, "decision-approve", &[official, refund]).await;
    check("decision-approve", &r, 200);
    let r = run(&h, "payment", &[official, refund]).await;
    check("payment", &r, 200);
    assert_eq!(r.str("status"), "paid");
    let other = h.claim(&me, OP_2022).await.str("refundId");
    let r = run(
        &h,
        "decision-reject",
        &[official, ("REPLACE_WITH_REFUND_ID", other.as_str())],
    )
    .await;
    check("decision-reject", &r, 200);
    assert_eq!(r.str("status"), "rejected");

    covered.sort();
    covered.dedup();
    assert_eq!(
        covered,
        samples::names("tax-refund"),
        "every sample is exercised"
    );
}

#[tokio::test]
async fn every_sample_event_as_committed_answers_without_a_server_error() {
    let h = Harness::new().await;
    for name in samples::names("tax-refund") {
        let r = run(&h, &name, &[]).await;
        assert!(r.status.as_u16() < 500, "{name}: {} {}", r.status, r.body);
        assert!(!r.header("x-request-id").is_empty());
    }
}
