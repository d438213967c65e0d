//! Refund claims and payments with an AWS call broken at each step (issue 12):
//! DynamoDB throttling, a 500, a timeout before the call and an answer lost after
//! it, on every call a claim or a payment makes. After each: the client got a
//! clean problem with a request id, or the claim itself; a retry with the same
//! Idempotency-Key (or the same If-Match) ends in the right state; nothing was
//! written twice and no event was lost or doubled.

mod common;

use common::*;
use devstack::faults::{Fault, Faults};
use serde_json::Value;

async fn events_of(h: &Harness, user: &User, kind: &str) -> usize {
    h.refund_events()
        .await
        .iter()
        .filter(|e| e["userId"] == user.user_id.as_str() && e["type"] == kind)
        .count()
}

async fn refunds_of(h: &Harness, user: &User) -> Vec<Value> {
    let r = h.get(&user.token, "/v1/tax/refunds").await;
    r.expect(200);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_claims_exactly_once() {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    // GIVEN the calls one claim makes, and what it reserves
    let probe = h.citizen3("faults.probe").await;
    faults.clear();
    let first = h.claim(&probe, OP_2022).await;
    first.expect(201);
    let steps = faults.calls();
    eprintln!("a claim's AWS calls: {steps:?}");
    assert!(
        steps.iter().any(|c| c == "dynamodb:TransactWriteItems"),
        "{steps:?}"
    );
    let reserved = h.bill_item(&probe, 2025, ARREAR).await;
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let me = h.citizen3(&format!("faults.claim{n}")).await;
            let key = format!("claim-{n}");
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = h.claim_with(&me, OP_2022, &key).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got a clean answer
            r.expect_success_or_server_problem(&what);
            // AND the retry with the same key gives the claim (or, when the
            // client had it and only storing the answer for replay failed,
            // 409 in progress until the key's lock expires)
            let retry = h.claim_with(&me, OP_2022, &key).await;
            let refund_id = if r.status.is_success() && retry.status.as_u16() == 409 {
                retry.expect_problem(409, "idempotency.in_progress");
                r.body["refundId"].clone()
            } else {
                assert_eq!(retry.status.as_u16(), 201, "{what}: retry {}", retry.body);
                assert_eq!(retry.body["refundableId"], OP_2022, "{what}");
                if r.status.is_success() {
                    assert_eq!(retry.body["refundId"], r.body["refundId"], "{what}");
                }
                retry.body["refundId"].clone()
            };
            // AND exactly one refund, one reservation, one event
            let refunds = refunds_of(&h, &me).await;
            assert_eq!(refunds.len(), 1, "{what}: {refunds:?}");
            assert_eq!(refunds[0]["refundId"], refund_id, "{what}");
            assert_eq!(
                h.bill_item(&me, 2025, ARREAR).await,
                reserved,
                "{what}: reservation"
            );
            assert!(
                !h.eligible(&me).await.contains(&OP_2022.to_owned()),
                "{what}"
            );
            assert_eq!(events_of(&h, &me, "refund.requested").await, 1, "{what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_pays_exactly_once() {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let reviewer = h.reviewer("faults.reviewer").await;
    let approved = |who: User| {
        let h = &h;
        let reviewer = &reviewer;
        async move {
            let id = h.claim(&who, OP_2022).await.str("refundId");
            h.decide(reviewer, &id, 1, serde_json::json!({"decision": "approve"}))
                .await
                .expect(200);
            (who, id)
        }
    };
    // GIVEN the calls one payment makes, and the ledger it leaves
    let (probe, id) = approved(h.citizen3("faults.pay.probe").await).await;
    faults.clear();
    h.pay(&reviewer, &id, 2).await.expect(200);
    let steps = faults.calls();
    eprintln!("a payment's AWS calls: {steps:?}");
    let settled = h.bill_item(&probe, 2025, ARREAR).await;
    let bills = h.bills(&probe).await;
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let (me, id) = approved(h.citizen3(&format!("faults.pay{n}")).await).await;
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = h.pay(&reviewer, &id, 2).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got a clean answer
            r.expect_success_or_server_problem(&what);
            // AND a retry at the version read finishes it (412 when the
            // first attempt had in fact paid: the client reads it again)
            if !r.status.is_success() {
                let retry = h.pay(&reviewer, &id, 2).await;
                assert!(
                    retry.status.as_u16() == 200 || retry.status.as_u16() == 412,
                    "{what}: retry {} {}",
                    retry.status,
                    retry.body
                );
            }
            let refund = h.get(&me.token, &format!("/v1/tax/refunds/{id}")).await;
            assert_eq!(refund.body["status"], "paid", "{what}");
            assert_eq!(refund.body["version"], 3, "{what}");
            // AND the ledger settled once, one event
            assert_eq!(h.bill_item(&me, 2025, ARREAR).await, settled, "{what}");
            assert_eq!(h.bills(&me).await, bills, "{what}");
            assert_eq!(events_of(&h, &me, "refund.paid").await, 1, "{what}");
        }
    }
}
