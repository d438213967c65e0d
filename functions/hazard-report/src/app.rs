//! The function's state across invocations and its configuration.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::http::ApiError;
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;
use tokio::sync::OnceCell;

use crate::photos::Photos;
use crate::store::Reports;

/// The clock, in Unix milliseconds (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Where the function keeps things.
#[derive(Debug, Clone)]
pub struct Names {
    /// The reports table (reports, outbox, idempotency records).
    pub table: String,
    /// The photo bucket.
    pub bucket: String,
    /// The secret whose value keys the list cursors.
    pub cursor_secret_id: String,
    /// The emulator's URL locally (path-style S3), `None` in AWS.
    pub endpoint: Option<String>,
}

/// Everything the function keeps across invocations.
#[derive(Clone)]
pub struct App {
    pub(crate) sdk: SdkConfig,
    pub(crate) reports: Reports,
    pub(crate) photos: Photos,
    pub(crate) idempotency: Idempotency,
    pub(crate) auth: Arc<Authenticator>,
    cursor_secret_id: String,
    cursors: Arc<OnceCell<Cursors>>,
    clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.reports.table())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the app from configuration (`HAZARD_REPORT_TABLE`,
    /// `HAZARD_PHOTO_BUCKET`, `CURSOR_SECRET_ID`, `TOKEN_ISSUER`, and
    /// `AWS_ENDPOINT_URL` locally). No network call happens at start-up.
    pub fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let names = Names {
            table: env.require("HAZARD_REPORT_TABLE")?,
            bucket: env.require("HAZARD_PHOTO_BUCKET")?,
            cursor_secret_id: env.require("CURSOR_SECRET_ID")?,
            endpoint: env.get("AWS_ENDPOINT_URL"),
        };
        let issuer = env.require("TOKEN_ISSUER")?;
        let auth = Authenticator::remote("TOKEN_ISSUER", &issuer)?;
        Ok(Self::new(sdk, names, auth))
    }

    /// Builds the app from its parts.
    pub fn new(sdk: &SdkConfig, names: Names, auth: Authenticator) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            sdk: sdk.clone(),
            reports: Reports::new(db.clone(), names.table.clone()),
            photos: Photos::new(sdk, names.bucket, names.endpoint.as_deref()),
            idempotency: Idempotency::new(db, names.table),
            auth: Arc::new(auth),
            cursor_secret_id: names.cursor_secret_id,
            cursors: Arc::new(OnceCell::new()),
            clock: Arc::new(shared::time::now_ms),
        }
    }

    /// Replaces the access-token check (tests: the test stack's keys).
    pub fn with_authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// Replaces the clock (tests: reports of other days).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The reports (tests read them).
    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Answers one HTTP request (API Gateway HTTP API).
    pub async fn handle_http(&self, req: Request) -> Response<Body> {
        shared::http::serve(
            "hazard-report",
            req,
            |req| async move { self.route(&req).await },
        )
        .await
    }

    /// The list cursors, keyed by the cursor secret (read once).
    pub(crate) async fn cursors(&self) -> Result<&Cursors, ApiError> {
        self.cursors
            .get_or_try_init(|| {
                Cursors::from_secret(
                    &self.sdk,
                    &self.cursor_secret_id,
                    "pocketgov hazard-report list cursors",
                )
            })
            .await
    }
}
