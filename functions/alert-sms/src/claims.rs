//! At most one text per event: a claim item per `eventId` in the alert-sms table
//! (`pk` `SMS#<eventId>`, `sk` `SMS`), written with a condition before the text
//! is published. The publication of an alert to the `alerts` topic is claimed
//! the same way (`PUBLISH#<eventId>` / `PUBLISH`).
//!
//! The claim is taken `sending`, becomes `sent` (with the SNS message id) once
//! SNS accepted the text, or is given back when SNS refused it, so that a
//! redelivery can try again. A claim found taken means the event was texted (or
//! is being texted) already: the duplicate sends nothing. If the process dies
//! between claim and publish, the claim stays `sending` and the event is not
//! texted again: at most once is the promise, and a doubled security notice is
//! worse than the rare lost one. For the same reason a publish SNS never
//! answered (a timeout, a lost connection: it may have gone out) is not tried
//! again: the claim becomes `unconfirmed` and stays. Neither the number nor the
//! text is stored.
//!
//! A claim whose write's answer was lost is recognised by its random
//! `claimId`: the SDK's retry that meets it takes it as its own, and a failed
//! take gives back the claim if it was written after all.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

pub use crate::db::StoreError;
use crate::db::is_condition_failed;

/// How long a claim is kept (30 days): beyond any redelivery of SQS (4 days
/// here, 14 at most) and any replay of the outbox (3 days).
pub const CLAIM_RETENTION_SECS: i64 = 30 * 86_400;

/// A claim as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// `SMS#<eventId>` (or `PUBLISH#<eventId>`).
    pub pk: String,
    /// `SMS` (or `PUBLISH`).
    pub sk: String,
    /// The event type.
    pub event_type: String,
    /// Whom the text is for.
    pub user_id: String,
    /// `sending`, `sent` or `unconfirmed`.
    pub status: String,
    /// Random: only the taker of a claim may give it back.
    pub claim_id: String,
    /// When it was taken (Unix seconds).
    pub claimed_at: i64,
    /// When SNS accepted the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// SNS's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// DynamoDB TTL.
    pub ttl: i64,
}

/// The claims of one kind in one table.
#[derive(Debug, Clone)]
pub struct Claims {
    db: Client,
    table: String,
    kind: &'static str,
}

impl Claims {
    /// The text claims (`SMS`) in `table`.
    pub fn new(db: Client, table: String) -> Self {
        Self::of_kind(db, table, "SMS")
    }

    /// The claims of `kind` (`SMS`, `PUBLISH`) in `table`.
    pub fn of_kind(db: Client, table: String, kind: &'static str) -> Self {
        Self { db, table, kind }
    }

    /// The key of the claim of `event_id`.
    fn key(&self, event_id: &str) -> [(String, AttributeValue); 2] {
        [
            (
                "pk".to_owned(),
                AttributeValue::S(format!("{}#{event_id}", self.kind)),
            ),
            ("sk".to_owned(), AttributeValue::S(self.kind.to_owned())),
        ]
    }

    /// Takes the claim of `event_id`: `Some(claim id)`, or `None` when it is
    /// taken already (the event was texted, or is being texted).
    pub async fn take(
        &self,
        event_id: &str,
        event_type: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let claim = Claim {
            pk: format!("{}#{event_id}", self.kind),
            sk: self.kind.into(),
            event_type: event_type.into(),
            user_id: user_id.into(),
            status: "sending".into(),
            claim_id: shared::random::token::<12>(),
            claimed_at: now,
            sent_at: None,
            message_id: None,
            ttl: now + CLAIM_RETENTION_SECS,
        };
        let item = crate::db::to_item(&claim)?;
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(claim.claim_id)),
            // Ours: the SDK retried a write whose first answer was lost, and
            // the retry met it.
            Err(e) if is_condition_failed(&e) && holder(&e) == Some(&claim.claim_id) => {
                Ok(Some(claim.claim_id))
            }
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => {
                // The write may have happened with its answer lost: give the
                // claim back if it is ours, or the redelivery would find it
                // taken and the event would never be sent.
                if let Err(release) = self.release(event_id, &claim.claim_id).await {
                    tracing::error!(event_id, error = %release, "a claim whose write failed could not be given back: this event will not be sent");
                }
                Err(StoreError::sdk(e))
            }
        }
    }

    /// Records that SNS gave no answer to the publish of the claim's message
    /// (a timeout, a lost connection): it may have been sent, so it never is
    /// again (the claim is kept), and the record says why.
    pub async fn unconfirmed(&self, event_id: &str, claim_id: &str) -> Result<(), StoreError> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(event_id).into()))
            .update_expression("SET #status = :unconfirmed")
            .condition_expression("claimId = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":unconfirmed", AttributeValue::S("unconfirmed".into()))
            .expression_attribute_values(":claim", AttributeValue::S(claim_id.into()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Records that SNS accepted the text.
    pub async fn sent(
        &self,
        event_id: &str,
        claim_id: &str,
        message_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(event_id).into()))
            .update_expression("SET #status = :sent, sentAt = :now, messageId = :message")
            .condition_expression("claimId = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sent", AttributeValue::S("sent".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":message", AttributeValue::S(message_id.into()))
            .expression_attribute_values(":claim", AttributeValue::S(claim_id.into()))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// Gives back a claim this process took and could not text, so that a
    /// redelivery tries again.
    pub async fn release(&self, event_id: &str, claim_id: &str) -> Result<(), StoreError> {
        let result = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(event_id).into()))
            .condition_expression("claimId = :claim AND #status = :sending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":claim", AttributeValue::S(claim_id.into()))
            .expression_attribute_values(":sending", AttributeValue::S("sending".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours, or already gone: nothing to give back.
            Err(e) if is_condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// The claim of `event_id`, if any.
    pub async fn get(&self, event_id: &str) -> Result<Option<Claim>, StoreError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(event_id).into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.item
            .map(serde_dynamo::from_item)
            .transpose()
            .map_err(StoreError::item)
    }
}

/// The `claimId` of the claim a conditional put met (returned with the
/// failure).
pub(crate) fn holder<R>(e: &SdkError<PutItemError, R>) -> Option<&String> {
    match e.as_service_error() {
        Some(PutItemError::ConditionalCheckFailedException(c)) => c
            .item
            .as_ref()
            .and_then(|item| item.get("claimId"))
            .and_then(|v| v.as_s().ok()),
        _ => None,
    }
}
