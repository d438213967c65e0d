//! The outbox pipes against the emulator: items written to a table travel from
//! its stream to the events topic, or to a queue, as they would through
//! EventBridge Pipes.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use devstack::TestStack;
use serde_json::{Value, json};

/// An outbox item as functions write it.
fn outbox_item(event_id: &str, body: &str) -> Put {
    Put::builder()
        .table_name("placeholder")
        .item("pk", AttributeValue::S(format!("EVENT#{event_id}")))
        .item("sk", AttributeValue::S("OUTBOX".into()))
        .item("event", AttributeValue::S(body.to_owned()))
        .item("eventType", AttributeValue::S("auth.locked".into()))
        .item("ttl", AttributeValue::N("4102444800".into()))
        .build()
        .expect("a put")
}

/// An item at (`pk`, `sk`) that is not an outbox item.
fn item_at(pk: &str, sk: &str) -> Put {
    let mut put = outbox_item("x", "{}");
    put.item.insert("pk".into(), AttributeValue::S(pk.into()));
    put.item.insert("sk".into(), AttributeValue::S(sk.into()));
    put
}

/// An item at (`pk`, `sk`) whose write fails: it must already exist.
fn failing_at(pk: &str, sk: &str) -> Put {
    let mut put = item_at(pk, sk);
    put.condition_expression = Some("attribute_exists(pk)".into());
    put
}

fn body(event_id: &str) -> String {
    json!({"eventId": event_id, "type": "auth.locked", "userId": "u1", "data": {}}).to_string()
}

/// A table of a stack, written to as functions write.
struct Table {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

impl Table {
    /// The login table of `stack`.
    async fn login(stack: &TestStack) -> Table {
        Table {
            dynamodb: aws_sdk_dynamodb::Client::new(&stack.sdk_config().await),
            table: stack.env("login").get("LOGIN_TABLE").expect("LOGIN_TABLE"),
        }
    }

    async fn put(&self, put: Put) {
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item().clone()))
            .send()
            .await
            .expect("put");
    }

    async fn transact(&self, puts: Vec<Put>) -> Result<(), String> {
        let items = puts
            .into_iter()
            .map(|mut put| {
                put.table_name = self.table.clone();
                TransactWriteItem::builder().put(put).build()
            })
            .collect();
        self.dynamodb
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }
}

#[tokio::test]
async fn an_outbox_item_reaches_the_events_topic_verbatim_and_once() {
    // GIVEN an outbox item whose body has spacing a re-serialisation would lose
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    let text = r#"{"eventId":"e1",  "type":"auth.locked","userId":"u1","data":{"한":1}}"#;
    login.put(outbox_item("e1", text)).await;

    // WHEN the pipes are pumped twice
    let first = stack.carry_events().await;
    let second = stack.carry_events().await;

    // THEN it was published once, with the item's `event` as the body
    assert_eq!((first, second), (1, 0));
    let events = stack.events().await;
    assert_eq!(
        events,
        vec![serde_json::from_str::<Value>(text).expect("JSON")]
    );
    // ... byte for byte, as the alert-sms queue (raw delivery) shows
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
    let queue = &stack
        .physical("AlertSmsEventsQueue")
        .expect("queue")
        .reference;
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("received");
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, vec![text]);
}

#[tokio::test]
async fn only_new_outbox_items_are_carried() {
    // GIVEN a stack whose login table gets an item that is not an outbox item
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    let profile = item_at("USER#u1", "PROFILE");
    login.put(profile).await;
    assert_eq!(stack.carry_events().await, 0, "not an outbox item");

    // WHEN an outbox item is inserted, then modified, then deleted
    login.put(outbox_item("e1", &body("e1"))).await;
    let inserted = stack.carry_events().await;
    login.put(outbox_item("e1", &body("e1-changed"))).await;
    let modified = stack.carry_events().await;
    login
        .dynamodb
        .delete_item()
        .table_name(&login.table)
        .key("pk", AttributeValue::S("EVENT#e1".into()))
        .key("sk", AttributeValue::S("OUTBOX".into()))
        .send()
        .await
        .expect("deleted");
    let removed = stack.carry_events().await;

    // THEN only the INSERT was carried
    assert_eq!((inserted, modified, removed), (1, 0, 0));
    let events = stack.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventId"], "e1");
}

#[tokio::test]
async fn an_outbox_item_of_a_cancelled_transaction_is_never_carried() {
    // GIVEN a pipe that has already carried an item (so it has read the stream)
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    login.put(outbox_item("e1", &body("e1"))).await;
    assert_eq!(stack.carry_events().await, 1);

    // WHEN a transaction with an outbox item is cancelled (its second item's
    // condition fails), and later one succeeds
    let guarded = failing_at("USER#u1", "COUNTER");
    let cancelled = login
        .transact(vec![outbox_item("e2", &body("e2")), guarded])
        .await;
    let after_cancel = stack.carry_events().await;
    let change = item_at("USER#u1", "PROFILE");
    login
        .transact(vec![outbox_item("e3", &body("e3")), change])
        .await
        .expect("the second transaction succeeds");
    let after_success = stack.carry_events().await;

    // THEN the cancelled one's event never travels, and the later one's does
    let err = cancelled.expect_err("the first transaction is cancelled");
    assert!(err.contains("TransactionCanceled"), "{err}");
    assert_eq!((after_cancel, after_success), (0, 1));
    let ids: Vec<Value> = stack
        .events()
        .await
        .into_iter()
        .map(|e| e["eventId"].clone())
        .collect();
    assert_eq!(ids, vec![json!("e1"), json!("e3")]);
}

#[tokio::test]
async fn an_item_written_after_a_cancelled_transaction_is_carried_on_a_fresh_pipe() {
    // GIVEN a cancelled transaction before the pipe ever read the stream
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    let guarded = failing_at("EVENT#x", "GUARD");
    assert!(
        login
            .transact(vec![outbox_item("e1", &body("e1")), guarded])
            .await
            .is_err()
    );

    // WHEN an item is written afterwards
    login.put(outbox_item("e2", &body("e2"))).await;

    // THEN only that one is carried
    assert_eq!(stack.carry_events().await, 1);
    let ids: Vec<Value> = stack
        .events()
        .await
        .into_iter()
        .map(|e| e["eventId"].clone())
        .collect();
    assert_eq!(ids, vec![json!("e2")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pumps_publish_each_item_once() {
    // GIVEN more outbox items than one SNS batch holds, in two tables
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    for i in 0..13 {
        login
            .put(outbox_item(&format!("l{i}"), &body(&format!("l{i}"))))
            .await;
    }
    let certificate = stack
        .env("certificate")
        .get("CERTIFICATE_TABLE")
        .expect("CERTIFICATE_TABLE");
    let put = outbox_item("c1", &body("c1"));
    login
        .dynamodb
        .put_item()
        .table_name(&certificate)
        .set_item(Some(put.item().clone()))
        .send()
        .await
        .expect("put");

    // WHEN two pumps race
    let (a, b) = tokio::join!(stack.carry_events(), stack.carry_events());

    // THEN every item was published exactly once
    assert_eq!(a + b, 14);
    let mut ids: Vec<String> = stack
        .events()
        .await
        .into_iter()
        .map(|e| e["eventId"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..13).map(|i| format!("l{i}")).collect();
    expected.push("c1".into());
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn texts_to_lists_what_sns_was_asked_to_text_a_number() {
    // GIVEN texts to a number of this test's own, and to another
    let stack = TestStack::new().await;
    let sns = aws_sdk_sns::Client::new(&stack.sdk_config().await);
    let digits: String = stack
        .name()
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let mine = format!("+8210{:0<8}", &digits[..digits.len().min(8)]);
    let other = format!("+8219{:0<8}", &digits[..digits.len().min(8)]);
    for (number, text) in [(&mine, "첫 번째"), (&other, "other"), (&mine, "second")] {
        sns.publish()
            .phone_number(number.as_str())
            .message(text)
            .send()
            .await
            .expect("texted");
    }

    // WHEN the texts to the number are read, THEN they are its own, in order
    assert_eq!(stack.texts_to(&mine).await, vec!["첫 번째", "second"]);
}

#[tokio::test]
async fn a_message_sns_refuses_stops_the_pipe_at_its_record() {
    // GIVEN three outbox items, the second too large for an SNS message
    let stack = TestStack::new().await;
    let login = Table::login(&stack).await;
    login.put(outbox_item("e1", &body("e1"))).await;
    let huge = json!({"eventId": "e2", "type": "auth.locked", "pad": "x".repeat(300_000)});
    login.put(outbox_item("e2", &huge.to_string())).await;
    login.put(outbox_item("e3", &body("e3"))).await;

    // WHEN the pipes are pumped, twice
    let first = stack.pipes().pump().await;
    let second = stack.pipes().pump().await;

    // THEN both pumps fail at that record, naming the pipe, and the pipe never
    // moves past it: what came before was published once, while e3, published
    // in the same batch as e2, goes again with every retry (at least once, as
    // Pipes retries a partly failed batch)
    for result in [first, second] {
        let err = result.expect_err("SNS refuses the message").to_string();
        assert!(err.contains("LoginOutboxPipe"), "{err}");
        assert!(err.contains("was not published"), "{err}");
    }
    // (read where the topic delivers, since `events()` would pump again)
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
    let queue = &stack
        .physical("AlertSmsEventsQueue")
        .expect("queue")
        .reference;
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("received");
    let ids: Vec<Value> = received
        .messages()
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m.body()?).ok())
        .map(|e| e["eventId"].clone())
        .collect();
    assert_eq!(ids, vec![json!("e1"), json!("e3"), json!("e3")]);
}

const LATEST_TEMPLATE: &str = r#"
Resources:
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-things"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
  Changes:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-changes"
  Inbox:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-inbox"
  InboxSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Changes
      Protocol: sqs
      Endpoint: !GetAtt Inbox.Arn
      RawMessageDelivery: true
  ChangesPipe:
    Type: AWS::Pipes::Pipe
    Properties:
      RoleArn: !GetAtt Role.Arn
      Source: !GetAtt Things.StreamArn
      SourceParameters:
        DynamoDBStreamParameters:
          StartingPosition: LATEST
      Target: !Ref Changes
  Role:
    Type: AWS::IAM::Role
"#;

/// `template` deployed in the test process's emulator as stack `name`.
async fn deploy_template(
    template: &str,
    name: &str,
) -> (devstack::deploy::Stack, shared::aws::SdkConfig) {
    use devstack::deploy;
    use devstack::template::Template;
    let emulator = tokio::task::spawn_blocking(devstack::emulator::shared)
        .await
        .expect("joined")
        .expect("the emulator runs");
    let sdk = deploy::sdk_config(emulator.endpoint()).await;
    let template = Template::parse(template, "test.yaml").expect("parses");
    let stack = deploy::deploy(
        &sdk,
        template,
        name,
        emulator.endpoint(),
        &Default::default(),
    )
    .await
    .expect("deployed");
    (stack, sdk)
}

#[tokio::test]
async fn a_latest_pipe_without_template_sends_whole_records_written_after_it_started() {
    // GIVEN a table with an item already in it, and a LATEST pipe with no filter
    // and no input template
    let name = format!("latest{}", std::process::id());
    let (stack, sdk) = deploy_template(LATEST_TEMPLATE, &name).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("{name}-things");
    let put = |pk: &'static str, n: &'static str| {
        dynamodb
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(pk.into()))
            .item("n", AttributeValue::N(n.into()))
            .send()
    };
    put("before", "1").await.expect("put");
    let pipes = devstack::Pipes::from_stack(&stack, &sdk).expect("the pipe is runnable");

    // WHEN it is pumped, an item is changed, and it is pumped again
    let at_start = pipes.pump().await.expect("pumped");
    put("before", "2").await.expect("put");
    let after_change = pipes.pump().await.expect("pumped");

    // THEN only the change was sent, as the whole record
    assert_eq!((at_start, after_change), (0, 1));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let inbox = &stack.physical("Inbox").expect("inbox").reference;
    let received = sqs
        .receive_message()
        .queue_url(inbox)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("received");
    let records: Vec<Value> = received
        .messages()
        .iter()
        .filter_map(|m| serde_json::from_str(m.body()?).ok())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    let stream = &stack.physical("Things").expect("table").attributes["StreamArn"];
    assert_eq!(record["eventName"], "MODIFY");
    assert_eq!(record["eventSource"], "aws:dynamodb");
    assert_eq!(record["eventSourceARN"], json!(stream));
    assert_eq!(record["awsRegion"], "ap-northeast-2");
    assert_eq!(record["dynamodb"]["Keys"], json!({"pk": {"S": "before"}}));
    assert_eq!(record["dynamodb"]["NewImage"]["n"], json!({"N": "2"}));
    assert_eq!(record["dynamodb"]["OldImage"]["n"], json!({"N": "1"}));
    assert_eq!(record["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert!(
        record["dynamodb"]["ApproximateCreationDateTime"].is_i64(),
        "{record}"
    );
    assert!(record["dynamodb"]["SequenceNumber"].is_string(), "{record}");
}

/// An outbox pipe to a standard queue, as alert-sms's delivery pipe is.
const QUEUE_TEMPLATE: &str = r#"
Resources:
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-things"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
        - AttributeName: sk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
        - AttributeName: sk
          KeyType: RANGE
      StreamSpecification:
        StreamViewType: NEW_IMAGE
  Delivery:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-delivery"
  DeadLetters:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-outbox-dlq"
  DeliveryPipe:
    Type: AWS::Pipes::Pipe
    Properties:
      Name: !Sub "${AWS::StackName}-delivery-outbox"
      RoleArn: !GetAtt Role.Arn
      Source: !GetAtt Things.StreamArn
      SourceParameters:
        FilterCriteria:
          Filters:
            - Pattern: '{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":["OUTBOX"]}}}}'
        DynamoDBStreamParameters:
          StartingPosition: TRIM_HORIZON
          BatchSize: 10
          MaximumRetryAttempts: 100
          DeadLetterConfig:
            Arn: !GetAtt DeadLetters.Arn
      Target: !GetAtt Delivery.Arn
      TargetParameters:
        InputTemplate: "<$.dynamodb.NewImage.event.S>"
  Role:
    Type: AWS::IAM::Role
"#;

/// A stack of [`QUEUE_TEMPLATE`] with its pipes, its table and its queue's URL.
struct QueueStack {
    stack: devstack::deploy::Stack,
    pipes: devstack::Pipes,
    things: Table,
    sqs: aws_sdk_sqs::Client,
    queue: String,
}

impl QueueStack {
    async fn new(tag: &str) -> QueueStack {
        let name = format!("q{tag}{}", std::process::id());
        let (stack, sdk) = deploy_template(QUEUE_TEMPLATE, &name).await;
        let pipes = devstack::Pipes::from_stack(&stack, &sdk).expect("the pipe is runnable");
        let queue = stack.physical("Delivery").expect("queue").reference.clone();
        QueueStack {
            things: Table {
                dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
                table: format!("{name}-things"),
            },
            sqs: aws_sdk_sqs::Client::new(&sdk),
            stack,
            pipes,
            queue,
        }
    }

    /// Every body in the queue, received and deleted.
    async fn drain(&self) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("received");
            if received.messages().is_empty() {
                return bodies;
            }
            for message in received.messages() {
                bodies.push(message.body().unwrap_or_default().to_owned());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("deleted");
            }
        }
    }
}

#[tokio::test]
async fn an_outbox_item_reaches_a_queue_target_as_its_rendered_body_and_filtered_records_do_not() {
    // GIVEN a pipe whose target is a queue (`Target: !GetAtt Delivery.Arn`)
    let q = QueueStack::new("one").await;
    let pipe = &q.pipes.pipes()[0];
    assert!(
        matches!(&pipe.target, devstack::Target::Queue { url, .. } if *url == q.queue),
        "{:?}",
        pipe.target
    );
    assert_eq!(
        pipe.target.to_string(),
        format!("queue {}-delivery", q.stack.name())
    );

    // WHEN an item that is not an outbox item is inserted, an outbox item is
    // inserted (its body spaced as a re-serialisation would not keep), then
    // modified, and the pipe is pumped after each
    q.things.put(item_at("USER#u1", "PROFILE")).await;
    let not_outbox = q.pipes.pump().await.expect("pumped");
    let text = r#"{"eventId":"e1",  "type":"alert.issued","data":{"alertId":"한1"}}"#;
    q.things.put(outbox_item("e1", text)).await;
    let inserted = q.pipes.pump().await.expect("pumped");
    q.things.put(outbox_item("e1", &body("e1-changed"))).await;
    let modified = q.pipes.pump().await.expect("pumped");

    // THEN only the INSERT of the outbox item was sent, once, with the item's
    // `event` (the input template) as the message body, byte for byte
    assert_eq!((not_outbox, inserted, modified), (0, 1, 0));
    assert_eq!(q.drain().await, vec![text.to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_outbox_items_than_one_batch_reach_a_queue_once_each_under_concurrent_pumps() {
    // GIVEN more outbox items than two SendMessageBatch calls hold
    let q = QueueStack::new("many").await;
    for i in 0..23 {
        q.things
            .put(outbox_item(&format!("e{i}"), &body(&format!("e{i}"))))
            .await;
    }

    // WHEN two pumps race
    let (a, b) = tokio::join!(q.pipes.pump(), q.pipes.pump());

    // THEN every item was sent exactly once
    assert_eq!(a.expect("pumped") + b.expect("pumped"), 23);
    let mut ids: Vec<String> = q
        .drain()
        .await
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).expect("JSON")["eventId"].to_string())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..23).map(|i| format!("\"e{i}\"")).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_batch_the_queue_refuses_is_sent_again_from_its_first_record() {
    use aws_sdk_sqs::types::QueueAttributeName;

    // GIVEN a queue that takes messages of up to 1 KiB, and three outbox items,
    // the second larger than that
    let q = QueueStack::new("refused").await;
    let limit = |bytes: &'static str| {
        q.sqs
            .set_queue_attributes()
            .queue_url(&q.queue)
            .attributes(QueueAttributeName::MaximumMessageSize, bytes)
            .send()
    };
    limit("1024").await.expect("limited");
    let large = json!({"eventId": "e2", "pad": "x".repeat(2000)}).to_string();
    q.things.put(outbox_item("e1", &body("e1"))).await;
    q.things.put(outbox_item("e2", &large)).await;
    q.things.put(outbox_item("e3", &body("e3"))).await;

    // WHEN the pipe is pumped twice, and again once the queue takes the message
    let first = q.pipes.pump().await;
    let second = q.pipes.pump().await;
    let queued_meanwhile = q.drain().await;
    limit("262144").await.expect("limit raised");
    let third = q.pipes.pump().await;

    // THEN the refused batch failed as a whole, naming the pipe and the call,
    // and nothing moved past its first record: nothing was queued, and once
    // the queue takes it, all three are sent, once each
    for result in [first, second] {
        let err = result.expect_err("the queue refuses the batch").to_string();
        assert!(err.contains("DeliveryPipe"), "{err}");
        assert!(err.contains("SendMessageBatch"), "{err}");
    }
    assert!(queued_meanwhile.is_empty(), "{queued_meanwhile:?}");
    assert_eq!(third.expect("pumped"), 3);
    let mut ids: Vec<Value> = q
        .drain()
        .await
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).expect("JSON")["eventId"].clone())
        .collect();
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(ids, vec![json!("e1"), json!("e2"), json!("e3")]);
}

#[tokio::test]
async fn an_alert_sms_outbox_item_is_carried_to_the_delivery_queue_and_fed_to_alert_sms() {
    // GIVEN the workspace stack, and an outbox item in alert-sms's table beside
    // an item that is not one
    let stack = TestStack::new().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = stack
        .env("alert-sms")
        .get("ALERT_SMS_TABLE")
        .expect("ALERT_SMS_TABLE");
    let text =
        json!({"eventId": "a1", "type": "alert.issued", "data": {"alertId": "x1"}}).to_string();
    for put in [outbox_item("a1", &text), item_at("ALERT#x1", "ALERT")] {
        dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(put.item().clone()))
            .send()
            .await
            .expect("put");
    }

    // WHEN the test stack carries its outbox items
    let carried = stack.carry_events().await;

    // THEN the outbox item went to the delivery queue (not the events topic),
    // where alert-sms's AlertDelivery event receives it with its body verbatim
    assert_eq!(carried, 1);
    assert!(stack.events().await.is_empty(), "not on the events topic");
    let source = stack.sqs_source("alert-sms", "AlertDelivery");
    assert_eq!(source.queue, "AlertDeliveryQueue");
    let delivered = source
        .poll_once(1, |event| async move {
            let bodies: Vec<Value> = event["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["body"].clone())
                .collect();
            assert_eq!(bodies, vec![json!(text)]);
            Ok(Value::Null)
        })
        .await
        .expect("polled");
    assert_eq!((delivered.received, delivered.deleted), (1, 1));
}
