//! [`TestStack`]: a fresh copy of the template's resources for one test.
//!
//! All stacks of a test process share one emulator; each stack has its own
//! names (`t<n>x<random>-login`, ...), so tests run in parallel without seeing
//! each other's data.
//!
//! Events reach the events topic as in the cloud: through the outbox. Functions
//! write them as items of their tables, and the stack's pipes ([`Pipes`]) carry
//! them from the tables' streams to the pipes' targets (the events topic, and
//! queues such as alert-sms's delivery queue) whenever a test reads the events
//! ([`TestStack::events`]) or asks for it ([`TestStack::carry_events`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use serde_json::Value;
use shared::aws::SdkConfig;

use crate::deploy::{self, Stack};
use crate::emulator;
use crate::error::{Error, Result};
use crate::pipes::Pipes;
use crate::resolve::Physical;
use crate::sqs_source::SqsSource;
use crate::template::Template;

/// Logical id of the topic whose messages [`TestStack::events`] returns.
pub const EVENTS_TOPIC: &str = "EventsTopic";
/// Logical id of the secret that holds the token signing keys.
pub const SIGNING_KEYS_SECRET: &str = "SigningKeysSecret";
/// Logical id of the secret that holds the certificate QR signing keys.
pub const CERTIFICATE_KEYS_SECRET: &str = "CertificateKeysSecret";
/// Logical id of the secret holding consent's receipt keys.
pub const CONSENT_KEYS_SECRET: &str = "ConsentKeysSecret";

/// A message received from the events topic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PublishedEvent {
    /// The message body, parsed as JSON (a JSON string if it is not JSON).
    pub message: Value,
    /// The message attributes (`type`, ...), by name.
    pub attributes: BTreeMap<String, String>,
}

/// The template's resources, freshly created in the test process's emulator.
#[derive(Debug)]
pub struct TestStack {
    stack: Stack,
    sdk: SdkConfig,
    signing_keys: String,
    certificate_keys: String,
    consent_keys: String,
    tap: Option<String>,
    seen: tokio::sync::Mutex<Vec<PublishedEvent>>,
    pipes: Pipes,
}

impl TestStack {
    /// Creates a stack with fresh names, fresh signing keys, its pipes, and a
    /// queue that records what is published to the events topic.
    ///
    /// # Panics
    ///
    /// When the stack cannot come up (no Python 3, emulator failure, a template
    /// devstack cannot read), with a message that says why.
    pub async fn new() -> TestStack {
        match TestStack::try_new().await {
            Ok(stack) => stack,
            Err(e) => panic!("devstack: the test stack did not come up: {e}"),
        }
    }

    /// Like [`TestStack::new`], returning the error instead of panicking.
    pub async fn try_new() -> Result<TestStack> {
        let emulator = tokio::task::spawn_blocking(emulator::shared)
            .await
            .map_err(|e| Error::Emulator(e.to_string()))?
            .map_err(|e| Error::Emulator(e.to_string()))?;
        let template = workspace_template()?.clone();
        let endpoint = emulator.endpoint().to_owned();
        let sdk = deploy::sdk_config(&endpoint).await;
        let stack = deploy::deploy(
            &sdk,
            template,
            &unique_stack_name(),
            &endpoint,
            &deploy::local_parameters(),
        )
        .await?;

        let signing_keys = login::signing::generate_key_set_json(None);
        if stack.physical(SIGNING_KEYS_SECRET).is_some() {
            stack
                .put_secret(&sdk, SIGNING_KEYS_SECRET, &signing_keys)
                .await?;
        }
        let certificate_keys = shared::eddsa::KeySet::generate_json("test-certificate", None);
        if stack.physical(CERTIFICATE_KEYS_SECRET).is_some() {
            stack
                .put_secret(&sdk, CERTIFICATE_KEYS_SECRET, &certificate_keys)
                .await?;
        }
        let consent_keys = shared::eddsa::KeySet::generate_json("test-consent", None);
        if stack.physical(CONSENT_KEYS_SECRET).is_some() {
            stack
                .put_secret(&sdk, CONSENT_KEYS_SECRET, &consent_keys)
                .await?;
        }
        let pipes = Pipes::from_stack(&stack, &sdk)?;
        let tap = match stack.physical(EVENTS_TOPIC) {
            Some(topic) => Some(subscribe_tap(&sdk, stack.name(), &topic.reference).await?),
            None => None,
        };
        Ok(TestStack {
            stack,
            sdk,
            signing_keys,
            certificate_keys,
            consent_keys,
            tap,
            seen: tokio::sync::Mutex::new(Vec::new()),
            pipes,
        })
    }

    /// The stack name, the prefix of every resource name.
    pub fn name(&self) -> &str {
        self.stack.name()
    }

    /// The emulator's endpoint URL.
    pub fn endpoint(&self) -> &str {
        self.stack.endpoint()
    }

    /// The underlying stack.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The created resource `logical_id` (`!Ref` value and attributes).
    pub fn physical(&self, logical_id: &str) -> Option<&Physical> {
        self.stack.physical(logical_id)
    }

    /// The signing key set put into the signing keys secret.
    pub fn signing_keys(&self) -> &str {
        &self.signing_keys
    }

    /// The certificate key set put into the certificate keys secret.
    pub fn certificate_keys(&self) -> &str {
        &self.certificate_keys
    }

    /// The consent receipt keys put in the stack's secret (JSON).
    pub fn consent_keys(&self) -> &str {
        &self.consent_keys
    }

    /// Loads the demo registers (`infra/devstack/data/registers.json`) into the
    /// certificate table.
    pub async fn seed_registers(&self) {
        if let Err(e) = crate::seed::registers(&self.stack, &self.sdk).await {
            panic!("devstack: seeding the registers failed: {e}");
        }
    }

    /// Loads the demo tax ledger of `login_id` (`infra/devstack/data/tax-ledger.json`)
    /// for the account `user_id`.
    pub async fn seed_tax_ledger(&self, login_id: &str, user_id: &str) {
        if let Err(e) = crate::seed::tax_ledger(&self.stack, &self.sdk, login_id, user_id).await {
            panic!("devstack: seeding the tax ledger failed: {e}");
        }
    }

    /// The environment of `function` (binary name or logical id) as Lambda would
    /// see it here: its template variables resolved for this stack, plus
    /// `AWS_ENDPOINT_URL`, `AWS_REGION` and test credentials.
    ///
    /// # Panics
    ///
    /// When the template has no such function or a variable cannot be resolved.
    pub fn env(&self, function: &str) -> shared::config::Env {
        match self.stack.function_env(function) {
            Ok(env) => shared::config::Env::from_map(env),
            Err(e) => panic!("devstack: no environment for `{function}`: {e}"),
        }
    }

    /// An SDK configuration pointing at the emulator.
    pub async fn sdk_config(&self) -> SdkConfig {
        deploy::sdk_config(self.endpoint()).await
    }

    /// The stack's pipes (outbox carriers).
    pub fn pipes(&self) -> &Pipes {
        &self.pipes
    }

    /// Carries the outbox items written so far to the pipes' targets (topics
    /// and queues), as the cloud's pipes do: one [`Pipes::pump`]. Returns how
    /// many messages were sent. [`TestStack::events`] does this itself; this is
    /// for tests that want to control when carrying happens (a queue target's
    /// messages are then read by the queue's [`SqsSource`]).
    ///
    /// # Panics
    ///
    /// When a pipe fails (the error names it).
    pub async fn carry_events(&self) -> usize {
        match self.pipes.pump().await {
            Ok(published) => published,
            Err(e) => panic!("devstack: carrying the outbox failed: {e}"),
        }
    }

    /// The events written in the outbox of table `table` (logical id,
    /// `LoginTable`), bodies parsed, whether or not they were carried yet.
    ///
    /// # Panics
    ///
    /// When the stack has no such table or it cannot be read.
    pub async fn outbox(&self, table: &str) -> Vec<Value> {
        let name = &self
            .physical(table)
            .unwrap_or_else(|| panic!("devstack: no table `{table}` in the stack"))
            .reference;
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let page = aws_sdk_dynamodb::Client::new(&self.sdk)
                .scan()
                .table_name(name)
                .filter_expression("sk = :outbox")
                .expression_attribute_values(
                    ":outbox",
                    aws_sdk_dynamodb::types::AttributeValue::S(
                        shared::events::OUTBOX_SK.to_owned(),
                    ),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "devstack: reading the outbox of `{table}` failed: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    )
                });
            for item in page.items() {
                if let Some(body) = item.get("event").and_then(|v| v.as_s().ok()) {
                    events.push(serde_json::from_str(body).unwrap_or(Value::Null));
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return events;
            }
        }
    }

    /// Deletes every item of table `table` (logical id, `TaxRefundTable`;
    /// keys `pk`/`sk` as every table of the template): benchmarks empty their
    /// tables between rounds, since the emulator copies every table in each
    /// transaction and slows down as they grow.
    ///
    /// # Panics
    ///
    /// When the stack has no such table or it cannot be read or written.
    pub async fn empty(&self, table: &str) {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let name = &self
            .physical(table)
            .unwrap_or_else(|| panic!("devstack: no table `{table}` in the stack"))
            .reference;
        let db = aws_sdk_dynamodb::Client::new(&self.sdk);
        let fail =
            |e: &dyn std::fmt::Display| -> ! { panic!("devstack: emptying `{table}` failed: {e}") };
        loop {
            let page = db
                .scan()
                .table_name(name)
                .projection_expression("pk, sk")
                .limit(25)
                .send()
                .await
                .unwrap_or_else(|e| fail(&aws_sdk_dynamodb::error::DisplayErrorContext(e)));
            let keys = page.items.unwrap_or_default();
            if keys.is_empty() {
                return;
            }
            let mut requests = Vec::with_capacity(keys.len());
            for key in keys {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .unwrap_or_else(|e| fail(&e));
                requests.push(WriteRequest::builder().delete_request(delete).build());
            }
            db.batch_write_item()
                .request_items(name, requests)
                .send()
                .await
                .unwrap_or_else(|e| fail(&aws_sdk_dynamodb::error::DisplayErrorContext(e)));
        }
    }

    /// The text messages the emulator's SNS was asked to send to `phone_e164`
    /// (`+821012345678`), in order. Stacks share the emulator, so tests should
    /// use numbers of their own.
    ///
    /// # Panics
    ///
    /// When the emulator's SMS log cannot be read.
    pub async fn texts_to(&self, phone_e164: &str) -> Vec<String> {
        match emulator::sent_texts(self.endpoint()).await {
            Ok(texts) => texts
                .into_iter()
                .filter(|t| t.phone_number == phone_e164)
                .map(|t| t.message)
                .collect(),
            Err(e) => panic!("devstack: reading the texts sent failed: {e}"),
        }
    }

    /// The SQS event sources of `function` (binary name or logical id): its
    /// queues of this stack, one per `Type: SQS` event, ordered by event name,
    /// to feed to an in-process handler with [`SqsSource::poll_once`].
    ///
    /// # Panics
    ///
    /// When the template has no such function or devstack cannot feed its events.
    pub fn sqs_sources(&self, function: &str) -> Vec<SqsSource> {
        match SqsSource::for_function(&self.stack, &self.sdk, function) {
            Ok(sources) => sources,
            Err(e) => panic!("devstack: no SQS sources for `{function}`: {e}"),
        }
    }

    /// The SQS event `event` (its name under `Events`: `DomainEvents`) of
    /// `function`: one of [`TestStack::sqs_sources`], picked by name, for a
    /// function fed by more than one queue.
    ///
    /// # Panics
    ///
    /// When the function has no such SQS event (the message lists those it has).
    pub fn sqs_source(&self, function: &str, event: &str) -> SqsSource {
        let sources = self.sqs_sources(function);
        let names: Vec<String> = sources.iter().map(|s| s.event.clone()).collect();
        sources
            .into_iter()
            .find(|s| s.event == event)
            .unwrap_or_else(|| {
                panic!("devstack: `{function}` has no SQS event `{event}` (it has {names:?})")
            })
    }

    /// Every message published to the events topic so far, bodies parsed as JSON:
    /// outbox items are carried first ([`TestStack::carry_events`]). Waits up to
    /// about 2 s when nothing new has arrived.
    pub async fn events(&self) -> Vec<Value> {
        self.published()
            .await
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    /// Like [`TestStack::events`], with the message attributes.
    ///
    /// # Panics
    ///
    /// When the emulator cannot be read or a pipe fails.
    pub async fn published(&self) -> Vec<PublishedEvent> {
        let Some(queue_url) = &self.tap else {
            return Vec::new();
        };
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut seen = self.seen.lock().await;
        let before = seen.len();
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            self.carry_events().await;
            let received = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "devstack: reading the events queue failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(e)
                    )
                });
            let messages = received.messages();
            if !messages.is_empty() {
                for message in messages {
                    seen.push(parse_envelope(message.body().unwrap_or_default()));
                    if let Some(handle) = message.receipt_handle() {
                        sqs.delete_message()
                            .queue_url(queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await
                            .unwrap_or_else(|e| {
                                panic!(
                                    "devstack: deleting from the events queue failed: {}",
                                    aws_sdk_sqs::error::DisplayErrorContext(e)
                                )
                            });
                    }
                }
                continue;
            }
            if seen.len() > before || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen.clone()
    }
}

/// The workspace template, parsed once per process.
fn workspace_template() -> Result<&'static Template> {
    static TEMPLATE: OnceLock<Result<Template>> = OnceLock::new();
    TEMPLATE
        .get_or_init(Template::workspace)
        .as_ref()
        .map_err(|e| Error::template("infra/template.yaml", e.to_string()))
}

/// `t<n>x<random>`: unique in this process by `n`, across processes by the random
/// part (processes may share an emulator through `DEVSTACK_ENDPOINT`).
fn unique_stack_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    let mut random = [0u8; 3];
    OsRng.fill_bytes(&mut random);
    format!("t{n}x{}", data_encoding::HEXLOWER.encode(&random))
}

/// A queue subscribed to `topic_arn` (raw delivery off, so the SNS envelope keeps
/// the message attributes); returns its URL.
async fn subscribe_tap(sdk: &SdkConfig, stack_name: &str, topic_arn: &str) -> Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let name = format!("{stack_name}-devstack-events-tap");
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .map_err(|e| Error::aws("CreateQueue", &name, e))?
        .queue_url()
        .ok_or_else(|| Error::aws_missing("CreateQueue", &name, "QueueUrl"))?
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| Error::aws("GetQueueAttributes", &name, e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| Error::aws_missing("GetQueueAttributes", &name, "QueueArn"))?;
    aws_sdk_sns::Client::new(sdk)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "false")
        .send()
        .await
        .map_err(|e| Error::aws("Subscribe", topic_arn, e))?;
    Ok(url)
}

/// Reads an SNS envelope (`{"Type":"Notification","Message":...,"MessageAttributes":...}`).
fn parse_envelope(body: &str) -> PublishedEvent {
    let envelope: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let text = envelope
        .get("Message")
        .and_then(Value::as_str)
        .unwrap_or(body);
    let message = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    let attributes = envelope
        .get("MessageAttributes")
        .and_then(Value::as_object)
        .map(|attributes| {
            attributes
                .iter()
                .filter_map(|(name, a)| Some((name.clone(), a.get("Value")?.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    PublishedEvent {
        message,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_yields_body_and_attributes() {
        let body = r#"{"Type":"Notification","Message":"{\"type\":\"auth.locked\"}","MessageAttributes":{"type":{"Type":"String","Value":"auth.locked"}}}"#;
        let event = parse_envelope(body);
        assert_eq!(event.message, serde_json::json!({"type": "auth.locked"}));
        assert_eq!(event.attributes["type"], "auth.locked");
    }

    #[test]
    fn stack_names_are_distinct_and_short() {
        let (a, b) = (unique_stack_name(), unique_stack_name());
        assert_ne!(a, b);
        assert!(a.starts_with('t') && a.len() <= 16, "{a}");
    }
}
