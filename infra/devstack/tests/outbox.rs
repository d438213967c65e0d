//! The outbox pipes against the emulator: items written to a table travel from
//! its stream to the events topic as they would through EventBridge Pipes.

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

struct Login {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

impl Login {
    async fn of(stack: &TestStack) -> Login {
        Login {
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
    let login = Login::of(&stack).await;
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
    let login = Login::of(&stack).await;
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
    let login = Login::of(&stack).await;
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
    let login = Login::of(&stack).await;
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
    let login = Login::of(&stack).await;
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
    let login = Login::of(&stack).await;
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

#[tokio::test]
async fn a_latest_pipe_without_template_sends_whole_records_written_after_it_started() {
    use devstack::deploy;
    use devstack::template::Template;

    // GIVEN a table with an item already in it, and a LATEST pipe with no filter
    // and no input template
    let emulator = tokio::task::spawn_blocking(devstack::emulator::shared)
        .await
        .expect("joined")
        .expect("the emulator runs");
    let sdk = deploy::sdk_config(emulator.endpoint()).await;
    let template = Template::parse(LATEST_TEMPLATE, "latest.yaml").expect("parses");
    let name = format!("latest{}", std::process::id());
    let stack = deploy::deploy(
        &sdk,
        template,
        &name,
        emulator.endpoint(),
        &Default::default(),
    )
    .await
    .expect("deployed");
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
