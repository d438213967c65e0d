//! TestStack against the emulator: the same SDK calls production makes.

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ScalarAttributeType, TimeToLiveStatus};
use devstack::{EVENTS_TOPIC, TestStack};
use serde_json::json;

#[tokio::test]
async fn a_test_stack_has_the_login_table_with_its_keys_and_ttl() {
    // GIVEN a fresh stack
    let stack = TestStack::new().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = format!("{}-login", stack.name());

    // WHEN the table is described
    let described = dynamodb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("table exists");
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("ttl described");

    // THEN it has the template's keys, billing and TTL
    let description = described.table().expect("a description");
    let keys: Vec<(&str, KeyType)> = description
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().clone()))
        .collect();
    assert_eq!(keys, vec![("pk", KeyType::Hash), ("sk", KeyType::Range)]);
    for attribute in description.attribute_definitions() {
        assert_eq!(attribute.attribute_type(), &ScalarAttributeType::S);
    }
    assert_eq!(
        description
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let ttl = ttl.time_to_live_description().expect("ttl");
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn two_test_stacks_get_distinct_names_and_tables() {
    let (a, b) = (TestStack::new().await, TestStack::new().await);
    assert_ne!(a.name(), b.name());
    assert_eq!(a.endpoint(), b.endpoint(), "one emulator per test process");
    let table = |s: &TestStack| s.env("login").get("LOGIN_TABLE").expect("LOGIN_TABLE");
    assert_ne!(table(&a), table(&b));
    assert_eq!(table(&a), format!("{}-login", a.name()));
}

#[tokio::test]
async fn env_points_the_function_at_this_stack_and_the_emulator() {
    let stack = TestStack::new().await;
    let env = stack.env("login");
    assert_eq!(
        env.get("AWS_ENDPOINT_URL").as_deref(),
        Some(stack.endpoint())
    );
    assert_eq!(env.get("AWS_REGION").as_deref(), Some("ap-northeast-2"));
    assert_eq!(
        env.get("TOKEN_ISSUER").as_deref(),
        Some("http://127.0.0.1:9000")
    );
    assert_eq!(
        env.get("LOGIN_TABLE"),
        Some(format!("{}-login", stack.name()))
    );
}

#[tokio::test]
async fn the_signing_keys_secret_holds_a_fresh_key_set() {
    // GIVEN two stacks
    let (a, b) = (TestStack::new().await, TestStack::new().await);
    let secrets = aws_sdk_secretsmanager::Client::new(&a.sdk_config().await);

    // WHEN the login function reads its secret
    let secret_id = a
        .env("login")
        .get("SIGNING_KEYS_SECRET_ID")
        .expect("secret id");
    let value = secrets
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .expect("secret has a value");

    // THEN it is the stack's own key set
    assert_eq!(value.secret_string(), Some(a.signing_keys()));
    assert_ne!(a.signing_keys(), b.signing_keys());
    let keys: serde_json::Value = serde_json::from_str(a.signing_keys()).expect("JSON");
    assert!(keys["keys"][0]["kid"].is_string(), "{keys}");
}

#[tokio::test]
async fn events_returns_what_was_published_to_the_events_topic() {
    // GIVEN a stack, and a message published straight to its events topic
    let stack = TestStack::new().await;
    let sns = aws_sdk_sns::Client::new(&stack.sdk_config().await);
    let topic = stack
        .physical(EVENTS_TOPIC)
        .expect("topic")
        .reference
        .clone();
    assert!(topic.starts_with("arn:aws:sns:ap-northeast-2:"), "{topic}");
    assert!(
        topic.ends_with(&format!(":{}-events", stack.name())),
        "{topic}"
    );
    let body = json!({"eventId": "e1", "type": "auth.locked", "userId": "u1", "data": {}});
    sns.publish()
        .topic_arn(&topic)
        .message(body.to_string())
        .message_attributes(
            "type",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("auth.locked")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("published");

    // WHEN the test asks for the events
    let events = stack.events().await;
    let published = stack.published().await;

    // THEN the body comes back parsed, with its attributes, and stays listed
    assert_eq!(events, vec![body.clone()]);
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].attributes.get("type").map(String::as_str),
        Some("auth.locked")
    );
    assert!(
        TestStack::new().await.events().await.is_empty(),
        "stacks do not share events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_are_atomic_under_concurrency_as_in_dynamodb() {
    // A race shows only sometimes, so the same race runs on three counters.
    let stack = TestStack::new().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk_config().await);
    let table = stack.env("login").get("LOGIN_TABLE").expect("table");
    for counter in 0..3 {
        // GIVEN 64 clients racing to bump a counter that stops at 5
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (dynamodb, table) = (dynamodb.clone(), table.clone());
            racers.spawn(async move {
                dynamodb
                    .update_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S("race".into()))
                    .key("sk", AttributeValue::S(format!("counter{counter}")))
                    .update_expression("SET n = if_not_exists(n, :zero) + :one")
                    .condition_expression("attribute_not_exists(n) OR n < :max")
                    .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":max", AttributeValue::N("5".into()))
                    .send()
                    .await
                    .is_ok()
            });
        }

        // WHEN they all finish
        let passed = racers.join_all().await.into_iter().filter(|ok| *ok).count();

        // THEN exactly five got through, as DynamoDB guarantees
        assert_eq!(passed, 5, "counter {counter}");
    }
}

/// A generated secret, as the template's cursor key, beside one left empty.
const SECRETS_TEMPLATE: &str = r#"
Resources:
  CursorSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}-cursor"
      GenerateSecretString:
        PasswordLength: 64
        ExcludePunctuation: true
  EmptySecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}-empty"
"#;

#[tokio::test]
async fn a_secret_with_generate_secret_string_gets_a_fresh_random_value_per_stack() {
    use devstack::deploy;
    use devstack::template::Template;

    // GIVEN the template deployed as two stacks
    let emulator = tokio::task::spawn_blocking(devstack::emulator::shared)
        .await
        .expect("joined")
        .expect("the emulator runs");
    let sdk = deploy::sdk_config(emulator.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut values = Vec::new();
    for n in 1..=2 {
        let template = Template::parse(SECRETS_TEMPLATE, "secrets.yaml").expect("parses");
        let name = format!("sec{n}x{}", std::process::id());
        let stack = deploy::deploy(
            &sdk,
            template,
            &name,
            emulator.endpoint(),
            &Default::default(),
        )
        .await
        .expect("deployed");

        // WHEN their secrets are read
        let generated = secrets
            .get_secret_value()
            .secret_id(&stack.physical("CursorSecret").expect("secret").reference)
            .send()
            .await
            .expect("the generated secret has a value");
        let empty = secrets
            .get_secret_value()
            .secret_id(&stack.physical("EmptySecret").expect("secret").reference)
            .send()
            .await;

        // THEN the generated one holds 64 letters and digits, and the other none
        let value = generated.secret_string().unwrap_or_default().to_owned();
        assert_eq!(value.len(), 64, "{value}");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
        assert!(empty.is_err(), "a secret without a value: {empty:?}");
        values.push(value);
    }
    // AND each stack has its own value
    assert_ne!(values[0], values[1]);
}

#[tokio::test]
async fn the_alert_sms_cursor_secret_is_generated_for_each_test_stack() {
    // GIVEN two stacks of the workspace template
    let (a, b) = (TestStack::new().await, TestStack::new().await);
    let secrets = aws_sdk_secretsmanager::Client::new(&a.sdk_config().await);

    // WHEN alert-sms's cursor secret is read in each
    let mut values = Vec::new();
    for stack in [&a, &b] {
        let id = stack
            .env("alert-sms")
            .get("CURSOR_SECRET_ID")
            .expect("CURSOR_SECRET_ID");
        let value = secrets
            .get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .expect("the secret has a value");
        values.push(value.secret_string().unwrap_or_default().to_owned());
    }

    // THEN each holds its own 64 letters and digits, as the template asks
    for value in &values {
        assert_eq!(value.len(), 64, "{value}");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{value}");
    }
    assert_ne!(values[0], values[1]);
}
