//! The routes of api.md ("Hazard reports").

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::auth::{Principal, Role};
use shared::events::DomainEvent;
use shared::events::payloads::{ReportStatusChanged, ReportSubmitted};
use shared::http::{ApiError, Fields, Invalid, json, json_body};
use shared::idempotency::Idempotency;

use crate::app::App;
use crate::geo::Point;
use crate::photos::PhotoError;
use crate::report::{Draft, DraftBody};
use crate::status::{MAX_NOTE_CHARS, Status, StatusBody};
use crate::store::{Change, ChangeError, Location, NARROW, Photo, Report, WIDE};
use crate::views::{Created, Nearby, NearbyReport, PhotoView, ReportView, Submitted, Upload};

/// Scope of the officials who work the queue.
pub const SCOPE_MANAGE: &str = "reports:manage";
/// The duplicate check: same category, this close, this recent.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
/// The duplicate window, milliseconds (24 h).
pub const DUPLICATE_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// The widest nearby search.
pub const MAX_NEARBY_M: f64 = 2000.0;

type Answer = Result<Response<Body>, ApiError>;

impl App {
    pub(crate) async fn route(&self, req: &Request) -> (&'static str, Answer) {
        let segments = shared::http::segments(req);
        match (req.method().as_str(), segments.as_slice()) {
            ("POST", ["v1", "reports"]) => ("POST /v1/reports", self.create(req).await),
            ("GET", ["v1", "reports"]) => ("GET /v1/reports", self.mine(req).await),
            ("GET", ["v1", "reports", "nearby"]) => {
                ("GET /v1/reports/nearby", self.nearby(req).await)
            }
            ("GET", ["v1", "reports", "queue"]) => ("GET /v1/reports/queue", self.queue(req).await),
            ("GET", ["v1", "reports", id]) => {
                ("GET /v1/reports/{reportId}", self.get(req, id).await)
            }
            ("POST", ["v1", "reports", id, "submit"]) => (
                "POST /v1/reports/{reportId}/submit",
                self.submit(req, id).await,
            ),
            ("POST", ["v1", "reports", id, "status"]) => (
                "POST /v1/reports/{reportId}/status",
                self.set_status(req, id).await,
            ),
            (_, path) => match allowed_methods(path) {
                Some(allowed) => ("unmatched", Err(shared::http::method_not_allowed(allowed))),
                None => ("unmatched", Err(ApiError::not_found())),
            },
        }
    }

    async fn citizen(&self, req: &Request) -> Result<Principal, ApiError> {
        let p = self.auth.authenticate(req).await?;
        p.require_role(Role::Citizen)?;
        Ok(p)
    }

    async fn load(&self, id: &str) -> Result<Report, ApiError> {
        if !is_uuid(id) {
            return Err(ApiError::not_found());
        }
        self.reports
            .get(id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)
    }

    async fn create(&self, req: &Request) -> Answer {
        let p = self.citizen(req).await?;
        Idempotency::key(req)?;
        self.idempotency
            .run(req, &p.user_id, || self.create_once(req, &p))
            .await
    }

    async fn create_once(&self, req: &Request, p: &Principal) -> Answer {
        let body: DraftBody = json_body(req)?;
        let draft = Draft::parse(&body)?;
        let now_ms = self.now_ms();
        let now = shared::time::rfc3339(now_ms / 1000);
        let report = Report {
            report_id: shared::random::uuid(),
            user_id: p.user_id.clone(),
            category: draft.category.as_str().to_owned(),
            description: draft.description,
            location: Location {
                lat: draft.location.lat,
                lon: draft.location.lon,
                accuracy_m: draft.accuracy_m,
            },
            photos: draft
                .photos
                .iter()
                .map(|ph| Photo {
                    photo_id: shared::random::uuid(),
                    content_type: ph.kind.content_type().to_owned(),
                    size_bytes: ph.size_bytes,
                })
                .collect(),
            status: Status::Draft,
            version: 1,
            created_at: now.clone(),
            created_ms: now_ms,
            submitted_at: None,
            submitted_ms: None,
            updated_at: now,
            history: Vec::new(),
        };
        self.reports
            .create(&report)
            .await
            .map_err(ApiError::internal)?;
        let issued = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let mut uploads = Vec::new();
        for photo in &report.photos {
            let form = self
                .photos
                .upload_form(&report.report_id, photo, issued)
                .await
                .map_err(ApiError::internal)?;
            uploads.push(Upload {
                photo_id: photo.photo_id.clone(),
                url: form.url,
                method: "POST",
                fields: form.fields,
                expires_at: form
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
        }
        tracing::info!(report_id = %report.report_id, category = %report.category, photos = report.photos.len(), "report drafted");
        let body = Created {
            report: ReportView::new(&report),
            uploads,
        };
        let mut response = shared::http::with_etag(
            shared::http::json(StatusCode::CREATED, &body),
            report.version,
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/reports/{}", report.report_id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    async fn submit(&self, req: &Request, id: &str) -> Answer {
        let p = self.citizen(req).await?;
        let current = self.load(id).await?;
        p.require_owner(&current.user_id)?;
        if current.status != Status::Draft {
            return Err(invalid_transition(current.status, Status::Submitted));
        }
        for (i, photo) in current.photos.iter().enumerate() {
            match self.photos.accept(&current.report_id, photo).await {
                Ok(()) => {}
                Err(PhotoError::Missing(_)) => {
                    return Err(photo_problem(
                        "report.photo_missing",
                        i,
                        "was not uploaded",
                        "업로드되지 않았습니다",
                    ));
                }
                Err(PhotoError::Invalid(_)) => {
                    return Err(photo_problem(
                        "report.photo_invalid",
                        i,
                        "is not the image declared (type, size or content)",
                        "선언한 이미지가 아닙니다 (형식, 크기 또는 내용)",
                    ));
                }
                Err(PhotoError::Storage(e)) => return Err(ApiError::internal(e)),
            }
        }
        let now_ms = self.now_ms();
        let now = shared::time::rfc3339(now_ms / 1000);
        let next = Report {
            status: Status::Submitted,
            version: current.version + 1,
            submitted_at: Some(now.clone()),
            submitted_ms: Some(now_ms),
            updated_at: now,
            ..current.clone()
        };
        let event = DomainEvent::new(
            &next.user_id,
            &ReportSubmitted {
                report_id: next.report_id.clone(),
                category: next.category.clone(),
            },
        )
        .map_err(ApiError::internal)?;
        match self.reports.change(&current, &next, &event).await {
            Ok(()) => {}
            Err(ChangeError::Changed) => {
                return Err(invalid_transition(current.status, Status::Submitted));
            }
            Err(ChangeError::Store(e)) => return Err(ApiError::internal(e)),
        }
        let duplicates = self
            .reports
            .near(
                next.location.point(),
                DUPLICATE_RADIUS_M,
                NARROW,
                now_ms - DUPLICATE_WINDOW_MS,
            )
            .await
            .map_err(ApiError::internal)?;
        let possible: Vec<NearbyReport> = duplicates
            .found
            .iter()
            .filter(|(r, _)| r.report_id != next.report_id && r.category == next.category)
            .map(|(r, d)| NearbyReport::new(r, *d))
            .collect();
        tracing::info!(report_id = %next.report_id, duplicates = possible.len(), "report submitted");
        let body = Submitted {
            report: self.full_view(&next).await?,
            possible_duplicates: possible,
        };
        Ok(shared::http::with_etag(
            shared::http::json(StatusCode::OK, &body),
            next.version,
        ))
    }

    async fn get(&self, req: &Request, id: &str) -> Answer {
        let p = self.auth.authenticate(req).await?;
        let report = self.load(id).await?;
        if p.role == Role::Official {
            p.require_scope(SCOPE_MANAGE)?;
        } else {
            p.require_owner(&report.user_id)?;
        }
        let body = self.full_view(&report).await?;
        Ok(shared::http::with_etag(
            shared::http::json(StatusCode::OK, &body),
            report.version,
        ))
    }

    /// The report with download URLs of its kept photos (once submitted).
    async fn full_view(&self, report: &Report) -> Result<ReportView, ApiError> {
        let mut body = ReportView::new(report);
        if report.status != Status::Draft {
            let mut photos = Vec::new();
            for photo in &report.photos {
                let url = self
                    .photos
                    .download_url(&report.report_id, photo)
                    .await
                    .map_err(ApiError::internal)?;
                photos.push(PhotoView {
                    photo_id: photo.photo_id.clone(),
                    content_type: photo.content_type.clone(),
                    url: Some(url),
                });
            }
            body.photos = photos;
        }
        Ok(body)
    }

    async fn mine(&self, req: &Request) -> Answer {
        let p = self.citizen(req).await?;
        let cursors = self.cursors().await?;
        let list = format!("reports:{}", p.user_id);
        let page = cursors.page(req, &list)?;
        let (reports, next) = self
            .reports
            .of_citizen(&p.user_id, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<ReportView> = reports.iter().map(ReportView::new).collect();
        Ok(json(
            StatusCode::OK,
            &cursors.page_body(&list, items, next.as_deref()),
        ))
    }

    async fn nearby(&self, req: &Request) -> Answer {
        self.citizen(req).await?;
        let query = shared::http::query(req);
        let mut fields = Fields::new();
        let number = |name: &str| -> Result<f64, Invalid> {
            query
                .first(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| Invalid::new("is required: a number", "필수입니다: 숫자"))
        };
        let lat = fields.check("lat", number("lat"));
        let lon = fields.check("lon", number("lon"));
        let radius = fields.check(
            "radiusM",
            number("radiusM").and_then(|r| {
                if r > 0.0 && r <= MAX_NEARBY_M {
                    Ok(r)
                } else {
                    Err(Invalid::new(
                        "must be more than 0 and at most 2000 metres",
                        "0보다 크고 2000미터 이하여야 합니다",
                    ))
                }
            }),
        );
        let center = match (lat, lon) {
            (Some(lat), Some(lon)) => fields.check("lat", Point::in_korea(lat, lon)),
            _ => None,
        };
        let (Some(center), Some(radius)) = (center, radius) else {
            return Err(fields.into_error());
        };
        let precision = if radius <= 150.0 { NARROW } else { WIDE };
        let found = self
            .reports
            .near(center, radius, precision, 0)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(
            cells = found.cells,
            read = found.read,
            found = found.found.len(),
            "nearby search"
        );
        let items: Vec<NearbyReport> = found
            .found
            .iter()
            .map(|(r, d)| NearbyReport::new(r, *d))
            .collect();
        Ok(shared::http::json(StatusCode::OK, &Nearby { items }))
    }

    async fn queue(&self, req: &Request) -> Answer {
        let p = self.auth.authenticate(req).await?;
        p.require_scope(SCOPE_MANAGE)?;
        let query = shared::http::query(req);
        let status = match query.first("status") {
            None => Status::Submitted,
            Some(s) => Status::parse(s).map_err(|reason| {
                ApiError::validation(vec![shared::http::FieldError {
                    field: "status".into(),
                    reason,
                }])
            })?,
        };
        let cursors = self.cursors().await?;
        let list = format!("reports:queue:{}", status.as_str());
        let page = cursors.page(req, &list)?;
        let (reports, next) = self
            .reports
            .in_status(status, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<ReportView> = reports.iter().map(ReportView::new).collect();
        Ok(json(
            StatusCode::OK,
            &cursors.page_body(&list, items, next.as_deref()),
        ))
    }

    async fn set_status(&self, req: &Request, id: &str) -> Answer {
        let p = self.auth.authenticate(req).await?;
        p.require_scope(SCOPE_MANAGE)?;
        let current = self.load(id).await?;
        let version = shared::http::require_if_match(req)?;
        let body: StatusBody = json_body(req)?;
        let mut fields = Fields::new();
        let to = fields.check("status", Status::parse_official(&body.status));
        let note = body.note.as_deref().map(str::trim).unwrap_or_default();
        let note = fields.check(
            "note",
            if note.chars().count() <= MAX_NOTE_CHARS {
                Ok((!note.is_empty()).then(|| note.to_owned()))
            } else {
                Err(Invalid::new(
                    "must be at most 500 characters",
                    "500자 이하여야 합니다",
                ))
            },
        );
        let (Some(to), Some(note)) = (to, note) else {
            return Err(fields.into_error());
        };
        if current.version != version {
            return Err(shared::http::precondition_failed());
        }
        if !current.status.may_become(to) {
            return Err(invalid_transition(current.status, to));
        }
        let now = shared::time::rfc3339(self.now_ms() / 1000);
        let mut next = Report {
            status: to,
            version: current.version + 1,
            updated_at: now.clone(),
            ..current.clone()
        };
        next.history.push(Change {
            status: to,
            note,
            by: p.user_id.clone(),
            at: now,
        });
        let event = DomainEvent::new(
            &next.user_id,
            &ReportStatusChanged {
                report_id: next.report_id.clone(),
                category: next.category.clone(),
                status: to.as_str().to_owned(),
            },
        )
        .map_err(ApiError::internal)?;
        match self.reports.change(&current, &next, &event).await {
            Ok(()) => {
                tracing::info!(report_id = %next.report_id, status = to.as_str(), "report status changed");
                let body = self.full_view(&next).await?;
                Ok(shared::http::with_etag(
                    shared::http::json(StatusCode::OK, &body),
                    next.version,
                ))
            }
            Err(ChangeError::Changed) => Err(shared::http::precondition_failed()),
            Err(ChangeError::Store(e)) => Err(ApiError::internal(e)),
        }
    }
}

fn invalid_transition(from: Status, to: Status) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "report.invalid_transition",
        format!(
            "A report that is {} cannot become {}.",
            from.as_str(),
            to.as_str()
        ),
        format!(
            "{} 상태의 신고는 {} 상태가 될 수 없습니다.",
            from.as_str(),
            to.as_str()
        ),
    )
}

fn photo_problem(code: &'static str, index: usize, en: &'static str, ko: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("Photo {index} {en}."),
        format!("{index}번 사진이 {ko}."),
    )
    .with_field(format!("photos[{index}]"), Invalid::new(en, ko))
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        ["v1", "reports"] => Some("GET, POST"),
        ["v1", "reports", "nearby" | "queue"] | ["v1", "reports", _] => Some("GET"),
        ["v1", "reports", _, "submit" | "status"] => Some("POST"),
        _ => None,
    }
}
