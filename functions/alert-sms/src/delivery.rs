//! From an issued alert to every subscribed citizen's phone, through the
//! delivery queue, in steps small enough for one short invocation each.
//!
//! 1. `alert.issued` (the outbox event of the approval, carried to the queue by
//!    the table's pipe): the alert is published to the `alerts` topic once (a
//!    claim per event), and one *plan* message per region of the alert is
//!    queued.
//! 2. *plan* (alert, region, page): one page of the region's subscribers is
//!    read from the `ByRegion` index; a citizen is kept when their categories
//!    include the alert's and none of their regions comes earlier in the
//!    alert's list (they are planned under that region instead, so each citizen
//!    is planned once per alert without holding a set of everyone in memory).
//!    The page's recipient count is added to the alert once (a marker item per
//!    page in the same transaction), the recipients go out as *batch* messages
//!    of [`BATCH_RECIPIENTS`], and the next page follows as another plan
//!    message. Regions are planned in parallel, pages one after the other.
//! 3. *batch*: each recipient is claimed by a conditional write per alert and
//!    citizen (`DELIVERY#<alertId>#<userId>`), texted, and the claim marked
//!    `sent` or `failed` (or `unconfirmed` when SNS never answered: perhaps
//!    sent, counted failed, never sent again); the batch's totals are added to
//!    the alert's `sent` and `failed` counters from a tally per batch of whom
//!    it counted, so a batch delivered twice never counts anyone twice. A
//!    batch with failures is reported to SQS and comes back; its retry texts
//!    only the failed recipients (the sent ones are claimed), and a success
//!    moves them from `failed` to `sent`.
//!
//! Every plan and batch step first reads the alert: once it is cancelled, the
//! remaining steps end without texting. `alert.cancelled` publishes the CAP
//! `Cancel`.

mod batch;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};
use shared::events::DomainEvent;
use shared::events::Payload;
use shared::events::payloads::{AlertCancelled, AlertIssued};

use crate::Outcome;
use crate::alerts::{Alert, Region, Status};
use crate::claims::Claims;
use crate::db::{self, StoreError, n};
use crate::phones::Phones;
use crate::publication;
use crate::sns::{SendError, Sender};
use crate::store::Alerts;
use crate::subscriptions::Subscriptions;

/// Index entries read per plan step.
pub const PLAN_PAGE: i32 = 1000;
/// Citizens per batch message.
pub const BATCH_RECIPIENTS: usize = 50;
/// Texts in flight at once within one batch.
pub const SEND_CONCURRENCY: usize = 10;
/// No text is started closer than this to the invocation's deadline: a claim
/// whose text never went out would stay `sending`, and its citizen untexted.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// Messages per SQS `SendMessageBatch`.
const SQS_BATCH: usize = 10;
/// How long delivery records are kept (30 days).
const RETENTION_SECS: i64 = 30 * 86_400;

/// A step of the delivery, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum Step {
    /// Read one page of a region's subscribers.
    #[serde(rename = "alert.plan")]
    Plan {
        /// The alert.
        alert_id: String,
        /// The region to read.
        region: Region,
        /// The page number (0 first).
        page: u32,
        /// The last `userId` of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Text these citizens.
    #[serde(rename = "alert.batch")]
    Batch {
        /// The alert.
        alert_id: String,
        /// `<region>-<page>-<n>`: stable across redeliveries.
        batch_id: String,
        /// User ids.
        recipients: Vec<String>,
    },
}

/// Where things are.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The alerts.
    pub alerts: Alerts,
    /// The subscriptions.
    pub subscriptions: Subscriptions,
    /// The numbers.
    pub phones: Phones,
    /// SNS.
    pub sender: Sender,
    /// Publication claims.
    pub publications: Claims,
    /// The delivery queue.
    pub sqs: aws_sdk_sqs::Client,
    /// Its URL.
    pub queue_url: String,
    /// The `alerts` topic.
    pub topic_arn: String,
}

impl Delivery {
    /// Handles one message of the delivery queue.
    /// `deadline`: when the invocation ends (texts are not started after
    /// [`DEADLINE_MARGIN`] before it).
    pub async fn handle(&self, body: &str, deadline: Option<Instant>) -> Outcome {
        if let Ok(event) = serde_json::from_str::<DomainEvent>(body) {
            return match event.kind.as_str() {
                AlertIssued::TYPE => self.issued(&event).await,
                AlertCancelled::TYPE => self.cancelled(&event).await,
                _ => Outcome::Dropped("not an alert event"),
            };
        }
        match serde_json::from_str::<Step>(body) {
            Ok(Step::Plan {
                alert_id,
                region,
                page,
                after,
            }) => self.plan(&alert_id, region, page, after.as_deref()).await,
            Ok(Step::Batch {
                alert_id,
                batch_id,
                recipients,
            }) => {
                self.batch(&alert_id, &batch_id, &recipients, deadline)
                    .await
            }
            Err(_) => Outcome::Dropped("malformed delivery message"),
        }
    }

    async fn alert_of(&self, event: &DomainEvent) -> Result<Alert, Outcome> {
        let Some(alert_id) = event.data.get("alertId").and_then(|v| v.as_str()) else {
            return Err(Outcome::Dropped("malformed data"));
        };
        match self.alerts.get(alert_id).await {
            Ok(Some(alert)) => Ok(alert),
            Ok(None) => Err(Outcome::Dropped("no such alert")),
            Err(e) => Err(Outcome::Retry(e.to_string())),
        }
    }

    /// Publishes once per event (the claim), giving the claim back when SNS
    /// refused the message; one SNS never answered is not published again (at
    /// most once: the claim stays, `unconfirmed`).
    async fn publish_once(
        &self,
        event: &DomainEvent,
        alert: &Alert,
        cancel: bool,
    ) -> Result<(), Outcome> {
        let now = shared::time::now_secs();
        let claim = match self
            .publications
            .take(&event.event_id, &event.kind, &event.user_id, now)
            .await
        {
            Ok(Some(claim)) => claim,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Outcome::Retry(e.to_string())),
        };
        let message = match publication::message(alert, cancel) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(alert_id = %alert.alert_id, error = %e, "alert message not written");
                return Err(Outcome::Dropped("alert message not written"));
            }
        };
        match self
            .sender
            .publish_alert(&self.topic_arn, &message.body, &message.attributes)
            .await
        {
            Ok(message_id) => {
                if let Err(e) = self
                    .publications
                    .sent(&event.event_id, &claim, &message_id, now)
                    .await
                {
                    tracing::warn!(event_id = %event.event_id, error = %e, "publication claim not marked sent");
                }
                tracing::info!(alert_id = %alert.alert_id, msg_type = %message.attributes.msg_type, "alert published");
                Ok(())
            }
            Err(SendError::Refused(code)) => {
                if let Err(e) = self.publications.release(&event.event_id, &claim).await {
                    tracing::error!(event_id = %event.event_id, error = %e, "publication claim not given back");
                }
                Err(Outcome::Retry(format!("sns publish failed: {code}")))
            }
            Err(SendError::Unknown(reason)) => {
                // Perhaps published: never again (the claim stays), and the
                // delivery to citizens goes on.
                tracing::error!(alert_id = %alert.alert_id, event_id = %event.event_id, reason, "sns did not answer: the alert may or may not be on the topic, and is not published again");
                if let Err(e) = self.publications.unconfirmed(&event.event_id, &claim).await {
                    tracing::warn!(event_id = %event.event_id, error = %e, "publication claim not marked unconfirmed");
                }
                Ok(())
            }
        }
    }

    async fn issued(&self, event: &DomainEvent) -> Outcome {
        let alert = match self.alert_of(event).await {
            Ok(a) => a,
            Err(o) => return o,
        };
        // Published even if cancelled since: the Cancel that follows refers to it.
        if let Err(o) = self.publish_once(event, &alert, false).await {
            return o;
        }
        if alert.status != Status::Issued {
            return Outcome::Dropped("alert cancelled before delivery");
        }
        let steps: Vec<Step> = alert
            .regions
            .iter()
            .map(|region| Step::Plan {
                alert_id: alert.alert_id.clone(),
                region: *region,
                page: 0,
                after: None,
            })
            .collect();
        match self.enqueue(&steps).await {
            Ok(()) => Outcome::Sent,
            Err(e) => Outcome::Retry(e),
        }
    }

    async fn cancelled(&self, event: &DomainEvent) -> Outcome {
        let alert = match self.alert_of(event).await {
            Ok(a) => a,
            Err(o) => return o,
        };
        match self.publish_once(event, &alert, true).await {
            Ok(()) => Outcome::Sent,
            Err(o) => o,
        }
    }

    /// The alert if it is still issued; the outcome to end with otherwise.
    async fn live(&self, alert_id: &str) -> Result<Alert, Outcome> {
        match self.alerts.get(alert_id).await {
            Ok(Some(alert)) if alert.status == Status::Issued => Ok(alert),
            Ok(Some(_)) => Err(Outcome::Dropped("alert cancelled")),
            Ok(None) => Err(Outcome::Dropped("no such alert")),
            Err(e) => Err(Outcome::Retry(e.to_string())),
        }
    }

    async fn plan(
        &self,
        alert_id: &str,
        region: Region,
        page: u32,
        after: Option<&str>,
    ) -> Outcome {
        let alert = match self.live(alert_id).await {
            Ok(a) => a,
            Err(o) => return o,
        };
        let Some(position) = alert.regions.iter().position(|r| *r == region) else {
            return Outcome::Dropped("region not in the alert");
        };
        let earlier = &alert.regions[..position];
        let (entries, next) = match self.subscriptions.page(region, after, PLAN_PAGE).await {
            Ok(page) => page,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let recipients: Vec<String> = entries
            .into_iter()
            .filter(|e| e.categories.contains(&alert.category))
            .filter(|e| !e.regions.iter().any(|r| earlier.contains(r)))
            .map(|e| e.user_id)
            .collect();
        if let Err(e) = self
            .count_recipients(&alert, region, page, recipients.len())
            .await
        {
            return Outcome::Retry(e.to_string());
        }
        let mut steps: Vec<Step> = recipients
            .chunks(BATCH_RECIPIENTS)
            .enumerate()
            .map(|(i, chunk)| Step::Batch {
                alert_id: alert.alert_id.clone(),
                batch_id: format!("{}-{page}-{i}", region.code()),
                recipients: chunk.to_vec(),
            })
            .collect();
        if let Some(after) = next {
            steps.push(Step::Plan {
                alert_id: alert.alert_id.clone(),
                region,
                page: page + 1,
                after: Some(after),
            });
        }
        match self.enqueue(&steps).await {
            Ok(()) => Outcome::Sent,
            Err(e) => Outcome::Retry(e),
        }
    }

    /// Adds a page's recipients to the alert, once per page.
    async fn count_recipients(
        &self,
        alert: &Alert,
        region: Region,
        page: u32,
        count: usize,
    ) -> Result<(), StoreError> {
        if count == 0 {
            return Ok(());
        }
        let table = self.alerts.table();
        let now = shared::time::now_secs();
        let mut marker = db::key(
            format!("PLAN#{}#{}#{page}", alert.alert_id, region.code()),
            "PLAN",
        );
        marker.insert("recipients".into(), n(count));
        marker.insert("ttl".into(), n(now + RETENTION_SECS));
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let (pk, sk) = Alert::key(&alert.alert_id);
        let add = Update::builder()
            .table_name(table)
            .set_key(Some(db::key(pk, sk)))
            .update_expression("ADD recipients :n")
            .expression_attribute_values(":n", n(count))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let result = self
            .alerts
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(add).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Counted by an earlier delivery of this step.
            Err(e)
                if db::cancellation_reasons(&e)
                    .is_some_and(|r| r.first().is_some_and(|c| c == "ConditionalCheckFailed")) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// Queues steps, 10 per call; a step SQS refused fails the whole call.
    async fn enqueue(&self, steps: &[Step]) -> Result<(), String> {
        for chunk in steps.chunks(SQS_BATCH) {
            let mut request = self.sqs.send_message_batch().queue_url(&self.queue_url);
            for (i, step) in chunk.iter().enumerate() {
                let body = serde_json::to_string(step).map_err(|e| e.to_string())?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| e.to_string())?;
                request = request.entries(entry);
            }
            let out = request
                .send()
                .await
                .map_err(|e| format!("sqs send: {}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            if !out.failed.is_empty() {
                let codes: Vec<&str> = out.failed.iter().map(|f| f.code.as_str()).collect();
                return Err(format!("sqs refused {} steps: {codes:?}", out.failed.len()));
            }
        }
        Ok(())
    }
}
