//! Start-up of the `alert-sms` Lambda function: telemetry, configuration, one SDK
//! config, then the runtime loop over SQS batches. Everything else lives in the
//! library.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, run, service_fn};
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
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response: SqsBatchResponse =
            app.handle(&event.payload, &event.context.request_id).await;
        Ok::<_, std::convert::Infallible>(response)
    }))
    .await
}
