//! What the function sends through SNS: texts to a phone number (SMSType
//! `Transactional`) and alerts to the `alerts` topic with the message
//! attributes outside subscribers filter on.
//!
//! Errors are reduced to SNS's error code: its messages may quote the number.
//!
//! A Publish has no idempotency token: one that reached SNS and whose answer
//! was lost (a timeout, a broken connection) cannot be told from one that
//! never left, and sending it again may text a citizen twice. So the client
//! retries only what SNS itself answered (throttling, 5xx: nothing was sent),
//! never a Publish left without an answer, and such a failure is
//! [`SendError::Unknown`]: the caller records it and does not send again.

use aws_sdk_sns::Client;
use aws_sdk_sns::config::interceptors::InterceptorContext;
use aws_sdk_sns::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

/// SNS, for texts and alerts.
#[derive(Debug, Clone)]
pub struct Sender {
    sns: Client,
}

/// Why SNS did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// SNS answered with an error (its code): nothing was sent, and sending
    /// again is safe.
    Refused(String),
    /// No answer came (a timeout, a lost connection, an unreadable answer):
    /// the message may have been sent.
    Unknown(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Refused(code) => write!(f, "refused: {code}"),
            SendError::Unknown(reason) => write!(f, "no answer: {reason}"),
        }
    }
}

/// Forbids the SDK's retry of a call that got no answer from the service
/// (the call may have been made): only SNS's own error answers are retried.
#[derive(Debug)]
struct RetryOnlyAnswered;

impl ClassifyRetry for RetryOnlyAnswered {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e)) if !e.is_operation_error() => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "retry only what SNS answered"
    }
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

fn send_error<E, R>(e: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &e {
        // Built but never sent.
        SdkError::ConstructionFailure(_) => {
            SendError::Refused(aws_sdk_sns::error::DisplayErrorContext(e).to_string())
        }
        SdkError::ServiceError(_) => SendError::Refused(match e.code() {
            Some(code) => code.to_owned(),
            None => aws_sdk_sns::error::DisplayErrorContext(e).to_string(),
        }),
        _ => SendError::Unknown(aws_sdk_sns::error::DisplayErrorContext(e).to_string()),
    }
}

impl Sender {
    /// A sender over a client made from `sdk` that never retries a Publish
    /// left without an answer.
    pub fn new(sdk: &shared::aws::SdkConfig) -> Self {
        let config = aws_sdk_sns::config::Builder::from(sdk)
            .retry_classifier(RetryOnlyAnswered)
            .build();
        Self {
            sns: Client::from_conf(config),
        }
    }

    /// Texts `text` to `phone` (E.164); SNS's message id.
    pub async fn text(&self, phone: &str, text: &str) -> Result<String, SendError> {
        let out = self
            .sns
            .publish()
            .phone_number(phone)
            .message(text)
            .message_attributes(
                "AWS.SNS.SMS.SMSType",
                attribute("String", "Transactional").map_err(SendError::Refused)?,
            )
            .send()
            .await
            .map_err(send_error)?;
        Ok(out.message_id.unwrap_or_default())
    }

    /// Publishes an alert message to `topic_arn`; SNS's message id.
    pub async fn publish_alert(
        &self,
        topic_arn: &str,
        body: &str,
        attributes: &AlertAttributes,
    ) -> Result<String, SendError> {
        let regions = serde_json::to_string(&attributes.regions)
            .map_err(|e| SendError::Refused(e.to_string()))?;
        let out = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .message(body)
            .message_attributes(
                "category",
                attribute("String", &attributes.category).map_err(SendError::Refused)?,
            )
            .message_attributes(
                "region",
                attribute("String.Array", &regions).map_err(SendError::Refused)?,
            )
            .message_attributes(
                "msgType",
                attribute("String", &attributes.msg_type).map_err(SendError::Refused)?,
            )
            .send()
            .await
            .map_err(send_error)?;
        Ok(out.message_id.unwrap_or_default())
    }
}
