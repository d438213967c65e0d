//! The local twin of EventBridge Pipes: each `AWS::Pipes::Pipe` of the template
//! whose source is the stream of one of the stack's tables and whose target is
//! one of its standard topics or queues, run by devstack over the emulator's
//! DynamoDB Streams API (moto has no Pipes).
//!
//! This is how outbox items travel locally as they do in the cloud: a function
//! writes an event as an item in its own table, in the same transaction as the
//! change; the pipe reads the table's stream, keeps the records its filters pass
//! ([`EventPattern`]), makes each one a message with its input template
//! ([`InputTemplate`]) and sends the messages to its [`Target`] in batches:
//! published to a topic (`Target: !Ref Topic`), or sent to a queue
//! (`Target: !GetAtt Queue.Arn`).
//!
//! Delivery is at least once, as in the cloud: a shard's position moves past a
//! record only once its message was sent (or the filters dropped it), so a
//! failed send is retried from that record at the next [`Pipes::pump`], and a
//! message may be sent twice, never skipped. A record the template cannot
//! render is logged and passed over, where Pipes would send it to the pipe's
//! dead-letter queue.
//!
//! Submodules: `read` reads pipes from the template, `send` sends batches to
//! targets; [`input`](InputTemplate), [`pattern`](EventPattern) and
//! [`record`](record_json) are what Pipes does with one record.

mod input;
mod pattern;
mod read;
mod record;
mod send;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use shared::aws::SdkConfig;
use tokio::sync::Mutex;

pub use input::{InputTemplate, InvalidTemplate, MissingValue, render};
pub use pattern::{EventPattern, InvalidPattern, passes};
pub use record::{UnknownAttributeType, attribute_json, attributes_json, record_json};

use crate::deploy::Stack;
use crate::error::{Error, Result};
use crate::template::Kind;
use read::read_pipe;
use send::{BATCH_ENTRIES, SQS_BATCH_BYTES, Senders};

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

/// Where a pipe sends its messages: a standard topic or a standard queue of the
/// stack (FIFO ones are refused when the pipe is read).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// An SNS topic (`Target: !Ref SomeTopic`): each message is published, ten
    /// at a time with `PublishBatch`.
    Topic {
        /// The topic's logical id (`EventsTopic`).
        logical_id: String,
        /// The topic's name (`pocketgov-events`).
        name: String,
        /// The topic's ARN, the pipe's resolved `Target`.
        arn: String,
    },
    /// An SQS queue (`Target: !GetAtt SomeQueue.Arn`, as Pipes takes a queue by
    /// ARN): each message is sent as a message body, ten at a time with
    /// `SendMessageBatch`.
    Queue {
        /// The queue's logical id (`AlertDeliveryQueue`).
        logical_id: String,
        /// The queue's name (`pocketgov-alert-delivery`).
        name: String,
        /// The queue's URL, where messages are sent.
        url: String,
        /// The queue's ARN, the pipe's resolved `Target`.
        arn: String,
    },
}

impl Target {
    /// The target's logical id.
    pub fn logical_id(&self) -> &str {
        match self {
            Target::Topic { logical_id, .. } | Target::Queue { logical_id, .. } => logical_id,
        }
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Topic { name, .. } | Target::Queue { name, .. } => name,
        }
    }

    /// The target's ARN.
    pub fn arn(&self) -> &str {
        match self {
            Target::Topic { arn, .. } | Target::Queue { arn, .. } => arn,
        }
    }

    /// The most bytes of messages one batch may hold.
    fn batch_bytes(&self) -> usize {
        match self {
            // moto does not limit a PublishBatch as a whole, and refuses an
            // oversized message by itself, so topic batches are cut by count
            // only. (The cloud's SNS also limits a whole batch to 256 KiB; the
            // events published here are far smaller.)
            Target::Topic { .. } => usize::MAX,
            Target::Queue { .. } => SQS_BATCH_BYTES,
        }
    }
}

/// `topic <name>` or `queue <name>`.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Topic { name, .. } => write!(f, "topic {name}"),
            Target::Queue { name, .. } => write!(f, "queue {name}"),
        }
    }
}

/// One pipe of the stack: a table's stream carried to a topic or a queue.
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
    /// Where the messages go.
    pub target: Target,
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

/// One record of a page of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The record's sequence number.
    sequence: String,
    /// The message it makes; `None` when the filters dropped it (or it could
    /// not be rendered), so the position passes it without sending anything.
    message: Option<String>,
}

/// The pipes of a stack, with how far each has read its stream.
#[derive(Debug)]
pub struct Pipes {
    pipes: Vec<Pipe>,
    streams: aws_sdk_dynamodbstreams::Client,
    senders: Senders,
    /// Held for a whole pump, so concurrent pumps never send a record twice.
    positions: Mutex<Positions>,
}

impl Pipes {
    /// The pipes of `stack`. A pipe devstack cannot run as the cloud would (a
    /// source other than a stack table's stream, a target other than a standard
    /// topic or queue of the stack, an enrichment, a filter operator it does not
    /// know, ...) is an
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
            senders: Senders::new(sdk),
            positions: Mutex::new(BTreeMap::new()),
        })
    }

    /// The pipes, by logical id.
    pub fn pipes(&self) -> &[Pipe] {
        &self.pipes
    }

    /// Carries what the streams hold beyond each pipe's position: reads every
    /// shard of every pipe to its end, sends what passes to the pipe's target,
    /// and returns how many messages were sent (published to topics and sent to
    /// queues). Every pipe is pumped even if one fails; the first failure is
    /// returned (naming its pipe) instead of the count, and the failed pipe
    /// resumes from its first unsent record next time.
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

    /// One pump of every pipe: `(logical id, messages sent or the error)`.
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

        let mut sent = 0;
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
                entries.push(Entry { sequence, message });
            }
            sent += self.deliver(pipe, &key, &entries, positions).await?;
            iterator = page.next_shard_iterator().map(str::to_owned);
        }
        if skip && !positions.contains_key(&key) {
            // LATEST on a shard that was empty: whatever is written from now on
            // is new.
            positions.insert(key, Position::Start);
        }
        Ok(sent)
    }

    /// Sends the messages of one page of records in batches, moving the shard's
    /// position past each batch (and the dropped records around it) once it is
    /// sent.
    async fn deliver(
        &self,
        pipe: &Pipe,
        key: &(String, String),
        entries: &[Entry],
        positions: &mut Positions,
    ) -> Result<usize> {
        // Pipes hands a target up to BatchSize records at once; one batch call
        // takes at most ten, and each record is one message either way.
        let most = pipe.batch_size.clamp(1, BATCH_ENTRIES);
        let mut sent = 0;
        let mut start = 0;
        while start < entries.len() {
            let (batch, end) = next_batch(entries, start, most, pipe.target.batch_bytes());
            if !batch.is_empty()
                && let Err(failure) = self.senders.send(pipe, entries, &batch).await
            {
                // Past the records before the first unsent one, not beyond: the
                // messages sent after it go again next time (at least once), and
                // none is skipped.
                if let Some(before) = failure.first_unsent.checked_sub(1) {
                    let sequence = entries[before].sequence.clone();
                    positions.insert(key.clone(), Position::After(sequence));
                }
                return Err(failure.error);
            }
            sent += batch.len();
            let sequence = entries[end - 1].sequence.clone();
            positions.insert(key.clone(), Position::After(sequence));
            start = end;
        }
        Ok(sent)
    }
}

/// The next batch of `entries` from `start`: the indexes of up to `most`
/// messages whose bodies add up to at most `max_bytes` (a larger message goes
/// alone, for the target to refuse), and the index after the last entry the
/// batch covers: its messages and the dropped records among and after them, up
/// to the next message.
fn next_batch(
    entries: &[Entry],
    start: usize,
    most: usize,
    max_bytes: usize,
) -> (Vec<usize>, usize) {
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    let mut end = start;
    while let Some(entry) = entries.get(end) {
        if let Some(message) = &entry.message {
            let over = bytes.saturating_add(message.len()) > max_bytes;
            if batch.len() == most || (!batch.is_empty() && over) {
                break;
            }
            batch.push(end);
            bytes = bytes.saturating_add(message.len());
        }
        end += 1;
    }
    (batch, end)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries from `messages`: `Some(body)` a message, `None` a dropped record.
    fn entries(messages: &[Option<&str>]) -> Vec<Entry> {
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| Entry {
                sequence: (i + 1).to_string(),
                message: m.map(str::to_owned),
            })
            .collect()
    }

    #[test]
    fn a_batch_holds_at_most_the_batch_size_and_covers_the_dropped_records_around_it() {
        // GIVEN five messages with dropped records before, among and after them
        let page = entries(&[
            None,
            Some("a"),
            None,
            Some("b"),
            Some("c"),
            None,
            Some("d"),
            Some("e"),
        ]);

        // WHEN batches of at most three are cut
        let first = next_batch(&page, 0, 3, usize::MAX);
        let second = next_batch(&page, first.1, 3, usize::MAX);

        // THEN the first has a, b, c and the dropped records up to d; the second
        // the rest
        assert_eq!(first, (vec![1, 3, 4], 6));
        assert_eq!(second, (vec![6, 7], 8));
    }

    #[test]
    fn a_page_of_dropped_records_is_one_empty_batch() {
        let page = entries(&[None, None]);
        assert_eq!(next_batch(&page, 0, 10, usize::MAX), (vec![], 2));
    }

    #[test]
    fn a_batch_stops_short_of_the_byte_limit_and_an_oversized_message_goes_alone() {
        // GIVEN messages of 4, 4, 9 and 1 bytes, and a limit of 8 bytes a batch
        let page = entries(&[Some("aaaa"), Some("bbbb"), Some("ccccccccc"), Some("d")]);

        // WHEN batches are cut
        let first = next_batch(&page, 0, 10, 8);
        let second = next_batch(&page, first.1, 10, 8);
        let third = next_batch(&page, second.1, 10, 8);

        // THEN the limit splits them, and the 9-byte message is sent by itself
        // (for the target to refuse, so the pipe stops at its record)
        assert_eq!(first, (vec![0, 1], 2));
        assert_eq!(second, (vec![2], 3));
        assert_eq!(third, (vec![3], 4));
    }

    #[test]
    fn a_queue_batch_is_limited_by_sqs_request_size_and_a_topic_batch_is_not() {
        let queue = Target::Queue {
            logical_id: "Q".into(),
            name: "s-q".into(),
            url: "http://q/s-q".into(),
            arn: "arn:aws:sqs:ap-northeast-2:123456789012:s-q".into(),
        };
        let topic = Target::Topic {
            logical_id: "T".into(),
            name: "s-t".into(),
            arn: "arn:aws:sns:ap-northeast-2:123456789012:s-t".into(),
        };
        assert_eq!(queue.batch_bytes(), 1_048_576);
        assert_eq!(topic.batch_bytes(), usize::MAX);
        assert_eq!(topic.to_string(), "topic s-t");
    }
}
