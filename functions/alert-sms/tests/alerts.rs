//! Emergency alerts against the emulator, as officials, citizens and outside
//! SNS subscribers see them: the routes over the function's HTTP handler, the
//! approval's outbox carried by the table's pipe to the real delivery queue,
//! publication to the real `alerts` topic (read back through an SQS queue
//! subscribed with a filter policy, as a broadcaster would), and texts in the
//! emulator's SMS log.

mod common;

use common::{Citizen, Harness, Official, Subscriber};
use serde_json::{Value, json};

fn flood(regions: &[&str]) -> Value {
    json!({
        "category": "disaster",
        "regions": regions,
        "headline": "호우경보",
        "message": "오늘 밤 시간당 50mm 이상의 비가 예상됩니다. 하천변 산책로 이용을 자제하세요.",
    })
}

async fn two_officials(h: &Harness) -> (Official, Official) {
    (h.official("writer").await, h.official("approver").await)
}

#[tokio::test]
async fn limits_are_checked_by_category_and_every_bad_field_is_named() {
    let h = Harness::new().await;
    let (writer, _) = two_officials(&h).await;
    let cases = [
        (
            json!({"category": "emergency", "regions": ["11"], "headline": "대피", "message": "가".repeat(91)}),
            "message",
        ),
        (
            json!({"category": "safety", "regions": ["11"], "headline": "폭염", "message": "나".repeat(158)}),
            "message",
        ),
        (
            json!({"category": "safety", "regions": ["11"], "headline": "다".repeat(41), "message": "m"}),
            "headline",
        ),
        (
            json!({"category": "safety", "regions": [], "headline": "h", "message": "m"}),
            "regions",
        ),
        (
            json!({"category": "safety", "regions": ["11", "26", "27", "28", "29", "30"], "headline": "h", "message": "m"}),
            "regions",
        ),
        (
            json!({"category": "safety", "regions": ["11", "99"], "headline": "h", "message": "m"}),
            "regions[1]",
        ),
        (
            json!({"category": "tsunami", "regions": ["11"], "headline": "h", "message": "m"}),
            "category",
        ),
        (
            json!({"category": "safety", "regions": ["11"], "headline": "h", "message": "m", "priority": 1}),
            "priority",
        ),
    ];
    for (body, field) in cases {
        let r = h.create_alert(&writer, body.clone()).await;
        r.expect_problem(400, "request.invalid");
        assert_eq!(r.fields(), [field], "{body}");
    }
    // AND exactly at the limits it is written, with its SMS segments counted
    let r = h
        .create_alert(&writer, json!({"category": "emergency", "regions": ["11"], "headline": "가".repeat(40), "message": "가".repeat(90)}))
        .await;
    r.expect(201);
    assert_eq!(r.body["status"], "pending-approval");
    assert_eq!(r.body["smsSegments"], 2);
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.header("etag"), "\"1\"");
    let r = h
        .create_alert(&writer, json!({"category": "safety", "regions": ["26"], "headline": "h", "message": "나".repeat(157)}))
        .await;
    r.expect(201);
    assert_eq!(r.body["smsSegments"], 3);
}

#[tokio::test]
async fn a_possible_duplicate_needs_confirmation_and_the_key_replays() {
    let h = Harness::new().await;
    let (writer, _) = two_officials(&h).await;
    h.create_alert(&writer, flood(&["11", "41"]))
        .await
        .expect(201);
    // WHEN the same category is written for an overlapping region
    let r = h.create_alert(&writer, flood(&["41"])).await;
    // THEN it is refused until confirmed
    r.expect_problem(409, "alert.possible_duplicate");
    let mut confirmed = flood(&["41"]);
    confirmed["confirmDuplicate"] = json!(true);
    h.create_alert(&writer, confirmed).await.expect(201);
    // AND another category or a region apart is no duplicate
    let mut safety = flood(&["41"]);
    safety["category"] = json!("safety");
    h.create_alert(&writer, safety).await.expect(201);
    h.create_alert(&writer, flood(&["50"])).await.expect(201);
    // AND the same Idempotency-Key replays the first answer
    let headers = [("idempotency-key", "alert-key-1")];
    let body = flood(&["30"]);
    let first = h
        .call(
            Some(&writer.token),
            "POST",
            "/v1/alerts",
            Some(body.clone()),
            &headers,
        )
        .await;
    first.expect(201);
    let again = h
        .call(
            Some(&writer.token),
            "POST",
            "/v1/alerts",
            Some(body),
            &headers,
        )
        .await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body["alertId"], first.body["alertId"]);
    // AND a citizen or an official without the scope may not write alerts
    let citizen = h.citizen("citizen").await;
    let r = h
        .call(
            Some(&citizen.token),
            "POST",
            "/v1/alerts",
            Some(flood(&["11"])),
            &[("idempotency-key", "k2")],
        )
        .await;
    r.expect(403);
    let clerk = h.official_with("clerk", &["tax:review"]).await;
    let r = h
        .call(
            Some(&clerk.token),
            "POST",
            "/v1/alerts",
            Some(flood(&["11"])),
            &[("idempotency-key", "k3")],
        )
        .await;
    r.expect_problem(403, "auth.insufficient_scope");
}

#[tokio::test]
async fn the_writer_cannot_approve_and_a_stale_or_missing_version_is_refused() {
    let h = Harness::new().await;
    let (writer, approver) = two_officials(&h).await;
    let created = h.create_alert(&writer, flood(&["11"])).await;
    let id = created.str("alertId");
    h.approve(&writer, &id, 1)
        .await
        .expect_problem(403, "alert.same_official");
    h.approve(&approver, &id, 7)
        .await
        .expect_problem(412, "request.precondition_failed");
    h.call(
        Some(&approver.token),
        "POST",
        &format!("/v1/alerts/{id}/approval"),
        None,
        &[],
    )
    .await
    .expect_problem(428, "request.precondition_required");
    // AND the pending list shows it, oldest first, to approvers
    let r = h
        .call(
            Some(&approver.token),
            "GET",
            "/v1/alerts/pending",
            None,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["alertId"], json!(id));
    // AND the public neither sees nor lists a pending alert
    h.call(None, "GET", &format!("/v1/alerts/{id}"), None, &[])
        .await
        .expect(404);
    let r = h.call(None, "GET", "/v1/alerts?region=11", None, &[]).await;
    r.expect(200);
    assert_eq!(r.body["items"], json!([]));
    // WHEN the second official approves with the version read
    let r = h.approve(&approver, &id, 1).await;
    r.expect(200);
    assert_eq!(r.body["status"], "issued");
    assert_eq!(r.body["approvedBy"], json!(approver.user_id));
    assert_eq!(r.body["version"], 2);
    assert!(r.body["issuedAt"].is_string());
    // THEN approving again is an invalid transition, and the queue is empty
    h.approve(&approver, &id, 2)
        .await
        .expect_problem(409, "alert.invalid_transition");
    let r = h
        .call(
            Some(&approver.token),
            "GET",
            "/v1/alerts/pending",
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    // AND the public list of the region shows it
    let r = h.call(None, "GET", "/v1/alerts?region=11", None, &[]).await;
    assert_eq!(r.body["items"][0]["alertId"], json!(id));
    h.call(None, "GET", "/v1/alerts", None, &[])
        .await
        .expect_problem(400, "request.invalid");
}

#[tokio::test]
async fn two_concurrent_approvals_give_one_success_and_one_publication() {
    let h = Harness::new().await;
    let writer = h.official("writer").await;
    let (a, b) = (
        h.official("approver-a").await,
        h.official("approver-b").await,
    );
    let seoul = Subscriber::new(&h, json!({"region": ["11"]})).await;
    let id = h.create_alert(&writer, flood(&["11"])).await.str("alertId");
    // WHEN two officials approve at the same moment
    let (ra, rb) = tokio::join!(h.approve(&a, &id, 1), h.approve(&b, &id, 1));
    // THEN one wins and the other is told the alert changed
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", ra.body, rb.body);
    // AND the alert is published once
    h.deliver().await;
    let got = seoul.received().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["alertId"], json!(id));
}

#[tokio::test]
async fn subscribers_receive_the_alerts_of_their_filter_once_and_never_a_pending_one() {
    let h = Harness::new().await;
    let (writer, approver) = two_officials(&h).await;
    let seoul_disasters =
        Subscriber::new(&h, json!({"region": ["11"], "category": ["disaster"]})).await;
    let busan = Subscriber::new(&h, json!({"region": ["26"]})).await;
    // GIVEN a pending alert for Seoul: nothing is published
    let pending = h
        .create_alert(&writer, flood(&["11", "41"]))
        .await
        .str("alertId");
    h.deliver().await;
    assert!(seoul_disasters.received().await.is_empty());
    // WHEN it is approved
    h.approve(&approver, &pending, 1).await.expect(200);
    h.deliver().await;
    h.deliver().await;
    // THEN the Seoul subscriber gets it once, with the alert JSON and CAP
    let got = seoul_disasters.received().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["alertId"], json!(pending));
    assert_eq!(got[0]["status"], "issued");
    assert_eq!(got[0]["msgType"], "Alert");
    assert_eq!(got[0]["regions"], json!(["11", "41"]));
    let cap = got[0]["cap"].as_str().unwrap();
    assert!(
        cap.contains("<msgType>Alert</msgType>") && cap.contains("서울특별시"),
        "{cap}"
    );
    // AND the Busan subscriber nothing
    assert!(busan.received().await.is_empty());
}

#[tokio::test]
async fn the_alert_answers_cap_xml_when_asked() {
    let h = Harness::new().await;
    let (writer, approver) = two_officials(&h).await;
    let issued = h.issue(&writer, &approver, flood(&["11", "26"])).await;
    let id = issued["alertId"].as_str().unwrap();
    let response = h
        .raw(
            None,
            "GET",
            &format!("/v1/alerts/{id}"),
            None,
            &[("accept", "application/cap+xml")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/cap+xml")
    );
    let xml = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    for expected in [
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        &format!("<identifier>pocketgov-alert-{id}</identifier>"),
        "<status>Actual</status>",
        "<msgType>Alert</msgType>",
        "<scope>Public</scope>",
        "<event>긴급재난</event>",
        "<headline>호우경보</headline>",
        "<areaDesc>서울특별시, 부산광역시</areaDesc>",
        "<value>26</value>",
    ] {
        assert!(xml.contains(expected), "{expected} in {xml}");
    }
    // AND JSON stays the default
    let r = h
        .call(None, "GET", &format!("/v1/alerts/{id}"), None, &[])
        .await;
    assert_eq!(r.body["alertId"], json!(id));
}

async fn subscribed(h: &Harness, login_id: &str, body: Value) -> Citizen {
    let citizen = h.citizen(login_id).await;
    let r = h.subscribe(&citizen, body).await;
    r.expect(200);
    citizen
}

#[tokio::test]
async fn citizens_get_one_text_per_alert_and_their_opt_outs_are_respected_except_emergency() {
    let h = Harness::new().await;
    let (writer, approver) = two_officials(&h).await;
    // GIVEN a citizen of two matching regions, one who opted out of disasters,
    // one elsewhere, and one who opted out of everything they could
    let both = subscribed(&h, "both", json!({"regions": ["11", "41"]})).await;
    let safety_only = subscribed(
        &h,
        "safetyonly",
        json!({"regions": ["41"], "categories": ["safety"]}),
    )
    .await;
    let busan = subscribed(&h, "busan", json!({"regions": ["26"]})).await;
    let r = h
        .subscribe(
            &safety_only,
            json!({"regions": ["41"], "categories": ["safety"]}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"regions": ["41"], "categories": ["emergency", "safety"]})
    );
    // WHEN a disaster alert for Seoul and Gyeonggi is issued and delivered
    let issued = h.issue(&writer, &approver, flood(&["11", "41"])).await;
    let id = issued["alertId"].as_str().unwrap().to_owned();
    h.deliver().await;
    // THEN the citizen of both regions gets one text, the others none
    assert_eq!(h.texts(&both).await.len(), 1);
    assert!(h.texts(&safety_only).await.is_empty());
    assert!(h.texts(&busan).await.is_empty());
    let alert = h.alert(&id).await;
    assert_eq!(
        alert["delivery"],
        json!({"recipients": 1, "sent": 1, "failed": 0})
    );
    // WHEN an emergency alert follows
    let emergency = json!({"category": "emergency", "regions": ["41"], "headline": "대피", "message": "즉시 가까운 대피소로 대피하십시오."});
    h.issue(&writer, &approver, emergency).await;
    h.deliver().await;
    // THEN it reaches the one who opted out of disasters too
    let texts = h.texts(&safety_only).await;
    assert_eq!(texts, ["즉시 가까운 대피소로 대피하십시오."]);
    assert_eq!(h.texts(&both).await.len(), 2);
    // AND the subscription can be read and removed
    let r = h
        .call(
            Some(&busan.token),
            "GET",
            "/v1/alerts/subscription",
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.body,
        json!({"regions": ["26"], "categories": ["emergency", "disaster", "safety"]})
    );
    h.call(
        Some(&busan.token),
        "DELETE",
        "/v1/alerts/subscription",
        None,
        &[],
    )
    .await
    .expect(204);
    h.call(
        Some(&busan.token),
        "GET",
        "/v1/alerts/subscription",
        None,
        &[],
    )
    .await
    .expect(404);
    let r = h
        .subscribe(
            &busan,
            json!({"regions": ["26"], "categories": ["weather"]}),
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["categories[0]"]);
}

#[tokio::test]
async fn cancellation_publishes_cancel_and_stops_the_batches_not_yet_sent() {
    let h = Harness::new().await;
    let (writer, approver) = two_officials(&h).await;
    let seoul = Subscriber::new(&h, json!({"region": ["11"]})).await;
    let citizen = subscribed(&h, "seoulite", json!({"regions": ["11"]})).await;
    let issued = h.issue(&writer, &approver, flood(&["11"])).await;
    let id = issued["alertId"].as_str().unwrap().to_owned();
    // GIVEN the alert was published and planned, but no batch has run yet
    h.stack.carry_events().await;
    let (delivered, _) = h.poll_delivery().await; // alert.issued: publish + plan steps
    assert_eq!(delivered.received, 1);
    let (delivered, _) = h.poll_delivery().await; // plan: batch steps queued
    assert_eq!(delivered.received, 1);
    // WHEN it is cancelled
    let r = h
        .call(
            Some(&writer.token),
            "POST",
            &format!("/v1/alerts/{id}/cancellation"),
            None,
            &[("if-match", "\"2\"")],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "cancelled");
    h.deliver().await;
    // THEN no citizen is texted
    assert!(h.texts(&citizen).await.is_empty());
    // AND subscribers got the alert, then a Cancel that references it
    let got = seoul.received().await;
    assert_eq!(got.len(), 2, "{got:?}");
    let cancel = got
        .iter()
        .find(|m| m["msgType"] == "Cancel")
        .expect("a Cancel");
    let cap = cancel["cap"].as_str().unwrap();
    assert!(cap.contains("<msgType>Cancel</msgType>"), "{cap}");
    assert!(cap.contains(&format!("pocketgov-alert-{id},")), "{cap}");
    // AND it leaves the public list; cancelling twice is an invalid transition
    let r = h.call(None, "GET", "/v1/alerts?region=11", None, &[]).await;
    assert_eq!(r.body["items"], json!([]));
    h.call(
        Some(&writer.token),
        "POST",
        &format!("/v1/alerts/{id}/cancellation"),
        None,
        &[],
    )
    .await
    .expect_problem(409, "alert.invalid_transition");
}

#[tokio::test]
async fn a_failed_text_is_counted_failed_then_retried_without_texting_anyone_twice() {
    let h = Harness::new().await;
    // A failed batch comes back after 4 s: after the first delivery has
    // ended, well before the 5 receives that would send it to the DLQ.
    h.set_visibility_timeout_of(&h.delivery, 4).await;
    let (writer, approver) = two_officials(&h).await;
    let ok1 = subscribed(&h, "okone", json!({"regions": ["30"]})).await;
    let ok2 = subscribed(&h, "oktwo", json!({"regions": ["30"]})).await;
    let refused = subscribed(&h, "refused", json!({"regions": ["30"]})).await;
    h.set_stored_phone(&refused, "+8210NOT-A-NUMBER").await;
    // WHEN an alert is delivered and one text fails
    let issued = h.issue(&writer, &approver, flood(&["30"])).await;
    let id = issued["alertId"].as_str().unwrap().to_owned();
    h.deliver().await;
    // THEN it is counted as failed
    let alert = h.alert(&id).await;
    assert_eq!(
        alert["delivery"],
        json!({"recipients": 3, "sent": 2, "failed": 1})
    );
    // WHEN the number is mended and the batch comes back
    h.set_stored_phone(&refused, &refused.phone).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    h.deliver().await;
    // THEN only the failed one is texted, once, and the counters move
    for c in [&ok1, &ok2, &refused] {
        assert_eq!(h.texts(c).await.len(), 1);
    }
    let alert = h.alert(&id).await;
    assert_eq!(
        alert["delivery"],
        json!({"recipients": 3, "sent": 3, "failed": 0})
    );
}

#[tokio::test]
async fn a_batch_near_the_invocations_deadline_starts_no_text_and_comes_back_whole() {
    let h = Harness::new().await;
    h.set_visibility_timeout_of(&h.delivery, 2).await;
    let (writer, approver) = two_officials(&h).await;
    let citizen = subscribed(&h, "late", json!({"regions": ["31"]})).await;
    let issued = h.issue(&writer, &approver, flood(&["31"])).await;
    let id = issued["alertId"].as_str().unwrap().to_owned();
    // GIVEN the alert published and planned: its one batch is queued
    h.stack.carry_events().await;
    h.poll_delivery().await;
    h.poll_delivery().await;
    // WHEN the batch arrives in an invocation that is about to end
    let app = &h.app;
    let delivered = h
        .delivery
        .poll_once(1, |event: Value| async move {
            let batch: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(event).map_err(|e| e.to_string())?;
            let ending = Some(std::time::Instant::now() + std::time::Duration::from_secs(1));
            let answer = app.handle_until(&batch, "late-request", ending).await;
            serde_json::to_value(answer).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    // THEN nothing is texted or counted, and the batch is left for redelivery
    assert_eq!(delivered.received, 1);
    assert_eq!(delivered.left_for_retry, 1);
    assert!(h.texts(&citizen).await.is_empty());
    assert_eq!(
        h.alert(&id).await["delivery"],
        json!({"recipients": 1, "sent": 0, "failed": 0})
    );
    // AND the redelivery, with time to spare, texts the citizen once
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    h.deliver().await;
    assert_eq!(h.texts(&citizen).await.len(), 1);
    assert_eq!(
        h.alert(&id).await["delivery"],
        json!({"recipients": 1, "sent": 1, "failed": 0})
    );
}
