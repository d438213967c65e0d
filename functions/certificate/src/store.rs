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

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, FixedOffset};

use shared::events::DomainEvent;
use shared::events::payloads::{CertificateIssued, CertificateRevoked};

use crate::documents::Kind;

/// How long records and verification logs are kept (5 years).
pub const RETENTION_SECS: i64 = 5 * 365 * 86_400;

/// A string attribute.
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A number attribute.
pub fn n(v: impl Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute of `item`.
pub fn item_s(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError::Data(format!("`{name}` is missing or not a string")))
}

/// A number attribute of `item`.
pub fn item_n<T: FromStr>(
    item: &HashMap<String, AttributeValue>,
    name: &str,
) -> Result<T, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Data(format!("`{name}` is missing or not a number")))
}

/// Writes `items` with BatchWriteItem ([`shared::dynamo::put_all`]); for
/// imports, not for requests.
pub async fn put_all(
    db: &Client,
    table: &str,
    items: &[shared::dynamo::Item],
) -> Result<(), StoreError> {
    shared::dynamo::put_all(db, table, items)
        .await
        .map_err(|e| StoreError::Sdk(e.0))
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The service failed.
    #[error("dynamodb: {0}")]
    Sdk(String),
    /// An item is not what this code writes.
    #[error("unexpected item: {0}")]
    Data(String),
}

impl StoreError {
    /// From an SDK error, with its context.
    pub fn from_sdk<E, R>(e: SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StoreError::Sdk(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }
}

/// Whether a certificate still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// An issued certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// The type.
    pub kind: Kind,
    /// The citizen who issued it.
    pub owner_id: String,
    /// What it is about: the parcel number, or the masked name.
    pub subject: String,
    /// When it was issued (KST).
    pub issued_at: DateTime<FixedOffset>,
    /// SHA-256 of the PDF, lowercase hex.
    pub sha256: String,
    /// The S3 key of the PDF.
    pub object_key: String,
    /// Issued or revoked.
    pub status: Status,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl Record {
    fn public_attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        vec![
            ("issueNumber", s(&self.issue_number)),
            ("type", s(self.kind.as_str())),
            ("subject", s(&self.subject)),
            ("issuedAt", s(&self.issued_at.to_rfc3339())),
            ("sha256", s(&self.sha256)),
            ("status", s(self.status.as_str())),
            ("ttl", n(self.issued_at.timestamp() + RETENTION_SECS)),
        ]
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self, StoreError> {
        let kind = item_s(item, "type")?;
        let issued_at = item_s(item, "issuedAt")?;
        Ok(Record {
            issue_number: item_s(item, "issueNumber")?,
            kind: Kind::parse(&kind).ok_or_else(|| StoreError::Data(format!("type `{kind}`")))?,
            owner_id: item_s(item, "ownerId")?,
            subject: item_s(item, "subject")?,
            issued_at: DateTime::parse_from_rfc3339(&issued_at)
                .map_err(|_| StoreError::Data("`issuedAt`".into()))?,
            sha256: item_s(item, "sha256")?,
            object_key: item_s(item, "objectKey")?,
            status: match item_s(item, "status")?.as_str() {
                "revoked" => Status::Revoked,
                _ => Status::Issued,
            },
            revoked_at: item_s(item, "revokedAt").ok(),
        })
    }

    fn list_sk(&self) -> String {
        format!("CERT#{}#{}", self.issued_at.to_rfc3339(), self.issue_number)
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
    fn item_key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "pk".to_owned(),
                s(&format!("ISSUE#{}#{}", self.owner_id, self.key)),
            ),
            ("sk".to_owned(), s("ISSUE")),
        ])
    }
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
        .set_key(Some(request.item_key()))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    // TTL deletes late: an expired key names nothing.
    if item_n::<i64>(&item, "createdAt")? < now - shared::idempotency::WINDOW_SECS {
        return Ok(None);
    }
    Ok(Some(Earlier {
        issue_number: item_s(&item, "issueNumber")?,
        fingerprint: item_s(&item, "fingerprint")?,
    }))
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
    let mut meta: HashMap<String, AttributeValue> = r
        .public_attributes()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let mut entry = meta.clone();
    meta.insert("pk".into(), s(&format!("CERT#{}", r.issue_number)));
    meta.insert("sk".into(), s("META"));
    meta.insert("ownerId".into(), s(&r.owner_id));
    meta.insert("objectKey".into(), s(&r.object_key));
    entry.insert("pk".into(), s(&format!("OWNER#{}", r.owner_id)));
    entry.insert("sk".into(), s(&r.list_sk()));
    let now = shared::time::now_secs();
    let mut key_item = request.item_key();
    key_item.insert("issueNumber".into(), s(&r.issue_number));
    key_item.insert("fingerprint".into(), s(&request.fingerprint));
    key_item.insert("createdAt".into(), n(now));
    key_item.insert(
        "ttl".into(),
        n(now + shared::idempotency::WINDOW_SECS + 3600),
    );
    let result = db
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(meta))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(|e| StoreError::Data(e.to_string()))?,
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(entry))
                        .build()
                        .map_err(|e| StoreError::Data(e.to_string()))?,
                )
                .build(),
        )
        .transact_items(event)
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(key_item))
                        .condition_expression(
                            "attribute_not_exists(pk) OR createdAt < :windowStart",
                        )
                        .expression_attribute_values(
                            ":windowStart",
                            n(now - shared::idempotency::WINDOW_SECS),
                        )
                        .build()
                        .map_err(|e| StoreError::Data(e.to_string()))?,
                )
                .build(),
        )
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
        .key("pk", s(&format!("CERT#{issue_number}")))
        .key("sk", s("META"))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.item.as_ref().map(Record::from_item).transpose()
}

/// Marks `r` revoked: record, list entry and the `certificate.revoked` event in
/// one transaction, conditioned on the record still being issued, so revoking
/// twice (even at the same moment) keeps the first revocation time and gives
/// one event.
pub async fn revoke(db: &Client, table: &str, r: &Record, at: &str) -> Result<Record, StoreError> {
    if r.status == Status::Revoked {
        return Ok(r.clone());
    }
    let update = |pk: String, sk: String| {
        Update::builder()
            .table_name(table)
            .key("pk", s(&pk))
            .key("sk", s(&sk))
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

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// One page of the items of partition `pk` whose sort key starts with
/// `prefix`, newest (highest sort key) first, resuming after the sort key
/// `after`; returns the page and, when more follow, the sort key to resume
/// after.
async fn newest_first(
    db: &Client,
    table: &str,
    pk: &str,
    prefix: &str,
    limit: i32,
    after: Option<String>,
) -> Result<(Vec<Item>, Option<String>), StoreError> {
    let out = db
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":prefix", s(prefix))
        .scan_index_forward(false)
        // One item beyond the page tells whether another page exists.
        .limit(limit + 1)
        .set_exclusive_start_key(
            after.map(|sk| HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(&sk))])),
        )
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let mut items = out.items.unwrap_or_default();
    let limit = usize::try_from(limit).unwrap_or(0);
    if items.len() <= limit {
        return Ok((items, None));
    }
    items.truncate(limit);
    let next = items
        .last()
        .and_then(|i| i.get("sk"))
        .and_then(|v| v.as_s().ok())
        .cloned();
    Ok((items, next))
}

/// One entry of an owner's list.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Issue number.
    pub issue_number: String,
    /// Type.
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

/// A page of `owner_id`'s certificates, newest first, after the list key
/// `after`; returns the key to resume after.
pub async fn list(
    db: &Client,
    table: &str,
    owner_id: &str,
    limit: i32,
    after: Option<String>,
) -> Result<(Vec<Entry>, Option<String>), StoreError> {
    let (page, next) = newest_first(
        db,
        table,
        &format!("OWNER#{owner_id}"),
        "CERT#",
        limit,
        after,
    )
    .await?;
    let items = page
        .iter()
        .map(|i| {
            Ok(Entry {
                issue_number: item_s(i, "issueNumber")?,
                kind: item_s(i, "type")?,
                subject: item_s(i, "subject")?,
                issued_at: item_s(i, "issuedAt")?,
                status: item_s(i, "status")?,
                sha256: item_s(i, "sha256")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((items, next))
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

/// One verification of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// When (RFC 3339, milliseconds).
    pub checked_at: String,
    /// `number` or `pdf`.
    pub channel: String,
    /// What the checker was told: `valid`, or the reason it was not.
    pub result: String,
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
    let checked_at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    db.put_item()
        .table_name(table)
        .item("pk", s(&format!("CERT#{issue_number}")))
        .item(
            "sk",
            s(&format!(
                "CHECK#{checked_at}#{}",
                shared::random::token::<6>()
            )),
        )
        .item("checkedAt", s(&checked_at))
        .item("channel", s(channel.as_str()))
        .item("result", s(result))
        .item("ttl", n(now.timestamp() + RETENTION_SECS))
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
    let (page, next) = newest_first(
        db,
        table,
        &format!("CERT#{issue_number}"),
        "CHECK#",
        limit,
        after,
    )
    .await?;
    let items = page
        .iter()
        .map(|i| {
            Ok(Check {
                checked_at: item_s(i, "checkedAt")?,
                channel: item_s(i, "channel")?,
                result: item_s(i, "result")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((items, next))
}
