//! Label and field selectors, with the real server's syntax and semantics.

use serde_json::Value;

use crate::status::ApiError;

/// A parsed `labelSelector`: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    key: String,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    NotExists,
    In(Vec<String>),
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

impl LabelSelector {
    /// Parse the selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`.
    pub fn parse(text: &str) -> Result<LabelSelector, ApiError> {
        let mut requirements = Vec::new();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(term).map_err(|detail| {
                ApiError::bad_request(format!("unable to parse requirement: {detail}"))
            })?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether the object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object);
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|req| {
            let value = label(&req.key);
            match &req.op {
                Op::Exists => value.is_some(),
                Op::NotExists => value.is_none(),
                Op::In(values) => value.is_some_and(|v| values.iter().any(|x| x == v)),
                Op::NotIn(values) => value.is_none_or(|v| !values.iter().any(|x| x == v)),
                Op::GreaterThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::LessThan(n) => value
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

/// Split on commas that are not inside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

fn parse_requirement(term: &str) -> Result<Requirement, String> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Requirement {
            key: label_key(key.trim())?,
            op: Op::NotExists,
        });
    }
    for (symbol, is_equal) in [("==", true), ("!=", false), ("=", true)] {
        if let Some((key, value)) = term.split_once(symbol) {
            let value = label_value(value.trim())?;
            let op = if is_equal {
                Op::In(vec![value])
            } else {
                Op::NotIn(vec![value])
            };
            return Ok(Requirement {
                key: label_key(key.trim())?,
                op,
            });
        }
    }
    for (symbol, greater) in [(">", true), ("<", false)] {
        if let Some((key, value)) = term.split_once(symbol) {
            let n: i64 = value.trim().parse().map_err(|_| {
                format!(
                    "for 'Gt', 'Lt' operators, the value must be an integer, found '{}'",
                    value.trim()
                )
            })?;
            let op = if greater {
                Op::GreaterThan(n)
            } else {
                Op::LessThan(n)
            };
            return Ok(Requirement {
                key: label_key(key.trim())?,
                op,
            });
        }
    }
    let (key, rest) = term.split_once(char::is_whitespace).unwrap_or((term, ""));
    let key = label_key(key)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(Requirement {
            key,
            op: Op::Exists,
        });
    }
    let operator_end = rest
        .find(|c: char| c == '(' || c.is_whitespace())
        .unwrap_or(rest.len());
    let (operator, set) = (&rest[..operator_end], rest[operator_end..].trim());
    let values = parse_set(set)?;
    match operator {
        "in" => Ok(Requirement {
            key,
            op: Op::In(values),
        }),
        "notin" => Ok(Requirement {
            key,
            op: Op::NotIn(values),
        }),
        other => Err(format!(
            "found '{other}', expected: in, notin, =, ==, !=, gt, lt"
        )),
    }
}

fn parse_set(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("found '{text}', expected: '('"))?;
    inner.split(',').map(|v| label_value(v.trim())).collect()
}

fn label_key(key: &str) -> Result<String, String> {
    let valid = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(key.to_string())
    } else {
        Err(format!("found '{key}', expected: identifier"))
    }
}

fn label_value(value: &str) -> Result<String, String> {
    let valid = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!("invalid label value: \"{value}\""))
    }
}

/// A parsed `fieldSelector`: `field=value`, `field==value` and `field!=value` terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parse a field selector, rejecting fields the resource does not support.
    pub fn parse(text: &str, kind: &str) -> Result<FieldSelector, ApiError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !supported_field(kind, field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    /// Whether the object satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, equal, value)| {
            let actual = field_value(object, field);
            (actual == *value) == *equal
        })
    }
}

/// Fields the real server indexes for selection, per kind.
fn supported_field(kind: &str, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    let extra: &[&str] = match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "Job" => &["status.successful"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        _ => &[],
    };
    extra.contains(&field)
}

/// The string form of a selectable field; missing fields read as empty.
fn field_value(object: &Value, field: &str) -> String {
    let mut current = object;
    for part in field.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"name": "x", "namespace": "ns", "labels": labels}})
    }

    fn matches(selector: &str, labels: Value) -> bool {
        LabelSelector::parse(selector)
            .unwrap()
            .matches(&labelled(labels))
    }

    #[test]
    fn equality_operators() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(matches("app=web", labels.clone()));
        assert!(matches("app==web,tier=front", labels.clone()));
        assert!(!matches("app!=web", labels.clone()));
        assert!(matches("env!=prod", labels));
    }

    #[test]
    fn set_operators_and_existence() {
        let labels = json!({"app": "web"});
        assert!(matches("app in (api, web)", labels.clone()));
        assert!(!matches("app notin (web)", labels.clone()));
        assert!(matches("env notin (prod)", labels.clone()));
        assert!(matches("app", labels.clone()));
        assert!(matches("!env", labels.clone()));
        assert!(!matches("!app", labels.clone()));
        assert!(matches("app in (web),!env", labels));
    }

    #[test]
    fn rejects_malformed_selectors() {
        let error = LabelSelector::parse("app in web").unwrap_err();
        assert_eq!(error.code, 400);
        assert!(
            error.message.starts_with("unable to parse requirement: "),
            "{}",
            error.message
        );
        assert!(LabelSelector::parse("a b c").is_err());
    }

    #[test]
    fn field_selectors() {
        let object = labelled(json!({}));
        let selector =
            FieldSelector::parse("metadata.name=x,metadata.namespace!=other", "ConfigMap").unwrap();
        assert!(selector.matches(&object));
        assert!(
            !FieldSelector::parse("metadata.name==y", "ConfigMap")
                .unwrap()
                .matches(&object)
        );
        let error = FieldSelector::parse("spec.foo=1", "ConfigMap").unwrap_err();
        assert_eq!(error.message, "field label not supported: spec.foo");
    }
}
