//! Validation of merged values against a chart's `values.schema.json`.

use std::fmt;
use std::path::{Path, PathBuf};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use jsonschema::{ReferencingError, ValidationError, Validator};
use serde_json::Value;

use super::input;
use super::path::{KeyPath, PathSegment};
use super::{Values, ValuesError};
use crate::chart::escape::escape_name;

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
            let found = match error.kind() {
                ValidationErrorKind::Referencing(reference) => {
                    Some(reference_problem(reference, &schema))
                }
                _ => describe(&error, &schema).into_iter().next(),
            };
            let problem = match found {
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

/// Says in plain words why a `$ref` or `$schema` cannot be followed, at the place in the
/// schema that holds it, instead of the resolver's words (which speak of registries,
/// resolvers and crate features).
fn reference_problem(error: &ReferencingError, schema: &Value) -> SchemaViolation {
    let mut found = reference_violation(error, schema);
    if found.path.is_root() && found.message.starts_with("refers to") {
        found.message = format!("a \"$ref\" {}", found.message);
    }
    found
}

fn reference_violation(error: &ReferencingError, schema: &Value) -> SchemaViolation {
    let at_ref =
        |matches: &dyn Fn(&str) -> bool| find_keyword(schema, "$ref", matches).unwrap_or_default();
    match error {
        ReferencingError::Unretrievable { uri, .. } => {
            let path = at_ref(&|target| target == uri || uri.ends_with(target));
            SchemaViolation {
                path,
                message: format!(
                    "refers to \"{}\", another file or a URL, and rchart does not fetch schemas \
                     (copy the definition into this file under \"$defs\" and refer to it as \"#/$defs/NAME\")",
                    escape_name(uri)
                ),
            }
        }
        ReferencingError::PointerToNowhere { pointer }
        | ReferencingError::InvalidPercentEncoding { pointer, .. }
        | ReferencingError::InvalidArrayIndex { pointer, .. } => {
            let path = at_ref(&|target| target.ends_with(pointer.as_str()));
            let reason = if matches!(error, ReferencingError::PointerToNowhere { .. }) {
                "does not exist in this schema"
            } else {
                "is not a valid JSON pointer"
            };
            SchemaViolation {
                path,
                message: format!("refers to \"#{}\", which {reason}", escape_name(pointer)),
            }
        }
        ReferencingError::NoSuchAnchor { anchor } | ReferencingError::InvalidAnchor { anchor } => {
            let path = at_ref(&|target| target.ends_with(&format!("#{anchor}")));
            SchemaViolation {
                path,
                message: format!(
                    "refers to \"#{}\", an anchor this schema does not define",
                    escape_name(anchor)
                ),
            }
        }
        ReferencingError::UnknownSpecification { specification } => SchemaViolation {
            path: find_keyword(schema, "$schema", &|_| true).unwrap_or_default(),
            message: format!(
                "\"{}\" is not a JSON Schema draft rchart knows \
                 (drafts 4, 6, 7, 2019-09 and 2020-12 are)",
                escape_name(specification)
            ),
        },
        ReferencingError::CircularMetaschema { uri } => SchemaViolation {
            path: find_keyword(schema, "$schema", &|_| true).unwrap_or_default(),
            message: format!("the meta-schema \"{}\" refers to itself", escape_name(uri)),
        },
        ReferencingError::InvalidUri(_) => SchemaViolation {
            path: KeyPath::default(),
            message: "a \"$ref\" or \"$id\" is not a valid URI reference".to_owned(),
        },
    }
}

/// The place of the first `keyword` in `schema` (depth first) whose string value
/// `matches`, with the keyword as its last step.
fn find_keyword(schema: &Value, keyword: &str, matches: &dyn Fn(&str) -> bool) -> Option<KeyPath> {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get(keyword)
                && matches(target)
            {
                let mut path = KeyPath::default();
                path.push(PathSegment::Key(keyword.to_owned()));
                return Some(path);
            }
            map.iter().find_map(|(key, child)| {
                let found = find_keyword(child, keyword, matches)?;
                Some(prefixed(PathSegment::Key(key.clone()), found))
            })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(index, child)| {
            let found = find_keyword(child, keyword, matches)?;
            Some(prefixed(PathSegment::Index(index), found))
        }),
        _ => None,
    }
}

fn prefixed(first: PathSegment, rest: KeyPath) -> KeyPath {
    let mut path = KeyPath::default();
    path.push(first);
    for segment in rest.segments() {
        path.push(segment.clone());
    }
    path
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

    fn invalid(schema: &str) -> String {
        let error = ValuesSchema::parse(schema, Path::new("values.schema.json")).unwrap_err();
        let message = error.to_string();
        let prefix = "schema file values.schema.json is not a valid JSON schema: ";
        assert!(message.starts_with(prefix), "{message}");
        message[prefix.len()..].to_owned()
    }

    #[test]
    fn a_reference_to_nothing_names_its_place() {
        assert_eq!(
            invalid(r##"{"properties": {"a": {"$ref": "#/$defs/missing"}}}"##),
            "properties.a.$ref: refers to \"#/$defs/missing\", which does not exist in this schema"
        );
        assert_eq!(
            invalid(r##"{"allOf": [{"$ref": "#nope"}]}"##),
            "allOf[0].$ref: refers to \"#nope\", an anchor this schema does not define"
        );
    }

    #[test]
    fn a_reference_to_another_file_or_url_says_it_is_not_fetched() {
        for (schema, place, target) in [
            (
                r#"{"$ref": "https://example.com/s.json"}"#,
                "$ref",
                "https://example.com/s.json",
            ),
            (
                r#"{"properties": {"a": {"$ref": "other.json"}}}"#,
                "properties.a.$ref",
                "other.json",
            ),
            (
                r#"{"$ref": "file:///etc/passwd"}"#,
                "$ref",
                "file:///etc/passwd",
            ),
        ] {
            let message = invalid(schema);
            assert_eq!(
                message,
                format!(
                    "{place}: refers to \"{target}\", another file or a URL, and rchart does not fetch schemas \
                     (copy the definition into this file under \"$defs\" and refer to it as \"#/$defs/NAME\")"
                )
            );
            for internal in [
                "resolve-http",
                "resolve-file",
                "registry",
                "resolver",
                "feature",
            ] {
                assert!(!message.contains(internal), "{message}");
            }
        }
    }

    #[test]
    fn an_unknown_draft_is_named() {
        assert_eq!(
            invalid(r#"{"$schema": "http://example.com/my-draft", "type": "object"}"#),
            "$schema: \"http://example.com/my-draft\" is not a JSON Schema draft rchart knows \
             (drafts 4, 6, 7, 2019-09 and 2020-12 are)"
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
