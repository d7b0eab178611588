//! Validation of merged values against a chart's `values.schema.json`.

use std::fmt;
use std::path::{Path, PathBuf};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::input;
use super::path::{KeyPath, PathSegment};
use super::{Values, ValuesError};

/// One way in which the values break the schema, such as
/// `image.tag: expected string, got integer`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaViolation {
    /// Where in the values the problem is; the top level is the empty path.
    pub path: KeyPath,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_root() {
            write!(f, "(top level): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A compiled `values.schema.json`.
///
/// Schemas may use any draft `jsonschema` supports (2020-12 unless `$schema` says
/// otherwise). References to other files or URLs are not fetched.
pub struct ValuesSchema {
    source: PathBuf,
    validator: Validator,
}

impl fmt::Debug for ValuesSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValuesSchema")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ValuesSchema {
    /// Reads and compiles a schema file.
    pub fn load(path: &Path) -> Result<Self, ValuesError> {
        let text = input::read_text(path, false).map_err(|source| ValuesError::ReadSchema {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Compiles the text of a schema file; `source` names the file in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ValuesError> {
        let schema: Value = serde_json::from_str(text).map_err(|error| {
            let full = error.to_string();
            let position = format!(" at line {} column {}", error.line(), error.column());
            ValuesError::SchemaJson {
                path: source.to_owned(),
                line: error.line(),
                column: error.column(),
                message: full.strip_suffix(&position).unwrap_or(&full).to_owned(),
            }
        })?;
        let validator = jsonschema::validator_for(&schema).map_err(|error| {
            let problem = match describe(&error, &schema).into_iter().next() {
                Some(found) if !found.path.is_root() => found.to_string(),
                Some(found) => found.message,
                None => error.to_string(),
            };
            ValuesError::InvalidSchema {
                path: source.to_owned(),
                problem,
            }
        })?;
        Ok(Self {
            source: source.to_owned(),
            validator,
        })
    }

    /// The file the schema was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Every violation of the schema by `values`, sorted by path and message.
    pub fn violations(&self, values: &Values) -> Vec<SchemaViolation> {
        let instance = Value::Object(values.clone());
        let mut violations: Vec<SchemaViolation> = self
            .validator
            .iter_errors(&instance)
            .flat_map(|error| describe(&error, &instance))
            .collect();
        violations.sort();
        violations.dedup();
        violations
    }

    /// Checks `values`; the error lists every violation.
    pub fn validate(&self, values: &Values) -> Result<(), ValuesError> {
        let violations = self.violations(values);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ValuesError::SchemaViolations {
                path: self.source.clone(),
                violations,
            })
        }
    }
}

/// Turns one validator error into user-facing violations. `root` is the document that was
/// validated, used to tell list indices from map keys that look like numbers.
fn describe(error: &ValidationError<'_>, root: &Value) -> Vec<SchemaViolation> {
    let path = key_path(error.instance_path(), root);
    let unknown_keys = |keys: &[String], keyword: &str| {
        keys.iter()
            .map(|key| {
                let mut path = path.clone();
                path.push(PathSegment::Key(key.clone()));
                SchemaViolation {
                    path,
                    message: format!("unknown key ({keyword} is false)"),
                }
            })
            .collect()
    };
    let message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unknown_keys(unexpected, "additionalProperties");
        }
        ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            return unknown_keys(unexpected, "unevaluatedProperties");
        }
        ValidationErrorKind::Type { kind } => {
            format!(
                "expected {}, got {}",
                expected_types(kind),
                type_name(error.instance())
            )
        }
        ValidationErrorKind::Required { property } => match property {
            Value::String(name) => format!("missing required key \"{name}\""),
            other => format!("missing required key {other}"),
        },
        ValidationErrorKind::MinLength { limit } => {
            format!("is shorter than {}", count(*limit, "character"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("is longer than {}", count(*limit, "character"))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("has fewer than {}", count(*limit, "item"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!("has more than {}", count(*limit, "item"))
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("has fewer than {}", count(*limit, "key"))
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("has more than {}", count(*limit, "key"))
        }
        ValidationErrorKind::AnyOf { context } => alternatives("anyOf", context, &path, root),
        ValidationErrorKind::OneOfNotValid { context } => {
            alternatives("oneOf", context, &path, root)
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the alternatives in oneOf".to_owned()
        }
        ValidationErrorKind::Not { .. } => "matches the schema in \"not\"".to_owned(),
        ValidationErrorKind::FalseSchema => "is not allowed here".to_owned(),
        ValidationErrorKind::UniqueItems => "has duplicate items".to_owned(),
        ValidationErrorKind::Contains => "has no item matching \"contains\"".to_owned(),
        // The remaining messages mention only the (scalar) value and the limit, and read
        // well as they are, for example `0 is less than the minimum of 1`.
        _ => error.to_string(),
    };
    vec![SchemaViolation { path, message }]
}

/// Summarises why each alternative of `anyOf`/`oneOf` failed, e.g.
/// `matches none of the alternatives in anyOf (expected string, got number; ...)`.
fn alternatives(
    keyword: &str,
    branches: &[Vec<ValidationError<'static>>],
    path: &KeyPath,
    root: &Value,
) -> String {
    let reasons: Vec<String> = branches
        .iter()
        .filter_map(|errors| {
            let first = describe(errors.first()?, root).into_iter().next()?;
            Some(if &first.path == path {
                first.message
            } else {
                first.to_string()
            })
        })
        .collect();
    if reasons.is_empty() {
        format!("matches none of the alternatives in {keyword}")
    } else {
        format!(
            "matches none of the alternatives in {keyword} ({})",
            reasons.join("; ")
        )
    }
}

/// Converts a JSON pointer into a key path, looking at `root` to decide whether a numeric
/// step is a list index or a map key such as `"80"`.
fn key_path(location: &Location, root: &Value) -> KeyPath {
    let mut path = KeyPath::default();
    let mut current = Some(root);
    for segment in location.segments() {
        let step = match segment {
            LocationSegment::Property(name) => name.into_owned(),
            LocationSegment::Index(index) => index.to_string(),
        };
        match current {
            Some(Value::Array(items)) => match step.parse::<usize>() {
                Ok(index) => {
                    current = items.get(index);
                    path.push(PathSegment::Index(index));
                }
                Err(_) => {
                    current = None;
                    path.push(PathSegment::Key(step));
                }
            },
            _ => {
                current = current.and_then(|value| value.get(&step));
                path.push(PathSegment::Key(step));
            }
        }
    }
    path
}

fn expected_types(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(single) => single.to_string(),
        TypeKind::Multiple(several) => several
            .iter()
            .map(|json_type| json_type.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// The JSON schema name of a value's type, with whole numbers reported as `integer`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn count(limit: u64, noun: &str) -> String {
    if limit == 1 {
        format!("1 {noun}")
    } else {
        format!("{limit} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    const SCHEMA: &str = r#"{
        "type": "object",
        "additionalProperties": false,
        "required": ["image"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "image": {
                "type": "object",
                "required": ["repository"],
                "properties": {
                    "repository": {"type": "string"},
                    "tag": {"type": "string"}
                }
            },
            "ingress": {
                "type": "object",
                "properties": {
                    "hosts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"port": {"type": ["integer", "null"]}}
                        }
                    }
                }
            },
            "name": {"type": "string", "maxLength": 5},
            "mode": {"enum": ["fast", "safe"]},
            "size": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "ports": {"type": "object", "additionalProperties": {"type": "integer"}}
        }
    }"#;

    fn schema() -> ValuesSchema {
        ValuesSchema::parse(SCHEMA, Path::new("web/values.schema.json")).unwrap()
    }

    fn values(value: Value) -> Values {
        match value {
            Value::Object(map) => map,
            other => panic!("test values must be a map, got {other}"),
        }
    }

    fn violations(value: Value) -> Vec<String> {
        schema()
            .violations(&values(value))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn valid_values_pass() {
        let valid = values(json!({
            "replicas": 2,
            "image": {"repository": "nginx", "tag": "1.27"},
            "ingress": {"hosts": [{"port": 80}, {"port": null}]},
            "ports": {"http": 80}
        }));
        assert!(schema().validate(&valid).is_ok());
    }

    #[test]
    fn every_violation_is_reported_with_its_key_path_in_order() {
        let found = violations(json!({
            "replicas": 0,
            "image": {"tag": 5},
            "ingress": {"hosts": [{"port": 80}, {"port": "http"}]},
            "zzz": true,
            "extra": 1,
        }));
        assert_eq!(
            found,
            [
                "extra: unknown key (additionalProperties is false)",
                "image: missing required key \"repository\"",
                "image.tag: expected string, got integer",
                "ingress.hosts[1].port: expected null or integer, got string",
                "replicas: 0 is less than the minimum of 1",
                "zzz: unknown key (additionalProperties is false)",
            ]
        );
    }

    #[test]
    fn missing_top_level_key_is_reported_at_the_top_level() {
        assert_eq!(
            violations(json!({})),
            ["(top level): missing required key \"image\""]
        );
    }

    #[test]
    fn other_keywords_have_readable_messages() {
        let found = violations(json!({
            "image": {"repository": "nginx"},
            "name": "much-too-long",
            "mode": "slow",
            "size": 1.5,
            "ports": {"80": "http"},
        }));
        assert_eq!(
            found,
            [
                "mode: \"slow\" is not one of \"fast\" or \"safe\"",
                "name: is longer than 5 characters",
                "ports.80: expected integer, got string",
                "size: matches none of the alternatives in anyOf (expected string, got number; expected integer, got number)",
            ]
        );
    }

    #[test]
    fn validate_lists_every_violation_under_the_schema_file() {
        let error = schema()
            .validate(&values(
                json!({"replicas": "3", "image": {"repository": "x"}}),
            ))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "values do not match the schema in web/values.schema.json:\n  replicas: expected integer, got string"
        );
    }

    #[test]
    fn schema_that_is_not_json_names_file_and_line() {
        let error = ValuesSchema::parse(
            "{\n  \"type\": \"object\",\n  \"properties\" {}\n}\n",
            Path::new("web/values.schema.json"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid JSON in schema file web/values.schema.json at line 3, column 16: expected `:`"
        );
    }

    #[test]
    fn schema_that_is_not_a_valid_schema_names_file_and_place() {
        let error = ValuesSchema::parse(
            r#"{"properties": {"replicas": {"minimum": "one"}}}"#,
            Path::new("web/values.schema.json"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "schema file web/values.schema.json is not a valid JSON schema: properties.replicas.minimum: expected number, got string"
        );
    }

    #[test]
    fn schema_with_an_unresolvable_reference_is_invalid() {
        let error = ValuesSchema::parse(
            r##"{"$ref": "#/definitions/missing"}"##,
            Path::new("values.schema.json"),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("schema file values.schema.json is not a valid JSON schema: "),
            "{error}"
        );
        assert!(
            error.to_string().contains("/definitions/missing"),
            "{error}"
        );
    }

    #[test]
    fn load_reads_the_schema_from_disk_and_reports_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.schema.json");
        fs::write(&file, r#"{"required": ["a"]}"#).unwrap();
        let loaded = ValuesSchema::load(&file).unwrap();
        assert_eq!(loaded.source(), file);
        assert!(loaded.validate(&values(json!({"a": 1}))).is_ok());

        let missing = dir.path().join("missing.json");
        assert_eq!(
            ValuesSchema::load(&missing).unwrap_err().to_string(),
            format!("cannot read schema file {}", missing.display())
        );
    }
}
