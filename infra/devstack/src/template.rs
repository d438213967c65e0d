//! Reads `infra/template.yaml`, the single source of truth for resource names and
//! key schemas.
//!
//! CloudFormation's short tags (`!Ref X`, `!Sub "..."`, `!GetAtt X.Arn`) arrive from
//! serde_norway as tagged values; they are rewritten into their long JSON forms
//! (`{"Ref": "X"}`, `{"Fn::Sub": "..."}`, `{"Fn::GetAtt": ["X", "Arn"]}`) so that the
//! rest of devstack works on plain `serde_json` values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use serde_norway::Value as Yaml;

use crate::error::{Error, Result};

/// What devstack does with a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `AWS::DynamoDB::Table`: created.
    Table,
    /// `AWS::SNS::Topic`: created.
    Topic,
    /// `AWS::SQS::Queue`: created.
    Queue,
    /// `AWS::SecretsManager::Secret`: created, with its `SecretString` or a
    /// value made for its `GenerateSecretString`, else without a value.
    Secret,
    /// `AWS::SNS::Subscription`: created.
    Subscription,
    /// `AWS::S3::Bucket`.
    Bucket,
    /// `AWS::Serverless::Function`: not created; run by `cargo lambda watch`, its
    /// environment is read by [`Template::function_environment`].
    Function,
    /// `AWS::KMS::Key`: created (a symmetric key; its key policy is not
    /// emulated).
    Key,
    /// `AWS::Pipes::Pipe`: not created in the emulator (moto has no EventBridge
    /// Pipes); devstack carries its stream records itself ([`crate::pipes`]).
    Pipe,
    /// A type with no local twin (API Gateway, IAM, logs, policies): skipped.
    Ignored,
}

impl Kind {
    /// The kind of a CloudFormation type, `None` when devstack does not know it.
    pub fn of(type_name: &str) -> Option<Kind> {
        Some(match type_name {
            "AWS::DynamoDB::Table" => Kind::Table,
            "AWS::SNS::Topic" => Kind::Topic,
            "AWS::SQS::Queue" => Kind::Queue,
            "AWS::SecretsManager::Secret" => Kind::Secret,
            "AWS::SNS::Subscription" => Kind::Subscription,
            "AWS::S3::Bucket" => Kind::Bucket,
            "AWS::Serverless::Function" => Kind::Function,
            "AWS::Pipes::Pipe" => Kind::Pipe,
            "AWS::KMS::Key" => Kind::Key,
            "AWS::Serverless::HttpApi"
            | "AWS::Serverless::Api"
            | "AWS::ApiGatewayV2::Api"
            | "AWS::ApiGatewayV2::Stage"
            | "AWS::ApiGatewayV2::Route"
            | "AWS::ApiGatewayV2::Integration"
            | "AWS::ApiGatewayV2::Authorizer"
            | "AWS::ApiGatewayV2::DomainName"
            | "AWS::ApiGatewayV2::ApiMapping"
            | "AWS::Logs::LogGroup"
            | "AWS::IAM::Role"
            | "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::Lambda::Permission"
            | "AWS::Lambda::EventSourceMapping"
            | "AWS::SQS::QueuePolicy"
            | "AWS::SNS::TopicPolicy"
            | "AWS::S3::BucketPolicy"
            | "AWS::KMS::Alias"
            | "AWS::CloudWatch::Alarm" => Kind::Ignored,
            _ => return None,
        })
    }
}

/// A template parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Its `Default`, if any, as a string.
    pub default: Option<String>,
    /// Its `AllowedValues`, if any.
    pub allowed_values: Vec<String>,
}

/// One entry of `Resources`.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The logical id (`LoginTable`).
    pub logical_id: String,
    /// The CloudFormation type (`AWS::DynamoDB::Table`).
    pub type_name: String,
    /// What devstack does with it.
    pub kind: Kind,
    /// `Properties`, intrinsics in long form.
    pub properties: Map<String, Value>,
    /// `Metadata`.
    pub metadata: Map<String, Value>,
}

impl Resource {
    /// The property `name`.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }

    /// The binary a function is built from (`Metadata.BuildProperties.Binary`).
    pub fn binary(&self) -> Option<&str> {
        self.metadata
            .get("BuildProperties")
            .and_then(|p| p.get("Binary"))
            .or_else(|| self.metadata.get("Binary"))
            .and_then(Value::as_str)
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    path: PathBuf,
    parameters: BTreeMap<String, Parameter>,
    globals: Map<String, Value>,
    resources: Vec<Resource>,
    outputs: Map<String, Value>,
}

impl Template {
    /// The project's template, `infra/template.yaml` under [`crate::workspace_root`].
    pub fn workspace() -> Result<Template> {
        Template::load(crate::workspace_root().join("infra").join("template.yaml"))
    }

    /// Reads and parses the template at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Template> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Template::parse(&text, path)
    }

    /// Parses template text; `path` is only used in messages.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Template> {
        let path = path.as_ref().to_path_buf();
        let yaml: Yaml = serde_norway::from_str(text).map_err(|source| Error::Yaml {
            path: path.clone(),
            source,
        })?;
        let Value::Object(mut root) = to_json(yaml, "")? else {
            return Err(Error::template("(root)", "is not a mapping"));
        };

        let mut parameters = BTreeMap::new();
        for (name, spec) in take_map(&mut root, "Parameters")? {
            let default = spec.get("Default").map(scalar_string).transpose();
            let default =
                default.map_err(|p| Error::template(format!("Parameters.{name}.Default"), p))?;
            let allowed_values = match spec.get("AllowedValues") {
                Some(Value::Array(values)) => values
                    .iter()
                    .map(scalar_string)
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|p| Error::template(format!("Parameters.{name}.AllowedValues"), p))?,
                _ => Vec::new(),
            };
            parameters.insert(
                name,
                Parameter {
                    default,
                    allowed_values,
                },
            );
        }

        let globals = take_map(&mut root, "Globals")?;
        let outputs = take_map(&mut root, "Outputs")?;

        let mut resources = Vec::new();
        for (logical_id, spec) in take_map(&mut root, "Resources")? {
            let Value::Object(mut spec) = spec else {
                return Err(Error::template(
                    format!("Resources.{logical_id}"),
                    "is not a mapping",
                ));
            };
            let Some(Value::String(type_name)) = spec.remove("Type") else {
                return Err(Error::template(
                    format!("Resources.{logical_id}.Type"),
                    "is missing",
                ));
            };
            let kind = Kind::of(&type_name).ok_or_else(|| Error::UnknownResourceType {
                logical_id: logical_id.clone(),
                type_name: type_name.clone(),
            })?;
            let properties = match spec.remove("Properties") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(map)) => map,
                Some(_) => {
                    return Err(Error::template(
                        format!("Resources.{logical_id}.Properties"),
                        "is not a mapping",
                    ));
                }
            };
            let metadata = match spec.remove("Metadata") {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            resources.push(Resource {
                logical_id,
                type_name,
                kind,
                properties,
                metadata,
            });
        }

        Ok(Template {
            path,
            parameters,
            globals,
            resources,
            outputs,
        })
    }

    /// Where the template was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every resource, by logical id.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The resource with logical id `id`.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.logical_id == id)
    }

    /// The resources of one kind, by logical id.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// The parameters.
    pub fn parameters(&self) -> &BTreeMap<String, Parameter> {
        &self.parameters
    }

    /// The `Outputs` section, intrinsics in long form.
    pub fn outputs(&self) -> &Map<String, Value> {
        &self.outputs
    }

    /// The function named `name`: its logical id (`LoginFunction`), its binary
    /// (`login`), or `<PascalName>Function` (`tax-refund` -> `TaxRefundFunction`).
    pub fn function(&self, name: &str) -> Result<&Resource> {
        let pascal = format!("{}Function", pascal_case(name));
        let functions = || self.of_kind(Kind::Function);
        functions()
            .find(|r| r.logical_id == name)
            .or_else(|| functions().find(|r| r.binary() == Some(name)))
            .or_else(|| functions().find(|r| r.logical_id == pascal))
            .ok_or_else(|| Error::UnknownFunction(name.to_owned()))
    }

    /// A function's `Environment.Variables` over those of `Globals.Function`,
    /// unresolved (see [`crate::resolve::Context::resolve_string`]).
    pub fn function_environment(&self, function: &Resource) -> BTreeMap<String, Value> {
        let variables = |v: Option<&Value>| {
            v.and_then(|e| e.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut env: BTreeMap<String, Value> = variables(self.globals.get("Function"))
            .into_iter()
            .collect();
        let own = variables(Some(&Value::Object(function.properties.clone())));
        env.extend(own);
        env
    }

    /// The HTTP API routes of a function: `(METHOD, path)` of every `HttpApi` event.
    pub fn http_routes(&self, function: &Resource) -> Vec<(String, String)> {
        let Some(Value::Object(events)) = function.property("Events") else {
            return Vec::new();
        };
        events
            .values()
            .filter(|e| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
            .filter_map(|e| {
                let props = e.get("Properties")?;
                let method = props.get("Method")?.as_str()?.to_ascii_uppercase();
                let path = props.get("Path")?.as_str()?.to_owned();
                Some((method, path))
            })
            .collect()
    }
}

/// `tax-refund` -> `TaxRefund`.
fn pascal_case(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Removes the mapping `key` from `root` (an absent key is an empty mapping).
fn take_map(root: &mut Map<String, Value>, key: &str) -> Result<Map<String, Value>> {
    match root.remove(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Error::template(key, "is not a mapping")),
    }
}

/// A scalar as CloudFormation sees it: a string.
pub(crate) fn scalar_string(value: &Value) -> std::result::Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("is not a scalar: {other}")),
    }
}

/// The short-form tags of CloudFormation and their long names.
fn long_name(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "Sub" => "Fn::Sub",
        "GetAtt" => "Fn::GetAtt",
        "Join" => "Fn::Join",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "If" => "Fn::If",
        "Equals" => "Fn::Equals",
        "Not" => "Fn::Not",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "FindInMap" => "Fn::FindInMap",
        "Base64" => "Fn::Base64",
        "Cidr" => "Fn::Cidr",
        "GetAZs" => "Fn::GetAZs",
        "ImportValue" => "Fn::ImportValue",
        "Length" => "Fn::Length",
        "ToJsonString" => "Fn::ToJsonString",
        _ => return None,
    })
}

/// Converts YAML to JSON, rewriting short-form intrinsics to their long form.
fn to_json(yaml: Yaml, location: &str) -> Result<Value> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        Error::template(location, "holds a number JSON cannot represent")
                    })?
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{location}[{i}]")))
                .collect::<Result<_>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    _ => return Err(Error::template(location, "has a key that is not a scalar")),
                };
                let child = if location.is_empty() {
                    key.clone()
                } else {
                    format!("{location}.{key}")
                };
                map.insert(key, to_json(value, &child)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let short = tag.trim_start_matches('!');
            let name = long_name(short).ok_or_else(|| {
                Error::template(location, format!("uses the unknown tag `{tag}`"))
            })?;
            let inner = to_json(tagged.value, location)?;
            let inner = match (name, inner) {
                // `!GetAtt Resource.Attribute` is the string form of `[Resource, Attribute]`.
                ("Fn::GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').ok_or_else(|| {
                        Error::template(
                            location,
                            format!("`!GetAtt {s}` is not `Resource.Attribute`"),
                        )
                    })?;
                    Value::Array(vec![resource.into(), attribute.into()])
                }
                (_, inner) => inner,
            };
            let mut map = Map::new();
            map.insert(name.to_owned(), inner);
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_forms() {
        let t = Template::parse(
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub \"${AWS::StackName}-x\"\n      A: !GetAtt Q.Arn\n      B: !Ref Q\n",
            "t.yaml",
        )
        .unwrap();
        let p = &t.resource("T").unwrap().properties;
        assert_eq!(
            p["TopicName"],
            serde_json::json!({"Fn::Sub": "${AWS::StackName}-x"})
        );
        assert_eq!(p["A"], serde_json::json!({"Fn::GetAtt": ["Q", "Arn"]}));
        assert_eq!(p["B"], serde_json::json!({"Ref": "Q"}));
    }

    #[test]
    fn unknown_types_are_refused_with_their_name() {
        let err =
            Template::parse("Resources:\n  X:\n    Type: AWS::Foo::Bar\n", "t.yaml").unwrap_err();
        assert!(err.to_string().contains("AWS::Foo::Bar"), "{err}");
    }

    #[test]
    fn pascal_case_of_binary_names() {
        assert_eq!(pascal_case("tax-refund"), "TaxRefund");
        assert_eq!(pascal_case("login"), "Login");
    }
}
