//! A DynamoDB stream record as a pipe (or a Lambda function) sees it: JSON with
//! attribute values in DynamoDB's own JSON (`{"S": "..."}`, `{"N": "..."}`, ...),
//! which is what filters and input templates are written against.

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use serde_json::{Map, Value, json};

/// An attribute value of a type this SDK version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stream record holds an attribute value of a type devstack does not know")]
pub struct UnknownAttributeType;

/// An attribute value in DynamoDB JSON: `{"S": "x"}`, `{"N": "1"}`, `{"B": "<base64>"}`,
/// `{"SS": [..]}`, `{"NS": [..]}`, `{"BS": [..]}`, `{"M": {..}}`, `{"L": [..]}`,
/// `{"NULL": true}`, `{"BOOL": ..}`.
pub fn attribute_json(value: &AttributeValue) -> Result<Value, UnknownAttributeType> {
    let base64 = |blob: &aws_sdk_dynamodbstreams::primitives::Blob| {
        Value::String(data_encoding::BASE64.encode(blob.as_ref()))
    };
    Ok(match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64(b) }),
        AttributeValue::Ss(items) => json!({ "SS": items }),
        AttributeValue::Ns(items) => json!({ "NS": items }),
        AttributeValue::Bs(items) => json!({ "BS": items.iter().map(base64).collect::<Vec<_>>() }),
        AttributeValue::M(map) => json!({ "M": attributes_json(map)? }),
        AttributeValue::L(items) => json!({
            "L": items.iter().map(attribute_json).collect::<Result<Vec<_>, _>>()?
        }),
        AttributeValue::Null(is_null) => json!({ "NULL": is_null }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => return Err(UnknownAttributeType),
    })
}

/// A map of attributes (an item, its keys) in DynamoDB JSON.
pub fn attributes_json<'a>(
    attributes: impl IntoIterator<Item = (&'a String, &'a AttributeValue)>,
) -> Result<Map<String, Value>, UnknownAttributeType> {
    attributes
        .into_iter()
        .map(|(name, value)| Ok((name.clone(), attribute_json(value)?)))
        .collect()
}

/// The record as EventBridge Pipes and Lambda present it:
/// `{"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
/// "dynamodb": {"ApproximateCreationDateTime", "Keys", "NewImage", "OldImage",
/// "SequenceNumber", "SizeBytes", "StreamViewType"}, "eventSourceARN"}` (and
/// `userIdentity` for deletions by TTL). Fields the record lacks are left out.
///
/// `awsRegion` is the stream's region, taken from `stream_arn`: the record's own
/// field says `us-east-1` in moto whatever the table's region.
pub fn record_json(record: &Record, stream_arn: &str) -> Result<Value, UnknownAttributeType> {
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.to_owned(), value);
        }
    };
    let text = |s: Option<&str>| s.map(|s| Value::String(s.to_owned()));
    let region = stream_arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .or(record.aws_region());

    put("eventID", text(record.event_id()));
    put("eventName", text(record.event_name().map(|n| n.as_str())));
    put("eventVersion", text(record.event_version()));
    put("eventSource", Some("aws:dynamodb".into()));
    put("awsRegion", text(region));
    if let Some(change) = record.dynamodb() {
        let mut d = Map::new();
        if let Some(at) = change.approximate_creation_date_time() {
            d.insert("ApproximateCreationDateTime".into(), at.secs().into());
        }
        if let Some(keys) = change.keys() {
            d.insert("Keys".into(), Value::Object(attributes_json(keys)?));
        }
        if let Some(image) = change.new_image() {
            d.insert("NewImage".into(), Value::Object(attributes_json(image)?));
        }
        if let Some(image) = change.old_image() {
            d.insert("OldImage".into(), Value::Object(attributes_json(image)?));
        }
        if let Some(sequence) = change.sequence_number() {
            d.insert("SequenceNumber".into(), sequence.into());
        }
        if let Some(size) = change.size_bytes() {
            d.insert("SizeBytes".into(), size.into());
        }
        if let Some(view) = change.stream_view_type() {
            d.insert("StreamViewType".into(), view.as_str().into());
        }
        put("dynamodb", Some(Value::Object(d)));
    }
    if let Some(identity) = record.user_identity() {
        put(
            "userIdentity",
            Some(json!({"type": identity.r#type(), "principalId": identity.principal_id()})),
        );
    }
    put("eventSourceARN", Some(stream_arn.into()));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodbstreams::primitives::{Blob, DateTime};
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    use super::*;

    const STREAM: &str =
        "arn:aws:dynamodb:ap-northeast-2:123456789012:table/s-login/stream/2026-01-01T00:00:00.000";

    #[test]
    fn every_attribute_type_becomes_dynamodb_json() {
        // GIVEN one value of each type
        let cases = [
            (AttributeValue::S("한글".into()), json!({"S": "한글"})),
            (AttributeValue::N("-1.5".into()), json!({"N": "-1.5"})),
            (
                AttributeValue::B(Blob::new(*b"\x00\xffhi")),
                json!({"B": "AP9oaQ=="}),
            ),
            (
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
                json!({"SS": ["a", "b"]}),
            ),
            (AttributeValue::Ns(vec!["1".into()]), json!({"NS": ["1"]})),
            (
                AttributeValue::Bs(vec![Blob::new(*b"a"), Blob::new(*b"b")]),
                json!({"BS": ["YQ==", "Yg=="]}),
            ),
            (
                AttributeValue::M(HashMap::from([(
                    "inner".to_owned(),
                    AttributeValue::L(vec![
                        AttributeValue::Bool(false),
                        AttributeValue::Null(true),
                    ]),
                )])),
                json!({"M": {"inner": {"L": [{"BOOL": false}, {"NULL": true}]}}}),
            ),
        ];
        for (value, expected) in cases {
            // WHEN converted, THEN it is DynamoDB JSON
            assert_eq!(attribute_json(&value).expect("known type"), expected);
        }
    }

    #[test]
    fn a_record_has_the_fields_a_pipe_sees() {
        // GIVEN an INSERT record of an outbox item, as the stream API returns it
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("EVENT#e1".into())),
            ("sk".to_owned(), AttributeValue::S("OUTBOX".into())),
            ("event".to_owned(), AttributeValue::S("{}".into())),
        ]);
        let keys: HashMap<_, _> = item
            .iter()
            .filter(|(k, _)| *k != "event")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let record = Record::builder()
            .event_id("id1")
            .event_name(OperationType::Insert)
            .event_version("1.0")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_700_000_000))
                    .set_keys(Some(keys))
                    .set_new_image(Some(item))
                    .sequence_number("1100000000017454423009")
                    .size_bytes(42)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )
            .build();

        // WHEN it is converted
        let json = record_json(&record, STREAM).expect("converts");

        // THEN it has Lambda's and Pipes' shape, the region being the stream's
        assert_eq!(
            json,
            json!({
                "eventID": "id1",
                "eventName": "INSERT",
                "eventVersion": "1.0",
                "eventSource": "aws:dynamodb",
                "awsRegion": "ap-northeast-2",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": {"pk": {"S": "EVENT#e1"}, "sk": {"S": "OUTBOX"}},
                    "NewImage": {"pk": {"S": "EVENT#e1"}, "sk": {"S": "OUTBOX"}, "event": {"S": "{}"}},
                    "SequenceNumber": "1100000000017454423009",
                    "SizeBytes": 42,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": STREAM
            })
        );
    }
}
