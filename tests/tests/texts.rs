//! The path of a domain event, with the compiled functions: a citizen registers
//! a device key with `login` over HTTP; the notice, written in login's table in
//! the same transaction as the device, is carried from the table's stream to the
//! events topic by the stack's pipe; the topic's filtered subscription puts it on
//! alert-sms's queue; the queue is fed to the compiled `alert-sms` over the
//! Lambda Invoke API, as Lambda's event source mapping does; the emulator's SMS
//! log holds the text, on that citizen's phone.

use std::time::Duration;

use devstack::TestStack;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registered_on_the_phone_texts_that_citizen_even_when_login_stops_right_after() {
    // GIVEN the stack and the compiled login and alert-sms, configured as the
    // template configures them, each under cargo-lambda's Runtime API
    let stack = TestStack::new().await;
    let login_bin = e2e::binary("login");
    let sms_bin = e2e::binary("alert-sms");
    let login_runtime = LocalLambda::start().await;
    let login = login_runtime.spawn(&login_bin, &e2e::vars(&stack, "login"), 256);
    let sms_runtime = LocalLambda::start().await;
    let sms = sms_runtime.spawn(&sms_bin, &e2e::vars(&stack, "alert-sms"), 128);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = login_runtime.base_url();

    // AND a citizen who signed up with their mobile number and signed in
    let phone = e2e::unique_phone();
    let r = http
        .post(format!("{base}/v1/auth/signup"))
        .json(&json!({"loginId": "journey1", "password": "Journey-pass-word-1", "name": "홍길동", "phone": phone.dashed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let tokens: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"loginId": "journey1", "password": "Journey-pass-word-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // WHEN they register a device key, and login's process ends right after
    // answering (nothing of login's runs after its write)
    let r = http
        .post(format!("{base}/v1/auth/devices"))
        .bearer_auth(tokens["accessToken"].as_str().unwrap())
        .json(&json!({"deviceName": "여행용 폰", "publicKey": e2e::device_public_key()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (login_logs, _) = LocalLambda::stop(login).await;
    drop(login_runtime);
    assert!(stack.texts_to(&phone.e164).await.is_empty());

    // THEN the outbox carries exactly that one event to the topic
    assert_eq!(stack.carry_events().await, 1);
    assert_eq!(stack.carry_events().await, 0, "carried once");

    // AND alert-sms, fed from its queue over the Invoke API, texts that phone once
    let source = stack.sqs_source("alert-sms", "DomainEvents");
    let invoke_url = sms_runtime.invoke_url();
    let delivered = source.poll_into(5, &invoke_url).await.unwrap();
    assert_eq!(delivered.received, 1);
    assert_eq!(delivered.deleted, 1, "{delivered:?}");
    let texts = stack.texts_to(&phone.e164).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("여행용 폰"), "{}", texts[0]);
    assert!(texts[0].contains("본인이 아니면"), "{}", texts[0]);

    // AND neither function's logs hold the number or the text
    let (sms_logs, lines) = LocalLambda::stop(sms).await;
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "sent" && l["span"]["request_id"].is_string()),
        "{sms_logs}"
    );
    for logs in [&login_logs, &sms_logs] {
        assert!(
            !logs.contains(&phone.e164[3..]),
            "a phone number reached the logs"
        );
        assert!(!logs.contains("여행용 폰"), "a text reached the logs");
    }
}
