//! DynamoDB plumbing the functions' stores share: one error type, the
//! reading of conditional failures and cancelled transactions, serde_dynamo
//! items, and `BatchGetItem`/`BatchWriteItem` with their unprocessed keys
//! retried.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Keys per `BatchGetItem` (DynamoDB's limit).
pub const BATCH_GET_LIMIT: usize = 100;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("dynamodb: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// From an SDK error, with its context (never an item's values: the SDK's
    /// errors quote none).
    pub fn sdk<E, R>(e: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self(DisplayErrorContext(e).to_string())
    }

    /// From a serde_dynamo error, with the values it quotes left out
    /// ([`item_error`]).
    pub fn item(e: serde_dynamo::Error) -> Self {
        Self(item_error(&e))
    }
}

/// What a serde_dynamo error says, fit for the log: field names are kept
/// (``missing field `phone` ``), every value serde quotes is replaced by `…`
/// (`invalid type: string "…", expected i64`), since an item that does not
/// map may hold a phone number, a name or a token in the attribute at fault.
pub fn item_error(e: &serde_dynamo::Error) -> String {
    let message = e.to_string();
    let mut out = String::with_capacity(message.len() + 6);
    let mut rest = message.as_str();
    while let Some(open) = rest.find(['"', '`']) {
        let quote = &rest[open..=open];
        let Some(len) = rest[open + 1..].find(quote) else {
            break;
        };
        let (before, quoted) = (&rest[..open], &rest[open + 1..open + 1 + len]);
        out.push_str(before);
        out.push_str(quote);
        out.push_str(if before.ends_with("field ") {
            quoted
        } else {
            "…"
        });
        out.push_str(quote);
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    format!("item: {out}")
}

/// `value` as an item.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(StoreError::item)
}

/// An item as `T`.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::item)
}

/// One page of a Query: its items as `T`, and the `position` attribute of
/// the last evaluated key when more follow (what the next page starts after).
pub fn page<T: DeserializeOwned>(
    items: Option<Vec<Item>>,
    last_evaluated_key: Option<Item>,
    position: &str,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let items = items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let next =
        last_evaluated_key.and_then(|k| k.get(position).and_then(|v| v.as_s().ok()).cloned());
    Ok((items, next))
}

/// One page of an index whose range key is `<position>#<id>` and whose items
/// live at `{pk: <prefix><id>, sk: <sk>}`: the items with `hash` = `value`,
/// in range order (`ascending`) or reversed, resuming after `after` (a range
/// value a previous page ended on; the table key follows from its id).
#[derive(Debug, Clone, Copy)]
pub struct IndexPage<'a> {
    /// The index.
    pub index: &'a str,
    /// Its hash attribute.
    pub hash: &'a str,
    /// The hash value.
    pub value: &'a str,
    /// Its range attribute (`<position>#<id>`).
    pub range: &'a str,
    /// The items' `pk` before the id (`REPORT#`).
    pub pk_prefix: &'a str,
    /// The items' `sk`.
    pub sk: &'a str,
    /// Range order or reversed.
    pub ascending: bool,
}

impl IndexPage<'_> {
    /// Reads one page of at most `limit` items.
    pub async fn read<T: DeserializeOwned>(
        &self,
        db: &Client,
        table: &str,
        limit: i32,
        after: Option<String>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let mut query = db
            .query()
            .table_name(table)
            .index_name(self.index)
            .key_condition_expression("#h = :h")
            .expression_attribute_names("#h", self.hash)
            .expression_attribute_values(":h", s(self.value))
            .scan_index_forward(self.ascending)
            .limit(limit);
        if let Some(after) = after {
            let id = after.rsplit('#').next().unwrap_or_default().to_owned();
            query = query
                .exclusive_start_key("pk", s(format!("{}{id}", self.pk_prefix)))
                .exclusive_start_key("sk", s(self.sk))
                .exclusive_start_key(self.hash, s(self.value))
                .exclusive_start_key(self.range, s(after));
        }
        let out = query.send().await.map_err(StoreError::sdk)?;
        page(out.items, out.last_evaluated_key, self.range)
    }
}

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key `{pk, sk}`.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Whether a single-item write failed on its condition.
pub fn is_condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// Why a transaction was cancelled, item by item (`ConditionalCheckFailed`,
/// `TransactionConflict`, `None`, ...), or `None` when it failed otherwise.
pub fn cancellation_reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(ex)) => {
            let reasons: Vec<String> = ex
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect();
            if reasons.is_empty() {
                // Some emulators leave the list out: read the message instead.
                let message = ex.message().unwrap_or_default();
                Some(vec![if message.contains("ConditionalCheckFailed") {
                    "ConditionalCheckFailed".to_owned()
                } else {
                    "TransactionConflict".to_owned()
                }])
            } else {
                Some(reasons)
            }
        }
        _ => None,
    }
}

/// The item at `key` as `T`, strongly consistent, or `None`.
pub async fn get<T: DeserializeOwned>(
    db: &Client,
    table: &str,
    key: Item,
) -> Result<Option<T>, StoreError> {
    let out = db
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::sdk)?;
    out.item.map(from_item).transpose()
}

/// Every item of the partition `pk` (keys `pk`/`sk`), strongly consistent,
/// page after page: for partitions known to be small (one taxpayer's ledger).
pub async fn query_partition(db: &Client, table: &str, pk: &str) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = db
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// Writes `items` with BatchWriteItem (25 at a time), retrying unprocessed
/// items with a short back-off; for imports and seeds, not for requests (no
/// condition, no transaction).
pub async fn put_all(db: &Client, table: &str, items: &[Item]) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    for chunk in items.chunks(25) {
        let mut requests = chunk
            .iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StoreError(format!("batch write request: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut round = 0u32;
        while !requests.is_empty() {
            let out = db
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            requests = out
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            if !requests.is_empty() {
                round += 1;
                if round > 8 {
                    return Err(StoreError("the table kept throttling the writes".into()));
                }
                tokio::time::sleep(Duration::from_millis(20 << round.min(5))).await;
            }
        }
    }
    Ok(())
}

/// Reads `keys` of `table` (any number; 100 per call, unprocessed keys asked
/// again with a short back-off), projecting `projection` when given. Items come
/// back in no particular order; missing ones are simply absent.
pub async fn batch_get(
    db: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: Option<&str>,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET_LIMIT) {
        let mut pending = chunk.to_vec();
        let mut round = 0u32;
        while !pending.is_empty() {
            let mut request = KeysAndAttributes::builder().set_keys(Some(pending));
            if let Some(p) = projection {
                request = request.projection_expression(p);
            }
            let request = request
                .build()
                .map_err(|e| StoreError(format!("batch get request: {e}")))?;
            let out = db
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                round += 1;
                if round > 8 {
                    return Err(StoreError("batch get: keys left unprocessed".into()));
                }
                tokio::time::sleep(Duration::from_millis(20 << round.min(5))).await;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Role {
        Citizen,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Profile {
        phone: String,
        role: Role,
    }

    #[test]
    fn a_malformed_item_is_described_by_its_fields_never_its_values() {
        // GIVEN items with an attribute missing, or holding what its type refuses
        let missing = Item::from([("role".to_owned(), AttributeValue::S("citizen".into()))]);
        let wrong = Item::from([
            (
                "phone".to_owned(),
                AttributeValue::S("+821012345678".into()),
            ),
            ("role".to_owned(), AttributeValue::S("+821099998888".into())),
        ]);
        // WHEN they are read
        let missing = from_item::<Profile>(missing).unwrap_err().0;
        let wrong = from_item::<Profile>(wrong).unwrap_err().0;
        // THEN the error names the field and what was expected, never the value
        assert!(missing.contains("missing field `phone`"), "{missing}");
        assert!(wrong.contains("unknown variant `…`"), "{wrong}");
        assert!(
            wrong.contains("`citizen`") || wrong.contains("`…`"),
            "{wrong}"
        );
        assert!(
            !wrong.contains("8210") && !wrong.contains("9999"),
            "{wrong}"
        );
    }
}
