//! A new report as the phone sends it, parsed into types at the edge: each
//! bad field is named (`category`, `description`, `location.lat`,
//! `photos[2].sizeBytes`, ...), all of them at once.

use serde::Deserialize;
use shared::http::{ApiError, Fields, Invalid};

use crate::geo::{KOREA, Point};
use crate::photo::Kind;

/// The largest photo accepted (10 MiB).
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// The most photos per report.
pub const MAX_PHOTOS: usize = 10;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The largest accuracy estimate accepted, metres.
pub const MAX_ACCURACY_M: f64 = 10_000.0;

/// api.md's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// 도로 파손.
    RoadDamage,
    /// 가로등 고장.
    Streetlight,
    /// 불법 주정차.
    IllegalParking,
    /// 시설물 위험.
    FacilityHazard,
    /// 교통 안전.
    TrafficSafety,
    /// 환경.
    Environment,
    /// 기타.
    Other,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 7] = [
        Category::RoadDamage,
        Category::Streetlight,
        Category::IllegalParking,
        Category::FacilityHazard,
        Category::TrafficSafety,
        Category::Environment,
        Category::Other,
    ];

    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::RoadDamage => "road-damage",
            Category::Streetlight => "streetlight",
            Category::IllegalParking => "illegal-parking",
            Category::FacilityHazard => "facility-hazard",
            Category::TrafficSafety => "traffic-safety",
            Category::Environment => "environment",
            Category::Other => "other",
        }
    }

    /// Parses the api.md value.
    pub fn parse(value: &str) -> Result<Category, Invalid> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    "must be one of road-damage, streetlight, illegal-parking, facility-hazard, traffic-safety, environment, other",
                    "road-damage, streetlight, illegal-parking, facility-hazard, traffic-safety, environment, other 중 하나여야 합니다",
                )
            })
    }
}

impl schemars::JsonSchema for Category {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReportCategory".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": codes })
    }
}

/// The request body of `POST /v1/reports`, checked by `Draft::parse`; the
/// schema attributes say what it accepts (lengths count characters after
/// trimming).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ReportDraft")]
pub struct DraftBody {
    /// Category.
    #[schemars(with = "Category")]
    pub category: String,
    /// What is wrong.
    #[schemars(length(min = 1, max = MAX_DESCRIPTION_CHARS))]
    pub description: String,
    /// Where (inside South Korea).
    pub location: LocationBody,
    /// The photos to upload.
    #[schemars(length(min = 1, max = MAX_PHOTOS))]
    pub photos: Vec<PhotoBody>,
}

/// `location` of the body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ReportDraftLocation")]
pub struct LocationBody {
    /// Latitude (South Korea's box, with its islands).
    #[schemars(range(min = KOREA.lat_min, max = KOREA.lat_max))]
    pub lat: f64,
    /// Longitude (South Korea's box, with its islands).
    #[schemars(range(min = KOREA.lon_min, max = KOREA.lon_max))]
    pub lon: f64,
    /// The phone's accuracy estimate, metres.
    #[schemars(range(min = 0, max = MAX_ACCURACY_M))]
    pub accuracy_m: Option<f64>,
}

/// One entry of `photos`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "ReportDraftPhoto")]
pub struct PhotoBody {
    /// The declared type.
    #[schemars(with = "Kind")]
    pub content_type: String,
    /// The declared size; the upload form allows exactly up to it.
    #[schemars(range(min = 1, max = MAX_PHOTO_BYTES))]
    pub size_bytes: u64,
}

/// A photo to upload, as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoSpec {
    /// Its type.
    pub kind: Kind,
    /// Its size in bytes (the upload policy allows exactly up to this).
    pub size_bytes: u64,
}

/// A valid new report.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Category.
    pub category: Category,
    /// Description, trimmed.
    pub description: String,
    /// Location.
    pub location: Point,
    /// Accuracy, metres, when the phone gave one.
    pub accuracy_m: Option<f64>,
    /// Photos.
    pub photos: Vec<PhotoSpec>,
}

impl Draft {
    /// Parses `body`; a 400 naming every bad field.
    pub fn parse(body: &DraftBody) -> Result<Draft, ApiError> {
        let mut fields = Fields::new();
        let category = fields.check("category", Category::parse(&body.category));
        let description = body.description.trim();
        let description = fields.check(
            "description",
            if (1..=MAX_DESCRIPTION_CHARS).contains(&description.chars().count()) {
                Ok(description.to_owned())
            } else {
                Err(Invalid::new(
                    "must be 1 to 2000 characters",
                    "1~2000자여야 합니다",
                ))
            },
        );
        let location = fields.check(
            "location",
            Point::in_korea(body.location.lat, body.location.lon),
        );
        let accuracy_m = fields.check(
            "location.accuracyM",
            match body.location.accuracy_m {
                Some(a) if !(a.is_finite() && (0.0..=MAX_ACCURACY_M).contains(&a)) => Err(
                    Invalid::new("must be 0 to 10000 metres", "0~10000미터여야 합니다"),
                ),
                other => Ok(other),
            },
        );
        let count = fields.check(
            "photos",
            if (1..=MAX_PHOTOS).contains(&body.photos.len()) {
                Ok(())
            } else {
                Err(Invalid::new(
                    "must hold 1 to 10 photos",
                    "사진은 1~10장이어야 합니다",
                ))
            },
        );
        let mut photos = Vec::new();
        for (i, p) in body.photos.iter().enumerate() {
            let kind = fields.check(
                &format!("photos[{i}].contentType"),
                Kind::from_content_type(&p.content_type).ok_or_else(|| {
                    Invalid::new(
                        "must be image/jpeg, image/png, image/heic or image/webp",
                        "image/jpeg, image/png, image/heic, image/webp 중 하나여야 합니다",
                    )
                }),
            );
            let size = fields.check(
                &format!("photos[{i}].sizeBytes"),
                if (1..=MAX_PHOTO_BYTES).contains(&p.size_bytes) {
                    Ok(p.size_bytes)
                } else {
                    Err(Invalid::new(
                        "must be 1 byte to 10 MiB",
                        "1바이트~10MiB여야 합니다",
                    ))
                },
            );
            if let (Some(kind), Some(size_bytes)) = (kind, size) {
                photos.push(PhotoSpec { kind, size_bytes });
            }
        }
        match (category, description, location, accuracy_m, count) {
            (Some(category), Some(description), Some(location), Some(accuracy_m), Some(()))
                if fields.is_empty() =>
            {
                Ok(Draft {
                    category,
                    description,
                    location,
                    accuracy_m,
                    photos,
                })
            }
            _ => Err(fields.into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: serde_json::Value) -> DraftBody {
        serde_json::from_value(value).unwrap()
    }

    fn named(e: &ApiError) -> Vec<String> {
        e.errors().iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn a_valid_report_parses() {
        let d = Draft::parse(&body(json!({
            "category": "road-damage",
            "description": "  세종대로 앞 포트홀  ",
            "location": {"lat": 37.5665, "lon": 126.978, "accuracyM": 8.5},
            "photos": [{"contentType": "image/jpeg", "sizeBytes": 2_400_000}]
        })))
        .unwrap();
        assert_eq!(d.category, Category::RoadDamage);
        assert_eq!(d.description, "세종대로 앞 포트홀");
        assert_eq!(d.photos[0].kind, Kind::Jpeg);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let e = Draft::parse(&body(json!({
            "category": "ufo",
            "description": "가".repeat(2001),
            "location": {"lat": 35.6762, "lon": 139.6503},
            "photos": [
                {"contentType": "image/jpeg", "sizeBytes": 100},
                {"contentType": "image/gif", "sizeBytes": 100},
                {"contentType": "image/png", "sizeBytes": 11 * 1024 * 1024}
            ]
        })))
        .unwrap_err();
        assert_eq!(
            named(&e),
            [
                "category",
                "description",
                "location",
                "photos[1].contentType",
                "photos[2].sizeBytes"
            ]
        );
        let e = Draft::parse(&body(json!({
            "category": "other", "description": " ",
            "location": {"lat": 37.5, "lon": 127.0, "accuracyM": -1},
            "photos": []
        })))
        .unwrap_err();
        assert_eq!(named(&e), ["description", "location.accuracyM", "photos"]);
        let eleven: Vec<_> = (0..11)
            .map(|_| json!({"contentType": "image/png", "sizeBytes": 1}))
            .collect();
        let e = Draft::parse(&body(json!({
            "category": "other", "description": "x",
            "location": {"lat": 37.5, "lon": 127.0}, "photos": eleven
        })))
        .unwrap_err();
        assert_eq!(named(&e), ["photos"]);
    }
}
