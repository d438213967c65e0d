//! Test harness: a fresh stack on the emulator, the alert-sms App in-process fed
//! from the stack's real queue (subscribed to the events topic with the
//! template's filter), citizens provisioned through the login App, and the
//! emulator's SMS log read back.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsEvent;
use devstack::TestStack;
use devstack::sqs_source::{Delivered, SqsSource};
use serde_json::Value;
use shared::events::{DomainEvent, Payload};

pub struct Harness {
    pub stack: TestStack,
    pub app: alert_sms::App,
    pub login: login::App,
    pub source: SqsSource,
    pub sdk: aws_config::SdkConfig,
}

/// A citizen of the test: their user id and mobile number (E.164).
pub struct Citizen {
    pub user_id: String,
    pub phone: String,
}

impl Harness {
    pub async fn new() -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("alert-sms");
        let sdk = shared::aws::sdk_config(&env).await;
        let app = alert_sms::App::from_env(&env, &sdk).expect("alert-sms starts on the test stack");
        let login_env = stack.env("login");
        let login = login::App::from_env(&login_env, &sdk)
            .await
            .expect("login starts on the test stack");
        let mut sources = stack.sqs_sources("alert-sms");
        assert_eq!(sources.len(), 1, "alert-sms is fed by one queue");
        let source = sources.remove(0);
        Self {
            stack,
            app,
            login,
            source,
            sdk,
        }
    }

    /// A citizen with a mobile number no other test uses (tests share the
    /// emulator's SMS log).
    pub async fn citizen(&self, login_id: &str) -> Citizen {
        let phone = unique_phone();
        let user_id = login::accounts::provision(
            &self.login,
            login::accounts::Provision::citizen(
                login_id,
                "Alert-sms-test-pass-1",
                "홍길동",
                &phone,
            ),
        )
        .await
        .expect("provisioned");
        let phone = shared::phone::PhoneNumber::parse(&phone)
            .unwrap()
            .e164()
            .to_owned();
        Citizen { user_id, phone }
    }

    /// Publishes `body` to the events topic, as the outbox pipes do.
    pub async fn publish(&self, body: &str) {
        let topic = &self
            .stack
            .physical(devstack::EVENTS_TOPIC)
            .expect("the events topic")
            .reference;
        aws_sdk_sns::Client::new(&self.sdk)
            .publish()
            .topic_arn(topic)
            .message(body)
            .send()
            .await
            .expect("published");
    }

    /// Publishes an event of type `P` about `user_id`; returns it.
    pub async fn event<P: Payload>(&self, user_id: &str, payload: &P) -> DomainEvent {
        let event = DomainEvent::new(user_id, payload).unwrap();
        self.publish(&event.body()).await;
        event
    }

    /// Puts `body` straight on the queue (a message that did not come through the
    /// topic's filter).
    pub async fn enqueue(&self, body: &str) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .send_message()
            .queue_url(&self.source.queue_url)
            .message_body(body)
            .send()
            .await
            .expect("enqueued");
    }

    /// One poll of the queue into the in-process function, as Lambda's event
    /// source mapping does; also returns what the function reported.
    pub async fn poll(&self) -> (Delivered, Option<alert_sms::BatchReport>) {
        let report = std::sync::Mutex::new(None);
        let delivered = self
            .source
            .poll_once(1, |event: Value| async {
                let batch: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
                let r = self.app.handle_batch(&batch, "test-request").await;
                let answer = serde_json::to_value(r.response()).map_err(|e| e.to_string());
                *report.lock().unwrap() = Some(r);
                answer
            })
            .await
            .expect("the queue is read");
        (delivered, report.into_inner().unwrap())
    }

    /// Polls until the queue gives nothing more; the reports of every batch.
    pub async fn drain(&self) -> Vec<alert_sms::BatchReport> {
        let mut reports = Vec::new();
        loop {
            let (delivered, report) = self.poll().await;
            if delivered.received == 0 {
                return reports;
            }
            reports.extend(report);
        }
    }

    /// The texts the emulator sent to `citizen`.
    pub async fn texts(&self, citizen: &Citizen) -> Vec<String> {
        self.stack.texts_to(&citizen.phone).await
    }

    /// Sets the phone number stored in `citizen`'s profile.
    pub async fn set_stored_phone(&self, citizen: &Citizen, phone: &str) {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .update_item()
            .table_name(self.stack.env("login").require("LOGIN_TABLE").unwrap())
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", citizen.user_id)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()),
            )
            .update_expression("SET phone = :p")
            .expression_attribute_values(
                ":p",
                aws_sdk_dynamodb::types::AttributeValue::S(phone.into()),
            )
            .send()
            .await
            .expect("profile updated");
    }

    /// Makes failed messages visible again after `secs` (the template's 60 s
    /// would make tests slow).
    pub async fn set_visibility_timeout(&self, secs: u32) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .set_queue_attributes()
            .queue_url(&self.source.queue_url)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                secs.to_string(),
            )
            .send()
            .await
            .expect("queue attributes set");
    }
}

/// `010-XXXX-XXXX` with random digits.
pub fn unique_phone() -> String {
    let digits: String = shared::random::bytes::<8>()
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("010-{}-{}", &digits[..4], &digits[4..])
}
