//! Buckets: S3 buckets with their encryption, public access block and
//! lifecycle rules.

use serde_json::Value;

use super::{Clients, resource_name};
use crate::REGION;
use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::Resource;

/// Creates a bucket with the template's encryption, public access block and
/// expiration rules (what the certificate function's guarantees rest on), so the
/// local bucket is configured as the cloud one is. Bucket policies are not
/// emulated.
pub(super) async fn create_bucket(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
        ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
        PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let name = resource_name(context, r)?;
    let props = context.resolve(&Value::Object(r.properties.clone()))?;
    let at = |path: &str| format!("Resources.{}.Properties.{path}", r.logical_id);
    let built =
        |path: &str, e: aws_sdk_s3::error::BuildError| Error::template(at(path), e.to_string());

    clients
        .s3
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::aws("CreateBucket", &name, e))?;

    if let Some(rules) = props
        .pointer("/BucketEncryption/ServerSideEncryptionConfiguration")
        .and_then(Value::as_array)
    {
        let mut config = ServerSideEncryptionConfiguration::builder();
        for rule in rules {
            let default = rule.get("ServerSideEncryptionByDefault");
            let algorithm = default
                .and_then(|d| d.get("SSEAlgorithm"))
                .and_then(Value::as_str)
                .unwrap_or("AES256");
            let by_default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(algorithm))
                .set_kms_master_key_id(
                    default
                        .and_then(|d| d.get("KMSMasterKeyID"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
                .build()
                .map_err(|e| built("BucketEncryption", e))?;
            config = config.rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .set_bucket_key_enabled(rule.get("BucketKeyEnabled").and_then(Value::as_bool))
                    .build(),
            );
        }
        clients
            .s3
            .put_bucket_encryption()
            .bucket(&name)
            .server_side_encryption_configuration(
                config.build().map_err(|e| built("BucketEncryption", e))?,
            )
            .send()
            .await
            .map_err(|e| Error::aws("PutBucketEncryption", &name, e))?;
    }

    if let Some(block) = props.get("PublicAccessBlockConfiguration") {
        let flag = |key: &str| block.get(key).and_then(Value::as_bool);
        clients
            .s3
            .put_public_access_block()
            .bucket(&name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .set_block_public_acls(flag("BlockPublicAcls"))
                    .set_block_public_policy(flag("BlockPublicPolicy"))
                    .set_ignore_public_acls(flag("IgnorePublicAcls"))
                    .set_restrict_public_buckets(flag("RestrictPublicBuckets"))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| Error::aws("PutPublicAccessBlock", &name, e))?;
    }

    if let Some(rules) = props
        .pointer("/LifecycleConfiguration/Rules")
        .and_then(Value::as_array)
    {
        let mut config = BucketLifecycleConfiguration::builder();
        for (i, rule) in rules.iter().enumerate() {
            let Some(days) = rule.get("ExpirationInDays").and_then(Value::as_i64) else {
                continue;
            };
            let enabled = rule.get("Status").and_then(Value::as_str) == Some("Enabled");
            config = config.rules(
                LifecycleRule::builder()
                    .set_id(rule.get("Id").and_then(Value::as_str).map(str::to_owned))
                    .status(if enabled {
                        ExpirationStatus::Enabled
                    } else {
                        ExpirationStatus::Disabled
                    })
                    .filter(
                        LifecycleRuleFilter::builder()
                            .prefix(rule.get("Prefix").and_then(Value::as_str).unwrap_or(""))
                            .build(),
                    )
                    .expiration(
                        LifecycleExpiration::builder()
                            .days(i32::try_from(days).unwrap_or(i32::MAX))
                            .build(),
                    )
                    .build()
                    .map_err(|e| built(&format!("LifecycleConfiguration.Rules[{i}]"), e))?,
            );
        }
        clients
            .s3
            .put_bucket_lifecycle_configuration()
            .bucket(&name)
            .lifecycle_configuration(
                config
                    .build()
                    .map_err(|e| built("LifecycleConfiguration", e))?,
            )
            .send()
            .await
            .map_err(|e| Error::aws("PutBucketLifecycleConfiguration", &name, e))?;
    }

    Ok(Physical::new(&name)
        .with("Arn", format!("arn:aws:s3:::{name}"))
        .with("DomainName", format!("{name}.s3.amazonaws.com"))
        .with(
            "RegionalDomainName",
            format!("{name}.s3.{REGION}.amazonaws.com"),
        ))
}
