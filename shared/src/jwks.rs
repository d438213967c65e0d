//! Access-token verification for the functions that do not sign tokens.
//!
//! Only `login` holds the signing keys. Every other function verifies tokens with
//! the issuer's public JWK Set, fetched from `<issuer>/.well-known/jwks.json` at
//! the first request that carries a token (never during start-up) and cached for
//! the life of the instance. A token signed with a key the cache does not know
//! triggers one refetch, at most once per [`REFETCH_INTERVAL`], so a key
//! rotation at the issuer needs no redeploy and junk `kid`s cannot turn the
//! function into a request amplifier.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};

use crate::auth::{Principal, TokenVerifier, bearer_token, token_kid};
use crate::config::ConfigError;
use crate::http::ApiError;

/// The shortest time between two fetches of the key set.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest key set accepted.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Authenticates requests: with fixed keys (tests, the signing function itself)
/// or with the issuer's published keys.
#[derive(Debug)]
pub enum Authenticator {
    /// Keys known up front.
    Fixed(TokenVerifier),
    /// Keys fetched from the issuer (boxed: the HTTP client is large).
    Remote(Box<RemoteKeys>),
}

impl Authenticator {
    /// Verifies tokens of `issuer` with the keys it publishes at
    /// `<issuer>/.well-known/jwks.json`. `variable` names the setting the issuer
    /// came from, for the error.
    pub fn remote(variable: &str, issuer: &str) -> Result<Self, ConfigError> {
        let url: hyper::Uri = format!("{issuer}/.well-known/jwks.json")
            .parse()
            .map_err(|_| ConfigError::new(variable, "must be an http(s) URL"))?;
        match url.scheme_str() {
            Some("https" | "http") if url.host().is_some() => {}
            _ => return Err(ConfigError::new(variable, "must be an http(s) URL")),
        }
        Ok(Authenticator::Remote(Box::new(RemoteKeys {
            issuer: issuer.to_owned(),
            url,
            client: OnceCell::new(),
            state: Mutex::new(State::default()),
        })))
    }

    /// The caller of `req`: 401 `auth.invalid_token` for a missing, malformed,
    /// expired or forged token; 503 `auth.keys_unavailable` when the issuer's
    /// keys have never been obtained.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        match self {
            Authenticator::Fixed(verifier) => verifier.authenticate(req),
            Authenticator::Remote(remote) => {
                let kid = token_kid(bearer_token(req)?);
                remote.verifier(kid.as_deref()).await?.authenticate(req)
            }
        }
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The issuer's key set, fetched lazily and cached.
pub struct RemoteKeys {
    issuer: String,
    url: hyper::Uri,
    client: OnceCell<HttpsClient>,
    state: Mutex<State>,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    verifier: Option<Arc<TokenVerifier>>,
    fetched_at: Option<Instant>,
}

/// Why the key set could not be fetched (logged, never shown to clients).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("tls set-up: {0}")]
    Tls(std::io::Error),
    #[error("request: {0}")]
    Request(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("status {0}")]
    Status(StatusCode),
    #[error("body: {0}")]
    Body(String),
    #[error("not a JWK Set: {0}")]
    Keys(String),
}

impl RemoteKeys {
    /// A verifier that knows `kid` if the issuer publishes it.
    async fn verifier(&self, kid: Option<&str>) -> Result<Arc<TokenVerifier>, ApiError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.verifier {
            let known = kid.is_none_or(|kid| current.has_key(kid));
            let recent = state
                .fetched_at
                .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL);
            if known || recent {
                return Ok(current.clone());
            }
        }
        state.fetched_at = Some(Instant::now());
        match self.fetch().await {
            Ok(verifier) => {
                let verifier = Arc::new(verifier);
                state.verifier = Some(verifier.clone());
                Ok(verifier)
            }
            Err(e) => {
                tracing::error!(error = %e, url = %self.url, "could not fetch the issuer's keys");
                state.verifier.clone().ok_or_else(|| {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "auth.keys_unavailable",
                        "The keys to check access tokens are unavailable; try again shortly.",
                        "액세스 토큰을 확인할 키를 가져올 수 없습니다. 잠시 후 다시 시도하십시오.",
                    )
                })
            }
        }
    }

    async fn fetch(&self) -> Result<TokenVerifier, FetchError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                    .map_err(FetchError::Tls)?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok::<_, FetchError>(Client::builder(TokioExecutor::new()).build(https))
            })
            .await?;
        let request = async {
            let response = client
                .get(self.url.clone())
                .await
                .map_err(|e| FetchError::Request(e.to_string()))?;
            if response.status() != StatusCode::OK {
                return Err(FetchError::Status(response.status()));
            }
            Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| FetchError::Body(e.to_string()))
        };
        let body = tokio::time::timeout(FETCH_TIMEOUT, request)
            .await
            .map_err(|_| FetchError::Timeout(FETCH_TIMEOUT))??;
        let jwks: Value =
            serde_json::from_slice(&body).map_err(|e| FetchError::Keys(e.to_string()))?;
        TokenVerifier::from_jwks(self.issuer.clone(), &jwks)
            .map_err(|e| FetchError::Keys(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_must_be_an_http_url() {
        assert!(Authenticator::remote("TOKEN_ISSUER", "https://api.pocketgov.example").is_ok());
        assert!(Authenticator::remote("TOKEN_ISSUER", "http://127.0.0.1:9000").is_ok());
        for bad in [
            "",
            "api.pocketgov.example",
            "ftp://x",
            "https://",
            "not a url",
        ] {
            let e = Authenticator::remote("TOKEN_ISSUER", bad).unwrap_err();
            assert!(e.to_string().contains("TOKEN_ISSUER"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn when_the_issuer_is_unreachable_a_token_gets_503_not_500() {
        // Port 9 (discard) on loopback: nothing listens there.
        let auth = Authenticator::remote("TOKEN_ISSUER", "http://127.0.0.1:9").unwrap();
        let req = lambda_http::http::Request::builder()
            .header(
                "authorization",
                "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.e30.c2ln",
            )
            .body(lambda_http::Body::Empty)
            .unwrap();
        let e = auth.authenticate(&req).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "auth.keys_unavailable");
        // Without a token, no fetch is needed to refuse.
        let bare = lambda_http::http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(
            auth.authenticate(&bare).await.unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
    }
}
