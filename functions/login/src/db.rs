//! DynamoDB plumbing of the login table: its error type, whole items mapped
//! with serde_dynamo (each module's item types are serde structs without their
//! `pk`/`sk`, which [`key`] adds), and the single values of keys, conditions
//! and update expressions.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

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

    /// From a serde_dynamo error: an item that does not have its type's shape.
    pub fn item(e: serde_dynamo::Error) -> Self {
        Self(shared::dynamo::item_error(&e))
    }
}

/// `value` as an item (without its key).
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(StoreError::item)
}

/// `value` as an item at `key`.
pub fn keyed_item<T: Serialize>(key: Item, value: &T) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.extend(key);
    Ok(item)
}

/// An item as `T` (its other attributes, `pk` and `sk` among them, ignored).
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::item)
}

/// The item at `key` as `T` (a strongly consistent read: what was just
/// written is seen).
pub async fn get<T: DeserializeOwned>(
    app: &crate::App,
    key: Item,
) -> Result<Option<T>, StoreError> {
    let out = app
        .db
        .get_item()
        .table_name(&app.table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.item.map(from_item).transpose()
}

/// A string value (of a key or an expression).
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number value (of an expression).
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A boolean value (of an expression).
pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

/// The key of an item.
pub fn key(pk: impl Into<String>, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        user_id: String,
        amr: Vec<String>,
        auth_time: i64,
        revoked: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agency: Option<String>,
    }

    #[test]
    fn items_keep_the_dynamodb_types_and_leave_absent_options_out() {
        let sample = Sample {
            user_id: "u".into(),
            amr: vec!["pwd".into()],
            auth_time: 7,
            revoked: false,
            agency: None,
        };
        let item = keyed_item(key("FAMILY#f", "FAMILY"), &sample).unwrap();
        assert_eq!(item["pk"], s("FAMILY#f"));
        assert_eq!(item["sk"], s("FAMILY"));
        assert_eq!(item["userId"], s("u"));
        assert_eq!(item["amr"], AttributeValue::L(vec![s("pwd")]));
        assert_eq!(item["authTime"], n(7));
        assert_eq!(item["revoked"], b(false));
        assert!(!item.contains_key("agency"));
        assert_eq!(item.len(), 6);
        assert_eq!(from_item::<Sample>(item).unwrap(), sample);
    }

    #[test]
    fn a_malformed_item_is_a_store_error() {
        let mut item = key("FAMILY#f", "FAMILY");
        item.insert("userId".into(), s("u"));
        item.insert("authTime".into(), s("not a number"));
        assert!(from_item::<Sample>(item).is_err());
    }
}
