//! The template reader and resolver, without the emulator.

use std::collections::BTreeMap;

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

#[test]
fn routes_that_need_no_token_opt_out_of_the_authorizer() {
    let template = workspace_template();
    let function = template.function("login").expect("login");
    let Some(Value::Object(events)) = function.property("Events") else {
        panic!("LoginFunction has events");
    };
    let open: Vec<&str> = events
        .values()
        .filter(|e| e["Properties"]["Auth"]["Authorizer"] == "NONE")
        .map(|e| e["Properties"]["Path"].as_str().unwrap_or_default())
        .collect();
    for path in [
        "/v1/auth/signup",
        "/v1/auth/login",
        "/v1/auth/login/otp",
        "/v1/auth/login/device/challenge",
        "/v1/auth/login/device",
        "/v1/auth/login/pattern",
        "/v1/auth/token",
        "/v1/auth/logout",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        assert!(open.contains(&path), "{path} needs no token");
    }
    assert_eq!(open.len(), 10, "every other route needs a token: {open:?}");
}
