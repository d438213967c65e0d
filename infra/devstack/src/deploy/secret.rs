//! Secrets and keys: Secrets Manager secrets (with their `SecretString`, or a
//! fresh value for `GenerateSecretString`) and KMS keys.

use serde::Deserialize;

use super::{Clients, generated, properties, resource_name};
use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::Resource;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretProperties {
    description: Option<String>,
    secret_string: Option<String>,
    generate_secret_string: Option<generated::GenerateSecretString>,
}

/// Creates a secret with the template's `SecretString`, or with a value made
/// for its `GenerateSecretString` (as CloudFormation would, fresh for each
/// stack), or without a value (put later, as the signing keys are).
pub(super) async fn create_secret(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
    let name = resource_name(context, r)?;
    let p: SecretProperties = properties(context, r)?;
    let location = || format!("Resources.{}.Properties", r.logical_id);
    let value = match (p.secret_string, p.generate_secret_string) {
        (Some(_), Some(_)) => {
            return Err(Error::template(
                location(),
                "has both SecretString and GenerateSecretString; CloudFormation takes one",
            ));
        }
        (Some(value), None) => Some(value),
        (None, Some(spec)) => Some(
            spec.generate()
                .map_err(|problem| Error::template(location(), problem))?,
        ),
        (None, None) => None,
    };
    let created = clients
        .secrets
        .create_secret()
        .name(&name)
        .set_description(p.description)
        .set_secret_string(value)
        .send()
        .await
        .map_err(|e| Error::aws("CreateSecret", &name, e))?;
    let arn = created
        .arn()
        .ok_or_else(|| Error::aws_missing("CreateSecret", &name, "ARN"))?
        .to_owned();
    Ok(Physical::new(&arn).with("Id", &arn))
}

/// Creates a symmetric KMS key with the template's description (`!Ref` is its
/// key id, `!GetAtt .Arn` its ARN), tagged with the stack and logical id so
/// that a developer can tell the keys of stacks apart.
pub(super) async fn create_key(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct KeyProperties {
        description: Option<String>,
    }
    let p: KeyProperties = properties(context, r)?;
    let tag = |key: &str, value: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(key)
            .tag_value(value)
            .build()
            .map_err(|e| Error::template(format!("Resources.{}", r.logical_id), e.to_string()))
    };
    let created = clients
        .kms
        .create_key()
        .set_description(p.description)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .tags(tag("aws:cloudformation:stack-name", context.stack_name())?)
        .tags(tag("aws:cloudformation:logical-id", &r.logical_id)?)
        .send()
        .await
        .map_err(|e| Error::aws("CreateKey", &r.logical_id, e))?;
    let metadata = created
        .key_metadata
        .ok_or_else(|| Error::aws_missing("CreateKey", &r.logical_id, "KeyMetadata"))?;
    let arn = metadata
        .arn
        .ok_or_else(|| Error::aws_missing("CreateKey", &r.logical_id, "Arn"))?;
    Ok(Physical::new(metadata.key_id.as_str())
        .with("Arn", arn)
        .with("KeyId", metadata.key_id))
}
