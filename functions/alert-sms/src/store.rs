//! Alerts in the function's table, every change of status one transaction.
//!
//! Items besides the alert itself (`ALERT#<id>` / `ALERT`), so that every read
//! is a key or range read, never a Scan:
//!
//! - `PENDING` / `<createdAt>#<id>`: the approval queue, oldest first; removed
//!   when the alert is approved or cancelled.
//! - `RECENT#<region>` / `<createdAt>#<id>` with the category: the 24-hour
//!   duplicate check; removed when the alert is cancelled, expired by TTL.
//! - `ISSUED#<region>` / `<issuedAt>#<id>`: the public list of a region, newest
//!   first; written by the approval, removed by a cancellation, expired by TTL.
//! - the outbox item of `alert.issued` / `alert.cancelled`, in the same
//!   transaction as the change, carried to the delivery queue by the table's
//!   pipe (publication and delivery happen from there, at least once, and
//!   never for an alert whose approval did not commit).
//!
//! Times in sort keys are zero-padded Unix seconds, so they sort as numbers.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use shared::events::DomainEvent;
use shared::events::payloads::{AlertCancelled, AlertIssued};

use crate::alerts::{Alert, Category, RECENT_WINDOW_SECS, Region, Status};
use crate::db::{self, Item, StoreError, n, s};

/// How long the region index items live (TTL): past the 24-hour windows.
const INDEX_TTL_SECS: i64 = 2 * 86_400;

/// Why a change of status did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// No such alert.
    #[error("no such alert")]
    NotFound,
    /// The alert changed since the caller read it (412).
    #[error("the alert changed (version {0})")]
    Stale(u64),
    /// Not allowed from the alert's status (409).
    #[error("not allowed from status {0:?}")]
    InvalidTransition(Status),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An alert of the same category for an overlapping region, in the last 24 h.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleDuplicate {
    /// The earlier alert.
    pub alert_id: String,
}

/// A region index item (`RECENT#...` and `ISSUED#...`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexItem {
    pk: String,
    sk: String,
    alert_id: String,
    category: Category,
    ttl: i64,
}

/// The index entry `<pk>` / `<secs>#<alertId>` of `alert`, as a transaction part.
fn index_put(
    table: &str,
    pk: String,
    secs: i64,
    alert: &Alert,
    ttl: i64,
) -> Result<TransactWriteItem, StoreError> {
    let entry = IndexItem {
        pk,
        sk: format!("{}#{}", padded(secs), alert.alert_id),
        alert_id: alert.alert_id.clone(),
        category: alert.category,
        ttl,
    };
    put(table, db::to_item(&entry)?, None)
}

fn padded(secs: i64) -> String {
    format!("{secs:010}")
}

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(|e| StoreError(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(db::key(pk, sk)))
        .build()
        .map_err(|e| StoreError(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn outbox(
    table: &str,
    event: Result<DomainEvent, shared::events::EventError>,
) -> Result<TransactWriteItem, StoreError> {
    event
        .and_then(|e| e.outbox_put(table))
        .map_err(|e| StoreError(e.to_string()))
}

/// The alerts of one table.
#[derive(Debug, Clone)]
pub struct Alerts {
    db: Client,
    table: String,
}

impl Alerts {
    /// Alerts in `table`.
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.db
    }

    /// An alert of `category` for one of `regions` created after `since`
    /// (Unix seconds) and not cancelled, if any.
    pub async fn recent_duplicate(
        &self,
        category: Category,
        regions: &[Region],
        since: i64,
    ) -> Result<Option<PossibleDuplicate>, StoreError> {
        for region in regions {
            let out = self
                .db
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk > :since")
                .filter_expression("category = :category")
                .expression_attribute_values(":pk", s(format!("RECENT#{}", region.code())))
                .expression_attribute_values(":since", s(padded(since)))
                .expression_attribute_values(":category", s(category.as_str()))
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            if let Some(item) = out.items.unwrap_or_default().into_iter().next() {
                let index: IndexItem = db::from_item(item)?;
                return Ok(Some(PossibleDuplicate {
                    alert_id: index.alert_id,
                }));
            }
        }
        Ok(None)
    }

    /// Stores a new pending alert with its queue and duplicate-check entries.
    pub async fn create(&self, alert: &Alert) -> Result<(), StoreError> {
        let t = &self.table;
        let mut items = vec![
            put(t, db::to_item(alert)?, Some("attribute_not_exists(pk)"))?,
            index_put(
                t,
                "PENDING".into(),
                alert.created_at,
                alert,
                alert.created_at + 30 * 86_400,
            )?,
        ];
        for region in &alert.regions {
            items.push(index_put(
                t,
                format!("RECENT#{}", region.code()),
                alert.created_at,
                alert,
                alert.created_at + INDEX_TTL_SECS,
            )?);
        }
        self.db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// The alert `alert_id` (strongly consistent).
    pub async fn get(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let (pk, sk) = Alert::key(alert_id);
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(db::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.item.map(db::from_item).transpose()
    }

    /// Alerts by id, in the order of `ids` (missing ones left out).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Alert>, StoreError> {
        let keys = ids
            .iter()
            .map(|id| {
                let (pk, sk) = Alert::key(id);
                db::key(pk, sk)
            })
            .collect();
        let mut found: Vec<Alert> = db::batch_get(&self.db, &self.table, keys, None)
            .await?
            .into_iter()
            .map(db::from_item)
            .collect::<Result<_, _>>()?;
        found.sort_by_key(|a| ids.iter().position(|id| *id == a.alert_id));
        Ok(found)
    }

    /// Issues `alert` (read at `alert.version`), approved by `approver`: status,
    /// public list entries and the `alert.issued` event, together.
    pub async fn approve(
        &self,
        alert: &Alert,
        approver: &str,
        now: i64,
    ) -> Result<Alert, ChangeError> {
        if alert.status != Status::PendingApproval {
            return Err(ChangeError::InvalidTransition(alert.status));
        }
        let t = &self.table;
        let (pk, sk) = Alert::key(&alert.alert_id);
        let update = Update::builder()
            .table_name(t)
            .set_key(Some(db::key(pk, sk)))
            .update_expression(
                "SET #status = :issued, approvedBy = :approver, issuedAt = :now, version = :next, \
                 recipients = :zero, sent = :zero, failed = :zero",
            )
            .condition_expression("version = :version AND #status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":issued", s(Status::Issued.as_str()))
            .expression_attribute_values(":pending", s(Status::PendingApproval.as_str()))
            .expression_attribute_values(":approver", s(approver))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":version", n(alert.version))
            .expression_attribute_values(":next", n(alert.version + 1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            delete(
                t,
                "PENDING".into(),
                format!("{}#{}", padded(alert.created_at), alert.alert_id),
            )?,
            outbox(
                t,
                DomainEvent::at(
                    approver,
                    &AlertIssued {
                        alert_id: alert.alert_id.clone(),
                    },
                    now,
                ),
            )?,
        ];
        for region in &alert.regions {
            items.push(index_put(
                t,
                format!("ISSUED#{}", region.code()),
                now,
                alert,
                now + INDEX_TTL_SECS,
            )?);
        }
        let mut issued = alert.clone();
        issued.status = Status::Issued;
        issued.approved_by = Some(approver.to_owned());
        issued.issued_at = Some(now);
        issued.version += 1;
        self.commit(alert, items, |current| {
            current.status == Status::Issued
                && current.version == issued.version
                && current.approved_by == issued.approved_by
                && current.issued_at == issued.issued_at
        })
        .await?;
        Ok(issued)
    }

    /// Cancels `alert` (read at `alert.version`): status, the removal of its
    /// queue and list entries, and (if it was issued) the `alert.cancelled`
    /// event, together.
    pub async fn cancel(&self, alert: &Alert, by: &str, now: i64) -> Result<Alert, ChangeError> {
        if alert.status == Status::Cancelled {
            return Err(ChangeError::InvalidTransition(alert.status));
        }
        let t = &self.table;
        let (pk, sk) = Alert::key(&alert.alert_id);
        let update = Update::builder()
            .table_name(t)
            .set_key(Some(db::key(pk, sk)))
            .update_expression(
                "SET #status = :cancelled, cancelledBy = :by, cancelledAt = :now, version = :next",
            )
            .condition_expression("version = :version AND #status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(Status::Cancelled.as_str()))
            .expression_attribute_values(":status", s(alert.status.as_str()))
            .expression_attribute_values(":by", s(by))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":version", n(alert.version))
            .expression_attribute_values(":next", n(alert.version + 1))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        let suffix = |secs: i64| format!("{}#{}", padded(secs), alert.alert_id);
        match (alert.status, alert.issued_at) {
            (Status::Issued, Some(issued_at)) => {
                items.push(outbox(
                    t,
                    DomainEvent::at(
                        by,
                        &AlertCancelled {
                            alert_id: alert.alert_id.clone(),
                        },
                        now,
                    ),
                )?);
                for region in &alert.regions {
                    items.push(delete(
                        t,
                        format!("ISSUED#{}", region.code()),
                        suffix(issued_at),
                    )?);
                }
            }
            _ => items.push(delete(t, "PENDING".into(), suffix(alert.created_at))?),
        }
        for region in &alert.regions {
            items.push(delete(
                t,
                format!("RECENT#{}", region.code()),
                suffix(alert.created_at),
            )?);
        }
        let mut cancelled = alert.clone();
        cancelled.status = Status::Cancelled;
        cancelled.cancelled_by = Some(by.to_owned());
        cancelled.cancelled_at = Some(now);
        cancelled.version += 1;
        self.commit(alert, items, |current| {
            current.status == Status::Cancelled
                && current.version == cancelled.version
                && current.cancelled_by == cancelled.cancelled_by
                && current.cancelled_at == cancelled.cancelled_at
        })
        .await?;
        Ok(cancelled)
    }

    /// Runs a change of `alert`; a failed condition on the alert is told apart
    /// (it changed: stale, or another status) by reading it again. The change
    /// found made already, as `made` tells (this very change: the SDK retried a
    /// transaction whose first answer was lost, and the retry met its write),
    /// is a success, not a conflict with itself.
    async fn commit(
        &self,
        alert: &Alert,
        items: Vec<TransactWriteItem>,
        made: impl Fn(&Alert) -> bool,
    ) -> Result<(), ChangeError> {
        let result = self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = result else {
            return Ok(());
        };
        let Some(reasons) = db::cancellation_reasons(&e) else {
            return Err(StoreError::sdk(e).into());
        };
        let conflict = reasons.iter().any(|r| r == "TransactionConflict");
        if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") || conflict {
            // Someone else changed it first (or is changing it right now).
            return match self.get(&alert.alert_id).await? {
                None => Err(ChangeError::NotFound),
                Some(now) if made(&now) => Ok(()),
                Some(now) if now.version != alert.version => Err(ChangeError::Stale(now.version)),
                Some(now) if conflict => Err(ChangeError::Stale(now.version)),
                Some(now) => Err(ChangeError::InvalidTransition(now.status)),
            };
        }
        Err(StoreError(format!("transaction cancelled: {reasons:?}")).into())
    }

    /// One page of the approval queue, oldest first: the alerts and the
    /// position after the last one.
    pub async fn pending(
        &self,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Alert>, Option<String>), StoreError> {
        self.index_page("PENDING", None, true, limit, after).await
    }

    /// One page of the alerts issued for `region` after `since` and not
    /// cancelled, newest first.
    pub async fn issued_in(
        &self,
        region: Region,
        since: i64,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Alert>, Option<String>), StoreError> {
        let pk = format!("ISSUED#{}", region.code());
        self.index_page(&pk, Some(padded(since)), false, limit, after)
            .await
    }

    async fn index_page(
        &self,
        pk: &str,
        floor: Option<String>,
        oldest_first: bool,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Alert>, Option<String>), StoreError> {
        let mut query = self
            .db
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(oldest_first)
            .limit(limit);
        query = match &floor {
            Some(f) => query
                .key_condition_expression("pk = :pk AND sk > :floor")
                .expression_attribute_values(":floor", s(f)),
            None => query.key_condition_expression("pk = :pk"),
        };
        if let Some(after) = after {
            query = query
                .exclusive_start_key("pk", s(pk))
                .exclusive_start_key("sk", s(after));
        }
        let out = query.send().await.map_err(StoreError::sdk)?;
        let (entries, next): (Vec<IndexItem>, _) =
            db::page(out.items, out.last_evaluated_key, "sk")?;
        let ids: Vec<String> = entries.iter().map(|e| e.alert_id.clone()).collect();
        let alerts = self.get_many(&ids).await?;
        // Entries outlive a change only within the same transaction's gap:
        // show each alert as it is now, and only what the list promises.
        let alerts = alerts
            .into_iter()
            .filter(|a| match pk {
                "PENDING" => a.status == Status::PendingApproval,
                _ => a.status == Status::Issued,
            })
            .collect();
        Ok((alerts, next))
    }

    /// Whether the window of the duplicate check starts at `now`.
    pub fn duplicate_window_start(now: i64) -> i64 {
        now - RECENT_WINDOW_SECS
    }
}
