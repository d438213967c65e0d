//! The sample events of `events/alert-sms/` are real events, as Lambda hands
//! them to the function (`cargo lambda invoke alert-sms --data-file ...`), and
//! each does what its name says:
//!
//! - SQS batches of domain events (texts): each texts its events once;
//! - SQS batches of the delivery queue (`alert.*` outbox events): an issued
//!   alert is published and fanned out;
//! - API Gateway HTTP API (payload 2.0) requests for the alert routes: filled
//!   in with values from a real flow, each answers its documented status.
//!
//! As committed (with `REPLACE_WITH_...` placeholders) none is retried or
//! answered with a server error. Every sample is run by one of these tests.

mod common;

use alert_sms::Outcome;
use aws_lambda_events::event::sqs::SqsEvent;
use common::{Harness, Reply};
use devstack::reply::samples;
use serde_json::{Value, json};

const USER_ID: &str = "REPLACE_WITH_USER_ID";
const TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const ALERT_ID: &str = "REPLACE_WITH_ALERT_ID";

/// The HTTP samples, in the order of the flow that runs them.
const FLOW: [&str; 7] = [
    "alerts-create",
    "alerts-pending",
    "alerts-approve",
    "alerts-subscribe",
    "alerts-list",
    "alerts-get-cap",
    "alerts-cancel",
];

/// Every sample: `(name, text)`.
fn samples() -> Vec<(String, String)> {
    let dir = samples::dir("alert-sms");
    samples::names("alert-sms")
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            (name, text)
        })
        .collect()
}

/// Whether an SQS sample carries steps of an alert's delivery (`alert.*`
/// bodies) rather than events to text; `None` when it is not an SQS batch.
fn is_delivery(name: &str, text: &str) -> Option<bool> {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let records = value.get("Records")?.as_array()?;
    let alert: Vec<bool> = records
        .iter()
        .map(|r| {
            let body = r["body"].as_str().unwrap_or_default();
            serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|b| b["type"].as_str().map(|t| t.starts_with("alert.")))
                .unwrap_or(false)
        })
        .collect();
    let delivery = alert.iter().all(|a| *a);
    assert!(
        delivery || !alert.iter().any(|a| *a),
        "{name} mixes texts and alert delivery steps"
    );
    Some(delivery)
}

/// The SQS samples of domain events to text.
fn text_samples() -> Vec<(String, String)> {
    samples()
        .into_iter()
        .filter(|(name, text)| is_delivery(name, text) == Some(false))
        .collect()
}

/// The SQS samples of the delivery queue.
fn delivery_samples() -> Vec<(String, String)> {
    samples()
        .into_iter()
        .filter(|(name, text)| is_delivery(name, text) == Some(true))
        .collect()
}

fn batch(name: &str, text: &str, subs: &[(&str, &str)]) -> SqsEvent {
    let mut text = text.to_owned();
    for (from, to) in subs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is an SQS event: {e}"))
}

/// HTTP sample `name`, filled in, as the raw response (CAP XML is not JSON).
async fn raw(
    h: &Harness,
    name: &str,
    subs: &[(&str, &str)],
) -> lambda_http::Response<lambda_http::Body> {
    h.app
        .handle_http(samples::request("alert-sms", name, subs))
        .await
}

/// HTTP sample `name`, filled in, answered with JSON.
async fn run(h: &Harness, name: &str, subs: &[(&str, &str)]) -> Reply {
    Reply::from(raw(h, name, subs).await)
}

#[tokio::test]
async fn each_sample_texts_its_events_once_when_it_names_a_real_user() {
    // GIVEN the samples and a citizen
    let h = Harness::new().await;
    let citizen = h.citizen("sampleuser").await;
    let all = text_samples();
    assert!(all.len() >= 4, "{all:?}");
    let mut expected = 0;
    for (name, text) in &all {
        // WHEN a sample, its placeholder filled, is handled twice
        let batch = batch(name, text, &[(USER_ID, &citizen.user_id)]);
        let first = h.app.handle_batch(&batch, "sample").await;
        let again = h.app.handle_batch(&batch, "sample").await;
        // THEN every well-formed event is texted once, and nothing is retried
        let sent = first.count(|o| *o == Outcome::Sent);
        assert!(sent > 0, "{name}: {first:?}");
        assert!(first.response().batch_item_failures.is_empty(), "{name}");
        assert_eq!(again.count(|o| *o == Outcome::Duplicate), sent, "{name}");
        assert!(again.response().batch_item_failures.is_empty(), "{name}");
        expected += sent;
    }
    assert_eq!(h.texts(&citizen).await.len(), expected);
}

#[tokio::test]
async fn as_committed_each_sample_is_answered_without_a_retry() {
    // GIVEN the SQS samples as committed (user and alert ids are placeholders)
    let h = Harness::new().await;
    let all: Vec<_> = text_samples()
        .into_iter()
        .chain(delivery_samples())
        .collect();
    assert!(all.len() >= 5, "{all:?}");
    for (name, text) in all {
        let batch = batch(&name, &text, &[]);
        // WHEN handled THEN nothing is retried: no such user or alert, nothing sent
        let report = h.app.handle_batch(&batch, "sample").await;
        assert!(report.response().batch_item_failures.is_empty(), "{name}");
        assert_eq!(report.count(|o| *o == Outcome::Sent), 0, "{name}");
    }
}

#[tokio::test]
async fn the_alert_samples_answer_their_documented_status_in_a_realistic_order() {
    // GIVEN two officials and a citizen
    let h = Harness::new().await;
    let writer = h.official("writer").await;
    let approver = h.official("approver").await;
    let citizen = h.citizen("samplecitizen").await;
    let mut covered = Vec::new();

    // WHEN one official writes the alert of alerts-create
    let as_writer = (TOKEN, writer.token.as_str());
    let r = run(&h, "alerts-create", &[as_writer]).await;
    r.expect(201);
    assert_eq!(r.str("status"), "pending-approval");
    assert_eq!(r.body["regions"], json!(["11", "41"]));
    assert_eq!(r.body["category"], "disaster");
    let id = r.str("alertId");
    let alert = (ALERT_ID, id.as_str());
    covered.push("alerts-create");

    // THEN the second sees it waiting, and approves it
    let as_approver = (TOKEN, approver.token.as_str());
    let r = run(&h, "alerts-pending", &[as_approver]).await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["alertId"], json!(id), "{}", r.body);
    covered.push("alerts-pending");
    let r = run(&h, "alerts-approve", &[as_approver, alert]).await;
    r.expect(200);
    assert_eq!(r.str("status"), "issued");
    assert_eq!(r.str("approvedBy"), approver.user_id);
    covered.push("alerts-approve");

    // AND a citizen subscribes to Seoul and Gyeonggi
    let r = run(&h, "alerts-subscribe", &[(TOKEN, &citizen.token)]).await;
    r.expect(200);
    assert_eq!(r.body["regions"], json!(["11", "41"]));
    let categories = r.body["categories"].as_array().unwrap();
    assert!(categories.contains(&json!("disaster")), "{}", r.body);
    covered.push("alerts-subscribe");

    // AND the public finds the alert in Seoul's list, and reads it as CAP
    let r = run(&h, "alerts-list", &[]).await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["alertId"], json!(id), "{}", r.body);
    covered.push("alerts-list");
    let response = raw(&h, "alerts-get-cap", &[alert]).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/cap+xml"),
        "{content_type}"
    );
    let xml = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        xml.contains(&format!("<identifier>pocketgov-alert-{id}</identifier>")),
        "{xml}"
    );
    covered.push("alerts-get-cap");

    // AND the writer cancels it
    let r = run(&h, "alerts-cancel", &[as_writer, alert]).await;
    r.expect(200);
    assert_eq!(r.str("status"), "cancelled");
    covered.push("alerts-cancel");

    assert_eq!(
        covered, FLOW,
        "every HTTP sample is run, in the flow's order"
    );
}

#[tokio::test]
async fn every_alert_sample_as_committed_answers_without_a_server_error() {
    let h = Harness::new().await;
    for name in FLOW {
        let r = raw(&h, name, &[]).await;
        assert!(r.status().as_u16() < 500, "{name}: {}", r.status());
        assert!(r.headers().contains_key("x-request-id"), "{name}");
    }
}

#[tokio::test]
async fn the_delivery_sample_publishes_an_issued_alert_and_its_subscriber_gets_one_text() {
    // GIVEN a citizen subscribed to Seoul and an issued disaster alert for Seoul
    let h = Harness::new().await;
    let writer = h.official("writer").await;
    let approver = h.official("approver").await;
    let citizen = h.citizen("samplecitizen").await;
    h.subscribe(&citizen, json!({"regions": ["11"]}))
        .await
        .expect(200);
    let issued = h
        .issue(
            &writer,
            &approver,
            json!({
                "category": "disaster",
                "regions": ["11", "41"],
                "headline": "호우경보",
                "message": "오늘 밤 시간당 50mm 이상의 비가 예상됩니다. 하천변 산책로 이용을 자제하세요.",
            }),
        )
        .await;
    let id = issued["alertId"].as_str().unwrap();
    let all = delivery_samples();
    assert!(!all.is_empty());
    for (name, text) in &all {
        // WHEN the sample, filled in with that alert, is handled
        let batch = batch(
            name,
            text,
            &[(ALERT_ID, id), (USER_ID, approver.user_id.as_str())],
        );
        let report = h.app.handle_batch(&batch, "sample").await;
        // THEN the alert is published and its delivery planned; nothing is retried
        assert_eq!(
            report.count(|o| *o == Outcome::Sent),
            batch.records.len(),
            "{name}: {report:?}"
        );
        assert!(report.response().batch_item_failures.is_empty(), "{name}");
    }
    // AND once the delivery has run, the subscriber has had one text
    h.deliver().await;
    assert_eq!(h.texts(&citizen).await.len(), 1);
    assert_eq!(
        h.alert(id).await["delivery"],
        json!({"recipients": 1, "sent": 1, "failed": 0})
    );
}

#[test]
fn every_sample_is_run_by_one_of_these_tests() {
    // Each HTTP sample of the flow is an API Gateway request ...
    for name in FLOW {
        let req = samples::request("alert-sms", name, &[]);
        assert!(req.uri().path().starts_with("/v1/alerts"), "{name}");
    }
    // ... and every sample is an HTTP sample of the flow, a text sample or a
    // delivery sample (a new sample outside them fails here).
    let mut covered: Vec<String> = FLOW.iter().map(|n| (*n).to_owned()).collect();
    covered.extend(text_samples().into_iter().map(|(name, _)| name));
    covered.extend(delivery_samples().into_iter().map(|(name, _)| name));
    let total = covered.len();
    covered.sort();
    covered.dedup();
    assert_eq!(covered.len(), total, "no sample is in two groups");
    assert_eq!(covered, samples::names("alert-sms"), "every sample is run");
}
