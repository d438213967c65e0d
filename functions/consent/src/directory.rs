//! What consent reads from login's table, and nothing more: a citizen's user
//! id by login id, their role, and the public key of a device they
//! registered. The function's role may read only the `LOGINID#` and `USER#`
//! partitions and only these attributes (template.yaml, `dynamodb:Attributes`),
//! so every read names its projection.

use aws_sdk_dynamodb::Client;
use shared::dynamo::{Item, StoreError, key};

/// Login's table, read-only.
#[derive(Debug, Clone)]
pub struct Directory {
    db: Client,
    table: String,
}

impl Directory {
    /// Login's table `table`.
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    async fn read(&self, key: Item, attributes: &[&str]) -> Result<Option<Item>, StoreError> {
        let mut get = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true);
        let mut projection = Vec::new();
        for (i, a) in attributes.iter().enumerate() {
            get = get.expression_attribute_names(format!("#a{i}"), *a);
            projection.push(format!("#a{i}"));
        }
        let out = get
            .projection_expression(projection.join(", "))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out.item)
    }

    fn text(item: Option<&Item>, name: &str) -> Option<String> {
        item.and_then(|i| i.get(name))
            .and_then(|v| v.as_s().ok())
            .cloned()
    }

    /// The user id of the citizen who signs in as `login_id` (`None` for an
    /// unknown login id or an official).
    pub async fn citizen(&self, login_id: &str) -> Result<Option<String>, StoreError> {
        let pointer = self
            .read(key(format!("LOGINID#{login_id}"), "LOGINID"), &["userId"])
            .await?;
        let Some(user_id) = Self::text(pointer.as_ref(), "userId") else {
            return Ok(None);
        };
        let profile = self
            .read(key(format!("USER#{user_id}"), "PROFILE"), &["role"])
            .await?;
        Ok((Self::text(profile.as_ref(), "role").as_deref() == Some("citizen")).then_some(user_id))
    }

    /// The public key (base64url SubjectPublicKeyInfo DER) of device
    /// `device_id` of `user_id`, if that user registered it.
    pub async fn device_key(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let device = self
            .read(
                key(format!("USER#{user_id}"), format!("DEVICE#{device_id}")),
                &["publicKey"],
            )
            .await?;
        Ok(Self::text(device.as_ref(), "publicKey"))
    }
}
