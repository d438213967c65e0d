//! The `hazard-report` function (api.md, "Hazard reports"): a citizen reports a
//! hazard with photos and the phone's location, duplicates nearby are found,
//! and officials work the queue.
//!
//! - [`geo`]: geohash cells, the cells that cover a search circle, exact
//!   distances, the South Korea box.
//! - [`photo`]: what a photo's first bytes say it is; JPEGs without their
//!   EXIF, XMP, IPTC and comments.
//! - [`report`]: a new report parsed into types, every bad field named.
//! - [`status`]: the transitions of a report.
//! - [`store`]: the reports table with its owner, queue and place indexes;
//!   every change one transaction with its event.
//! - [`photos`]: presigned POST uploads, the check and metadata stripping at
//!   submission, download URLs.
//! - [`views`] and [`openapi`]: the answers as types, and the routes as
//!   docs/openapi.json lists them.

mod app;
pub mod geo;
pub mod openapi;
pub mod photo;
pub mod photos;
pub mod report;
mod routes;
pub mod status;
pub mod store;
pub mod views;

pub use app::{App, Clock, Names};
pub use routes::SCOPE_MANAGE;
