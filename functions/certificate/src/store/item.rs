//! How the certificate function's items map to Rust values: serde_dynamo,
//! each item's body written beside its `pk`/`sk` and its `ttl` ([`to_item`]),
//! and read back ignoring the attributes the type does not name
//! ([`from_item`], [`from_items`]). An item that does not map is a
//! [`StoreError::Data`] (answered 500, the details only in the log), never a
//! panic.

use aws_sdk_dynamodb::error::SdkError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::dynamo::Item;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The service failed.
    #[error("dynamodb: {0}")]
    Sdk(String),
    /// An item is not what this code writes.
    #[error("unexpected item: {0}")]
    Data(String),
}

impl StoreError {
    /// From an SDK error, with its context.
    pub fn from_sdk<E, R>(e: SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StoreError::Sdk(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }

    /// From a serde_dynamo error: an item that does not map.
    pub fn item(e: serde_dynamo::Error) -> Self {
        StoreError::Data(shared::dynamo::item_error(&e))
    }
}

/// The shared plumbing (`query_partition`, `put_all`) fails on the service.
impl From<shared::dynamo::StoreError> for StoreError {
    fn from(e: shared::dynamo::StoreError) -> Self {
        StoreError::Sdk(e.0)
    }
}

/// An item as written: its key, what it holds beside the key, and when
/// DynamoDB may delete it.
#[derive(Serialize)]
struct Stored<'a, T> {
    pk: String,
    sk: String,
    #[serde(flatten)]
    body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

/// `body` as the item at `pk`/`sk`, with a `ttl` (Unix seconds) when given.
pub fn to_item<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    body: &T,
    ttl: Option<i64>,
) -> Result<Item, StoreError> {
    let stored = Stored {
        pk: pk.into(),
        sk: sk.into(),
        body,
        ttl,
    };
    serde_dynamo::to_item(stored).map_err(StoreError::item)
}

/// An item as `T` (its key and other attributes `T` does not name are ignored).
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::item)
}

/// Items as `T`s.
pub fn from_items<T: DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    serde_dynamo::from_items(items).map_err(StoreError::item)
}

/// [`Kind`](crate::documents::Kind) stored by its API name (`type`).
pub(super) mod kind_code {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::documents::Kind;

    pub fn serialize<S: Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let code = String::deserialize(d)?;
        Kind::parse(&code).ok_or_else(|| D::Error::custom(format!("type `{code}`")))
    }
}

/// Times stored as [`chrono::DateTime::to_rfc3339`] writes them (not as
/// chrono's serde does): the list entries' sort keys hold the same text, so the
/// two must not differ by a digit.
pub(super) mod rfc3339 {
    use chrono::{DateTime, FixedOffset};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text).map_err(D::Error::custom)
    }
}
