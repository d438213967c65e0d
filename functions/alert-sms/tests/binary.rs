//! The compiled `alert-sms` binary itself: one process answers API Gateway
//! requests (the alert routes, over real HTTP through cargo-lambda's emulation)
//! and SQS batches (the delivery queue, over the Invoke API, as Lambda's event
//! source mapping does), configured exactly as template.yaml configures it, with
//! tokens checked against the issuer's keys fetched over HTTP.

use std::time::Duration;

use devstack::TestStack;
use devstack::issuer::LocalIssuer;
use devstack::local_lambda::LocalLambda;
use serde_json::{Value, json};

const PASSWORD: &str = "Binary-alert-pass-1";

/// Provisions `login_id` (an official with the alert scopes, or a citizen with
/// `phone`) and signs in; the access token.
async fn signed_in(issuer: &LocalIssuer, login_id: &str, phone: Option<&str>) -> String {
    use login::accounts::{Provision, Role, provision};
    let provision_as = match phone {
        Some(phone) => Provision::citizen(login_id, PASSWORD, "홍길동", phone),
        None => Provision {
            login_id: login_id.to_owned(),
            password: PASSWORD.to_owned(),
            name: "공무원".to_owned(),
            phone: "010-3456-7890".to_owned(),
            role: Role::Official,
            scopes: vec!["alerts:issue".into(), "alerts:approve".into()],
            agency: Some("11".into()),
        },
    };
    provision(&issuer.login, provision_as)
        .await
        .expect("provisioned");
    let req = devstack::reply::request(
        "POST",
        "/v1/auth/login",
        Some(&json!({"loginId": login_id, "password": PASSWORD})),
        &[],
    );
    let r = devstack::reply::Reply::from(issuer.login.handle(req).await);
    r.expect(200);
    r.str("accessToken")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compiled_binary_answers_the_alert_routes_and_delivers_from_its_queue() {
    // GIVEN the stack, an issuer, two officials and a subscribed citizen
    let stack = TestStack::new().await;
    let issuer = LocalIssuer::start(&stack).await;
    let writer = signed_in(&issuer, "binwriter", None).await;
    let approver = signed_in(&issuer, "binapprover", None).await;
    let phone = devstack::phone::unique();
    let digits = phone.e164["+8210".len()..].to_owned();
    let citizen = signed_in(&issuer, "bincitizen", Some(&phone.dashed)).await;

    // AND the compiled function, configured as the template configures it
    let vars = issuer.env_of(&stack, "alert-sms");
    let lambda = LocalLambda::start().await;
    let function = lambda.spawn(env!("CARGO_BIN_EXE_alert-sms"), &vars, 128);
    let base = lambda.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // WHEN the citizen subscribes and two officials write and approve an alert
    let r = http
        .put(format!("{base}/v1/alerts/subscription"))
        .bearer_auth(&citizen)
        .json(&json!({"regions": ["27"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let message = format!("대구 전역 폭염경보 {digits}. 야외 활동을 자제하십시오.");
    let r = http
        .post(format!("{base}/v1/alerts"))
        .bearer_auth(&writer)
        .header("idempotency-key", "binary-alert-1")
        .json(&json!({"category": "safety", "regions": ["27"], "headline": "폭염경보", "message": message}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let created: Value = r.json().await.unwrap();
    let id = created["alertId"].as_str().unwrap();
    let r = http
        .post(format!("{base}/v1/alerts/{id}/approval"))
        .bearer_auth(&approver)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // AND the outbox is carried to the delivery queue, which feeds the same process
    stack.carry_events().await;
    let source = stack.sqs_source("alert-sms", "AlertDelivery");
    let invoke_url = lambda.invoke_url();
    for _ in 0..10 {
        let delivered = source.poll_into(1, &invoke_url).await.unwrap();
        assert_eq!(delivered.failure, None);
        if delivered.received == 0 {
            break;
        }
    }

    // THEN the citizen's phone has the alert once, and the alert says so
    assert_eq!(
        stack.texts_to(&phone.e164).await,
        std::slice::from_ref(&message)
    );
    let alert: Value = http
        .get(format!("{base}/v1/alerts/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        alert["delivery"],
        json!({"recipients": 1, "sent": 1, "failed": 0})
    );
    // AND the CAP document is served as text by the binary
    let r = http
        .get(format!("{base}/v1/alerts/{id}"))
        .header("accept", "application/cap+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<event>안전안내</event>"));

    // AND the logs name routes and steps, never the number, the text or a token
    let (logs, lines) = LocalLambda::stop(function).await;
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "POST /v1/alerts/{alertId}/approval" && l["status"] == 200),
        "{logs}"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "alert published"),
        "{logs}"
    );
    for secret in [
        digits.as_str(),
        message.as_str(),
        writer.as_str(),
        citizen.as_str(),
    ] {
        assert!(!logs.contains(secret), "the logs leak `{secret}`");
    }
}
