//! Consents and their access log in the function's table.
//!
//! Items:
//! - `CONSENT#<id>` / `CONSENT`: the consent (serde_dynamo), with the keys of
//!   two indexes ranged by `listedAt` = `<requestedMs>#<id>`: `ByCitizen`
//!   (`citizenKey`) and `ByOfficial` (`officialKey`), newest first.
//! - `CONSENT#<id>` / `ACCESS#<ms>#<uuid>`: an allowed look-up, written in one
//!   transaction with a condition check that the consent is still granted and
//!   unexpired and with its `consent.accessed` event, so a revocation racing
//!   a look-up either precedes it (refused) or follows it (logged and texted).
//! - `CONSENT#<id>` / `DENIED#<ms>#<uuid>`: a refused look-up (kept for audit,
//!   not texted, not shown in the citizen's log).
//! - `CONSENT#<id>` / `LOOKUP#<officialId>#<key>`: the Idempotency-Key of an
//!   allowed look-up, written in its transaction on the condition that the key
//!   is new (or older than a day), so a retry of a look-up whose answer was
//!   lost is recognised instead of logged and texted twice.
//! - `REQUEST#<officialId>#<key>` / `REQUEST`: the same for a request with an
//!   Idempotency-Key, naming the consent it made and the request's
//!   fingerprint: a retry whose first answer was lost after the consent was
//!   stored answers that consent instead of asking (and texting) again.
//!
//! Every change of state is one conditional write on the status and version
//! read and on `expiresMs` being in the future: of two answers racing
//! (a signature and a refusal) exactly one is stored. Each write carries a
//! random `writeToken`, so that when the SDK retries a write whose answer was
//! lost and the retry's condition fails on the first attempt's write, the
//! write is recognised as its own, not as a change by someone else.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use serde::{Deserialize, Serialize};
use shared::dynamo::{self, Item, StoreError, key, n, s};
use shared::events::{DomainEvent, OUTBOX_SK};

use crate::status::Status;

/// The longest a list query reads before answering a filtered page.
const FILTER_READS: usize = 10;

/// How long a look-up's Idempotency-Key is remembered, in seconds (api.md's
/// window for Idempotency-Key).
pub const KEY_WINDOW_SECS: i64 = shared::idempotency::WINDOW_SECS;

/// A consent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// Its id.
    pub consent_id: String,
    /// The citizen asked.
    pub citizen_id: String,
    /// The official asking.
    pub official_id: String,
    /// The official's agency (2-digit province code, from their token).
    pub agency: String,
    /// The petition's id.
    pub petition_id: String,
    /// The petition's name.
    pub petition_name: String,
    /// The document codes, in the order asked.
    pub documents: Vec<String>,
    /// Why.
    pub purpose: String,
    /// When asked (RFC 3339).
    pub requested_at: String,
    /// When asked (Unix ms).
    pub requested_ms: i64,
    /// When it ends (RFC 3339).
    pub expires_at: String,
    /// When it ends (Unix ms).
    pub expires_ms: i64,
    /// As stored: never `expired` (see [`Consent::status_at`]).
    pub status: Status,
    /// Bumped by every change.
    pub version: u64,
    /// The canonical JSON the citizen signs (fixed when asked).
    pub signing_payload: String,
    /// When signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The device whose key signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The citizen's signature (base64url DER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen_signature: Option<String>,
    /// The service's receipt (compact JWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// When refused or revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

impl Consent {
    /// The status at `now_ms` (expiry computed, not stored).
    pub fn status_at(&self, now_ms: i64) -> Status {
        self.status.at(self.expires_ms, now_ms)
    }
}

/// One look-up in the access log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// The document looked up.
    pub document: String,
    /// The official.
    pub official_id: String,
    /// Their agency.
    pub agency: String,
    /// When (RFC 3339).
    pub accessed_at: String,
    /// Why it was refused (refused look-ups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// What an allowed look-up's write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logged {
    /// Logged now, with its event.
    Now,
    /// Logged before, by the look-up with the same Idempotency-Key (of
    /// `document`): this request is a retry of it.
    Before {
        /// The document that look-up was of.
        document: String,
    },
}

/// What storing a new consent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Stored now, with its event.
    Now,
    /// The request with the same Idempotency-Key stored consent
    /// `consent_id` before (from a request of fingerprint `fingerprint`).
    Before {
        /// The consent that request made.
        consent_id: String,
        /// Its request's fingerprint ([`shared::idempotency::Idempotency::fingerprint`]).
        fingerprint: String,
    },
}

/// The Idempotency-Key of a request and the request's fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    /// The key.
    pub key: &'a str,
    /// The request's fingerprint.
    pub fingerprint: &'a str,
}

/// Why a conditional change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The consent changed or expired since it was read.
    #[error("the consent changed since it was read")]
    Changed,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The consents table.
#[derive(Debug, Clone)]
pub struct Consents {
    db: Client,
    table: String,
}

fn consent_key(id: &str) -> Item {
    key(format!("CONSENT#{id}"), "CONSENT")
}

fn look_up_key(consent_id: &str, official_id: &str, key: &str) -> Item {
    dynamo::key(
        format!("CONSENT#{consent_id}"),
        format!("LOOKUP#{official_id}#{key}"),
    )
}

fn request_key(official_id: &str, key: &str) -> Item {
    dynamo::key(format!("REQUEST#{official_id}#{key}"), "REQUEST")
}

fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn position(ms: i64, id: &str) -> String {
    format!("{ms:015}#{id}")
}

fn build<T>(r: Result<T, impl std::fmt::Display>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError(format!("request: {e}")))
}

impl Consents {
    /// The table `table`.
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn item(&self, c: &Consent) -> Result<Item, StoreError> {
        let mut item = dynamo::to_item(c)?;
        item.extend(consent_key(&c.consent_id));
        let listed = position(c.requested_ms, &c.consent_id);
        item.insert("citizenKey".into(), s(&c.citizen_id));
        item.insert("officialKey".into(), s(&c.official_id));
        item.insert("listedAt".into(), s(listed));
        Ok(item)
    }

    /// Stores a new consent with its `consent.requested` event; with the
    /// request's Idempotency-Key, only if no consent was asked with that key
    /// by the same official in the last day (else [`Created::Before`]).
    pub async fn create(
        &self,
        c: &Consent,
        event: &DomainEvent,
        request: Option<RequestKey<'_>>,
        now_ms: i64,
    ) -> Result<Created, StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.item(c)?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let outbox = build(event.outbox_put(&self.table))?;
        let mut write = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox);
        if let Some(request) = request {
            let mut marker = request_key(&c.official_id, request.key);
            marker.insert("consentId".into(), s(&c.consent_id));
            marker.insert("fingerprint".into(), s(request.fingerprint));
            write = write.transact_items(self.marker_put(marker, now_ms)?);
        }
        let e = match write.send().await {
            Ok(_) => return Ok(Created::Now),
            Err(e) if dynamo::cancellation_reasons(&e).is_some() => e,
            Err(e) => return Err(StoreError::sdk(e)),
        };
        if self.has_event(event).await? {
            return Ok(Created::Now);
        }
        if let Some(request) = request
            && let Some(marker) = self
                .marker(request_key(&c.official_id, request.key), now_ms)
                .await?
        {
            return Ok(Created::Before {
                consent_id: text(&marker, "consentId"),
                fingerprint: text(&marker, "fingerprint"),
            });
        }
        Err(StoreError::sdk(e))
    }

    /// The consent `id` (strongly consistent).
    pub async fn get(&self, id: &str) -> Result<Option<Consent>, StoreError> {
        dynamo::get(&self.db, &self.table, consent_key(id)).await
    }

    /// Replaces `current` by `next` if it is still as read (status and
    /// version) and has not expired at `now_ms`.
    pub async fn change(
        &self,
        current: &Consent,
        next: &Consent,
        now_ms: i64,
    ) -> Result<(), ChangeError> {
        let token = shared::random::token::<16>();
        let mut item = self.item(next)?;
        item.insert("writeToken".into(), s(&token));
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#status = :from AND version = :v AND expiresMs > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(current.status.as_str()))
            .expression_attribute_values(":v", n(current.version))
            .expression_attribute_values(":now", n(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // The item already carries this very write: the SDK retried
                // it after the answer to the attempt that made it was lost.
                Some(PutItemError::ConditionalCheckFailedException(failed))
                    if failed
                        .item()
                        .and_then(|item| item.get("writeToken"))
                        .and_then(|v| v.as_s().ok())
                        == Some(&token) =>
                {
                    Ok(())
                }
                Some(PutItemError::ConditionalCheckFailedException(_)) => Err(ChangeError::Changed),
                _ => Err(ChangeError::Store(StoreError::sdk(e))),
            },
        }
    }

    /// Logs an allowed look-up with its event, if the consent is still
    /// granted and unexpired at `now_ms` (else [`ChangeError::Changed`]) and,
    /// when the official sent an Idempotency-Key `key`, if no look-up of
    /// theirs with that key was logged in the last day (else
    /// [`Logged::Before`]).
    pub async fn log_access(
        &self,
        consent: &Consent,
        access: &Access,
        now_ms: i64,
        event: &DomainEvent,
        key: Option<&str>,
    ) -> Result<Logged, ChangeError> {
        let check = build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(consent_key(&consent.consent_id)))
                .condition_expression("#status = :granted AND expiresMs > :now")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":granted", s(Status::Granted.as_str()))
                .expression_attribute_values(":now", n(now_ms))
                .build(),
        )?;
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.access_item(consent, "ACCESS", access, now_ms)?))
                .build(),
        )?;
        let outbox = build(event.outbox_put(&self.table))?;
        let mut write = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox);
        if let Some(key) = key {
            let mut marker = look_up_key(&consent.consent_id, &access.official_id, key);
            marker.insert("document".into(), s(&access.document));
            write = write.transact_items(self.marker_put(marker, now_ms)?);
        }
        let result = write.send().await;
        let reasons = match result {
            Ok(_) => return Ok(Logged::Now),
            Err(e) => match dynamo::cancellation_reasons(&e) {
                Some(reasons) => reasons,
                None => return Err(ChangeError::Store(StoreError::sdk(e))),
            },
        };
        if self.has_event(event).await? {
            return Ok(Logged::Now);
        }
        if let Some(key) = key
            && let Some(document) = self
                .looked_up(&consent.consent_id, &access.official_id, key, now_ms)
                .await?
        {
            return Ok(Logged::Before { document });
        }
        // What is left to fail a condition is the consent's check.
        if reasons.iter().any(|r| r == "ConditionalCheckFailed") {
            Err(ChangeError::Changed)
        } else {
            Err(ChangeError::Store(StoreError(format!(
                "look-up cancelled: {reasons:?}"
            ))))
        }
    }

    /// The document of the look-up `official_id` logged under `consent_id`
    /// with Idempotency-Key `key` in the day before `now_ms`, if any.
    pub async fn looked_up(
        &self,
        consent_id: &str,
        official_id: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let marker = self
            .marker(look_up_key(consent_id, official_id, key), now_ms)
            .await?;
        Ok(marker.map(|m| text(&m, "document")))
    }

    /// The transaction's put of `marker` (the item of an Idempotency-Key),
    /// on the condition that the key was not used in the day before `now_ms`.
    fn marker_put(&self, mut marker: Item, now_ms: i64) -> Result<TransactWriteItem, StoreError> {
        let now = now_ms.div_euclid(1000);
        marker.insert("createdAt".into(), n(now));
        marker.insert("ttl".into(), n(now + KEY_WINDOW_SECS + 3600));
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(pk) OR createdAt < :windowStart")
                .expression_attribute_values(":windowStart", n(now - KEY_WINDOW_SECS))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The item of an Idempotency-Key at `key`, if it was used in the day
    /// before `now_ms`.
    async fn marker(&self, key: Item, now_ms: i64) -> Result<Option<Item>, StoreError> {
        let Some(item) = self.read(key).await? else {
            return Ok(None);
        };
        let created = item
            .get("createdAt")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        Ok((created >= now_ms.div_euclid(1000) - KEY_WINDOW_SECS).then_some(item))
    }

    /// Whether `event` is in the outbox. Its id is new to the request that
    /// made it, so when a transaction carrying it was cancelled and it is
    /// there all the same, the SDK retried the transaction after the answer
    /// to the attempt that wrote it was lost: the write is this request's.
    async fn has_event(&self, event: &DomainEvent) -> Result<bool, StoreError> {
        let key = dynamo::key(format!("EVENT#{}", event.event_id), OUTBOX_SK);
        Ok(self.read(key).await?.is_some())
    }

    /// The item at `key`, strongly consistent.
    async fn read(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out.item)
    }

    /// Logs a refused look-up (no event: the citizen is not texted).
    pub async fn log_refusal(
        &self,
        consent: &Consent,
        access: &Access,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.access_item(consent, "DENIED", access, now_ms)?))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    fn access_item(
        &self,
        consent: &Consent,
        kind: &str,
        access: &Access,
        now_ms: i64,
    ) -> Result<Item, StoreError> {
        let mut item = dynamo::to_item(access)?;
        item.extend(key(
            format!("CONSENT#{}", consent.consent_id),
            format!("{kind}#{}", position(now_ms, &shared::random::uuid())),
        ));
        Ok(item)
    }

    /// One page of the allowed look-ups under `consent_id`, newest first,
    /// resuming after the sort key `after`.
    pub async fn access_log(
        &self,
        consent_id: &str,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Access>, Option<String>), StoreError> {
        let pk = format!("CONSENT#{consent_id}");
        let mut query = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :access)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":access", s("ACCESS#"))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit);
        if let Some(after) = after {
            query = query
                .exclusive_start_key("pk", s(&pk))
                .exclusive_start_key("sk", s(after));
        }
        let out = query.send().await.map_err(StoreError::sdk)?;
        dynamo::page(out.items, out.last_evaluated_key, "sk")
    }

    /// One page of a citizen's (`by_official` false) or an official's
    /// consents, newest first, only those that are `status` at `now_ms` when
    /// given. A filtered page may hold fewer than `limit` items and still have
    /// a next one; it reads at most a few index pages before answering.
    pub async fn list(
        &self,
        owner: &str,
        by_official: bool,
        status: Option<Status>,
        now_ms: i64,
        limit: i32,
        mut after: Option<String>,
    ) -> Result<(Vec<Consent>, Option<String>), StoreError> {
        let (index, hash) = if by_official {
            ("ByOfficial", "officialKey")
        } else {
            ("ByCitizen", "citizenKey")
        };
        let page = dynamo::IndexPage {
            index,
            hash,
            value: owner,
            range: "listedAt",
            pk_prefix: "CONSENT#",
            sk: "CONSENT",
            ascending: false,
        };
        let wanted = usize::try_from(limit).unwrap_or(1);
        let mut found = Vec::new();
        for _ in 0..FILTER_READS {
            let (consents, next): (Vec<Consent>, _) =
                page.read(&self.db, &self.table, limit, after).await?;
            let read = consents.len();
            for (i, c) in consents.into_iter().enumerate() {
                if status.is_none_or(|st| c.status_at(now_ms) == st) {
                    found.push(c);
                    if found.len() == wanted {
                        let more = i + 1 < read || next.is_some();
                        let last = found
                            .last()
                            .map(|c| position(c.requested_ms, &c.consent_id));
                        return Ok((found, last.filter(|_| more)));
                    }
                }
            }
            after = next;
            if after.is_none() {
                break;
            }
        }
        Ok((found, after))
    }
}
