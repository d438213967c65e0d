//! The reporter's phone gets a text when the report is submitted and at each
//! change of status: the events go through the outbox, the events topic and
//! alert-sms's queue to alert-sms (in-process), which texts the emulator's SMS.

mod common;

use aws_lambda_events::event::sqs::SqsEvent;
use common::*;
use serde_json::{Value, json};
use shared::jwks::Authenticator;

#[tokio::test]
async fn submission_and_each_status_change_text_the_reporter() {
    let h = H::new().await;
    let phone = devstack::phone::unique();
    login::accounts::provision(
        &h.login,
        login::accounts::Provision::citizen("texted", PASSWORD, "홍길동", &phone.dashed),
    )
    .await
    .unwrap();
    let me = {
        let req = devstack::reply::request(
            "POST",
            "/v1/auth/login",
            Some(&json!({"loginId": "texted", "password": PASSWORD})),
            &[],
        );
        Reply::from(h.login.handle(req).await).str("accessToken")
    };
    let official = h.user("texts.worker", &["reports:manage"]).await;
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let r = h
        .create(&me, "road-damage", HERE, &[("image/png", png.len())])
        .await;
    upload(&r.body["uploads"][0], png).await;
    let id = r.str("reportId");
    h.call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
        .await
        .expect(200);
    for (status, version) in [("accepted", 2), ("resolved", 3)] {
        h.call(
            &official,
            "POST",
            &format!("/v1/reports/{id}/status"),
            Some(json!({"status": status})),
            &[("if-match", &format!("\"{version}\""))],
        )
        .await
        .expect(200);
    }
    // alert-sms, fed from its queue until it is empty
    let sdk = h.stack.sdk_config().await;
    let sms = alert_sms::App::from_env(&h.stack.env("alert-sms"), &sdk)
        .unwrap()
        .with_authenticator(Authenticator::Fixed(h.login.verifier().clone()));
    let source = h.stack.sqs_source("alert-sms", "DomainEvents");
    loop {
        h.stack.carry_events().await;
        let delivered = source
            .poll_once(1, |event: Value| async {
                let batch: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
                serde_json::to_value(sms.handle(&batch, "test").await).map_err(|e| e.to_string())
            })
            .await
            .unwrap();
        if delivered.received == 0 {
            break;
        }
    }
    let texts = h.stack.texts_to(&phone.e164).await;
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert!(
        texts.iter().all(|t| t.starts_with("[손안의정부]")),
        "{texts:#?}"
    );
}
