//! Tables: `AWS::DynamoDB::Table` with its key schema, billing, indexes, stream
//! and TTL.

use serde::Deserialize;

use super::{Clients, Scalar, properties, resource_name};
use crate::error::{Error, Result};
use crate::resolve::{Context, Physical};
use crate::template::Resource;
use crate::{ACCOUNT_ID, REGION};

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

pub(super) async fn create_table(
    clients: &Clients,
    context: &Context,
    r: &Resource,
) -> Result<Physical> {
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
