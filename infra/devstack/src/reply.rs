//! A function's HTTP response as a client (a test) sees it: status, headers and
//! the JSON body, with the assertions every API test makes.

use lambda_http::http::{HeaderMap, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;

/// A request as a client sends it: `body` as JSON (with its content type),
/// then `headers`.
pub fn request(
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = body.map_or(Body::Empty, |b| Body::Text(b.to_string()));
    builder.body(body).expect("a valid request")
}

/// A response, body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Value,
}

impl From<Response<Body>> for Reply {
    fn from(response: Response<Body>) -> Reply {
        let (parts, body) = response.into_parts();
        let bytes: Vec<u8> = match body {
            Body::Text(t) => t.into_bytes(),
            Body::Binary(b) => b,
            _ => Vec::new(),
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

impl Reply {
    /// The problem's `code` (empty if none).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// A header's value (empty if absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, and the `x-request-id` every response carries.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert!(
            !self.header("x-request-id").is_empty(),
            "every response carries x-request-id"
        );
        self
    }

    /// Asserts a problem+json answer with this status and `code`.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        self
    }

    /// Asserts what a client may see after an injected AWS fault
    /// (`devstack::faults`): an `x-request-id`, and either a success (`true`)
    /// or a 5xx problem+json with a `code` and the HTTP status (`false`).
    /// `what` names the case in the failure message.
    #[track_caller]
    pub fn expect_success_or_server_problem(&self, what: &str) -> bool {
        assert!(
            !self.header("x-request-id").is_empty(),
            "{what}: no request id"
        );
        if self.status.is_success() {
            return true;
        }
        assert!(
            self.status.is_server_error(),
            "{what}: {} {}",
            self.status,
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            "application/problem+json",
            "{what}"
        );
        assert!(self.body["code"].is_string(), "{what}: {}", self.body);
        assert_eq!(
            self.body["status"],
            self.status.as_u16(),
            "{what}: {}",
            self.body
        );
        false
    }

    /// The `field` of each entry of a problem's `errors`, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default()
    }

    /// A string field of the body.
    #[track_caller]
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no `{field}` in {}", self.body))
            .to_owned()
    }
}

/// The sample events of `function` (`events/<function>/`), as `cargo lambda
/// invoke --data-file` reads them.
pub mod samples {
    use std::path::PathBuf;

    /// `events/<function>/`.
    pub fn dir(function: &str) -> PathBuf {
        crate::workspace_root().join("events").join(function)
    }

    /// The sample names (file names without `.json`), sorted.
    pub fn names(function: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir(function))
            .expect("the samples folder")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json").map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    /// Sample `name` with each `(from, to)` substituted, as a request.
    pub fn request(function: &str, name: &str, subs: &[(&str, &str)]) -> lambda_http::Request {
        let path = dir(function).join(format!("{name}.json"));
        let mut text = std::fs::read_to_string(&path).expect("the sample file");
        for (from, to) in subs {
            text = text.replace(from, to);
        }
        lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}
