//! The citizen's phone number, read from their profile in login's table.
//!
//! Events never carry phone numbers (they would then sit in queues, dead-letter
//! queues and logs); the number is read at the moment of texting, so a changed
//! number is honoured. The function may read only this (template.yaml grants
//! `GetItem` on `USER#...` partitions and on the attributes `pk`, `sk` and
//! `phone`), so the projections below name nothing else. The delivery of an
//! alert reads the numbers of a whole batch of citizens in one `BatchGetItem`.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use shared::phone::PhoneNumber;

/// The profile could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading the profile failed: {0}")]
pub struct LookupError(String);

/// Profiles in login's table.
#[derive(Debug, Clone)]
pub struct Phones {
    db: Client,
    table: String,
}

impl Phones {
    /// Profiles in `table` (login's).
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    /// The mobile number of `user_id`, `None` when there is no such user or
    /// the profile has no number.
    pub async fn of(&self, user_id: &str) -> Result<Option<PhoneNumber>, LookupError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("USER#{user_id}")))
            .key("sk", AttributeValue::S("PROFILE".into()))
            .projection_expression("phone")
            .send()
            .await
            .map_err(|e| LookupError(DisplayErrorContext(e).to_string()))?;
        Ok(out
            .item
            .and_then(|mut item| item.remove("phone"))
            .and_then(|phone| phone.as_s().ok().cloned())
            .filter(|phone| phone.starts_with('+') && phone.len() > 8)
            .map(PhoneNumber::from_stored))
    }

    /// The mobile numbers of `user_ids` (any number of them, read 100 at a
    /// time), by user id; citizens without a profile or a number are absent.
    pub async fn of_many(
        &self,
        user_ids: &[String],
    ) -> Result<HashMap<String, PhoneNumber>, LookupError> {
        let keys = user_ids
            .iter()
            .map(|id| crate::db::key(format!("USER#{id}"), "PROFILE"))
            .collect();
        let items = crate::db::batch_get(&self.db, &self.table, keys, Some("pk, phone"))
            .await
            .map_err(|e| LookupError(e.to_string()))?;
        Ok(items
            .into_iter()
            .filter_map(|mut item| {
                let user = item
                    .remove("pk")?
                    .as_s()
                    .ok()?
                    .strip_prefix("USER#")?
                    .to_owned();
                let phone = item.remove("phone")?.as_s().ok()?.clone();
                (phone.starts_with('+') && phone.len() > 8)
                    .then(|| (user, PhoneNumber::from_stored(phone)))
            })
            .collect())
    }
}
