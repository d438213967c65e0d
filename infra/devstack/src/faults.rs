//! AWS faults on demand, for tests of what a client sees when DynamoDB
//! throttles, S3 answers 500 or SNS times out in the middle of a request.
//!
//! [`Faults::wrap`] gives an `SdkConfig` whose HTTP client records every call
//! the SDK makes (one entry per attempt: `dynamodb:TransactWriteItems`,
//! `s3:PutObject`, `sns:Publish`, `kms:Sign`, ...) and, once [`Faults::arm`]ed,
//! fails the n-th call from then on, together with the SDK's retries of it
//! (except [`Fault::LostFirstAnswer`]), so the failure reaches the function as
//! it would after the SDK gave up:
//!
//! - [`Fault::Throttling`] and [`Fault::ServerError`]: the service's own error
//!   answer (400 ThrottlingException / 503 SlowDown for S3; 500), the call not
//!   made;
//! - [`Fault::Timeout`]: the connection times out before the service sees it;
//! - [`Fault::LostAnswer`]: the service does the call and the answer is lost
//!   (a timeout after a write: the case that doubles writes when retried), on
//!   every attempt; [`Fault::LostFirstAnswer`]: on the first attempt only, so
//!   the SDK's retry meets the first attempt's write.
//!
//! The calls still go to the emulator; only the transport is wrapped. A test
//! runs a flow once to learn its calls ([`Faults::calls`]), then breaks each of
//! them in turn.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use shared::aws::SdkConfig;

/// Attempts of one call the SDK makes by default (standard retry mode); an
/// armed fault fails them all.
pub const ATTEMPTS: usize = 3;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service refuses the call as throttled.
    Throttling,
    /// The service answers 500.
    ServerError,
    /// The connection times out before the call reaches the service.
    Timeout,
    /// The call is made; its answer never arrives, for every attempt.
    LostAnswer,
    /// The first attempt is made and its answer lost; the SDK's retry goes
    /// through (and meets what the first attempt wrote): the everyday blip.
    LostFirstAnswer,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 5] = [
        Fault::Throttling,
        Fault::ServerError,
        Fault::Timeout,
        Fault::LostAnswer,
        Fault::LostFirstAnswer,
    ];
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<String>,
    armed: Option<Armed>,
    fired: usize,
}

#[derive(Debug)]
struct Armed {
    /// Calls to let through before the fault.
    skip: usize,
    fault: Fault,
    /// The operation being failed, and attempts of it left to fail.
    failing: Option<(String, usize)>,
}

/// The switchboard shared by a test and the SDK clients it wrapped.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    /// No faults yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `sdk` with an HTTP client that goes through these faults (plain HTTP:
    /// tests talk to the emulator on loopback), and retries backing off for
    /// milliseconds instead of seconds (same number of attempts).
    pub fn wrap(&self, sdk: &SdkConfig) -> SdkConfig {
        let inner = sdk
            .http_client()
            .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
        sdk.to_builder()
            .http_client(FaultyClient {
                inner,
                faults: self.clone(),
            })
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(ATTEMPTS as u32)
                    .with_initial_backoff(Duration::from_millis(2)),
            )
            .build()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The calls made since the last [`Faults::clear`], one per attempt.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Forgets the calls recorded and disarms.
    pub fn clear(&self) {
        let mut state = self.state();
        state.calls.clear();
        state.armed = None;
        state.fired = 0;
    }

    /// Fails the call `skip` calls from now (0: the next one) with `fault`,
    /// with all [`ATTEMPTS`] of it.
    pub fn arm(&self, skip: usize, fault: Fault) {
        let mut state = self.state();
        state.armed = Some(Armed {
            skip,
            fault,
            failing: None,
        });
        state.fired = 0;
    }

    /// How many attempts failed since armed.
    pub fn fired(&self) -> usize {
        self.state().fired
    }

    /// Records `operation` and says whether to fail it.
    fn decide(&self, operation: &str) -> Option<Fault> {
        let mut state = self.state();
        state.calls.push(operation.to_owned());
        let armed = state.armed.as_mut()?;
        let fault = armed.fault;
        match &mut armed.failing {
            None if armed.skip > 0 => {
                armed.skip -= 1;
                None
            }
            None => {
                let retries = if fault == Fault::LostFirstAnswer {
                    0
                } else {
                    ATTEMPTS - 1
                };
                armed.failing = Some((operation.to_owned(), retries));
                state.fired += 1;
                Some(fault)
            }
            Some((failing, left)) if failing == operation && *left > 0 => {
                *left -= 1;
                state.fired += 1;
                Some(fault)
            }
            Some(_) => {
                state.armed = None;
                None
            }
        }
    }
}

#[derive(Debug)]
struct FaultyClient {
    inner: SharedHttpClient,
    faults: Faults,
}

impl HttpClient for FaultyClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = operation(&request);
        match self.faults.decide(&operation) {
            None => self.inner.call(request),
            Some(Fault::LostAnswer | Fault::LostFirstAnswer) => {
                let call = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    let _ = call.await;
                    Err(ConnectorError::timeout(
                        "injected fault: the answer was lost".into(),
                    ))
                })
            }
            Some(Fault::Timeout) => HttpConnectorFuture::ready(Err(ConnectorError::timeout(
                "injected fault: connection timed out".into(),
            ))),
            Some(fault) => HttpConnectorFuture::ready(Ok(error_answer(fault, &operation))),
        }
    }
}

/// `service:Operation` of a request: from `X-Amz-Target` (JSON protocols),
/// the `Action` of a query body (SNS), or the method on S3.
pub fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        let (service, action) = target.split_once('.').unwrap_or(("", target));
        let service = match service {
            s if s.starts_with("DynamoDBStreams") => "dynamodbstreams",
            s if s.starts_with("DynamoDB") => "dynamodb",
            "TrentService" => "kms",
            "AmazonSQS" => "sqs",
            s => return format!("{}:{action}", s.to_ascii_lowercase()),
        };
        return format!("{service}:{action}");
    }
    if let Some(body) = request.body().bytes()
        && let Ok(text) = std::str::from_utf8(body)
        && let Some(action) = text
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("sns:{action}");
    }
    let action = match request.method() {
        "PUT" if request.headers().contains_key("x-amz-copy-source") => "CopyObject",
        "PUT" => "PutObject",
        "GET" => "GetObject",
        "HEAD" => "HeadObject",
        "DELETE" => "DeleteObject",
        _ => "Post",
    };
    format!("s3:{action}")
}

/// The error answer a service gives for `fault`, in its protocol.
fn error_answer(fault: Fault, operation: &str) -> HttpResponse {
    let throttled = fault == Fault::Throttling;
    let (status, content_type, body) = match operation.split_once(':').map_or("", |(s, _)| s) {
        "sns" => (
            if throttled { 400 } else { 500 },
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>injected fault</Message></Error><RequestId>fault</RequestId></ErrorResponse>",
                if throttled { "Sender" } else { "Receiver" },
                if throttled {
                    "Throttling"
                } else {
                    "InternalFailure"
                },
            ),
        ),
        "s3" => (
            if throttled { 503 } else { 500 },
            "application/xml",
            format!(
                "<Error><Code>{}</Code><Message>injected fault</Message></Error>",
                if throttled {
                    "SlowDown"
                } else {
                    "InternalError"
                },
            ),
        ),
        "dynamodb" => (
            if throttled { 400 } else { 500 },
            "application/x-amz-json-1.0",
            format!(
                "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{}\",\"message\":\"injected fault\"}}",
                if throttled {
                    "ThrottlingException"
                } else {
                    "InternalServerError"
                },
            ),
        ),
        _ => (
            if throttled { 400 } else { 500 },
            "application/x-amz-json-1.1",
            format!(
                "{{\"__type\":\"{}\",\"message\":\"injected fault\"}}",
                if throttled {
                    "ThrottlingException"
                } else {
                    "InternalFailure"
                },
            ),
        ),
    };
    let status = StatusCode::try_from(status).unwrap_or_else(|_| unreachable!("valid statuses"));
    let mut answer = HttpResponse::new(status, SdkBody::from(body));
    answer.headers_mut().insert("content-type", content_type);
    answer
}
