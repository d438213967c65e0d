//! The consent routes of api.md through the App's HTTP handler, against the
//! emulator: tokens, device keys and texts are real.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{Harness, User};
use devstack::users::signature as sign_with;
use serde_json::{Value, json};

const DOCS: &[&str] = &[
    "resident-registration-abstract",
    "local-tax-payment-certificate",
];

async fn requested(h: &Harness, official: &User, citizen: &User) -> Value {
    let r = h.request(official, citizen, DOCS).await;
    r.expect(201);
    r.body.clone()
}

async fn look_up(h: &Harness, id: &str, who: &User, document: &str) -> common::Reply {
    h.call(
        &who.token,
        "POST",
        &format!("/v1/consents/{id}/access"),
        Some(json!({ "document": document })),
        &[],
    )
    .await
}

async fn get(h: &Harness, who: &User, id: &str) -> common::Reply {
    h.call(&who.token, "GET", &format!("/v1/consents/{id}"), None, &[])
        .await
}

#[tokio::test]
async fn a_request_fixes_the_canonical_payload_of_the_stored_fields_and_texts_the_citizen() {
    // GIVEN an official of agency 26 and a citizen
    let h = Harness::new().await;
    let official = h.official("cofficial1", "26").await;
    let citizen = h.citizen("ccitizen1").await;
    // WHEN the official asks for two documents
    let r = h.request(&official, &citizen, DOCS).await;
    // THEN a pending consent with the token's agency, an ETag and a location
    r.expect(201);
    let c = &r.body;
    assert_eq!(c["status"], "pending");
    assert_eq!(c["agency"], "26");
    assert_eq!(c["citizenId"], citizen.user_id.as_str());
    assert_eq!(c["officialId"], official.user_id.as_str());
    assert_eq!(c["version"], 1);
    assert_eq!(r.header("etag"), "\"1\"");
    assert_eq!(
        r.header("location"),
        format!("/v1/consents/{}", c["consentId"].as_str().unwrap())
    );
    // AND the signing payload is the canonical JSON of exactly the shown fields
    let payload = c["signingPayload"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(payload).unwrap();
    let mut expected = serde_json::Map::new();
    for field in [
        "consentId",
        "citizenId",
        "officialId",
        "agency",
        "petitionId",
        "petitionName",
        "documents",
        "purpose",
        "requestedAt",
        "expiresAt",
    ] {
        expected.insert(field.into(), c[field].clone());
    }
    assert_eq!(parsed, Value::Object(expected.clone()));
    assert_eq!(consent::payload::canonical(&parsed).unwrap(), payload);
    assert!(payload.starts_with("{\"agency\":\"26\",\"citizenId\":"));
    // AND the 7 days run from the request
    let requested =
        chrono::DateTime::parse_from_rfc3339(c["requestedAt"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(c["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires - requested).num_days(), 7);
    // AND the body cannot choose the agency
    let forged = h
        .call(
            &official.token,
            "POST",
            "/v1/consents",
            Some(
                json!({"citizenLoginId": "ccitizen1", "petitionId": "P-1", "petitionName": "x",
                "documents": ["land-register"], "purpose": "x", "validDays": 1, "agency": "11"}),
            ),
            &[],
        )
        .await;
    forged.expect(400);
    // AND the citizen is texted once, naming the petition
    let texts = h.texts_to(&citizen).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("주거급여 신청"), "{texts:?}");
}

#[tokio::test]
async fn bad_requests_name_their_fields_and_unknown_citizens_are_refused() {
    let h = Harness::new().await;
    let official = h.official("cofficial2", "11").await;
    let r = h
        .call(
            &official.token,
            "POST",
            "/v1/consents",
            Some(
                json!({"citizenLoginId": "??", "petitionId": "P 1", "petitionName": "",
                "documents": ["passport"], "purpose": "", "validDays": 31}),
            ),
            &[],
        )
        .await;
    r.expect_problem(400, "request.invalid");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "citizenLoginId",
            "petitionId",
            "petitionName",
            "purpose",
            "validDays",
            "documents[0]"
        ]
    );
    let nobody = User {
        login_id: "nobody42".into(),
        user_id: String::new(),
        phone: String::new(),
        token: String::new(),
        strong: String::new(),
        device: None,
    };
    let r = h.request(&official, &nobody, DOCS).await;
    r.expect_problem(422, "consent.unknown_citizen");
    assert_eq!(r.body["errors"][0]["field"], "citizenLoginId");
    // An official is not a citizen to ask.
    let other = h.official("cofficial3", "11").await;
    h.request(&official, &other, DOCS)
        .await
        .expect_problem(422, "consent.unknown_citizen");
    // A citizen cannot ask.
    let citizen = h.citizen("ccitizen2").await;
    h.request(&citizen, &citizen, DOCS).await.expect(403);
}

#[tokio::test]
async fn a_device_signature_grants_and_the_receipt_verifies_with_the_published_key_only() {
    let h = Harness::new().await;
    let official = h.official("cofficial4", "11").await;
    let citizen = h.citizen("ccitizen3").await;
    let c = requested(&h, &official, &citizen).await;
    // WHEN the citizen signs the stored payload with their device
    let r = h.sign(&citizen, &c).await;
    // THEN granted, with a receipt
    r.expect(200);
    assert_eq!(r.body["consent"]["status"], "granted");
    assert_eq!(r.body["consent"]["version"], 2);
    assert!(r.body["consent"]["signedAt"].is_string());
    let receipt = r.body["receipt"].as_str().unwrap();
    // AND the receipt verifies with GET /v1/consents/keys (no token needed)
    let keys = h.call("", "GET", "/v1/consents/keys", None, &[]).await;
    keys.expect(200);
    assert_eq!(keys.body["keys"][0]["kty"], "OKP");
    assert_eq!(keys.body["keys"][0]["crv"], "Ed25519");
    let claims = shared::eddsa::verify(receipt, &keys.body).expect("the receipt verifies");
    let payload = c["signingPayload"].as_str().unwrap();
    assert_eq!(claims["consentId"], c["consentId"]);
    assert_eq!(
        claims["signingPayloadSha256"],
        consent::payload::sha256_hex(payload)
    );
    assert!(shared::auth::verify_device_signature(
        &{
            use p256::pkcs8::EncodePublicKey;
            let key = &citizen.device().key;
            data_encoding::BASE64URL_NOPAD
                .encode(key.verifying_key().to_public_key_der().unwrap().as_bytes())
        },
        payload.as_bytes(),
        claims["citizenSignature"].as_str().unwrap()
    ));
    assert_eq!(claims["signedAt"], r.body["consent"]["signedAt"]);
    // AND not with another key set under the same kid
    let kid = keys.body["keys"][0]["kid"].as_str().unwrap();
    let other =
        shared::eddsa::KeySet::from_json(&shared::eddsa::KeySet::generate_json(kid, None)).unwrap();
    assert_eq!(
        shared::eddsa::verify(receipt, &other.jwks()),
        Err(shared::eddsa::JwsError::Signature)
    );
    // AND signing again is a conflict
    h.sign(&citizen, &c)
        .await
        .expect_problem(409, "consent.invalid_transition");
}

#[tokio::test]
async fn signatures_by_other_keys_over_other_bytes_or_by_another_citizens_device_change_nothing() {
    let h = Harness::new().await;
    let official = h.official("cofficial5", "11").await;
    let citizen = h.citizen("ccitizen4").await;
    let other = h.citizen("ccitizen5").await;
    let c = requested(&h, &official, &citizen).await;
    let id = c["consentId"].as_str().unwrap();
    let payload = c["signingPayload"].as_str().unwrap();
    let path = format!("/v1/consents/{id}/signature");
    let stranger = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let altered = payload.replace("주거급여 자격 확인", "모든 정보 열람");
    for (device, signature, field) in [
        // a key that is not the device's
        (
            citizen.device_id(),
            sign_with(&stranger, payload),
            "signature",
        ),
        // the device's key over other bytes
        (citizen.device_id(), citizen.sign(&altered), "signature"),
        // another citizen's device and key
        (other.device_id(), other.sign(payload), "deviceId"),
        // garbage
        (
            citizen.device_id(),
            "bm90LWEtc2lnbmF0dXJl".to_owned(),
            "signature",
        ),
    ] {
        let r = h
            .call(
                &citizen.strong,
                "POST",
                &path,
                Some(json!({"deviceId": device, "signature": signature})),
                &[],
            )
            .await;
        r.expect_problem(422, "consent.bad_signature");
        assert_eq!(r.body["errors"][0]["field"], field);
    }
    // THEN nothing changed
    let now = get(&h, &citizen, id).await;
    now.expect(200);
    assert_eq!(now.body["status"], "pending");
    assert_eq!(now.body["version"], 1);
    // AND the other citizen cannot even see it
    get(&h, &other, id).await.expect_problem(404, "not_found");
}

#[tokio::test]
async fn weak_tokens_get_the_step_up_challenge() {
    let h = Harness::new().await;
    let official = h.official("cofficial6", "11").await;
    let citizen = h.citizen("ccitizen6").await;
    let c = requested(&h, &official, &citizen).await;
    let id = c["consentId"].as_str().unwrap();
    let r = h
        .call(
            &citizen.token,
            "POST",
            &format!("/v1/consents/{id}/signature"),
            Some(json!({"deviceId": citizen.device_id(), "signature": citizen.sign(c["signingPayload"].as_str().unwrap())})),
            &[],
        )
        .await;
    r.expect(401);
    assert!(
        r.header("www-authenticate")
            .contains("error=\"insufficient_user_authentication\""),
        "{}",
        r.header("www-authenticate")
    );
    assert!(r.header("www-authenticate").contains("max_age=600"));
    assert_eq!(get(&h, &citizen, id).await.body["status"], "pending");
}

#[tokio::test]
async fn refusal_then_signature_conflicts_and_a_race_of_sign_and_refuse_has_one_winner() {
    let h = Harness::new().await;
    let official = h.official("cofficial7", "11").await;
    let citizen = h.citizen("ccitizen7").await;
    // Refused first: a signature after it is a conflict.
    let c = requested(&h, &official, &citizen).await;
    let id = c["consentId"].as_str().unwrap();
    let r = h
        .call(
            &citizen.token,
            "POST",
            &format!("/v1/consents/{id}/refusal"),
            None,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "refused");
    h.sign(&citizen, &c)
        .await
        .expect_problem(409, "consent.invalid_transition");
    h.call(
        &citizen.token,
        "POST",
        &format!("/v1/consents/{id}/refusal"),
        None,
        &[],
    )
    .await
    .expect_problem(409, "consent.invalid_transition");
    // A pending consent cannot be revoked; a stale If-Match is 412.
    let c = requested(&h, &official, &citizen).await;
    let id = c["consentId"].as_str().unwrap();
    h.call(
        &citizen.token,
        "POST",
        &format!("/v1/consents/{id}/revocation"),
        None,
        &[],
    )
    .await
    .expect_problem(409, "consent.invalid_transition");
    h.call(
        &citizen.token,
        "POST",
        &format!("/v1/consents/{id}/refusal"),
        None,
        &[("if-match", "\"7\"")],
    )
    .await
    .expect(412);
    // Sign and refuse at once, ten times: each time exactly one wins.
    for _ in 0..10 {
        let c = requested(&h, &official, &citizen).await;
        let id = c["consentId"].as_str().unwrap().to_owned();
        let refusal = format!("/v1/consents/{id}/refusal");
        let (signed, refused) = tokio::join!(
            h.sign(&citizen, &c),
            h.call(&citizen.token, "POST", &refusal, None, &[])
        );
        let statuses = [signed.status.as_u16(), refused.status.as_u16()];
        assert!(
            statuses == [200, 409] || statuses == [409, 200],
            "{statuses:?}: {} / {}",
            signed.body,
            refused.body
        );
        let now = get(&h, &citizen, &id).await;
        let winner = if statuses[0] == 200 {
            "granted"
        } else {
            "refused"
        };
        assert_eq!(now.body["status"], winner);
        assert_eq!(now.body["version"], 2);
    }
}

#[tokio::test]
async fn look_ups_are_allowed_only_within_the_consent_and_each_is_logged_and_texted() {
    // GIVEN a granted consent for two documents, and a clock the test moves
    let h = Harness::new().await;
    let clock = Arc::new(AtomicI64::new(shared::time::now_secs() * 1000));
    let moved = clock.clone();
    let app = h
        .app
        .clone()
        .with_clock(Arc::new(move || moved.load(Ordering::SeqCst)));
    let h = Harness { app, ..h };
    let official = h.official("cofficial8", "26").await;
    let colleague = h.official("cofficial9", "26").await;
    let citizen = h.citizen("ccitizen8").await;
    let c = requested(&h, &official, &citizen).await;
    let id = c["consentId"].as_str().unwrap();
    h.sign(&citizen, &c).await.expect(200);
    // WHEN the official looks up both listed documents
    look_up(&h, id, &official, DOCS[0]).await.expect(204);
    look_up(&h, id, &official, DOCS[1]).await.expect(204);
    // THEN a document not listed, another official, and an unknown code fail
    look_up(&h, id, &official, "family-relation-certificate")
        .await
        .expect_problem(403, "consent.not_granted");
    look_up(&h, id, &colleague, DOCS[0])
        .await
        .expect_problem(403, "consent.not_granted");
    let bad = look_up(&h, id, &official, "passport").await;
    bad.expect(400);
    assert_eq!(bad.body["errors"][0]["field"], "document");
    // AND the citizen's log shows the two look-ups with the agency
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
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", log.body);
    let mut documents: Vec<&str> = items
        .iter()
        .map(|i| i["document"].as_str().unwrap())
        .collect();
    documents.sort_unstable();
    assert_eq!(
        documents,
        [
            "local-tax-payment-certificate",
            "resident-registration-abstract"
        ]
    );
    for item in items {
        assert_eq!(item["officialId"], official.user_id.as_str());
        assert_eq!(item["agency"], "26");
        assert!(item["accessedAt"].is_string());
        assert!(item.get("refused").is_none());
    }
    // AND only the citizen reads the log
    h.call(
        &official.token,
        "GET",
        &format!("/v1/consents/{id}/access-log"),
        None,
        &[],
    )
    .await
    .expect(403);
    // AND after expiry (clock moved 8 days) the consent reads expired and no look-up works
    clock.fetch_add(8 * 86_400_000, Ordering::SeqCst);
    assert_eq!(get(&h, &citizen, id).await.body["status"], "expired");
    look_up(&h, id, &official, DOCS[0])
        .await
        .expect_problem(403, "consent.not_granted");
    // AND each refused look-up is logged for audit, with why (not in the
    // citizen's log, not texted)
    let db = aws_sdk_dynamodb::Client::new(&h.stack.sdk_config().await);
    let denied = db
        .query()
        .table_name(h.app.consents().table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :denied)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CONSENT#{id}")))
        .expression_attribute_values(":denied", AttributeValue::S("DENIED#".into()))
        .send()
        .await
        .unwrap();
    let mut reasons: Vec<&str> = denied
        .items()
        .iter()
        .map(|i| i["refused"].as_s().unwrap().as_str())
        .collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        ["another-official", "document-not-listed", "not-granted"]
    );
    // AND the citizen was texted on the request and on each allowed look-up only
    let texts = h.texts_to(&citizen).await;
    assert_eq!(texts.len(), 3, "{texts:?}");
}

#[tokio::test]
async fn after_revocation_no_look_up_works_and_lists_filter_by_status_at_read_time() {
    let h = Harness::new().await;
    let official = h.official("cofficial10", "11").await;
    let citizen = h.citizen("ccitizen9").await;
    let first = requested(&h, &official, &citizen).await;
    let id = first["consentId"].as_str().unwrap();
    h.sign(&citizen, &first).await.expect(200);
    let r = h
        .call(
            &citizen.token,
            "POST",
            &format!("/v1/consents/{id}/revocation"),
            None,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "revoked");
    h.call(
        &official.token,
        "POST",
        &format!("/v1/consents/{id}/access"),
        Some(json!({"document": DOCS[0]})),
        &[],
    )
    .await
    .expect_problem(403, "consent.not_granted");
    // A second, pending consent; lists by status for both parties.
    let second = requested(&h, &official, &citizen).await;
    for who in [&citizen, &official] {
        let all = h.call(&who.token, "GET", "/v1/consents", None, &[]).await;
        all.expect(200);
        let ids: Vec<&Value> = all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| &i["consentId"])
            .collect();
        assert_eq!(
            ids,
            [&second["consentId"], &first["consentId"]],
            "newest first"
        );
        let pending = h
            .call(&who.token, "GET", "/v1/consents?status=pending", None, &[])
            .await;
        assert_eq!(pending.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(pending.body["items"][0]["consentId"], second["consentId"]);
        let revoked = h
            .call(
                &who.token,
                "GET",
                "/v1/consents?status=revoked&limit=1",
                None,
                &[],
            )
            .await;
        assert_eq!(revoked.body["items"][0]["consentId"], first["consentId"]);
        assert!(revoked.body.get("nextCursor").is_none(), "{}", revoked.body);
    }
    let bad = h
        .call(&citizen.token, "GET", "/v1/consents?status=lost", None, &[])
        .await;
    bad.expect(400);
    assert_eq!(bad.body["errors"][0]["field"], "status");
    // Another official cannot read the consent; the requesting one can.
    let stranger = h.official("cofficial11", "11").await;
    get(&h, &stranger, id)
        .await
        .expect_problem(404, "not_found");
    get(&h, &official, id).await.expect(200);
}
