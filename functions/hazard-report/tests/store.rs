//! The reports table on the emulator: drafts are in no index but their
//! owner's; submitted reports are found by place (both sides of a cell edge,
//! not beyond the radius, not older than asked), by status, and every change
//! is conditioned on the version read, with its event.

use devstack::TestStack;
use hazard_report::geo::{Point, cell_bounds};
use hazard_report::status::Status;
use hazard_report::store::{ChangeError, Location, NARROW, Photo, Report, Reports, WIDE};
use shared::events::DomainEvent;
use shared::events::payloads::ReportSubmitted;

const CITY_HALL: Point = Point {
    lat: 37.5665,
    lon: 126.978,
};

async fn reports() -> (TestStack, Reports) {
    let stack = TestStack::new().await;
    let sdk = stack.sdk_config().await;
    let table = stack
        .physical("HazardReportTable")
        .expect("the table")
        .reference
        .clone();
    let reports = Reports::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    (stack, reports)
}

fn draft(id: &str, user: &str, at: Point, ms: i64) -> Report {
    Report {
        report_id: id.to_owned(),
        user_id: user.to_owned(),
        category: "road-damage".into(),
        description: "포트홀".into(),
        location: Location {
            lat: at.lat,
            lon: at.lon,
            accuracy_m: None,
        },
        photos: vec![Photo {
            photo_id: "p1".into(),
            content_type: "image/jpeg".into(),
            size_bytes: 1000,
        }],
        status: Status::Draft,
        version: 1,
        created_at: "2026-12-04T00:00:00Z".into(),
        created_ms: ms,
        submitted_at: None,
        submitted_ms: None,
        updated_at: "2026-12-04T00:00:00Z".into(),
        history: Vec::new(),
    }
}

async fn submit(reports: &Reports, r: &Report, ms: i64) -> Report {
    let next = Report {
        status: Status::Submitted,
        version: r.version + 1,
        submitted_at: Some("2026-12-04T00:00:01Z".into()),
        submitted_ms: Some(ms),
        ..r.clone()
    };
    let event = DomainEvent::new(
        &r.user_id,
        &ReportSubmitted {
            report_id: r.report_id.clone(),
            category: r.category.clone(),
        },
    )
    .unwrap();
    reports.change(r, &next, &event).await.unwrap();
    next
}

#[tokio::test]
async fn submitted_reports_are_found_by_place_across_cell_edges_and_drafts_are_not() {
    // GIVEN reports on both sides of a 7-character cell edge, one 300 m away,
    // one submitted two days ago, and a draft
    let (stack, reports) = reports().await;
    let edge = cell_bounds(&CITY_HALL.geohash(NARROW)).unwrap().lon_max;
    let west = Point {
        lat: CITY_HALL.lat,
        lon: edge - 0.00005,
    };
    let east = Point {
        lat: CITY_HALL.lat,
        lon: edge + 0.00005,
    };
    let far = Point {
        lat: CITY_HALL.lat + 0.0027,
        lon: CITY_HALL.lon,
    };
    // AND, 25 hours old (out of the duplicate window), both sides of the
    // north edge of east's 6-character cell
    let edge6 = cell_bounds(&east.geohash(WIDE)).unwrap().lat_max;
    let south6 = Point {
        lat: edge6 - 0.00005,
        lon: east.lon,
    };
    let north6 = Point {
        lat: edge6 + 0.00005,
        lon: east.lon,
    };
    let now = 1_796_342_400_000_i64;
    let day = 86_400_000;
    for (id, at, submitted) in [
        ("south6", south6, Some(now - day - 3_600_000)),
        ("north6", north6, Some(now - day - 3_600_000)),
        ("west", west, Some(now)),
        ("east", east, Some(now)),
        ("far", far, Some(now)),
        ("old", east, Some(now - 2 * day)),
        ("draft", east, None),
    ] {
        let r = draft(id, "u1", at, now - 3 * day);
        reports.create(&r).await.unwrap();
        if let Some(ms) = submitted {
            submit(&reports, &r, ms).await;
        }
    }
    // WHEN the last day's reports within 50 m of the west point are read
    let found = reports
        .near(west, 50.0, NARROW, now - day)
        .await
        .unwrap()
        .found;
    // THEN both sides of the edge are found, nearest first; not the far one,
    // not the old one, not the draft
    let ids: Vec<&str> = found.iter().map(|(r, _)| r.report_id.as_str()).collect();
    assert_eq!(ids, ["west", "east"]);
    assert!(found[1].1 < 10.0);
    // AND a 2 km search finds the far one too (and the old one without a floor)
    let wide = reports.near(east, 2000.0, WIDE, 0).await.unwrap();
    assert!(
        wide.cells <= 50,
        "a 2 km circle is about forty cells: {}",
        wide.cells
    );
    assert_eq!(
        wide.read, 6,
        "the submitted reports in the cells, not the draft"
    );
    let mut ids: Vec<&str> = wide
        .found
        .iter()
        .map(|(r, _)| r.report_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["east", "far", "north6", "old", "south6", "west"]);
    // AND the queue holds the six submitted, oldest first; the owner sees seven
    let (queue, _) = reports
        .in_status(Status::Submitted, 10, None)
        .await
        .unwrap();
    assert_eq!(queue[0].report_id, "old");
    assert_eq!(queue.len(), 6);
    let (mine, _) = reports.of_citizen("u1", 10, None).await.unwrap();
    assert_eq!(mine.len(), 7);
    // AND each submission wrote its event
    assert_eq!(stack.outbox("HazardReportTable").await.len(), 6);
}

#[tokio::test]
async fn a_change_from_a_stale_version_does_nothing() {
    let (stack, reports) = reports().await;
    let r = draft("r1", "u1", CITY_HALL, 1);
    reports.create(&r).await.unwrap();
    let submitted = submit(&reports, &r, 2).await;
    // The same submission again, from the draft read before: refused
    let again = Report {
        version: 2,
        ..submitted.clone()
    };
    let event = DomainEvent::new(
        "u1",
        &ReportSubmitted {
            report_id: "r1".into(),
            category: "road-damage".into(),
        },
    )
    .unwrap();
    assert!(matches!(
        reports.change(&r, &again, &event).await,
        Err(ChangeError::Changed)
    ));
    assert_eq!(reports.get("r1").await.unwrap().unwrap(), submitted);
    assert_eq!(stack.outbox("HazardReportTable").await.len(), 1);
    assert!(reports.create(&r).await.is_err(), "ids are unique");
}
