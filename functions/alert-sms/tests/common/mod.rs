//! Test harness: a fresh stack on the emulator, the alert-sms App in-process fed
//! from the stack's real queues (the events queue subscribed to the events
//! topic with the template's filter, and the delivery queue fed by the table's
//! outbox pipe), citizens and officials provisioned through the login App and
//! signed in through it (so tokens are the ones clients get), and the
//! emulator's SMS log read back.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsEvent;
use devstack::TestStack;
pub use devstack::reply::Reply;
use devstack::sqs_source::{Delivered, SqsSource};
use serde_json::Value;
use shared::events::{DomainEvent, Payload};
use shared::jwks::Authenticator;

pub struct Harness {
    pub stack: TestStack,
    pub app: alert_sms::App,
    pub login: login::App,
    /// The events queue (texts).
    pub source: SqsSource,
    /// The delivery queue (alerts).
    pub delivery: SqsSource,
    pub sdk: shared::aws::SdkConfig,
}

/// A citizen of the test: their user id, mobile number (E.164) and token.
pub struct Citizen {
    pub user_id: String,
    pub phone: String,
    pub token: String,
}

/// A signed-in official with every alert scope.
pub struct Official {
    pub user_id: String,
    pub token: String,
}

pub const PASSWORD: &str = "Alert-sms-test-pass-1";
pub const ALERT_SCOPES: [&str; 2] = ["alerts:issue", "alerts:approve"];

impl Harness {
    pub async fn new() -> Self {
        Self::build(None).await
    }

    /// The same, with alert-sms's AWS calls going through `faults` (login and
    /// the test's own reads do not).
    pub async fn with_faults(faults: &devstack::faults::Faults) -> Self {
        Self::build(Some(faults)).await
    }

    async fn build(faults: Option<&devstack::faults::Faults>) -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("alert-sms");
        let sdk = shared::aws::sdk_config(&env).await;
        let login_env = stack.env("login");
        let login = login::App::from_env(&login_env, &sdk)
            .await
            .expect("login starts on the test stack");
        let app_sdk = faults.map_or_else(|| sdk.clone(), |f| f.wrap(&sdk));
        let app = alert_sms::App::from_env(&env, &app_sdk)
            .expect("alert-sms starts on the test stack")
            .with_authenticator(Authenticator::Fixed(login.verifier().clone()));
        let sources = stack.sqs_sources("alert-sms");
        assert_eq!(sources.len(), 2, "alert-sms is fed by two queues");
        let pick = |event: &str| {
            sources
                .iter()
                .find(|s| s.event == event)
                .unwrap_or_else(|| panic!("the {event} source"))
                .clone()
        };
        let source = pick("DomainEvents");
        let delivery = pick("AlertDelivery");
        Self {
            stack,
            app,
            login,
            source,
            delivery,
            sdk,
        }
    }

    /// Signs `login_id` in; the access token.
    pub async fn sign_in(&self, login_id: &str) -> String {
        let req = devstack::reply::request(
            "POST",
            "/v1/auth/login",
            Some(&serde_json::json!({"loginId": login_id, "password": PASSWORD})),
            &[],
        );
        let r = Reply::from(self.login.handle(req).await);
        r.expect(200);
        r.str("accessToken")
    }

    /// An official with `scopes`, signed in.
    pub async fn official_with(&self, login_id: &str, scopes: &[&str]) -> Official {
        let user_id = login::accounts::provision(
            &self.login,
            login::accounts::Provision {
                login_id: login_id.to_owned(),
                password: PASSWORD.to_owned(),
                name: "공무원".to_owned(),
                phone: unique_phone(),
                role: login::accounts::Role::Official,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                agency: Some("11".to_owned()),
            },
        )
        .await
        .expect("provisioned");
        Official {
            user_id,
            token: self.sign_in(login_id).await,
        }
    }

    /// An official with both alert scopes, signed in.
    pub async fn official(&self, login_id: &str) -> Official {
        self.official_with(login_id, &ALERT_SCOPES).await
    }

    /// A request to alert-sms with `token` (if any) and extra headers.
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        Reply::from(self.raw(token, method, path, body, headers).await)
    }

    /// The same, as the raw response (CAP XML is not JSON).
    pub async fn raw(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> lambda_http::Response<lambda_http::Body> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("authorization", auth));
        }
        let req = devstack::reply::request(method, path, body.as_ref(), &all);
        self.app.handle_http(req).await
    }

    /// Writes an alert as `official` with a fresh Idempotency-Key.
    pub async fn create_alert(&self, official: &Official, body: Value) -> Reply {
        let key = shared::random::token::<12>();
        self.call(
            Some(&official.token),
            "POST",
            "/v1/alerts",
            Some(body),
            &[("idempotency-key", &key)],
        )
        .await
    }

    /// Approves `alert_id` at `version` as `official`.
    pub async fn approve(&self, official: &Official, alert_id: &str, version: u64) -> Reply {
        let etag = format!("\"{version}\"");
        self.call(
            Some(&official.token),
            "POST",
            &format!("/v1/alerts/{alert_id}/approval"),
            None,
            &[("if-match", &etag)],
        )
        .await
    }

    /// Writes and approves an alert (two officials); the issued alert.
    pub async fn issue(&self, writer: &Official, approver: &Official, body: Value) -> Value {
        let created = self.create_alert(writer, body).await;
        created.expect(201);
        let id = created.str("alertId");
        let r = self.approve(approver, &id, 1).await;
        r.expect(200);
        r.body
    }

    /// Subscribes `citizen`.
    pub async fn subscribe(&self, citizen: &Citizen, body: Value) -> Reply {
        self.call(
            Some(&citizen.token),
            "PUT",
            "/v1/alerts/subscription",
            Some(body),
            &[],
        )
        .await
    }

    /// The alert as the public sees it.
    pub async fn alert(&self, alert_id: &str) -> Value {
        let r = self
            .call(None, "GET", &format!("/v1/alerts/{alert_id}"), None, &[])
            .await;
        r.expect(200);
        r.body
    }

    /// Runs the delivery as the cloud would, until nothing is left: the
    /// outbox pipe carries events to the delivery queue, and the queue's
    /// batches go to the function. The reports of every batch.
    pub async fn deliver(&self) -> Vec<alert_sms::BatchReport> {
        let mut reports = Vec::new();
        loop {
            self.stack.carry_events().await;
            let (delivered, report) = self.poll_delivery().await;
            if delivered.received == 0 {
                self.stack.carry_events().await;
                let (again, report) = self.poll_delivery().await;
                if again.received == 0 {
                    return reports;
                }
                reports.extend(report);
                continue;
            }
            reports.extend(report);
        }
    }

    /// One poll of the delivery queue into the in-process function.
    pub async fn poll_delivery(&self) -> (Delivered, Option<alert_sms::BatchReport>) {
        Self::poll_source(&self.app, &self.delivery).await
    }

    /// A citizen with a mobile number no other test uses (tests share the
    /// emulator's SMS log).
    pub async fn citizen(&self, login_id: &str) -> Citizen {
        let phone = unique_phone();
        let user_id = login::accounts::provision(
            &self.login,
            login::accounts::Provision::citizen(login_id, PASSWORD, "홍길동", &phone),
        )
        .await
        .expect("provisioned");
        let phone = shared::phone::PhoneNumber::parse(&phone)
            .unwrap()
            .e164()
            .to_owned();
        Citizen {
            user_id,
            phone,
            token: self.sign_in(login_id).await,
        }
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
        Self::poll_source(&self.app, &self.source).await
    }

    /// One poll of `source` into `app`.
    pub async fn poll_source(
        app: &alert_sms::App,
        source: &SqsSource,
    ) -> (Delivered, Option<alert_sms::BatchReport>) {
        let report = std::sync::Mutex::new(None);
        let delivered = source
            .poll_once(1, |event: Value| async {
                let batch: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
                let r = app.handle_batch(&batch, "test-request").await;
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
        self.set_visibility_timeout_of(&self.source, secs).await;
    }

    /// The same for any of the function's queues.
    pub async fn set_visibility_timeout_of(&self, source: &SqsSource, secs: u32) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .set_queue_attributes()
            .queue_url(&source.queue_url)
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
    devstack::phone::unique().dashed
}

/// An SQS queue subscribed to the `alerts` topic with `filter` (message
/// attributes), raw delivery: what an outside subscriber receives.
pub struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Subscriber {
    pub async fn new(h: &Harness, filter: Value) -> Self {
        let sqs = aws_sdk_sqs::Client::new(&h.sdk);
        let name = format!("alerts-sub-{}", shared::random::token::<6>().to_lowercase());
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let topic = h
            .stack
            .env("alert-sms")
            .require("ALERTS_TOPIC_ARN")
            .unwrap();
        aws_sdk_sns::Client::new(&h.sdk)
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", "true")
            .attributes("FilterPolicy", filter.to_string())
            .send()
            .await
            .unwrap();
        Self { sqs, url }
    }

    /// Every message waiting, as JSON bodies.
    pub async fn received(&self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            for m in messages {
                all.push(serde_json::from_str(m.body.as_deref().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}
