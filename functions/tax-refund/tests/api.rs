//! The routes of api.md "Local-tax refunds", in-process against the emulator,
//! with citizen3's demo ledger (issue 9): what a client sees (statuses,
//! bodies, problems), what is stored (the ledger's amounts, reservations and
//! locks), what is published (the outbox) and what is texted.

mod common;

use common::*;
use futures::future::join_all;
use serde_json::json;

#[tokio::test]
async fn citizen3s_bills_have_the_four_statuses_and_only_the_recent_overpayments_are_eligible() {
    // GIVEN citizen3 (today is after 2025-09-30 and before 2027-07-21)
    let h = Harness::new().await;
    let me = h.citizen3("yi.sunsin").await;
    // WHEN they read their bills
    let bills = h.bills(&me).await;
    // THEN every bill has its paid amount and status, oldest due first
    assert_eq!(
        bills,
        [
            ("B2020-30170-RESI-08".into(), 46_000, "overpaid".into()),
            ("B2022-30170-PROP-07".into(), 600_000, "overpaid".into()),
            ("B2024-30170-VEHI-06".into(), 300_000, "overpaid".into()),
            (ARREAR.into(), 0, "overdue".into()),
        ]
    );
    let r = h.get(&me.token, "/v1/tax/bills?year=2024").await;
    r.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["taxName"], "자동차세");
    assert_eq!(r.body["items"][0]["dueDate"], "2024-06-30");
    h.get(&me.token, "/v1/tax/bills?year=twenty")
        .await
        .expect_problem(400, "request.invalid");
    // AND the 2020 overpayment (paid more than 5 years ago) is not eligible
    let r = h.get(&me.token, "/v1/tax/refunds/eligible").await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["refundableId"], OP_2022);
    assert_eq!(items[0]["amountKrw"], 300_000);
    assert_eq!(items[0]["reason"], "duplicate-payment");
    assert_eq!(items[1]["refundableId"], OP_2024);
    assert_eq!(items[1]["amountKrw"], 120_000);
    assert_eq!(items[1]["reason"], "overpaid");
    // AND claiming it anyway is refused, naming the field
    let r = h.claim(&me, OP_2020).await;
    r.expect_problem(404, "refund.not_refundable");
    assert_eq!(r.fields(), ["refundableId"]);
    // AND pages work with a tamper-evident cursor
    let r = h.get(&me.token, "/v1/tax/bills?limit=3").await;
    r.expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    let next = r.str("nextCursor");
    let r = h
        .get(&me.token, &format!("/v1/tax/bills?limit=3&cursor={next}"))
        .await;
    r.expect(200);
    assert_eq!(r.body["items"][0]["billId"], ARREAR);
    assert!(r.body.get("nextCursor").is_none());
    h.get(&me.token, &format!("/v1/tax/bills?cursor={next}x"))
        .await
        .expect_problem(400, "request.invalid");
}

#[tokio::test]
async fn a_claim_needs_a_strong_sign_in_an_idempotency_key_and_valid_fields() {
    let h = Harness::new().await;
    let me = h.citizen3("yi.strong").await;
    // A password sign-in is not enough (RFC 9470)
    let r = h
        .call(
            Some(&me.token),
            "POST",
            "/v1/tax/refunds",
            Some(claim_body(OP_2022)),
            &[("idempotency-key", "k-1")],
        )
        .await;
    r.expect_problem(401, "auth.step_up_required");
    assert!(
        r.header("www-authenticate")
            .contains("insufficient_user_authentication"),
        "{:?}",
        r.headers
    );
    // No Idempotency-Key
    let r = h
        .call(
            Some(&me.strong),
            "POST",
            "/v1/tax/refunds",
            Some(claim_body(OP_2022)),
            &[],
        )
        .await;
    r.expect(400);
    assert_eq!(r.fields(), ["Idempotency-Key"]);
    // Unknown bank, bad account number: each named
    let r = h
        .call(
            Some(&me.strong),
            "POST",
            "/v1/tax/refunds",
            Some(json!({"refundableId": OP_2022, "bankCode": "999", "accountNumber": "12-34", "accountHolder": "이순신"})),
            &[("idempotency-key", "k-2")],
        )
        .await;
    r.expect_problem(400, "request.invalid");
    assert_eq!(r.fields(), ["bankCode", "accountNumber"]);
    // Someone else's name: 422
    let r = h
        .call(
            Some(&me.strong),
            "POST",
            "/v1/tax/refunds",
            Some(json!({"refundableId": OP_2022, "bankCode": "004", "accountNumber": ACCOUNT, "accountHolder": "원균"})),
            &[("idempotency-key", "k-3")],
        )
        .await;
    r.expect_problem(422, "refund.account_holder_mismatch");
    assert_eq!(r.fields(), ["accountHolder"]);
    // An unknown field, a missing field
    let r = h
        .call(
            Some(&me.strong),
            "POST",
            "/v1/tax/refunds",
            Some(json!({"refundableId": OP_2022, "bankCode": "004", "accountNumber": ACCOUNT, "accountHolder": "이순신", "amountKrw": 1})),
            &[("idempotency-key", "k-4")],
        )
        .await;
    r.expect(400);
    assert_eq!(r.fields(), ["amountKrw"]);
    // Nothing was claimed by any of these
    assert_eq!(h.eligible(&me).await, [OP_2022, OP_2024]);
    assert!(h.refund_events().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_claims_of_one_overpayment_with_eight_keys_give_one_201_and_seven_409() {
    // GIVEN citizen3
    let h = Harness::new().await;
    let me = h.citizen3("yi.race").await;
    // WHEN eight claims of the 2022 overpayment arrive together, each with its key
    let keys: Vec<String> = (0..8).map(|i| format!("race-{i}")).collect();
    let replies = join_all(keys.iter().map(|key| h.claim_with(&me, OP_2022, key))).await;
    // THEN exactly one is created, the seven others are told it is claimed
    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.code() == "refund.already_claimed")
        .count();
    assert_eq!(
        (created.len(), refused),
        (1, 7),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.code()))
            .collect::<Vec<_>>()
    );
    // AND one refund, one event, one reservation of the arrear
    let refund = &created[0].body;
    assert_eq!(refund["amountKrw"], 300_000);
    assert_eq!(refund["offsetKrw"], 150_000);
    assert_eq!(refund["payableKrw"], 150_000);
    let events = h.refund_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "refund.requested");
    assert_eq!(h.bill_item(&me, 2025, ARREAR).await, (0, 150_000));
    let r = h.get(&me.token, "/v1/tax/refunds").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_overpayments_claimed_at_the_same_moment_offset_exactly_150000_together() {
    // GIVEN citizen3, who owes 150,000 and may claim 300,000 and 120,000
    let h = Harness::new().await;
    let me = h.citizen3("yi.both").await;
    // WHEN both are claimed at the same moment
    let (a, b) = tokio::join!(h.claim(&me, OP_2022), h.claim(&me, OP_2024));
    a.expect(201);
    b.expect(201);
    // THEN together they offset exactly what is owed, never more
    let offsets = a.body["offsetKrw"].as_i64().unwrap() + b.body["offsetKrw"].as_i64().unwrap();
    assert_eq!(offsets, 150_000, "{} / {}", a.body, b.body);
    for r in [&a, &b] {
        assert_eq!(
            r.body["payableKrw"].as_i64().unwrap(),
            r.body["amountKrw"].as_i64().unwrap() - r.body["offsetKrw"].as_i64().unwrap()
        );
    }
    assert_eq!(h.bill_item(&me, 2025, ARREAR).await, (0, 150_000));
    // AND nothing is eligible any more
    assert!(h.eligible(&me).await.is_empty());
}

#[tokio::test]
async fn a_replayed_claim_returns_the_same_refund_and_claims_nothing_twice() {
    let h = Harness::new().await;
    let me = h.citizen3("yi.replay").await;
    let first = h.claim_with(&me, OP_2024, "same-key").await;
    first.expect(201);
    assert_eq!(first.body["status"], "requested");
    assert_eq!(first.body["bankCode"], "088");
    assert_eq!(first.body["accountMasked"], "1102*****8901");
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.header("etag"), "\"1\"");
    let again = h.claim_with(&me, OP_2024, "same-key").await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, first.body);
    // A new key for the same overpayment is a second claim: refused
    h.claim_with(&me, OP_2024, "other-key")
        .await
        .expect_problem(409, "refund.already_claimed");
    assert_eq!(h.refund_events().await.len(), 1);
    // The owner reads it; another citizen cannot see it exists
    let id = first.str("refundId");
    let mine = h.get(&me.token, &format!("/v1/tax/refunds/{id}")).await;
    mine.expect(200);
    assert_eq!(mine.body, first.body);
    let other = h.taxpayer("won.gyun", "원균", "citizen1").await;
    h.get(&other.token, &format!("/v1/tax/refunds/{id}"))
        .await
        .expect_problem(404, "not_found");
    let r = h.get(&other.token, "/v1/tax/refunds").await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn review_routes_are_for_officials_with_tax_review_only() {
    let h = Harness::new().await;
    let me = h.citizen3("yi.roles").await;
    let claimed = h.claim(&me, OP_2024).await;
    claimed.expect(201);
    let id = claimed.str("refundId");
    let clerk = h.official_with("clerk", &["reports:manage"]).await;
    let reviewer = h.reviewer("reviewer").await;
    // Citizens and officials without the scope are refused on review routes
    for who in [&me.token, &clerk.token] {
        h.get(who, "/v1/tax/review").await.expect(403);
        h.call(
            Some(who),
            "POST",
            &format!("/v1/tax/refunds/{id}/decision"),
            Some(json!({"decision": "approve"})),
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(403);
        h.call(
            Some(who),
            "POST",
            &format!("/v1/tax/refunds/{id}/payment"),
            None,
            &[("if-match", "\"1\"")],
        )
        .await
        .expect(403);
    }
    // Officials do not claim or read bills
    h.get(&reviewer.token, "/v1/tax/bills")
        .await
        .expect_problem(403, "auth.forbidden");
    // The reviewer sees the queue, oldest first, with the citizen's name
    let r = h.get(&reviewer.token, "/v1/tax/review").await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["refundId"], id.as_str());
    assert_eq!(items[0]["citizenName"], "이순신");
    h.get(&reviewer.token, "/v1/tax/review?status=paid")
        .await
        .expect(200);
    let r = h.get(&reviewer.token, "/v1/tax/review?status=lost").await;
    r.expect(400);
    assert_eq!(r.fields(), ["status"]);
    // No token at all
    h.call(None, "GET", "/v1/tax/review", None, &[])
        .await
        .expect(401);
}

#[tokio::test]
async fn every_invalid_transition_is_409_and_a_stale_version_412() {
    let h = Harness::new().await;
    let me = h.citizen3("yi.flow").await;
    let reviewer = h.reviewer("flow.reviewer").await;
    let id = h.claim(&me, OP_2022).await.str("refundId");
    // Payment before approval
    h.pay(&reviewer, &id, 1)
        .await
        .expect_problem(409, "refund.invalid_transition");
    // No If-Match, a stale one
    h.call(
        Some(&reviewer.token),
        "POST",
        &format!("/v1/tax/refunds/{id}/decision"),
        Some(json!({"decision": "approve"})),
        &[],
    )
    .await
    .expect(428);
    h.decide(&reviewer, &id, 7, json!({"decision": "approve"}))
        .await
        .expect_problem(412, "request.precondition_failed");
    // A bad decision, a rejection without a reason
    let r = h
        .decide(&reviewer, &id, 1, json!({"decision": "maybe"}))
        .await;
    assert_eq!(r.fields(), ["decision"]);
    let r = h
        .decide(&reviewer, &id, 1, json!({"decision": "reject"}))
        .await;
    assert_eq!(r.fields(), ["reason"]);
    // Approve, then approving or rejecting again is 409
    let r = h
        .decide(&reviewer, &id, 1, json!({"decision": "approve"}))
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(r.body["version"], 2);
    for decision in ["approve", "reject"] {
        h.decide(
            &reviewer,
            &id,
            2,
            json!({"decision": decision, "reason": "다시"}),
        )
        .await
        .expect_problem(409, "refund.invalid_transition");
    }
    // Pay, then paying or deciding again is 409
    let r = h.pay(&reviewer, &id, 2).await;
    r.expect(200);
    assert_eq!(r.body["status"], "paid");
    h.pay(&reviewer, &id, 3)
        .await
        .expect_problem(409, "refund.invalid_transition");
    h.decide(
        &reviewer,
        &id,
        3,
        json!({"decision": "reject", "reason": "늦음"}),
    )
    .await
    .expect_problem(409, "refund.invalid_transition");
    // A rejected refund can be neither approved nor paid
    let other = h.claim(&me, OP_2024).await.str("refundId");
    h.decide(
        &reviewer,
        &other,
        1,
        json!({"decision": "reject", "reason": "계좌 확인 필요"}),
    )
    .await
    .expect(200);
    h.decide(&reviewer, &other, 2, json!({"decision": "approve"}))
        .await
        .expect_problem(409, "refund.invalid_transition");
    h.pay(&reviewer, &other, 2)
        .await
        .expect_problem(409, "refund.invalid_transition");
}

#[tokio::test]
async fn a_rejection_releases_the_reservation_and_reopens_the_overpayment_for_a_new_claim() {
    let h = Harness::new().await;
    let me = h.citizen3("yi.reject").await;
    let reviewer = h.reviewer("reject.reviewer").await;
    let first = h.claim(&me, OP_2022).await;
    first.expect(201);
    assert_eq!(h.bill_item(&me, 2025, ARREAR).await, (0, 150_000));
    // WHEN the reviewer rejects it
    let r = h
        .decide(
            &reviewer,
            &first.str("refundId"),
            1,
            json!({"decision": "reject", "reason": "예금주 확인 필요"}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(r.body["reason"], "예금주 확인 필요");
    // THEN the arrear is open again and the overpayment eligible
    assert_eq!(h.bill_item(&me, 2025, ARREAR).await, (150_000, 0));
    assert_eq!(h.eligible(&me).await, [OP_2022, OP_2024]);
    // AND a new claim offsets it again, as a new refund
    let second = h.claim(&me, OP_2022).await;
    second.expect(201);
    assert_ne!(second.str("refundId"), first.str("refundId"));
    assert_eq!(second.body["offsetKrw"], 150_000);
    let r = h.get(&me.token, "/v1/tax/refunds").await;
    let statuses: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["requested", "rejected"], "newest first");
}

#[tokio::test]
async fn payment_settles_the_arrear_and_closes_the_overpayment_in_the_ledger() {
    // GIVEN citizen3's approved claim of the 2022 overpayment
    let h = Harness::new().await;
    let me = h.citizen3("yi.pay").await;
    let reviewer = h.reviewer("pay.reviewer").await;
    let id = h.claim(&me, OP_2022).await.str("refundId");
    h.decide(&reviewer, &id, 1, json!({"decision": "approve"}))
        .await
        .expect(200);
    // WHEN it is paid
    let r = h.pay(&reviewer, &id, 2).await;
    r.expect(200);
    assert_eq!(r.body["status"], "paid");
    assert_eq!(r.body["payableKrw"], 150_000);
    assert_eq!(r.header("etag"), "\"3\"");
    // THEN the arrear is paid and the bill paid twice is simply paid
    let bills = h.bills(&me).await;
    assert!(
        bills.contains(&("B2022-30170-PROP-07".into(), 300_000, "paid".into())),
        "{bills:?}"
    );
    assert!(
        bills.contains(&(ARREAR.into(), 150_000, "paid".into())),
        "{bills:?}"
    );
    assert_eq!(h.bill_item(&me, 2025, ARREAR).await, (0, 0));
    // AND only the 2024 overpayment is left to claim, with nothing to offset
    assert_eq!(h.eligible(&me).await, [OP_2024]);
    let next = h.claim(&me, OP_2024).await;
    next.expect(201);
    assert_eq!(next.body["offsetKrw"], 0);
    assert_eq!(next.body["payableKrw"], 120_000);
    // AND a certificate issued afterwards shows no arrears
    let cert_env = h.stack.env("certificate");
    let cert = certificate::App::from_env(&cert_env, &h.sdk)
        .await
        .unwrap()
        .with_authenticator(shared::jwks::Authenticator::Fixed(
            h.login.verifier().clone(),
        ));
    let req = devstack::reply::request(
        "POST",
        "/v1/certificates",
        Some(&json!({"type": "local-tax-payment"})),
        &[
            ("authorization", &format!("Bearer {}", me.token)),
            ("idempotency-key", "cert-after-refund"),
        ],
    );
    let issued = Reply::from(cert.handle(req).await);
    issued.expect(201);
    let pdf = reqwest::get(issued.str("downloadUrl"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    assert!(text.contains("체납한 지방세가 없습니다"), "{text}");
    // AND the four events were written, one per transition, about the citizen
    let events = h.refund_events().await;
    let mut types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "refund.approved",
            "refund.paid",
            "refund.requested",
            "refund.requested"
        ]
    );
    assert!(events.iter().all(|e| e["userId"] == me.user_id.as_str()));
    let paid = events.iter().find(|e| e["type"] == "refund.paid").unwrap();
    assert_eq!(paid["data"]["bankCode"], "088");
    assert_eq!(paid["data"]["payableKrw"], 150_000);
}

#[tokio::test]
async fn a_fault_inside_the_payment_transaction_leaves_nothing_half_done() {
    // GIVEN an approved claim, and the ledger's reservation broken behind the
    // function's back (so the settlement's condition fails mid-transaction)
    let h = Harness::new().await;
    let me = h.citizen3("yi.fault").await;
    let reviewer = h.reviewer("fault.reviewer").await;
    let id = h.claim(&me, OP_2022).await.str("refundId");
    h.decide(&reviewer, &id, 1, json!({"decision": "approve"}))
        .await
        .expect(200);
    let table = h
        .stack
        .physical("TaxLedgerTable")
        .unwrap()
        .reference
        .clone();
    let db = aws_sdk_dynamodb::Client::new(&h.sdk);
    let bill_key = |pk: String| {
        std::collections::HashMap::from([
            (
                "pk".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::S(pk),
            ),
            (
                "sk".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::S(format!("BILL#2025#{ARREAR}")),
            ),
        ])
    };
    db.update_item()
        .table_name(&table)
        .set_key(Some(bill_key(format!("TAXPAYER#{}", me.user_id))))
        .update_expression("SET reservedKrw = :zero")
        .expression_attribute_values(
            ":zero",
            aws_sdk_dynamodb::types::AttributeValue::N("0".into()),
        )
        .send()
        .await
        .unwrap();
    let ledger_before = h.dump("TaxLedgerTable").await;
    let events_before = h.refund_events().await.len();
    // WHEN the payment runs into it
    let r = h.pay(&reviewer, &id, 2).await;
    // THEN the client gets a clean 500 problem with a request id
    r.expect_problem(500, "internal");
    assert!(!r.header("x-request-id").is_empty());
    // AND nothing of the payment happened: refund, lock, payments, event
    let refund = h.get(&me.token, &format!("/v1/tax/refunds/{id}")).await;
    assert_eq!(refund.body["status"], "approved");
    assert_eq!(refund.body["version"], 2);
    assert_eq!(h.dump("TaxLedgerTable").await, ledger_before);
    assert_eq!(h.refund_events().await.len(), events_before);
}

#[tokio::test]
async fn each_transition_texts_the_citizen_and_no_account_number_is_stored_sent_or_published() {
    // GIVEN citizen3 with a phone, who claims both overpayments
    let h = Harness::new().await;
    let me = h.citizen3("yi.texts").await;
    let reviewer = h.reviewer("texts.reviewer").await;
    let before = h.texts(&me).await;
    assert_eq!(
        before.len(),
        1,
        "the device notice of the sign-in: {before:?}"
    );
    let a = h.claim(&me, OP_2022).await;
    let b = h.claim(&me, OP_2024).await;
    // WHEN one is approved and paid and the other rejected
    let a_id = a.str("refundId");
    let b_id = b.str("refundId");
    let approved = h
        .decide(&reviewer, &a_id, 1, json!({"decision": "approve"}))
        .await;
    let paid = h.pay(&reviewer, &a_id, 2).await;
    let rejected = h
        .decide(
            &reviewer,
            &b_id,
            1,
            json!({"decision": "reject", "reason": "계좌 확인 필요"}),
        )
        .await;
    // THEN their phone gets one text per transition, in Korean
    let texts = h.texts(&me).await[1..].to_vec();
    assert_eq!(texts.len(), 5, "{texts:#?}");
    assert!(
        texts.iter().all(|t| t.starts_with("[손안의정부]")),
        "{texts:#?}"
    );
    assert!(texts.iter().any(|t| t.contains("반려")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("지급")), "{texts:#?}");
    // AND the account number is nowhere but masked: responses, texts, events,
    // either table (the refund keeps only KMS ciphertext)
    let mut seen: Vec<String> = vec![
        a.body.to_string(),
        b.body.to_string(),
        approved.body.to_string(),
        paid.body.to_string(),
        rejected.body.to_string(),
        h.get(&me.token, "/v1/tax/refunds").await.body.to_string(),
        h.get(&reviewer.token, "/v1/tax/review?status=paid")
            .await
            .body
            .to_string(),
        serde_json::to_string(&h.refund_events().await).unwrap(),
        h.dump("TaxRefundTable").await,
        h.dump("TaxLedgerTable").await,
    ];
    seen.extend(texts);
    for text in &seen {
        assert!(
            !text.contains(ACCOUNT_DIGITS) && !text.contains(ACCOUNT),
            "{text}"
        );
    }
    assert!(seen[0].contains("1102*****8901"));
}
