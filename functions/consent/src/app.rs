//! The function's state across invocations and its configuration.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::eddsa::{KeySet, KeySetError};
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;

use crate::directory::Directory;
use crate::store::Consents;

/// The clock, in Unix milliseconds (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A variable is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The receipt keys could not be read.
    #[error("reading the receipt keys: {0}")]
    Secret(String),
    /// The receipt keys are unusable.
    #[error(transparent)]
    Keys(#[from] KeySetError),
}

/// Where the function keeps things.
#[derive(Debug, Clone)]
pub struct Names {
    /// The consents table (consents, access log, outbox, idempotency records).
    pub table: String,
    /// Login's table (read-only: login ids, roles, device keys).
    pub login_table: String,
}

/// Everything the function keeps across invocations.
#[derive(Clone)]
pub struct App {
    pub(crate) consents: Consents,
    pub(crate) directory: Directory,
    pub(crate) idempotency: Idempotency,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) keys: Arc<KeySet>,
    pub(crate) cursors: Arc<Cursors>,
    clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.consents.table())
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the app from configuration (`CONSENT_TABLE`, `LOGIN_TABLE`,
    /// `CONSENT_KEYS_SECRET_ID`, `TOKEN_ISSUER`); reads the receipt keys from
    /// Secrets Manager (the one network call of start-up). Access tokens are
    /// checked with the issuer's published keys, fetched when first needed.
    pub async fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, StartupError> {
        let names = Names {
            table: env.require("CONSENT_TABLE")?,
            login_table: env.require("LOGIN_TABLE")?,
        };
        let secret_id = env.require("CONSENT_KEYS_SECRET_ID")?;
        let issuer = env.require("TOKEN_ISSUER")?;
        let auth = Authenticator::remote("TOKEN_ISSUER", &issuer)?;
        let secret = shared::aws::secret_string(sdk, &secret_id)
            .await
            .map_err(StartupError::Secret)?;
        let keys = KeySet::from_json(&secret)?;
        Ok(Self::new(sdk, names, keys, auth))
    }

    /// Builds the app from its parts.
    pub fn new(sdk: &SdkConfig, names: Names, keys: KeySet, auth: Authenticator) -> Self {
        let db = aws_sdk_dynamodb::Client::new(sdk);
        // List cursors are keyed by a secret derived from the receipt key, so
        // the function needs one secret only.
        let cursors = Cursors::new(keys.derive("pocketgov consent list cursors"));
        Self {
            consents: Consents::new(db.clone(), names.table.clone()),
            directory: Directory::new(db.clone(), names.login_table),
            idempotency: Idempotency::new(db, names.table),
            auth: Arc::new(auth),
            keys: Arc::new(keys),
            cursors: Arc::new(cursors),
            clock: Arc::new(shared::time::now_ms),
        }
    }

    /// Replaces the access-token check (tests: the test stack's keys).
    pub fn with_authenticator(mut self, auth: Authenticator) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// Replaces the clock (tests: consents that expire).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The consents (tests read them).
    pub fn consents(&self) -> &Consents {
        &self.consents
    }

    /// The receipt keys as a JWK Set (what `GET /v1/consents/keys` answers).
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Answers one HTTP request (API Gateway HTTP API).
    pub async fn handle_http(&self, req: Request) -> Response<Body> {
        shared::http::serve("consent", req, |req| async move { self.route(&req).await }).await
    }
}
