//! The local API's front door on :9000, in front of `cargo lambda watch`
//! (which listens on an internal port), doing the little API Gateway does that
//! cargo-lambda's local API does not:
//!
//! - **Bodies that are not UTF-8 text.** cargo-lambda puts a text-typed body
//!   (`application/json`, `text/*`, or none) into the API Gateway event as a
//!   string and answers a bare 500 of its own when the bytes are not UTF-8, so the
//!   function never sees the request. The edge passes such a body on with the bad
//!   bytes replaced by U+FFFD, and the function answers it as it answers any
//!   malformed body (400 problem+json). Fuzzers send these.
//! - **`GET /openapi.json`**: the API description (`docs/openapi.json`), read
//!   from the working tree on every request, so a regenerated document is served
//!   at once.
//! - **IPv6 loopback**: `cargo lambda invoke` sends to `[::1]:9000` by default;
//!   the edge listens there too (when the machine has IPv6).
//!
//! Everything else, including cargo-lambda's invoke API, passes through as it is.

use std::convert::Infallible;
use std::path::PathBuf;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// Serves the edge on 127.0.0.1:`port` (and [::1]:`port` when possible),
/// forwarding to cargo lambda watch on 127.0.0.1:`watch_port`; `document` is
/// the path of `docs/openapi.json`.
///
/// # Errors
/// When 127.0.0.1:`port` cannot be bound.
pub async fn serve(port: u16, watch_port: u16, document: PathBuf) -> std::io::Result<()> {
    let v4 = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let v6 = tokio::net::TcpListener::bind(("::1", port)).await.ok();
    let upstream: Upstream = Client::builder(TokioExecutor::new()).build_http();
    let edge = std::sync::Arc::new(Edge {
        upstream,
        watch_port,
        document,
    });
    if let Some(v6) = v6 {
        tokio::spawn(accept(v6, edge.clone()));
    }
    tokio::spawn(accept(v4, edge));
    Ok(())
}

struct Edge {
    upstream: Upstream,
    watch_port: u16,
    document: PathBuf,
}

async fn accept(listener: tokio::net::TcpListener, edge: std::sync::Arc<Edge>) {
    while let Ok((stream, _)) = listener.accept().await {
        let edge = edge.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let edge = edge.clone();
                async move { Ok::<_, Infallible>(edge.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Edge {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (mut parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return plain(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        };
        if parts.method == hyper::Method::GET && parts.uri.path() == "/openapi.json" {
            return self.document().await;
        }
        let body = if is_text(parts.headers.get(CONTENT_TYPE)) {
            match String::from_utf8_lossy(&body) {
                std::borrow::Cow::Borrowed(_) => body,
                std::borrow::Cow::Owned(text) => {
                    parts.headers.remove(CONTENT_LENGTH);
                    Bytes::from(text)
                }
            }
        } else {
            body
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let Ok(uri) = format!("http://127.0.0.1:{}{path}", self.watch_port).parse() else {
            return plain(StatusCode::BAD_REQUEST, "the request target is not valid");
        };
        parts.uri = uri;
        parts.headers.remove(HOST);
        let request = Request::from_parts(parts, Full::new(body));
        match self.upstream.request(request).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                match body.collect().await {
                    Ok(body) => Response::from_parts(parts, Full::new(body.to_bytes())),
                    Err(_) => plain(StatusCode::BAD_GATEWAY, "the function's answer broke off"),
                }
            }
            Err(_) => plain(
                StatusCode::BAD_GATEWAY,
                "cargo lambda watch is not answering (still starting?)",
            ),
        }
    }

    async fn document(&self) -> Response<Full<Bytes>> {
        match tokio::fs::read(&self.document).await {
            Ok(bytes) => Response::builder()
                .status(StatusCode::OK)
                .header(CONTENT_TYPE, "application/json")
                .header("cache-control", "no-cache")
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "")),
            Err(_) => plain(StatusCode::NOT_FOUND, "docs/openapi.json is missing"),
        }
    }
}

/// Whether cargo-lambda carries a body of this type as a string (and so
/// cannot carry bytes that are not UTF-8): no type, JSON, or text.
fn is_text(content_type: Option<&hyper::header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let media = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media.is_empty()
        || media.starts_with("text/")
        || media == "application/json"
        || media.ends_with("+json")
        || media == "application/xml"
        || media.ends_with("+xml")
        || media == "application/x-www-form-urlencoded"
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_the_ones_carried_as_strings() {
        let value = |s: &'static str| hyper::header::HeaderValue::from_static(s);
        assert!(is_text(None));
        assert!(is_text(Some(&value("application/json; charset=utf-8"))));
        assert!(is_text(Some(&value("text/plain"))));
        assert!(is_text(Some(&value("application/problem+json"))));
        assert!(!is_text(Some(&value("application/pdf"))));
        assert!(!is_text(Some(&value("application/octet-stream"))));
        assert!(!is_text(Some(&value("image/jpeg"))));
    }
}
