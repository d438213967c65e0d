//! The template reader and resolver, without the emulator.

use std::collections::{BTreeMap, BTreeSet};

use devstack::deploy::{local_parameters, resource_name};
use devstack::resolve::{Context, Physical};
use devstack::template::{Kind, Template};
use devstack::{ACCOUNT_ID, LOCAL_ISSUER, REGION};
use serde_json::{Value, json};

fn workspace_template() -> Template {
    Template::workspace().expect("infra/template.yaml parses")
}

fn context_for(template: &Template, stack: &str) -> Context {
    Context::new(template, stack, REGION, ACCOUNT_ID, &local_parameters())
}

#[test]
fn the_template_parses_and_every_resource_type_is_known() {
    // GIVEN the project's template, WHEN it is read (unknown types are refused)
    let template = workspace_template();

    // THEN the login resources are there with the kinds devstack acts on
    let kind = |id: &str| template.resource(id).map(|r| r.kind);
    assert_eq!(kind("LoginTable"), Some(Kind::Table));
    assert_eq!(kind("EventsTopic"), Some(Kind::Topic));
    assert_eq!(kind("SigningKeysSecret"), Some(Kind::Secret));
    assert_eq!(kind("LoginFunction"), Some(Kind::Function));
    assert_eq!(kind("HttpApi"), Some(Kind::Ignored));
    assert_eq!(kind("LoginOutboxPipe"), Some(Kind::Pipe));
    for resource in template.resources() {
        assert_eq!(
            Kind::of(&resource.type_name),
            Some(resource.kind),
            "{}",
            resource.logical_id
        );
    }
}

#[test]
fn resource_names_come_from_the_template_and_the_stack_name() {
    let template = workspace_template();
    let context = context_for(&template, "pocketgov");
    let name = |id: &str| resource_name(&context, template.resource(id).expect(id)).expect(id);
    assert_eq!(name("LoginTable"), "pocketgov-login");
    assert_eq!(name("EventsTopic"), "pocketgov-events");
    assert_eq!(name("SigningKeysSecret"), "pocketgov-signing-keys");
}

#[test]
fn login_environment_is_what_the_contracts_say() {
    // GIVEN the login resources created under stack `s1`
    let template = workspace_template();
    let mut context = context_for(&template, "s1");
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/s1-login");
    context.insert(
        "LoginTable",
        Physical::new("s1-login").with("Arn", &table_arn),
    );
    let secret =
        format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:s1-signing-keys-AbCdEf");
    context.insert("SigningKeysSecret", Physical::new(&secret));

    // WHEN the function `login` is looked up by its binary name and its variables resolved
    let function = template.function("login").expect("login function");
    let env: BTreeMap<String, String> = template
        .function_environment(function)
        .into_iter()
        .map(|(k, v)| (k, context.resolve_string(&v).expect("resolves")))
        .collect();

    // THEN they are exactly the contract's
    let expected: BTreeMap<String, String> = [
        ("LOGIN_TABLE", "s1-login"),
        ("SIGNING_KEYS_SECRET_ID", secret.as_str()),
        ("TOKEN_ISSUER", LOCAL_ISSUER),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(env, expected);
    assert_eq!(function.logical_id, "LoginFunction");
    assert_eq!(
        template
            .function("LoginFunction")
            .map(|f| &f.logical_id)
            .ok(),
        Some(&function.logical_id)
    );
    assert!(template.function("nope").is_err());
}

const SAMPLE: &str = r#"
Parameters:
  Stage:
    Type: String
    Default: dev
  NoDefault:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q"
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub
        - "${AWS::StackName}-${Suffix}"
        - Suffix: !Ref Stage
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: tax-refund
    Properties:
      Environment:
        Variables:
          A: !Sub "${AWS::Region}:${AWS::AccountId}:${Queue.Arn}:${Table}:${!Literal}"
          B: !GetAtt Queue.Arn
          C: !Ref Queue
          D: !Join [",", [!Ref Stage, "x", !Ref "AWS::StackName"]]
          E: 42
          F: !Ref NoDefault
          G: { "Fn::GetAtt": ["Queue", "QueueName"] }
Globals:
  Function:
    Environment:
      Variables:
        RUST_LOG: debug
        E: overridden
"#;

#[test]
fn sub_ref_and_getatt_resolve_as_cloudformation_would() {
    // GIVEN a template and created resources
    let template = Template::parse(SAMPLE, "sample.yaml").expect("parses");
    let mut context = Context::new(&template, "st", REGION, ACCOUNT_ID, &BTreeMap::new());
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:st-q");
    context.insert(
        "Queue",
        Physical::new("http://q/st-q")
            .with("Arn", &queue_arn)
            .with("QueueName", "st-q"),
    );
    context.insert("Table", Physical::new("st-dev"));

    // WHEN names and variables are resolved
    let name = |id: &str| resource_name(&context, template.resource(id).expect(id)).expect(id);
    let function = template
        .function("tax-refund")
        .expect("found by binary name");
    assert_eq!(
        template
            .function("TaxRefund")
            .ok()
            .map(|f| f.logical_id.as_str()),
        None
    );
    let env = template.function_environment(function);
    let get = |k: &str| context.resolve_string(&env[k]);

    // THEN
    assert_eq!(name("Queue"), "st-q");
    assert_eq!(
        name("Table"),
        "st-dev",
        "long-form !Sub with a variable map"
    );
    assert_eq!(
        get("A").unwrap(),
        format!("{REGION}:{ACCOUNT_ID}:{queue_arn}:st-dev:${{Literal}}")
    );
    assert_eq!(get("B").unwrap(), queue_arn);
    assert_eq!(
        get("C").unwrap(),
        "http://q/st-q",
        "a queue's Ref is its URL"
    );
    assert_eq!(get("D").unwrap(), "dev,x,st");
    assert_eq!(
        get("E").unwrap(),
        "42",
        "the function's own value wins over Globals"
    );
    assert_eq!(get("RUST_LOG").unwrap(), "debug", "Globals apply");
    assert_eq!(get("G").unwrap(), "st-q");
    let err = get("F").unwrap_err().to_string();
    assert!(
        err.contains("NoDefault"),
        "an unresolvable reference is named: {err}"
    );
}

#[test]
fn unknown_attributes_and_intrinsics_are_errors_that_name_them() {
    let template = Template::parse(SAMPLE, "sample.yaml").expect("parses");
    let context = Context::new(&template, "st", REGION, ACCOUNT_ID, &BTreeMap::new());
    let err = context
        .resolve(&json!({"Fn::GetAtt": ["Queue", "Arn"]}))
        .unwrap_err();
    assert!(err.to_string().contains("Queue.Arn"), "{err}");
    let err = context
        .resolve(&json!({"Fn::If": ["c", "a", "b"]}))
        .unwrap_err();
    assert!(err.to_string().contains("Fn::If"), "{err}");
    // Plain mappings and lists resolve member by member.
    let value = context
        .resolve(
            &json!({"a": [{"Ref": "AWS::StackName"}, 1], "b": {"Fn::Sub": "${AWS::Partition}"}}),
        )
        .unwrap();
    assert_eq!(value, json!({"a": ["st", 1], "b": "aws"}));
}

/// `(METHOD, path) -> function` from `[workspace.metadata.lambda.watch.router]`.
fn watch_routes() -> BTreeMap<(String, String), String> {
    let path = devstack::workspace_root().join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&path)
        .expect("root Cargo.toml")
        .parse()
        .expect("valid TOML");
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a router table")
        .clone();
    let mut routes = BTreeMap::new();
    for (path, target) in router {
        for entry in target
            .as_array()
            .expect("routes are lists of {method, function}")
        {
            let method = entry["method"].as_str().expect("method").to_owned();
            let function = entry["function"].as_str().expect("function").to_owned();
            routes.insert((method, path.clone()), function);
        }
    }
    routes
}

#[test]
fn the_local_router_serves_exactly_the_template_routes() {
    // GIVEN the HttpApi routes of every function in the template
    let template = workspace_template();
    let mut expected = BTreeMap::new();
    for function in template.of_kind(Kind::Function) {
        let binary = function.binary().expect("every function names its binary");
        for route in template.http_routes(function) {
            expected.insert(route, binary.to_owned());
        }
    }
    assert!(
        expected.len() >= 16,
        "the login routes of api.md are in the template"
    );

    // THEN cargo lambda watch maps the same routes to the same functions
    assert_eq!(watch_routes(), expected);
}

/// `(METHOD, path)` of a function's HttpApi events that opt out of the authorizer.
fn open_routes(template: &Template, function: &str) -> BTreeSet<(String, String)> {
    let function = template.function(function).expect(function);
    let Some(Value::Object(events)) = function.property("Events") else {
        panic!("{} has events", function.logical_id);
    };
    events
        .values()
        .filter(|e| e["Type"] == "HttpApi" && e["Properties"]["Auth"]["Authorizer"] == "NONE")
        .map(|e| {
            let p = &e["Properties"];
            let method = p["Method"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_uppercase();
            (method, p["Path"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn routes(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

#[test]
fn routes_that_need_no_token_opt_out_of_the_authorizer() {
    let template = workspace_template();
    // THEN exactly these routes are public; every other route needs a token
    assert_eq!(
        open_routes(&template, "login"),
        routes(&[
            ("POST", "/v1/auth/signup"),
            ("POST", "/v1/auth/login"),
            ("POST", "/v1/auth/login/otp"),
            ("POST", "/v1/auth/login/device/challenge"),
            ("POST", "/v1/auth/login/device"),
            ("POST", "/v1/auth/login/pattern"),
            ("POST", "/v1/auth/token"),
            ("POST", "/v1/auth/logout"),
            ("GET", "/.well-known/jwks.json"),
            ("GET", "/.well-known/openid-configuration"),
        ])
    );
    assert_eq!(
        open_routes(&template, "certificate"),
        routes(&[
            ("GET", "/v1/certificates/{issueNumber}/verification"),
            ("POST", "/v1/certificates/verify"),
            ("GET", "/v1/certificates/keys"),
        ])
    );
    // Reading issued alerts is public (api.md); issuing, approving and
    // subscribing are not.
    assert_eq!(
        open_routes(&template, "alert-sms"),
        routes(&[("GET", "/v1/alerts"), ("GET", "/v1/alerts/{alertId}")])
    );
}

#[test]
fn alert_sms_environment_names_every_resource_it_uses() {
    let template = workspace_template();
    let function = template.function("alert-sms").expect("alert-sms");
    let names: Vec<String> = template
        .function_environment(function)
        .into_keys()
        .collect();
    assert_eq!(
        names,
        [
            "ALERTS_TOPIC_ARN",
            "ALERT_DELIVERY_QUEUE_URL",
            "ALERT_SMS_TABLE",
            "CURSOR_SECRET_ID",
            "LOGIN_TABLE",
            "RUST_LOG",
            "TOKEN_ISSUER",
        ]
    );
}

/// Lambda's default when a function sets no `Timeout`.
const DEFAULT_TIMEOUT_SECONDS: u64 = 3;

#[test]
fn sqs_event_queues_outlast_six_function_timeouts() {
    // GIVEN every SQS event of every function
    let template = workspace_template();
    let mut checked = 0;
    for function in template.of_kind(Kind::Function) {
        let timeout = function
            .property("Timeout")
            .map(|t| t.as_u64().expect("Timeout is a number"))
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        let Some(Value::Object(events)) = function.property("Events") else {
            continue;
        };
        for (name, event) in events.iter().filter(|(_, e)| e["Type"] == "SQS") {
            let queue = match &event["Properties"]["Queue"]["Fn::GetAtt"] {
                Value::Array(parts) if parts.len() == 2 && parts[1] == "Arn" => {
                    parts[0].as_str().unwrap_or_default()
                }
                other => panic!("{name}: Queue is not a queue of the template: {other}"),
            };
            let queue = template.resource(queue).expect(queue);
            assert_eq!(queue.kind, Kind::Queue, "{name}");
            // THEN its queue hides a message for at least six timeouts, as
            // Lambda advises (retries and batching windows), so that a message
            // being handled is not delivered twice at once
            let visibility = queue
                .property("VisibilityTimeout")
                .and_then(Value::as_u64)
                .unwrap_or(30);
            assert!(
                visibility >= 6 * timeout,
                "{}: {} hides messages {visibility} s, under 6 x {timeout} s",
                function.logical_id,
                queue.logical_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "alert-sms's queues are checked");
}

/// IAM's resource match: `*` any run of characters, `?` any one.
fn iam_matches(pattern: &str, resource: &str) -> bool {
    fn go(p: &[char], r: &[char]) -> bool {
        match p.split_first() {
            None => r.is_empty(),
            Some(('*', rest)) => (0..=r.len()).any(|i| go(rest, &r[i..])),
            Some((c, rest)) => r
                .split_first()
                .is_some_and(|(d, r)| (*c == '?' || c == d) && go(rest, r)),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let r: Vec<char> = resource.chars().collect();
    go(&p, &r)
}

#[test]
fn alert_sms_publishes_texts_and_alerts_but_no_other_topic() {
    // GIVEN alert-sms's statements about sns:Publish, resolved under stack `s1`
    let template = workspace_template();
    let mut context = context_for(&template, "s1");
    let topic = |name: &str| format!("arn:aws:sns:{REGION}:{ACCOUNT_ID}:s1-{name}");
    context.insert("AlertsTopic", Physical::new(topic("alerts")));
    let function = template.function("alert-sms").expect("alert-sms");
    let policies = function.property("Policies").expect("Policies");
    let statements: Vec<Value> = policies
        .as_array()
        .expect("a list of policies")
        .iter()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
        .filter(|s| {
            let actions = match &s["Action"] {
                Value::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            actions.iter().any(|a| a == "sns:Publish" || a == "sns:*")
        })
        .map(|s| context.resolve(&s).expect("resolves"))
        .collect();
    assert!(!statements.is_empty());

    // WHEN Publish is evaluated as IAM does (an explicit Deny wins over any Allow)
    let list = |v: &Value| match v {
        Value::Null => None,
        Value::Array(a) => Some(a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()),
        one => Some(vec![one.as_str().unwrap().to_owned()]),
    };
    let applies = |statement: &Value, resource: &str| {
        assert!(statement.get("Condition").is_none(), "{statement}");
        match (
            list(&statement["Resource"]),
            list(&statement["NotResource"]),
        ) {
            (Some(r), None) => r.iter().any(|p| iam_matches(p, resource)),
            (None, Some(n)) => !n.iter().any(|p| iam_matches(p, resource)),
            _ => panic!("Resource or NotResource: {statement}"),
        }
    };
    let allowed = |resource: &str| {
        let effect = |e: &str| {
            statements
                .iter()
                .any(|s| s["Effect"] == e && applies(s, resource))
        };
        effect("Allow") && !effect("Deny")
    };

    // THEN the alerts topic and phone numbers (no topic ARN) are allowed, and
    // no other topic or platform endpoint, of this account or another
    assert!(allowed(&topic("alerts")));
    assert!(allowed("+821012345678"));
    assert!(!allowed(&topic("events")));
    assert!(!allowed("arn:aws:sns:us-east-1:210987654321:s1-alerts"));
    assert!(!allowed(&format!(
        "arn:aws:sns:{REGION}:{ACCOUNT_ID}:endpoint/GCM/app/0a1b2c"
    )));
}
