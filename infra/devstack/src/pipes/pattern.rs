//! EventBridge event patterns, the subset that pipe filters use: what decides
//! whether a stream record goes on through a pipe.
//!
//! A pattern is a JSON object that mirrors the event. Every key of the pattern
//! must match; an object value descends into the event, an array value is a leaf:
//! the event's value there must match one of its entries. An entry is a literal
//! (string, number, `null`, boolean) or one operator object: `{"prefix": "..."}`,
//! `{"exists": true|false}`, or `{"anything-but": ...}` (a literal, a list of
//! literals, or `{"prefix": "..."}`). When the event holds an array, the leaf
//! matches if any element does.
//!
//! Other operators (`numeric`, `suffix`, `wildcard`, ...) are refused when the
//! pattern is read: a filter devstack misunderstood would silently drop or pass
//! events that the cloud treats otherwise.

use serde_json::{Map, Value};

/// A pattern that cannot be used, and where in it the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event pattern: {problem} (at `{path}`)")]
pub struct InvalidPattern {
    /// Where, as a dotted path from the pattern's root (`$` for the root).
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    fields: Vec<(String, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A nested object of the pattern.
    Object(EventPattern),
    /// An array of allowed values.
    Leaf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Literal(Value),
    Prefix(String),
    Exists(bool),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
}

impl EventPattern {
    /// Parses a pattern written as JSON text (as `FilterCriteria` holds it).
    pub fn parse(text: &str) -> Result<EventPattern, InvalidPattern> {
        let value: Value = serde_json::from_str(text).map_err(|e| InvalidPattern {
            path: "$".into(),
            problem: format!("is not JSON: {e}"),
        })?;
        EventPattern::from_value(&value)
    }

    /// Reads a pattern from JSON.
    pub fn from_value(value: &Value) -> Result<EventPattern, InvalidPattern> {
        match value {
            Value::Object(map) => object(map, "$"),
            _ => Err(InvalidPattern {
                path: "$".into(),
                problem: "is not a JSON object".into(),
            }),
        }
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_at(Some(event))
    }

    fn matches_at(&self, event: Option<&Value>) -> bool {
        let fields = event.and_then(Value::as_object);
        self.fields.iter().all(|(key, node)| {
            let value = fields.and_then(|f| f.get(key));
            match node {
                Node::Object(nested) => nested.matches_at(value),
                Node::Leaf(matchers) => matchers.iter().any(|m| m.matches(value)),
            }
        })
    }
}

/// Whether `event` passes a pipe's filters: any of them matches, or there are
/// none.
pub fn passes(filters: &[EventPattern], event: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|p| p.matches(event))
}

fn object(map: &Map<String, Value>, path: &str) -> Result<EventPattern, InvalidPattern> {
    let mut fields = Vec::with_capacity(map.len());
    for (key, value) in map {
        let here = format!("{path}.{key}");
        let node = match value {
            Value::Object(nested) => Node::Object(object(nested, &here)?),
            Value::Array(entries) => Node::Leaf(
                entries
                    .iter()
                    .map(|entry| matcher(entry, &here))
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(InvalidPattern {
                    path: here,
                    problem: format!(
                        "must be an array of allowed values or an object, not {other}"
                    ),
                });
            }
        };
        fields.push((key.clone(), node));
    }
    Ok(EventPattern { fields })
}

fn matcher(entry: &Value, path: &str) -> Result<Matcher, InvalidPattern> {
    let invalid = |problem: String| InvalidPattern {
        path: path.to_owned(),
        problem,
    };
    let operator = match entry {
        Value::Object(operator) => operator,
        Value::Array(_) => return Err(invalid("nests an array in a list of values".into())),
        literal => return Ok(Matcher::Literal(literal.clone())),
    };
    let mut entries = operator.iter();
    let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
        return Err(invalid(format!(
            "an operator object must have exactly one key: {entry}"
        )));
    };
    match (name.as_str(), argument) {
        ("prefix", Value::String(prefix)) => Ok(Matcher::Prefix(prefix.clone())),
        ("exists", Value::Bool(exists)) => Ok(Matcher::Exists(*exists)),
        ("anything-but", Value::Object(inner)) => match inner.get("prefix") {
            Some(Value::String(prefix)) if inner.len() == 1 => {
                Ok(Matcher::AnythingButPrefix(prefix.clone()))
            }
            _ => Err(invalid(format!(
                "devstack knows `anything-but` with literals or `{{\"prefix\": ...}}` only, not {argument}"
            ))),
        },
        ("anything-but", Value::Array(values)) => {
            if let Some(bad) = values.iter().find(|v| v.is_object() || v.is_array()) {
                return Err(invalid(format!(
                    "`anything-but` lists literals only, not {bad}"
                )));
            }
            Ok(Matcher::AnythingBut(values.clone()))
        }
        ("anything-but", literal @ (Value::String(_) | Value::Number(_))) => {
            Ok(Matcher::AnythingBut(vec![literal.clone()]))
        }
        ("prefix" | "exists" | "anything-but", _) => {
            Err(invalid(format!("`{name}` does not take {argument}")))
        }
        (other, _) => Err(invalid(format!(
            "the operator `{other}` is one devstack does not know (it knows prefix, exists, anything-but)"
        ))),
    }
}

impl Matcher {
    /// Whether the event's value (absent: `None`) matches this entry.
    fn matches(&self, value: Option<&Value>) -> bool {
        if let Matcher::Exists(wanted) = self {
            // `exists` is about leaves: an object there is not a value.
            let present = value.is_some_and(|v| !v.is_object());
            return present == *wanted;
        }
        match value {
            None => false,
            Some(Value::Array(items)) => items.iter().any(|item| self.matches_one(item)),
            Some(one) => self.matches_one(one),
        }
    }

    fn matches_one(&self, value: &Value) -> bool {
        match self {
            Matcher::Literal(literal) => same_literal(literal, value),
            Matcher::Prefix(prefix) => value.as_str().is_some_and(|s| s.starts_with(prefix)),
            Matcher::Exists(_) => false,
            Matcher::AnythingBut(excluded) => {
                !value.is_object()
                    && !value.is_array()
                    && !excluded.iter().any(|e| same_literal(e, value))
            }
            Matcher::AnythingButPrefix(prefix) => {
                value.as_str().is_some_and(|s| !s.starts_with(prefix))
            }
        }
    }
}

/// Literal equality as EventBridge compares: numbers by value (`5` is `5.0`),
/// everything else exactly.
fn same_literal(literal: &Value, value: &Value) -> bool {
    match (literal, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(_) | Value::Array(_), _) => false,
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OUTBOX: &str = r#"{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":["OUTBOX"]}}}}"#;

    fn record(event_name: &str, sk: &str) -> Value {
        json!({
            "eventName": event_name,
            "dynamodb": {"Keys": {"pk": {"S": "EVENT#1"}, "sk": {"S": sk}}}
        })
    }

    fn pattern(value: Value) -> EventPattern {
        EventPattern::from_value(&value).expect("a valid pattern")
    }

    #[test]
    fn the_outbox_filter_passes_inserted_outbox_items_only() {
        // GIVEN the filter of the template's outbox pipes
        let outbox = EventPattern::parse(OUTBOX).expect("parses");

        // THEN an INSERT of an OUTBOX item matches, anything else does not
        assert!(outbox.matches(&record("INSERT", "OUTBOX")));
        assert!(!outbox.matches(&record("MODIFY", "OUTBOX")));
        assert!(!outbox.matches(&record("REMOVE", "OUTBOX")));
        assert!(!outbox.matches(&record("INSERT", "PROFILE")));
        assert!(!outbox.matches(&json!({"eventName": "INSERT"})), "no keys");
    }

    #[test]
    fn every_key_must_match_and_any_value_of_a_leaf_may() {
        let p = pattern(json!({"a": ["x", "y"], "b": [1]}));
        assert!(p.matches(&json!({"a": "y", "b": 1.0})));
        assert!(!p.matches(&json!({"a": "y", "b": 2})));
        assert!(!p.matches(&json!({"a": "z", "b": 1})));
        assert!(!p.matches(&json!({"b": 1})), "a missing key does not match");
        assert!(
            pattern(json!({})).matches(&json!({"anything": 1})),
            "an empty pattern has nothing to fail"
        );
        assert!(!pattern(json!({"a": []})).matches(&json!({"a": "x"})));
    }

    #[test]
    fn literals_of_every_json_type_match_only_their_equal() {
        let p = pattern(json!({"s": ["1"], "n": [1], "z": [null], "t": [true]}));
        assert!(p.matches(&json!({"s": "1", "n": 1, "z": null, "t": true})));
        assert!(!p.matches(&json!({"s": 1, "n": 1, "z": null, "t": true})));
        assert!(!p.matches(&json!({"s": "1", "n": "1", "z": null, "t": true})));
        assert!(
            !p.matches(&json!({"s": "1", "n": 1, "t": true})),
            "null is not absent"
        );
        assert!(!p.matches(&json!({"s": "1", "n": 1, "z": null, "t": "true"})));
    }

    #[test]
    fn an_array_in_the_event_matches_when_any_element_does() {
        let p = pattern(json!({"tags": ["b"]}));
        assert!(p.matches(&json!({"tags": ["a", "b"]})));
        assert!(!p.matches(&json!({"tags": ["a", "c"]})));
        assert!(!p.matches(&json!({"tags": []})));
    }

    #[test]
    fn prefix_matches_strings_that_start_with_it() {
        let p = pattern(json!({"pk": [{"prefix": "EVENT#"}]}));
        assert!(p.matches(&json!({"pk": "EVENT#1"})));
        assert!(!p.matches(&json!({"pk": "USER#1"})));
        assert!(!p.matches(&json!({"pk": 5})));
        assert!(!p.matches(&json!({})));
    }

    #[test]
    fn exists_tells_present_leaves_from_absent_ones() {
        let present = pattern(json!({"d": {"OldImage": [{"exists": true}]}}));
        let absent = pattern(json!({"d": {"OldImage": [{"exists": false}]}}));
        let with = json!({"d": {"OldImage": "x"}});
        let without = json!({"d": {}});
        assert!(present.matches(&with) && !present.matches(&without));
        assert!(absent.matches(&without) && !absent.matches(&with));
        assert!(
            absent.matches(&json!({})),
            "absent all the way up is still absent"
        );
        assert!(
            !present.matches(&json!({"d": {"OldImage": {"M": {}}}})),
            "exists is about leaves, not objects"
        );
    }

    #[test]
    fn anything_but_passes_present_values_not_listed() {
        let p = pattern(json!({"t": [{"anything-but": ["a", "b"]}]}));
        assert!(p.matches(&json!({"t": "c"})));
        assert!(!p.matches(&json!({"t": "a"})));
        assert!(!p.matches(&json!({})), "a missing value is not anything");
        let single = pattern(json!({"t": [{"anything-but": 5}]}));
        assert!(single.matches(&json!({"t": 6})) && !single.matches(&json!({"t": 5.0})));
        let prefix = pattern(json!({"t": [{"anything-but": {"prefix": "auth."}}]}));
        assert!(prefix.matches(&json!({"t": "refund.paid"})));
        assert!(!prefix.matches(&json!({"t": "auth.locked"})));
    }

    #[test]
    fn passes_is_any_filter_or_no_filter_at_all() {
        let event = record("INSERT", "OUTBOX");
        assert!(passes(&[], &event), "no filters: everything goes");
        let no = pattern(json!({"eventName": ["REMOVE"]}));
        let yes = pattern(json!({"eventName": ["INSERT"]}));
        assert!(passes(&[no.clone(), yes], &event));
        assert!(!passes(&[no], &event));
    }

    #[test]
    fn operators_devstack_does_not_know_are_refused_with_their_place() {
        // GIVEN patterns with operators outside the subset, or malformed ones
        for (bad, path, named) in [
            (json!({"n": [{"numeric": [">", 5]}]}), "$.n", "numeric"),
            (json!({"s": [{"suffix": ".png"}]}), "$.s", "suffix"),
            (
                json!({"s": [{"equals-ignore-case": "x"}]}),
                "$.s",
                "equals-ignore-case",
            ),
            (json!({"s": [{"prefix": 5}]}), "$.s", "prefix"),
            (
                json!({"s": [{"prefix": "a", "exists": true}]}),
                "$.s",
                "exactly one key",
            ),
            (
                json!({"s": [{"anything-but": {"suffix": "x"}}]}),
                "$.s",
                "anything-but",
            ),
            (json!({"d": {"s": "x"}}), "$.d.s", "must be an array"),
            (json!({"s": [["x"]]}), "$.s", "nests an array"),
        ] {
            // WHEN it is read
            let err = EventPattern::from_value(&bad).expect_err(&bad.to_string());

            // THEN the error says what and where
            let text = err.to_string();
            assert!(text.contains(named), "{text}");
            assert_eq!(err.path, path, "{text}");
        }
        assert!(EventPattern::parse("[1]").is_err());
        assert!(EventPattern::parse("{").is_err());
    }
}
