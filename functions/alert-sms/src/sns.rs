//! What the function sends through SNS: texts to a phone number (SMSType
//! `Transactional`) and alerts to the `alerts` topic with the message
//! attributes outside subscribers filter on.
//!
//! Errors are reduced to SNS's error code: its messages may quote the number.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

/// SNS, for texts and alerts.
#[derive(Debug, Clone)]
pub struct Sender {
    sns: Client,
}

/// The message attributes of an alert on the `alerts` topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertAttributes {
    /// `emergency`, `disaster` or `safety` (String).
    pub category: String,
    /// The region codes (String.Array).
    pub regions: Vec<String>,
    /// `Alert` or `Cancel` (String).
    pub msg_type: String,
}

fn attribute(data_type: &str, value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .map_err(|e| e.to_string())
}

fn code<E, R>(e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code) => code.to_owned(),
        None => aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
    }
}

impl Sender {
    /// A sender over `sns`.
    pub fn new(sns: Client) -> Self {
        Self { sns }
    }

    /// Texts `text` to `phone` (E.164); SNS's message id, or the error's code.
    pub async fn text(&self, phone: &str, text: &str) -> Result<String, String> {
        let out = self
            .sns
            .publish()
            .phone_number(phone)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("String", "Transactional")?)
            .send()
            .await
            .map_err(code)?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Publishes an alert message to `topic_arn`; SNS's message id, or the
    /// error's code.
    pub async fn publish_alert(
        &self,
        topic_arn: &str,
        body: &str,
        attributes: &AlertAttributes,
    ) -> Result<String, String> {
        let regions = serde_json::to_string(&attributes.regions).map_err(|e| e.to_string())?;
        let out = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .message(body)
            .message_attributes("category", attribute("String", &attributes.category)?)
            .message_attributes("region", attribute("String.Array", &regions)?)
            .message_attributes("msgType", attribute("String", &attributes.msg_type)?)
            .send()
            .await
            .map_err(code)?;
        Ok(out.message_id.unwrap_or_default())
    }
}
