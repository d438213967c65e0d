//! Small helpers over DynamoDB items of the login table (`pk`, `sk`, `ttl`).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;

/// One item.
pub type Item = HashMap<String, AttributeValue>;

/// A storage failure (answered as 500; details only in the log).
#[derive(Debug, thiserror::Error)]
#[error("dynamodb: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// From any SDK error, with its full context for the log.
    pub fn from_sdk<E, R>(e: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self(DisplayErrorContext(e).to_string())
    }

    /// From a request-builder error.
    pub fn build(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// The item at `key` (a strongly consistent read: what was just written is seen).
pub async fn get(app: &crate::App, key: Item) -> Result<Option<Item>, StoreError> {
    let out = app
        .db
        .get_item()
        .table_name(&app.table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out.item)
}

/// The item at `key` if its `expiresAt` (Unix seconds) is after `now`.
pub async fn get_live(app: &crate::App, key: Item, now: i64) -> Result<Option<Item>, StoreError> {
    Ok(get(app, key)
        .await?
        .filter(|i| num(i, "expiresAt").is_some_and(|e| e > now)))
}

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The key of an item.
pub fn key(pk: impl Into<String>, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// A string attribute of `item`.
pub fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A number attribute of `item`.
pub fn num(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// A boolean attribute of `item` (absent = false).
pub fn flag(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

/// A string-list attribute of `item`.
pub fn list(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

/// A string-list attribute.
pub fn str_list<S: AsRef<str>>(values: &[S]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_ref())).collect())
}

/// Why each part of a cancelled transaction failed (`ConditionalCheckFailed`,
/// `TransactionConflict`, `None`), or `None` if the error is something else.
pub fn cancellation_codes<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a conditional single-item write failed on its condition.
pub fn is_condition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
