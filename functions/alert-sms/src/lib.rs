//! The `alert-sms` function: every domain event that concerns a citizen becomes
//! one Korean text message, never sent twice.
//!
//! It is fed by an SQS queue subscribed to the `events` topic (filtered on the
//! texted types of api.md) in batches of up to 10. For each message:
//!
//! 1. the body is read as a [`DomainEvent`] and rendered with its template
//!    ([`texts`]); a malformed event or a type without a text is logged and
//!    dropped (retrying cannot mend it);
//! 2. the citizen's number is read from their profile ([`phones`]); a citizen
//!    without one is logged and dropped;
//! 3. the event is claimed ([`claims`]); a claim already taken means this is a
//!    duplicate delivery, and nothing is sent;
//! 4. the text is published to the number (SMSType `Transactional`). If SNS
//!    fails, the claim is given back and only this message is reported as failed
//!    (`ReportBatchItemFailures`), so SQS redelivers it alone; after a few
//!    receives it goes to the dead-letter queue.
//!
//! Messages of a batch are handled concurrently and independently: one bad
//! message never holds back the others. Logs name the request, the message and
//! the event, never the number (masked) or the text.

pub mod claims;
pub mod phones;
pub mod texts;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use shared::config::{ConfigError, Env};
use shared::events::DomainEvent;
use tracing::Instrument;

use crate::claims::Claims;
use crate::phones::Phones;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Texted.
    Sent,
    /// The event was texted before (a duplicate delivery): nothing sent.
    Duplicate,
    /// Not texted, and retrying would not change that (the reason is logged).
    Dropped(&'static str),
    /// Not texted this time; reported to SQS so the message comes back.
    Retry(String),
}

/// The outcome of every message of a batch, in order.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// `(messageId, outcome)`.
    pub outcomes: Vec<(String, Outcome)>,
}

impl BatchReport {
    /// The answer to SQS: the messages to deliver again.
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for (id, outcome) in &self.outcomes {
            if matches!(outcome, Outcome::Retry(_)) {
                response.add_failure(id.clone());
            }
        }
        response
    }

    /// How many messages ended with `outcome`'s kind.
    pub fn count(&self, kind: fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| kind(o)).count()
    }
}

/// Everything the function keeps across invocations.
#[derive(Debug, Clone)]
pub struct App {
    sns: aws_sdk_sns::Client,
    claims: Claims,
    phones: Phones,
}

impl App {
    /// Builds the app from configuration (`ALERT_SMS_TABLE`, `LOGIN_TABLE`). No
    /// network call happens at start-up.
    pub fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let table = env.require("ALERT_SMS_TABLE")?;
        let login_table = env.require("LOGIN_TABLE")?;
        Ok(Self::new(sdk, table, login_table))
    }

    /// Builds the app from its parts.
    pub fn new(sdk: &SdkConfig, table: String, login_table: String) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            sns: aws_sdk_sns::Client::new(sdk),
            claims: Claims::new(db.clone(), table),
            phones: Phones::new(db, login_table),
        }
    }

    /// The claims (tests read them).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Handles one SQS batch; the response names the messages to redeliver.
    pub async fn handle(&self, batch: &SqsEvent, request_id: &str) -> SqsBatchResponse {
        self.handle_batch(batch, request_id).await.response()
    }

    /// Handles one SQS batch, messages concurrently, and says what became of each.
    pub async fn handle_batch(&self, batch: &SqsEvent, request_id: &str) -> BatchReport {
        let span = tracing::info_span!("batch", request_id, function = "alert-sms");
        let work = batch.records.iter().map(|message| async move {
            let id = message.message_id.clone().unwrap_or_default();
            let outcome = self.text(message, &id).await;
            (id, outcome)
        });
        let outcomes = futures::future::join_all(work).instrument(span).await;
        BatchReport { outcomes }
    }

    /// Texts one message; logs what became of it.
    async fn text(&self, message: &SqsMessage, message_id: &str) -> Outcome {
        let Some(event) = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<DomainEvent>(body).ok())
        else {
            tracing::warn!(
                message_id,
                outcome = "dropped",
                reason = "malformed event",
                "message handled"
            );
            return Outcome::Dropped("malformed event");
        };
        let outcome = self.text_event(&event).await;
        let (label, reason) = match &outcome {
            Outcome::Sent => ("sent", ""),
            Outcome::Duplicate => ("duplicate", ""),
            Outcome::Dropped(reason) => ("dropped", *reason),
            Outcome::Retry(reason) => ("retry", reason.as_str()),
        };
        let fields = (message_id, event.event_id.as_str(), event.kind.as_str());
        if matches!(outcome, Outcome::Sent | Outcome::Duplicate) {
            tracing::info!(
                message_id = fields.0,
                event_id = fields.1,
                event_type = fields.2,
                outcome = label,
                "message handled"
            );
        } else {
            tracing::warn!(
                message_id = fields.0,
                event_id = fields.1,
                event_type = fields.2,
                outcome = label,
                reason,
                "message handled"
            );
        }
        outcome
    }

    async fn text_event(&self, event: &DomainEvent) -> Outcome {
        let text = match texts::render(event) {
            Ok(text) => text,
            Err(texts::TextError::NotTexted(_)) => return Outcome::Dropped("type not texted"),
            Err(texts::TextError::Data(_)) => return Outcome::Dropped("malformed data"),
        };
        let phone = match self.phones.of(&event.user_id).await {
            Ok(Some(phone)) => phone,
            Ok(None) => return Outcome::Dropped("no phone number for the user"),
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let now = shared::time::now_secs();
        let claim = match self
            .claims
            .take(&event.event_id, &event.kind, &event.user_id, now)
            .await
        {
            Ok(Some(claim)) => claim,
            Ok(None) => return Outcome::Duplicate,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        match self.publish(phone.e164(), &text).await {
            Ok(message_id) => {
                if let Err(e) = self
                    .claims
                    .sent(&event.event_id, &claim, &message_id, now)
                    .await
                {
                    // The text went out; the claim stays `sending`, which
                    // still stops a second text.
                    tracing::warn!(event_id = %event.event_id, error = %e, "claim not marked sent");
                }
                tracing::debug!(event_id = %event.event_id, to = %phone.masked(), "texted");
                Outcome::Sent
            }
            Err(code) => {
                if let Err(e) = self.claims.release(&event.event_id, &claim).await {
                    tracing::error!(
                        event_id = %event.event_id,
                        error = %e,
                        "publish failed and the claim could not be given back: this event will not be texted"
                    );
                }
                Outcome::Retry(format!("sns publish failed: {code}"))
            }
        }
    }

    /// Publishes `text` to `phone`; the SNS message id, or the error's code
    /// (never its message, which may quote the number).
    async fn publish(&self, phone: &str, text: &str) -> Result<String, String> {
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| e.to_string())?;
        let out = self
            .sns
            .publish()
            .phone_number(phone)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some(code) => code.to_owned(),
                None => format!("{e}"),
            })?;
        Ok(out.message_id.unwrap_or_default())
    }
}
