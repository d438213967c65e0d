//! The local twin of EventBridge Pipes: each `AWS::Pipes::Pipe` of the template
//! whose source is the stream of one of the stack's tables and whose target is
//! one of its topics, run by devstack over the emulator's DynamoDB Streams API
//! (moto has no Pipes).
//!
//! This is how outbox items travel locally as they do in the cloud: a function
//! writes an event as an item in its own table, in the same transaction as the
//! change; the pipe reads the table's stream, keeps the records its filters pass
//! ([`EventPattern`]), makes each one a message with its input template
//! ([`InputTemplate`]) and publishes the messages to the topic in batches.
//!
//! Delivery is at least once, as in the cloud: a shard's position moves past a
//! record only once its message was published (or the filters dropped it), so a
//! failed publish is retried from that record at the next [`Pipes::pump`], and a
//! message may be published twice, never skipped. A record the template cannot
//! render is logged and passed over, where Pipes would send it to the pipe's
//! dead-letter queue.

mod input;
mod pattern;
mod record;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::Value;
use tokio::sync::Mutex;

pub use input::{InputTemplate, InvalidTemplate, MissingValue, render};
pub use pattern::{EventPattern, InvalidPattern, passes};
pub use record::{UnknownAttributeType, attribute_json, attributes_json, record_json};

use crate::deploy::{Stack, resource_name};
use crate::error::{Error, Result};
use crate::template::{Kind, Resource, scalar_string};

/// The most messages one SNS `PublishBatch` takes.
const SNS_BATCH_LIMIT: usize = 10;
/// Records asked for per `GetRecords` (DynamoDB's maximum).
const RECORDS_PER_PAGE: i32 = 1000;

/// Where a pipe starts reading a shard it has not read before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record the stream still holds.
    TrimHorizon,
    /// Only records written after the pipe first looks at the shard.
    Latest,
}

/// One pipe of the stack: a table's stream carried to a topic.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Pipe {
    /// The logical id (`LoginOutboxPipe`).
    pub logical_id: String,
    /// The pipe's name (`pocketgov-login-outbox`).
    pub name: String,
    /// The logical id of the source table.
    pub table: String,
    /// The source table's name.
    pub table_name: String,
    /// The source stream's ARN.
    pub stream_arn: String,
    /// The logical id of the target topic.
    pub topic: String,
    /// The target topic's name.
    pub topic_name: String,
    /// The target topic's ARN.
    pub topic_arn: String,
    /// `SourceParameters.DynamoDBStreamParameters.StartingPosition`.
    pub starting_position: StartingPosition,
    /// `SourceParameters.DynamoDBStreamParameters.BatchSize` (default 10).
    pub batch_size: usize,
    /// `SourceParameters.FilterCriteria.Filters[].Pattern`; none passes every record.
    pub filters: Vec<EventPattern>,
    /// `TargetParameters.InputTemplate`; none sends each record as JSON.
    pub input_template: Option<InputTemplate>,
}

/// How far a pipe has read one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    /// Nothing handled yet: read from the oldest record.
    Start,
    /// Every record up to this sequence number is handled.
    After(String),
    /// `LATEST` before the first look: what the shard holds now is passed over.
    SkipExisting,
}

/// `(pipe logical id, shard id)` -> how far it was read.
type Positions = BTreeMap<(String, String), Position>;

/// A batch that was not wholly published.
struct PublishFailure {
    /// Index (in the page's entries) of the first record whose message was not
    /// published.
    first_unpublished: usize,
    error: Error,
}

/// The pipes of a stack, with how far each has read its stream.
#[derive(Debug)]
pub struct Pipes {
    pipes: Vec<Pipe>,
    streams: aws_sdk_dynamodbstreams::Client,
    sns: aws_sdk_sns::Client,
    /// Held for a whole pump, so concurrent pumps never publish a record twice.
    positions: Mutex<Positions>,
}

impl Pipes {
    /// The pipes of `stack`. A pipe devstack cannot run as the cloud would (a
    /// source other than a stack table's stream, a target other than a stack
    /// topic, an enrichment, a filter operator it does not know, ...) is an
    /// [`Error::CannotEmulate`] naming it. Pipes whose `DesiredState` is
    /// `STOPPED` are left out.
    pub fn from_stack(stack: &Stack, sdk: &SdkConfig) -> Result<Pipes> {
        let mut pipes = Vec::new();
        for resource in stack.template().of_kind(Kind::Pipe) {
            if let Some(pipe) = read_pipe(stack, resource)? {
                pipes.push(pipe);
            }
        }
        Ok(Pipes {
            pipes,
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            positions: Mutex::new(BTreeMap::new()),
        })
    }

    /// The pipes, by logical id.
    pub fn pipes(&self) -> &[Pipe] {
        &self.pipes
    }

    /// Carries what the streams hold beyond each pipe's position: reads every
    /// shard of every pipe to its end, publishes what passes, and returns how
    /// many messages were published. Every pipe is pumped even if one fails; the
    /// first failure is returned (naming its pipe) instead of the count, and the
    /// failed pipe resumes from its first unpublished record next time.
    pub async fn pump(&self) -> Result<usize> {
        total(self.pump_each().await.into_iter().map(|(_, result)| result))
    }

    /// Pumps every `every` until the task is dropped (`cargo dev`). Errors go to
    /// stderr with the pipe's logical id, once until they change, and the pipe
    /// is retried at the next round.
    pub async fn run(self: Arc<Self>, every: Duration) {
        let mut failing: BTreeMap<String, String> = BTreeMap::new();
        loop {
            for (pipe, result) in self.pump_each().await {
                match result {
                    Ok(_) => {
                        if failing.remove(&pipe).is_some() {
                            eprintln!("devstack: pipe {pipe}: carrying again");
                        }
                    }
                    Err(e) => {
                        let text = e.to_string();
                        if failing.get(&pipe) != Some(&text) {
                            eprintln!("devstack: pipe {pipe}: {text} (retrying)");
                            failing.insert(pipe, text);
                        }
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// One pump of every pipe: `(logical id, messages published or the error)`.
    async fn pump_each(&self) -> Vec<(String, Result<usize>)> {
        let mut positions = self.positions.lock().await;
        let mut results = Vec::with_capacity(self.pipes.len());
        for pipe in &self.pipes {
            let result = self.pump_pipe(pipe, &mut positions).await;
            results.push((pipe.logical_id.clone(), result));
        }
        results
    }

    async fn pump_pipe(&self, pipe: &Pipe, positions: &mut Positions) -> Result<usize> {
        let mut results = Vec::new();
        for shard in self.shards(pipe).await? {
            // A shard that fails stops there; the others go on.
            results.push(self.pump_shard(pipe, &shard, positions).await);
        }
        total(results)
    }

    async fn shards(&self, pipe: &Pipe) -> Result<Vec<String>> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let described = self
                .streams
                .describe_stream()
                .stream_arn(&pipe.stream_arn)
                .set_exclusive_start_shard_id(after.take())
                .send()
                .await
                .map_err(|e| Error::aws("DescribeStream", &pipe.logical_id, e))?;
            let Some(description) = described.stream_description() else {
                break;
            };
            shards.extend(
                description
                    .shards()
                    .iter()
                    .filter_map(|s| s.shard_id())
                    .map(str::to_owned),
            );
            match description.last_evaluated_shard_id() {
                Some(last) => after = Some(last.to_owned()),
                None => break,
            }
        }
        Ok(shards)
    }

    async fn pump_shard(
        &self,
        pipe: &Pipe,
        shard: &str,
        positions: &mut Positions,
    ) -> Result<usize> {
        let key = (pipe.logical_id.clone(), shard.to_owned());
        let position = positions
            .get(&key)
            .cloned()
            .unwrap_or(match pipe.starting_position {
                StartingPosition::TrimHorizon => Position::Start,
                StartingPosition::Latest => Position::SkipExisting,
            });
        let skip = position == Position::SkipExisting;

        // A fresh iterator every pump, from the last sequence number handled, and
        // never one kept from an earlier pump: moto copies a table (deepcopy)
        // before every TransactWriteItems and puts the copy back when the
        // transaction is cancelled, stream shard included. An iterator obtained
        // before that reads the shard the table no longer has: it misses every
        // later record and may hold the records of the transaction that was rolled
        // back. The restored shard holds the records of before the transaction,
        // so the stored sequence number still points at the right place; the
        // rolled-back record's number goes to the next write, which is therefore
        // read as new (no pump ever saw the rolled-back record: the launcher runs
        // DynamoDB requests one at a time, so none runs inside a transaction).
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&pipe.stream_arn)
            .shard_id(shard);
        let request = match &position {
            Position::Start | Position::SkipExisting => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            Position::After(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
        };
        let mut iterator = request
            .send()
            .await
            .map_err(|e| Error::aws("GetShardIterator", &pipe.logical_id, e))?
            .shard_iterator()
            .map(str::to_owned);

        let mut published = 0;
        while let Some(current) = iterator.take() {
            let page = self
                .streams
                .get_records()
                .shard_iterator(current)
                .limit(RECORDS_PER_PAGE)
                .send()
                .await
                .map_err(|e| Error::aws("GetRecords", &pipe.logical_id, e))?;
            if page.records().is_empty() {
                break;
            }
            let mut entries = Vec::with_capacity(page.records().len());
            for record in page.records() {
                let sequence = record
                    .dynamodb()
                    .and_then(|d| d.sequence_number())
                    .ok_or_else(|| {
                        Error::aws_missing("GetRecords", &pipe.logical_id, "SequenceNumber")
                    })?
                    .to_owned();
                let message = if skip {
                    None
                } else {
                    carry(pipe, &sequence, record)
                };
                entries.push((sequence, message));
            }
            published += self.deliver(pipe, &key, &entries, positions).await?;
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
        if skip && !positions.contains_key(&key) {
            // LATEST on a shard that was empty: whatever is written from now on
            // is new.
            positions.insert(key, Position::Start);
        }
        Ok(published)
    }

    /// Publishes the messages of one page of records in batches, moving the
    /// shard's position past each batch (and the dropped records around it)
    /// once it is published.
    async fn deliver(
        &self,
        pipe: &Pipe,
        key: &(String, String),
        entries: &[(String, Option<String>)],
        positions: &mut Positions,
    ) -> Result<usize> {
        // Pipes hands a target up to BatchSize records at once; one PublishBatch
        // takes at most ten, and each record is one message either way.
        let batch_size = pipe.batch_size.clamp(1, SNS_BATCH_LIMIT);
        let mut published = 0;
        let mut start = 0;
        while start < entries.len() {
            let mut end = start;
            let mut batch = Vec::new();
            while end < entries.len() {
                if entries[end].1.is_some() {
                    if batch.len() == batch_size {
                        break;
                    }
                    batch.push(end);
                }
                end += 1;
            }
            if !batch.is_empty()
                && let Err(failure) = self.publish(pipe, entries, &batch).await
            {
                // Past the records before the first unpublished one, not beyond:
                // the messages published after it go again next time (at least
                // once), and none is skipped.
                if let Some(before) = failure.first_unpublished.checked_sub(1) {
                    positions.insert(key.clone(), Position::After(entries[before].0.clone()));
                }
                return Err(failure.error);
            }
            published += batch.len();
            positions.insert(key.clone(), Position::After(entries[end - 1].0.clone()));
            start = end;
        }
        Ok(published)
    }

    /// One `PublishBatch` of the messages of `entries[batch]`; entry ids are the
    /// records' sequence numbers, unique within a shard.
    async fn publish(
        &self,
        pipe: &Pipe,
        entries: &[(String, Option<String>)],
        batch: &[usize],
    ) -> std::result::Result<(), PublishFailure> {
        use aws_sdk_sns::types::PublishBatchRequestEntry;
        let failed_at = |index: usize, message: String| PublishFailure {
            first_unpublished: index,
            error: Error::Aws {
                operation: "PublishBatch",
                resource: pipe.logical_id.clone(),
                message,
            },
        };
        let first = batch.first().copied().unwrap_or_default();
        let mut request_entries = Vec::with_capacity(batch.len());
        for &index in batch {
            let (sequence, message) = &entries[index];
            let entry = PublishBatchRequestEntry::builder()
                .id(sequence)
                .message(message.as_deref().unwrap_or_default())
                .build()
                .map_err(|e| failed_at(index, e.to_string()))?;
            request_entries.push(entry);
        }
        let answer = self
            .sns
            .publish_batch()
            .topic_arn(&pipe.topic_arn)
            .set_publish_batch_request_entries(Some(request_entries))
            .send()
            .await
            .map_err(|e| {
                let detail = aws_sdk_sns::error::DisplayErrorContext(e).to_string();
                failed_at(first, detail)
            })?;
        let published: HashSet<&str> = answer.successful().iter().filter_map(|s| s.id()).collect();
        let Some(&unpublished) = batch
            .iter()
            .find(|&&i| !published.contains(entries[i].0.as_str()))
        else {
            return Ok(());
        };
        let sequence = &entries[unpublished].0;
        // moto leaves an entry out of both lists when publishing it raised
        // anything but InvalidParameter; either way it was not published.
        let reason = answer
            .failed()
            .iter()
            .find(|f| f.id() == sequence)
            .map(|f| format!("{}: {}", f.code(), f.message().unwrap_or_default()))
            .unwrap_or_else(|| "reported neither published nor failed".to_owned());
        Err(failed_at(
            unpublished,
            format!(
                "the message of stream record {sequence} was not published ({reason}); \
                 the pipe resumes from that record"
            ),
        ))
    }
}

/// The message a pipe sends for `record`, or `None` when its filters drop it or
/// it cannot be rendered (logged: Pipes would send it to the dead-letter queue).
fn carry(pipe: &Pipe, sequence: &str, record: &Record) -> Option<String> {
    let dropped = |problem: &dyn std::fmt::Display| {
        eprintln!(
            "devstack: pipe {}: stream record {sequence} passed over: {problem} \
             (EventBridge Pipes would send it to the pipe's dead-letter queue)",
            pipe.logical_id
        );
    };
    let event = match record_json(record, &pipe.stream_arn) {
        Ok(event) => event,
        Err(e) => {
            dropped(&e);
            return None;
        }
    };
    if !passes(&pipe.filters, &event) {
        return None;
    }
    match render(pipe.input_template.as_ref(), &event) {
        Ok(message) => Some(message),
        Err(e) => {
            dropped(&e);
            None
        }
    }
}

/// The sum of `results`, or the first error among them (all were tried).
fn total(results: impl IntoIterator<Item = Result<usize>>) -> Result<usize> {
    let mut published = 0;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(n) => published += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(published), Err)
}

/// Reads one `AWS::Pipes::Pipe`; `None` when it is stopped.
fn read_pipe(stack: &Stack, resource: &Resource) -> Result<Option<Pipe>> {
    let id = resource.logical_id.as_str();
    let refuse = |problem: String| Error::cannot_emulate(id, problem);
    let context = stack.context();
    let properties = Value::Object(resource.properties.clone());
    // Only the properties devstack reads are resolved: RoleArn names a role that
    // is not created locally.
    let at = |pointer: &str| -> Result<Option<Value>> {
        properties
            .pointer(pointer)
            .map(|v| context.resolve(v))
            .transpose()
    };
    let text = |pointer: &str| -> Result<Option<String>> {
        at(pointer)?
            .map(|v| scalar_string(&v).map_err(|p| refuse(format!("{} {p}", dotted(pointer)))))
            .transpose()
    };

    if text("/DesiredState")?.as_deref() == Some("STOPPED") {
        return Ok(None);
    }
    if resource.property("Enrichment").is_some() {
        return Err(refuse(
            "it has an Enrichment; devstack runs pipes without enrichment".into(),
        ));
    }

    let source = text("/Source")?.ok_or_else(|| refuse("it has no Source".into()))?;
    let (table, table_name) = stack
        .find(Kind::Table, "StreamArn", &source)
        .map(|(t, physical)| (t.logical_id.clone(), physical.reference.clone()))
        .ok_or_else(|| {
            refuse(format!(
                "its Source `{source}` is not the stream of a table of this stack; \
                 devstack carries the streams of the template's tables only"
            ))
        })?;

    let target = text("/Target")?.ok_or_else(|| refuse("it has no Target".into()))?;
    let (topic, topic_physical) = stack.find(Kind::Topic, "Ref", &target).ok_or_else(|| {
        refuse(format!(
            "its Target `{target}` is not a topic of this stack; \
                 devstack delivers to the template's SNS topics only"
        ))
    })?;
    let fifo = topic
        .property("FifoTopic")
        .and_then(|v| scalar_string(v).ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if fifo {
        return Err(refuse(format!(
            "its Target `{}` is a FIFO topic, which devstack's pipes do not publish to",
            topic.logical_id
        )));
    }
    let topic_name = topic_physical
        .attributes
        .get("TopicName")
        .cloned()
        .unwrap_or_else(|| target.rsplit(':').next().unwrap_or_default().to_owned());

    for (section, allowed) in [
        (
            "SourceParameters",
            &["FilterCriteria", "DynamoDBStreamParameters"][..],
        ),
        ("TargetParameters", &["InputTemplate"][..]),
    ] {
        if let Some(Value::Object(map)) = resource.property(section)
            && let Some(other) = map.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(refuse(format!(
                "{section}.{other} does not apply to a DynamoDB stream source and an SNS \
                 target (devstack reads {})",
                allowed.join(", ")
            )));
        }
    }

    let mut filters = Vec::new();
    if let Some(list) = at("/SourceParameters/FilterCriteria/Filters")? {
        let Value::Array(list) = list else {
            return Err(refuse(
                "SourceParameters.FilterCriteria.Filters is not a list".into(),
            ));
        };
        for (i, filter) in list.iter().enumerate() {
            let location = format!("SourceParameters.FilterCriteria.Filters[{i}].Pattern");
            let pattern = match filter.get("Pattern") {
                Some(Value::String(text)) => EventPattern::parse(text),
                Some(value @ Value::Object(_)) => EventPattern::from_value(value),
                _ => return Err(refuse(format!("{location} is missing or not JSON text"))),
            };
            filters.push(pattern.map_err(|e| refuse(format!("{location}: {e}")))?);
        }
    }

    let parameters = "/SourceParameters/DynamoDBStreamParameters";
    let starting_position = match text(&format!("{parameters}/StartingPosition"))?.as_deref() {
        Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
        Some("LATEST") => StartingPosition::Latest,
        Some(other) => {
            return Err(refuse(format!(
                "SourceParameters.DynamoDBStreamParameters.StartingPosition `{other}` \
                 is neither TRIM_HORIZON nor LATEST"
            )));
        }
        None => {
            return Err(refuse(
                "SourceParameters.DynamoDBStreamParameters.StartingPosition is missing \
                 (a DynamoDB stream source needs one)"
                    .into(),
            ));
        }
    };
    let batch_size = match text(&format!("{parameters}/BatchSize"))? {
        None => 10,
        Some(size) => size.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            refuse(format!(
                "SourceParameters.DynamoDBStreamParameters.BatchSize `{size}` is not a positive whole number"
            ))
        })?,
    };

    let input_template = text("/TargetParameters/InputTemplate")?
        .map(|t| InputTemplate::parse(&t))
        .transpose()
        .map_err(|e| refuse(format!("TargetParameters.InputTemplate: {e}")))?;

    Ok(Some(Pipe {
        logical_id: id.to_owned(),
        name: resource_name(context, resource)?,
        table,
        table_name,
        stream_arn: source,
        topic: topic.logical_id.clone(),
        topic_name,
        topic_arn: target,
        starting_position,
        batch_size,
        filters,
        input_template,
    }))
}

/// `/A/B/C` -> `A.B.C`, for messages.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{Context, Physical};
    use crate::template::Template;

    const TEMPLATE: &str = r#"
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: s-t
  Other:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: s-other
  Events:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: s-events
  Q:
    Type: AWS::SQS::Queue
  Role:
    Type: AWS::IAM::Role
  P:
    Type: AWS::Pipes::Pipe
    Properties:
      Name: s-p
      RoleArn: !GetAtt Role.Arn
      Source: !GetAtt T.StreamArn
      SourceParameters:
        FilterCriteria:
          Filters:
            - Pattern: '{"eventName":["INSERT"]}'
        DynamoDBStreamParameters:
          StartingPosition: LATEST
          BatchSize: 5
      Target: !Ref Events
      TargetParameters:
        InputTemplate: "<$.dynamodb.NewImage.event.S>"
"#;

    const STREAM: &str = "arn:aws:dynamodb:ap-northeast-2:123456789012:table/s-t/stream/1";

    /// A stack as deploy would leave it, without the emulator.
    fn stack_with(edit: impl FnOnce(&mut String)) -> Stack {
        let mut text = TEMPLATE.to_owned();
        edit(&mut text);
        let template = Template::parse(&text, "t.yaml").expect("parses");
        let mut context = Context::new(
            &template,
            "s",
            "ap-northeast-2",
            "123456789012",
            &BTreeMap::new(),
        );
        context.insert("T", Physical::new("s-t").with("StreamArn", STREAM));
        context.insert("Other", Physical::new("s-other"));
        context.insert(
            "Events",
            Physical::new("arn:aws:sns:ap-northeast-2:123456789012:s-events")
                .with("TopicName", "s-events"),
        );
        context.insert(
            "Q",
            Physical::new("http://q/s-q")
                .with("Arn", "arn:aws:sqs:ap-northeast-2:123456789012:s-q"),
        );
        Stack::assembled(template, context, "http://127.0.0.1:1")
    }

    fn read(stack: &Stack) -> Result<Option<Pipe>> {
        read_pipe(stack, stack.template().resource("P").expect("P"))
    }

    #[test]
    fn a_pipe_is_read_from_the_template_with_its_resources_resolved() {
        // GIVEN a pipe from a table's stream to a topic
        let stack = stack_with(|_| {});

        // WHEN it is read
        let pipe = read(&stack).expect("readable").expect("running");

        // THEN source, target and parameters are the template's
        assert_eq!(pipe.name, "s-p");
        assert_eq!(
            (pipe.table.as_str(), pipe.table_name.as_str()),
            ("T", "s-t")
        );
        assert_eq!(pipe.stream_arn, STREAM);
        assert_eq!(
            (pipe.topic.as_str(), pipe.topic_name.as_str()),
            ("Events", "s-events")
        );
        assert_eq!(pipe.starting_position, StartingPosition::Latest);
        assert_eq!(pipe.batch_size, 5);
        assert_eq!(pipe.filters.len(), 1);
        assert!(pipe.input_template.is_some());
    }

    #[test]
    fn what_devstack_cannot_run_is_refused_naming_the_pipe() {
        // GIVEN pipes devstack cannot run as the cloud would
        let cases: [(&str, &str, &str); 7] = [
            (
                "Source: !GetAtt T.StreamArn",
                "Source: !GetAtt Q.Arn",
                "is not the stream",
            ),
            (
                "Target: !Ref Events",
                "Target: !GetAtt Q.Arn",
                "is not a topic",
            ),
            (
                r#"'{"eventName":["INSERT"]}'"#,
                r#"'{"n":[{"numeric":[">",1]}]}'"#,
                "numeric",
            ),
            (
                "StartingPosition: LATEST",
                "StartingPosition: AT_TIMESTAMP",
                "AT_TIMESTAMP",
            ),
            (
                "InputTemplate: \"<$.dynamodb.NewImage.event.S>\"",
                "InputTemplate: \"<aws.pipes.event.json>\"",
                "aws.pipes.event.json",
            ),
            (
                "      Target: !Ref Events",
                "      Enrichment: arn:aws:lambda:x\n      Target: !Ref Events",
                "Enrichment",
            ),
            (
                "        InputTemplate:",
                "        SqsQueueParameters: {}\n        InputTemplate:",
                "SqsQueueParameters",
            ),
        ];
        for (from, to, named) in cases {
            let stack = stack_with(|t| *t = t.replace(from, to));

            // WHEN it is read
            let err = read(&stack).expect_err(to).to_string();

            // THEN the error names the pipe and what cannot be emulated
            assert!(err.contains("`P`"), "{err}");
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn a_stopped_pipe_is_left_out_and_batch_size_defaults_to_ten() {
        let stopped = stack_with(|t| t.push_str("      DesiredState: STOPPED\n"));
        assert!(read(&stopped).expect("readable").is_none());
        let default = stack_with(|t| *t = t.replace("          BatchSize: 5\n", ""));
        assert_eq!(
            read(&default)
                .expect("readable")
                .expect("running")
                .batch_size,
            10
        );
    }
}
