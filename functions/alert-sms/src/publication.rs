//! An alert as the world outside sees it: the OASIS CAP 1.2 document (for
//! `Accept: application/cap+xml` and inside every message of the `alerts`
//! topic) and the topic message itself.
//!
//! A pending alert is a CAP `Draft`; an issued one an `Actual` `Alert`; a
//! cancelled one a `Cancel` whose `references` name the message it withdraws,
//! so a broadcaster that received the alert can match the cancellation to it.

use serde_json::json;

use crate::alerts::{Alert, Status};
use crate::cap::{self, CapAlert, CapCategory, CapError, Info, MsgType, Reference};
use crate::sns::AlertAttributes;

/// `<sender>` of every CAP message of this service.
pub const CAP_SENDER: &str = "alerts.pocketgov";
/// `<senderName>`.
pub const SENDER_NAME: &str = "손안의정부 재난문자";

/// A message for the `alerts` topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMessage {
    /// The alert JSON of api.md, with `msgType` and the CAP document (`cap`).
    pub body: String,
    /// `category`, `region` (String.Array), `msgType`.
    pub attributes: AlertAttributes,
}

fn identifier(alert: &Alert) -> String {
    format!("pocketgov-alert-{}", alert.alert_id)
}

/// The CAP message of `alert` as it stands (a cancelled alert is its `Cancel`).
pub fn cap_alert(alert: &Alert) -> Result<CapAlert, CapError> {
    let info = Info {
        category: CapCategory::Safety,
        level: alert.category,
        sender_name: Some(SENDER_NAME.to_owned()),
        headline: alert.headline.clone(),
        description: alert.message.clone(),
        regions: alert.regions.iter().map(|r| r.code().to_owned()).collect(),
    };
    let status = if alert.issued_at.is_some() {
        cap::Status::Actual
    } else {
        cap::Status::Draft
    };
    let original_sent = cap::korean_time(alert.issued_at.unwrap_or(alert.created_at))?;
    let original = CapAlert {
        identifier: identifier(alert),
        sender: CAP_SENDER.to_owned(),
        sent: original_sent,
        status,
        msg_type: MsgType::Alert,
        references: None,
        note: None,
        info,
    };
    match (alert.status, alert.cancelled_at) {
        (Status::Cancelled, Some(at)) => {
            let reference: Reference = original.reference();
            Ok(CapAlert {
                identifier: format!("{}-cancel", identifier(alert)),
                sent: cap::korean_time(at)?,
                msg_type: MsgType::Cancel,
                references: Some(reference),
                note: Some("이 재난문자는 취소되었습니다. (This alert was cancelled.)".to_owned()),
                ..original
            })
        }
        _ => Ok(original),
    }
}

/// The CAP 1.2 XML of `alert`.
pub fn cap_xml(alert: &Alert) -> Result<String, CapError> {
    cap::to_xml(&cap_alert(alert)?)
}

/// Why a topic message could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The CAP document.
    #[error(transparent)]
    Cap(#[from] CapError),
    /// The alert JSON.
    #[error("alert JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The topic message of `alert`: its issue (`cancel` false) or its
/// cancellation.
pub fn message(alert: &Alert, cancel: bool) -> Result<TopicMessage, MessageError> {
    let mut shown = alert.clone();
    if !cancel {
        // The alert as it was issued, even if it was cancelled since: its
        // cancellation is a message of its own.
        shown.status = Status::Issued;
        shown.cancelled_at = None;
        shown.cancelled_by = None;
    }
    let msg_type = if cancel { "Cancel" } else { "Alert" };
    let mut view = shown.view();
    // Counters are a snapshot that would be stale at once.
    view.delivery = None;
    // A map, so that the keys are written sorted, as subscribers have always
    // received them.
    let mut body = serde_json::to_value(&view)?;
    body["msgType"] = json!(msg_type);
    body["cap"] = json!(cap_xml(&shown)?);
    Ok(TopicMessage {
        body: body.to_string(),
        attributes: AlertAttributes {
            category: alert.category.as_str().to_owned(),
            regions: alert.regions.iter().map(|r| r.code().to_owned()).collect(),
            msg_type: msg_type.to_owned(),
        },
    })
}
