//! The sample events of `events/alert-sms/` are real SQS batches, as Lambda
//! hands them to the function (`cargo lambda invoke alert-sms --data-file ...`),
//! and each does what its name says.

mod common;

use alert_sms::Outcome;
use aws_lambda_events::event::sqs::SqsEvent;
use common::Harness;

const PLACEHOLDER: &str = "REPLACE_WITH_USER_ID";

fn samples() -> Vec<(String, String)> {
    let dir = devstack::reply::samples::dir("alert-sms");
    devstack::reply::samples::names("alert-sms")
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            (name, text)
        })
        .collect()
}

#[tokio::test]
async fn each_sample_texts_its_events_once_when_it_names_a_real_user() {
    // GIVEN the samples and a citizen
    let h = Harness::new().await;
    let citizen = h.citizen("sampleuser").await;
    let all = samples();
    assert!(all.len() >= 4, "{all:?}");
    let mut expected = 0;
    for (name, text) in &all {
        // WHEN a sample, its placeholder filled, is handled twice
        let batch: SqsEvent = serde_json::from_str(&text.replace(PLACEHOLDER, &citizen.user_id))
            .unwrap_or_else(|e| panic!("{name} is an SQS event: {e}"));
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
    // GIVEN the samples as committed (the user id is a placeholder)
    let h = Harness::new().await;
    for (name, text) in samples() {
        let batch: SqsEvent = serde_json::from_str(&text).unwrap();
        // WHEN handled THEN nothing is retried: no such user, nothing to text
        let report = h.app.handle_batch(&batch, "sample").await;
        assert!(report.response().batch_item_failures.is_empty(), "{name}");
        assert_eq!(report.count(|o| *o == Outcome::Sent), 0, "{name}");
    }
}
