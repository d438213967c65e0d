//! EventBridge Pipes input templates: what a pipe sends to its target for one
//! record.
//!
//! Without a template the target gets the whole record as JSON. A template is
//! text in which every `<$.path>` placeholder is replaced by the record's value at
//! that JSON path (`$.dynamodb.NewImage.event.S`, `$.Records[0].body`): a string
//! as its text, verbatim; any other value as JSON. The rest of the template stays
//! as written. A template that is one placeholder alone therefore sends that
//! value itself, which is how the outbox pipes send each item's `event` attribute
//! as the message body, byte for byte.
//!
//! Pipes' reserved variables (`<aws.pipes.event.json>`, ...) are refused when the
//! template is read rather than sent as literal text.

use serde_json::Value;

/// A template devstack cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input template: {0}")]
pub struct InvalidTemplate(String);

/// A record that lacks a value the template needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the record has no value at `{path}` that the input template needs")]
pub struct MissingValue {
    /// The placeholder's path, as written (`$.dynamodb.NewImage.event.S`).
    pub path: String,
}

/// A parsed input template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Path),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    written: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl InputTemplate {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<InputTemplate, InvalidTemplate> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            literal.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else {
                // A `<` that opens nothing is text.
                literal.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let inner = &after[..close];
            if inner.starts_with('$') {
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Value(Path::parse(inner)?));
            } else if inner.starts_with("aws.pipes.") {
                return Err(InvalidTemplate(format!(
                    "the reserved variable `<{inner}>` is one devstack does not provide"
                )));
            } else {
                literal.push('<');
                literal.push_str(inner);
                literal.push('>');
            }
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(InputTemplate { parts })
    }

    /// The text the template makes of `record`.
    pub fn render(&self, record: &Value) -> Result<String, MissingValue> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(path) => {
                    let value = path.lookup(record).ok_or_else(|| MissingValue {
                        path: path.written.clone(),
                    })?;
                    match value {
                        Value::String(s) => out.push_str(s),
                        other => out.push_str(&other.to_string()),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What a pipe with `template` (or none) sends for `record`.
pub fn render(template: Option<&InputTemplate>, record: &Value) -> Result<String, MissingValue> {
    match template {
        Some(template) => template.render(record),
        None => Ok(record.to_string()),
    }
}

impl Path {
    /// `$`, then `.key` and `[index]` steps.
    fn parse(written: &str) -> Result<Path, InvalidTemplate> {
        let invalid = |why: &str| {
            InvalidTemplate(format!(
                "`<{written}>` is not a JSON path devstack can follow: {why}"
            ))
        };
        let mut rest = written
            .strip_prefix('$')
            .ok_or_else(|| invalid("it does not start with `$`"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(invalid("an empty key"));
                }
                steps.push(Step::Key(after[..end].to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| invalid("an unclosed `[`"))?;
                let index = after[..end]
                    .trim()
                    .parse()
                    .map_err(|_| invalid("an index that is not a whole number"))?;
                steps.push(Step::Index(index));
                rest = &after[end + 1..];
            } else {
                return Err(invalid("expected `.key` or `[index]`"));
            }
        }
        Ok(Path {
            written: written.to_owned(),
            steps,
        })
    }

    fn lookup<'a>(&self, record: &'a Value) -> Option<&'a Value> {
        self.steps
            .iter()
            .try_fold(record, |value, step| match step {
                Step::Key(key) => value.get(key.as_str()),
                Step::Index(index) => value.get(*index),
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn outbox_record(event: &str) -> Value {
        json!({
            "eventName": "INSERT",
            "dynamodb": {
                "Keys": {"pk": {"S": "EVENT#e1"}, "sk": {"S": "OUTBOX"}},
                "NewImage": {"event": {"S": event}, "ttl": {"N": "1700000000"}},
                "SequenceNumber": "100"
            }
        })
    }

    #[test]
    fn one_placeholder_alone_sends_the_string_verbatim() {
        // GIVEN the outbox pipes' template and an item whose event is JSON text
        // with spacing and key order a re-serialisation would change
        let template = InputTemplate::parse("<$.dynamodb.NewImage.event.S>").expect("parses");
        let body = r#"{"type":"auth.locked",  "eventId":"e1","data":{"b":1,"a":"한"}}"#;

        // WHEN the record is rendered
        let sent = template.render(&outbox_record(body)).expect("renders");

        // THEN the body is exactly the attribute's text
        assert_eq!(sent, body);
    }

    #[test]
    fn values_that_are_not_strings_are_sent_as_json() {
        let record = outbox_record("x");
        let keys = InputTemplate::parse("<$.dynamodb.Keys>").expect("parses");
        assert_eq!(
            serde_json::from_str::<Value>(&keys.render(&record).expect("renders")).expect("JSON"),
            json!({"pk": {"S": "EVENT#e1"}, "sk": {"S": "OUTBOX"}})
        );
        let whole = InputTemplate::parse("<$>").expect("parses");
        assert_eq!(whole.render(&record).expect("renders"), record.to_string());
    }

    #[test]
    fn placeholders_inside_text_are_replaced_and_the_rest_kept() {
        let template =
            InputTemplate::parse(r#"{"seq": <$.dynamodb.SequenceNumber>, "ttl": "<$.dynamodb.NewImage.ttl.N>", "op": <$.eventName>} <b>"#)
                .expect("parses");
        assert_eq!(
            template.render(&outbox_record("x")).expect("renders"),
            r#"{"seq": 100, "ttl": "1700000000", "op": INSERT} <b>"#
        );
    }

    #[test]
    fn indexes_follow_arrays() {
        let template = InputTemplate::parse("<$.a[1].b>").expect("parses");
        assert_eq!(
            template
                .render(&json!({"a": [{"b": 1}, {"b": "two"}]}))
                .expect("renders"),
            "two"
        );
    }

    #[test]
    fn no_template_sends_the_whole_record() {
        let record = outbox_record("x");
        assert_eq!(render(None, &record).expect("renders"), record.to_string());
    }

    #[test]
    fn a_missing_value_is_an_error_naming_its_path() {
        // GIVEN a record without the attribute the template needs (a MODIFY of an
        // item with no `event`, say)
        let template = InputTemplate::parse("<$.dynamodb.NewImage.event.S>").expect("parses");
        let record = json!({"dynamodb": {"NewImage": {"other": {"S": "x"}}}});

        // WHEN it is rendered, THEN the error names the path
        let err = template.render(&record).expect_err("missing");
        assert_eq!(err.path, "$.dynamodb.NewImage.event.S");
        assert!(err.to_string().contains("$.dynamodb.NewImage.event.S"));
    }

    #[test]
    fn unusable_templates_are_refused_when_read() {
        for bad in [
            "<aws.pipes.event.json>",
            "<$.a..b>",
            "<$.a[x]>",
            "<$a>",
            "<$.a[0>",
        ] {
            assert!(InputTemplate::parse(bad).is_err(), "{bad}");
        }
        assert!(InputTemplate::parse("a < b").is_ok(), "a lone `<` is text");
    }
}
