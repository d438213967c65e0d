//! The sample events in `events/consent/` are real API Gateway v2 payloads,
//! each run through the function here: filled in with values from a real flow
//! (the consent asked by the sample, signed with the test citizen's device),
//! each answers its documented success status; as committed (placeholders)
//! none answers a server error.

mod common;

use common::*;
use devstack::reply::samples;

async fn run(h: &Harness, name: &str, subs: &[(&str, &str)]) -> Reply {
    Reply::from(
        h.app
            .handle_http(samples::request("consent", name, subs))
            .await,
    )
}

#[tokio::test]
async fn every_sample_event_answers_its_documented_status_when_filled_in() {
    let h = Harness::new().await;
    let official = h.official("sample.asker", "11").await;
    let citizen = h.citizen("sample.signer").await;
    // The sample asks citizen1 (the demo citizen of `cargo dev`); the body is
    // a JSON string, so its quotes are escaped.
    let login_id = format!(r#"\"{}\""#, citizen.login_id);
    let subs = |consent: &str| -> Vec<(String, String)> {
        vec![
            ("REPLACE_WITH_OFFICIAL_TOKEN".into(), official.token.clone()),
            (
                "REPLACE_WITH_STRONG_ACCESS_TOKEN".into(),
                citizen.strong.clone(),
            ),
            ("REPLACE_WITH_ACCESS_TOKEN".into(), citizen.token.clone()),
            ("REPLACE_WITH_DEVICE_ID".into(), citizen.device_id()),
            ("REPLACE_WITH_CONSENT_ID".into(), consent.to_owned()),
            (r#"\"citizen1\""#.into(), login_id.clone()),
        ]
    };
    let call = |name: &'static str, extra: Vec<(String, String)>| {
        let h = &h;
        async move {
            let subs: Vec<(&str, &str)> = extra
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            run(h, name, &subs).await
        }
    };
    let mut covered = Vec::new();
    let r = call("request", subs("")).await;
    r.expect(201);
    covered.push("request");
    let id = r.str("consentId");
    let mut signed = subs(&id);
    signed.push((
        "REPLACE_WITH_SIGNATURE".into(),
        citizen.sign(r.body["signingPayload"].as_str().unwrap()),
    ));
    for (name, status) in [
        ("get", 200),
        ("list", 200),
        ("keys", 200),
        ("signature", 200),
        ("access", 204),
        ("access-log", 200),
        ("revocation", 200),
    ] {
        call(name, signed.clone()).await.expect(status);
        covered.push(name);
    }
    let second = call("request", subs("")).await.str("consentId");
    call("refusal", subs(&second)).await.expect(200);
    covered.push("refusal");
    covered.sort_unstable();
    assert_eq!(
        covered,
        samples::names("consent"),
        "every sample is exercised"
    );
}

#[tokio::test]
async fn every_sample_event_as_committed_answers_without_a_server_error() {
    let h = Harness::new().await;
    for name in samples::names("consent") {
        let r = run(&h, &name, &[]).await;
        assert!(r.status.as_u16() < 500, "{name}: {} {}", r.status, r.body);
        assert!(!r.header("x-request-id").is_empty());
    }
}
