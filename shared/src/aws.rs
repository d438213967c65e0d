//! The one place the AWS SDK configuration is built.
//!
//! Region defaults to ap-northeast-2 (Seoul). `AWS_ENDPOINT_URL` points every client
//! at a local emulator; S3 clients then use path-style addressing, since an
//! emulator on 127.0.0.1 has no per-bucket host names. The config is the expensive
//! part of a cold start: build it once in `main` and derive every client from it.
//!
//! The HTTPS client is the SDK's own hyper client with rustls on ring, set here
//! rather than through the SDK's `default-https-client` feature, which links
//! aws-lc: ring is the smaller library (about 1 MB less in every zip) and the
//! one the issuer's JWKS client (`jwks`) uses too.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::sync::OnceLock;

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpClient, SharedHttpClient, http_client_fn};

use crate::config::Env;

/// The region used when `AWS_REGION` is not set.
pub const DEFAULT_REGION: &str = "ap-northeast-2";

/// Builds the SDK configuration from `env`.
///
/// For an explicit map (tests, devstack) the credentials in the map are used as
/// static credentials, so tests never depend on the developer's AWS profile.
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(https);
    if let Some(endpoint) = env.get("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    if let Env::Map(_) = env
        && let (Some(id), Some(secret)) = (
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
        )
    {
        let token = env.get("AWS_SESSION_TOKEN");
        loader =
            loader.credentials_provider(Credentials::new(id, secret, token, None, "pocketgov-env"));
    }
    loader.load().await
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
