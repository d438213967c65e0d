//! `Idempotency-Key` semantics on the emulator's DynamoDB: replay, key reused
//! with another body, a concurrent request in progress, and expiry by the stored
//! timestamp.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::TestStack;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::ApiError;
use shared::idempotency::Idempotency;

struct Setup {
    _stack: TestStack,
    idem: Idempotency,
    db: aws_sdk_dynamodb::Client,
    table: String,
}

async fn setup() -> Setup {
    let stack = TestStack::new().await;
    let table = stack.env("login").require("LOGIN_TABLE").unwrap();
    let db = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    Setup {
        idem: Idempotency::new(db.clone(), table.clone()),
        db,
        table,
        _stack: stack,
    }
}

fn request(key: Option<&str>, body: &str) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/things");
    if let Some(key) = key {
        b = b.header("idempotency-key", key);
    }
    b.body(Body::Text(body.to_owned())).unwrap()
}

fn created(n: usize) -> Result<Response<Body>, ApiError> {
    let mut r = shared::http::json(StatusCode::CREATED, &serde_json::json!({ "n": n }));
    r.headers_mut()
        .insert("location", "/v1/things/1".parse().unwrap());
    Ok(r)
}

fn body_json(r: &Response<Body>) -> serde_json::Value {
    match r.body() {
        Body::Binary(b) => serde_json::from_slice(b).unwrap(),
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => serde_json::Value::Null,
    }
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_response_and_runs_once() {
    let s = setup().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let work = || {
        let runs = runs.clone();
        async move { created(runs.fetch_add(1, Ordering::SeqCst) + 1) }
    };
    let first = s
        .idem
        .run(&request(Some("k-1"), "{\"a\":1}"), "user-1", work)
        .await
        .unwrap();
    let second = s
        .idem
        .run(&request(Some("k-1"), "{\"a\":1}"), "user-1", work)
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["location"], "/v1/things/1");
    assert_eq!(second.headers()["content-type"], "application/json");
    assert_eq!(body_json(&second), body_json(&first));
}

#[tokio::test]
async fn same_key_with_another_body_is_422() {
    let s = setup().await;
    s.idem
        .run(&request(Some("k-2"), "{\"a\":1}"), "user-1", || async {
            created(1)
        })
        .await
        .unwrap();
    let err = s
        .idem
        .run(&request(Some("k-2"), "{\"a\":2}"), "user-1", || async {
            created(2)
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err.code(), "idempotency.key_reused");
}

#[tokio::test]
async fn keys_are_scoped_per_caller() {
    let s = setup().await;
    s.idem
        .run(&request(Some("k-3"), "{}"), "user-1", || async {
            created(1)
        })
        .await
        .unwrap();
    let other = s
        .idem
        .run(&request(Some("k-3"), "{\"x\":1}"), "user-2", || async {
            created(2)
        })
        .await
        .unwrap();
    assert!(other.headers().get("idempotent-replayed").is_none());
    assert_eq!(body_json(&other)["n"], 2);
}

#[tokio::test]
async fn a_request_while_the_first_is_running_is_409() {
    let s = setup().await;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let first_req = request(Some("k-4"), "{}");
    let first = s.idem.run(&first_req, "user-1", || async move {
        started_tx.send(()).unwrap();
        release_rx.await.unwrap();
        created(1)
    });
    let second = async {
        started_rx.await.unwrap();
        let r = s
            .idem
            .run(&request(Some("k-4"), "{}"), "user-1", || async {
                created(2)
            })
            .await;
        release_tx.send(()).unwrap();
        r
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.unwrap().status(), StatusCode::CREATED);
    let err = second.unwrap_err();
    assert_eq!(err.status(), StatusCode::CONFLICT);
    assert_eq!(err.code(), "idempotency.in_progress");
}

#[tokio::test]
async fn a_failed_request_releases_its_key_for_a_retry() {
    let s = setup().await;
    let err = s
        .idem
        .run(&request(Some("k-5"), "{}"), "user-1", || async {
            Err::<Response<Body>, _>(ApiError::internal("boom"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let retry = s
        .idem
        .run(&request(Some("k-5"), "{}"), "user-1", || async {
            created(7)
        })
        .await
        .unwrap();
    assert_eq!(body_json(&retry)["n"], 7);
    assert!(retry.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn after_24_hours_by_the_stored_timestamp_the_key_runs_afresh() {
    let s = setup().await;
    s.idem
        .run(&request(Some("k-6"), "{}"), "user-1", || async {
            created(1)
        })
        .await
        .unwrap();
    // Age the record as if 25 hours had passed (TTL may not have deleted it yet).
    s.db.update_item()
        .table_name(&s.table)
        .key("pk", AttributeValue::S("IDEMP#user-1#k-6".into()))
        .key("sk", AttributeValue::S("IDEMP".into()))
        .update_expression("SET createdAt = :old")
        .expression_attribute_values(
            ":old",
            AttributeValue::N((shared::time::now_secs() - 25 * 3600).to_string()),
        )
        .send()
        .await
        .unwrap();
    let again = s
        .idem
        .run(
            &request(Some("k-6"), "{\"new\":true}"),
            "user-1",
            || async { created(2) },
        )
        .await
        .unwrap();
    assert_eq!(body_json(&again)["n"], 2);
    assert!(again.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn missing_or_malformed_keys_are_400_naming_the_header() {
    let s = setup().await;
    for key in [None, Some(""), Some("has space"), Some(&"x".repeat(65)[..])] {
        let err = s
            .idem
            .run(&request(key, "{}"), "user-1", || async { created(1) })
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{key:?}");
        assert_eq!(err.code(), "idempotency.key_invalid");
        let body: serde_json::Value = match err.to_response(shared::http::Lang::En).into_body() {
            Body::Binary(b) => serde_json::from_slice(&b).unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    }
}
