//! Messaging: SNS topics (with their inline subscriptions), subscriptions and
//! SQS queues.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Clients, Scalar, properties, resource_name};
use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::Resource;
use crate::{ACCOUNT_ID, REGION};

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

pub(super) async fn create_topic(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
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

pub(super) async fn subscribe_inline(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<()> {
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

pub(super) async fn create_subscription(
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

pub(super) async fn create_queue(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
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
