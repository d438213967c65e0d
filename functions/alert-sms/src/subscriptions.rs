//! Citizens' alert subscriptions, stored so that the recipients of an alert are
//! read region by region from an index, never by a Scan.
//!
//! A subscription is one item `SUB#<userId>` / `SUB` (what the citizen chose,
//! with a version) and one item per region `SUB#<userId>` / `REGION#<code>`
//! carrying the index attributes `subRegion` and `userId` and a copy of the
//! citizen's regions and categories. The `ByRegion` index (hash `subRegion`,
//! range `userId`) projects those copies, so the delivery can skip, while
//! reading region R, a citizen it will meet again under an earlier region of
//! the alert, and a citizen who opted out of the category, without reading
//! anything else. Every change rewrites all of a citizen's items in one
//! transaction conditioned on the version read, so the copies never disagree.
//!
//! No phone number is stored here: the delivery reads it from the citizen's
//! profile when it texts.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use crate::alerts::{Category, MAX_REGIONS, Region};
use crate::db::{self, StoreError, n, s};

/// The index of subscriptions by region.
pub const BY_REGION_INDEX: &str = "ByRegion";

/// What a citizen chose, as api.md answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "AlertSubscription")]
pub struct Subscription {
    /// 1 to 5 provinces.
    pub regions: Vec<Region>,
    /// Always contains `emergency`.
    pub categories: Vec<Category>,
}

impl Subscription {
    /// A subscription to `regions` for `categories` (all three when `None`);
    /// `emergency` is added whatever was chosen, in api.md's order.
    pub fn new(regions: Vec<Region>, categories: Option<&[Category]>) -> Self {
        let chosen = categories.unwrap_or(&Category::ALL);
        let categories = Category::ALL
            .into_iter()
            .filter(|c| *c == Category::Emergency || chosen.contains(c))
            .collect();
        Self {
            regions,
            categories,
        }
    }
}

/// The body of `PUT /v1/alerts/subscription`. Codes are read as strings and
/// checked one by one, so that each bad one is named (`regions[1]`,
/// `categories[0]`); the schema attributes say what is accepted.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(rename = "AlertSubscriptionBody")]
pub struct SubscriptionBody {
    /// The provinces, each once.
    #[schemars(
        with = "Vec<Region>",
        length(min = 1, max = MAX_REGIONS),
        extend("uniqueItems" = true)
    )]
    pub regions: Vec<String>,
    /// The categories to receive; all three when left out. `emergency` is
    /// always included.
    #[schemars(with = "Option<Vec<Category>>")]
    pub categories: Option<Vec<String>>,
}

/// The stored choice.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    pk: String,
    sk: String,
    user_id: String,
    regions: Vec<Region>,
    categories: Vec<Category>,
    version: u64,
    updated_at: i64,
}

/// One region entry, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionEntry {
    /// `SUB#<userId>`.
    pub pk: String,
    /// `REGION#<code>`.
    pub sk: String,
    /// The region (index hash key).
    pub sub_region: Region,
    /// The citizen (index range key).
    pub user_id: String,
    /// All the citizen's regions.
    pub regions: Vec<Region>,
    /// The citizen's categories.
    pub categories: Vec<Category>,
}

fn pk(user_id: &str) -> String {
    format!("SUB#{user_id}")
}

/// The subscriptions of one table.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    db: Client,
    table: String,
}

impl Subscriptions {
    /// Subscriptions in `table`.
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    async fn head(&self, user_id: &str) -> Result<Option<Head>, StoreError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(db::key(pk(user_id), "SUB")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        out.item.map(db::from_item).transpose()
    }

    /// The citizen's subscription, if any.
    pub async fn get(&self, user_id: &str) -> Result<Option<Subscription>, StoreError> {
        Ok(self.head(user_id).await?.map(|h| Subscription {
            regions: h.regions,
            categories: h.categories,
        }))
    }

    /// Replaces the citizen's subscription. Concurrent changes by the same
    /// citizen are applied one after the other (the last one wins whole).
    pub async fn put(&self, user_id: &str, sub: &Subscription, now: i64) -> Result<(), StoreError> {
        self.change(user_id, Some(sub), now).await.map(|_| ())
    }

    /// Removes the citizen's subscription; whether there was one.
    pub async fn delete(&self, user_id: &str) -> Result<bool, StoreError> {
        self.change(user_id, None, 0).await
    }

    async fn change(
        &self,
        user_id: &str,
        new: Option<&Subscription>,
        now: i64,
    ) -> Result<bool, StoreError> {
        for _ in 0..4 {
            let old = self.head(user_id).await?;
            if old.is_none() && new.is_none() {
                return Ok(false);
            }
            let items = self.items(user_id, old.as_ref(), new, now)?;
            let result = self
                .db
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(old.is_some()),
                Err(e) if db::cancellation_reasons(&e).is_some() => continue,
                Err(e) => return Err(StoreError::sdk(e)),
            }
        }
        Err(StoreError(
            "the subscription kept changing; try again".into(),
        ))
    }

    fn items(
        &self,
        user_id: &str,
        old: Option<&Head>,
        new: Option<&Subscription>,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let t = &self.table;
        let mut items = Vec::new();
        let condition = match old {
            Some(h) => ("version = :version", Some(h.version)),
            None => ("attribute_not_exists(pk)", None),
        };
        let with_condition = |mut put: aws_sdk_dynamodb::types::builders::PutBuilder| {
            put = put.condition_expression(condition.0);
            if let Some(v) = condition.1 {
                put = put.expression_attribute_values(":version", n(v));
            }
            put
        };
        match new {
            Some(sub) => {
                let head = Head {
                    pk: pk(user_id),
                    sk: "SUB".into(),
                    user_id: user_id.to_owned(),
                    regions: sub.regions.clone(),
                    categories: sub.categories.clone(),
                    version: old.map_or(1, |h| h.version + 1),
                    updated_at: now,
                };
                let put = with_condition(
                    Put::builder()
                        .table_name(t)
                        .set_item(Some(db::to_item(&head)?)),
                )
                .build()
                .map_err(|e| StoreError(e.to_string()))?;
                items.push(TransactWriteItem::builder().put(put).build());
                for region in &sub.regions {
                    let entry = RegionEntry {
                        pk: pk(user_id),
                        sk: format!("REGION#{}", region.code()),
                        sub_region: *region,
                        user_id: user_id.to_owned(),
                        regions: sub.regions.clone(),
                        categories: sub.categories.clone(),
                    };
                    let put = Put::builder()
                        .table_name(t)
                        .set_item(Some(db::to_item(&entry)?))
                        .build()
                        .map_err(|e| StoreError(e.to_string()))?;
                    items.push(TransactWriteItem::builder().put(put).build());
                }
            }
            None => {
                let mut delete = Delete::builder()
                    .table_name(t)
                    .set_key(Some(db::key(pk(user_id), "SUB")))
                    .condition_expression(condition.0);
                if let Some(v) = condition.1 {
                    delete = delete.expression_attribute_values(":version", n(v));
                }
                let delete = delete.build().map_err(|e| StoreError(e.to_string()))?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        let keep: &[Region] = new.map_or(&[], |s| &s.regions);
        for region in old.map_or(&[][..], |h| &h.regions) {
            if !keep.contains(region) {
                let delete = Delete::builder()
                    .table_name(t)
                    .set_key(Some(db::key(
                        pk(user_id),
                        format!("REGION#{}", region.code()),
                    )))
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        Ok(items)
    }

    /// One page of the subscribers of `region` from the index, in `userId`
    /// order after `after`: the entries and the last `userId` when more follow.
    pub async fn page(
        &self,
        region: Region,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<RegionEntry>, Option<String>), StoreError> {
        let mut query = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(BY_REGION_INDEX)
            .key_condition_expression("subRegion = :region")
            .expression_attribute_values(":region", s(region.code()))
            .limit(limit);
        if let Some(user_id) = after {
            query = query
                .exclusive_start_key("subRegion", s(region.code()))
                .exclusive_start_key("userId", s(user_id))
                .exclusive_start_key("pk", s(pk(user_id)))
                .exclusive_start_key("sk", s(format!("REGION#{}", region.code())));
        }
        let out = query.send().await.map_err(StoreError::sdk)?;
        db::page(out.items, out.last_evaluated_key, "userId")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_is_always_included_and_all_three_by_default() {
        let seoul = vec![Region::parse("11").unwrap()];
        let all = Subscription::new(seoul.clone(), None);
        assert_eq!(all.categories, Category::ALL);
        let safety = Subscription::new(seoul.clone(), Some(&[Category::Safety]));
        assert_eq!(safety.categories, [Category::Emergency, Category::Safety]);
        let none = Subscription::new(seoul, Some(&[]));
        assert_eq!(none.categories, [Category::Emergency]);
        assert_eq!(
            serde_json::to_value(&none).unwrap(),
            serde_json::json!({"regions": ["11"], "categories": ["emergency"]})
        );
    }
}
