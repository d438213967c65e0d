//! Plain HTTP/1.1 on loopback, for the few calls devstack makes that are not AWS
//! API calls: invoking a function through `cargo lambda watch`, and reading the
//! emulator's SMS log.
//!
//! A client is built per call and dropped with it: test processes run one Tokio
//! runtime per test, and a pooled connection whose task lived in a finished
//! runtime would hang the next caller.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::error::{Error, Result};

/// A response: status and body.
#[derive(Debug)]
pub(crate) struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body, whole.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET url`, giving up after `timeout`.
pub(crate) async fn get(url: &str, timeout: Duration) -> Result<Response> {
    send("GET", url, None, timeout).await
}

/// `POST url` with a JSON body, giving up after `timeout`.
pub(crate) async fn post_json(url: &str, body: Vec<u8>, timeout: Duration) -> Result<Response> {
    send("POST", url, Some(body), timeout).await
}

async fn send(
    method: &'static str,
    url: &str,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Response> {
    let fail = |problem: String| Error::Http {
        method,
        url: url.to_owned(),
        problem,
    };
    let mut request = hyper::Request::builder().method(method).uri(url);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| fail(e.to_string()))?;
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok::<_, String>(Response { status, body })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result.map_err(fail),
        Err(_) => Err(fail(format!("no answer within {} s", timeout.as_secs()))),
    }
}
