//! The JSON answers of the alert routes, as typed values (their schemas are in
//! docs/openapi.json; a subscription is answered as
//! [`crate::subscriptions::Subscription`]).
//!
//! These answers were `json!` maps, which serde_json writes with their keys
//! sorted; `answer` writes the types the same way, so the bytes on the wire
//! (and in the `alerts` topic's messages) stay what they were while the
//! fields are declared in api.md's order.

use serde::Serialize;

use crate::alerts::{Category, Region, Status};

/// An alert as api.md shows it ([`crate::alerts::Alert::view`]).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Alert")]
pub struct AlertView {
    /// Its id (UUID).
    pub alert_id: String,
    /// Where it stands.
    pub status: Status,
    /// The level.
    pub category: Category,
    /// The provinces, in the order the official gave them.
    pub regions: Vec<Region>,
    /// 1 to 40 characters.
    pub headline: String,
    /// The text citizens receive.
    pub message: String,
    /// The official who wrote it.
    pub created_by: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// How many SMS segments SNS sends the message as (UCS-2 for Korean).
    pub sms_segments: u32,
    /// Bumped by every change of status; send it as If-Match.
    pub version: u64,
    /// When it was issued (RFC 3339); once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    /// The official who approved it (not its writer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was cancelled (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    /// The official who cancelled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// The texts to subscribers, counted as batches finish; once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// The texts of an issued alert so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "AlertDelivery")]
pub struct Delivery {
    /// Citizens the delivery planned to text (counted as it plans).
    pub recipients: u64,
    /// Texts SNS accepted.
    pub sent: u64,
    /// Texts that failed (a later retry that succeeds moves one to `sent`).
    pub failed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Alert, Draft};
    use lambda_http::http::StatusCode;
    use serde_json::json;

    #[test]
    fn an_alert_is_written_as_the_map_it_was() {
        let regions = vec!["11".to_owned(), "41".to_owned()];
        let draft = Draft::parse("disaster", &regions, "호우경보", "대비하세요", None).unwrap();
        let mut alert = Alert::new("a1".into(), &draft, "official-1", 1_795_910_191);
        alert.status = Status::Cancelled;
        alert.issued_at = Some(1_795_910_200);
        alert.approved_by = Some("official-2".into());
        alert.cancelled_at = Some(1_795_910_300);
        alert.cancelled_by = Some("official-1".into());
        alert.recipients = 3;
        alert.sent = 2;
        alert.failed = 1;
        let before = json!({
            "alertId": "a1", "status": "cancelled", "category": "disaster",
            "regions": ["11", "41"], "headline": "호우경보", "message": "대비하세요",
            "createdBy": "official-1", "createdAt": "2026-11-28T23:56:31Z",
            "smsSegments": 1, "version": 1,
            "issuedAt": "2026-11-28T23:56:40Z",
            "delivery": {"recipients": 3, "sent": 2, "failed": 1},
            "approvedBy": "official-2",
            "cancelledAt": "2026-11-28T23:58:20Z", "cancelledBy": "official-1",
        });
        let response = shared::http::json(StatusCode::OK, &alert.view());
        let sent: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(sent, before);
    }
}
