//! The JSON answers of the hazard-report routes, as typed values (their
//! schemas are in docs/openapi.json).
//!
//! These answers were `json!` maps, which serde_json writes with their keys
//! sorted; `answer` writes the types the same way, so the bytes on the wire
//! stay what they were while the fields are declared in api.md's order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::photo::Kind;
use crate::report::Category;
use crate::status::Status;
use crate::store::{Change, Location, Report};

/// A report as its reporter and officials see it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Report")]
pub struct ReportView {
    /// Its id (UUID).
    pub report_id: String,
    /// The category.
    #[schemars(with = "Category")]
    pub category: String,
    /// What is wrong.
    pub description: String,
    /// Where.
    pub location: Location,
    /// Where it stands.
    pub status: Status,
    /// Bumped by every change; send it as If-Match.
    pub version: u64,
    /// When created (RFC 3339).
    pub created_at: String,
    /// When submitted (RFC 3339); absent on drafts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    /// When last changed (RFC 3339).
    pub updated_at: String,
    /// The photos as declared; once submitted (in a single report, not in
    /// lists) each with its download URL.
    pub photos: Vec<PhotoView>,
    /// The officials' changes, oldest first.
    pub history: Vec<Change>,
}

impl ReportView {
    /// `r` with its photos as declared (no URLs).
    pub fn new(r: &Report) -> Self {
        ReportView {
            report_id: r.report_id.clone(),
            category: r.category.clone(),
            description: r.description.clone(),
            location: r.location,
            status: r.status,
            version: r.version,
            created_at: r.created_at.clone(),
            submitted_at: r.submitted_at.clone(),
            updated_at: r.updated_at.clone(),
            photos: r
                .photos
                .iter()
                .map(|p| PhotoView {
                    photo_id: p.photo_id.clone(),
                    content_type: p.content_type.clone(),
                    url: None,
                })
                .collect(),
            history: r.history.clone(),
        }
    }
}

/// A photo of a report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ReportPhoto")]
pub struct PhotoView {
    /// Its id (UUID).
    pub photo_id: String,
    /// The declared type.
    #[schemars(with = "Kind")]
    pub content_type: String,
    /// Presigned GET, valid 300 s; JPEGs without their EXIF metadata. Only
    /// once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where and how to upload one declared photo: a presigned S3 POST, limited
/// by S3 to the declared type and size.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PhotoUpload")]
pub struct Upload {
    /// The photo.
    pub photo_id: String,
    /// Where to send the form.
    pub url: String,
    /// `POST` (multipart/form-data).
    #[schemars(extend("const" = "POST"))]
    pub method: &'static str,
    /// The form fields to send before the file (the file goes last, as `file`).
    pub fields: BTreeMap<String, String>,
    /// When the form stops working (RFC 3339, 900 s after the draft).
    pub expires_at: String,
}

/// The answer to `POST /v1/reports`: the draft with its upload forms.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "CreatedReport")]
pub struct Created {
    /// The draft.
    #[serde(flatten)]
    pub report: ReportView,
    /// One upload per declared photo, in the order declared.
    pub uploads: Vec<Upload>,
}

/// The answer to `POST /v1/reports/{reportId}/submit`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SubmittedReport")]
pub struct Submitted {
    /// The report, submitted, with its photos' download URLs.
    #[serde(flatten)]
    pub report: ReportView,
    /// Reports of the same category within 50 m submitted in the last 24 h,
    /// nearest first.
    pub possible_duplicates: Vec<NearbyReport>,
}

/// A submitted report as anyone nearby may see it: no reporter, no
/// description, no photos.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NearbyReport {
    /// Its id (UUID).
    pub report_id: String,
    /// The category.
    #[schemars(with = "Category")]
    pub category: String,
    /// Where it stands.
    pub status: Status,
    /// Where (without the accuracy estimate).
    pub location: Location,
    /// How far from the point searched, metres (one decimal).
    pub distance_m: f64,
    /// When submitted (RFC 3339).
    pub submitted_at: Option<String>,
}

impl NearbyReport {
    /// `r`, found `distance_m` metres away.
    pub fn new(r: &Report, distance_m: f64) -> Self {
        NearbyReport {
            report_id: r.report_id.clone(),
            category: r.category.clone(),
            status: r.status,
            location: Location {
                accuracy_m: None,
                ..r.location
            },
            distance_m: (distance_m * 10.0).round() / 10.0,
            submitted_at: r.submitted_at.clone(),
        }
    }
}

/// The answer to `GET /v1/reports/nearby`: every report found, nearest first,
/// on one page.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "NearbyReports")]
pub struct Nearby {
    /// The reports within the radius.
    pub items: Vec<NearbyReport>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Photo;
    use lambda_http::http::StatusCode;
    use lambda_http::{Body, Response};
    use serde_json::json;

    fn report() -> Report {
        Report {
            report_id: "r1".into(),
            user_id: "u1".into(),
            category: "road-damage".into(),
            description: "포트홀".into(),
            location: Location {
                lat: 37.5665,
                lon: 126.978,
                accuracy_m: Some(8.5),
            },
            photos: vec![Photo {
                photo_id: "p1".into(),
                content_type: "image/jpeg".into(),
                size_bytes: 100,
            }],
            status: Status::Draft,
            version: 1,
            created_at: "2026-05-01T00:00:00Z".into(),
            created_ms: 0,
            submitted_at: None,
            submitted_ms: None,
            updated_at: "2026-05-01T00:00:00Z".into(),
            history: Vec::new(),
        }
    }

    fn body(response: Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn a_draft_is_written_as_the_map_it_was() {
        let r = report();
        let created = Created {
            report: ReportView::new(&r),
            uploads: vec![Upload {
                photo_id: "p1".into(),
                url: "http://s3/bucket".into(),
                method: "POST",
                fields: BTreeMap::from([("key".into(), "drafts/r1/p1".into())]),
                expires_at: "2026-05-01T00:15:00Z".into(),
            }],
        };
        let before = json!({
            "reportId": "r1", "category": "road-damage", "description": "포트홀",
            "location": {"lat": 37.5665, "lon": 126.978, "accuracyM": 8.5},
            "status": "draft", "version": 1,
            "createdAt": "2026-05-01T00:00:00Z", "updatedAt": "2026-05-01T00:00:00Z",
            "photos": [{"photoId": "p1", "contentType": "image/jpeg"}],
            "history": [],
            "uploads": [{"photoId": "p1", "url": "http://s3/bucket", "method": "POST",
                         "fields": {"key": "drafts/r1/p1"}, "expiresAt": "2026-05-01T00:15:00Z"}],
        });
        let sent = body(shared::http::json(StatusCode::CREATED, &created));
        assert_eq!(sent, before);
    }

    #[test]
    fn a_submitted_report_shows_its_urls_and_nearby_ones_no_accuracy() {
        let mut r = report();
        r.status = Status::Submitted;
        r.submitted_at = Some("2026-05-01T00:05:00Z".into());
        let mut view = ReportView::new(&r);
        view.photos[0].url = Some("http://s3/get".into());
        let submitted = Submitted {
            report: view,
            possible_duplicates: vec![NearbyReport::new(&r, 12.345)],
        };
        let v = serde_json::to_value(&submitted).unwrap();
        assert_eq!(v["submittedAt"], "2026-05-01T00:05:00Z");
        assert_eq!(v["photos"][0]["url"], "http://s3/get");
        assert_eq!(
            v["possibleDuplicates"][0],
            json!({"reportId": "r1", "category": "road-damage", "status": "submitted",
                   "location": {"lat": 37.5665, "lon": 126.978}, "distanceM": 12.3,
                   "submittedAt": "2026-05-01T00:05:00Z"})
        );
    }
}
