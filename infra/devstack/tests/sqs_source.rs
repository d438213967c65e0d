//! SQS event sources against the emulator: a function's queue fed to a handler
//! as Lambda's event source mapping feeds it.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use devstack::{Delivered, SqsSource, TestStack};
use serde_json::{Value, json};

/// The domain events queue of alert-sms in a fresh stack, with a visibility
/// timeout of one second so that retries show quickly.
async fn alert_sms_queue() -> (TestStack, SqsSource, aws_sdk_sqs::Client) {
    let stack = TestStack::new().await;
    let source = stack.sqs_source("alert-sms", "DomainEvents");
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
    sqs.set_queue_attributes()
        .queue_url(&source.queue_url)
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .expect("visibility timeout set");
    (stack, source, sqs)
}

async fn send(sqs: &aws_sdk_sqs::Client, source: &SqsSource, bodies: &[&str]) {
    for body in bodies {
        sqs.send_message()
            .queue_url(&source.queue_url)
            .message_body(*body)
            .send()
            .await
            .expect("sent");
    }
}

/// Past the visibility timeout of [`alert_sms_queue`].
async fn wait_for_visibility() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

/// The message id of the record whose body is `body`.
fn id_of(event: &Value, body: &str) -> String {
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["body"] == body)
        .and_then(|r| r["messageId"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_alert_sms_source_is_read_from_the_template() {
    let (stack, source, _) = alert_sms_queue().await;
    assert_eq!(source.function, "AlertSmsFunction");
    assert_eq!(source.binary, "alert-sms");
    assert_eq!(source.event, "DomainEvents");
    assert_eq!(
        source.queue_name,
        format!("{}-alert-sms-events", stack.name())
    );
    assert_eq!(source.batch_size, 10);
    assert!(source.report_batch_item_failures);
    assert_eq!(
        source.invocation_url("http://127.0.0.1:9000/"),
        "http://127.0.0.1:9000/2015-03-31/functions/alert-sms/invocations"
    );
}

#[tokio::test]
async fn a_source_deletes_what_the_function_handled_and_keeps_its_reported_failures() {
    // GIVEN three messages in the queue
    let (_stack, source, sqs) = alert_sms_queue().await;
    send(&sqs, &source, &["a", "b", "c"]).await;

    // WHEN the function reports "b" as failed
    let delivered = source
        .poll_once(1, |event| async move {
            let records = event["Records"].as_array().cloned().unwrap_or_default();
            assert_eq!(records.len(), 3, "{event}");
            for record in &records {
                assert_eq!(record["eventSource"], "aws:sqs");
                assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
                assert!(record["receiptHandle"].is_string() && record["md5OfBody"].is_string());
            }
            Ok(json!({"batchItemFailures": [{"itemIdentifier": id_of(&event, "b")}]}))
        })
        .await
        .expect("polled");

    // THEN "a" and "c" are gone and "b" comes back after the visibility timeout
    assert_eq!(
        delivered,
        Delivered {
            received: 3,
            deleted: 2,
            left_for_retry: 1,
            failure: None
        }
    );
    wait_for_visibility().await;
    let retried = source
        .poll_once(1, |event| async move {
            let records = event["Records"].as_array().cloned().unwrap_or_default();
            let bodies: Vec<&Value> = records.iter().map(|r| &r["body"]).collect();
            assert_eq!(bodies, vec!["b"]);
            assert_eq!(records[0]["attributes"]["ApproximateReceiveCount"], "2");
            Ok(Value::Null)
        })
        .await
        .expect("polled");
    assert_eq!((retried.received, retried.deleted), (1, 1));
    wait_for_visibility().await;
    let nothing = source
        .poll_once(0, |_| async { panic!("an empty receive invokes nothing") })
        .await
        .expect("polled");
    assert_eq!(nothing, Delivered::default());
}

#[tokio::test]
async fn a_failed_invocation_or_a_malformed_answer_leaves_every_message() {
    // GIVEN two messages
    let (_stack, source, sqs) = alert_sms_queue().await;
    send(&sqs, &source, &["a", "b"]).await;

    // WHEN the invocation fails
    let failed = source
        .poll_once(1, |_| async { Err("the function panicked".to_owned()) })
        .await
        .expect("polled");

    // THEN both stay, and the reason is kept
    assert_eq!(
        (failed.received, failed.deleted, failed.left_for_retry),
        (2, 0, 2)
    );
    assert!(
        failed
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("panicked")),
        "{failed:?}"
    );

    // WHEN the function names a message that is not in the batch
    wait_for_visibility().await;
    let malformed = source
        .poll_once(1, |_| async {
            Ok(json!({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}))
        })
        .await
        .expect("polled");

    // THEN the whole batch counts as failed, as in Lambda
    assert_eq!((malformed.received, malformed.deleted), (2, 0));
    assert!(malformed.failure.is_some());

    // WHEN it finally succeeds, THEN both are deleted
    wait_for_visibility().await;
    let done = source
        .poll_once(1, |_| async { Ok(json!({"batchItemFailures": []})) })
        .await
        .expect("polled");
    assert_eq!(
        (done.received, done.deleted, done.left_for_retry),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_goes_to_the_dead_letter_queue() {
    // GIVEN a message the function always fails (the template's redrive policy
    // allows 5 receives)
    let (stack, source, sqs) = alert_sms_queue().await;
    send(&sqs, &source, &["poison"]).await;

    // WHEN it has been received and failed five times
    for _ in 0..5 {
        let polled = source
            .poll_once(1, |_| async { Err("always".to_owned()) })
            .await
            .expect("polled");
        assert_eq!(polled.received, 1);
        wait_for_visibility().await;
    }
    let sixth = source
        .poll_once(0, |_| async { Err("always".to_owned()) })
        .await
        .expect("polled");

    // THEN it is no longer offered, and waits in the dead-letter queue
    assert_eq!(sixth.received, 0);
    let dlq = &stack
        .physical("AlertSmsEventsDeadLetterQueue")
        .expect("dlq")
        .reference;
    let dead = sqs
        .receive_message()
        .queue_url(dlq)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("received");
    let bodies: Vec<&str> = dead.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec!["poison"]);
}

/// One HTTP request as a server sees it: the request line and the body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, String) {
    use tokio::io::AsyncReadExt;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the client closed early");
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
            let line = head.lines().next().unwrap_or_default().to_owned();
            return (line, body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_invokes_the_function_through_the_invoke_api_of_cargo_lambda_watch() {
    use tokio::io::AsyncWriteExt;

    // GIVEN a stand-in for cargo lambda watch that records its invocations and
    // answers each with an empty batch response, and a message in the queue
    let (_stack, source, sqs) = alert_sms_queue().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let api = format!("http://{}", listener.local_addr().expect("bound"));
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let request = read_request(&mut socket).await;
            let answer = r#"{"batchItemFailures":[]}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
            socket
                .write_all(response.as_bytes())
                .await
                .expect("answered");
            let _ = seen_tx.send(request);
        }
    });
    send(&sqs, &source, &["hello"]).await;

    // WHEN the source runs against it
    let queue_url = source.queue_url.clone();
    let running = tokio::spawn(source.run(api));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
            .await
            .expect("invoked in time")
            .expect("recorded")
    };

    // THEN it first warms the function up with an empty batch (cargo lambda
    // watch compiles a function at its first call)
    let (line, body) = next().await;
    assert_eq!(
        line,
        "POST /2015-03-31/functions/alert-sms/invocations HTTP/1.1"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"Records": []})
    );

    // AND the event was posted to the function's Invoke API, and the message
    // is deleted once the function answered
    let (line, body) = next().await;
    assert_eq!(
        line,
        "POST /2015-03-31/functions/alert-sms/invocations HTTP/1.1"
    );
    let event: Value = serde_json::from_str(&body).expect("a JSON event");
    assert_eq!(event["Records"][0]["body"], "hello");
    let mut remaining = None;
    for _ in 0..50 {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("attributes");
        // A count the emulator does not give counts as a message left.
        let count = |name| {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .map_or(1, |v| v.parse::<u32>().unwrap_or(1))
        };
        let left = count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
        remaining = Some(left);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.abort();
    assert_eq!(remaining, Some(0), "the message was deleted");
}

/// A function fed by two queues, as alert-sms is (domain events and deliveries).
const TWO_QUEUES_TEMPLATE: &str = r#"
Resources:
  First:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-first"
  Second:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-second"
  TexterFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: texter
    Properties:
      CodeUri: ..
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Second.Arn
            BatchSize: 5
            FunctionResponseTypes:
              - ReportBatchItemFailures
            ScalingConfig:
              MaximumConcurrency: 50
        Events:
          Type: SQS
          Properties:
            Queue: !GetAtt First.Arn
            BatchSize: 10
            FunctionResponseTypes:
              - ReportBatchItemFailures
"#;

#[tokio::test]
async fn a_function_with_two_sqs_events_is_fed_from_both_queues() {
    use devstack::deploy;
    use devstack::template::Template;

    // GIVEN a function with two SQS events, a message waiting in each queue
    let emulator = tokio::task::spawn_blocking(devstack::emulator::shared)
        .await
        .expect("joined")
        .expect("the emulator runs");
    let sdk = deploy::sdk_config(emulator.endpoint()).await;
    let template = Template::parse(TWO_QUEUES_TEMPLATE, "two.yaml").expect("parses");
    let name = format!("two{}", std::process::id());
    let stack = deploy::deploy(
        &sdk,
        template,
        &name,
        emulator.endpoint(),
        &Default::default(),
    )
    .await
    .expect("deployed");
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for (queue, body) in [("First", "to first"), ("Second", "to second")] {
        sqs.send_message()
            .queue_url(&stack.physical(queue).expect("queue").reference)
            .message_body(body)
            .send()
            .await
            .expect("sent");
    }

    // WHEN its sources are read, as tests (`TestStack::sqs_sources`) and
    // `cargo dev` (`SqsSource::all`, one poller each) read them
    let sources = SqsSource::for_function(&stack, &sdk, "texter").expect("feedable");
    let all = SqsSource::all(&stack, &sdk).expect("feedable");

    // THEN there is one per event, ordered by event name, each with its own
    // queue and settings
    let read: Vec<(&str, &str, usize)> = sources
        .iter()
        .map(|s| (s.event.as_str(), s.queue.as_str(), s.batch_size))
        .collect();
    assert_eq!(read, vec![("Events", "First", 10), ("Work", "Second", 5)]);
    let everywhere: Vec<&str> = all.iter().map(|s| s.queue.as_str()).collect();
    assert_eq!(everywhere, vec!["First", "Second"]);
    // AND each feeds the function its own queue's message
    for (source, expected) in sources.iter().zip(["to first", "to second"]) {
        let arn = source.queue_arn.clone();
        let delivered = source
            .poll_once(1, |event| async move {
                let records = event["Records"].as_array().cloned().unwrap_or_default();
                assert_eq!(records.len(), 1, "{event}");
                assert_eq!(records[0]["body"], expected);
                assert_eq!(records[0]["eventSourceARN"], json!(arn));
                Ok(Value::Null)
            })
            .await
            .expect("polled");
        assert_eq!((delivered.received, delivered.deleted), (1, 1));
    }
}

#[tokio::test]
async fn every_sqs_event_of_alert_sms_can_be_fed_on_a_test_stack() {
    // GIVEN the workspace template's alert-sms
    let stack = TestStack::new().await;

    // WHEN its sources are read
    let sources = stack.sqs_sources("alert-sms");

    // THEN its domain events are among them, and each source has a queue of
    // this stack that it can poll
    assert!(
        sources.iter().any(|s| s.event == "DomainEvents"),
        "{sources:?}"
    );
    for source in &sources {
        assert!(source.queue_name.starts_with(stack.name()), "{source:?}");
        let polled = source
            .poll_once(0, |_| async { panic!("the queue is empty") })
            .await
            .expect("polled");
        assert_eq!(polled, Delivered::default());
    }
}
