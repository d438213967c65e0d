//! The alert routes of api.md ("Alerts and text messages"): handlers parse,
//! authorise, call the store and map the result.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::auth::{Principal, Role};
use shared::http::{ApiError, Fields, Invalid, json, json_body};
use shared::idempotency::Idempotency;

use crate::App;
use crate::alerts::{Alert, AlertBody, Category, Draft, RECENT_WINDOW_SECS, Region, Status};
use crate::store::ChangeError;
use crate::subscriptions::{Subscription, SubscriptionBody};
use crate::views::AlertView;

/// Scope to write and cancel alerts.
pub const SCOPE_ISSUE: &str = "alerts:issue";
/// Scope to approve alerts.
pub const SCOPE_APPROVE: &str = "alerts:approve";

type Answer = Result<Response<Body>, ApiError>;

impl App {
    pub(crate) async fn route(&self, req: &Request) -> (&'static str, Answer) {
        let segments = shared::http::segments(req);
        let method = req.method().as_str();
        match (method, segments.as_slice()) {
            ("POST", ["v1", "alerts"]) => ("POST /v1/alerts", self.create(req).await),
            ("GET", ["v1", "alerts"]) => ("GET /v1/alerts", self.public_list(req).await),
            ("GET", ["v1", "alerts", "pending"]) => {
                ("GET /v1/alerts/pending", self.pending(req).await)
            }
            ("PUT", ["v1", "alerts", "subscription"]) => {
                ("PUT /v1/alerts/subscription", self.subscribe(req).await)
            }
            ("GET", ["v1", "alerts", "subscription"]) => {
                ("GET /v1/alerts/subscription", self.subscription(req).await)
            }
            ("DELETE", ["v1", "alerts", "subscription"]) => (
                "DELETE /v1/alerts/subscription",
                self.unsubscribe(req).await,
            ),
            ("GET", ["v1", "alerts", id]) => ("GET /v1/alerts/{alertId}", self.get(req, id).await),
            ("POST", ["v1", "alerts", id, "approval"]) => (
                "POST /v1/alerts/{alertId}/approval",
                self.approve(req, id).await,
            ),
            ("POST", ["v1", "alerts", id, "cancellation"]) => (
                "POST /v1/alerts/{alertId}/cancellation",
                self.cancel(req, id).await,
            ),
            (_, path) => match allowed_methods(path) {
                Some(allowed) => ("unmatched", Err(shared::http::method_not_allowed(allowed))),
                None => ("unmatched", Err(ApiError::not_found())),
            },
        }
    }

    async fn official(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        let principal = self.auth.authenticate(req).await?;
        principal.require_scope(scope)?;
        Ok(principal)
    }

    async fn citizen(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.auth.authenticate(req).await?;
        principal.require_role(Role::Citizen)?;
        Ok(principal)
    }

    async fn create(&self, req: &Request) -> Answer {
        let principal = self.official(req, SCOPE_ISSUE).await?;
        Idempotency::key(req)?;
        self.idempotency
            .run(req, &principal.user_id, || {
                self.create_once(req, &principal)
            })
            .await
    }

    async fn create_once(&self, req: &Request, principal: &Principal) -> Answer {
        let body: AlertBody = json_body(req)?;
        let draft = Draft::parse(
            &body.category,
            &body.regions,
            &body.headline,
            &body.message,
            body.confirm_duplicate,
        )?;
        let now = self.now();
        if !draft.confirm_duplicate {
            let earlier = self
                .alerts
                .recent_duplicate(draft.category, &draft.regions, now - RECENT_WINDOW_SECS)
                .await
                .map_err(ApiError::internal)?;
            if let Some(earlier) = earlier {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "alert.possible_duplicate",
                    format!(
                        "Alert {} of the same category for an overlapping region was written in the last 24 hours; send confirmDuplicate: true to write this one anyway.",
                        earlier.alert_id
                    ),
                    format!(
                        "최근 24시간 안에 같은 종류로 겹치는 지역에 보낸 재난문자({})가 있습니다. 그래도 보내려면 confirmDuplicate: true를 보내십시오.",
                        earlier.alert_id
                    ),
                )
                .with_field(
                    "confirmDuplicate",
                    Invalid::new(
                        "must be true to write a possible duplicate",
                        "중복일 수 있는 재난문자를 보내려면 true여야 합니다",
                    ),
                ));
            }
        }
        let alert = Alert::new(shared::random::uuid(), &draft, &principal.user_id, now);
        self.alerts
            .create(&alert)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(alert_id = %alert.alert_id, category = alert.category.as_str(), "alert written, waiting for approval");
        let mut response = alert_response(StatusCode::CREATED, &alert)?;
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/alerts/{}", alert.alert_id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    async fn load(&self, id: &str) -> Result<Alert, ApiError> {
        if !is_alert_id(id) {
            return Err(ApiError::not_found());
        }
        self.alerts
            .get(id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)
    }

    async fn get(&self, req: &Request, id: &str) -> Answer {
        let alert = self.load(id).await?;
        if alert.issued_at.is_none() && !self.may_see_drafts(req).await {
            // Never public before approval: a draft is shown to officials only.
            return Err(ApiError::not_found());
        }
        if wants_cap(req) {
            let xml = crate::publication::cap_xml(&alert).map_err(ApiError::internal)?;
            let mut response = Response::new(Body::Text(xml));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/cap+xml; charset=utf-8"),
            );
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept"));
            return Ok(shared::http::with_etag(response, alert.version));
        }
        let mut response = alert_response(StatusCode::OK, &alert)?;
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        Ok(response)
    }

    /// Whether the caller is an official who works with alerts (a bad or
    /// missing token simply makes the caller the public).
    async fn may_see_drafts(&self, req: &Request) -> bool {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return false;
        }
        match self.auth.authenticate(req).await {
            Ok(p) => p.require_scope(SCOPE_ISSUE).is_ok() || p.require_scope(SCOPE_APPROVE).is_ok(),
            Err(_) => false,
        }
    }

    async fn approve(&self, req: &Request, id: &str) -> Answer {
        let principal = self.official(req, SCOPE_APPROVE).await?;
        let alert = self.load(id).await?;
        let version = shared::http::require_if_match(req)?;
        if alert.created_by == principal.user_id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "alert.same_official",
                "An alert needs a second official: its writer cannot approve it.",
                "재난문자는 다른 공무원이 승인해야 합니다. 작성자는 승인할 수 없습니다.",
            ));
        }
        if version != alert.version {
            return Err(shared::http::precondition_failed());
        }
        let issued = self
            .alerts
            .approve(&alert, &principal.user_id, self.now())
            .await
            .map_err(change_error)?;
        tracing::info!(alert_id = %issued.alert_id, "alert approved and issued");
        alert_response(StatusCode::OK, &issued)
    }

    async fn cancel(&self, req: &Request, id: &str) -> Answer {
        let principal = self.official(req, SCOPE_ISSUE).await?;
        let alert = self.load(id).await?;
        if shared::http::if_match(req)?.is_some_and(|v| v != alert.version) {
            return Err(shared::http::precondition_failed());
        }
        let cancelled = self
            .alerts
            .cancel(&alert, &principal.user_id, self.now())
            .await
            .map_err(change_error)?;
        tracing::info!(alert_id = %cancelled.alert_id, was = alert.status.as_str(), "alert cancelled");
        alert_response(StatusCode::OK, &cancelled)
    }

    async fn pending(&self, req: &Request) -> Answer {
        self.official(req, SCOPE_APPROVE).await?;
        let list = "alerts:pending";
        let cursors = self.cursors().await?;
        let page = cursors.page(req, list)?;
        let (alerts, next) = self
            .alerts
            .pending(page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<AlertView> = alerts.iter().map(Alert::view).collect();
        Ok(json(
            StatusCode::OK,
            &cursors.page_body(list, items, next.as_deref()),
        ))
    }

    async fn public_list(&self, req: &Request) -> Answer {
        let query = shared::http::query(req);
        let mut fields = Fields::new();
        let region = fields.check(
            "region",
            match query.first("region") {
                Some(code) => Region::parse(code),
                None => Err(Invalid::new(
                    "is required: a province code such as 11",
                    "필수입니다: 11과 같은 시도 코드",
                )),
            },
        );
        let Some(region) = region else {
            return Err(fields.into_error());
        };
        let list = format!("alerts:{}", region.code());
        let cursors = self.cursors().await?;
        let page = cursors.page(req, &list)?;
        let since = self.now() - RECENT_WINDOW_SECS;
        let (alerts, next) = self
            .alerts
            .issued_in(region, since, page.limit, page.after)
            .await
            .map_err(ApiError::internal)?;
        let items: Vec<AlertView> = alerts.iter().map(Alert::view).collect();
        let mut response = json(
            StatusCode::OK,
            &cursors.page_body(&list, items, next.as_deref()),
        );
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=10"),
        );
        Ok(response)
    }

    async fn subscribe(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        let body: SubscriptionBody = json_body(req)?;
        let mut fields = Fields::new();
        let regions = crate::alerts::parse_regions("regions", &body.regions, &mut fields);
        let categories = body.categories.as_ref().map(|codes| {
            codes
                .iter()
                .enumerate()
                .filter_map(|(i, code)| {
                    fields.check(&format!("categories[{i}]"), Category::parse(code))
                })
                .collect::<Vec<_>>()
        });
        let (Some(regions), true) = (regions, fields.is_empty()) else {
            return Err(fields.into_error());
        };
        let subscription = Subscription::new(regions, categories.as_deref());
        self.subscriptions
            .put(&principal.user_id, &subscription, self.now())
            .await
            .map_err(ApiError::internal)?;
        Ok(shared::http::json(StatusCode::OK, &subscription))
    }

    async fn subscription(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        let subscription = self
            .subscriptions
            .get(&principal.user_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)?;
        Ok(shared::http::json(StatusCode::OK, &subscription))
    }

    async fn unsubscribe(&self, req: &Request) -> Answer {
        let principal = self.citizen(req).await?;
        self.subscriptions
            .delete(&principal.user_id)
            .await
            .map_err(ApiError::internal)?;
        Ok(shared::http::no_content())
    }
}

/// The alert as JSON with its `ETag`.
fn alert_response(status: StatusCode, alert: &Alert) -> Answer {
    Ok(shared::http::with_etag(
        shared::http::json(status, &alert.view()),
        alert.version,
    ))
}

fn change_error(e: ChangeError) -> ApiError {
    match e {
        ChangeError::NotFound => ApiError::not_found(),
        ChangeError::Stale(_) => shared::http::precondition_failed(),
        ChangeError::InvalidTransition(status) => invalid_transition(status),
        ChangeError::Store(e) => ApiError::internal(e),
    }
}

fn invalid_transition(status: Status) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "alert.invalid_transition",
        format!(
            "The alert is {}: this change is not possible.",
            status.as_str()
        ),
        format!(
            "재난문자가 {} 상태라서 이 변경을 할 수 없습니다.",
            match status {
                Status::PendingApproval => "승인 대기",
                Status::Issued => "발령",
                Status::Cancelled => "취소",
            }
        ),
    )
}

/// Whether `Accept` asks for CAP (over JSON).
fn wants_cap(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut params = part.split(';');
            let media = params.next().unwrap_or("").trim();
            let refused = params.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case(crate::cap::CONTENT_TYPE) && !refused
        })
}

/// Alert ids are UUIDs (anything else cannot exist).
fn is_alert_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The methods a known path allows (for 405).
fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        ["v1", "alerts"] => Some("GET, POST"),
        ["v1", "alerts", "pending"] => Some("GET"),
        ["v1", "alerts", "subscription"] => Some("DELETE, GET, PUT"),
        ["v1", "alerts", _] => Some("GET"),
        ["v1", "alerts", _, "approval" | "cancellation"] => Some("POST"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Request {
        lambda_http::http::Request::builder()
            .uri("/v1/alerts/x")
            .header("accept", value)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn cap_is_chosen_by_accept_unless_refused() {
        assert!(wants_cap(&accept("application/cap+xml")));
        assert!(wants_cap(&accept(
            "application/json;q=0.5, application/cap+xml"
        )));
        assert!(!wants_cap(&accept("application/json")));
        assert!(!wants_cap(&accept("application/cap+xml;q=0")));
        assert!(!wants_cap(&accept("*/*")));
    }

    #[test]
    fn only_uuids_are_alert_ids() {
        assert!(is_alert_id("0b7c3a52-9f0e-4c1e-8d2a-2f1e6f0c9a11"));
        assert!(!is_alert_id("pending"));
        assert!(!is_alert_id("0b7c3a52-9f0e-4c1e-8d2a-2f1e6f0c9a1g"));
    }

    #[test]
    fn known_paths_name_their_methods() {
        assert_eq!(
            allowed_methods(&["v1", "alerts", "subscription"]),
            Some("DELETE, GET, PUT")
        );
        assert_eq!(
            allowed_methods(&["v1", "alerts", "x", "approval"]),
            Some("POST")
        );
        assert_eq!(allowed_methods(&["v1", "other"]), None);
    }
}
