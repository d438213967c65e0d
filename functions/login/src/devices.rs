//! Device keys (P-256, held in the phone's secure hardware) with single-use
//! challenges, and pattern login bound to a registered device.
//!
//! Items: `USER#<userId>/DEVICE#<deviceId>` (name, public key, pattern hash and
//! failure count) and `DEVICE#<deviceId>/DEVICE` pointing at the user (written
//! together); `CHALLENGE#<challenge>/CHALLENGE` consumed by a conditional delete.
//! All three are mapped with serde_dynamo (`Device`, `Owner`,
//! `Challenge`); `consent` reads the device's `publicKey` to check
//! signatures.

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use shared::events::DomainEvent;
use shared::events::payloads::DeviceRegistered;

use crate::App;
use crate::db::{self, StoreError, n, s};
use crate::error::LoginError;
use crate::inputs::Pattern;
use crate::sessions::{self, TokenResponse};

/// Devices one user may register.
pub const MAX_DEVICES: usize = 10;
/// Challenge lifetime in seconds.
pub const CHALLENGE_TTL: i64 = 120;
/// Wrong patterns that disable pattern login on a device.
pub const MAX_PATTERN_FAILURES: i64 = 5;

/// A device as listed to its owner.
// Fields in alphabetical order of their JSON names: the list was a `json!` map,
// which serde_json writes sorted, and the bytes on the wire stay the same.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// RFC 3339.
    pub created_at: String,
    /// Id.
    pub device_id: String,
    /// Name given at registration.
    pub device_name: String,
    /// RFC 3339, absent if never used to sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// A registered device: `USER#<userId>/DEVICE#<deviceId>`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Device {
    device_id: String,
    device_name: String,
    /// Base64 SPKI DER of the P-256 key.
    public_key: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds; set by sign-ins, absent until the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    /// Argon2id PHC string; set by `set_pattern`, absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pattern_hash: Option<String>,
    /// Wrong patterns since the last good sign-in; absent until the first
    /// pattern attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pattern_failures: Option<i64>,
}

impl Device {
    fn view(self) -> DeviceView {
        DeviceView {
            created_at: shared::time::rfc3339(self.created_at),
            device_id: self.device_id,
            device_name: self.device_name,
            last_used_at: self.last_used_at.map(shared::time::rfc3339),
        }
    }
}

/// Who a device belongs to: `DEVICE#<deviceId>/DEVICE`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    user_id: String,
}

/// A single-use challenge: `CHALLENGE#<challenge>/CHALLENGE`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Challenge {
    device_id: String,
    /// Unix seconds: refused from then on.
    expires_at: i64,
    /// Unix seconds: DynamoDB deletes it some time after (an hour after it
    /// expires, so that expiry never depends on TTL's delay).
    ttl: i64,
}

fn device_key(user_id: &str, device_id: &str) -> db::Item {
    db::key(format!("USER#{user_id}"), &format!("DEVICE#{device_id}"))
}

fn pointer_key(device_id: &str) -> db::Item {
    db::key(format!("DEVICE#{device_id}"), "DEVICE")
}

fn challenge_key(challenge: &str) -> db::Item {
    db::key(format!("CHALLENGE#{challenge}"), "CHALLENGE")
}

/// Registers a device key for `user_id` and sends a security notice.
pub async fn register(
    app: &App,
    user_id: &str,
    name: &str,
    public_key_b64: &str,
) -> Result<String, LoginError> {
    if list(app, user_id).await?.len() >= MAX_DEVICES {
        return Err(LoginError::TooManyDevices);
    }
    let device_id = shared::random::uuid();
    let device = db::keyed_item(
        device_key(user_id, &device_id),
        &Device {
            device_id: device_id.clone(),
            device_name: name.to_owned(),
            public_key: public_key_b64.to_owned(),
            created_at: shared::time::now_secs(),
            last_used_at: None,
            pattern_hash: None,
            pattern_failures: None,
        },
    )?;
    let pointer = db::keyed_item(
        pointer_key(&device_id),
        &Owner {
            user_id: user_id.to_owned(),
        },
    )?;
    let put = |item| {
        Put::builder()
            .table_name(&app.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(StoreError::build)
    };
    // The security notice is written with the device, so it exists exactly when
    // the device does.
    let notice = DeviceRegistered {
        device_id: device_id.clone(),
        device_name: name.to_owned(),
    };
    let event = DomainEvent::new(user_id, &notice).map_err(StoreError::build)?;
    app.db
        .transact_write_items()
        .transact_items(put(device)?)
        .transact_items(put(pointer)?)
        .transact_items(event.outbox_put(&app.table).map_err(StoreError::build)?)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(device_id)
}

async fn devices_of(app: &App, user_id: &str) -> Result<Vec<Device>, StoreError> {
    let out = app
        .db
        .query()
        .table_name(&app.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(format!("USER#{user_id}")))
        .expression_attribute_values(":prefix", s("DEVICE#"))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items
        .unwrap_or_default()
        .into_iter()
        .map(db::from_item)
        .collect()
}

/// The user's devices, oldest first.
pub async fn list(app: &App, user_id: &str) -> Result<Vec<DeviceView>, StoreError> {
    let mut devices = devices_of(app, user_id).await?;
    devices.sort_by_key(|d| d.created_at);
    Ok(devices.into_iter().map(Device::view).collect())
}

/// Removes one of the user's devices (404 if it is not theirs).
pub async fn remove(app: &App, user_id: &str, device_id: &str) -> Result<(), LoginError> {
    let device = Delete::builder()
        .table_name(&app.table)
        .set_key(Some(device_key(user_id, device_id)))
        .condition_expression("attribute_exists(pk)")
        .build()
        .map_err(StoreError::build)?;
    let pointer = Delete::builder()
        .table_name(&app.table)
        .set_key(Some(pointer_key(device_id)))
        .condition_expression("userId = :user")
        .expression_attribute_values(":user", s(user_id))
        .build()
        .map_err(StoreError::build)?;
    let result = app
        .db
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().delete(device).build())
        .transact_items(TransactWriteItem::builder().delete(pointer).build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::cancellation_codes(&e).is_some() => Err(LoginError::NotFound),
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

async fn owner_of(app: &App, device_id: &str) -> Result<Option<String>, StoreError> {
    let owner: Option<Owner> = db::get(app, pointer_key(device_id)).await?;
    Ok(owner.map(|o| o.user_id))
}

async fn load_device(
    app: &App,
    user_id: &str,
    device_id: &str,
) -> Result<Option<Device>, StoreError> {
    db::get(app, device_key(user_id, device_id)).await
}

/// A single-use challenge for a registered device.
pub async fn challenge(app: &App, device_id: &str) -> Result<String, LoginError> {
    if owner_of(app, device_id).await?.is_none() {
        return Err(LoginError::UnknownDevice);
    }
    let challenge = shared::random::token::<32>();
    let now = shared::time::now_secs();
    let item = db::keyed_item(
        challenge_key(&challenge),
        &Challenge {
            device_id: device_id.to_owned(),
            expires_at: now + CHALLENGE_TTL,
            ttl: now + CHALLENGE_TTL + 3600,
        },
    )?;
    app.db
        .put_item()
        .table_name(&app.table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(challenge)
}

/// Signs in with a device key: the challenge is consumed first (so it works
/// once, right or wrong), then the signature over its UTF-8 bytes is checked.
pub async fn device_login(
    app: &App,
    device_id: &str,
    challenge: &str,
    signature_b64: &str,
) -> Result<TokenResponse, LoginError> {
    let now = shared::time::now_secs();
    let consumed = app
        .db
        .delete_item()
        .table_name(&app.table)
        .set_key(Some(challenge_key(challenge)))
        .condition_expression("attribute_exists(pk) AND deviceId = :device")
        .expression_attribute_values(":device", s(device_id))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    let consumed: Option<Challenge> = match consumed {
        Ok(out) => out.attributes.map(db::from_item).transpose()?,
        Err(e) if db::is_condition_failed(&e) => return Err(LoginError::InvalidChallenge),
        Err(e) => return Err(StoreError::from_sdk(e).into()),
    };
    if consumed.is_none_or(|c| c.expires_at <= now) {
        return Err(LoginError::InvalidChallenge);
    }
    let user_id = owner_of(app, device_id)
        .await?
        .ok_or(LoginError::InvalidCredentials)?;
    let device = load_device(app, &user_id, device_id)
        .await?
        .ok_or(LoginError::InvalidCredentials)?;
    let verifies = shared::auth::verify_device_signature(
        &device.public_key,
        challenge.as_bytes(),
        signature_b64,
    );
    if !verifies {
        return Err(LoginError::InvalidCredentials);
    }
    touch(app, &user_id, device_id, false).await?;
    let account = crate::accounts::load(app, &user_id)
        .await?
        .ok_or(LoginError::InvalidCredentials)?;
    sessions::issue(app, &account, &["hwk"], now).await
}

async fn touch(
    app: &App,
    user_id: &str,
    device_id: &str,
    reset_pattern: bool,
) -> Result<(), StoreError> {
    let expression = if reset_pattern {
        "SET lastUsedAt = :now, patternFailures = :zero"
    } else {
        "SET lastUsedAt = :now"
    };
    let mut update = app
        .db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(device_key(user_id, device_id)))
        .update_expression(expression)
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":now", n(shared::time::now_secs()));
    if reset_pattern {
        update = update.expression_attribute_values(":zero", n(0));
    }
    update.send().await.map_err(StoreError::from_sdk)?;
    Ok(())
}

/// Sets (or replaces) the pattern of one of the user's devices.
pub async fn set_pattern(
    app: &App,
    user_id: &str,
    device_id: &str,
    pattern: &Pattern,
) -> Result<(), LoginError> {
    let hash = app.hasher.hash(&pattern.canonical());
    let result = app
        .db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(device_key(user_id, device_id)))
        .update_expression("SET patternHash = :hash, patternFailures = :zero")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":hash", s(hash))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if db::is_condition_failed(&e) => Err(LoginError::NotFound),
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

/// Signs in with a device's pattern. Each attempt reserves a slot first, so the
/// fifth wrong pattern disables pattern login even under parallel guessing.
pub async fn pattern_login(
    app: &App,
    device_id: &str,
    pattern: &Pattern,
) -> Result<TokenResponse, LoginError> {
    let user_id = owner_of(app, device_id)
        .await?
        .ok_or(LoginError::InvalidCredentials)?;
    let reserved = app
        .db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(device_key(&user_id, device_id)))
        .update_expression("SET patternFailures = if_not_exists(patternFailures, :zero) + :one")
        .condition_expression(
            "attribute_exists(patternHash) AND (attribute_not_exists(patternFailures) OR patternFailures < :max)",
        )
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":max", n(MAX_PATTERN_FAILURES))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let device: Option<Device> = match reserved {
        Ok(out) => out.attributes.map(db::from_item).transpose()?,
        Err(e) if db::is_condition_failed(&e) => {
            let device = load_device(app, &user_id, device_id).await?;
            return Err(if device.is_some_and(|d| d.pattern_hash.is_some()) {
                LoginError::PatternLocked
            } else {
                // No pattern set on this device: same answer as a wrong one.
                LoginError::InvalidCredentials
            });
        }
        Err(e) => return Err(StoreError::from_sdk(e).into()),
    };
    let correct = device
        .and_then(|d| d.pattern_hash)
        .is_some_and(|h| app.hasher.verify(&pattern.canonical(), &h));
    if !correct {
        return Err(LoginError::InvalidCredentials);
    }
    touch(app, &user_id, device_id, true).await?;
    let account = crate::accounts::load(app, &user_id)
        .await?
        .ok_or(LoginError::InvalidCredentials)?;
    sessions::issue(app, &account, &["pattern"], shared::time::now_secs()).await
}

/// Re-enables pattern login on every device of the user (after a password login).
pub async fn reset_pattern_locks(app: &App, user_id: &str) -> Result<(), StoreError> {
    for device in devices_of(app, user_id).await? {
        if device.pattern_failures.unwrap_or(0) == 0 {
            continue;
        }
        app.db
            .update_item()
            .table_name(&app.table)
            .set_key(Some(device_key(user_id, &device.device_id)))
            .update_expression("SET patternFailures = :zero")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
    }
    Ok(())
}
