//! The `tax-refund` function (api.md, "Local-tax refunds"): a citizen claims a
//! local-tax overpayment on the phone, unpaid overdue bills are offset first,
//! an official reviews and pays, and money moves exactly once.
//!
//! - [`account`]: the bank account as typed values (known bank, 10-16 digits
//!   shown only masked, the holder must be the citizen);
//! - [`ledger`]: the arithmetic, free of storage (bill statuses, the 5-year
//!   claim limit, offsets of the oldest arrears first within reservations);
//! - [`status`]: the refund's transitions;
//! - [`records`]: the tax-ledger table, whose only writer this function is;
//! - [`refunds`]: the refund table and the three transactions whose
//!   DynamoDB conditions are the money rules (claim, decision, payment), each
//!   with its event in the outbox;
//! - [`vault`]: the account number under the template's KMS key;
//! - `routes`: the HTTP edge;
//! - [`request`], [`views`] and [`openapi`]: the request bodies and the
//!   answers as types, and the routes as docs/openapi.json lists them.
//!
//! Logs name requests, refunds and amounts; never an account number, a name
//! or a token.

pub mod account;
pub mod ledger;
pub mod openapi;
pub mod records;
pub mod refunds;
pub mod request;
mod routes;
pub mod status;
pub mod vault;
pub mod views;

use std::sync::Arc;

use chrono::NaiveDate;
use lambda_http::{Body, Request, Response};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::cursor::Cursors;
use shared::http::ApiError;
use shared::idempotency::Idempotency;
use shared::jwks::Authenticator;
use tokio::sync::OnceCell;

use crate::records::Records;
use crate::refunds::Refunds;
use crate::vault::Vault;

pub use routes::SCOPE_REVIEW;

/// Where the function keeps things.
#[derive(Debug, Clone)]
pub struct Names {
    /// The refund table (refunds, outbox, idempotency records).
    pub table: String,
    /// The tax-ledger table.
    pub ledger_table: String,
    /// The KMS key of account numbers.
    pub account_key_id: String,
    /// The secret whose value keys the list cursors.
    pub cursor_secret_id: String,
}

/// The clock, in Unix seconds (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything the function keeps across invocations.
#[derive(Clone)]
pub struct App {
    sdk: SdkConfig,
    records: Records,
    refunds: Refunds,
    vault: Vault,
    idempotency: Idempotency,
    auth: Arc<Authenticator>,
    cursor_secret_id: String,
    cursors: Arc<OnceCell<Cursors>>,
    clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.refunds.table())
            .field("ledger_table", &self.records.table())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds the app from configuration (`TAX_REFUND_TABLE`,
    /// `TAX_LEDGER_TABLE`, `ACCOUNT_KEY_ID`, `CURSOR_SECRET_ID`,
    /// `TOKEN_ISSUER`). No network call happens at start-up.
    pub fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let names = Names {
            table: env.require("TAX_REFUND_TABLE")?,
            ledger_table: env.require("TAX_LEDGER_TABLE")?,
            account_key_id: env.require("ACCOUNT_KEY_ID")?,
            cursor_secret_id: env.require("CURSOR_SECRET_ID")?,
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
            records: Records::new(db.clone(), names.ledger_table),
            refunds: Refunds::new(db.clone(), names.table.clone()),
            vault: Vault::new(aws_sdk_kms::Client::new(sdk), names.account_key_id),
            idempotency: Idempotency::new(db, names.table),
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

    /// Replaces the clock (tests: claims on another day).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The refunds (tests read them).
    pub fn refunds(&self) -> &Refunds {
        &self.refunds
    }

    /// The ledger (tests read it).
    pub fn records(&self) -> &Records {
        &self.records
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Now in milliseconds: the clock's second and the real millisecond
    /// within it (orders claims made in the same second).
    fn now_ms(&self) -> i64 {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::from(d.subsec_millis()));
        self.now() * 1000 + millis
    }

    /// Today in Korea, where due dates and the 5-year limit are counted.
    fn today(&self) -> NaiveDate {
        const KST_SECS: i64 = 9 * 3600;
        chrono::DateTime::from_timestamp(self.now() + KST_SECS, 0)
            .unwrap_or_default()
            .date_naive()
    }

    /// Answers one HTTP request (API Gateway HTTP API).
    pub async fn handle_http(&self, req: Request) -> Response<Body> {
        shared::http::serve(
            "tax-refund",
            req,
            |req| async move { self.route(&req).await },
        )
        .await
    }

    /// The list cursors, keyed by the cursor secret (read once).
    async fn cursors(&self) -> Result<&Cursors, ApiError> {
        self.cursors
            .get_or_try_init(|| {
                Cursors::from_secret(
                    &self.sdk,
                    &self.cursor_secret_id,
                    "pocketgov tax-refund list cursors",
                )
            })
            .await
    }
}
