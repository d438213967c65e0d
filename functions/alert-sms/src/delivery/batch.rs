//! The *batch* step: text up to [`BATCH_RECIPIENTS`](super::BATCH_RECIPIENTS)
//! citizens of one alert, each once (a conditional claim per alert and
//! citizen), and count what was seen on the alert exactly once (a tally per
//! batch of who was counted sent and who failed).
//!
//! A text SNS never answered may have gone out: its claim becomes
//! `unconfirmed`, it is counted `failed` and never sent again (at most once).
//! A claim whose write's answer was lost is recognised by its `claimId` (the
//! SDK's retry takes it as its own) or given back (a failed take), so that
//! the redelivery texts that citizen; a failed text whose mark could not be
//! written is given back too, and a sent one is counted sent all the same.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use std::time::Instant;

use super::{DEADLINE_MARGIN, Delivery, RETENTION_SECS, SEND_CONCURRENCY};
use crate::Outcome;
use crate::alerts::Alert;
use crate::claims::holder;
use crate::db::{self, StoreError, n, s};
use crate::sns::SendError;

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
    /// Handed to SNS, which never answered: perhaps sent, never sent again;
    /// counted as failed, not retried.
    Unconfirmed,
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

/// What a batch has added to its alert (`TALLY#<alertId>#<batchId>`): who
/// was counted sent and who failed (each citizen once, whichever attempt saw
/// them), and the totals.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tally {
    #[serde(default)]
    sent: u64,
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    sent_to: BTreeSet<String>,
    #[serde(default)]
    failed_for: BTreeSet<String>,
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
        let (alert, phones) = (&alert, &phones);
        let seen: Vec<(&String, Result<Seen, StoreError>)> = futures::stream::iter(recipients)
            .map(|user_id| async move {
                (
                    user_id,
                    self.deliver(alert, user_id, phones, deadline).await,
                )
            })
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        let mut sent = BTreeSet::new();
        let mut failed = BTreeSet::new();
        let mut retry = false;
        for (user_id, s) in seen {
            match s {
                Ok(Seen::Sent) => {
                    sent.insert(user_id.clone());
                }
                Ok(Seen::Failed) => {
                    failed.insert(user_id.clone());
                    retry = true;
                }
                Ok(Seen::Undeliverable | Seen::Unconfirmed) => {
                    failed.insert(user_id.clone());
                }
                Ok(Seen::Unknown) => {}
                Ok(Seen::Deferred) | Err(_) => retry = true,
            }
        }
        let (sent_now, failed_now) = (sent.len(), failed.len());
        if let Err(e) = self.record_tally(alert, batch_id, sent, failed).await {
            return Outcome::Retry(e.to_string());
        }
        tracing::info!(
            alert_id,
            batch_id,
            sent = sent_now,
            failed = failed_now,
            "batch delivered"
        );
        if retry {
            Outcome::Retry(format!("{failed_now} texts failed"))
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
            // Ours: the SDK retried a write whose first answer was lost.
            Err(e) if db::is_condition_failed(&e) && holder(&e) == Some(&claim_id) => {}
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
                    Some("unconfirmed") => Seen::Unconfirmed,
                    _ => Seen::Unknown,
                });
            }
            Err(e) => {
                // Perhaps written with its answer lost: give it back if it is
                // ours, or the redelivery would find it `sending` and never
                // text this citizen.
                if !self.release(alert, key, &claim_id).await {
                    tracing::error!(alert_id = %alert.alert_id, "a delivery claim whose write failed could not be given back: this citizen will not be texted");
                }
                return Err(StoreError::sdk(e));
            }
        }
        let (status, seen, message_id) = match phones.get(user_id) {
            None => ("undeliverable", Seen::Undeliverable, String::new()),
            Some(phone) => match self.sender.text(phone.e164(), &alert.message).await {
                Ok(id) => ("sent", Seen::Sent, id),
                Err(SendError::Refused(code)) if is_throttling(&code) => {
                    ("", Seen::Deferred, String::new())
                }
                Err(SendError::Refused(code)) => {
                    tracing::warn!(alert_id = %alert.alert_id, to = %phone.masked(), code, "alert text failed");
                    ("failed", Seen::Failed, String::new())
                }
                Err(SendError::Unknown(reason)) => {
                    tracing::error!(alert_id = %alert.alert_id, to = %phone.masked(), reason, "sns did not answer: the alert text may or may not have been sent, and is not sent again");
                    ("unconfirmed", Seen::Unconfirmed, String::new())
                }
            },
        };
        if seen == Seen::Deferred {
            // SNS's SMS rate quota, not a failure: give the claim back (only
            // ours) so that the redelivery texts this citizen.
            if !self.release(alert, key, &claim_id).await {
                return Ok(Seen::Unknown);
            }
            return Ok(Seen::Deferred);
        }
        let marked = db
            .update_item()
            .table_name(table)
            .set_key(Some(key.clone()))
            .update_expression("SET #status = :status, messageId = :message")
            .condition_expression("claimId = :claim")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":message", s(message_id))
            .expression_attribute_values(":claim", s(&claim_id))
            .send()
            .await;
        if let Err(e) = marked {
            tracing::warn!(alert_id = %alert.alert_id, error = %StoreError::sdk(e), "delivery claim not marked");
            // The claim stays `sending`: never texted again (at most once).
            // What this attempt saw still counts (the tally remembers whom),
            // except a failed text, whose claim is given back so that the
            // redelivery tries it again.
            if seen == Seen::Failed && !self.release(alert, key, &claim_id).await {
                return Ok(Seen::Unknown);
            }
        }
        Ok(seen)
    }

    /// Gives back the delivery claim `key` if it is still ours (`claim_id`);
    /// whether it is gone.
    async fn release(&self, alert: &Alert, key: db::Item, claim_id: &str) -> bool {
        let released = self
            .alerts
            .client()
            .delete_item()
            .table_name(self.alerts.table())
            .set_key(Some(key))
            .condition_expression("claimId = :claim")
            .expression_attribute_values(":claim", s(claim_id))
            .send()
            .await;
        match released {
            Ok(_) => true,
            // Not ours (or gone): nothing of ours to give back.
            Err(e) if db::is_condition_failed(&e) => true,
            Err(e) => {
                tracing::warn!(alert_id = %alert.alert_id, error = %StoreError::sdk(e), "delivery claim not given back");
                false
            }
        }
    }

    /// Adds to the batch's tally whom this attempt saw sent and failed (a
    /// citizen once sent stays sent; one failed before and sent now moves),
    /// and to the alert's counters only the difference this makes.
    async fn record_tally(
        &self,
        alert: &Alert,
        batch_id: &str,
        sent: BTreeSet<String>,
        failed: BTreeSet<String>,
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
            // Who is counted only grows: what another attempt saw (one still
            // at work, or one that could not read a claim this one can) stays.
            let mut sent_to: BTreeSet<String> = old.sent_to.union(&sent).cloned().collect();
            let mut failed_for: BTreeSet<String> = old
                .failed_for
                .union(&failed)
                .filter(|user_id| !sent_to.contains(*user_id))
                .cloned()
                .collect();
            let (mut sent_total, mut failed_total) =
                (sent_to.len() as u64, failed_for.len() as u64);
            if old.sent_to.is_empty() && old.failed_for.is_empty() && old.sent + old.failed > 0 {
                // A tally written before tallies named whom: its totals only,
                // moved to what this attempt saw when it saw more sent.
                if sent_total < old.sent {
                    return Ok(());
                }
                sent_to.clear();
                failed_for.clear();
                (sent_total, failed_total) = (sent.len() as u64, failed.len() as u64);
            }
            if sent_to == old.sent_to
                && failed_for == old.failed_for
                && sent_total == old.sent
                && failed_total == old.failed
            {
                return Ok(());
            }
            let mut item = key.clone();
            item.insert("sent".into(), n(sent_total));
            item.insert("failed".into(), n(failed_total));
            item.insert("sentTo".into(), string_list(&sent_to));
            item.insert("failedFor".into(), string_list(&failed_for));
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
            let delta_sent = i128::from(sent_total) - i128::from(old.sent);
            let delta_failed = i128::from(failed_total) - i128::from(old.failed);
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

/// User ids as a DynamoDB list (a string set may not be empty).
fn string_list(ids: &BTreeSet<String>) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::L(ids.iter().map(s).collect())
}
