//! The `hazard-report` function (api.md, "Hazard reports"): a citizen reports a
//! hazard with photos and the phone's location, duplicates nearby are found,
//! and officials work the queue.
//!
//! Work in progress (issue 10): the pure parts come first, tested —
//! [`geo`] (geohash cells, the cells that cover a search circle, exact
//! distances), [`photo`] (what a photo's first bytes say it is, and JPEGs
//! without their EXIF metadata), [`report`] (a new report parsed into types,
//! every bad field named), [`status`] (the transitions) and [`store`] (the
//! reports table with its owner, queue and place indexes) and [`photos`]
//! (presigned POST uploads, the check and metadata stripping at submission,
//! download URLs). The routes and the function in the template follow.

mod app;
pub mod geo;
pub mod photo;
pub mod photos;
pub mod report;
mod routes;
pub mod status;
pub mod store;

pub use app::{App, Clock, Names};
pub use routes::SCOPE_MANAGE;
