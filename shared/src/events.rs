//! Domain events, written through an outbox (design.md, "How a request flows").
//!
//! A function never publishes an event itself. It adds [`DomainEvent::outbox_put`]
//! to the DynamoDB transaction that makes the change the event reports, so the
//! event exists exactly when the change does. The outbox item lives in the
//! function's own table (`pk` `EVENT#<eventId>`, `sk` [`OUTBOX_SK`], attribute
//! `event` = the message body) and expires by TTL after [`OUTBOX_RETENTION_SECS`];
//! an EventBridge pipe on the table's stream carries new outbox items to the SNS
//! topic `events` (locally devstack does the same), at least once, even when the
//! function stops right after its write. Consumers deduplicate on `eventId`.
//!
//! The body is `{eventId, type, occurredAt, userId, data}` (api.md). Each `type`
//! has a typed `data` in [`payloads`], shared by the function that writes it and
//! by `alert-sms`, which texts it. Events name users by id only: never a phone
//! number, a name or a secret.

pub mod payloads;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The sort key of every outbox item (what the pipes' filters match on).
pub const OUTBOX_SK: &str = "OUTBOX";

/// How long an outbox item stays in its table (3 days): longer than a stream
/// keeps records (24 h), so an event a pipe could not deliver can be replayed
/// from its item.
pub const OUTBOX_RETENTION_SECS: i64 = 3 * 86_400;

/// The event types that text the citizen (api.md, "Domain events"): the filter
/// of the queue that feeds `alert-sms`.
pub const TEXTED_TYPES: &[&str] = &[
    payloads::DeviceRegistered::TYPE,
    payloads::AccountLocked::TYPE,
    payloads::RefreshReused::TYPE,
    payloads::CertificateIssued::TYPE,
    payloads::RefundRequested::TYPE,
    payloads::RefundApproved::TYPE,
    payloads::RefundRejected::TYPE,
    payloads::RefundPaid::TYPE,
    payloads::ReportSubmitted::TYPE,
    payloads::ReportStatusChanged::TYPE,
    payloads::ConsentRequested::TYPE,
    payloads::ConsentAccessed::TYPE,
];

/// The `data` of one event type.
pub trait Payload: Serialize + DeserializeOwned {
    /// The event type, e.g. `auth.device_registered`.
    const TYPE: &'static str;
}

/// A domain event: the message body on the topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEvent {
    /// Unique id (a UUID); consumers deduplicate on it.
    pub event_id: String,
    /// The event type, e.g. `auth.device_registered`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change happened, RFC 3339.
    pub occurred_at: String,
    /// The user the event is about (and whom it may text).
    pub user_id: String,
    /// Type-specific details ([`payloads`]).
    pub data: Value,
}

/// An event could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The data does not serialise, or is not what its type says.
    #[error("event `{kind}`: {message}")]
    Data {
        /// The event type.
        kind: String,
        /// Why.
        message: String,
    },
}

impl DomainEvent {
    /// A new event about `user_id`, happening now, with a fresh id.
    pub fn new<P: Payload>(user_id: &str, payload: &P) -> Result<Self, EventError> {
        Self::at(user_id, payload, crate::time::now_secs())
    }

    /// A new event about `user_id` that happened at `secs` (Unix seconds).
    pub fn at<P: Payload>(user_id: &str, payload: &P, secs: i64) -> Result<Self, EventError> {
        let data = serde_json::to_value(payload).map_err(|e| EventError::Data {
            kind: P::TYPE.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            event_id: crate::random::uuid(),
            kind: P::TYPE.to_owned(),
            occurred_at: crate::time::rfc3339(secs),
            user_id: user_id.to_owned(),
            data,
        })
    }

    /// The message body, as published.
    pub fn body(&self) -> String {
        // A struct of strings and a JSON value always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The typed data, if this event is of type `P`.
    pub fn payload<P: Payload>(&self) -> Result<P, EventError> {
        if self.kind != P::TYPE {
            return Err(EventError::Data {
                kind: self.kind.clone(),
                message: format!("is not `{}`", P::TYPE),
            });
        }
        P::deserialize(&self.data).map_err(|e| EventError::Data {
            kind: self.kind.clone(),
            message: e.to_string(),
        })
    }

    /// The outbox item of this event in `table`, as one part of the transaction
    /// that makes the change it reports.
    pub fn outbox_put(&self, table: &str) -> Result<TransactWriteItem, EventError> {
        let error = |message: String| EventError::Data {
            kind: self.kind.clone(),
            message,
        };
        let occurred = chrono::DateTime::parse_from_rfc3339(&self.occurred_at)
            .map(|t| t.timestamp())
            .unwrap_or_else(|_| crate::time::now_secs());
        let item = OutboxItem {
            pk: format!("EVENT#{}", self.event_id),
            sk: OUTBOX_SK,
            event_type: &self.kind,
            event: self.body(),
            ttl: occurred + OUTBOX_RETENTION_SECS,
        };
        let item = serde_dynamo::to_item(&item).map_err(|e| error(e.to_string()))?;
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            // Event ids are random UUIDs: a second item with the same id would be
            // a bug, never a second copy of the same event.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| error(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// An outbox item as stored (see the module docs).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutboxItem<'a> {
    pk: String,
    sk: &'static str,
    event_type: &'a str,
    /// The message body the pipe publishes verbatim.
    event: String,
    ttl: i64,
}

#[cfg(test)]
mod tests {
    use super::payloads::{DeviceRegistered, RefreshReused};
    use super::*;

    fn device() -> DeviceRegistered {
        DeviceRegistered {
            device_id: "d-1".into(),
            device_name: "Galaxy S26".into(),
        }
    }

    #[test]
    fn the_body_is_the_contract_shape() {
        let e = DomainEvent::at("u-1", &device(), 1_795_910_191).unwrap();
        let body: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["type"], "auth.device_registered");
        assert_eq!(body["userId"], "u-1");
        assert_eq!(body["occurredAt"], "2026-11-28T23:56:31Z");
        assert_eq!(body["data"]["deviceName"], "Galaxy S26");
        assert_eq!(body["eventId"].as_str().unwrap().len(), 36);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["data", "eventId", "occurredAt", "type", "userId"]);
    }

    #[test]
    fn the_outbox_item_holds_the_body_verbatim_and_expires() {
        let e = DomainEvent::at("u-1", &device(), 1_000).unwrap();
        let put = e.outbox_put("t").unwrap();
        let item = put.put().unwrap().item();
        assert_eq!(item["pk"].as_s().unwrap(), &format!("EVENT#{}", e.event_id));
        assert_eq!(item["sk"].as_s().unwrap(), OUTBOX_SK);
        assert_eq!(item["event"].as_s().unwrap(), &e.body());
        assert_eq!(item["eventType"].as_s().unwrap(), "auth.device_registered");
        assert_eq!(
            item["ttl"].as_n().unwrap(),
            &(1_000 + 3 * 86_400).to_string()
        );
    }

    #[test]
    fn typed_data_reads_back_and_refuses_another_type() {
        let e = DomainEvent::new("u-1", &device()).unwrap();
        assert_eq!(e.payload::<DeviceRegistered>().unwrap(), device());
        assert!(e.payload::<RefreshReused>().is_err());
    }

    #[test]
    fn every_texted_type_is_distinct() {
        let mut types = TEXTED_TYPES.to_vec();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), TEXTED_TYPES.len());
    }
}
