//! The HTTP edge every function shares: JSON bodies (size limit, unknown fields
//! refused, errors naming the field), RFC 9457 problem+json errors with stable
//! codes and Korean or English text by `Accept-Language`, `x-request-id` on every
//! response, and one JSON log line per request.

use std::borrow::Cow;
use std::future::Future;
use std::time::Instant;

use lambda_http::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

/// Request bodies over this many bytes are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The client's language for problem texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// Korean, when `Accept-Language` prefers `ko`.
    Ko,
}

impl Lang {
    /// Picks the language `Accept-Language` prefers among Korean and English
    /// (highest q-value wins; on a tie the first listed).
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let Some(value) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "ko" || tag.starts_with("ko-") {
                Lang::Ko
            } else if tag == "en" || tag.starts_with("en-") || tag == "*" {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    fn pick<'a>(self, en: &'a str, ko: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ko => ko,
        }
    }
}

/// Why a value is invalid, in English and Korean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    en: Cow<'static, str>,
    ko: Cow<'static, str>,
}

impl Invalid {
    /// A reason in both languages.
    pub fn new(en: impl Into<Cow<'static, str>>, ko: impl Into<Cow<'static, str>>) -> Self {
        Self {
            en: en.into(),
            ko: ko.into(),
        }
    }

    /// The English text.
    pub fn en(&self) -> &str {
        &self.en
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone)]
pub struct FieldError {
    /// The field's path in the request, e.g. `location.lat`, `photos[0].sizeBytes`,
    /// or a header name such as `Idempotency-Key`.
    pub field: String,
    /// Why it is invalid.
    pub reason: Invalid,
}

/// An error answered as `application/problem+json` (RFC 9457).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Invalid,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    /// An error with a stable dotted `code` and its detail in both languages.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        en: impl Into<Cow<'static, str>>,
        ko: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            detail: Invalid::new(en, ko),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The invalid fields it names.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Adds a response header (e.g. `WWW-Authenticate`, `Retry-After`).
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds an invalid field.
    pub fn with_field(mut self, field: impl Into<String>, reason: Invalid) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            reason,
        });
        self
    }

    /// 400 `request.invalid` listing the invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "request.invalid",
            "The request has invalid fields.",
            "요청에 올바르지 않은 항목이 있습니다.",
        );
        e.errors = errors;
        e
    }

    /// 404 `not_found`: also what another citizen's resource answers, so that its
    /// existence is not revealed.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource does not exist.",
            "요청한 자원이 없습니다.",
        )
    }

    /// 500 `internal`. The cause is logged (with the request id of the current
    /// span) and never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again.",
            "서버에 문제가 생겼습니다. 잠시 후 다시 시도해 주세요.",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Renders the problem document in `lang`.
    pub fn to_response(&self, lang: Lang) -> Response<Body> {
        #[derive(Serialize)]
        struct Problem<'a> {
            #[serde(rename = "type")]
            kind: String,
            title: &'a str,
            status: u16,
            detail: &'a str,
            code: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            errors: Vec<ProblemField<'a>>,
        }
        #[derive(Serialize)]
        struct ProblemField<'a> {
            field: &'a str,
            message: &'a str,
        }
        let (title_en, title_ko) = titles(self.status);
        let problem = Problem {
            kind: format!("https://pocketgov.kr/problems/{}", self.code),
            title: lang.pick(title_en, title_ko),
            status: self.status.as_u16(),
            detail: lang.pick(&self.detail.en, &self.detail.ko),
            code: self.code,
            errors: self
                .errors
                .iter()
                .map(|f| ProblemField {
                    field: &f.field,
                    message: lang.pick(&f.reason.en, &f.reason.ko),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = Response::new(Body::Binary(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(lang.pick("en", "ko")),
        );
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.append(name.clone(), value);
            }
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl std::error::Error for ApiError {}

fn titles(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("Bad Request", "잘못된 요청"),
        401 => ("Unauthorized", "인증 필요"),
        403 => ("Forbidden", "권한 없음"),
        404 => ("Not Found", "찾을 수 없음"),
        405 => ("Method Not Allowed", "허용되지 않는 메서드"),
        409 => ("Conflict", "충돌"),
        412 => ("Precondition Failed", "전제 조건 실패"),
        413 => ("Content Too Large", "요청 본문이 너무 큼"),
        415 => ("Unsupported Media Type", "지원하지 않는 형식"),
        422 => ("Unprocessable Content", "처리할 수 없는 요청"),
        423 => ("Locked", "잠김"),
        428 => ("Precondition Required", "전제 조건 필요"),
        429 => ("Too Many Requests", "요청 과다"),
        503 => ("Service Unavailable", "서비스 이용 불가"),
        _ => ("Internal Server Error", "서버 오류"),
    }
}

/// Collects invalid fields while a request is turned into typed values, so that
/// the client learns every problem at once.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// A new, empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value, or `None` after recording why `field` is invalid.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(reason) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    reason,
                });
                None
            }
        }
    }

    /// Whether every field checked so far was valid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The 400 error listing what was recorded.
    pub fn into_error(self) -> ApiError {
        ApiError::validation(self.0)
    }
}

/// The raw bytes of a request body.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(s) => s.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Parses the JSON body of `req` into `T`.
///
/// Refuses (as problem+json): a body over [`MAX_BODY_BYTES`] (413), a missing body
/// (400 `request.body_missing`), a body that is not JSON by its Content-Type (415),
/// malformed JSON (400 `request.malformed_json`), and unknown, missing or mistyped
/// fields (400 `request.invalid`, naming each field). `T` should use
/// `#[serde(deny_unknown_fields, rename_all = "camelCase")]`.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            format!("요청 본문이 {MAX_BODY_BYTES}바이트를 넘습니다."),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.body_missing",
            "A JSON request body is required.",
            "JSON 요청 본문이 필요합니다.",
        ));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.unsupported_media_type",
            "The request body must be sent as application/json.",
            "요청 본문은 application/json 이어야 합니다.",
        ));
    }
    parse_json(bytes)
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.inner())
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    if matches!(
        err.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.malformed_json",
            "The request body is not valid JSON.",
            "요청 본문이 올바른 JSON이 아닙니다.",
        );
    }
    let message = err.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    let (field, reason) = if let Some(name) = backticked(&message, "unknown field `") {
        // The path already ends at the unknown field itself.
        let field = if parent.is_empty() {
            name.to_owned()
        } else {
            parent.to_owned()
        };
        (
            field,
            Invalid::new("is not a known field", "알 수 없는 항목입니다"),
        )
    } else if let Some(name) = backticked(&message, "missing field `") {
        (join(name), Invalid::new("is required", "필수 항목입니다"))
    } else {
        let field = if parent.is_empty() {
            "body".to_owned()
        } else {
            parent.to_owned()
        };
        (
            field,
            Invalid::new(message, "값의 형식이 올바르지 않습니다"),
        )
    };
    ApiError::validation(vec![FieldError { field, reason }])
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = Response::new(Body::Binary(body));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => ApiError::internal(e).to_response(Lang::En),
    }
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// 405 for a known path with another method.
pub fn method_not_allowed(allowed: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "request.method_not_allowed",
        "This method is not allowed on this path.",
        "이 경로에서 허용되지 않는 메서드입니다.",
    )
    .with_header(header::ALLOW, allowed)
}

/// The version named by `If-Match: "<version>"` (optimistic concurrency, api.md
/// conventions): `Ok(None)` without the header; 400 naming `If-Match` when it is
/// not one quoted (or weak-quoted) non-negative integer. `*` matches any version
/// and is answered as `None` too.
pub fn if_match(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::validation(vec![FieldError {
            field: "If-Match".to_owned(),
            reason: Invalid::new(
                "must be the resource's version in quotes, e.g. \"3\"",
                "리소스의 버전을 따옴표로 감싼 값이어야 합니다 (예: \"3\")",
            ),
        }])
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let quoted = text.strip_prefix("W/").unwrap_or(text);
    quoted
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(bad)
}

/// [`if_match`] for routes where the header is required: 428 without it (or
/// with `*`, which names no version).
pub fn require_if_match(req: &Request) -> Result<u64, ApiError> {
    if_match(req)?.ok_or_else(precondition_required)
}

/// 428 `request.precondition_required`: send `If-Match` with the version read.
pub fn precondition_required() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_REQUIRED,
        "request.precondition_required",
        "Send If-Match with the version you read, so that a change by someone else is not overwritten.",
        "다른 사람의 변경을 덮어쓰지 않도록 읽은 버전을 If-Match로 보내십시오.",
    )
}

/// 412 `request.precondition_failed`: the resource changed since it was read.
pub fn precondition_failed() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "request.precondition_failed",
        "The resource changed since you read it; read it again.",
        "읽은 뒤에 리소스가 바뀌었습니다. 다시 읽으십시오.",
    )
}

/// Sets `ETag: "<version>"` on `response`.
pub fn with_etag(mut response: Response<Body>, version: u64) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The request id of `req`: the Lambda request id, or a fresh one.
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(crate::random::uuid)
}

/// The query parameters of `req`: those API Gateway parsed, or (for a request
/// built by hand, as in tests) the URI's query string, percent-decoded.
pub fn query(req: &Request) -> lambda_http::aws_lambda_events::query_map::QueryMap {
    use lambda_http::RequestExt;
    let parsed = req.query_string_parameters();
    if !parsed.is_empty() {
        return parsed;
    }
    req.uri()
        .query()
        .and_then(|q| q.parse().ok())
        .unwrap_or_default()
}

/// The path segments of `req`, without empty ones.
pub fn segments(req: &Request) -> Vec<&str> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

/// Runs a router for one request: renders errors as problem+json in the client's
/// language, sets `x-request-id`, and writes one JSON log line with the request
/// id, function, route, method, status and latency. Never logs bodies or headers,
/// so secrets and personal data stay out of the logs.
///
/// `route` returns the matched route template (for the log line; e.g.
/// `DELETE /v1/auth/devices/{deviceId}`) and the result.
pub async fn serve<F, Fut>(function: &'static str, req: Request, route: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = (&'static str, Result<Response<Body>, ApiError>)>,
{
    let started = Instant::now();
    let request_id = request_id(&req);
    let lang = Lang::from_headers(req.headers());
    let method: Method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %request_id, function);
    let (route_name, result) = route(req).instrument(span.clone()).await;
    let mut response = match result {
        Ok(r) => r,
        Err(e) => e.to_response(lang),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(method = %method, route = route_name, status, latency_ms, "request handled");
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body1 {
        login_id: String,
        location: Option<Loc>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Loc {
        lat: f64,
    }

    fn problem(e: &ApiError) -> serde_json::Value {
        let r = e.to_response(Lang::En);
        serde_json::from_slice(body_bytes_of(&r)).unwrap()
    }
    fn body_bytes_of(r: &Response<Body>) -> &[u8] {
        match r.body() {
            Body::Binary(b) => b,
            Body::Text(t) => t.as_bytes(),
            _ => &[],
        }
    }

    #[test]
    fn unknown_field_is_named() {
        let e = parse_json::<Body1>(br#"{"loginId":"a","admin":true}"#).unwrap_err();
        let p = problem(&e);
        assert_eq!(p["code"], "request.invalid");
        assert_eq!(p["errors"][0]["field"], "admin");
    }

    #[test]
    fn nested_unknown_and_wrong_type_fields_are_named_with_their_path() {
        let p = problem(
            &parse_json::<Body1>(br#"{"loginId":"a","location":{"lat":1,"x":2}}"#).unwrap_err(),
        );
        assert_eq!(p["errors"][0]["field"], "location.x");
        let p = problem(
            &parse_json::<Body1>(br#"{"loginId":"a","location":{"lat":"n"}}"#).unwrap_err(),
        );
        assert_eq!(p["errors"][0]["field"], "location.lat");
    }

    #[test]
    fn missing_field_is_named() {
        let p = problem(&parse_json::<Body1>(br#"{}"#).unwrap_err());
        assert_eq!(p["errors"][0]["field"], "loginId");
        assert_eq!(p["errors"][0]["message"], "is required");
    }

    #[test]
    fn malformed_and_trailing_json_are_refused() {
        assert_eq!(
            parse_json::<Body1>(b"{").unwrap_err().code(),
            "request.malformed_json"
        );
        assert_eq!(
            parse_json::<Body1>(br#"{"loginId":"a"} x"#)
                .unwrap_err()
                .code(),
            "request.malformed_json"
        );
    }

    #[test]
    fn korean_is_chosen_by_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_headers(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("ko-KR,ko;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::Ko);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-US,ko;q=0.5"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, ko;q=0.1"),
        );
        assert_eq!(Lang::from_headers(&h), Lang::Ko);
    }

    #[test]
    fn problem_has_rfc9457_members_and_content_type() {
        let e = ApiError::not_found();
        let r = e.to_response(Lang::Ko);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let p: serde_json::Value = serde_json::from_slice(body_bytes_of(&r)).unwrap();
        assert_eq!(p["status"], 404);
        assert_eq!(p["title"], "찾을 수 없음");
        assert_eq!(p["code"], "not_found");
        assert!(p["type"].as_str().unwrap().ends_with("/not_found"));
        assert!(p.get("errors").is_none());
    }

    fn with_if_match(value: Option<&str>) -> Request {
        let mut builder = lambda_http::http::Request::builder().uri("/x");
        if let Some(v) = value {
            builder = builder.header("if-match", v);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn if_match_reads_a_quoted_version_and_names_the_header_when_malformed() {
        // GIVEN strong, weak, missing and malformed If-Match headers
        // THEN the version is read, absence is None, and junk is a 400 naming it
        assert_eq!(if_match(&with_if_match(Some("\"3\""))).unwrap(), Some(3));
        assert_eq!(
            if_match(&with_if_match(Some("W/\"12\""))).unwrap(),
            Some(12)
        );
        assert_eq!(if_match(&with_if_match(None)).unwrap(), None);
        for junk in ["3", "\"x\"", "\"\"", "\"-1\"", "\"99999999999999999999\""] {
            let e = if_match(&with_if_match(Some(junk))).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{junk}");
            assert_eq!(e.errors()[0].field, "If-Match");
        }
        // AND a route that needs it answers 428 without it (or with `*`)
        for missing in [None, Some("*")] {
            let e = require_if_match(&with_if_match(missing)).unwrap_err();
            assert_eq!(e.status(), StatusCode::PRECONDITION_REQUIRED);
            assert_eq!(problem(&e)["title"], "Precondition Required");
        }
    }
}
