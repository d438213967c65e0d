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
//!
//! Every change of state is one conditional write on the status and version
//! read and on `expiresMs` being in the future: of two answers racing
//! (a signature and a refusal) exactly one is stored.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use shared::dynamo::{self, Item, StoreError, key, n, s};
use shared::events::DomainEvent;

use crate::status::Status;

/// The longest a list query reads before answering a filtered page.
const FILTER_READS: usize = 10;

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

    /// Stores a new consent with its `consent.requested` event.
    pub async fn create(&self, c: &Consent, event: &DomainEvent) -> Result<(), StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(self.item(c)?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let outbox = build(event.outbox_put(&self.table))?;
        self.db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
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
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(next)?))
            .condition_expression("#status = :from AND version = :v AND expiresMs > :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(current.status.as_str()))
            .expression_attribute_values(":v", n(current.version))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if dynamo::is_condition_failed(&e) => Err(ChangeError::Changed),
            Err(e) => Err(ChangeError::Store(StoreError::sdk(e))),
        }
    }

    /// Logs an allowed look-up with its event, if the consent is still
    /// granted and unexpired at `now_ms` (else [`ChangeError::Changed`]).
    pub async fn log_access(
        &self,
        consent: &Consent,
        access: &Access,
        now_ms: i64,
        event: &DomainEvent,
    ) -> Result<(), ChangeError> {
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
        let result = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match dynamo::cancellation_reasons(&e) {
                Some(_) => Err(ChangeError::Changed),
                None => Err(ChangeError::Store(StoreError::sdk(e))),
            },
        }
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
