//! Reading a pipe from the template: its source (the stream of a table of the
//! stack), its target (a standard topic or queue of the stack) and the
//! parameters devstack applies, each resolved against the stack. Whatever devstack
//! could not run as EventBridge Pipes would is refused here, naming the pipe, so
//! that `cargo dev` and tests stop with a message rather than carry differently
//! from the cloud.

use serde_json::Value;

use super::{EventPattern, InputTemplate, Pipe, StartingPosition, Target};
use crate::deploy::{Stack, resource_name};
use crate::error::{Error, Result};
use crate::template::{Kind, Resource, scalar_string};

/// Reads one `AWS::Pipes::Pipe`; `None` when it is stopped.
pub(super) fn read_pipe(stack: &Stack, resource: &Resource) -> Result<Option<Pipe>> {
    let id = resource.logical_id.as_str();
    let refuse = |problem: String| Error::cannot_emulate(id, problem);
    let context = stack.context();
    let properties = Value::Object(resource.properties.clone());
    // Only the properties devstack reads are resolved: RoleArn names a role that
    // is not created locally.
    let at = |pointer: &str| -> Result<Option<Value>> {
        properties
            .pointer(pointer)
            .map(|v| context.resolve(v))
            .transpose()
    };
    let text = |pointer: &str| -> Result<Option<String>> {
        at(pointer)?
            .map(|v| scalar_string(&v).map_err(|p| refuse(format!("{} {p}", dotted(pointer)))))
            .transpose()
    };

    if text("/DesiredState")?.as_deref() == Some("STOPPED") {
        return Ok(None);
    }
    if resource.property("Enrichment").is_some() {
        return Err(refuse(
            "it has an Enrichment; devstack runs pipes without enrichment".into(),
        ));
    }

    let source = text("/Source")?.ok_or_else(|| refuse("it has no Source".into()))?;
    let (table, table_name) = stack
        .find(Kind::Table, "StreamArn", &source)
        .map(|(t, physical)| (t.logical_id.clone(), physical.reference.clone()))
        .ok_or_else(|| {
            refuse(format!(
                "its Source `{source}` is not the stream of a table of this stack; \
                 devstack carries the streams of the template's tables only"
            ))
        })?;

    let target = text("/Target")?.ok_or_else(|| refuse("it has no Target".into()))?;
    let target = read_target(stack, &target).map_err(refuse)?;

    for (section, allowed) in [
        (
            "SourceParameters",
            &["FilterCriteria", "DynamoDBStreamParameters"][..],
        ),
        ("TargetParameters", &["InputTemplate"][..]),
    ] {
        if let Some(Value::Object(map)) = resource.property(section)
            && let Some(other) = map.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(refuse(format!(
                "{section}.{other} does not apply to a DynamoDB stream source and {} \
                 target (devstack reads {})",
                match &target {
                    Target::Topic { .. } => "an SNS topic",
                    Target::Queue { .. } => "a standard SQS queue",
                },
                allowed.join(", ")
            )));
        }
    }

    let mut filters = Vec::new();
    if let Some(list) = at("/SourceParameters/FilterCriteria/Filters")? {
        let Value::Array(list) = list else {
            return Err(refuse(
                "SourceParameters.FilterCriteria.Filters is not a list".into(),
            ));
        };
        for (i, filter) in list.iter().enumerate() {
            let location = format!("SourceParameters.FilterCriteria.Filters[{i}].Pattern");
            let pattern = match filter.get("Pattern") {
                Some(Value::String(text)) => EventPattern::parse(text),
                Some(value @ Value::Object(_)) => EventPattern::from_value(value),
                _ => return Err(refuse(format!("{location} is missing or not JSON text"))),
            };
            filters.push(pattern.map_err(|e| refuse(format!("{location}: {e}")))?);
        }
    }

    let parameters = "/SourceParameters/DynamoDBStreamParameters";
    let starting_position = match text(&format!("{parameters}/StartingPosition"))?.as_deref() {
        Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
        Some("LATEST") => StartingPosition::Latest,
        Some(other) => {
            return Err(refuse(format!(
                "SourceParameters.DynamoDBStreamParameters.StartingPosition `{other}` \
                 is neither TRIM_HORIZON nor LATEST"
            )));
        }
        None => {
            return Err(refuse(
                "SourceParameters.DynamoDBStreamParameters.StartingPosition is missing \
                 (a DynamoDB stream source needs one)"
                    .into(),
            ));
        }
    };
    let batch_size = match text(&format!("{parameters}/BatchSize"))? {
        None => 10,
        Some(size) => size.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            refuse(format!(
                "SourceParameters.DynamoDBStreamParameters.BatchSize `{size}` is not a positive whole number"
            ))
        })?,
    };

    let input_template = text("/TargetParameters/InputTemplate")?
        .map(|t| InputTemplate::parse(&t))
        .transpose()
        .map_err(|e| refuse(format!("TargetParameters.InputTemplate: {e}")))?;

    Ok(Some(Pipe {
        logical_id: id.to_owned(),
        name: resource_name(context, resource)?,
        table,
        table_name,
        stream_arn: source,
        target,
        starting_position,
        batch_size,
        filters,
        input_template,
    }))
}

/// The topic or queue of `stack` whose ARN is `arn` (a pipe's resolved
/// `Target`), or why devstack cannot send to it.
fn read_target(stack: &Stack, arn: &str) -> std::result::Result<Target, String> {
    let truthy = |resource: &Resource, property: &str| {
        resource
            .property(property)
            .and_then(|v| scalar_string(v).ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    // The name from the ARN when the emulator did not report one.
    let last_part = || arn.rsplit(':').next().unwrap_or_default().to_owned();
    if let Some((topic, physical)) = stack.find(Kind::Topic, "Ref", arn) {
        if truthy(topic, "FifoTopic") {
            return Err(format!(
                "its Target `{}` is a FIFO topic, which devstack's pipes do not publish to",
                topic.logical_id
            ));
        }
        return Ok(Target::Topic {
            logical_id: topic.logical_id.clone(),
            name: physical
                .attributes
                .get("TopicName")
                .cloned()
                .unwrap_or_else(last_part),
            arn: arn.to_owned(),
        });
    }
    if let Some((queue, physical)) = stack.find(Kind::Queue, "Arn", arn) {
        let name = physical
            .attributes
            .get("QueueName")
            .cloned()
            .unwrap_or_else(last_part);
        // A FIFO queue needs a message group (and deduplication) per message,
        // from SqsQueueParameters, which devstack does not emulate.
        if truthy(queue, "FifoQueue") || name.ends_with(".fifo") {
            return Err(format!(
                "its Target `{}` is a FIFO queue, which devstack's pipes do not send to",
                queue.logical_id
            ));
        }
        return Ok(Target::Queue {
            logical_id: queue.logical_id.clone(),
            name,
            url: physical.reference.clone(),
            arn: arn.to_owned(),
        });
    }
    Err(format!(
        "its Target `{arn}` is neither a topic nor a queue of this stack; devstack \
         delivers to the template's SNS topics and SQS queues only"
    ))
}

/// `/A/B/C` -> `A.B.C`, for messages.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resolve::{Context, Physical};
    use crate::template::Template;

    const TEMPLATE: &str = r#"
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: s-t
  Other:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: s-other
  Events:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: s-events
  Q:
    Type: AWS::SQS::Queue
  Fifo:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: s-f.fifo
      FifoQueue: true
  Role:
    Type: AWS::IAM::Role
  P:
    Type: AWS::Pipes::Pipe
    Properties:
      Name: s-p
      RoleArn: !GetAtt Role.Arn
      Source: !GetAtt T.StreamArn
      SourceParameters:
        FilterCriteria:
          Filters:
            - Pattern: '{"eventName":["INSERT"]}'
        DynamoDBStreamParameters:
          StartingPosition: LATEST
          BatchSize: 5
      Target: !Ref Events
      TargetParameters:
        InputTemplate: "<$.dynamodb.NewImage.event.S>"
"#;

    const STREAM: &str = "arn:aws:dynamodb:ap-northeast-2:123456789012:table/s-t/stream/1";
    const QUEUE_ARN: &str = "arn:aws:sqs:ap-northeast-2:123456789012:s-q";
    const TO_QUEUE: (&str, &str) = ("Target: !Ref Events", "Target: !GetAtt Q.Arn");

    /// A stack as deploy would leave it, without the emulator.
    fn stack_with(edit: impl FnOnce(&mut String)) -> Stack {
        let mut text = TEMPLATE.to_owned();
        edit(&mut text);
        let template = Template::parse(&text, "t.yaml").expect("parses");
        let mut context = Context::new(
            &template,
            "s",
            "ap-northeast-2",
            "123456789012",
            &BTreeMap::new(),
        );
        context.insert("T", Physical::new("s-t").with("StreamArn", STREAM));
        context.insert(
            "Other",
            Physical::new("s-other").with(
                "Arn",
                "arn:aws:dynamodb:ap-northeast-2:123456789012:table/s-other",
            ),
        );
        context.insert(
            "Events",
            Physical::new("arn:aws:sns:ap-northeast-2:123456789012:s-events")
                .with("TopicName", "s-events"),
        );
        context.insert(
            "Q",
            Physical::new("http://q/s-q")
                .with("Arn", QUEUE_ARN)
                .with("QueueName", "s-q"),
        );
        context.insert(
            "Fifo",
            Physical::new("http://q/s-f.fifo")
                .with("Arn", "arn:aws:sqs:ap-northeast-2:123456789012:s-f.fifo")
                .with("QueueName", "s-f.fifo"),
        );
        Stack::assembled(template, context, "http://127.0.0.1:1")
    }

    fn read(stack: &Stack) -> Result<Option<Pipe>> {
        read_pipe(stack, stack.template().resource("P").expect("P"))
    }

    #[test]
    fn a_pipe_is_read_from_the_template_with_its_resources_resolved() {
        // GIVEN a pipe from a table's stream to a topic
        let stack = stack_with(|_| {});

        // WHEN it is read
        let pipe = read(&stack).expect("readable").expect("running");

        // THEN source, target and parameters are the template's
        assert_eq!(pipe.name, "s-p");
        assert_eq!(
            (pipe.table.as_str(), pipe.table_name.as_str()),
            ("T", "s-t")
        );
        assert_eq!(pipe.stream_arn, STREAM);
        assert_eq!(
            pipe.target,
            Target::Topic {
                logical_id: "Events".into(),
                name: "s-events".into(),
                arn: "arn:aws:sns:ap-northeast-2:123456789012:s-events".into(),
            }
        );
        assert_eq!(pipe.starting_position, StartingPosition::Latest);
        assert_eq!(pipe.batch_size, 5);
        assert_eq!(pipe.filters.len(), 1);
        assert!(pipe.input_template.is_some());
    }

    #[test]
    fn a_pipe_whose_target_is_a_queue_arn_sends_to_that_queue() {
        // GIVEN the same pipe with `Target: !GetAtt Q.Arn`, as Pipes takes a queue
        let stack = stack_with(|t| *t = t.replace(TO_QUEUE.0, TO_QUEUE.1));

        // WHEN it is read
        let pipe = read(&stack).expect("readable").expect("running");

        // THEN its target is the queue, by URL for sending, and the rest is as
        // for a topic
        assert_eq!(
            pipe.target,
            Target::Queue {
                logical_id: "Q".into(),
                name: "s-q".into(),
                url: "http://q/s-q".into(),
                arn: QUEUE_ARN.into(),
            }
        );
        assert_eq!(
            (
                pipe.target.logical_id(),
                pipe.target.name(),
                pipe.target.arn()
            ),
            ("Q", "s-q", QUEUE_ARN)
        );
        assert_eq!(pipe.target.to_string(), "queue s-q");
        assert_eq!((pipe.table.as_str(), pipe.batch_size), ("T", 5));
        assert_eq!(pipe.filters.len(), 1);
        assert!(pipe.input_template.is_some());
    }

    #[test]
    fn what_devstack_cannot_run_is_refused_naming_the_pipe() {
        // GIVEN pipes devstack cannot run as the cloud would
        let cases: [(&str, &str, &str); 9] = [
            (
                "Source: !GetAtt T.StreamArn",
                "Source: !GetAtt Q.Arn",
                "is not the stream",
            ),
            (
                "Target: !Ref Events",
                "Target: !GetAtt Other.Arn",
                "neither a topic nor a queue",
            ),
            (
                "Target: !Ref Events",
                "Target: arn:aws:sqs:ap-northeast-2:123456789012:elsewhere",
                "neither a topic nor a queue",
            ),
            (
                "Target: !Ref Events",
                "Target: !GetAtt Fifo.Arn",
                "FIFO queue",
            ),
            (
                r#"'{"eventName":["INSERT"]}'"#,
                r#"'{"n":[{"numeric":[">",1]}]}'"#,
                "numeric",
            ),
            (
                "StartingPosition: LATEST",
                "StartingPosition: AT_TIMESTAMP",
                "AT_TIMESTAMP",
            ),
            (
                "InputTemplate: \"<$.dynamodb.NewImage.event.S>\"",
                "InputTemplate: \"<aws.pipes.event.json>\"",
                "aws.pipes.event.json",
            ),
            (
                "      Target: !Ref Events",
                "      Enrichment: arn:aws:lambda:x\n      Target: !Ref Events",
                "Enrichment",
            ),
            (
                "        InputTemplate:",
                "        SqsQueueParameters: {}\n        InputTemplate:",
                "SqsQueueParameters",
            ),
        ];
        for (from, to, named) in cases {
            let stack = stack_with(|t| *t = t.replace(from, to));

            // WHEN it is read
            let err = read(&stack).expect_err(to).to_string();

            // THEN the error names the pipe and what cannot be emulated
            assert!(err.contains("`P`"), "{err}");
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn a_queue_target_takes_no_sqs_queue_parameters() {
        // GIVEN a pipe to a standard queue with parameters only FIFO queues take
        let stack = stack_with(|t| {
            *t = t.replace(TO_QUEUE.0, TO_QUEUE.1).replace(
                "        InputTemplate:",
                "        SqsQueueParameters:\n          MessageGroupId: g\n        InputTemplate:",
            )
        });

        // WHEN it is read, THEN it is refused, naming the parameters and the target
        let err = read(&stack).expect_err("refused").to_string();
        assert!(err.contains("`P`"), "{err}");
        assert!(err.contains("TargetParameters.SqsQueueParameters"), "{err}");
        assert!(err.contains("a standard SQS queue target"), "{err}");
    }

    #[test]
    fn a_stopped_pipe_is_left_out_and_batch_size_defaults_to_ten() {
        let stopped = stack_with(|t| t.push_str("      DesiredState: STOPPED\n"));
        assert!(read(&stopped).expect("readable").is_none());
        let default = stack_with(|t| *t = t.replace("          BatchSize: 5\n", ""));
        assert_eq!(
            read(&default)
                .expect("readable")
                .expect("running")
                .batch_size,
            10
        );
    }
}
