//! The sample events in `events/hazard-report/` are real API Gateway v2
//! payloads, each run through the function here: filled in with values from a
//! real flow (the sample's PNG uploaded through the returned form), each
//! answers its documented success status; as committed (placeholders) none
//! answers a server error.

mod common;

use common::*;
use devstack::reply::samples;

async fn run(h: &H, name: &str, subs: &[(&str, &str)]) -> Reply {
    Reply::from(
        h.app
            .handle_http(samples::request("hazard-report", name, subs))
            .await,
    )
}

#[tokio::test]
async fn every_sample_event_answers_its_documented_status_when_filled_in() {
    let h = H::new().await;
    let me = h.user("sample.reporter", &[]).await;
    let official = h.user("sample.worker", &["reports:manage"]).await;
    let citizen = ("REPLACE_WITH_ACCESS_TOKEN", me.as_str());
    let officials = ("REPLACE_WITH_OFFICIAL_TOKEN", official.as_str());
    let mut covered = Vec::new();
    let r = run(&h, "create", &[citizen]).await;
    r.expect(201);
    covered.push("create");
    // The sample declares a 12-byte PNG: upload one through the form
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    assert!((200..300).contains(&upload(&r.body["uploads"][0], png).await));
    let id = r.str("reportId");
    let report = ("REPLACE_WITH_REPORT_ID", id.as_str());
    for (name, who) in [
        ("submit", citizen),
        ("get", citizen),
        ("list", citizen),
        ("nearby", citizen),
        ("queue", officials),
        ("status", officials),
    ] {
        let r = run(&h, name, &[who, report]).await;
        r.expect(200);
        covered.push(name);
    }
    covered.sort_unstable();
    assert_eq!(
        covered,
        samples::names("hazard-report"),
        "every sample is exercised"
    );
}

#[tokio::test]
async fn every_sample_event_as_committed_answers_without_a_server_error() {
    let h = H::new().await;
    for name in samples::names("hazard-report") {
        let r = run(&h, &name, &[]).await;
        assert!(r.status.as_u16() < 500, "{name}: {} {}", r.status, r.body);
        assert!(!r.header("x-request-id").is_empty());
    }
}
