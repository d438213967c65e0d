//! Issued certificates and their verification log in the certificate table.
//!
//! - `CERT#<issueNumber>` / `META`: the record (owner, type, subject, issue time,
//!   SHA-256 of the PDF, object key, status);
//! - `OWNER#<userId>` / `CERT#<issuedAt>#<issueNumber>`: the owner's list entry
//!   (a copy of the record's public fields, newest first when queried backwards);
//! - `CERT#<issueNumber>` / `CHECK#<checkedAt>#<random>`: one verification;
//! - `ISSUE#<userId>#<Idempotency-Key>` / `ISSUE`: which certificate the issue
//!   request with that key made (and its fingerprint), for the idempotency
//!   window.
//!
//! The record, the list entry and the request's key are written together in
//! one transaction, with the event that reports it (the outbox item of
//! `shared::events`), so the list never shows a state the record does not have
//! and every issue and revocation is reported exactly once. The key item is what
//! makes a retried issue find its certificate when the answer to the
//! transaction was lost (the write happened, the client got a 5xx and retried:
//! the idempotency record was given back, so only this tells that the request
//! already issued one).
//! Records stay for [`RETENTION_SECS`] so that expired certificates answer
//! `expired`, not `unknown`.
//!
//! Items are mapped with serde_dynamo (the `item` module): [`Record`],
//! [`Entry`], [`Check`] and the request's key are each written beside their
//! key and `ttl`, and read back as those types.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::dynamo::{Item, key, n, s};
use shared::events::DomainEvent;
use shared::events::payloads::{CertificateIssued, CertificateRevoked};

use crate::documents::Kind;

mod item;

pub use item::{StoreError, from_item, from_items, to_item};

/// How long records and verification logs are kept (5 years).
pub const RETENTION_SECS: i64 = 5 * 365 * 86_400;

/// Whether a certificate still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Issued and not revoked.
    Issued,
    /// Revoked by its owner.
    Revoked,
}

impl Status {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Issued => "issued",
            Status::Revoked => "revoked",
        }
    }
}

/// An issued certificate, as its item (`CERT#<issueNumber>` / `META`) holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// The type.
    #[serde(rename = "type", with = "item::kind_code")]
    pub kind: Kind,
    /// The citizen who issued it.
    pub owner_id: String,
    /// What it is about: the parcel number, or the masked name.
    pub subject: String,
    /// When it was issued (KST).
    #[serde(with = "item::rfc3339")]
    pub issued_at: DateTime<FixedOffset>,
    /// SHA-256 of the PDF, lowercase hex.
    pub sha256: String,
    /// The S3 key of the PDF.
    pub object_key: String,
    /// Issued or revoked.
    pub status: Status,
    /// When it was revoked (set by [`revoke`]'s update: absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl Record {
    fn list_sk(&self) -> String {
        format!("CERT#{}#{}", self.issued_at.to_rfc3339(), self.issue_number)
    }

    /// Deleted by DynamoDB [`RETENTION_SECS`] after the issue.
    fn ttl(&self) -> i64 {
        self.issued_at.timestamp() + RETENTION_SECS
    }
}

/// Why a record could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The issue number is taken (draw another).
    #[error("issue number taken")]
    Taken,
    /// The request's key already issued a certificate (an earlier attempt of
    /// the same request, whose answer was lost).
    #[error("this request already issued certificate {}", .0.issue_number)]
    Issued(Earlier),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The issue request a certificate is stored for: who sent it, its
/// Idempotency-Key and its fingerprint (`shared::idempotency::Idempotency::fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The citizen.
    pub owner_id: String,
    /// The Idempotency-Key.
    pub key: String,
    /// Method, path and body, hashed.
    pub fingerprint: String,
}

impl RequestKey {
    fn pk(&self) -> String {
        format!("ISSUE#{}#{}", self.owner_id, self.key)
    }
}

/// The item of an issue request's key (`ISSUE#<userId>#<key>` / `ISSUE`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueKey {
    /// The certificate the request issued.
    issue_number: String,
    /// The request's fingerprint.
    fingerprint: String,
    /// When (Unix seconds): what the idempotency window is counted from.
    created_at: i64,
}

/// A certificate an earlier attempt of a request issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    /// Its issue number.
    pub issue_number: String,
    /// The fingerprint of the request that issued it.
    pub fingerprint: String,
}

/// The certificate the request with `request`'s key issued within the
/// idempotency window before `now`, if any.
pub async fn issued_for(
    db: &Client,
    table: &str,
    request: &RequestKey,
    now: i64,
) -> Result<Option<Earlier>, StoreError> {
    let out = db
        .get_item()
        .table_name(table)
        .set_key(Some(key(request.pk(), "ISSUE")))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let found: IssueKey = from_item(item)?;
    // TTL deletes late: an expired key names nothing.
    if found.created_at < now - shared::idempotency::WINDOW_SECS {
        return Ok(None);
    }
    Ok(Some(Earlier {
        issue_number: found.issue_number,
        fingerprint: found.fingerprint,
    }))
}

/// A transaction's put.
fn transact_put(put: PutBuilder) -> Result<TransactWriteItem, StoreError> {
    let put = put.build().map_err(|e| StoreError::Data(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The items [`insert`] writes at `now` (Unix seconds): the record, its list
/// entry and the request's key.
fn issue_items(r: &Record, request: &RequestKey, now: i64) -> Result<[Item; 3], StoreError> {
    let meta = to_item(format!("CERT#{}", r.issue_number), "META", r, Some(r.ttl()))?;
    let entry = to_item(
        format!("OWNER#{}", r.owner_id),
        r.list_sk(),
        &Entry::of(r),
        Some(r.ttl()),
    )?;
    let issue_key = IssueKey {
        issue_number: r.issue_number.clone(),
        fingerprint: request.fingerprint.clone(),
        created_at: now,
    };
    let key_ttl = now + shared::idempotency::WINDOW_SECS + 3600;
    let key_item = to_item(request.pk(), "ISSUE", &issue_key, Some(key_ttl))?;
    Ok([meta, entry, key_item])
}

/// Stores a new record, its list entry, the key of the `request` that issued
/// it and its `certificate.issued` event, atomically; fails with
/// [`InsertError::Taken`] if the number exists, and with
/// [`InsertError::Issued`] if the request's key already issued one.
pub async fn insert(
    db: &Client,
    table: &str,
    r: &Record,
    request: &RequestKey,
) -> Result<(), InsertError> {
    let issued = CertificateIssued {
        issue_number: r.issue_number.clone(),
        kind: r.kind.as_str().to_owned(),
    };
    let event = DomainEvent::at(&r.owner_id, &issued, r.issued_at.timestamp())
        .and_then(|e| e.outbox_put(table))
        .map_err(|e| StoreError::Data(e.to_string()))?;
    let now = shared::time::now_secs();
    let [meta, entry, key_item] = issue_items(r, request, now)?;
    let result = db
        .transact_write_items()
        .transact_items(transact_put(
            Put::builder()
                .table_name(table)
                .set_item(Some(meta))
                .condition_expression("attribute_not_exists(pk)"),
        )?)
        .transact_items(transact_put(
            Put::builder().table_name(table).set_item(Some(entry)),
        )?)
        .transact_items(event)
        .transact_items(transact_put(
            Put::builder()
                .table_name(table)
                .set_item(Some(key_item))
                .condition_expression("attribute_not_exists(pk) OR createdAt < :windowStart")
                .expression_attribute_values(
                    ":windowStart",
                    n(now - shared::idempotency::WINDOW_SECS),
                ),
        )?)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        // The number or the request's key: the key item tells which.
        Err(e) if is_condition_failed(&e) => match issued_for(db, table, request, now).await? {
            Some(earlier) => Err(InsertError::Issued(earlier)),
            None => Err(InsertError::Taken),
        },
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

fn is_condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().is_some_and(|se| {
        se.code() == Some("TransactionCanceledException")
            && se
                .message()
                .is_some_and(|m| m.contains("ConditionalCheckFailed"))
    }) || e
        .as_service_error()
        .is_some_and(|se| se.code() == Some("ConditionalCheckFailedException"))
}

/// The record of `issue_number`.
pub async fn get(
    db: &Client,
    table: &str,
    issue_number: &str,
) -> Result<Option<Record>, StoreError> {
    let out = db
        .get_item()
        .table_name(table)
        .set_key(Some(key(format!("CERT#{issue_number}"), "META")))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.item.map(from_item).transpose()
}

/// Marks `r` revoked: record, list entry and the `certificate.revoked` event in
/// one transaction, conditioned on the record still being issued, so revoking
/// twice (even at the same moment) keeps the first revocation time and gives
/// one event.
pub async fn revoke(db: &Client, table: &str, r: &Record, at: &str) -> Result<Record, StoreError> {
    if r.status == Status::Revoked {
        return Ok(r.clone());
    }
    // An update, not a put: two attributes change, the rest stays as issued.
    let update = |pk: String, sk: String| {
        Update::builder()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #status = :revoked, revokedAt = :at")
            .condition_expression("#status = :issued")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":revoked", s(Status::Revoked.as_str()))
            .expression_attribute_values(":issued", s(Status::Issued.as_str()))
            .expression_attribute_values(":at", s(at))
            .build()
            .map_err(|e| StoreError::Data(e.to_string()))
    };
    let revoked = CertificateRevoked {
        issue_number: r.issue_number.clone(),
        kind: r.kind.as_str().to_owned(),
    };
    for _ in 0..3 {
        let event = DomainEvent::new(&r.owner_id, &revoked)
            .and_then(|e| e.outbox_put(table))
            .map_err(|e| StoreError::Data(e.to_string()))?;
        let result = db
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(update(format!("CERT#{}", r.issue_number), "META".into())?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(update(format!("OWNER#{}", r.owner_id), r.list_sk())?)
                    .build(),
            )
            .transact_items(event)
            .send()
            .await;
        match result {
            Ok(_) => break,
            // Revoked meanwhile by another request (that one wrote the event),
            // or a transaction on the same items at the same moment: look again.
            Err(e) if is_cancelled(&e) => {
                let current = get(db, table, &r.issue_number).await?;
                if current.as_ref().is_none_or(|c| c.status == Status::Revoked) {
                    break;
                }
            }
            Err(e) => return Err(StoreError::from_sdk(e)),
        }
    }
    get(db, table, &r.issue_number)
        .await?
        .ok_or_else(|| StoreError::Data("the revoked record vanished".into()))
}

fn is_cancelled<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.code() == Some("TransactionCanceledException"))
}

/// One page of the items of partition `pk` whose sort key starts with
/// `prefix`, as `T`s, newest (highest sort key) first, resuming after the sort
/// key `after`; returns the page and, when more follow, the sort key to resume
/// after.
async fn newest_first<T: DeserializeOwned>(
    db: &Client,
    table: &str,
    pk: &str,
    prefix: &str,
    limit: i32,
    after: Option<String>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let out = db
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":prefix", s(prefix))
        .scan_index_forward(false)
        // One item beyond the page tells whether another page exists.
        .limit(limit + 1)
        .set_exclusive_start_key(after.map(|sk| key(pk, sk)))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let mut items = out.items.unwrap_or_default();
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut next = None;
    if items.len() > limit {
        items.truncate(limit);
        // Read before the items are mapped: the sort key is not theirs.
        next = items
            .last()
            .and_then(|i| i.get("sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
    }
    Ok((from_items(items)?, next))
}

/// One entry of an owner's list (`OWNER#<userId>` / `CERT#<issuedAt>#<issueNumber>`):
/// the record's public fields, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Issue number.
    pub issue_number: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// Issue time (RFC 3339).
    pub issued_at: String,
    /// Status as stored.
    pub status: String,
    /// SHA-256 of the PDF.
    pub sha256: String,
}

impl Entry {
    /// The entry of `r`.
    fn of(r: &Record) -> Self {
        Entry {
            issue_number: r.issue_number.clone(),
            kind: r.kind.as_str().to_owned(),
            subject: r.subject.clone(),
            issued_at: r.issued_at.to_rfc3339(),
            status: r.status.as_str().to_owned(),
            sha256: r.sha256.clone(),
        }
    }
}

/// A page of `owner_id`'s certificates, newest first, after the list key
/// `after`; returns the key to resume after.
pub async fn list(
    db: &Client,
    table: &str,
    owner_id: &str,
    limit: i32,
    after: Option<String>,
) -> Result<(Vec<Entry>, Option<String>), StoreError> {
    let pk = format!("OWNER#{owner_id}");
    newest_first(db, table, &pk, "CERT#", limit, after).await
}

/// How a certificate was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// By issue number.
    Number,
    /// By uploading the PDF.
    Pdf,
}

impl Channel {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Number => "number",
            Channel::Pdf => "pdf",
        }
    }
}

/// One verification of a certificate (`CERT#<issueNumber>` /
/// `CHECK#<checkedAt>#<random>`), as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// When (RFC 3339, milliseconds).
    pub checked_at: String,
    /// `number` or `pdf`.
    pub channel: String,
    /// What the checker was told: `valid`, or the reason it was not.
    pub result: String,
}

/// The item of a verification of `issue_number` at `now`.
fn check_item(
    issue_number: &str,
    channel: Channel,
    result: &str,
    now: DateTime<FixedOffset>,
) -> Result<Item, StoreError> {
    let checked_at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    // The random part keeps two checks of the same millisecond apart.
    let sk = format!("CHECK#{checked_at}#{}", shared::random::token::<6>());
    let check = Check {
        checked_at,
        channel: channel.as_str().to_owned(),
        result: result.to_owned(),
    };
    let ttl = now.timestamp() + RETENTION_SECS;
    to_item(format!("CERT#{issue_number}"), sk, &check, Some(ttl))
}

/// Logs a verification of `issue_number`.
pub async fn record_check(
    db: &Client,
    table: &str,
    issue_number: &str,
    channel: Channel,
    result: &str,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let item = check_item(issue_number, channel, result, now)?;
    db.put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// A page of the verifications of `issue_number`, newest first.
pub async fn checks(
    db: &Client,
    table: &str,
    issue_number: &str,
    limit: i32,
    after: Option<String>,
) -> Result<(Vec<Check>, Option<String>), StoreError> {
    let pk = format!("CERT#{issue_number}");
    newest_first(db, table, &pk, "CHECK#", limit, after).await
}

#[cfg(test)]
mod tests;
