//! Reports in the function's table, found by owner, by status and by place
//! without a Scan.
//!
//! Items: `REPORT#<reportId>` / `REPORT`, the report (serde_dynamo) with the
//! keys of four indexes:
//! - `ByCitizen`: `citizenKey` = userId, `createdKey` = `<createdMs>#<id>`
//!   (the reporter's list, newest first);
//! - `ByStatus`: `queueKey` = status, `listedAt` = `<submittedMs>#<id>` (the
//!   officials' queue, oldest first);
//! - `ByCell6` and `ByCell7`: `cell6` / `cell7` = the geohash of the location
//!   at 6 and 7 characters, ranged by `listedAt`: nearby searches (a 2 km
//!   circle is about forty 6-character cells, about 1.8 times its area, where
//!   5-character cells would read 6 to 13 times it) and the 50 m duplicate
//!   check (at most nine 7-character cells), the last 24 hours being a range
//!   of `listedAt`. The cells of one search are read concurrently.
//!
//! The place and queue keys are set when the report is submitted, so drafts
//! are in no index but their owner's. Every change is one transaction: the
//! report conditioned on the version and status read, and its event.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use shared::dynamo::{self, Item, StoreError, key, n, s};
use shared::events::DomainEvent;

use crate::geo::{self, Point};
use crate::status::Status;

/// The geohash precision of nearby searches (cells about 1 km x 600 m here).
pub const WIDE: usize = 6;
/// The geohash precision of the duplicate check (cells about 150 m).
pub const NARROW: usize = 7;

/// How many cell queries of one search run at once.
pub const CONCURRENT_CELLS: usize = 8;

/// What a place search found, nearest first, and what it cost.
#[derive(Debug)]
pub struct Near {
    /// The reports inside the circle with their distance in metres.
    pub found: Vec<(Report, f64)>,
    /// The cells read (one Query each, more when a cell spans pages).
    pub cells: usize,
    /// The items the queries returned before the exact distance filtered them.
    pub read: usize,
}

/// Where a report is (answered as stored).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ReportLocation")]
pub struct Location {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// The phone's accuracy estimate, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

impl Location {
    /// As a point.
    pub fn point(&self) -> Point {
        Point {
            lat: self.lat,
            lon: self.lon,
        }
    }
}

/// A photo of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    /// Id.
    pub photo_id: String,
    /// Declared type.
    pub content_type: String,
    /// Declared size.
    pub size_bytes: u64,
}

/// An official's change, kept on the report (answered as stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ReportChange")]
pub struct Change {
    /// The new status.
    pub status: Status,
    /// The official's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who (the official's user id).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A report, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Id (a UUID).
    pub report_id: String,
    /// The reporter.
    pub user_id: String,
    /// Category (api.md value).
    pub category: String,
    /// What is wrong.
    pub description: String,
    /// Where.
    pub location: Location,
    /// Photos.
    pub photos: Vec<Photo>,
    /// Where it stands.
    pub status: Status,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// When created.
    pub created_at: String,
    /// When created, Unix milliseconds.
    pub created_ms: i64,
    /// When submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    /// When submitted, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_ms: Option<i64>,
    /// Last change.
    pub updated_at: String,
    /// The officials' changes, oldest first.
    #[serde(default)]
    pub history: Vec<Change>,
}

/// Why a change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The report changed since it was read.
    #[error("the report changed")]
    Changed,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The reports table.
#[derive(Debug, Clone)]
pub struct Reports {
    db: Client,
    table: String,
}

fn position(ms: i64, id: &str) -> String {
    format!("{ms:015}#{id}")
}

impl Reports {
    /// The table `table`.
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The item of `r` with its index keys (for imports and benchmarks that
    /// write reports in batches).
    pub fn item(&self, r: &Report) -> Result<Item, StoreError> {
        let mut item = dynamo::to_item(r)?;
        item.extend(key(format!("REPORT#{}", r.report_id), "REPORT"));
        item.insert("citizenKey".into(), s(&r.user_id));
        item.insert("createdKey".into(), s(position(r.created_ms, &r.report_id)));
        if let Some(ms) = r.submitted_ms {
            let p = r.location.point();
            item.insert("listedAt".into(), s(position(ms, &r.report_id)));
            item.insert("queueKey".into(), s(r.status.as_str()));
            item.insert("cell6".into(), s(p.geohash(WIDE)));
            item.insert("cell7".into(), s(p.geohash(NARROW)));
        }
        Ok(item)
    }

    /// Writes a new draft (fails if the id exists).
    pub async fn create(&self, r: &Report) -> Result<(), StoreError> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(r)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    /// The report `id`, strongly consistent.
    pub async fn get(&self, id: &str) -> Result<Option<Report>, StoreError> {
        dynamo::get(&self.db, &self.table, key(format!("REPORT#{id}"), "REPORT")).await
    }

    /// Replaces `current` by `next` with `event`, if `current` is still what
    /// is stored (version and status).
    pub async fn change(
        &self,
        current: &Report,
        next: &Report,
        event: &DomainEvent,
    ) -> Result<(), ChangeError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(next)?))
            .condition_expression("version = :v AND #status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":v", n(current.version))
            .expression_attribute_values(":from", s(current.status.as_str()))
            .build()
            .map_err(|e| StoreError(format!("request: {e}")))?;
        let outbox = event
            .outbox_put(&self.table)
            .map_err(|e| StoreError(e.to_string()))?;
        let result = self
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(outbox)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match dynamo::cancellation_reasons(&e) {
                Some(_) => Err(ChangeError::Changed),
                None => Err(ChangeError::Store(StoreError::sdk(e))),
            },
        }
    }

    /// One page of `user_id`'s reports, newest first.
    pub async fn of_citizen(
        &self,
        user_id: &str,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Report>, Option<String>), StoreError> {
        self.page(
            "ByCitizen",
            "citizenKey",
            user_id,
            "createdKey",
            false,
            limit,
            after,
        )
        .await
    }

    /// One page of the reports in `status`, oldest submitted first.
    pub async fn in_status(
        &self,
        status: Status,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Report>, Option<String>), StoreError> {
        self.page(
            "ByStatus",
            "queueKey",
            status.as_str(),
            "listedAt",
            true,
            limit,
            after,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn page(
        &self,
        index: &str,
        hash: &str,
        value: &str,
        range: &str,
        ascending: bool,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<Report>, Option<String>), StoreError> {
        dynamo::IndexPage {
            index,
            hash,
            value,
            range,
            pk_prefix: "REPORT#",
            sk: "REPORT",
            ascending,
        }
        .read(&self.db, &self.table, limit, after)
        .await
    }

    /// The submitted reports within `radius_m` of `center` submitted at or
    /// after `since_ms`, nearest first, each with its distance: the cells
    /// covering the circle are read (`precision` [`WIDE`] or [`NARROW`], at
    /// most [`CONCURRENT_CELLS`] at a time), then exact distances decide.
    pub async fn near(
        &self,
        center: Point,
        radius_m: f64,
        precision: usize,
        since_ms: i64,
    ) -> Result<Near, StoreError> {
        let (index, attribute, precision) = if precision >= NARROW {
            ("ByCell7", "cell7", NARROW)
        } else {
            ("ByCell6", "cell6", WIDE)
        };
        let cells = geo::cover(center, radius_m, precision);
        let since = format!("{since_ms:015}");
        let read_cell = |cell: String| {
            let since = since.clone();
            async move {
                let mut items = Vec::new();
                let mut start = None;
                loop {
                    let out = self
                        .db
                        .query()
                        .table_name(&self.table)
                        .index_name(index)
                        .key_condition_expression("#c = :c AND listedAt >= :since")
                        .expression_attribute_names("#c", attribute)
                        .expression_attribute_values(":c", s(&cell))
                        .expression_attribute_values(":since", s(&since))
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(StoreError::sdk)?;
                    items.extend(out.items.unwrap_or_default());
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        return Ok::<_, StoreError>(items);
                    }
                }
            }
        };
        let pages: Vec<Result<Vec<Item>, StoreError>> = stream::iter(cells.iter().cloned())
            .map(read_cell)
            .buffer_unordered(CONCURRENT_CELLS)
            .collect()
            .await;
        let mut near = Near {
            found: Vec::new(),
            cells: cells.len(),
            read: 0,
        };
        for items in pages {
            for item in items? {
                near.read += 1;
                let report: Report = dynamo::from_item(item)?;
                let d = center.distance_m(report.location.point());
                if d <= radius_m {
                    near.found.push((report, d));
                }
            }
        }
        near.found.sort_by(|a, b| a.1.total_cmp(&b.1));
        Ok(near)
    }
}
