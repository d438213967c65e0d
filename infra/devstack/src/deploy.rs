//! Creates the resources of the template in the emulator, as CloudFormation would:
//! tables (with their indexes and TTL), topics, queues, secrets (with their
//! `SecretString`, or a fresh value for `GenerateSecretString`) and
//! subscriptions, named from the template itself.

mod generated;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use shared::aws::SdkConfig;

use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::{Kind, Resource, Template};
use crate::{ACCOUNT_ID, LOCAL_ISSUER, REGION};

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

// ------------------------------------------------------------------ DynamoDB

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    #[serde(default)]
    attribute_definitions: Vec<AttributeDefinition>,
    #[serde(default)]
    key_schema: Vec<KeyElement>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    #[serde(default)]
    global_secondary_indexes: Vec<Index>,
    #[serde(default)]
    local_secondary_indexes: Vec<Index>,
    stream_specification: Option<StreamSpecification>,
    time_to_live_specification: Option<TimeToLive>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Throughput {
    read_capacity_units: Scalar,
    write_capacity_units: Scalar,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Index {
    index_name: String,
    key_schema: Vec<KeyElement>,
    projection: Projection,
    provisioned_throughput: Option<Throughput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Projection {
    projection_type: Option<String>,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpecification {
    stream_view_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TimeToLive {
    attribute_name: Option<String>,
    enabled: Scalar,
}

fn key_schema(
    location: &str,
    elements: &[KeyElement],
) -> Result<Vec<aws_sdk_dynamodb::types::KeySchemaElement>> {
    use aws_sdk_dynamodb::types::{KeySchemaElement, KeyType};
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| Error::template(location, e.to_string()))
        })
        .collect()
}

fn throughput(
    location: &str,
    t: &Throughput,
) -> Result<aws_sdk_dynamodb::types::ProvisionedThroughput> {
    let units = |s: &Scalar| {
        s.integer()
            .ok_or_else(|| Error::template(location, "capacity units are not integers"))
    };
    aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
        .read_capacity_units(units(&t.read_capacity_units)?)
        .write_capacity_units(units(&t.write_capacity_units)?)
        .build()
        .map_err(|e| Error::template(location, e.to_string()))
}

fn projection(p: &Projection) -> aws_sdk_dynamodb::types::Projection {
    use aws_sdk_dynamodb::types::ProjectionType;
    let mut builder = aws_sdk_dynamodb::types::Projection::builder().projection_type(
        ProjectionType::from(p.projection_type.as_deref().unwrap_or("ALL")),
    );
    if !p.non_key_attributes.is_empty() {
        builder = builder.set_non_key_attributes(Some(p.non_key_attributes.clone()));
    }
    builder.build()
}

async fn create_table(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition as Attr, BillingMode, GlobalSecondaryIndex, LocalSecondaryIndex,
        ScalarAttributeType, StreamViewType, TimeToLiveSpecification,
    };
    let location = format!("Resources.{}.Properties", r.logical_id);
    let name = resource_name(context, r)?;
    let p: TableProperties = properties(context, r)?;

    let mut request = clients.dynamodb.create_table().table_name(&name);
    for a in &p.attribute_definitions {
        request = request.attribute_definitions(
            Attr::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| Error::template(&location, e.to_string()))?,
        );
    }
    request = request.set_key_schema(Some(key_schema(&location, &p.key_schema)?));
    let billing = BillingMode::from(p.billing_mode.as_deref().unwrap_or("PROVISIONED"));
    request = request.billing_mode(billing);
    if let Some(t) = &p.provisioned_throughput {
        request = request.provisioned_throughput(throughput(&location, t)?);
    }
    for index in &p.global_secondary_indexes {
        let mut builder = GlobalSecondaryIndex::builder()
            .index_name(&index.index_name)
            .set_key_schema(Some(key_schema(&location, &index.key_schema)?))
            .projection(projection(&index.projection));
        if let Some(t) = &index.provisioned_throughput {
            builder = builder.provisioned_throughput(throughput(&location, t)?);
        }
        request = request.global_secondary_indexes(
            builder
                .build()
                .map_err(|e| Error::template(&location, e.to_string()))?,
        );
    }
    for index in &p.local_secondary_indexes {
        request = request.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&location, &index.key_schema)?))
                .projection(projection(&index.projection))
                .build()
                .map_err(|e| Error::template(&location, e.to_string()))?,
        );
    }
    if let Some(stream) = &p.stream_specification {
        request = request.stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()
                .map_err(|e| Error::template(&location, e.to_string()))?,
        );
    }
    let created = request
        .send()
        .await
        .map_err(|e| Error::aws("CreateTable", &name, e))?;

    if let Some(ttl) = &p.time_to_live_specification
        && ttl.enabled.truthy()
    {
        let attribute = ttl.attribute_name.as_deref().ok_or_else(|| {
            Error::template(&location, "TimeToLiveSpecification has no AttributeName")
        })?;
        clients
            .dynamodb
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| Error::template(&location, e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| Error::aws("UpdateTimeToLive", &name, e))?;
    }

    let description = created.table_description();
    let arn = description
        .and_then(|d| d.table_arn())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"));
    let mut physical = Physical::new(&name).with("Arn", arn);
    if let Some(stream) = description.and_then(|d| d.latest_stream_arn()) {
        physical = physical.with("StreamArn", stream);
    }
    Ok(physical)
}

// ------------------------------------------------------------------ SNS

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TopicProperties {
    display_name: Option<String>,
    fifo_topic: Option<Scalar>,
    content_based_deduplication: Option<Scalar>,
    #[serde(default)]
    subscription: Vec<InlineSubscription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlineSubscription {
    endpoint: String,
    protocol: String,
}

async fn create_topic(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
    let name = resource_name(context, r)?;
    // Inline subscriptions may name queues created later: read them afterwards.
    let mut own = r.clone();
    own.properties.remove("Subscription");
    let p: TopicProperties = properties(context, &own)?;
    let mut request = clients.sns.create_topic().name(&name);
    if let Some(display_name) = &p.display_name {
        request = request.attributes("DisplayName", display_name);
    }
    if let Some(fifo) = &p.fifo_topic {
        request = request.attributes("FifoTopic", fifo.text());
    }
    if let Some(dedup) = &p.content_based_deduplication {
        request = request.attributes("ContentBasedDeduplication", dedup.text());
    }
    let created = request
        .send()
        .await
        .map_err(|e| Error::aws("CreateTopic", &name, e))?;
    let arn = created
        .topic_arn()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"));
    Ok(Physical::new(&arn)
        .with("TopicArn", &arn)
        .with("TopicName", &name))
}

async fn subscribe_inline(clients: &Clients, context: &Context, r: &Resource) -> Result<()> {
    if r.property("Subscription").is_none() {
        return Ok(());
    }
    let p: TopicProperties = properties(context, r)?;
    let topic_arn = context.reference(&r.logical_id)?;
    for s in &p.subscription {
        clients
            .sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol(&s.protocol)
            .endpoint(&s.endpoint)
            .send()
            .await
            .map_err(|e| Error::aws("Subscribe", &topic_arn, e))?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubscriptionProperties {
    topic_arn: String,
    protocol: String,
    endpoint: Option<String>,
    raw_message_delivery: Option<Scalar>,
    filter_policy: Option<Value>,
    filter_policy_scope: Option<String>,
    redrive_policy: Option<Value>,
}

/// A policy written in the template as a mapping, or as a JSON string.
fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn create_subscription(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
    let p: SubscriptionProperties = properties(context, r)?;
    let mut request = clients
        .sns
        .subscribe()
        .topic_arn(&p.topic_arn)
        .protocol(&p.protocol)
        .set_endpoint(p.endpoint.clone())
        .return_subscription_arn(true);
    if let Some(raw) = &p.raw_message_delivery {
        request = request.attributes("RawMessageDelivery", raw.truthy().to_string());
    }
    if let Some(policy) = &p.filter_policy {
        request = request.attributes("FilterPolicy", json_text(policy));
    }
    if let Some(scope) = &p.filter_policy_scope {
        request = request.attributes("FilterPolicyScope", scope);
    }
    if let Some(redrive) = &p.redrive_policy {
        request = request.attributes("RedrivePolicy", json_text(redrive));
    }
    let created = request
        .send()
        .await
        .map_err(|e| Error::aws("Subscribe", &p.topic_arn, e))?;
    Ok(Physical::new(
        created.subscription_arn().unwrap_or_default(),
    ))
}

// ------------------------------------------------------------------ SQS

/// Queue properties that are SQS attributes of the same name.
const QUEUE_ATTRIBUTES: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedrivePolicy",
    "RedriveAllowPolicy",
];

async fn create_queue(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = resource_name(context, r)?;
    let p: Map<String, Value> = properties(context, r)?;
    let mut request = clients.sqs.create_queue().queue_name(&name);
    for attribute in QUEUE_ATTRIBUTES {
        if let Some(value) = p.get(*attribute) {
            let text = match value {
                Value::Bool(b) => b.to_string(),
                other => json_text(other),
            };
            request = request.attributes(QueueAttributeName::from(*attribute), text);
        }
    }
    let created = request
        .send()
        .await
        .map_err(|e| Error::aws("CreateQueue", &name, e))?;
    let url = created
        .queue_url()
        .ok_or_else(|| Error::aws_missing("CreateQueue", &name, "QueueUrl"))?
        .to_owned();
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| Error::aws("GetQueueAttributes", &name, e))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_else(|| format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"));
    Ok(Physical::new(&url)
        .with("Arn", arn)
        .with("QueueName", &name)
        .with("QueueUrl", &url))
}

// ------------------------------------------------------------------ Secrets Manager

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
async fn create_secret(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
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
async fn create_key(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
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

/// Creates a bucket with the template's encryption, public access block and
/// expiration rules (what the certificate function's guarantees rest on), so the
/// local bucket is configured as the cloud one is. Bucket policies are not
/// emulated.
async fn create_bucket(clients: &Clients, context: &Context, r: &Resource) -> Result<Physical> {
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
