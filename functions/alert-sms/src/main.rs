//! Start-up of the `alert-sms` Lambda function: telemetry, configuration, one SDK
//! config, then the runtime loop. The function is invoked by SQS (texts and
//! alert delivery) and by API Gateway (the alert routes): each invocation is
//! told apart by its shape and answered in the shape its source expects.
//! Everything else lives in the library.

#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::aws_lambda_events::encodings::Body as EventBody;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Context, RequestExt};
use lambda_runtime::{LambdaEvent, run, service_fn};
use serde_json::Value;
use shared::config::Env;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let env = Env::process();
    let sdk = shared::aws::sdk_config(&env).await;
    let app = alert_sms::App::from_env(&env, &sdk).inspect_err(|e| {
        tracing::error!(error = %e, "start-up failed");
    })?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let LambdaEvent { payload, context } = event;
        if is_sqs(&payload) {
            let batch: SqsEvent = serde_json::from_value(payload)?;
            let response = app
                .handle_until(&batch, &context.request_id, deadline(context.deadline))
                .await;
            return Ok::<Value, lambda_runtime::Error>(serde_json::to_value(response)?);
        }
        let request: LambdaRequest = serde_json::from_value(payload)?;
        Ok(serde_json::to_value(http(app, request, context).await)?)
    }))
    .await
}

/// The invocation's deadline (`context.deadline`, Unix milliseconds in Lambda)
/// as an instant of this process's clock. cargo-lambda's local runtime sends
/// the time left instead (600000): a value too small to be a date is read so.
fn deadline(value_ms: u64) -> Option<std::time::Instant> {
    /// 2001-09-09 in Unix milliseconds: anything below is a duration.
    const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;
    if value_ms == 0 {
        return None;
    }
    let left_ms = if value_ms < EPOCH_MS_FLOOR {
        value_ms
    } else {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis();
        u64::try_from(u128::from(value_ms).saturating_sub(now_ms)).unwrap_or(u64::MAX)
    };
    Some(std::time::Instant::now() + std::time::Duration::from_millis(left_ms))
}

/// Whether the event is an SQS batch (an empty one too: devstack warms the
/// function up with one). API Gateway events have no `Records`.
fn is_sqs(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|records| {
            records
                .iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        })
}

/// Answers an API Gateway HTTP API request (payload format 2.0).
async fn http(
    app: &alert_sms::App,
    request: LambdaRequest,
    context: Context,
) -> ApiGatewayV2httpResponse {
    let request: lambda_http::Request =
        lambda_http::Request::from(request).with_lambda_context(context);
    let response = app.handle_http(request).await;
    let (parts, body) = response.into_parts();
    let (body, is_base64_encoded) = match body {
        Body::Empty => (None, false),
        Body::Text(text) => (Some(EventBody::Text(text)), false),
        Body::Binary(bytes) => match String::from_utf8(bytes) {
            // JSON and XML are text: sent as such, not base64.
            Ok(text) => (Some(EventBody::Text(text)), false),
            Err(e) => (Some(EventBody::Binary(e.into_bytes())), true),
        },
        _ => (None, false),
    };
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = parts.headers;
    answer.body = body;
    answer.is_base64_encoded = is_base64_encoded;
    answer
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn deadlines_are_read_as_dates_or_as_cargo_lambdas_time_left() {
        use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let in_30s = super::deadline(now_ms + 30_000).unwrap();
        assert!(in_30s > Instant::now() + Duration::from_secs(25));
        let local = super::deadline(600_000).unwrap();
        assert!(local > Instant::now() + Duration::from_secs(590));
        let past = super::deadline(now_ms - 1_000).unwrap();
        assert!(past <= Instant::now());
        assert_eq!(super::deadline(0), None);
    }

    #[test]
    fn sqs_batches_even_empty_ones_are_told_from_http_requests() {
        assert!(super::is_sqs(&json!({"Records": []})));
        assert!(super::is_sqs(
            &json!({"Records": [{"eventSource": "aws:sqs"}]})
        ));
        assert!(!super::is_sqs(
            &json!({"Records": [{"eventSource": "aws:dynamodb"}]})
        ));
        assert!(!super::is_sqs(
            &json!({"version": "2.0", "rawPath": "/v1/alerts"})
        ));
    }
}
