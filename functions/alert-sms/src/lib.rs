//! The `alert-sms` function: texts and emergency alerts.
//!
//! **Texts.** Every domain event that concerns a citizen becomes one Korean
//! text message, never sent twice. An SQS queue subscribed to the `events` topic
//! (filtered on the texted types of api.md) brings them in batches of up to 10.
//! For each message:
//!
//! 1. the body is read as a [`DomainEvent`] and rendered with its template
//!    ([`texts`]); a malformed event or a type without a text is logged and
//!    dropped (retrying cannot mend it);
//! 2. the citizen's number is read from their profile ([`phones`]); a citizen
//!    without one is logged and dropped;
//! 3. the event is claimed ([`claims`]); a claim already taken means this is a
//!    duplicate delivery, and nothing is sent;
//! 4. the text is published to the number (SMSType `Transactional`). If SNS
//!    refuses it, the claim is given back and only this message is reported as
//!    failed (`ReportBatchItemFailures`), so SQS redelivers it alone; after a
//!    few receives it goes to the dead-letter queue. If SNS never answers (the
//!    text may have gone out), the claim is kept, marked `unconfirmed`, and the
//!    text is not sent again ([`sns`], [`claims`]).
//!
//! **Alerts.** The alert routes of api.md ([`routes`]): officials write alerts
//! ([`alerts`], [`store`]) that a second official approves; citizens subscribe
//! by region ([`subscriptions`]). An approval records `alert.issued` in the
//! table's outbox; the table's pipe carries it to the delivery queue, where
//! [`delivery`] publishes the alert to the `alerts` topic ([`publication`],
//! CAP 1.2 by [`cap`]) and fans it out to the subscribers in batches.
//! The answers are types ([`views`]), and [`openapi`] lists the routes as
//! docs/openapi.json describes them.
//!
//! One binary answers both API Gateway (HTTP API) requests and SQS batches
//! (`main.rs` tells them apart). Messages of a batch are handled concurrently
//! and independently: one bad message never holds back the others. Logs name
//! the request, the message and the event, never a number (masked) or a text.

pub mod alerts;
pub mod cap;
pub mod claims;
pub use shared::dynamo as db;
pub mod delivery;
pub mod openapi;
pub mod phones;
pub mod publication;
mod routes;
pub mod sns;
pub mod store;
pub mod subscriptions;
pub mod texts;
pub mod views;

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, Response};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::events::DomainEvent;
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::claims::Claims;
use crate::delivery::Delivery;
use crate::phones::Phones;
use crate::sns::{SendError, Sender};
use crate::store::Alerts;
use crate::subscriptions::Subscriptions;

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
    /// Handed to SNS, which never answered: perhaps sent, and never sent
    /// again (at most once; the claim says `unconfirmed`).
    Unconfirmed,
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

/// Where the function keeps and sends things.
#[derive(Debug, Clone)]
pub struct Names {
    /// The function's table (claims, alerts, subscriptions, deliveries).
    pub table: String,
    /// login's table (phone numbers only).
    pub login_table: String,
    /// The `alerts` topic.
    pub alerts_topic_arn: String,
    /// The delivery queue.
    pub delivery_queue_url: String,
    /// The secret whose value keys the list cursors.
    pub cursor_secret_id: String,
}

/// The clock, in Unix seconds (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything the function keeps across invocations.
#[derive(Clone)]
pub struct App {
    sdk: SdkConfig,
    sender: Sender,
    claims: Claims,
    phones: Phones,
    delivery: Delivery,
    alerts: Alerts,
    subscriptions: Subscriptions,
    idempotency: Idempotency,
    auth: Arc<Authenticator>,
    cursor_secret_id: String,
    cursors: Arc<OnceCell<Cursors>>,
    clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.alerts.table())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the app from configuration (`ALERT_SMS_TABLE`, `LOGIN_TABLE`,
    /// `ALERTS_TOPIC_ARN`, `ALERT_DELIVERY_QUEUE_URL`, `CURSOR_SECRET_ID`,
    /// `TOKEN_ISSUER`). No network call happens at start-up: the issuer's keys
    /// and the cursor key are read by the first request that needs them.
    pub fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let names = Names {
            table: env.require("ALERT_SMS_TABLE")?,
            login_table: env.require("LOGIN_TABLE")?,
            alerts_topic_arn: env.require("ALERTS_TOPIC_ARN")?,
            delivery_queue_url: env.require("ALERT_DELIVERY_QUEUE_URL")?,
            cursor_secret_id: env.require("CURSOR_SECRET_ID")?,
        };
        let issuer = env.require("TOKEN_ISSUER")?;
        let auth = Authenticator::remote("TOKEN_ISSUER", &issuer)?;
        Ok(Self::new(sdk, names, auth))
    }

    /// Builds the app from its parts.
    pub fn new(sdk: &SdkConfig, names: Names, auth: Authenticator) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        let sender = Sender::new(sdk);
        let phones = Phones::new(db.clone(), names.login_table.clone());
        let alerts = Alerts::new(db.clone(), names.table.clone());
        let subscriptions = Subscriptions::new(db.clone(), names.table.clone());
        let delivery = Delivery {
            alerts: alerts.clone(),
            subscriptions: subscriptions.clone(),
            phones: phones.clone(),
            sender: sender.clone(),
            publications: Claims::of_kind(db.clone(), names.table.clone(), "PUBLISH"),
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: names.delivery_queue_url.clone(),
            topic_arn: names.alerts_topic_arn.clone(),
        };
        Self {
            sdk: sdk.clone(),
            claims: Claims::new(db.clone(), names.table.clone()),
            idempotency: Idempotency::new(db, names.table.clone()),
            sender,
            phones,
            delivery,
            alerts,
            subscriptions,
            auth: Arc::new(auth),
            cursor_secret_id: names.cursor_secret_id,
            cursors: Arc::new(OnceCell::new()),
            clock: Arc::new(shared::time::now_secs),
        }
    }

    /// Replaces the access-token check (tests: the test stack's keys).
    pub fn with_authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// Replaces the clock (tests: alerts created a day ago).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The text claims (tests read them).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The alerts (tests read them).
    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Answers one HTTP request (API Gateway HTTP API).
    pub async fn handle_http(&self, req: Request) -> Response<Body> {
        shared::http::serve(
            "alert-sms",
            req,
            |req| async move { self.route(&req).await },
        )
        .await
    }

    /// The list cursors, keyed by the cursor secret (read once).
    async fn cursors(&self) -> Result<&Cursors, shared::http::ApiError> {
        self.cursors
            .get_or_try_init(|| {
                Cursors::from_secret(
                    &self.sdk,
                    &self.cursor_secret_id,
                    "pocketgov alert list cursors",
                )
            })
            .await
    }

    /// Handles one SQS batch; the response names the messages to redeliver.
    pub async fn handle(&self, batch: &SqsEvent, request_id: &str) -> SqsBatchResponse {
        self.handle_batch(batch, request_id).await.response()
    }

    /// [`App::handle`] within the invocation's `deadline`: delivery batches
    /// start no text they might not finish, and leave the rest to the
    /// redelivery.
    pub async fn handle_until(
        &self,
        batch: &SqsEvent,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> SqsBatchResponse {
        self.handle_batch_until(batch, request_id, deadline)
            .await
            .response()
    }

    /// Handles one SQS batch, messages concurrently, and says what became of each.
    pub async fn handle_batch(&self, batch: &SqsEvent, request_id: &str) -> BatchReport {
        self.handle_batch_until(batch, request_id, None).await
    }

    /// [`App::handle_batch`] within `deadline`.
    pub async fn handle_batch_until(
        &self,
        batch: &SqsEvent,
        request_id: &str,
        deadline: Option<Instant>,
    ) -> BatchReport {
        let span = tracing::info_span!("batch", request_id, function = "alert-sms");
        let work = batch.records.iter().map(|message| async move {
            let id = message.message_id.clone().unwrap_or_default();
            let outcome = if is_delivery(message.body.as_deref().unwrap_or_default()) {
                self.deliver(message, &id, deadline).await
            } else {
                self.text(message, &id).await
            };
            (id, outcome)
        });
        let outcomes = futures::future::join_all(work).instrument(span).await;
        BatchReport { outcomes }
    }

    /// One step of an alert's delivery; logs what became of it.
    async fn deliver(
        &self,
        message: &SqsMessage,
        message_id: &str,
        deadline: Option<Instant>,
    ) -> Outcome {
        let outcome = self
            .delivery
            .handle(message.body.as_deref().unwrap_or_default(), deadline)
            .await;
        match &outcome {
            Outcome::Retry(reason) => {
                tracing::warn!(
                    message_id,
                    outcome = "retry",
                    reason = reason.as_str(),
                    "delivery step handled"
                );
            }
            Outcome::Dropped(reason) => {
                tracing::info!(
                    message_id,
                    outcome = "dropped",
                    reason,
                    "delivery step handled"
                );
            }
            _ => tracing::debug!(message_id, "delivery step handled"),
        }
        outcome
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
            Outcome::Unconfirmed => ("unconfirmed", "sns did not answer"),
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
        match self.sender.text(phone.e164(), &text).await {
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
            Err(SendError::Refused(code)) => {
                if let Err(e) = self.claims.release(&event.event_id, &claim).await {
                    tracing::error!(
                        event_id = %event.event_id,
                        error = %e,
                        "publish failed and the claim could not be given back: this event will not be texted"
                    );
                }
                Outcome::Retry(format!("sns publish failed: {code}"))
            }
            Err(SendError::Unknown(reason)) => {
                // Perhaps texted: never again (the claim stays).
                tracing::error!(event_id = %event.event_id, reason, "sns did not answer: the text may or may not have been sent, and is not sent again");
                if let Err(e) = self.claims.unconfirmed(&event.event_id, &claim).await {
                    tracing::warn!(event_id = %event.event_id, error = %e, "claim not marked unconfirmed");
                }
                Outcome::Unconfirmed
            }
        }
    }
}

/// Whether a queued body is a step of an alert's delivery (an `alert.*` outbox
/// event or a plan/batch step) rather than an event to text.
fn is_delivery(body: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Kind>(body)
        .ok()
        .and_then(|k| k.kind)
        .is_some_and(|k| k.starts_with("alert."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn alert_steps_and_events_go_to_the_delivery_and_the_rest_to_texts() {
        assert!(super::is_delivery(
            r#"{"type":"alert.issued","eventId":"e"}"#
        ));
        assert!(super::is_delivery(
            r#"{"type":"alert.batch","alertId":"a"}"#
        ));
        assert!(!super::is_delivery(
            r#"{"type":"auth.locked","eventId":"e"}"#
        ));
        assert!(!super::is_delivery("not json"));
    }
}
