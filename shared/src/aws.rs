//! The one place the AWS SDK configuration is built.
//!
//! Region defaults to ap-northeast-2 (Seoul). `AWS_ENDPOINT_URL` points every client
//! at a local emulator; S3 clients then use path-style addressing, since an
//! emulator on 127.0.0.1 has no per-bucket host names. Build the config once in
//! `main` and derive every client from it, so that they share one connection pool.
//!
//! The configuration is built field by field rather than through aws-config's
//! default loader. The loader brings the whole credential chain (profiles, SSO,
//! STS web identity, ECS and EC2 metadata), and fat LTO cannot drop what it may
//! call at run time; a Lambda function needs none of it, since the runtime puts
//! the execution role's credentials in `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` for the life of the
//! environment (the variables a process cannot see change, so reading them once
//! is what the default chain does there too). The rest is what the loader would
//! set: standard retries (3 attempts), a 3.1 s connect timeout, Tokio's sleep,
//! the system clock and the latest behaviour version.
//!
//! The HTTPS client is the SDK's own hyper client with rustls on ring, set here
//! rather than through the SDK's `default-https-client` feature, which links
//! aws-lc: ring is the smaller library (about 1 MB less in every zip) and the
//! one the issuer's JWKS client (`jwks`) uses too.

use std::sync::OnceLock;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient, http_client_fn};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;

/// The SDK configuration every client is built from (re-exported so that the
/// functions need no AWS crate of their own for it).
pub use aws_types::SdkConfig;

use crate::config::Env;

/// The region used when `AWS_REGION` is not set.
pub const DEFAULT_REGION: &str = "ap-northeast-2";

/// The connect timeout aws-config's loader sets by default.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Builds the SDK configuration from `env`.
///
/// Credentials are the static ones in `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and (optionally) `AWS_SESSION_TOKEN`; tests and
/// devstack pass them in an explicit map, so they never depend on the
/// developer's AWS profile. Without them the configuration has no credentials
/// and every AWS call fails with the SDK's "no credentials" error.
pub async fn sdk_config(env: &Env) -> SdkConfig {
    let region = env
        .get("AWS_REGION")
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    // Built on the first request, not here: it reads the system's root
    // certificates (some milliseconds), which a cold start that makes no AWS call need not pay.
    let client: OnceLock<SharedHttpClient> = OnceLock::new();
    let https = http_client_fn(move |settings, components| {
        client
            .get_or_init(|| {
                aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .build_https()
            })
            .http_connector(settings, components)
    });
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(https)
        .sleep_impl(TokioSleep::new())
        .time_source(SystemTimeSource::new())
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(endpoint) = env.get("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    if let (Some(id), Some(secret)) = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        let token = env.get("AWS_SESSION_TOKEN");
        let credentials = Credentials::new(id, secret, token, None, "pocketgov-env");
        builder = builder.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    builder.build()
}

/// Whether S3 clients must use path-style addressing (true when an endpoint
/// override points at an emulator).
pub fn s3_force_path_style(env: &Env) -> bool {
    env.get("AWS_ENDPOINT_URL").is_some()
}

/// The string value of the Secrets Manager secret `secret_id` (the key sets the
/// functions read once per cold start). The error says why, without the value.
pub async fn secret_string(sdk: &SdkConfig, secret_id: &str) -> Result<String, String> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
    out.secret_string
        .ok_or_else(|| format!("secret `{secret_id}` has no string value"))
}
