//! Sign-ins and their tokens: password login (with the OTP second factor), OTP
//! enrolment, refresh-token rotation with reuse detection, and logout.
//!
//! A sign-in is a *family* (`FAMILY#<id>`) of refresh tokens (`REFRESH#<sha256>`;
//! only hashes are stored). Each refresh marks the presented token used and adds
//! its successor in one transaction; presenting a used token again revokes the
//! family, because only a thief or a replay can do that.
//!
//! Items (serde_dynamo): `FAMILY#<id>/FAMILY` a `Family`,
//! `REFRESH#<sha256>/REFRESH` a `RefreshToken`, `MFA#<sha256>/MFA` an
//! `MfaToken` (the password step of a sign-in awaiting its OTP code).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::auth::{ACCESS_TOKEN_TTL, Claims, Principal};
use shared::events::DomainEvent;
use shared::events::payloads::RefreshReused;

use crate::App;
use crate::accounts::{self, Account};
use crate::db::{self, StoreError, b, n, s};
use crate::error::LoginError;
use crate::{devices, throttle, totp};

/// Refresh-token lifetime.
pub const REFRESH_TTL: i64 = 14 * 24 * 3600;
/// MFA-token lifetime.
pub const MFA_TTL: i64 = 300;

/// What a successful sign-in answers (api.md TokenResponse).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// ES256 JWT.
    pub access_token: String,
    /// Always `Bearer`.
    #[schemars(extend("const" = "Bearer"))]
    pub token_type: &'static str,
    /// Seconds the access token lives (900).
    pub expires_in: i64,
    /// Opaque, single use.
    pub refresh_token: String,
    /// The user.
    pub user_id: String,
    /// `citizen` or `official`.
    #[schemars(extend("enum" = ["citizen", "official"]))]
    pub role: &'static str,
    /// Authentication methods (RFC 8176).
    #[schemars(extend("items" = { "type": "string", "enum": ["pwd", "otp", "pattern", "hwk"] }))]
    pub amr: Vec<String>,
}

/// A password sign-in that needs its second factor.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaRequired {
    /// Always true.
    #[schemars(extend("const" = true))]
    pub mfa_required: bool,
    /// Presented with the code at `/v1/auth/login/otp`.
    pub mfa_token: String,
    /// `["otp"]`.
    #[schemars(extend("items" = { "type": "string", "enum": ["otp"] }))]
    pub methods: Vec<&'static str>,
}

/// The outcome of a correct password.
#[derive(Debug)]
pub enum PasswordOutcome {
    /// Signed in.
    Tokens(TokenResponse),
    /// OTP needed.
    Mfa(MfaRequired),
}

/// A sign-in: the refresh tokens it issued share it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Family {
    user_id: String,
    /// The sign-in's methods, carried into every rotated access token.
    amr: Vec<String>,
    /// When the user signed in (Unix seconds), likewise carried.
    auth_time: i64,
    /// Set on logout or reuse: every token of the family is then refused.
    revoked: bool,
    /// Unix seconds; pushed back by every rotation.
    ttl: i64,
}

/// One refresh token, stored under its hash.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshToken {
    family_id: String,
    user_id: String,
    /// Rotated already: presenting it again is a reuse.
    used: bool,
    /// Unix seconds: refused from then on.
    expires_at: i64,
    /// Unix seconds: DynamoDB deletes it some time after.
    ttl: i64,
    /// The hash of its successor, set with `used` by the rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_to: Option<String>,
}

/// A password step awaiting its OTP code, stored under its token's hash.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MfaToken {
    user_id: String,
    login_id: String,
    /// Unix seconds: refused from then on.
    expires_at: i64,
    /// Unix seconds: DynamoDB deletes it some time after.
    ttl: i64,
}

fn digest(token: &str) -> String {
    HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

fn family_key(family_id: &str) -> db::Item {
    db::key(format!("FAMILY#{family_id}"), "FAMILY")
}

fn refresh_key(token: &str) -> db::Item {
    db::key(format!("REFRESH#{}", digest(token)), "REFRESH")
}

fn mfa_key(token: &str) -> db::Item {
    db::key(format!("MFA#{}", digest(token)), "MFA")
}

/// Issues an access token and a new refresh-token family.
pub async fn issue(
    app: &App,
    account: &Account,
    amr: &[&str],
    auth_time: i64,
) -> Result<TokenResponse, LoginError> {
    let now = shared::time::now_secs();
    let family_id = shared::random::uuid();
    let refresh = shared::random::token::<32>();
    let family = db::keyed_item(
        family_key(&family_id),
        &Family {
            user_id: account.user_id.clone(),
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            auth_time,
            revoked: false,
            ttl: now + REFRESH_TTL + 3600,
        },
    )?;
    let put = |item| {
        Put::builder()
            .table_name(&app.table)
            .set_item(Some(item))
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(StoreError::build)
    };
    app.db
        .transact_write_items()
        .transact_items(put(family)?)
        .transact_items(put(refresh_item(
            &refresh,
            &family_id,
            &account.user_id,
            now,
        )?)?)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(token_response(app, account, amr, auth_time, refresh))
}

fn refresh_item(
    token: &str,
    family_id: &str,
    user_id: &str,
    now: i64,
) -> Result<db::Item, StoreError> {
    db::keyed_item(
        refresh_key(token),
        &RefreshToken {
            family_id: family_id.to_owned(),
            user_id: user_id.to_owned(),
            used: false,
            expires_at: now + REFRESH_TTL,
            ttl: now + REFRESH_TTL + 3600,
            rotated_to: None,
        },
    )
}

fn token_response(
    app: &App,
    account: &Account,
    amr: &[&str],
    auth_time: i64,
    refresh: String,
) -> TokenResponse {
    let now = shared::time::now_secs();
    let claims = Claims {
        iss: app.issuer.clone(),
        aud: shared::auth::AUDIENCE.to_owned(),
        sub: account.user_id.clone(),
        role: account.role,
        scope: (account.role == shared::auth::Role::Official).then(|| account.scopes.join(" ")),
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        auth_time,
        iat: now,
        exp: now + ACCESS_TOKEN_TTL,
        jti: shared::random::uuid(),
        agency: (account.role == shared::auth::Role::Official)
            .then(|| account.agency.clone())
            .flatten(),
    };
    TokenResponse {
        access_token: app.keys.signer.sign(&claims),
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL,
        refresh_token: refresh,
        user_id: account.user_id.clone(),
        role: account.role.as_str(),
        amr: claims.amr,
    }
}

/// Checks a loginId and password, with lockout and equal timing for unknown ids.
pub async fn password_login(
    app: &App,
    login_id: &str,
    password: &str,
) -> Result<PasswordOutcome, LoginError> {
    let attempt = throttle::reserve(app, login_id).await?;
    let (user_id, correct) = match accounts::credential(app, login_id).await? {
        Some(c) if password.chars().count() <= *crate::inputs::PASSWORD_CHARS.end() => {
            let correct = app.hasher.verify(password, &c.password_hash);
            (Some(c.user_id), correct)
        }
        other => {
            app.hasher.verify_dummy(password);
            (other.map(|c| c.user_id), false)
        }
    };
    let account = match (&user_id, correct) {
        (Some(id), true) => accounts::load(app, id).await?,
        _ => None,
    };
    let Some(account) = account else {
        record_failure(app, login_id, attempt, user_id.as_deref()).await?;
        return Err(LoginError::InvalidCredentials);
    };
    if account.otp_secret.is_some() {
        throttle::refund(app, login_id).await?;
        let token = shared::random::token::<32>();
        let now = shared::time::now_secs();
        let item = db::keyed_item(
            mfa_key(&token),
            &MfaToken {
                user_id: account.user_id.clone(),
                login_id: account.login_id.clone(),
                expires_at: now + MFA_TTL,
                ttl: now + MFA_TTL + 3600,
            },
        )?;
        app.db
            .put_item()
            .table_name(&app.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        return Ok(PasswordOutcome::Mfa(MfaRequired {
            mfa_required: true,
            mfa_token: token,
            methods: vec!["otp"],
        }));
    }
    signed_in_with_password(app, &account).await?;
    Ok(PasswordOutcome::Tokens(
        issue(app, &account, &["pwd"], shared::time::now_secs()).await?,
    ))
}

async fn record_failure(
    app: &App,
    login_id: &str,
    attempt: i64,
    user_id: Option<&str>,
) -> Result<(), LoginError> {
    throttle::failed(app, login_id, attempt, user_id).await?;
    Ok(())
}

/// A completed password sign-in resets the failure count and re-enables pattern
/// login on the user's devices.
async fn signed_in_with_password(app: &App, account: &Account) -> Result<(), LoginError> {
    throttle::clear(app, &account.login_id).await?;
    devices::reset_pattern_locks(app, &account.user_id).await?;
    Ok(())
}

/// The second factor: an MFA token from the password step and a TOTP code.
pub async fn otp_login(
    app: &App,
    mfa_token: &str,
    code: &str,
) -> Result<TokenResponse, LoginError> {
    let now = shared::time::now_secs();
    let token_key = mfa_key(mfa_token);
    let mfa: MfaToken = db::get(app, token_key.clone())
        .await?
        .filter(|m: &MfaToken| m.expires_at > now)
        .ok_or(LoginError::InvalidMfaToken)?;
    let user_id = mfa.user_id;
    let account = accounts::load(app, &user_id)
        .await?
        .ok_or(LoginError::InvalidMfaToken)?;
    let secret = account
        .otp_secret
        .clone()
        .ok_or(LoginError::InvalidMfaToken)?;
    let attempt = throttle::reserve(app, &account.login_id).await?;
    let Some(step) = totp::matching_step(&secret, code, now) else {
        record_failure(app, &account.login_id, attempt, Some(&account.user_id)).await?;
        return Err(LoginError::InvalidOtp);
    };
    // Consume the MFA token and the code's time step together: each works once.
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(&app.table)
        .set_key(Some(token_key))
        .condition_expression("attribute_exists(pk)")
        .build()
        .map_err(StoreError::build)?;
    let update = Update::builder()
        .table_name(&app.table)
        .set_key(Some(accounts::profile_key(&user_id)))
        .update_expression("SET otpLastStep = :step")
        .condition_expression("attribute_not_exists(otpLastStep) OR otpLastStep < :step")
        .expression_attribute_values(":step", n(step))
        .build()
        .map_err(StoreError::build)?;
    let result = app
        .db
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().delete(delete).build())
        .transact_items(TransactWriteItem::builder().update(update).build())
        .send()
        .await;
    if let Err(e) = result {
        let codes = db::cancellation_codes(&e).ok_or_else(|| StoreError::from_sdk(e))?;
        if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") {
            throttle::refund(app, &account.login_id).await?;
            return Err(LoginError::InvalidMfaToken);
        }
        record_failure(app, &account.login_id, attempt, Some(&account.user_id)).await?;
        return Err(LoginError::OtpReplayed);
    }
    signed_in_with_password(app, &account).await?;
    issue(app, &account, &["pwd", "otp"], now).await
}

/// Starts TOTP enrolment: a new secret, active once confirmed. Replacing an
/// active OTP needs a strong, recent sign-in, so a stolen password-only session
/// cannot swap the second factor.
pub async fn start_otp(app: &App, principal: &Principal) -> Result<(String, String), LoginError> {
    let account = accounts::load(app, &principal.user_id)
        .await?
        .ok_or(LoginError::NotFound)?;
    if account.otp_secret.is_some() && principal.require_strong(shared::time::now_secs()).is_err() {
        return Err(LoginError::StepUpRequired);
    }
    let secret = totp::new_secret();
    app.db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(accounts::profile_key(&account.user_id)))
        .update_expression("SET otpPending = :secret")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":secret", s(&secret))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let uri = totp::otpauth_uri(&secret, &account.login_id);
    Ok((secret, uri))
}

/// Confirms enrolment with a code from the new secret; OTP is then required.
pub async fn confirm_otp(app: &App, principal: &Principal, code: &str) -> Result<(), LoginError> {
    let account = accounts::load(app, &principal.user_id)
        .await?
        .ok_or(LoginError::NotFound)?;
    let pending = account.otp_pending.ok_or(LoginError::OtpNotStarted)?;
    let step = totp::matching_step(&pending, code, shared::time::now_secs())
        .ok_or(LoginError::InvalidOtp)?;
    let result = app
        .db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(accounts::profile_key(&account.user_id)))
        .update_expression("SET otpSecret = :secret, otpLastStep = :step REMOVE otpPending")
        .condition_expression("otpPending = :secret")
        .expression_attribute_values(":secret", s(&pending))
        .expression_attribute_values(":step", n(step))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::is_condition_failed(&e) => Err(LoginError::OtpNotStarted),
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

/// Rotates a refresh token. Presenting a used one revokes its whole sign-in.
pub async fn refresh(app: &App, token: &str) -> Result<TokenResponse, LoginError> {
    let key = refresh_key(token);
    for _ in 0..3 {
        let now = shared::time::now_secs();
        let current: RefreshToken = db::get(app, key.clone())
            .await?
            .filter(|t: &RefreshToken| t.expires_at > now)
            .ok_or(LoginError::InvalidRefreshToken)?;
        let family_id = current.family_id;
        if current.used {
            return Err(reuse(app, &family_id, &current.user_id).await);
        }
        let family: Family = db::get(app, family_key(&family_id))
            .await?
            .filter(|f: &Family| !f.revoked)
            .ok_or(LoginError::InvalidRefreshToken)?;
        let user_id = family.user_id;
        // The profile is read again so that changed scopes take effect.
        let account = accounts::load(app, &user_id)
            .await?
            .ok_or(LoginError::InvalidRefreshToken)?;
        let amr = family.amr;
        let auth_time = family.auth_time;
        let next = shared::random::token::<32>();
        // Names this rotation on the used token: when the transaction's answer
        // is lost and the SDK's retry finds the token used, it was used by us.
        let rotation = digest(&next);
        let mark_used = Update::builder()
            .table_name(&app.table)
            .set_key(Some(key.clone()))
            .update_expression("SET used = :true, rotatedTo = :rotation")
            .condition_expression("attribute_exists(pk) AND used = :false")
            .expression_attribute_values(":true", b(true))
            .expression_attribute_values(":false", b(false))
            .expression_attribute_values(":rotation", s(&rotation))
            .build()
            .map_err(StoreError::build)?;
        let keep_family = Update::builder()
            .table_name(&app.table)
            .set_key(Some(family_key(&family_id)))
            .update_expression("SET #ttl = :ttl")
            .condition_expression("revoked = :false")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":ttl", n(now + REFRESH_TTL + 3600))
            .expression_attribute_values(":false", b(false))
            .build()
            .map_err(StoreError::build)?;
        let successor = Put::builder()
            .table_name(&app.table)
            .set_item(Some(refresh_item(&next, &family_id, &user_id, now)?))
            .build()
            .map_err(StoreError::build)?;
        let result = app
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark_used).build())
            .transact_items(TransactWriteItem::builder().update(keep_family).build())
            .transact_items(TransactWriteItem::builder().put(successor).build())
            .send()
            .await;
        let codes = match result {
            Ok(_) => {
                let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
                return Ok(token_response(app, &account, &amr, auth_time, next));
            }
            Err(e) => db::cancellation_codes(&e).ok_or_else(|| StoreError::from_sdk(e))?,
        };
        match (
            codes.first().map(String::as_str),
            codes.get(1).map(String::as_str),
        ) {
            // Used already: by this very rotation (a retried transaction whose
            // first answer was lost), or by someone else first: a reuse.
            (Some("ConditionalCheckFailed"), _) => {
                let ours = db::get::<RefreshToken>(app, key.clone())
                    .await?
                    .is_some_and(|t| t.rotated_to.as_deref() == Some(rotation.as_str()));
                if ours {
                    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
                    return Ok(token_response(app, &account, &amr, auth_time, next));
                }
                return Err(reuse(app, &family_id, &user_id).await);
            }
            (_, Some("ConditionalCheckFailed")) => return Err(LoginError::InvalidRefreshToken),
            // A conflicting transaction on the same items: look again.
            _ => continue,
        }
    }
    Err(LoginError::InvalidRefreshToken)
}

/// Revokes the family after a reuse and tells the user, once: the revocation and
/// its `auth.refresh_reused` notice are one transaction, conditioned on the
/// family not being revoked yet.
async fn reuse(app: &App, family_id: &str, user_id: &str) -> LoginError {
    match revoke_for_reuse(app, family_id, user_id).await {
        Ok(()) => {
            tracing::warn!(family_id, "refresh token reused; sign-in revoked");
            LoginError::RefreshReused
        }
        Err(e) => e,
    }
}

async fn revoke_for_reuse(app: &App, family_id: &str, user_id: &str) -> Result<(), LoginError> {
    let notice = RefreshReused {
        family_id: family_id.to_owned(),
    };
    for _ in 0..3 {
        let revoke = Update::builder()
            .table_name(&app.table)
            .set_key(Some(family_key(family_id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk) AND revoked = :false")
            .expression_attribute_values(":true", b(true))
            .expression_attribute_values(":false", b(false))
            .build()
            .map_err(StoreError::build)?;
        let event = DomainEvent::new(user_id, &notice).map_err(StoreError::build)?;
        let result = app
            .db
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(revoke).build())
            .transact_items(event.outbox_put(&app.table).map_err(StoreError::build)?)
            .send()
            .await;
        let codes = match result {
            Ok(_) => return Ok(()),
            Err(e) => db::cancellation_codes(&e).ok_or_else(|| StoreError::from_sdk(e))?,
        };
        // Already revoked (or gone): the user was told the first time. Another
        // transaction on the family at this moment (a rotation): try again, the
        // sign-in must end.
        if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") {
            return Err(LoginError::RefreshReused);
        }
    }
    Err(StoreError("the sign-in could not be revoked after three attempts".into()).into())
}

/// Ends the sign-in of `token` (unknown tokens are ignored: logout is idempotent).
pub async fn logout(app: &App, token: &str) -> Result<(), LoginError> {
    let Some(current) = db::get::<RefreshToken>(app, refresh_key(token)).await? else {
        return Ok(());
    };
    app.db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(family_key(&current.family_id)))
        .update_expression("SET revoked = :true")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":true", b(true))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            if db::is_condition_failed(&e) {
                Ok(())
            } else {
                Err(StoreError::from_sdk(e).into())
            }
        })
}
