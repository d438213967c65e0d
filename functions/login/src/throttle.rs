//! Lockout of a loginId after 5 consecutive failed sign-ins (passwords and OTP
//! codes alike) for 15 minutes.
//!
//! Each attempt first *reserves* a slot with a conditional increment, and only
//! then is the secret checked; so even many parallel guesses get at most five
//! checks before the lock, with no read-modify-write race. Unknown loginIds are
//! counted the same way, so a lock never reveals whether an account exists.
//!
//! Item: `THROTTLE#<loginId>/THROTTLE`, only ever written by update
//! expressions and read back as a `Throttle` (serde_dynamo).

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use serde::Deserialize;
use shared::events::DomainEvent;
use shared::events::payloads::AccountLocked;

use crate::App;
use crate::db::{self, StoreError, n, s};
use crate::error::LoginError;

/// Failures that lock a loginId.
pub const MAX_FAILURES: i64 = 5;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 15 * 60;
/// A reservation older than this no longer blocks (its request died).
const STALE_SECS: i64 = 60;

/// What is read of a loginId's throttle. Every attribute may be absent: the
/// lock's update creates the item when a sign-in cleared it in between, and a
/// refused reservation may find no item at all.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Throttle {
    /// Reserved attempts since the last clear or lock.
    failures: Option<i64>,
    /// The token of the last reservation.
    reservation: Option<String>,
    /// Unix seconds: locked until then.
    locked_until: Option<i64>,
}

fn key(login_id: &str) -> db::Item {
    db::key(format!("THROTTLE#{login_id}"), "THROTTLE")
}

/// Reserves one attempt for `login_id`: its number (1-5), or `Locked`.
pub async fn reserve(app: &App, login_id: &str) -> Result<i64, LoginError> {
    let now = shared::time::now_secs();
    // Names this reservation: when the answer to the increment is lost and the
    // SDK's retry is refused, the item tells whether the slot is already ours.
    let reservation = shared::random::token::<12>();
    let result = app
        .db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(key(login_id)))
        .update_expression(
            "SET failures = if_not_exists(failures, :zero) + :one, touchedAt = :now, #ttl = :ttl, reservation = :reservation",
        )
        .condition_expression(
            "(attribute_not_exists(lockedUntil) OR lockedUntil <= :now) \
             AND (attribute_not_exists(failures) OR failures < :max OR touchedAt < :stale) \
             AND (attribute_not_exists(reservation) OR reservation <> :reservation)",
        )
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":max", n(MAX_FAILURES))
        .expression_attribute_values(":stale", n(now - STALE_SECS))
        .expression_attribute_values(":ttl", n(now + 2 * LOCK_SECS))
        .expression_attribute_values(":reservation", s(&reservation))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => {
            let item: Option<Throttle> = out.attributes.map(db::from_item).transpose()?;
            Ok(item.and_then(|t| t.failures).unwrap_or(1))
        }
        Err(e) if db::is_condition_failed(&e) => {
            let item: Throttle = db::get(app, key(login_id)).await?.unwrap_or_default();
            if item.reservation.as_deref() == Some(reservation.as_str()) {
                return Ok(item.failures.unwrap_or(1));
            }
            // Either locked, or five attempts are being checked right now.
            let retry_after = item.locked_until.map_or(1, |until| until - now);
            Err(LoginError::Locked {
                retry_after: retry_after.max(1),
            })
        }
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

/// Records that attempt number `attempt` failed; locks the loginId when it was
/// the fifth, and then, for a loginId that belongs to `user_id`, writes the
/// `auth.locked` notice in the same transaction as the lock. Returns the lock's
/// end when this failure locked it.
pub async fn failed(
    app: &App,
    login_id: &str,
    attempt: i64,
    user_id: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    if attempt < MAX_FAILURES {
        return Ok(None);
    }
    let now = shared::time::now_secs();
    let until = now + LOCK_SECS;
    let lock = Update::builder()
        .table_name(&app.table)
        .set_key(Some(key(login_id)))
        .update_expression("SET lockedUntil = :until, failures = :zero, #ttl = :ttl")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":until", n(until))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":ttl", n(until + LOCK_SECS))
        .build()
        .map_err(StoreError::build)?;
    let mut write = app
        .db
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(lock).build());
    if let Some(user_id) = user_id {
        let locked = AccountLocked {
            locked_until: shared::time::rfc3339(until),
        };
        let event = DomainEvent::at(user_id, &locked, now).map_err(StoreError::build)?;
        write = write.transact_items(event.outbox_put(&app.table).map_err(StoreError::build)?);
    }
    write.send().await.map_err(StoreError::from_sdk)?;
    Ok(Some(until))
}

/// Gives back a reserved attempt that turned out right for the first factor
/// while the second is still to come (it must not reset the count: otherwise a
/// thief with the password could guess OTP codes forever).
pub async fn refund(app: &App, login_id: &str) -> Result<(), StoreError> {
    app.db
        .update_item()
        .table_name(&app.table)
        .set_key(Some(key(login_id)))
        .update_expression("SET failures = failures - :one")
        .condition_expression("failures > :zero")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await
        .map(|_| ())
        .or_else(|e| {
            if db::is_condition_failed(&e) {
                Ok(())
            } else {
                Err(StoreError::from_sdk(e))
            }
        })
}

/// A completed sign-in resets the count.
pub async fn clear(app: &App, login_id: &str) -> Result<(), StoreError> {
    app.db
        .delete_item()
        .table_name(&app.table)
        .set_key(Some(key(login_id)))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}
