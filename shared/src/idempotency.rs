//! `Idempotency-Key` semantics of api.md on DynamoDB.
//!
//! The first request with a key takes a lock with a conditional write; its
//! successful response is stored and replayed (with `Idempotent-Replayed: true`)
//! for the same key and body within 24 h. The same key with another body gives 422
//! `idempotency.key_reused`; a request while the first still runs gives 409
//! `idempotency.in_progress`. Expiry is decided by the stored `createdAt`, never by
//! DynamoDB TTL alone (TTL deletes lazily, up to days late); TTL only tidies up.
//!
//! Records live in the calling function's own table (`pk = IDEMP#<scope>#<key>`),
//! so no function needs access to another's table. Error responses are not
//! stored: the lock is released and a retry runs again. A failed request may
//! still have written (a write whose answer was lost: the SDK reports a timeout
//! after DynamoDB applied it), so the work itself must recognise its own earlier
//! write when it runs again: a refund keeps its claim's key, a consent request
//! and a look-up keep a per-key item (see each function's `tests/faults.rs`).
//! Each record also carries an owner token, so that the SDK's retry of the
//! lock's own write, or of the replay record's, is known for what it is.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use data_encoding::HEXLOWER;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::http::{ApiError, Invalid, body_bytes};
use crate::time::now_secs;

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered, in seconds.
pub const WINDOW_SECS: i64 = 24 * 3600;
/// How long a running request holds its key before a retry may take it over
/// (longer than any function's timeout).
pub const LOCK_SECS: i64 = 60;

/// Idempotency records in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct Idempotency {
    db: Client,
    table: String,
}

/// What [`Idempotency::begin`] decided.
#[derive(Debug)]
pub enum Begin {
    /// This request holds the key: run it, then [`Idempotency::finish`] or
    /// [`Idempotency::release`].
    Proceed(Claim),
    /// A completed request with the same key and body: answer this.
    Replay(Response<Body>),
}

/// A held key.
#[derive(Debug)]
pub struct Claim {
    pk: String,
    /// Random per attempt to take the key: tells this request's own record
    /// from another's when the answer to the write was lost.
    owner: String,
}

impl Idempotency {
    /// Records in `table` through `db`.
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The validated key of `req`: 400 naming `Idempotency-Key` when it is missing
    /// or not 1-64 characters of `[A-Za-z0-9_-]`.
    pub fn key(req: &Request) -> Result<String, ApiError> {
        let err = |en, ko| {
            ApiError::new(StatusCode::BAD_REQUEST, "idempotency.key_invalid", en, ko)
                .with_field("Idempotency-Key", Invalid::new(en, ko))
        };
        let value = req.headers().get(HEADER).ok_or_else(|| {
            err(
                "The Idempotency-Key header is required.",
                "Idempotency-Key 헤더가 필요합니다.",
            )
        })?;
        let key = value.to_str().unwrap_or("");
        let valid = (1..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(key.to_owned())
        } else {
            Err(err(
                "Idempotency-Key must be 1-64 characters of A-Z, a-z, 0-9, _ and -.",
                "Idempotency-Key는 영문, 숫자, _, - 로 된 1-64자여야 합니다.",
            ))
        }
    }

    /// The fingerprint of a request: method, path and body.
    pub fn fingerprint(req: &Request) -> String {
        let digest = Sha256::new()
            .chain_update(req.method().as_str())
            .chain_update([0])
            .chain_update(req.uri().path())
            .chain_update([0])
            .chain_update(body_bytes(req))
            .finalize();
        HEXLOWER.encode(&digest)
    }

    /// Runs `work` at most once per (scope, key) and body: the whole protocol.
    ///
    /// `scope` separates callers (use the user id), so one user's key never
    /// collides with another's.
    pub async fn run<F, Fut>(
        &self,
        req: &Request,
        scope: &str,
        work: F,
    ) -> Result<Response<Body>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Response<Body>, ApiError>>,
    {
        let key = Self::key(req)?;
        match self.begin(scope, &key, &Self::fingerprint(req)).await? {
            Begin::Replay(response) => Ok(response),
            Begin::Proceed(claim) => {
                let result = work().await;
                match &result {
                    Ok(response) if response.status().as_u16() < 400 => {
                        // The work is done: its answer goes to the client even
                        // when it could not be stored for replay (a retry then
                        // waits out the lock and meets the work's own checks).
                        if let Err(e) = self.finish(claim, response).await {
                            tracing::warn!(error = %e, "idempotent answer not stored");
                        }
                    }
                    _ => self.release(claim).await,
                }
                result
            }
        }
    }

    /// Takes the key, or tells why not.
    pub async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begin, ApiError> {
        let pk = format!("IDEMP#{scope}#{key}");
        // A record can vanish between the failed write and the read (released by a
        // failing first request); then try again.
        let owner = crate::random::token::<16>();
        for _ in 0..3 {
            let now = now_secs();
            let put = self
                .db
                .put_item()
                .table_name(&self.table)
                .item("pk", s(&pk))
                .item("sk", s("IDEMP"))
                .item("state", s("running"))
                .item("fingerprint", s(fingerprint))
                .item("owner", s(&owner))
                .item("createdAt", n(now))
                .item("lockedUntil", n(now + LOCK_SECS))
                .item("ttl", n(now + WINDOW_SECS + 3600))
                .condition_expression(
                    "attribute_not_exists(pk) OR createdAt < :windowStart OR (#state = :running AND lockedUntil < :now)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":windowStart", n(now - WINDOW_SECS))
                .expression_attribute_values(":running", s("running"))
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            match put {
                Ok(_) => {
                    return Ok(Begin::Proceed(Claim { pk, owner }));
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    // The write may have happened with its answer lost: give
                    // the key back if it is ours, so the client's retry runs
                    // now instead of meeting 409 until the lock expires.
                    self.release(Claim { pk, owner }).await;
                    return Err(ApiError::internal(
                        aws_sdk_dynamodb::error::DisplayErrorContext(e),
                    ));
                }
            }
            let existing = self
                .db
                .get_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .key("sk", s("IDEMP"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            let Some(item) = existing.item else { continue };
            // Our own record: the SDK retried a write whose answer was lost,
            // and the retry met the first attempt's record.
            if item.get("owner").and_then(|v| v.as_s().ok()) == Some(&owner) {
                return Ok(Begin::Proceed(Claim { pk, owner }));
            }
            if item
                .get("fingerprint")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                != Some(fingerprint)
            {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency.key_reused",
                    "This Idempotency-Key was already used with a different request.",
                    "이 Idempotency-Key는 다른 요청에 이미 사용되었습니다.",
                ));
            }
            if item
                .get("state")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("running")
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency.in_progress",
                    "A request with this Idempotency-Key is still being processed.",
                    "같은 Idempotency-Key의 요청을 아직 처리하고 있습니다.",
                )
                .with_header(header::RETRY_AFTER, "1"));
            }
            return Ok(Begin::Replay(replay(&item)));
        }
        Err(ApiError::internal("idempotency record kept changing"))
    }

    /// Stores the response of a claimed request for replay.
    pub async fn finish(&self, claim: Claim, response: &Response<Body>) -> Result<(), ApiError> {
        let header_value = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        self.db
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&claim.pk))
            .key("sk", s("IDEMP"))
            .update_expression(
                "SET #state = :done, statusCode = :status, body = :body, contentType = :ct, #location = :loc",
            )
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#location", "location")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(i64::from(response.status().as_u16())))
            .expression_attribute_values(":body", AttributeValue::B(Blob::new(body_of(response))))
            .expression_attribute_values(":ct", s(&header_value(header::CONTENT_TYPE)))
            .expression_attribute_values(":loc", s(&header_value(header::LOCATION)))
            .expression_attribute_values(":owner", s(&claim.owner))
            .send()
            .await
            .map_err(|e| ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Gives the key back after a failed request, so a retry runs afresh.
    pub async fn release(&self, claim: Claim) {
        let result = self
            .db
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&claim.pk))
            .key("sk", s("IDEMP"))
            .condition_expression("#owner = :owner AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(&claim.owner))
            .expression_attribute_values(":running", s("running"))
            .send()
            .await;
        if let Err(e) = result {
            // The lock then simply expires after LOCK_SECS.
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "could not release idempotency key");
        }
    }
}

fn body_of(response: &Response<Body>) -> Vec<u8> {
    match response.body() {
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    }
}

fn replay(item: &std::collections::HashMap<String, AttributeValue>) -> Response<Body> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let status = item
        .get("statusCode")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .and_then(|v| StatusCode::from_u16(v).ok())
        .unwrap_or(StatusCode::OK);
    let body = item
        .get("body")
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let mut response = Response::new(if body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(body)
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, text("contentType")),
        (header::LOCATION, text("location")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value)
            && !value.is_empty()
        {
            headers.insert(name, value);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
