//! Alert approval and delivery with an AWS call broken at each step (issue 12):
//! throttling, a 500, a timeout before the call, the answer lost on every
//! attempt and the answer lost on the first attempt only, on every DynamoDB,
//! SNS and SQS call of
//!
//! - the approval by a second official (`POST /v1/alerts/{id}/approval` with
//!   If-Match): the client gets the issued alert or a clean 5xx problem with a
//!   request id; the retry at the version read ends with the alert issued once,
//!   one `alert.issued` event, and one message on the `alerts` topic (read by
//!   an SQS queue subscribed to it);
//! - the publication step (`alert.issued` from the delivery queue), handed to
//!   the function again as SQS would while it asks for it: the alert reaches
//!   the topic once;
//! - a batch of recipients (their numbers, each citizen's conditional claim,
//!   the text's SNS Publish, the claim's mark, the batch's tally on the
//!   counters), handed again as SQS would: every citizen is texted once and
//!   the alert's `sent` and `failed` count each citizen once;
//! - the text of one domain event (the number, the claim, the Publish, the
//!   claim's mark), handed again as SQS would: one text.
//!
//! A text or a publication is never sent twice. SNS has no idempotency token,
//! so when its answer to a Publish is lost the function cannot know whether
//! the message went out; it then records the message as unconfirmed (counted
//! `failed`) and never sends it again: at most once, as `claims` promises.
//! Those cases (a timeout or a lost answer on the Publish itself) are the only
//! ones allowed to end with no message; every other fault ends with exactly
//! one (a claim left `sending` because only its mark failed was sent). The
//! recipients of a batch are served concurrently, so the call broken at a
//! position is named by what it was in that run, and each kind of call is
//! checked to have been broken.

mod common;

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use common::{Citizen, Harness, Official, Reply, Subscriber};
use devstack::faults::{Fault, Faults};
use serde_json::{Value, json};

/// The client's view after a fault: a success, or a clean problem.
fn clean(r: &Reply, what: &str) {
    if r.expect_success_or_server_problem(what) {
        assert_eq!(r.body["status"], "issued", "{what}: {}", r.body);
    }
}

/// Whether `fault` on an SNS Publish leaves the function without knowing
/// whether the message went out.
fn unknown_outcome(call: &str, fault: Fault) -> bool {
    call == "sns:Publish"
        && matches!(
            fault,
            Fault::Timeout | Fault::LostAnswer | Fault::LostFirstAnswer
        )
}

/// A disaster alert for `region` with a message of its own (texts are told
/// apart by it), confirmed as no duplicate.
fn alert_body(region: &str, n: usize) -> Value {
    json!({
        "category": "disaster",
        "regions": [region],
        "headline": "호우경보",
        "message": format!("하천변 산책로 이용을 자제하세요. ({n})"),
        "confirmDuplicate": true,
    })
}

/// Writes an alert as `writer`; its id.
async fn written(h: &Harness, writer: &Official, body: Value) -> String {
    let r = h.create_alert(writer, body).await;
    r.expect(201);
    r.str("alertId")
}

/// The `alert.issued` events written for `alert_id`.
async fn issued_events(h: &Harness, alert_id: &str) -> Vec<Value> {
    h.stack
        .outbox("AlertSmsTable")
        .await
        .into_iter()
        .filter(|e| e["type"] == "alert.issued" && e["data"]["alertId"] == alert_id)
        .collect()
}

/// The messages about `alert_id` `subscriber` received.
async fn published(subscriber: &Subscriber, alert_id: &str) -> usize {
    subscriber
        .received()
        .await
        .iter()
        .filter(|m| m["alertId"] == alert_id)
        .count()
}

/// The item `pk` / `sk` of alert-sms's table, read as the test (not through
/// the faults).
async fn item(h: &Harness, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    let table = h.stack.env("alert-sms").require("ALERT_SMS_TABLE").unwrap();
    aws_sdk_dynamodb::Client::new(&h.sdk)
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

fn status_of(item: &Option<HashMap<String, AttributeValue>>) -> String {
    item.as_ref()
        .and_then(|i| i.get("status"))
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// An SQS event of one message.
fn sqs_event(body: &str) -> SqsEvent {
    let mut message = SqsMessage::default();
    message.message_id = Some(shared::random::uuid());
    message.body = Some(body.to_owned());
    let mut event = SqsEvent::default();
    event.records.push(message);
    event
}

/// Hands `event` to the function again while it asks for it (as SQS
/// redelivers a message reported failed), faults disarmed; how many times it
/// asked.
async fn redeliver(h: &Harness, event: &SqsEvent, first: &alert_sms::BatchReport) -> usize {
    let wants_retry =
        |r: &alert_sms::BatchReport| r.count(|o| matches!(o, alert_sms::Outcome::Retry(_))) > 0;
    let mut report = first.clone();
    let mut retries = 0;
    while wants_retry(&report) {
        retries += 1;
        assert!(retries <= 3, "still failing: {:?}", report.outcomes);
        report = h.app.handle_batch(event, "redelivery").await;
    }
    retries
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_issues_and_publishes_the_alert_once()
 {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let writer = h.official("writer").await;
    let approver = h.official("approver").await;
    let broadcaster = Subscriber::new(&h, json!({"region": ["11"]})).await;
    // GIVEN the calls one approval makes
    let probe = written(&h, &writer, alert_body("11", 0)).await;
    faults.clear();
    h.approve(&approver, &probe, 1).await.expect(200);
    let steps = faults.calls();
    eprintln!("an approval's AWS calls: {steps:?}");
    assert!(
        steps.iter().any(|c| c == "dynamodb:TransactWriteItems"),
        "{steps:?}"
    );
    h.deliver().await;
    assert_eq!(published(&broadcaster, &probe).await, 1);
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let id = written(&h, &writer, alert_body("11", n)).await;
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = h.approve(&approver, &id, 1).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got the issued alert or a clean problem
            clean(&r, &what);
            // AND the retry at the version read issues it (412 when the first
            // attempt had in fact issued it: the client reads it again)
            if !r.status.is_success() {
                let retry = h.approve(&approver, &id, 1).await;
                assert!(
                    retry.status.as_u16() == 200 || retry.status.as_u16() == 412,
                    "{what}: retry {} {}",
                    retry.status,
                    retry.body
                );
            }
            let alert = h.alert(&id).await;
            assert_eq!(alert["status"], "issued", "{what}");
            assert_eq!(alert["version"], 2, "{what}");
            assert_eq!(alert["approvedBy"], approver.user_id.as_str(), "{what}");
            // AND one event, one publication on the topic
            assert_eq!(issued_events(&h, &id).await.len(), 1, "{what}");
            h.deliver().await;
            assert_eq!(published(&broadcaster, &id).await, 1, "{what}");
        }
    }
    eprintln!("approval: {n} (call, fault) cases");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publication_broken_at_any_aws_call_reaches_the_alerts_topic_at_most_once_and_exactly_once_unless_sns_left_it_unknown()
 {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let writer = h.official("writer").await;
    let approver = h.official("approver").await;
    let broadcaster = Subscriber::new(&h, json!({"region": ["26"]})).await;
    let issued = async |n: usize| {
        let id = h.issue(&writer, &approver, alert_body("26", n)).await["alertId"]
            .as_str()
            .unwrap()
            .to_owned();
        let event = issued_events(&h, &id).await.remove(0);
        (id, event)
    };
    // GIVEN the calls the publication step makes
    let (probe, event) = issued(0).await;
    faults.clear();
    let report = h
        .app
        .handle_batch(&sqs_event(&event.to_string()), "probe")
        .await;
    assert_eq!(report.outcomes[0].1, alert_sms::Outcome::Sent);
    let steps = faults.calls();
    eprintln!("a publication's AWS calls: {steps:?}");
    assert!(steps.iter().any(|c| c == "sns:Publish"), "{steps:?}");
    assert_eq!(published(&broadcaster, &probe).await, 1);
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let (id, event) = issued(n).await;
            let message = sqs_event(&event.to_string());
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let first = h.app.handle_batch(&message, "faulty").await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // AND SQS hands the message again while the function asks for it
            redeliver(&h, &message, &first).await;
            // THEN the alert reached the topic once, or (SNS's answer lost)
            // at most once, recorded as unconfirmed
            let claim = item(
                &h,
                &format!("PUBLISH#{}", event["eventId"].as_str().unwrap()),
                "PUBLISH",
            )
            .await;
            let got = published(&broadcaster, &id).await;
            match status_of(&claim).as_str() {
                "sent" => assert_eq!(got, 1, "{what}"),
                // Published; only marking it so failed.
                "sending" if call == "dynamodb:UpdateItem" => assert_eq!(got, 1, "{what}"),
                "unconfirmed" if unknown_outcome(call, fault) => {
                    assert!(got <= 1, "{what}: published {got} times");
                }
                other => panic!("{what}: publication claim {other:?}, published {got} times"),
            }
        }
    }
    eprintln!("publication: {n} (call, fault) cases");
}

/// Subscribers of region 30 (Daejeon), texted by the delivery test; the last
/// one has no usable number.
async fn daejeon(h: &Harness) -> Vec<Citizen> {
    let mut citizens = Vec::new();
    for i in 0..4 {
        let c = h.citizen(&format!("daejeon{i}")).await;
        h.subscribe(&c, json!({"regions": ["30"]}))
            .await
            .expect(200);
        citizens.push(c);
    }
    h.set_stored_phone(&citizens[3], "none").await;
    citizens
}

/// Issues an alert for region 30 and runs its delivery up to its one batch,
/// which is taken off the queue: the alert and the batch's SQS event.
async fn issued_up_to_its_batch(
    h: &Harness,
    writer: &Official,
    approver: &Official,
    n: usize,
) -> (Value, SqsEvent) {
    let alert = h.issue(writer, approver, alert_body("30", n)).await;
    h.stack.carry_events().await;
    h.poll_delivery().await; // alert.issued: published, plan queued
    h.poll_delivery().await; // plan: the batch queued
    let batch = std::sync::Mutex::new(None);
    let delivered = h
        .delivery
        .poll_once(1, |event: Value| async {
            *batch.lock().unwrap() = Some(serde_json::from_value::<SqsEvent>(event).unwrap());
            Ok(json!({"batchItemFailures": []}))
        })
        .await
        .unwrap();
    assert_eq!(delivered.received, 1);
    let batch = batch.into_inner().unwrap().unwrap();
    let step: Value = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(step["type"], "alert.batch", "{step}");
    assert_eq!(step["alertId"], alert["alertId"], "{step}");
    (alert, batch)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_broken_at_any_aws_call_and_redelivered_texts_each_citizen_once_and_counts_each_once()
 {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let writer = h.official("writer").await;
    let approver = h.official("approver").await;
    let citizens = daejeon(&h).await;
    let texts = async |alert: &Value, c: &Citizen| {
        let message = alert["message"].as_str().unwrap();
        h.texts(c).await.iter().filter(|t| *t == message).count()
    };
    // GIVEN the calls one batch of four recipients makes (three numbers, one
    // citizen without)
    let (alert, batch) = issued_up_to_its_batch(&h, &writer, &approver, 0).await;
    faults.clear();
    let report = h.app.handle_batch(&batch, "probe").await;
    assert_eq!(report.outcomes[0].1, alert_sms::Outcome::Sent);
    let steps = faults.calls();
    eprintln!("a batch's AWS calls: {steps:?}");
    for c in &citizens[..3] {
        assert_eq!(texts(&alert, c).await, 1);
    }
    let id = alert["alertId"].as_str().unwrap();
    assert_eq!(
        h.alert(id).await["delivery"],
        json!({"recipients": 4, "sent": 3, "failed": 1})
    );
    let mut n = 0;
    let mut broken = BTreeSet::new();
    for step in 0..steps.len() {
        for fault in Fault::ALL {
            n += 1;
            let (alert, batch) = issued_up_to_its_batch(&h, &writer, &approver, n).await;
            let id = alert["alertId"].as_str().unwrap();
            // WHEN the step-th call fails (the recipients are served
            // concurrently: the call is named by what it was this time)
            faults.clear();
            faults.arm(step, fault);
            let first = h.app.handle_batch(&batch, "faulty").await;
            assert!(
                faults.fired() > 0,
                "step {step} {fault:?}: the fault never fired"
            );
            let call = faults.calls()[step].clone();
            let what = format!("call {step} ({call}) {fault:?}");
            broken.insert(call.clone());
            faults.clear();
            // AND SQS hands the batch again while the function asks for it
            redeliver(&h, &batch, &first).await;
            // THEN each citizen with a number was texted once, or (SNS's
            // answer lost) at most once and recorded as unconfirmed
            let mut sent = 0;
            for c in &citizens[..3] {
                let claim = item(&h, &format!("DELIVERY#{id}#{}", c.user_id), "DELIVERY").await;
                let got = texts(&alert, c).await;
                match status_of(&claim).as_str() {
                    "sent" => {
                        assert_eq!(got, 1, "{what}");
                        sent += 1;
                    }
                    // Texted; only marking it so failed (counted sent all
                    // the same, and never texted again).
                    "sending" if call == "dynamodb:UpdateItem" => {
                        assert_eq!(got, 1, "{what}");
                        sent += 1;
                    }
                    "unconfirmed" if unknown_outcome(&call, fault) => {
                        assert!(got <= 1, "{what}: texted {got} times");
                    }
                    other => panic!("{what}: claim {other:?}, texted {got} times"),
                }
            }
            // AND the counters count each citizen once
            assert_eq!(
                h.alert(id).await["delivery"],
                json!({"recipients": 4, "sent": sent, "failed": 4 - sent}),
                "{what}"
            );
        }
    }
    eprintln!("batch: {n} (call, fault) cases; calls broken: {broken:?}");
    for call in [
        "dynamodb:PutItem",
        "sns:Publish",
        "dynamodb:UpdateItem",
        "dynamodb:TransactWriteItems",
    ] {
        assert!(broken.contains(call), "{call} never broken: {broken:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_text_broken_at_any_aws_call_and_redelivered_is_sent_once_unless_sns_left_it_unknown()
 {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let citizen = h.citizen("texted").await;
    let event = |n: usize| {
        shared::events::DomainEvent::new(
            &citizen.user_id,
            &shared::events::payloads::DeviceRegistered {
                device_id: shared::random::uuid(),
                device_name: format!("Phone {n}."),
            },
        )
        .unwrap()
    };
    let texts = async |n: usize| {
        let name = format!("Phone {n}.");
        h.texts(&citizen)
            .await
            .iter()
            .filter(|t| t.contains(&name))
            .count()
    };
    // GIVEN the calls one event's text makes
    faults.clear();
    let report = h
        .app
        .handle_batch(&sqs_event(&event(0).body()), "probe")
        .await;
    assert_eq!(report.outcomes[0].1, alert_sms::Outcome::Sent);
    let steps = faults.calls();
    eprintln!("an event text's AWS calls: {steps:?}");
    assert_eq!(texts(0).await, 1);
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let event = event(n);
            let message = sqs_event(&event.body());
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let first = h.app.handle_batch(&message, "faulty").await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // AND SQS hands the message again while the function asks for it
            redeliver(&h, &message, &first).await;
            // THEN the citizen was texted once, or (SNS's answer lost) at most
            // once, recorded as unconfirmed
            let claim = h.app.claims().get(&event.event_id).await.unwrap();
            let status = claim.map(|c| c.status).unwrap_or_default();
            let got = texts(n).await;
            match status.as_str() {
                "sent" => assert_eq!(got, 1, "{what}"),
                "sending" if call == "dynamodb:UpdateItem" => assert_eq!(got, 1, "{what}"),
                "unconfirmed" if unknown_outcome(call, fault) => {
                    assert!(got <= 1, "{what}: texted {got} times");
                }
                other => panic!("{what}: claim {other:?}, texted {got} times"),
            }
        }
    }
    eprintln!("event text: {n} (call, fault) cases");
}
