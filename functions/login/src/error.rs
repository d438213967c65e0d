//! What can go wrong in sign-in, independent of HTTP; mapped to problem+json in
//! exactly one place (`From<LoginError> for ApiError`).

use lambda_http::http::{StatusCode, header};
use shared::http::ApiError;

use crate::db::StoreError;

/// A sign-in failure.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong loginId, password, signature or pattern (all look the same).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed attempts for this loginId.
    #[error("login id locked for {retry_after} s")]
    Locked {
        /// Seconds until the lock ends.
        retry_after: i64,
    },
    /// Too many wrong patterns on this device.
    #[error("pattern login locked")]
    PatternLocked,
    /// The loginId is taken.
    #[error("login id taken")]
    LoginIdTaken,
    /// Unknown, expired or used MFA token.
    #[error("invalid mfa token")]
    InvalidMfaToken,
    /// Wrong one-time code.
    #[error("invalid otp")]
    InvalidOtp,
    /// A one-time code used before.
    #[error("otp replayed")]
    OtpReplayed,
    /// OTP confirmation without enrolment.
    #[error("otp not started")]
    OtpNotStarted,
    /// Unknown device id.
    #[error("unknown device")]
    UnknownDevice,
    /// Unknown, expired or used challenge.
    #[error("invalid challenge")]
    InvalidChallenge,
    /// Device limit reached.
    #[error("too many devices")]
    TooManyDevices,
    /// Unknown, expired or revoked refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A rotated refresh token was presented again.
    #[error("refresh token reused")]
    RefreshReused,
    /// Needs a fresh strong sign-in.
    #[error("step-up required")]
    StepUpRequired,
    /// Not found (or not the caller's).
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        use LoginError::*;
        let unauthorized = StatusCode::UNAUTHORIZED;
        match e {
            InvalidCredentials => ApiError::new(
                unauthorized,
                "auth.invalid_credentials",
                "The login details are not correct.",
                "로그인 정보가 올바르지 않습니다.",
            ),
            Locked { retry_after } => ApiError::new(
                StatusCode::LOCKED,
                "auth.locked",
                "Too many failed attempts. Try again later.",
                "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요.",
            )
            .with_header(header::RETRY_AFTER, retry_after.max(1).to_string()),
            PatternLocked => ApiError::new(
                StatusCode::LOCKED,
                "auth.pattern_locked",
                "Pattern login is disabled on this device after too many wrong patterns. Sign in with your password.",
                "잘못된 패턴이 너무 많아 이 기기의 패턴 로그인이 중지되었습니다. 비밀번호로 로그인하세요.",
            ),
            LoginIdTaken => ApiError::new(
                StatusCode::CONFLICT,
                "auth.login_id_taken",
                "This loginId is already taken.",
                "이미 사용 중인 아이디입니다.",
            )
            .with_field(
                "loginId",
                shared::http::Invalid::new("is already taken", "이미 사용 중입니다"),
            ),
            InvalidMfaToken => ApiError::new(
                unauthorized,
                "auth.invalid_mfa_token",
                "The sign-in step has expired or was already completed. Sign in again.",
                "로그인 단계가 만료되었거나 이미 완료되었습니다. 다시 로그인하세요.",
            ),
            InvalidOtp => ApiError::new(
                unauthorized,
                "auth.invalid_otp",
                "The one-time code is not correct.",
                "일회용 코드가 올바르지 않습니다.",
            ),
            OtpReplayed => ApiError::new(
                unauthorized,
                "auth.otp_replayed",
                "This one-time code was already used. Wait for the next one.",
                "이미 사용한 일회용 코드입니다. 다음 코드를 기다리세요.",
            ),
            OtpNotStarted => ApiError::new(
                StatusCode::CONFLICT,
                "auth.otp_not_started",
                "Start OTP enrolment first (POST /v1/auth/otp).",
                "먼저 OTP 등록을 시작하세요 (POST /v1/auth/otp).",
            ),
            UnknownDevice => ApiError::new(
                StatusCode::NOT_FOUND,
                "auth.unknown_device",
                "This device is not registered.",
                "등록되지 않은 기기입니다.",
            ),
            InvalidChallenge => ApiError::new(
                unauthorized,
                "auth.invalid_challenge",
                "The challenge is unknown, expired or already used.",
                "챌린지가 없거나 만료되었거나 이미 사용되었습니다.",
            ),
            TooManyDevices => ApiError::new(
                StatusCode::CONFLICT,
                "auth.too_many_devices",
                "Remove a device before registering another.",
                "다른 기기를 등록하려면 먼저 기기를 삭제하세요.",
            ),
            InvalidRefreshToken => ApiError::new(
                unauthorized,
                "auth.invalid_refresh_token",
                "The refresh token is not valid. Sign in again.",
                "갱신 토큰이 올바르지 않습니다. 다시 로그인하세요.",
            ),
            RefreshReused => ApiError::new(
                unauthorized,
                "auth.refresh_reused",
                "This refresh token was already used; every token of this sign-in is now revoked. Sign in again.",
                "이미 사용된 갱신 토큰입니다. 이 로그인의 모든 토큰을 폐기했습니다. 다시 로그인하세요.",
            ),
            StepUpRequired => shared::auth::step_up_required(),
            NotFound => ApiError::not_found(),
            Store(e) => ApiError::internal(e),
        }
    }
}
