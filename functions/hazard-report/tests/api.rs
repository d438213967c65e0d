//! The routes of api.md "Hazard reports", in-process against the emulator,
//! with tokens from the real `login` App and photos uploaded through the
//! presigned POSTs the function returns.

mod common;

use common::*;
use data_encoding::BASE64;
use serde_json::{Value, json};

#[tokio::test]
async fn a_report_with_a_gps_jpeg_is_uploaded_submitted_and_served_to_officials_without_exif() {
    let h = H::new().await;
    let me = h.user("reporter1", &[]).await;
    let official = h.user("worker1", &["reports:manage"]).await;
    let jpeg = gps_jpeg();
    // WHEN a report is created with one photo
    let r = h
        .create(&me, "road-damage", HERE, &[("image/jpeg", jpeg.len())])
        .await;
    r.expect(201);
    assert_eq!(r.body["status"], "draft");
    let form = &r.body["uploads"][0];
    assert_eq!(form["method"], "POST");
    // THEN its policy limits the upload to that type, size and 900 s
    let policy: Value = serde_json::from_slice(
        &BASE64
            .decode(form["fields"]["policy"].as_str().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&json!({"Content-Type": "image/jpeg"})));
    assert!(conditions.contains(&json!(["content-length-range", 1, jpeg.len()])));
    let expires =
        chrono::DateTime::parse_from_rfc3339(policy["expiration"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((890..=900).contains(&left), "{left}");
    // WHEN the phone uploads and submits
    assert!((200..300).contains(&upload(form, jpeg.clone()).await));
    let id = r.str("reportId");
    let s = h
        .call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
        .await;
    s.expect(200);
    assert_eq!(s.body["status"], "submitted");
    assert_eq!(s.body["possibleDuplicates"], json!([]));
    // THEN the official downloads it without EXIF
    let g = h
        .call(&official, "GET", &format!("/v1/reports/{id}"), None, &[])
        .await;
    g.expect(200);
    let url = g.body["photos"][0]["url"].as_str().unwrap();
    let served = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&served);
    assert!(!text.contains("GPS") && !text.contains("Exif"));
    // AND another citizen cannot see it; the submission wrote its event
    let other = h.user("other1", &[]).await;
    h.call(&other, "GET", &format!("/v1/reports/{id}"), None, &[])
        .await
        .expect(404);
    let events = h.stack.outbox("HazardReportTable").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "report.submitted");
}

#[tokio::test]
async fn missing_and_invalid_photos_are_422_and_bad_fields_400() {
    let h = H::new().await;
    let me = h.user("reporter2", &[]).await;
    let r = h
        .create(&me, "streetlight", HERE, &[("image/png", 100)])
        .await;
    let id = r.str("reportId");
    let s = h
        .call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
        .await;
    s.expect_problem(422, "report.photo_missing");
    assert_eq!(s.fields(), ["photos[0]"]);
    assert!(
        (200..300)
            .contains(&upload(&r.body["uploads"][0], b"plain text, not a png".to_vec()).await)
    );
    let s = h
        .call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
        .await;
    s.expect_problem(422, "report.photo_invalid");
    let bad = h
        .call(
            &me,
            "POST",
            "/v1/reports",
            Some(json!({"category": "ufo", "description": "", "location": {"lat": 35.68, "lon": 139.65}, "photos": [{"contentType": "image/gif", "sizeBytes": 20_000_000}]})),
            &[("idempotency-key", "bad-1")],
        )
        .await;
    bad.expect(400);
    assert_eq!(
        bad.fields(),
        [
            "category",
            "description",
            "location",
            "photos[0].contentType",
            "photos[0].sizeBytes"
        ]
    );
}

#[tokio::test]
async fn duplicates_within_50_m_of_the_same_category_and_nearby_without_reporters() {
    let h = H::new().await;
    let me = h.user("reporter3", &[]).await;
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let submit = |at: (f64, f64), category: &'static str| {
        let h = &h;
        let me = me.clone();
        let png = png.clone();
        async move {
            let r = h
                .create(&me, category, at, &[("image/png", png.len())])
                .await;
            upload(&r.body["uploads"][0], png).await;
            let id = r.str("reportId");
            let s = h
                .call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
                .await;
            s.expect(200);
            s
        }
    };
    submit(HERE, "road-damage").await;
    submit((HERE.0 + 0.0018, HERE.1), "road-damage").await; // ~200 m north
    submit((HERE.0, HERE.1 + 0.0001), "streetlight").await; // ~9 m, other category
    let s = submit((HERE.0 + 0.0002, HERE.1), "road-damage").await; // ~22 m
    let dups = s.body["possibleDuplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert!(dups[0]["distanceM"].as_f64().unwrap() < 30.0);
    // Nearby: within 100 m, three; no reporter, no photos, no description
    let r = h
        .call(
            &me,
            "GET",
            &format!(
                "/v1/reports/nearby?lat={}&lon={}&radiusM=100",
                HERE.0, HERE.1
            ),
            None,
            &[],
        )
        .await;
    r.expect(200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{items:?}");
    let text = r.body.to_string();
    assert!(!text.contains("userId") && !text.contains("photos") && !text.contains("보도블록"));
    let r = h
        .call(
            &me,
            "GET",
            "/v1/reports/nearby?lat=37.5&lon=127&radiusM=5000",
            None,
            &[],
        )
        .await;
    r.expect(400);
    assert_eq!(r.fields(), ["radiusM"]);
}

#[tokio::test]
async fn officials_work_the_queue_with_if_match_and_each_change_is_an_event() {
    let h = H::new().await;
    let me = h.user("reporter4", &[]).await;
    let official = h.user("worker4", &["reports:manage"]).await;
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let r = h
        .create(&me, "environment", HERE, &[("image/png", png.len())])
        .await;
    upload(&r.body["uploads"][0], png).await;
    let id = r.str("reportId");
    h.call(&me, "POST", &format!("/v1/reports/{id}/submit"), None, &[])
        .await
        .expect(200);
    let q = h
        .call(&official, "GET", "/v1/reports/queue", None, &[])
        .await;
    q.expect(200);
    assert_eq!(q.body["items"][0]["reportId"], id.as_str());
    h.call(&me, "GET", "/v1/reports/queue", None, &[])
        .await
        .expect(403);
    let path = format!("/v1/reports/{id}/status");
    h.call(
        &official,
        "POST",
        &path,
        Some(json!({"status": "accepted"})),
        &[],
    )
    .await
    .expect(428);
    h.call(
        &official,
        "POST",
        &path,
        Some(json!({"status": "accepted"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .expect_problem(412, "request.precondition_failed");
    h.call(
        &official,
        "POST",
        &path,
        Some(json!({"status": "in-progress"})),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect_problem(409, "report.invalid_transition");
    let a = h
        .call(
            &official,
            "POST",
            &path,
            Some(json!({"status": "accepted", "note": "현장 확인 예정"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    a.expect(200);
    assert_eq!(a.body["status"], "accepted");
    let done = h
        .call(
            &official,
            "POST",
            &path,
            Some(json!({"status": "resolved"})),
            &[("if-match", "\"3\"")],
        )
        .await;
    done.expect(200);
    let events = h.stack.outbox("HazardReportTable").await;
    let mut types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "report.status_changed",
            "report.status_changed",
            "report.submitted"
        ]
    );
    let mine = h.call(&me, "GET", "/v1/reports", None, &[]).await;
    assert_eq!(mine.body["items"][0]["status"], "resolved");
}

#[tokio::test]
async fn a_replayed_create_returns_the_same_report_and_forms() {
    let h = H::new().await;
    let me = h.user("reporter5", &[]).await;
    let body = serde_json::json!({"category": "other", "description": "x", "location": {"lat": HERE.0, "lon": HERE.1}, "photos": [{"contentType": "image/webp", "sizeBytes": 10}]});
    let first = h
        .call(
            &me,
            "POST",
            "/v1/reports",
            Some(body.clone()),
            &[("idempotency-key", "same")],
        )
        .await;
    first.expect(201);
    let again = h
        .call(
            &me,
            "POST",
            "/v1/reports",
            Some(body),
            &[("idempotency-key", "same")],
        )
        .await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, first.body);
    let mine = h.call(&me, "GET", "/v1/reports", None, &[]).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
}
