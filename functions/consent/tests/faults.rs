//! Consent requests, signatures and look-ups with an AWS call broken at each
//! step (issue 12): DynamoDB throttling, a 500, a timeout before the call, an
//! answer lost after it on every attempt, and an answer lost on the first
//! attempt only (the SDK's retry then meets what that attempt wrote), on every
//! call each of them makes. After each: the client got the success or a clean
//! 5xx problem with a request id (never a panic or a half answer); the retry
//! (the same request or look-up with the same Idempotency-Key; the same
//! signature) ends in the right state: one consent asked per request, granted
//! once, at version 2, with the receipt of the signature that granted it; each
//! look-up logged once; one event per request and per look-up, and one text to
//! the citizen for each, none for a signature. Without a key, a request or a
//! look-up whose first answer was lost is still stored once and answered as
//! made (the SDK's retry recognises its own write).

mod common;

use common::*;
use devstack::faults::{Fault, Faults};
use serde_json::{Value, json};

const DOCUMENT: &str = "resident-registration-abstract";

/// `official` asks `citizen` for [`DOCUMENT`]; the consent.
async fn requested(h: &Harness, official: &User, citizen: &User) -> Value {
    let r = h.request(official, citizen, &[DOCUMENT]).await;
    r.expect(201);
    r.body.clone()
}

/// `official` asks `citizen` for [`DOCUMENT`] for petition `petition`, with
/// Idempotency-Key `key` if any.
async fn ask(
    h: &Harness,
    official: &User,
    citizen: &User,
    petition: &str,
    key: Option<&str>,
) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    h.call(
        &official.token,
        "POST",
        "/v1/consents",
        Some(
            json!({"citizenLoginId": citizen.login_id, "petitionId": petition,
            "petitionName": "주거급여 신청", "documents": [DOCUMENT],
            "purpose": "주거급여 자격 확인", "validDays": 7}),
        ),
        &headers,
    )
    .await
}

/// The ids of `official`'s consents for petition `petition`.
async fn asked_for(h: &Harness, official: &User, petition: &str) -> Vec<String> {
    let r = h
        .call(&official.token, "GET", "/v1/consents?limit=100", None, &[])
        .await;
    r.expect(200);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["petitionId"] == petition)
        .map(|c| c["consentId"].as_str().unwrap().to_owned())
        .collect()
}

/// The body of `citizen`'s signature of `consent` with their device.
fn signature_of(citizen: &User, consent: &Value) -> Value {
    let payload = consent["signingPayload"].as_str().unwrap();
    json!({"deviceId": citizen.device_id(), "signature": citizen.sign(payload)})
}

async fn sign(h: &Harness, citizen: &User, id: &str, body: &Value) -> Reply {
    h.call(
        &citizen.strong,
        "POST",
        &format!("/v1/consents/{id}/signature"),
        Some(body.clone()),
        &[],
    )
    .await
}

/// `official` looks up [`DOCUMENT`] under consent `id`, with Idempotency-Key
/// `key` if any.
async fn look_up(h: &Harness, official: &User, id: &str, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    h.call(
        &official.token,
        "POST",
        &format!("/v1/consents/{id}/access"),
        Some(json!({ "document": DOCUMENT })),
        &headers,
    )
    .await
}

async fn consent_of(h: &Harness, citizen: &User, id: &str) -> Value {
    let r = h
        .call(
            &citizen.token,
            "GET",
            &format!("/v1/consents/{id}"),
            None,
            &[],
        )
        .await;
    r.expect(200);
    r.body.clone()
}

/// The items of consent `id`'s partition whose sort key starts with `prefix`
/// (read by the test, not through the function).
async fn items(h: &Harness, id: &str, prefix: &str) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    let out = aws_sdk_dynamodb::Client::new(&h.sdk)
        .query()
        .table_name(h.app.consents().table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CONSENT#{id}")))
        .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items().len()
}

/// The events about consent `id` in the outbox, by type.
async fn events_of(h: &Harness, id: &str) -> Vec<String> {
    let mut kinds: Vec<String> = h
        .stack
        .outbox("ConsentTable")
        .await
        .iter()
        .filter(|e| e["data"]["consentId"] == id)
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// What a call broken by `fault` leaves: whether the request still succeeds
/// (the SDK's retry gets through) and whether it wrote (`write` names the
/// call that makes the change).
fn outcome(fault: Fault, call: &str, write: &str) -> (bool, bool) {
    let succeeds = fault == Fault::LostFirstAnswer;
    (
        succeeds,
        succeeds || (fault == Fault::LostAnswer && call == write),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_grants_exactly_once()
{
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    // GIVEN the calls one signature makes
    let official = h.official("faults.official", "11").await;
    let citizen = h.citizen("faults.citizen").await;
    let probe = requested(&h, &official, &citizen).await;
    let id = probe["consentId"].as_str().unwrap();
    faults.clear();
    sign(&h, &citizen, id, &signature_of(&citizen, &probe))
        .await
        .expect(200);
    let steps = faults.calls();
    eprintln!("a signature's AWS calls: {steps:?}");
    assert!(steps.iter().any(|c| c == "dynamodb:PutItem"), "{steps:?}");
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let c = requested(&h, &official, &citizen).await;
            let id = c["consentId"].as_str().unwrap();
            let body = signature_of(&citizen, &c);
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = sign(&h, &citizen, id, &body).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got a clean answer: the receipt when the SDK's
            // retry got through, else a problem (every call is needed)
            r.expect_success_or_server_problem(&what);
            let (succeeds, wrote) = outcome(fault, call, "dynamodb:PutItem");
            if succeeds {
                assert_eq!(r.status.as_u16(), 200, "{what}: {}", r.body);
                assert_eq!(r.body["consent"]["status"], "granted", "{what}");
                assert_eq!(r.body["consent"]["version"], 2, "{what}");
            } else {
                assert!(r.status.is_server_error(), "{what}: {}", r.body);
            }
            // AND the consent was granted by it exactly when it succeeded or
            // the answer to its write was lost
            let first = consent_of(&h, &citizen, id).await;
            let expected = if wrote { "granted" } else { "pending" };
            assert_eq!(first["status"], expected, "{what}: {first}");
            // AND the same signature again: 409 when the first had granted it
            // (signing twice), else it grants now
            let retry = sign(&h, &citizen, id, &body).await;
            let receipt = if wrote {
                retry.expect_problem(409, "consent.invalid_transition");
                if succeeds {
                    assert_eq!(r.body["receipt"], first["receipt"], "{what}");
                }
                first["receipt"].clone()
            } else {
                retry.expect(200);
                retry.body["receipt"].clone()
            };
            // AND the consent is granted once, at version 2, with the receipt
            // of this very signature
            let now = consent_of(&h, &citizen, id).await;
            assert_eq!(now["status"], "granted", "{what}");
            assert_eq!(now["version"], 2, "{what}");
            assert!(now["signedAt"].is_string(), "{what}");
            assert_eq!(now["receipt"], receipt, "{what}");
            let claims = shared::eddsa::verify(receipt.as_str().unwrap(), &h.app.jwks())
                .expect("the receipt verifies");
            assert_eq!(claims["consentId"], id, "{what}");
            assert_eq!(claims["citizenSignature"], body["signature"], "{what}");
            assert_eq!(claims["signedAt"], now["signedAt"], "{what}");
            // AND no event but the request's
            assert_eq!(events_of(&h, id).await, ["consent.requested"], "{what}");
        }
    }
    eprintln!("{n} broken signatures");
    // AND the citizen was texted once per request, never for a signature
    let texts = h.texts_to(&citizen).await;
    assert_eq!(texts.len(), n + 1, "{texts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_look_up_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_logs_and_texts_once() {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let official = h.official("faults.official", "26").await;
    let citizen = h.citizen("faults.citizen").await;
    let granted = || async {
        let c = requested(&h, &official, &citizen).await;
        let id = c["consentId"].as_str().unwrap().to_owned();
        sign(&h, &citizen, &id, &signature_of(&citizen, &c))
            .await
            .expect(200);
        id
    };
    // GIVEN the calls one look-up makes
    let id = granted().await;
    faults.clear();
    look_up(&h, &official, &id, Some("probe")).await.expect(204);
    let steps = faults.calls();
    eprintln!("a look-up's AWS calls: {steps:?}");
    let write = steps
        .iter()
        .position(|c| c == "dynamodb:TransactWriteItems")
        .expect("a look-up writes in a transaction");
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let id = granted().await;
            let key = format!("look-up-{n}");
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = look_up(&h, &official, &id, Some(&key)).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got a clean answer: 204 when the SDK's retry
            // got through, else a problem (every call is needed)
            r.expect_success_or_server_problem(&what);
            let (succeeds, wrote) = outcome(fault, call, "dynamodb:TransactWriteItems");
            if succeeds {
                assert_eq!(r.status.as_u16(), 204, "{what}: {}", r.body);
                assert_eq!(r.header("idempotent-replayed"), "", "{what}");
            } else {
                assert!(r.status.is_server_error(), "{what}: {}", r.body);
            }
            // AND it was logged exactly when it succeeded or the answer to
            // its write was lost
            assert_eq!(
                items(&h, &id, "ACCESS#").await,
                usize::from(wrote),
                "{what}"
            );
            // AND the same look-up again (same key): 204, a replay when the
            // first had been logged
            let retry = look_up(&h, &official, &id, Some(&key)).await;
            retry.expect(204);
            let replayed = if wrote { "true" } else { "" };
            assert_eq!(retry.header("idempotent-replayed"), replayed, "{what}");
            // AND one entry in the citizen's log, none refused, one event
            let log = h
                .call(
                    &citizen.token,
                    "GET",
                    &format!("/v1/consents/{id}/access-log"),
                    None,
                    &[],
                )
                .await;
            log.expect(200);
            let entries = log.body["items"].as_array().unwrap();
            assert_eq!(entries.len(), 1, "{what}: {}", log.body);
            assert_eq!(entries[0]["document"], DOCUMENT, "{what}");
            assert_eq!(entries[0]["officialId"], official.user_id.as_str());
            assert_eq!(items(&h, &id, "ACCESS#").await, 1, "{what}");
            assert_eq!(items(&h, &id, "DENIED#").await, 0, "{what}");
            assert_eq!(
                events_of(&h, &id).await,
                ["consent.accessed", "consent.requested"],
                "{what}"
            );
        }
    }
    eprintln!("{n} broken look-ups");
    // WHEN a look-up without a key loses its transaction's first answer
    let id = granted().await;
    faults.clear();
    faults.arm(write, Fault::LostFirstAnswer);
    let r = look_up(&h, &official, &id, None).await;
    assert!(faults.fired() > 0, "the fault never fired");
    faults.clear();
    // THEN the SDK's retry meets its own write: 204, logged once, one event
    r.expect(204);
    assert_eq!(items(&h, &id, "ACCESS#").await, 1);
    assert_eq!(items(&h, &id, "DENIED#").await, 0);
    assert_eq!(
        events_of(&h, &id).await,
        ["consent.accessed", "consent.requested"]
    );
    // AND the citizen was texted once per request and once per look-up
    let texts = h.texts_to(&citizen).await;
    assert_eq!(texts.len(), 2 * (n + 2), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_broken_at_any_aws_call_is_answered_cleanly_and_its_retry_asks_and_texts_once() {
    let faults = Faults::new();
    let h = Harness::with_faults(&faults).await;
    let official = h.official("faults.official", "11").await;
    let citizen = h.citizen("faults.citizen").await;
    // GIVEN the calls one request with an Idempotency-Key makes
    faults.clear();
    ask(&h, &official, &citizen, "P-PROBE", Some("request-probe"))
        .await
        .expect(201);
    let steps = faults.calls();
    eprintln!("a request's AWS calls: {steps:?}");
    assert!(
        steps.iter().any(|c| c == "dynamodb:TransactWriteItems"),
        "{steps:?}"
    );
    // (the last call stores the answer for replay, after the consent is made)
    let store_answer = steps.len() - 1;
    let mut n = 0;
    for (step, call) in steps.iter().enumerate() {
        for fault in Fault::ALL {
            n += 1;
            let what = format!("call {step} ({call}) {fault:?}");
            let petition = format!("P-FAULT-{n}");
            let key = format!("request-{n}");
            // WHEN that call fails
            faults.clear();
            faults.arm(step, fault);
            let r = ask(&h, &official, &citizen, &petition, Some(&key)).await;
            assert!(faults.fired() > 0, "{what}: the fault never fired");
            faults.clear();
            // THEN the client got a clean answer: the consent when the SDK's
            // retry got through or only storing the answer for replay
            // failed, else a problem
            r.expect_success_or_server_problem(&what);
            let succeeds = fault == Fault::LostFirstAnswer || step == store_answer;
            if succeeds {
                assert_eq!(r.status.as_u16(), 201, "{what}: {}", r.body);
            } else {
                assert!(r.status.is_server_error(), "{what}: {}", r.body);
            }
            // AND the same request again (same key) answers the consent: a
            // replay, or 409 in progress while the key's lock lasts when
            // the answer could not be stored for replay
            let retry = ask(&h, &official, &citizen, &petition, Some(&key)).await;
            let unstored = step == store_answer
                && !matches!(fault, Fault::LostAnswer | Fault::LostFirstAnswer);
            if unstored {
                retry.expect_problem(409, "idempotency.in_progress");
            } else {
                retry.expect(201);
                if succeeds {
                    assert_eq!(retry.header("idempotent-replayed"), "true", "{what}");
                    assert_eq!(retry.body["consentId"], r.body["consentId"], "{what}");
                }
            }
            // AND exactly one consent was asked, with one event
            let ids = asked_for(&h, &official, &petition).await;
            assert_eq!(ids.len(), 1, "{what}: {ids:?}");
            for answer in [&r, &retry] {
                if answer.status.as_u16() == 201 {
                    assert_eq!(answer.body["consentId"], ids[0].as_str(), "{what}");
                }
            }
            assert_eq!(
                events_of(&h, &ids[0]).await,
                ["consent.requested"],
                "{what}"
            );
        }
    }
    eprintln!("{n} broken requests");
    // WHEN a request without a key loses its transaction's first answer
    faults.clear();
    ask(&h, &official, &citizen, "P-PROBE-2", None)
        .await
        .expect(201);
    let write = faults
        .calls()
        .iter()
        .position(|c| c == "dynamodb:TransactWriteItems")
        .expect("a request writes in a transaction");
    faults.clear();
    faults.arm(write, Fault::LostFirstAnswer);
    let r = ask(&h, &official, &citizen, "P-KEYLESS", None).await;
    assert!(faults.fired() > 0, "the fault never fired");
    faults.clear();
    // THEN the SDK's retry meets its own write: 201, one consent, one event
    r.expect(201);
    let ids = asked_for(&h, &official, "P-KEYLESS").await;
    assert_eq!(ids, [r.str("consentId")]);
    assert_eq!(events_of(&h, &ids[0]).await, ["consent.requested"]);
    // AND the citizen was texted once per request
    let texts = h.texts_to(&citizen).await;
    assert_eq!(texts.len(), n + 3, "{texts:?}");
}
