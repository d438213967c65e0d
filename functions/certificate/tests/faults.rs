//! Certificate issue with an AWS call broken at each step (issue 12):
//! throttling, a 500, a timeout before the call, the answer lost on every
//! attempt and the answer lost on the first attempt only (the SDK's retry
//! meets the first attempt's write), on every call one `POST /v1/certificates`
//! makes (the idempotency record, the request key's look-up, the register or
//! ledger read, the PDF's S3 PutObject, the transaction that stores the
//! record, its list entry, the request key and its event, the stored answer).
//! After each: the client got the certificate or a clean 5xx problem with a
//! request id; a retry with the same Idempotency-Key answers 201 with one
//! certificate; the citizen's list shows exactly that one, the PDF in S3 is
//! the one whose SHA-256 was stored, and exactly one `certificate.issued`
//! event was written.

mod common;

use common::{Citizen, Harness, Reply, download};
use devstack::faults::{Fault, Faults};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CHEONGUN: &str = "1111010100100010000";

/// The client's view after a fault: a success, or a clean problem.
fn clean(r: &Reply, what: &str) {
    if r.expect_success_or_server_problem(what) {
        assert_eq!(r.status.as_u16(), 201, "{what}: {}", r.body);
    } else {
        assert!(
            r.body.get("issueNumber").is_none(),
            "{what}: half an answer"
        );
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `certificate.issued` events written for `who`.
async fn issued_events(h: &Harness, who: &Citizen) -> Vec<Value> {
    h.stack
        .outbox("CertificateTable")
        .await
        .into_iter()
        .filter(|e| e["userId"] == who.user_id.as_str() && e["type"] == "certificate.issued")
        .collect()
}

/// Breaks each AWS call of one issue of `body` in turn, with each fault.
async fn break_each_call_of_an_issue(
    h: &Harness,
    faults: &Faults,
    body: Value,
    who: impl AsyncFn(&str) -> Citizen,
) -> usize {
    let kind = body["type"].as_str().unwrap().to_owned();
    // GIVEN the calls one issue makes
    let probe = who(&format!("probe.{kind}")).await;
    faults.clear();
    h.issue(&probe, body.clone()).await.expect(201);
    let steps = faults.calls();
    eprintln!("a {kind} issue's AWS calls: {steps:?}");
    assert!(
        steps.iter().any(|c| c == "s3:PutObject"),
        "{kind}: {steps:?}"
    );
    assert!(
        steps.iter().any(|c| c == "dynamodb:TransactWriteItems"),
        "{kind}: {steps:?}"
    );
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("{kind}: call {step} ({call}) {fault:?}");
            let me = who(&format!("f.{kind}.{n}")).await;
            let key = format!("issue-{n}");
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = h.issue_on(&h.app, &me, body.clone(), &key).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got the certificate or a clean problem
            clean(&r, &what);
            // AND the retry with the same key gives 201 with the certificate
            // (or, when the client had it and only storing the answer for
            // replay failed, 409 in progress until the key's lock expires)
            let retry = h.issue_on(&h.app, &me, body.clone(), &key).await;
            let number = if r.status.is_success() && retry.status.as_u16() == 409 {
                retry.expect_problem(409, "idempotency.in_progress");
                r.str("issueNumber")
            } else {
                assert_eq!(retry.status.as_u16(), 201, "{what}: retry {}", retry.body);
                assert_eq!(retry.str("type"), kind, "{what}");
                if r.status.is_success() {
                    assert_eq!(retry.str("issueNumber"), r.str("issueNumber"), "{what}");
                }
                retry.str("issueNumber")
            };
            // AND the citizen's list shows exactly that one
            let list = h.get(&me, "/v1/certificates").await;
            list.expect(200);
            let items = list.body["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{what}: {items:?}");
            assert_eq!(items[0]["issueNumber"], number.as_str(), "{what}");
            // AND the stored PDF is the one whose SHA-256 was recorded
            let one = h.get(&me, &format!("/v1/certificates/{number}")).await;
            one.expect(200);
            let (status, _, pdf) = download(&one.str("downloadUrl")).await;
            assert_eq!(status, 200, "{what}: the PDF is in S3");
            assert_eq!(hex_sha256(&pdf), one.str("sha256"), "{what}");
            assert_eq!(items[0]["sha256"], one.str("sha256").as_str(), "{what}");
            let v = h.verify_number(&number).await;
            assert_eq!(v.body["valid"], true, "{what}: {}", v.body);
            // AND exactly one event, for that certificate
            let events = issued_events(h, &me).await;
            assert_eq!(events.len(), 1, "{what}: {events:?}");
            assert_eq!(events[0]["data"]["issueNumber"], number.as_str(), "{what}");
        }
    }
    eprintln!("{kind}: {n} (call, fault) cases");
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issue_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_issues_exactly_one_certificate()
 {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    // GIVEN a land register and a local-tax payment certificate (the ledger
    // read instead of the registers')
    let land = json!({"type": "land-register", "pnu": CHEONGUN});
    let cases =
        break_each_call_of_an_issue(&h, &faults, land, async |id: &str| h.citizen(id).await).await;
    let tax = json!({"type": "local-tax-payment"});
    let cases = cases
        + break_each_call_of_an_issue(&h, &faults, tax, async |id: &str| {
            h.taxpayer(id, "citizen1").await
        })
        .await;
    eprintln!("{cases} (call, fault) cases");
}
