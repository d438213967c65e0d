//! Resolves CloudFormation intrinsics against a local stack: `Ref`, `Fn::Sub`,
//! `Fn::GetAtt` and `Fn::Join`, with the pseudo parameters `AWS::StackName`,
//! `AWS::Region`, `AWS::AccountId`, `AWS::Partition` and `AWS::URLSuffix`.
//!
//! `Ref` answers what CloudFormation answers: a table's name, a topic's ARN, a
//! queue's URL, a secret's ARN, a parameter's value. Physical ids come from the
//! emulator as resources are created ([`Context::insert`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::template::{Template, scalar_string};

/// What CloudFormation knows about a created resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physical {
    /// What `!Ref` returns.
    pub reference: String,
    /// What `!GetAtt Resource.<key>` returns.
    pub attributes: BTreeMap<String, String>,
}

impl Physical {
    /// A physical resource whose `!Ref` is `reference`.
    pub fn new(reference: impl Into<String>) -> Self {
        Physical {
            reference: reference.into(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds the attribute `name`.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }
}

/// The values intrinsics resolve against.
#[derive(Debug, Clone)]
pub struct Context {
    stack_name: String,
    region: String,
    account_id: String,
    parameters: BTreeMap<String, String>,
    physical: BTreeMap<String, Physical>,
}

impl Context {
    /// A context for stack `stack_name`: parameter values are `parameters`, else
    /// the template's defaults.
    pub fn new(
        template: &Template,
        stack_name: &str,
        region: &str,
        account_id: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Context {
        let mut values = BTreeMap::new();
        for (name, spec) in template.parameters() {
            if let Some(value) = parameters.get(name).or(spec.default.as_ref()) {
                values.insert(name.clone(), value.clone());
            }
        }
        Context {
            stack_name: stack_name.to_owned(),
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            parameters: values,
            physical: BTreeMap::new(),
        }
    }

    /// The stack name.
    pub fn stack_name(&self) -> &str {
        &self.stack_name
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Records the physical resource behind `logical_id`.
    pub fn insert(&mut self, logical_id: &str, physical: Physical) {
        self.physical.insert(logical_id.to_owned(), physical);
    }

    /// The physical resource behind `logical_id`, once created.
    pub fn physical(&self, logical_id: &str) -> Option<&Physical> {
        self.physical.get(logical_id)
    }

    /// Every created resource.
    pub fn all_physical(&self) -> &BTreeMap<String, Physical> {
        &self.physical
    }

    /// `value` with every intrinsic replaced by its value.
    pub fn resolve(&self, value: &Value) -> Result<Value> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or(("", value));
                if key == "Ref" || key == "Condition" || key.starts_with("Fn::") {
                    return self.intrinsic(key, arg).map(Value::String);
                }
                Ok(Value::Object(self.resolve_map(map)?))
            }
            Value::Object(map) => Ok(Value::Object(self.resolve_map(map)?)),
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_>>()?,
            )),
            scalar => Ok(scalar.clone()),
        }
    }

    /// `value` resolved to a string, as an environment variable would hold it.
    pub fn resolve_string(&self, value: &Value) -> Result<String> {
        let resolved = self.resolve(value)?;
        scalar_string(&resolved).map_err(|problem| Error::unresolved(value.to_string(), problem))
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>> {
        map.iter()
            .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
            .collect()
    }

    fn intrinsic(&self, name: &str, arg: &Value) -> Result<String> {
        match name {
            "Ref" => {
                let target = arg.as_str().ok_or_else(|| {
                    Error::unresolved(format!("!Ref {arg}"), "the argument is not a name")
                })?;
                self.reference(target)
            }
            "Fn::GetAtt" => {
                let parts: Option<(&str, &str)> = match arg {
                    Value::Array(items) if items.len() == 2 => {
                        items[0].as_str().zip(items[1].as_str())
                    }
                    Value::String(s) => s.split_once('.'),
                    _ => None,
                };
                let (resource, attribute) = parts.ok_or_else(|| {
                    Error::unresolved(format!("!GetAtt {arg}"), "expected `Resource.Attribute`")
                })?;
                self.attribute(resource, attribute)
            }
            "Fn::Sub" => {
                let (text, variables) = match arg {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(items) if items.len() == 2 => {
                        let text = items[0].as_str().ok_or_else(|| {
                            Error::unresolved(
                                format!("!Sub {arg}"),
                                "the first item is not a string",
                            )
                        })?;
                        (text, items[1].as_object())
                    }
                    _ => {
                        return Err(Error::unresolved(
                            format!("!Sub {arg}"),
                            "expected a string or [string, map]",
                        ));
                    }
                };
                self.substitute(text, variables)
            }
            "Fn::Join" => {
                let (separator, items) = match arg {
                    Value::Array(parts) if parts.len() == 2 => {
                        (parts[0].as_str(), parts[1].as_array())
                    }
                    _ => (None, None),
                };
                let (separator, items) = separator.zip(items).ok_or_else(|| {
                    Error::unresolved(format!("!Join {arg}"), "expected [separator, [values]]")
                })?;
                let parts = items
                    .iter()
                    .map(|item| self.resolve_string(item))
                    .collect::<Result<Vec<_>>>()?;
                Ok(parts.join(separator))
            }
            other => Err(Error::unresolved(
                format!("{other} {arg}"),
                "devstack does not implement this intrinsic function",
            )),
        }
    }

    /// What `!Ref target` returns.
    pub fn reference(&self, target: &str) -> Result<String> {
        let pseudo = match target {
            "AWS::StackName" => Some(self.stack_name.clone()),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(self.account_id.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(value);
        }
        if let Some(value) = self.parameters.get(target) {
            return Ok(value.clone());
        }
        if let Some(physical) = self.physical.get(target) {
            return Ok(physical.reference.clone());
        }
        Err(Error::unresolved(
            format!("!Ref {target}"),
            "no parameter value and no created resource of that name",
        ))
    }

    /// What `!GetAtt resource.attribute` returns.
    pub fn attribute(&self, resource: &str, attribute: &str) -> Result<String> {
        let physical = self.physical.get(resource).ok_or_else(|| {
            Error::unresolved(
                format!("!GetAtt {resource}.{attribute}"),
                "the resource was not created",
            )
        })?;
        physical.attributes.get(attribute).cloned().ok_or_else(|| {
            Error::unresolved(
                format!("!GetAtt {resource}.{attribute}"),
                "devstack does not know this attribute",
            )
        })
    }

    fn substitute(&self, text: &str, variables: Option<&Map<String, Value>>) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::unresolved(format!("!Sub {text}"), "an unclosed `${`"))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.resolve_string(value)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
