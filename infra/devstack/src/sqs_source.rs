//! The local twin of Lambda's SQS event source mapping: the `Type: SQS` events of
//! a function in the template, fed to the function as Lambda feeds them.
//!
//! One poll receives up to `BatchSize` messages, makes them the event Lambda
//! builds (`{"Records": [...]}`), invokes the function with it and deletes what
//! the function handled: with `ReportBatchItemFailures`, every message its answer
//! does not list in `batchItemFailures`; without, all of them when it succeeds.
//! A failed invocation, or an answer that is not a valid batch response, deletes
//! nothing: the messages come back after the queue's visibility timeout, and the
//! emulator moves them to the dead-letter queue after the redrive policy's
//! `maxReceiveCount` receives, as SQS does.
//!
//! `cargo dev` invokes through `cargo lambda watch` ([`SqsSource::run`]); tests
//! pass their in-process handler to [`SqsSource::poll_once`].

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
};
use serde_json::{Map, Value, json};
use shared::aws::SdkConfig;

use crate::deploy::Stack;
use crate::error::{Error, Result};
use crate::template::{Kind, Resource, scalar_string};

/// How long `cargo dev` long-polls a queue.
const LONG_POLL_SECONDS: i32 = 20;
/// How long an invocation through `cargo lambda watch` may take: the first one
/// compiles the function.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The most messages one ReceiveMessage or DeleteMessageBatch takes.
const SQS_BATCH_LIMIT: usize = 10;

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages received (and passed to the function, if any).
    pub received: usize,
    /// Messages deleted: the function handled them.
    pub deleted: usize,
    /// Messages left in the queue, to be received again after the visibility
    /// timeout.
    pub left_for_retry: usize,
    /// Why the whole batch failed (the invocation's error, or an invalid batch
    /// response), if it did.
    pub failure: Option<String>,
}

/// One `Type: SQS` event of a function: a queue of the stack feeding it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqsSource {
    /// The function's logical id (`AlertSmsFunction`).
    pub function: String,
    /// The function's binary (`alert-sms`), its name for `cargo lambda watch`.
    pub binary: String,
    /// The event's name under `Events` (`DomainEvents`).
    pub event: String,
    /// The queue's logical id.
    pub queue: String,
    /// The queue's name.
    pub queue_name: String,
    /// The queue's URL.
    pub queue_url: String,
    /// The queue's ARN.
    pub queue_arn: String,
    /// `BatchSize` (default 10): the most messages per invocation.
    pub batch_size: usize,
    /// Whether `FunctionResponseTypes` has `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    sqs: aws_sdk_sqs::Client,
}

impl SqsSource {
    /// The SQS events of `function` (logical id or binary name), one source per
    /// event, ordered by event name. An event devstack cannot feed as Lambda
    /// would (a queue outside the stack, a filter) is an
    /// [`Error::CannotEmulate`] naming the function; disabled events are left out.
    pub fn for_function(stack: &Stack, sdk: &SdkConfig, function: &str) -> Result<Vec<SqsSource>> {
        let resource = stack.template().function(function)?;
        read_sources(stack, sdk, resource)
    }

    /// The SQS events of every function of the stack: every queue of every
    /// function, what `cargo dev` polls (one task per source).
    pub fn all(stack: &Stack, sdk: &SdkConfig) -> Result<Vec<SqsSource>> {
        let mut sources = Vec::new();
        for function in stack.template().of_kind(Kind::Function) {
            sources.extend(read_sources(stack, sdk, function)?);
        }
        Ok(sources)
    }

    /// Where `cargo lambda watch` at `api_base` (`http://127.0.0.1:9000`) takes
    /// invocations of this function.
    pub fn invocation_url(&self, api_base: &str) -> String {
        format!(
            "{}/2015-03-31/functions/{}/invocations",
            api_base.trim_end_matches('/'),
            self.binary
        )
    }

    /// One poll: receives up to `BatchSize` messages (waiting up to
    /// `wait_seconds` for the first), passes their event to `invoke`, and deletes
    /// what the function handled. `invoke` gets Lambda's SQS event and returns the
    /// function's answer, or an error when the invocation failed. Nothing
    /// received: `invoke` is not called.
    pub async fn poll_once<F, Fut>(&self, wait_seconds: i32, invoke: F) -> Result<Delivered>
    where
        F: FnOnce(Value) -> Fut,
        Fut: Future<Output = std::result::Result<Value, String>>,
    {
        let messages = self.receive(wait_seconds).await?;
        if messages.is_empty() {
            return Ok(Delivered::default());
        }
        let ids: Vec<&str> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default())
            .collect();
        let answer = invoke(sqs_event(&messages, &self.queue_arn)).await;
        let (handled, failure) = match settle(self.report_batch_item_failures, answer, &ids) {
            Ok(failed) => (
                messages
                    .iter()
                    .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
                    .collect(),
                None,
            ),
            Err(reason) => (Vec::new(), Some(reason)),
        };
        let deleted = self.delete(&handled).await?;
        Ok(Delivered {
            received: messages.len(),
            deleted,
            left_for_retry: messages.len() - deleted,
            failure,
        })
    }

    /// [`SqsSource::poll_once`] into the function behind a Lambda Invoke API
    /// URL (`LocalLambda::invoke_url`, or [`SqsSource::invocation_url`]).
    pub async fn poll_into(&self, wait_seconds: i32, invoke_url: &str) -> Result<Delivered> {
        self.poll_once(wait_seconds, |event| invoke_over_http(invoke_url, event))
            .await
    }

    /// Feeds the queue to the function served by `cargo lambda watch` at
    /// `api_base`, long-polling, until the task is dropped (`cargo dev`).
    /// Failures go to stderr with the queue and the function, and polling goes on.
    pub async fn run(self, api_base: String) {
        let url = self.invocation_url(&api_base);
        let route = format!("queue {} -> {}", self.queue_name, self.binary);
        // cargo lambda watch compiles a function at its first call: make that
        // call an empty batch now, so the first real message is not the one
        // that waits for the compiler (and outlives its visibility timeout).
        let started = std::time::Instant::now();
        match invoke_over_http(&url, json!({"Records": []})).await {
            Ok(_) => eprintln!(
                "devstack: {} is ready ({:.0} s)",
                self.binary,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => eprintln!("devstack: {route}: warming up failed: {e}"),
        }
        loop {
            let polled = self.poll_into(LONG_POLL_SECONDS, &url).await;
            match polled {
                Ok(delivered) if delivered.left_for_retry > 0 => {
                    let why = delivered
                        .failure
                        .map(|f| format!(": {f}"))
                        .unwrap_or_else(|| " (reported as failed by the function)".into());
                    eprintln!(
                        "devstack: {route}: {} of {} message(s) left for retry{why}",
                        delivered.left_for_retry, delivered.received
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("devstack: {route}: {e}");
                    // The emulator is down or refusing: do not spin.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    async fn receive(&self, wait_seconds: i32) -> Result<Vec<Message>> {
        let mut messages: Vec<Message> = Vec::new();
        let mut wait = wait_seconds;
        // Lambda fills a batch beyond one ReceiveMessage's ten; only the first
        // receive waits.
        while messages.len() < self.batch_size {
            let want = (self.batch_size - messages.len()).min(SQS_BATCH_LIMIT);
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(10))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| Error::aws("ReceiveMessage", &self.queue_name, e))?;
            if received.messages().is_empty() {
                break;
            }
            messages.extend(received.messages().iter().cloned());
            wait = 0;
        }
        Ok(messages)
    }

    async fn delete(&self, messages: &[&Message]) -> Result<usize> {
        let mut deleted = 0;
        for chunk in messages.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::aws("DeleteMessageBatch", &self.queue_name, e))?;
            let answer = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| Error::aws("DeleteMessageBatch", &self.queue_name, e))?;
            deleted += answer.successful().len();
            if let Some(failed) = answer.failed().first() {
                return Err(Error::Aws {
                    operation: "DeleteMessageBatch",
                    resource: self.queue_name.clone(),
                    message: format!(
                        "{}: {}",
                        failed.code(),
                        failed.message().unwrap_or_default()
                    ),
                });
            }
        }
        Ok(deleted)
    }
}

/// The event Lambda passes for `messages` received from the queue `queue_arn`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let region = queue_arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or(crate::REGION);
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: Map<String, Value> = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
                .collect();
            let message_attributes: Map<String, Value> = message
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.clone(), message_attribute(value)))
                .collect();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// A message attribute as Lambda shows it.
fn message_attribute(value: &MessageAttributeValue) -> Value {
    let base64 = |blob: &aws_sdk_sqs::primitives::Blob| data_encoding::BASE64.encode(blob.as_ref());
    let mut out = Map::new();
    if let Some(text) = value.string_value() {
        out.insert("stringValue".into(), text.into());
    }
    if let Some(blob) = value.binary_value() {
        out.insert("binaryValue".into(), base64(blob).into());
    }
    out.insert("stringListValues".into(), value.string_list_values().into());
    out.insert(
        "binaryListValues".into(),
        value
            .binary_list_values()
            .iter()
            .map(base64)
            .collect::<Vec<_>>()
            .into(),
    );
    out.insert("dataType".into(), value.data_type().into());
    Value::Object(out)
}

/// Which messages of the batch (`ids`) the function did not handle, or why the
/// whole batch failed, from its `answer`.
///
/// With `ReportBatchItemFailures`, as Lambda reads a batch response: `null`, an
/// object without `batchItemFailures` (or with `null` or `[]` there) means all
/// succeeded; each `{"itemIdentifier": "<messageId>"}` names a failed message; an
/// answer of any other shape, or an identifier that is empty or not in the batch,
/// fails the whole batch.
fn settle(
    report_batch_item_failures: bool,
    answer: std::result::Result<Value, String>,
    ids: &[&str],
) -> std::result::Result<BTreeSet<String>, String> {
    let answer = answer.map_err(|e| format!("the invocation failed: {e}"))?;
    if !report_batch_item_failures {
        return Ok(BTreeSet::new());
    }
    let invalid =
        |why: String| format!("the answer is not a valid batch response ({why}): {answer}");
    let failures = match &answer {
        Value::Null => return Ok(BTreeSet::new()),
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(BTreeSet::new()),
            Some(Value::Array(failures)) => failures,
            Some(_) => return Err(invalid("`batchItemFailures` is not a list".into())),
        },
        _ => return Err(invalid("not a JSON object".into())),
    };
    let mut failed = BTreeSet::new();
    for failure in failures {
        match failure.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if ids.contains(&id) => {
                failed.insert(id.to_owned());
            }
            Some(id) => return Err(invalid(format!("`{id}` is no message of the batch"))),
            None => return Err(invalid(format!("{failure} has no itemIdentifier string"))),
        }
    }
    Ok(failed)
}

/// Invokes a function through `cargo lambda watch`'s Invoke API: its answer on
/// HTTP 200, else the error it reported.
async fn invoke_over_http(url: &str, event: Value) -> std::result::Result<Value, String> {
    let response =
        crate::http_client::post_json(url, event.to_string().into_bytes(), INVOKE_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!("HTTP {}: {}", response.status, response.text()));
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        format!(
            "the function's answer is not JSON ({e}): {}",
            response.text()
        )
    })
}

/// The SQS events of one function.
fn read_sources(stack: &Stack, sdk: &SdkConfig, function: &Resource) -> Result<Vec<SqsSource>> {
    let Some(Value::Object(events)) = function.property("Events") else {
        return Ok(Vec::new());
    };
    let context = stack.context();
    let mut sources = Vec::new();
    for (name, event) in events {
        if event.get("Type").and_then(Value::as_str) != Some("SQS") {
            continue;
        }
        let refuse = |problem: String| {
            Error::cannot_emulate(&function.logical_id, format!("Events.{name}: {problem}"))
        };
        // Only this event's properties are resolved: the others name resources
        // that are not created locally (the HTTP API).
        let property = |key: &str| -> Result<Option<Value>> {
            event
                .get("Properties")
                .and_then(|p| p.get(key))
                .map(|v| context.resolve(v))
                .transpose()
        };
        let text = |key: &str| -> Result<Option<String>> {
            property(key)?
                .map(|v| scalar_string(&v).map_err(|p| refuse(format!("{key} {p}"))))
                .transpose()
        };

        if text("Enabled")?.is_some_and(|e| e.eq_ignore_ascii_case("false")) {
            continue;
        }
        if property("FilterCriteria")?.is_some() {
            return Err(refuse(
                "FilterCriteria: devstack feeds every message to the function".into(),
            ));
        }
        let queue_arn = text("Queue")?.ok_or_else(|| refuse("it has no Queue".into()))?;
        let (queue, physical) = stack.find(Kind::Queue, "Arn", &queue_arn).ok_or_else(|| {
            refuse(format!(
                "its Queue `{queue_arn}` is not a queue of this stack"
            ))
        })?;
        let batch_size = match text("BatchSize")? {
            None => 10,
            Some(size) => size
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    refuse(format!("BatchSize `{size}` is not a positive whole number"))
                })?,
        };
        let report_batch_item_failures = match property("FunctionResponseTypes")? {
            Some(Value::Array(types)) => types.iter().any(|t| t == "ReportBatchItemFailures"),
            _ => false,
        };
        sources.push(SqsSource {
            function: function.logical_id.clone(),
            binary: function.binary().unwrap_or(&function.logical_id).to_owned(),
            event: name.clone(),
            queue: queue.logical_id.clone(),
            queue_name: physical
                .attributes
                .get("QueueName")
                .cloned()
                .unwrap_or_else(|| queue_arn.rsplit(':').next().unwrap_or_default().to_owned()),
            queue_url: physical.reference.clone(),
            queue_arn,
            batch_size,
            report_batch_item_failures,
            sqs: aws_sdk_sqs::Client::new(sdk),
        });
    }
    // By event name whatever order the template's map keeps, so callers can
    // rely on it.
    sources.sort_by(|a, b| a.event.cmp(&b.event));
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const QUEUE_ARN: &str = "arn:aws:sqs:ap-northeast-2:123456789012:s-alert-sms-events";
    const IDS: [&str; 3] = ["m1", "m2", "m3"];

    fn failed(ids: &[&str]) -> std::result::Result<BTreeSet<String>, String> {
        Ok(ids.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn reported_failures_are_the_messages_kept() {
        // GIVEN a function that reports one message of three as failed
        let answer = json!({"batchItemFailures": [{"itemIdentifier": "m2"}]});

        // WHEN its answer is settled, THEN only that one stays in the queue
        assert_eq!(settle(true, Ok(answer), &IDS), failed(&["m2"]));
    }

    #[test]
    fn empty_or_absent_batch_responses_mean_all_succeeded() {
        for answer in [
            Value::Null,
            json!({}),
            json!({"batchItemFailures": []}),
            json!({"batchItemFailures": null}),
        ] {
            assert_eq!(
                settle(true, Ok(answer.clone()), &IDS),
                failed(&[]),
                "{answer}"
            );
        }
    }

    #[test]
    fn a_malformed_batch_response_fails_the_whole_batch() {
        // GIVEN answers Lambda does not accept as batch responses
        for answer in [
            json!("ok"),
            json!([]),
            json!({"batchItemFailures": "m1"}),
            json!({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"id": "m1"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
        ] {
            // WHEN settled, THEN nothing is deleted, and the reason says why
            let reason = settle(true, Ok(answer.clone()), &IDS).expect_err(&answer.to_string());
            assert!(reason.contains("not a valid batch response"), "{reason}");
        }
    }

    #[test]
    fn a_failed_invocation_keeps_every_message_either_way() {
        for report in [true, false] {
            let reason = settle(report, Err("boom".into()), &IDS).expect_err("failed");
            assert!(reason.contains("boom"), "{reason}");
        }
    }

    #[test]
    fn without_reported_failures_any_answer_deletes_all() {
        let answer = json!({"batchItemFailures": [{"itemIdentifier": "m2"}]});
        assert_eq!(settle(false, Ok(answer), &IDS), failed(&[]));
        assert_eq!(settle(false, Ok(json!("whatever")), &IDS), failed(&[]));
    }

    #[test]
    fn the_event_is_what_lambda_builds_from_received_messages() {
        // GIVEN a message as ReceiveMessage returns it, with system and message
        // attributes
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("rh1")
            .body(r#"{"type":"auth.locked"}"#)
            .md5_of_body("abc")
            .set_attributes(Some(HashMap::from([
                (
                    MessageSystemAttributeName::ApproximateReceiveCount,
                    "1".to_owned(),
                ),
                (
                    MessageSystemAttributeName::SentTimestamp,
                    "1700000000000".to_owned(),
                ),
                (MessageSystemAttributeName::SenderId, "AIDA".to_owned()),
                (
                    MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                    "1700000000001".to_owned(),
                ),
            ])))
            .message_attributes(
                "type",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("auth.locked")
                    .build()
                    .expect("attribute"),
            )
            .build();

        // WHEN the event is built
        let event = sqs_event(&[message], QUEUE_ARN);

        // THEN it has Lambda's shape
        assert_eq!(
            event,
            json!({"Records": [{
                "messageId": "m1",
                "receiptHandle": "rh1",
                "body": "{\"type\":\"auth.locked\"}",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": "1700000000001"
                },
                "messageAttributes": {"type": {
                    "stringValue": "auth.locked",
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String"
                }},
                "md5OfBody": "abc",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "ap-northeast-2"
            }]})
        );
    }
}
