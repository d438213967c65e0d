//! Start-up of the `consent` Lambda function: telemetry, configuration, one
//! SDK config, the receipt keys, then the runtime loop. Everything else lives
//! in the library.

use std::convert::Infallible;

use lambda_http::{run, service_fn};
use shared::config::Env;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let env = Env::process();
    let sdk = shared::aws::sdk_config(&env).await;
    let app = consent::App::from_env(&env, &sdk).await.inspect_err(|e| {
        tracing::error!(error = %e, "start-up failed");
    })?;
    let app = &app;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(app.handle_http(req).await)
    }))
    .await
}
