//! Creates the resources of the template in the emulator, as CloudFormation would:
//! tables (with their indexes and TTL), topics, queues, secrets (with their
//! `SecretString`, or a fresh value for `GenerateSecretString`) and
//! subscriptions, named from the template itself.
//!
//! Submodules: one per kind of resource made, `table` (DynamoDB), `messaging`
//! (SNS topics and subscriptions, SQS queues), `secret` (Secrets Manager
//! secrets, with `generated` values, and KMS keys) and `bucket` (S3); this
//! module holds the stack, the order of creation and what they share.

mod bucket;
mod generated;
mod messaging;
mod secret;
mod table;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::aws::SdkConfig;

use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::{Kind, Resource, Template};
use crate::{ACCOUNT_ID, LOCAL_ISSUER, REGION};
use bucket::create_bucket;
use messaging::{create_queue, create_subscription, create_topic, subscribe_inline};
use secret::{create_key, create_secret};
use table::create_table;

/// The access key id and secret used against the emulator.
pub const TEST_CREDENTIAL: &str = "testing";

/// The AWS settings a process needs to talk to the emulator at `endpoint`.
pub fn aws_env(endpoint: &str) -> BTreeMap<String, String> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", TEST_CREDENTIAL),
        ("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIAL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The SDK configuration for the emulator at `endpoint`, built the way every
/// function builds it (`shared::aws::sdk_config`).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    shared::aws::sdk_config(&shared::config::Env::from_map(aws_env(endpoint))).await
}

/// Parameter values of local stacks: the issuer is the local API, the
/// architecture the host's.
pub fn local_parameters() -> BTreeMap<String, String> {
    let architecture = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    [("IssuerUrl", LOCAL_ISSUER), ("Architecture", architecture)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A stack created in the emulator.
#[derive(Debug, Clone)]
pub struct Stack {
    template: Template,
    context: Context,
    endpoint: String,
}

impl Stack {
    /// A stack from parts, as [`deploy`] would leave it (unit tests of what reads
    /// a stack, without the emulator).
    #[cfg(test)]
    pub(crate) fn assembled(template: Template, context: Context, endpoint: &str) -> Stack {
        Stack {
            template,
            context,
            endpoint: endpoint.to_owned(),
        }
    }

    /// The stack name (`pocketgov`, or `t<n>x<random>` in tests).
    pub fn name(&self) -> &str {
        self.context.stack_name()
    }

    /// The emulator endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The template the stack was made from.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The resolution context, with every created resource.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The created resource `logical_id`.
    pub fn physical(&self, logical_id: &str) -> Option<&Physical> {
        self.context.physical(logical_id)
    }

    /// The created resource of `kind` whose `attribute` (`Arn`, `StreamArn`; `Ref`
    /// for its `!Ref` value) is `value`: how devstack finds what a resolved
    /// property (a pipe's source, an event's queue) points at.
    pub fn find(&self, kind: Kind, attribute: &str, value: &str) -> Option<(&Resource, &Physical)> {
        self.template.of_kind(kind).find_map(|r| {
            let physical = self.physical(&r.logical_id)?;
            let actual = match attribute {
                "Ref" => Some(&physical.reference),
                _ => physical.attributes.get(attribute),
            };
            (actual.map(String::as_str) == Some(value)).then_some((r, physical))
        })
    }

    /// The environment of `function` (logical id or binary name): its resolved
    /// `Environment.Variables` and those of `Globals`, plus the emulator settings.
    pub fn function_env(&self, function: &str) -> Result<BTreeMap<String, String>> {
        let resource = self.template.function(function)?;
        let mut env = BTreeMap::new();
        for (name, value) in self.template.function_environment(resource) {
            env.insert(name, self.context.resolve_string(&value)?);
        }
        env.extend(aws_env(&self.endpoint));
        Ok(env)
    }

    /// The union of every function's environment (one `cargo lambda watch`
    /// serves them all). Returns the names of variables two functions set
    /// differently, the first value winning.
    pub fn all_functions_env(&self) -> Result<(BTreeMap<String, String>, Vec<String>)> {
        let mut all = BTreeMap::new();
        let mut conflicts = Vec::new();
        for function in self.template.of_kind(Kind::Function) {
            for (name, value) in self.function_env(&function.logical_id)? {
                match all.get(&name) {
                    Some(existing) if *existing != value => conflicts.push(name),
                    Some(_) => {}
                    None => {
                        all.insert(name, value);
                    }
                }
            }
        }
        Ok((all, conflicts))
    }

    /// Sets the value of the secret `logical_id`.
    pub async fn put_secret(&self, sdk: &SdkConfig, logical_id: &str, value: &str) -> Result<()> {
        let arn = self
            .physical(logical_id)
            .ok_or_else(|| {
                Error::unresolved(format!("!Ref {logical_id}"), "no such secret in the stack")
            })?
            .reference
            .clone();
        aws_sdk_secretsmanager::Client::new(sdk)
            .put_secret_value()
            .secret_id(&arn)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| Error::aws("PutSecretValue", &arn, e))?;
        Ok(())
    }
}

/// Creates every resource of `template` for stack `stack_name` in the emulator at
/// `endpoint`, with parameter values `parameters` (else the template defaults).
pub async fn deploy(
    sdk: &SdkConfig,
    template: Template,
    stack_name: &str,
    endpoint: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Stack> {
    let mut context = Context::new(&template, stack_name, REGION, ACCOUNT_ID, parameters);
    let clients = Clients::new(sdk);

    for r in template.of_kind(Kind::Bucket) {
        let physical = create_bucket(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    for r in template.of_kind(Kind::Secret) {
        let physical = create_secret(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    for r in template.of_kind(Kind::Key) {
        let physical = create_key(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    for r in template.of_kind(Kind::Table) {
        let physical = create_table(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    for r in template.of_kind(Kind::Topic) {
        let physical = create_topic(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    // Dead-letter queues first: a queue's RedrivePolicy names its DLQ's ARN.
    let (plain, redriven): (Vec<&Resource>, Vec<&Resource>) = template
        .of_kind(Kind::Queue)
        .partition(|r| r.property("RedrivePolicy").is_none());
    for r in plain.into_iter().chain(redriven) {
        let physical = create_queue(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }
    for r in template.of_kind(Kind::Topic) {
        subscribe_inline(&clients, &context, r).await?;
    }
    for r in template.of_kind(Kind::Subscription) {
        let physical = create_subscription(&clients, &context, r).await?;
        context.insert(&r.logical_id, physical);
    }

    Ok(Stack {
        template,
        context,
        endpoint: endpoint.to_owned(),
    })
}

/// The name a resource gets: its name property resolved, else what
/// CloudFormation would generate (without the random suffix).
pub fn resource_name(context: &Context, resource: &Resource) -> Result<String> {
    let property = match resource.kind {
        Kind::Table => "TableName",
        Kind::Topic => "TopicName",
        Kind::Queue => "QueueName",
        Kind::Secret => "Name",
        Kind::Bucket => "BucketName",
        Kind::Pipe => "Name",
        _ => "FunctionName",
    };
    match resource.property(property) {
        Some(value) => context.resolve_string(value),
        None => Ok(format!("{}-{}", context.stack_name(), resource.logical_id)),
    }
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    secrets: aws_sdk_secretsmanager::Client,
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
}

impl Clients {
    fn new(sdk: &SdkConfig) -> Self {
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(true)
                    .build(),
            ),
        }
    }
}

/// The resource's properties resolved and read as `T`.
fn properties<T: DeserializeOwned>(context: &Context, resource: &Resource) -> Result<T> {
    let resolved = context.resolve(&Value::Object(resource.properties.clone()))?;
    serde_json::from_value(resolved).map_err(|e| {
        Error::template(
            format!("Resources.{}.Properties", resource.logical_id),
            e.to_string(),
        )
    })
}

/// A CloudFormation scalar that may be written as a number, boolean or string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Number(n) => n.to_string(),
            Scalar::String(s) => s.clone(),
        }
    }

    fn truthy(&self) -> bool {
        matches!(self, Scalar::Bool(true)) || self.text().eq_ignore_ascii_case("true")
    }

    fn integer(&self) -> Option<i64> {
        self.text().parse().ok()
    }
}
