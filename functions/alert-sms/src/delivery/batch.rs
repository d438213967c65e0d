//! The *batch* step: text up to [`BATCH_RECIPIENTS`](super::BATCH_RECIPIENTS)
//! citizens of one alert, each once (a conditional claim per alert and
//! citizen), and count what was seen on the alert exactly once (a tally per
//! batch).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use std::time::Instant;

use super::{DEADLINE_MARGIN, Delivery, RETENTION_SECS, SEND_CONCURRENCY};
use crate::Outcome;
use crate::alerts::Alert;
use crate::db::{self, StoreError, n, s};

/// What a recipient of a batch ended as, as this attempt saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Texted (now or before).
    Sent,
    /// The text failed; a retry may send it.
    Failed,
    /// Cannot be texted (no number): counted as failed, not retried.
    Undeliverable,
    /// Claimed by another attempt that is (or was) sending.
    Unknown,
    /// Not tried now (the invocation is ending, or SNS throttled the text and
    /// the claim was given back): the redelivery tries it, nothing is counted.
    Deferred,
}

/// A delivery claim (`DELIVERY#<alertId>#<userId>` / `DELIVERY`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryClaim {
    pk: String,
    sk: String,
    status: String,
    claim_id: String,
    at: i64,
    ttl: i64,
}

/// The totals a batch has added to its alert (`TALLY#<alertId>#<batchId>`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tally {
    #[serde(default)]
    sent: u64,
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    version: u64,
}

impl Delivery {
    /// Texts one batch; `Retry` when a text failed or was deferred (the batch
    /// comes back, and texts only those).
    pub(super) async fn batch(
        &self,
        alert_id: &str,
        batch_id: &str,
        recipients: &[String],
        deadline: Option<Instant>,
    ) -> Outcome {
        let alert = match self.live(alert_id).await {
            Ok(a) => a,
            Err(o) => return o,
        };
        let phones = match self.phones.of_many(recipients).await {
            Ok(p) => p,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let seen: Vec<Result<Seen, StoreError>> = futures::stream::iter(recipients)
            .map(|user_id| self.deliver(&alert, user_id, &phones, deadline))
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        let mut tally = HashMap::<&'static str, u64>::new();
        let mut retry = false;
        for s in &seen {
            match s {
                Ok(Seen::Sent) => *tally.entry("sent").or_default() += 1,
                Ok(Seen::Failed) => {
                    *tally.entry("failed").or_default() += 1;
                    retry = true;
                }
                Ok(Seen::Undeliverable) => *tally.entry("failed").or_default() += 1,
                Ok(Seen::Unknown) => {}
                Ok(Seen::Deferred) | Err(_) => retry = true,
            }
        }
        let sent = tally.get("sent").copied().unwrap_or(0);
        let failed = tally.get("failed").copied().unwrap_or(0);
        if let Err(e) = self.record_tally(&alert, batch_id, sent, failed).await {
            return Outcome::Retry(e.to_string());
        }
        tracing::info!(alert_id, batch_id, sent, failed, "batch delivered");
        if retry {
            Outcome::Retry(format!("{failed} texts failed"))
        } else {
            Outcome::Sent
        }
    }

    /// Claims, texts and records one recipient.
    async fn deliver(
        &self,
        alert: &Alert,
        user_id: &str,
        phones: &HashMap<String, shared::phone::PhoneNumber>,
        deadline: Option<Instant>,
    ) -> Result<Seen, StoreError> {
        if deadline.is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d) {
            return Ok(Seen::Deferred);
        }
        let table = self.alerts.table();
        let db = self.alerts.client();
        let key = db::key(format!("DELIVERY#{}#{user_id}", alert.alert_id), "DELIVERY");
        let now = shared::time::now_secs();
        let claim_id = shared::random::token::<12>();
        let claim = DeliveryClaim {
            pk: format!("DELIVERY#{}#{user_id}", alert.alert_id),
            sk: "DELIVERY".into(),
            status: "sending".into(),
            claim_id: claim_id.clone(),
            at: now,
            ttl: now + RETENTION_SECS,
        };
        // A failed text may be claimed again; a sent or sending one never.
        let taken = db
            .put_item()
            .table_name(table)
            .set_item(Some(db::to_item(&claim)?))
            .condition_expression("attribute_not_exists(pk) OR #status = :failed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s("failed"))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match taken {
            Ok(_) => {}
            Err(e) if db::is_condition_failed(&e) => {
                let status = e
                    .as_service_error()
                    .and_then(|se| match se {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                        _ => None,
                    })
                    .and_then(|item| item.get("status"))
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                return Ok(match status.as_deref() {
                    Some("sent") => Seen::Sent,
                    Some("undeliverable") => Seen::Undeliverable,
                    _ => Seen::Unknown,
                });
            }
            Err(e) => return Err(StoreError::sdk(e)),
        }
        let (status, seen, message_id) = match phones.get(user_id) {
            None => ("undeliverable", Seen::Undeliverable, String::new()),
            Some(phone) => match self.sender.text(phone.e164(), &alert.message).await {
                Ok(id) => ("sent", Seen::Sent, id),
                Err(code) if is_throttling(&code) => ("", Seen::Deferred, String::new()),
                Err(code) => {
                    tracing::warn!(alert_id = %alert.alert_id, to = %phone.masked(), code, "alert text failed");
                    ("failed", Seen::Failed, String::new())
                }
            },
        };
        if seen == Seen::Deferred {
            // SNS's SMS rate quota, not a failure: give the claim back (only
            // ours) so that the redelivery texts this citizen.
            let released = db
                .delete_item()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression("claimId = :claim")
                .expression_attribute_values(":claim", s(claim_id))
                .send()
                .await;
            if let Err(e) = released {
                tracing::warn!(alert_id = %alert.alert_id, error = %StoreError::sdk(e), "throttled claim not given back");
                return Ok(Seen::Unknown);
            }
            return Ok(Seen::Deferred);
        }
        let marked = db
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .update_expression("SET #status = :status, messageId = :message")
            .condition_expression("claimId = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":message", s(message_id))
            .expression_attribute_values(":claim", s(claim_id))
            .send()
            .await;
        if let Err(e) = marked {
            // The claim stays `sending`: never texted again (at most once), and
            // not counted by this attempt.
            tracing::warn!(alert_id = %alert.alert_id, error = %StoreError::sdk(e), "delivery claim not marked");
            return Ok(Seen::Unknown);
        }
        Ok(seen)
    }

    /// Moves the batch's totals on the alert to what this attempt saw, adding
    /// only the difference to what earlier attempts added.
    async fn record_tally(
        &self,
        alert: &Alert,
        batch_id: &str,
        sent: u64,
        failed: u64,
    ) -> Result<(), StoreError> {
        let table = self.alerts.table();
        let db = self.alerts.client();
        let key = db::key(format!("TALLY#{}#{batch_id}", alert.alert_id), "TALLY");
        for _ in 0..3 {
            let old: Tally = db
                .get_item()
                .table_name(table)
                .set_key(Some(key.clone()))
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::sdk)?
                .item
                .map(db::from_item)
                .transpose()?
                .unwrap_or_default();
            // `sent` only grows; an attempt that saw fewer (another one is
            // still at work) leaves the tally to the one that saw more.
            if sent < old.sent || (sent == old.sent && failed == old.failed) {
                return Ok(());
            }
            let mut item = key.clone();
            item.insert("sent".into(), n(sent));
            item.insert("failed".into(), n(failed));
            item.insert("version".into(), n(old.version + 1));
            item.insert("ttl".into(), n(shared::time::now_secs() + RETENTION_SECS));
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR version = :version")
                .expression_attribute_values(":version", n(old.version))
                .build()
                .map_err(|e| StoreError(e.to_string()))?;
            let (pk, sk) = Alert::key(&alert.alert_id);
            let delta_sent = i128::from(sent) - i128::from(old.sent);
            let delta_failed = i128::from(failed) - i128::from(old.failed);
            let add = Update::builder()
                .table_name(table)
                .set_key(Some(db::key(pk, sk)))
                .update_expression("ADD sent :sent, failed :failed")
                .expression_attribute_values(":sent", n(delta_sent))
                .expression_attribute_values(":failed", n(delta_failed))
                .build()
                .map_err(|e| StoreError(e.to_string()))?;
            let result = db
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().update(add).build())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if db::cancellation_reasons(&e).is_some() => continue,
                Err(e) => return Err(StoreError::sdk(e)),
            }
        }
        Err(StoreError("the batch tally kept changing".into()))
    }
}

/// SNS's answers to a send rate over the account's quota.
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling" | "ThrottlingException" | "ThrottledException" | "TooManyRequestsException"
    )
}
