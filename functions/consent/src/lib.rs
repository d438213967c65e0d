//! The `consent` function (api.md, "Consent to joint use of administrative
//! information"): an official asks a citizen for consent to look up named
//! documents, the citizen signs exactly what was shown with a device key
//! registered with login, and every look-up made under the consent is logged
//! and texted to the citizen.
//!
//! - [`request`]: the official's request parsed into types (documents, days).
//! - [`payload`]: the RFC 8785 canonical bytes the citizen signs, fixed when
//!   asked.
//! - [`status`]: the transitions, expiry computed at read time.
//! - [`store`]: consents and the access log, every change a conditional write
//!   (look-ups with their event in one transaction).
//! - [`directory`]: the few things read from login's table (login id to
//!   citizen, device keys).
//!
//! - [`views`] and [`openapi`]: the answers as types, and the routes as
//!   docs/openapi.json lists them.
//!
//! Receipts are compact EdDSA JWS by the keys of [`shared::eddsa`], published
//! at `GET /v1/consents/keys`.

mod app;
pub mod directory;
pub mod openapi;
pub mod payload;
pub mod request;
mod routes;
pub mod status;
pub mod store;
pub mod views;

pub use app::{App, Clock, Names, StartupError};
pub use routes::SCOPE_REQUEST;
