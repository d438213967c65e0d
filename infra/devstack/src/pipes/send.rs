//! Sending a pipe's messages to its target, up to ten a call: `PublishBatch` to a
//! topic, `SendMessageBatch` to a queue.
//!
//! Either call may take some messages of a batch and refuse others, or refuse
//! the whole request. What the pipe needs to know is the first message of the
//! batch that was not taken: its shard position may move only up to the record
//! before it, so that nothing is skipped (at least once).

use std::collections::{HashMap, HashSet};

use shared::aws::SdkConfig;

use super::{Entry, Pipe, Target};
use crate::error::Error;

/// The most messages one `PublishBatch` or `SendMessageBatch` takes.
pub(super) const BATCH_ENTRIES: usize = 10;
/// The most bytes of message bodies one `SendMessageBatch` takes: SQS refuses a
/// longer request as a whole (the emulator too), so a batch stops short of it.
pub(super) const SQS_BATCH_BYTES: usize = 1_048_576;

/// A batch that was not wholly sent.
pub(super) struct SendFailure {
    /// Index (in the page's entries) of the first record whose message was not
    /// sent.
    pub(super) first_unsent: usize,
    pub(super) error: Error,
}

/// What a target answered for a batch: the entry ids it took, and why it
/// refused those it listed as failed.
#[derive(Debug, Default)]
struct Answer {
    taken: HashSet<String>,
    refused: HashMap<String, String>,
}

/// The clients of the targets.
#[derive(Debug)]
pub(super) struct Senders {
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Senders {
    pub(super) fn new(sdk: &SdkConfig) -> Senders {
        Senders {
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
        }
    }

    /// One batch call with the messages of `entries[batch]` to the pipe's
    /// target; entry ids are the records' sequence numbers, unique within a
    /// shard (and within SQS's and SNS's id alphabet: digits).
    pub(super) async fn send(
        &self,
        pipe: &Pipe,
        entries: &[Entry],
        batch: &[usize],
    ) -> Result<(), SendFailure> {
        let (operation, verb) = match &pipe.target {
            Target::Topic { .. } => ("PublishBatch", "published to"),
            Target::Queue { .. } => ("SendMessageBatch", "sent to"),
        };
        let failed_at = |index: usize, message: String| SendFailure {
            first_unsent: index,
            error: Error::Aws {
                operation,
                resource: pipe.logical_id.clone(),
                message,
            },
        };
        let messages: Vec<(&str, &str)> = batch
            .iter()
            .map(|&i| {
                let entry = &entries[i];
                (
                    entry.sequence.as_str(),
                    entry.message.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        let answer = match &pipe.target {
            Target::Topic { arn, .. } => self.publish(arn, &messages).await,
            Target::Queue { url, .. } => self.enqueue(url, &messages).await,
        };
        // A refused request sent nothing: the batch goes again from its start.
        let first = batch.first().copied().unwrap_or_default();
        let answer = answer.map_err(|message| failed_at(first, message))?;
        let Some(unsent) = first_unsent(entries, batch, &answer.taken) else {
            return Ok(());
        };
        let sequence = &entries[unsent].sequence;
        // moto leaves an SNS entry out of both lists when publishing it raised
        // anything but InvalidParameter; either way it was not sent.
        let reason = answer
            .refused
            .get(sequence)
            .cloned()
            .unwrap_or_else(|| "reported neither sent nor failed".to_owned());
        Err(failed_at(
            unsent,
            format!(
                "the message of stream record {sequence} was not {verb} {} ({reason}); \
                 the pipe resumes from that record",
                pipe.target
            ),
        ))
    }

    /// `PublishBatch` of `(id, message)`s to the topic `arn`; the error text when
    /// the request as a whole failed.
    async fn publish(&self, arn: &str, messages: &[(&str, &str)]) -> Result<Answer, String> {
        use aws_sdk_sns::types::PublishBatchRequestEntry;
        let entries = messages
            .iter()
            .map(|(id, message)| {
                PublishBatchRequestEntry::builder()
                    .id(*id)
                    .message(*message)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let answer = self
            .sns
            .publish_batch()
            .topic_arn(arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())?;
        Ok(Answer {
            taken: answer
                .successful()
                .iter()
                .filter_map(|s| s.id())
                .map(str::to_owned)
                .collect(),
            refused: answer
                .failed()
                .iter()
                .map(|f| (f.id().to_owned(), refusal(f.code(), f.message())))
                .collect(),
        })
    }

    /// `SendMessageBatch` of `(id, body)`s to the queue at `url`; the error text
    /// when the request as a whole failed.
    async fn enqueue(&self, url: &str, messages: &[(&str, &str)]) -> Result<Answer, String> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let entries = messages
            .iter()
            .map(|(id, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(*id)
                    .message_body(*body)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let answer = self
            .sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        Ok(Answer {
            taken: answer
                .successful()
                .iter()
                .map(|s| s.id().to_owned())
                .collect(),
            refused: answer
                .failed()
                .iter()
                .map(|f| (f.id().to_owned(), refusal(f.code(), f.message())))
                .collect(),
        })
    }
}

/// `code: message`, as a failed batch entry reports it.
fn refusal(code: &str, message: Option<&str>) -> String {
    format!("{code}: {}", message.unwrap_or_default())
}

/// The first index of `batch` whose entry's sequence number the target did not
/// take, in batch (stream) order; `None` when it took every one.
fn first_unsent(entries: &[Entry], batch: &[usize], taken: &HashSet<String>) -> Option<usize> {
    batch
        .iter()
        .copied()
        .find(|&i| !taken.contains(&entries[i].sequence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(sequences: &[&str]) -> Vec<Entry> {
        sequences
            .iter()
            .map(|s| Entry {
                sequence: (*s).to_owned(),
                message: Some(format!("m{s}")),
            })
            .collect()
    }

    fn taken(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_first_unsent_message_is_the_earliest_the_target_did_not_take() {
        // GIVEN a batch of records 1, 3 and 4 (2 was dropped by the filters)
        let entries = entries(&["1", "2", "3", "4"]);
        let batch = [0, 2, 3];

        // WHEN the target took 1 and 4 but not 3, THEN the pipe resumes from 3,
        // even though 4 went out (at least once: 4 goes again)
        assert_eq!(first_unsent(&entries, &batch, &taken(&["1", "4"])), Some(2));
        // AND when it took none, from the batch's first record
        assert_eq!(first_unsent(&entries, &batch, &taken(&[])), Some(0));
        // AND when it took all, nothing is left
        assert_eq!(
            first_unsent(&entries, &batch, &taken(&["1", "3", "4"])),
            None
        );
    }
}
