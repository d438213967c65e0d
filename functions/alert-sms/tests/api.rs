//! alert-sms against the emulator: events published to the real topic reach the
//! function through the template's filtered subscription and queue, and texts
//! land in the emulator's SMS log.

mod common;

use alert_sms::Outcome;
use alert_sms::texts::{SEGMENT_UNITS, units};
use common::Harness;
use shared::events::DomainEvent;
use shared::events::payloads::{
    AccountLocked, CertificateIssued, CertificateRevoked, ConsentAccessed, ConsentRequested,
    DeviceRegistered, RefreshReused, RefundApproved, RefundPaid, RefundRejected, RefundRequested,
    ReportStatusChanged, ReportSubmitted,
};

fn galaxy() -> DeviceRegistered {
    DeviceRegistered {
        device_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
        device_name: "Galaxy S26".into(),
    }
}

#[tokio::test]
async fn when_an_event_is_published_should_text_the_citizens_phone_once() {
    // GIVEN a citizen
    let h = Harness::new().await;
    let citizen = h.citizen("smsuser1").await;
    // WHEN a device-registered event about them is published
    let event = h.event(&citizen.user_id, &galaxy()).await;
    let reports = h.drain().await;
    // THEN their phone gets one Korean text naming the device
    let texts = h.texts(&citizen).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("[손안의정부]"), "{}", texts[0]);
    assert!(texts[0].contains("Galaxy S26"), "{}", texts[0]);
    assert!(units(&texts[0]) <= SEGMENT_UNITS);
    assert_eq!(reports[0].outcomes[0].1, Outcome::Sent);
    // AND the claim records that it was sent, without the number or the text
    let claim = h
        .app
        .claims()
        .get(&event.event_id)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claim.status, "sent");
    assert!(claim.message_id.is_some());
    let stored = serde_json::to_string(&claim).unwrap();
    assert!(!stored.contains(&citizen.phone[3..]) && !stored.contains("Galaxy"));
}

#[tokio::test]
async fn when_the_same_event_is_delivered_twice_should_text_once() {
    // GIVEN an event published twice (a pipe delivers at least once)
    let h = Harness::new().await;
    let citizen = h.citizen("smsuser2").await;
    let event = DomainEvent::new(&citizen.user_id, &galaxy()).unwrap();
    h.publish(&event.body()).await;
    h.publish(&event.body()).await;
    // WHEN both deliveries are handled
    let reports = h.drain().await;
    // THEN one text is sent and the other delivery is a duplicate
    assert_eq!(h.texts(&citizen).await.len(), 1);
    let outcomes: Vec<&Outcome> = reports
        .iter()
        .flat_map(|r| r.outcomes.iter().map(|(_, o)| o))
        .collect();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.contains(&&Outcome::Sent) && outcomes.contains(&&Outcome::Duplicate));

    // AND a captured event republished later changes nothing
    h.publish(&event.body()).await;
    let later = h.drain().await;
    assert_eq!(later[0].outcomes[0].1, Outcome::Duplicate);
    assert_eq!(h.texts(&citizen).await.len(), 1);
}

#[tokio::test]
async fn when_a_batch_holds_a_malformed_event_and_an_unknown_user_should_text_the_rest() {
    // GIVEN a poison message, an event with data its type does not allow, an
    // event about nobody, and a good event, in one batch
    let h = Harness::new().await;
    let citizen = h.citizen("smsuser3").await;
    h.enqueue("this is not an event").await;
    h.publish(r#"{"eventId":"e-bad","type":"auth.device_registered","occurredAt":"2026-12-04T00:00:00Z","userId":"u","data":{}}"#)
        .await;
    h.event("no-such-user", &galaxy()).await;
    h.event(&citizen.user_id, &galaxy()).await;
    // WHEN the batch is handled
    let reports = h.drain().await;
    // THEN the good event is texted, the others are dropped without a retry,
    // and the queue is empty
    assert_eq!(h.texts(&citizen).await.len(), 1);
    let outcomes: Vec<Outcome> = reports
        .iter()
        .flat_map(|r| r.outcomes.iter().map(|(_, o)| o.clone()))
        .collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::Sent));
    assert!(outcomes.contains(&Outcome::Dropped("malformed event")));
    assert!(outcomes.contains(&Outcome::Dropped("malformed data")));
    assert!(outcomes.contains(&Outcome::Dropped("no phone number for the user")));
    assert!(
        reports
            .iter()
            .all(|r| r.response().batch_item_failures.is_empty())
    );
    assert_eq!(h.poll().await.0.received, 0, "nothing comes back");
}

#[tokio::test]
async fn when_a_publish_fails_should_return_only_that_message_and_a_redelivery_texts_once() {
    // GIVEN two citizens, one of whose stored number SNS refuses
    let h = Harness::new().await;
    h.set_visibility_timeout(1).await;
    let good = h.citizen("smsuser4").await;
    let refused = h.citizen("smsuser5").await;
    h.set_stored_phone(&refused, "+8210NOT-A-NUMBER").await;
    let failing = h.event(&refused.user_id, &galaxy()).await;
    h.event(&good.user_id, &galaxy()).await;

    // WHEN the batch is handled
    let (delivered, report) = h.poll().await;
    let report = report.expect("invoked");
    // THEN only the refused message is reported for redelivery; the other is texted
    let failed: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Retry(_)))
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{report:?}");
    assert_eq!(delivered.received, 2);
    assert_eq!(delivered.left_for_retry, 1);
    assert_eq!(
        report.response().batch_item_failures[0].item_identifier,
        failed[0]
    );
    assert_eq!(h.texts(&good).await.len(), 1);
    // AND its claim was given back
    assert!(
        h.app
            .claims()
            .get(&failing.event_id)
            .await
            .unwrap()
            .is_none()
    );

    // WHEN the number is mended and SQS delivers the message again
    h.set_stored_phone(&refused, &refused.phone).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let reports = h.drain().await;
    // THEN it is texted, once
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcomes[0].1, Outcome::Sent);
    assert_eq!(h.texts(&refused).await.len(), 1);
    assert_eq!(h.texts(&good).await.len(), 1);
}

#[tokio::test]
async fn every_texted_type_reaches_the_phone_in_one_segment_and_other_types_are_filtered_out() {
    // GIVEN one event of every texted type, and one type that texts nobody
    let h = Harness::new().await;
    let citizen = h.citizen("smsuser6").await;
    let u = citizen.user_id.as_str();
    h.event(u, &galaxy()).await;
    h.event(
        u,
        &AccountLocked {
            locked_until: "2026-12-04T08:00:00Z".into(),
        },
    )
    .await;
    h.event(
        u,
        &RefreshReused {
            family_id: "f".into(),
        },
    )
    .await;
    h.event(
        u,
        &CertificateIssued {
            issue_number: "4817-2093-5561-0384".into(),
            kind: "local-tax-payment".into(),
        },
    )
    .await;
    h.event(
        u,
        &RefundRequested {
            refund_id: "r".into(),
            amount_krw: 120_000,
            offset_krw: 30_000,
            payable_krw: 90_000,
        },
    )
    .await;
    h.event(
        u,
        &RefundApproved {
            refund_id: "r".into(),
            payable_krw: 90_000,
        },
    )
    .await;
    h.event(
        u,
        &RefundRejected {
            refund_id: "r".into(),
            reason: "이미 환급된 납부분입니다".into(),
        },
    )
    .await;
    h.event(
        u,
        &RefundPaid {
            refund_id: "r".into(),
            payable_krw: 90_000,
            bank_code: "088".into(),
        },
    )
    .await;
    h.event(
        u,
        &ReportSubmitted {
            report_id: "p".into(),
            category: "road-damage".into(),
        },
    )
    .await;
    h.event(
        u,
        &ReportStatusChanged {
            report_id: "p".into(),
            category: "road-damage".into(),
            status: "resolved".into(),
        },
    )
    .await;
    h.event(
        u,
        &ConsentRequested {
            consent_id: "c".into(),
            agency: "11".into(),
            petition_name: "주택 임대차 보증금 반환".into(),
        },
    )
    .await;
    h.event(
        u,
        &ConsentAccessed {
            consent_id: "c".into(),
            agency: "11".into(),
            document: "family-relation-certificate".into(),
        },
    )
    .await;
    h.event(
        u,
        &CertificateRevoked {
            issue_number: "4817-2093-5561-0384".into(),
            kind: "land-register".into(),
        },
    )
    .await;
    // WHEN the queue is drained
    let reports = h.drain().await;
    // THEN the texted types were delivered (the revocation never reached the
    // queue: the subscription filters on the body's type) and each is one text
    let handled: usize = reports.iter().map(|r| r.outcomes.len()).sum();
    assert_eq!(handled, shared::events::TEXTED_TYPES.len());
    let texts = h.texts(&citizen).await;
    assert_eq!(
        texts.len(),
        shared::events::TEXTED_TYPES.len(),
        "{texts:#?}"
    );
    for text in &texts {
        assert!(
            units(text) <= SEGMENT_UNITS,
            "{} units: {text}",
            units(text)
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.contains("90,000원을 신한은행 계좌로"))
    );
    assert!(!texts.iter().any(|t| t.contains("{")));
}
