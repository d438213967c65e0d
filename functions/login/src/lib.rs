//! The `login` function: every endpoint of api.md's "Identity and tokens".
//!
//! Passwords (argon2id), TOTP second factor, device keys (P-256) with single-use
//! challenges, patterns bound to a device, refresh-token rotation with reuse
//! detection, logout, and the JWKS and discovery documents other functions and
//! API Gateway's JWT authorizer verify tokens with.
//!
//! [`App`] holds what lives across invocations (SDK clients, keys, the argon2
//! memory); [`App::handle`] routes one request. Handlers parse, authorise, call
//! a domain module and map the result.
//!
//! - [`request`], [`views`] and [`openapi`]: the bodies read and the answers
//!   written, as types, and the routes as docs/openapi.json lists them.

pub mod accounts;
pub mod db;
pub mod devices;
pub mod error;
pub mod inputs;
pub mod openapi;
pub mod passwords;
pub mod request;
pub mod sessions;
pub mod signing;
pub mod throttle;
pub mod totp;
pub mod views;

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::auth::{Principal, TokenVerifier};
use shared::aws::SdkConfig;
use shared::config::{ConfigError, Env};
use shared::http::{ApiError, Fields, Invalid, json_body, no_content};
use shared::phone::PhoneNumber;

use crate::error::LoginError;
use crate::inputs::{LoginId, NewPassword};
use crate::passwords::Hasher;
use crate::request::{
    DeviceChallengeBody, DeviceLoginBody, LoginBody, NewDeviceBody, OtpConfirmBody, OtpLoginBody,
    PatternBody, PatternLoginBody, RefreshBody, SignupBody,
};
use crate::sessions::{PasswordOutcome, TokenResponse};
use crate::signing::KeySet;
use crate::views::{
    DeviceChallenge, DeviceList, OpenIdConfiguration, OtpEnrolment, RegisteredDevice, SignedUp,
};

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A configuration variable is missing or malformed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The signing-key secret could not be read.
    #[error("could not read the signing-key secret named by `SIGNING_KEYS_SECRET_ID`: {0}")]
    Secret(String),
    /// The signing-key secret is malformed.
    #[error("the signing-key secret is unusable: {0}")]
    Keys(#[from] signing::KeySetError),
}

/// Everything the function keeps across invocations.
pub struct App {
    pub(crate) db: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
    pub(crate) keys: KeySet,
    pub(crate) issuer: String,
    pub(crate) hasher: Hasher,
    verifier: TokenVerifier,
    jwks: Value,
}

impl App {
    /// Builds the app from configuration (`LOGIN_TABLE`, `SIGNING_KEYS_SECRET_ID`,
    /// `TOKEN_ISSUER`); reads the signing keys from Secrets Manager (the one
    /// network call of start-up).
    pub async fn from_env(env: &Env, sdk: &SdkConfig) -> Result<Self, StartupError> {
        let table = env.require("LOGIN_TABLE")?;
        let secret_id = env.require("SIGNING_KEYS_SECRET_ID")?;
        let issuer = env.require("TOKEN_ISSUER")?;
        if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
            || issuer.ends_with('/')
        {
            return Err(ConfigError::new(
                "TOKEN_ISSUER",
                "must be an http(s) URL without a trailing slash",
            )
            .into());
        }
        let secret = shared::aws::secret_string(sdk, &secret_id)
            .await
            .map_err(StartupError::Secret)?;
        let keys = KeySet::from_json(&secret)?;
        Ok(Self::new(sdk, table, issuer, keys))
    }

    /// Builds the app from its parts.
    pub fn new(sdk: &SdkConfig, table: String, issuer: String, keys: KeySet) -> Self {
        let verifier = TokenVerifier::new(issuer.clone(), keys.public_keys.clone());
        let jwks = shared::auth::jwks(&keys.public_keys);
        Self {
            db: aws_sdk_dynamodb::Client::new(sdk),
            table,
            keys,
            issuer,
            hasher: Hasher::new(),
            verifier,
            jwks,
        }
    }

    /// The verifier of this function's own tokens.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        shared::http::serve("login", req, |req| async move { self.route(&req).await }).await
    }

    async fn route(&self, req: &Request) -> (&'static str, Result<Response<Body>, ApiError>) {
        let segments = shared::http::segments(req);
        let method = req.method().as_str();
        match (method, segments.as_slice()) {
            ("POST", ["v1", "auth", "signup"]) => ("POST /v1/auth/signup", self.signup(req).await),
            ("POST", ["v1", "auth", "login"]) => ("POST /v1/auth/login", self.login(req).await),
            ("POST", ["v1", "auth", "login", "otp"]) => {
                ("POST /v1/auth/login/otp", self.login_otp(req).await)
            }
            ("POST", ["v1", "auth", "otp"]) => ("POST /v1/auth/otp", self.start_otp(req).await),
            ("POST", ["v1", "auth", "otp", "confirm"]) => {
                ("POST /v1/auth/otp/confirm", self.confirm_otp(req).await)
            }
            ("POST", ["v1", "auth", "devices"]) => {
                ("POST /v1/auth/devices", self.register_device(req).await)
            }
            ("GET", ["v1", "auth", "devices"]) => {
                ("GET /v1/auth/devices", self.list_devices(req).await)
            }
            ("DELETE", ["v1", "auth", "devices", id]) => (
                "DELETE /v1/auth/devices/{deviceId}",
                self.remove_device(req, id).await,
            ),
            ("PUT", ["v1", "auth", "devices", id, "pattern"]) => (
                "PUT /v1/auth/devices/{deviceId}/pattern",
                self.set_pattern(req, id).await,
            ),
            ("POST", ["v1", "auth", "login", "device", "challenge"]) => (
                "POST /v1/auth/login/device/challenge",
                self.device_challenge(req).await,
            ),
            ("POST", ["v1", "auth", "login", "device"]) => {
                ("POST /v1/auth/login/device", self.device_login(req).await)
            }
            ("POST", ["v1", "auth", "login", "pattern"]) => {
                ("POST /v1/auth/login/pattern", self.pattern_login(req).await)
            }
            ("POST", ["v1", "auth", "token"]) => ("POST /v1/auth/token", self.refresh(req).await),
            ("POST", ["v1", "auth", "logout"]) => ("POST /v1/auth/logout", self.logout(req).await),
            ("GET", [".well-known", "jwks.json"]) => {
                ("GET /.well-known/jwks.json", Ok(self.jwks_document()))
            }
            ("GET", [".well-known", "openid-configuration"]) => (
                "GET /.well-known/openid-configuration",
                Ok(self.discovery()),
            ),
            (_, path) => match allowed_methods(path) {
                Some(allowed) => ("unmatched", Err(shared::http::method_not_allowed(allowed))),
                None => ("unmatched", Err(ApiError::not_found())),
            },
        }
    }

    async fn signup(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: SignupBody = json_body(req)?;
        let mut fields = Fields::new();
        let login_id = fields.check("loginId", LoginId::parse(&body.login_id));
        let name = fields.check("name", inputs::name(&body.name));
        let phone = fields.check("phone", PhoneNumber::parse(&body.phone));
        let weak = inputs::weak_password(&body.password, Some(&body.login_id));
        let (Some(login_id), Some(name), Some(phone)) = (login_id, name, phone) else {
            if let Some(reason) = weak {
                fields.check::<()>("password", Err(reason));
            }
            return Err(fields.into_error());
        };
        if let Some(reason) = weak {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "auth.weak_password",
                "The password is too weak.",
                "비밀번호가 너무 약합니다.",
            )
            .with_field("password", reason));
        }
        let user_id = accounts::signup(
            self,
            accounts::Signup {
                login_id,
                password: NewPassword::unchecked(&body.password),
                name,
                phone,
            },
        )
        .await?;
        Ok(shared::http::json(
            StatusCode::CREATED,
            &SignedUp { user_id },
        ))
    }

    async fn login(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: LoginBody = json_body(req)?;
        // A malformed loginId cannot exist: same answer, same cost as a wrong one.
        if LoginId::parse(&body.login_id).is_err() {
            self.hasher.verify_dummy(&body.password);
            return Err(LoginError::InvalidCredentials.into());
        }
        match sessions::password_login(self, &body.login_id, &body.password).await? {
            PasswordOutcome::Tokens(tokens) => Ok(token_response(&tokens)),
            PasswordOutcome::Mfa(mfa) => Ok(no_store(shared::http::json(StatusCode::OK, &mfa))),
        }
    }

    async fn login_otp(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: OtpLoginBody = json_body(req)?;
        Ok(token_response(
            &sessions::otp_login(self, &body.mfa_token, &body.code).await?,
        ))
    }

    fn principal(&self, req: &Request) -> Result<Principal, ApiError> {
        self.verifier.authenticate(req)
    }

    async fn start_otp(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        let (secret, otpauth_uri) = sessions::start_otp(self, &principal).await?;
        Ok(no_store(shared::http::json(
            StatusCode::OK,
            &OtpEnrolment {
                otpauth_uri,
                secret,
            },
        )))
    }

    async fn confirm_otp(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        let body: OtpConfirmBody = json_body(req)?;
        match sessions::confirm_otp(self, &principal, &body.code).await {
            Ok(()) => Ok(no_content()),
            Err(LoginError::InvalidOtp) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "auth.invalid_otp",
                "The one-time code does not match the new secret.",
                "일회용 코드가 새 비밀키와 맞지 않습니다.",
            )
            .with_field("code", Invalid::new("does not match", "일치하지 않습니다"))),
            Err(e) => Err(e.into()),
        }
    }

    async fn register_device(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        let body: NewDeviceBody = json_body(req)?;
        let mut fields = Fields::new();
        let name = fields.check("deviceName", inputs::device_name(&body.device_name));
        let key = fields.check("publicKey", inputs::device_public_key(&body.public_key));
        let (Some(name), Some((_, key))) = (name, key) else {
            return Err(fields.into_error());
        };
        // A device key yields strong (`hwk`) sign-ins, so adding one needs a recent
        // sign-in, and a strong one when the account has OTP: a stolen password
        // alone must not be enough to mint a second factor.
        let now = shared::time::now_secs();
        let account = accounts::load(self, &principal.user_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ApiError::not_found)?;
        let recent = now - principal.auth_time <= shared::auth::STEP_UP_MAX_AGE;
        if !recent || (account.otp_secret.is_some() && principal.require_strong(now).is_err()) {
            return Err(LoginError::StepUpRequired.into());
        }
        let device_id = devices::register(self, &principal.user_id, &name, &key).await?;
        Ok(shared::http::json(
            StatusCode::CREATED,
            &RegisteredDevice { device_id },
        ))
    }

    async fn list_devices(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        let items = devices::list(self, &principal.user_id)
            .await
            .map_err(ApiError::internal)?;
        Ok(shared::http::json(StatusCode::OK, &DeviceList { items }))
    }

    async fn remove_device(
        &self,
        req: &Request,
        device_id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        if !is_id(device_id) {
            return Err(ApiError::not_found());
        }
        devices::remove(self, &principal.user_id, device_id).await?;
        Ok(no_content())
    }

    async fn set_pattern(
        &self,
        req: &Request,
        device_id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let principal = self.principal(req)?;
        let body: PatternBody = json_body(req)?;
        let mut fields = Fields::new();
        let Some(pattern) = fields.check("pattern", body.pattern.parse()) else {
            return Err(fields.into_error());
        };
        if !is_id(device_id) {
            return Err(ApiError::not_found());
        }
        devices::set_pattern(self, &principal.user_id, device_id, &pattern).await?;
        Ok(no_content())
    }

    async fn device_challenge(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: DeviceChallengeBody = json_body(req)?;
        if !is_id(&body.device_id) {
            return Err(LoginError::UnknownDevice.into());
        }
        let challenge = devices::challenge(self, &body.device_id).await?;
        Ok(no_store(shared::http::json(
            StatusCode::OK,
            &DeviceChallenge {
                challenge,
                expires_in: devices::CHALLENGE_TTL,
            },
        )))
    }

    async fn device_login(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: DeviceLoginBody = json_body(req)?;
        if !is_id(&body.device_id) || body.challenge.len() > 128 || body.signature.len() > 256 {
            return Err(LoginError::InvalidChallenge.into());
        }
        let tokens =
            devices::device_login(self, &body.device_id, &body.challenge, &body.signature).await?;
        Ok(token_response(&tokens))
    }

    async fn pattern_login(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: PatternLoginBody = json_body(req)?;
        let mut fields = Fields::new();
        let Some(pattern) = fields.check("pattern", body.pattern.parse()) else {
            return Err(fields.into_error());
        };
        if !is_id(&body.device_id) {
            return Err(LoginError::InvalidCredentials.into());
        }
        Ok(token_response(
            &devices::pattern_login(self, &body.device_id, &pattern).await?,
        ))
    }

    async fn refresh(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: RefreshBody = json_body(req)?;
        if body.refresh_token.len() > 128 {
            return Err(LoginError::InvalidRefreshToken.into());
        }
        Ok(token_response(
            &sessions::refresh(self, &body.refresh_token).await?,
        ))
    }

    async fn logout(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: RefreshBody = json_body(req)?;
        if body.refresh_token.len() <= 128 {
            sessions::logout(self, &body.refresh_token).await?;
        }
        Ok(no_content())
    }

    fn jwks_document(&self) -> Response<Body> {
        let mut response = shared::http::json(StatusCode::OK, &self.jwks);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("public, max-age=300"),
        );
        response
    }

    fn discovery(&self) -> Response<Body> {
        shared::http::json(
            StatusCode::OK,
            &OpenIdConfiguration {
                id_token_signing_alg_values_supported: vec!["ES256"],
                issuer: self.issuer.clone(),
                jwks_uri: format!("{}/.well-known/jwks.json", self.issuer),
                token_endpoint: format!("{}/v1/auth/token", self.issuer),
            },
        )
    }
}

/// Ids we issue are UUIDs; anything else cannot exist.
fn is_id(s: &str) -> bool {
    s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn token_response(tokens: &TokenResponse) -> Response<Body> {
    no_store(shared::http::json(StatusCode::OK, tokens))
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn allowed_methods(path: &[&str]) -> Option<&'static str> {
    match path {
        [
            "v1",
            "auth",
            "signup" | "login" | "otp" | "token" | "logout",
        ]
        | ["v1", "auth", "login", "otp" | "device" | "pattern"]
        | ["v1", "auth", "otp", "confirm"]
        | ["v1", "auth", "login", "device", "challenge"] => Some("POST"),
        ["v1", "auth", "devices"] => Some("GET, POST"),
        ["v1", "auth", "devices", _] => Some("DELETE"),
        ["v1", "auth", "devices", _, "pattern"] => Some("PUT"),
        [".well-known", "jwks.json" | "openid-configuration"] => Some("GET"),
        _ => None,
    }
}
