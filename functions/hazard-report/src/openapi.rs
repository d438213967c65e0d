//! The hazard-report routes as the API description lists them
//! (`docs/openapi.json`; the router is `routes.rs`).

use schemars::{Schema, SchemaGenerator, json_schema};
use shared::openapi::{Access, Header, Operation, page, problem, schema};

use crate::geo::KOREA;
use crate::report::DraftBody;
use crate::routes::{MAX_NEARBY_M, SCOPE_MANAGE};
use crate::status::{Status, StatusBody};
use crate::views::{Created, Nearby, ReportView, Submitted};

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "hazard-report",
    "Hazard reports: a citizen reports a hazard with photos and the phone's location, duplicates nearby are found, and officials work the queue.",
);

fn latitude(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number", "minimum": KOREA.lat_min, "maximum": KOREA.lat_max })
}

fn longitude(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number", "minimum": KOREA.lon_min, "maximum": KOREA.lon_max })
}

fn radius(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "number", "exclusiveMinimum": 0, "maximum": MAX_NEARBY_M })
}

/// The routes of `hazard-report`.
pub fn operations() -> Vec<Operation> {
    let report_id = ("reportId", "The report's id (UUID).");
    let transition = problem(409, "report.invalid_transition");
    vec![
        Operation::new("POST", "/v1/reports", "createReport", Access::Citizen)
            .doc(
                "Draft a report and get an upload form for each photo",
                "The location must be inside South Korea. Each upload is a presigned S3 POST that S3 itself limits to the declared type and size, valid 900 s; then submit the report.",
            )
            .idempotency(Header::Required)
            .json_body(schema::<DraftBody>)
            .reply(201, "The draft with its upload forms", schema::<Created>)
            .with_header("ETag")
            .with_header("Location"),
        Operation::new(
            "POST",
            "/v1/reports/{reportId}/submit",
            "submitReport",
            Access::Citizen,
        )
        .doc(
            "Submit a draft once its photos are uploaded (its reporter only)",
            "Each photo must be in S3, no larger than declared and of its type by its first bytes (422 names it as photos[i]); JPEGs lose their EXIF metadata. Lists possible duplicates: same category, within 50 m, last 24 h. Texts the reporter (event report.submitted).",
        )
        .path_param(report_id.0, report_id.1)
        .reply(200, "The report, submitted", schema::<Submitted>)
        .with_header("ETag")
        .problems(&[
            transition,
            problem(422, "report.photo_invalid"),
            problem(422, "report.photo_missing"),
        ]),
        Operation::new("GET", "/v1/reports/{reportId}", "getReport", Access::Anyone)
            .doc(
                "One report (its reporter, or an official with scope reports:manage)",
                "Once submitted, each photo has a download URL (presigned GET, 300 s); JPEGs are served without their EXIF metadata. Another citizen's report is 404.",
            )
            .path_param(report_id.0, report_id.1)
            .reply(200, "The report", schema::<ReportView>)
            .with_header("ETag")
            .problems(&[problem(403, "auth.insufficient_scope")]),
        Operation::new("GET", "/v1/reports", "listMyReports", Access::Citizen)
            .doc("The citizen's reports", "Newest first; photos without URLs.")
            .paged()
            .reply(200, "A page of reports", page::<ReportView>),
        Operation::new(
            "GET",
            "/v1/reports/nearby",
            "listNearbyReports",
            Access::Citizen,
        )
        .doc(
            "Submitted reports around a point, without reporter identity",
            "Nearest first, all on one page.",
        )
        .query("lat", true, "Latitude of the centre (inside South Korea).", latitude)
        .query("lon", true, "Longitude of the centre (inside South Korea).", longitude)
        .query("radiusM", true, "Radius in metres, at most 2000.", radius)
        .reply(200, "The reports within the radius", schema::<Nearby>),
        Operation::new(
            "GET",
            "/v1/reports/queue",
            "listReportQueue",
            Access::Scope(SCOPE_MANAGE),
        )
        .doc(
            "The officials' queue: reports in one status",
            "Oldest first (by submission); photos without URLs.",
        )
        .paged()
        .query(
            "status",
            false,
            "The status listed (default submitted).",
            schema::<Status>,
        )
        .reply(200, "A page of reports", page::<ReportView>),
        Operation::new(
            "POST",
            "/v1/reports/{reportId}/status",
            "changeReportStatus",
            Access::Scope(SCOPE_MANAGE),
        )
        .doc(
            "Accept, start, resolve or reject a report",
            "submitted -> accepted | rejected; accepted -> in-progress | resolved | rejected; in-progress -> resolved. Kept in the report's history; texts the reporter (event report.status_changed).",
        )
        .path_param(report_id.0, report_id.1)
        .if_match(Header::Required)
        .json_body(schema::<StatusBody>)
        .reply(200, "The report, changed", schema::<ReportView>)
        .with_header("ETag")
        .problems(&[transition]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_make_a_document() {
        let doc = shared::openapi::document("test", &vec![(TAG.0, TAG.1, operations())]);
        let paths = doc["paths"].as_object().unwrap();
        let count: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(count, 7);
        let created = &doc["components"]["schemas"]["CreatedReport"];
        assert!(
            created["required"]
                .as_array()
                .unwrap()
                .contains(&"uploads".into())
        );
        assert!(created["properties"]["reportId"].is_object());
    }
}
