//! Domain events on the SNS topic `events` (api.md, "Domain events").
//!
//! Body `{eventId, type, occurredAt, userId, data}`, message attribute `type`, so
//! subscribers (the queue feeding `alert-sms`) filter without parsing bodies.
//! Events name users by id only; they never carry secrets.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use serde::Serialize;
use serde_json::Value;

/// A domain event as published.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEvent {
    /// Unique id; consumers deduplicate on it.
    pub event_id: String,
    /// The event type, e.g. `auth.device_registered`.
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339.
    pub occurred_at: String,
    /// The user the event is about (and whom it texts).
    pub user_id: String,
    /// Type-specific details.
    pub data: Value,
}

/// Publishing failed.
#[derive(Debug, thiserror::Error)]
#[error("could not publish event `{kind}`: {message}")]
pub struct PublishError {
    kind: String,
    message: String,
}

/// Publishes domain events to one topic.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    sns: Client,
    topic_arn: String,
}

impl EventPublisher {
    /// Events go to `topic_arn` through `sns`.
    pub fn new(sns: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            sns,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes an event of type `kind` about `user_id`; returns its event id.
    pub async fn publish(
        &self,
        kind: &str,
        user_id: &str,
        data: Value,
    ) -> Result<String, PublishError> {
        let event = DomainEvent {
            event_id: crate::random::uuid(),
            kind: kind.to_owned(),
            occurred_at: crate::time::rfc3339(crate::time::now_secs()),
            user_id: user_id.to_owned(),
            data,
        };
        let error = |message: String| PublishError {
            kind: kind.to_owned(),
            message,
        };
        let body = serde_json::to_string(&event).map_err(|e| error(e.to_string()))?;
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(kind)
            .build()
            .map_err(|e| error(e.to_string()))?;
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes("type", attribute)
            .send()
            .await
            .map_err(|e| error(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(event.event_id)
    }

    /// Publishes, logging (not failing) on error: for notices whose loss must not
    /// undo the write that caused them.
    pub async fn publish_or_log(&self, kind: &str, user_id: &str, data: Value) {
        if let Err(e) = self.publish(kind, user_id, data).await {
            tracing::error!(error = %e, event_type = kind, "event not published");
        }
    }
}
