//! `Chart.yaml`: the chart's name, version and descriptive metadata.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::dependency::{Dependency, parse_dependencies};
use super::escape::escape_name;
use super::kube_version::KubeVersionRange;
use crate::values::plain_yaml_message;
use crate::yaml;

/// The only chart API version rchart reads. It is Helm's current one, so the file layout
/// carries over; the templates themselves are Tera.
pub const CHART_API_VERSION: &str = "v2";

/// Chart names end up in object names and archive names, so they follow DNS label rules.
const MAX_NAME_LEN: usize = 53;

/// The fields of `Chart.yaml`, as written there (camelCase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub api_version: String,
    pub name: String,
    pub version: semver::Version,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type", default)]
    pub chart_type: ChartType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<Maintainer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    /// Free-form notes for tools; rchart reads `rchart.io/multi-namespace`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The charts this one is built from (`docs/dependencies.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartType {
    /// Renders manifests; can be installed.
    #[default]
    Application,
    /// Holds shared components only; cannot be rendered or installed on its own.
    Library,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

const KNOWN_FIELDS: &[&str] = &[
    "apiVersion",
    "name",
    "version",
    "appVersion",
    "description",
    "type",
    "keywords",
    "home",
    "sources",
    "maintainers",
    "kubeVersion",
    "annotations",
    "dependencies",
];

/// A problem with `Chart.yaml`; the message names the field.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("Chart.yaml:{line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("Chart.yaml: {0}")]
    Syntax0(String),
    #[error("Chart.yaml: expected a mapping of fields, found {0}")]
    NotAMap(&'static str),
    #[error("Chart.yaml: missing required field \"{0}\"")]
    Missing(&'static str),
    #[error("Chart.yaml: field \"{field}\": {problem}")]
    Invalid { field: String, problem: String },
}

/// `Chart.yaml` parsed and checked, with warnings for fields rchart does not know.
pub struct ParsedMetadata {
    pub metadata: Metadata,
    pub warnings: Vec<String>,
}

impl Metadata {
    /// Parses and validates `Chart.yaml`.
    pub fn parse(text: &str) -> Result<ParsedMetadata, MetadataError> {
        let document: Value = yaml::from_str(text).map_err(|e| {
            let message = plain_yaml_message(&e);
            match yaml::describe(&e).position {
                Some((line, _)) => MetadataError::Syntax { line, message },
                None => MetadataError::Syntax0(message),
            }
        })?;
        let fields = match document {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(MetadataError::NotAMap(json_type(&other))),
        };
        let warnings = fields
            .keys()
            .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
            .map(|k| {
                format!(
                    "Chart.yaml: unknown field \"{}\" is ignored",
                    escape_name(k)
                )
            })
            .collect();
        let metadata = Self::from_fields(&fields)?;
        Ok(ParsedMetadata { metadata, warnings })
    }

    fn from_fields(fields: &Map<String, Value>) -> Result<Self, MetadataError> {
        let api_version = required_string(fields, "apiVersion")?;
        if api_version != CHART_API_VERSION {
            return Err(invalid(
                "apiVersion",
                format!(
                    "\"{}\" is not supported (expected \"{CHART_API_VERSION}\")",
                    escape_name(&api_version)
                ),
            ));
        }
        let name = required_string(fields, "name")?;
        check_name(&name).map_err(|problem| invalid("name", problem))?;
        if let Some(Value::Number(number)) = fields.get("version") {
            return Err(invalid(
                "version",
                format!(
                    "{number} is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)"
                ),
            ));
        }
        let version_text = required_string(fields, "version")?;
        let version = semver::Version::parse(&version_text).map_err(|e| {
            invalid(
                "version",
                format!(
                    "\"{}\" is not a semantic version ({e}; expected MAJOR.MINOR.PATCH, e.g. 1.0.0)",
                    escape_name(&version_text)
                ),
            )
        })?;
        let chart_type = match optional_string(fields, "type")?.as_deref() {
            None | Some("application") => ChartType::Application,
            Some("library") => ChartType::Library,
            Some(other) => {
                return Err(invalid(
                    "type",
                    format!(
                        "\"{}\" is not a chart type (expected \"application\" or \"library\")",
                        escape_name(other)
                    ),
                ));
            }
        };
        let kube_version = optional_string(fields, "kubeVersion")?;
        if let Some(range) = &kube_version {
            KubeVersionRange::parse(range).map_err(|e| invalid("kubeVersion", e))?;
        }
        Ok(Metadata {
            api_version,
            name,
            version,
            app_version: optional_string(fields, "appVersion")?,
            description: optional_string(fields, "description")?,
            chart_type,
            keywords: string_list(fields, "keywords")?,
            home: optional_string(fields, "home")?,
            sources: string_list(fields, "sources")?,
            maintainers: maintainers(fields)?,
            kube_version,
            annotations: annotations(fields)?,
            dependencies: parse_dependencies(fields)?,
        })
    }

    /// The metadata as templates see it: `chart.name`, `chart.app_version`, …
    pub fn template_context(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "version": self.version.to_string(),
            "app_version": self.app_version,
            "description": self.description,
            "type": self.chart_type,
            "keywords": self.keywords,
            "home": self.home,
            "sources": self.sources,
            "maintainers": self.maintainers,
            "kube_version": self.kube_version,
            "annotations": self.annotations,
        })
    }
}

fn invalid(field: &str, problem: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn required_string(
    fields: &Map<String, Value>,
    field: &'static str,
) -> Result<String, MetadataError> {
    match optional_string(fields, field)? {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(MetadataError::Missing(field)),
    }
}

/// Strings, plus numbers written without quotes (`appVersion: 1.10`), read as written
/// where possible. YAML has already turned `1.10` into 1.1, so users are told to quote.
fn optional_string(
    fields: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, MetadataError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(invalid(
            field,
            format!(
                "expected a string, found {} (quote the value)",
                json_type(other)
            ),
        )),
    }
}

fn string_list(fields: &Map<String, Value>, field: &str) -> Result<Vec<String>, MetadataError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    invalid(
                        &format!("{field}[{i}]"),
                        format!("expected a string, found {}", json_type(item)),
                    )
                })
            })
            .collect(),
        Some(other) => Err(invalid(
            field,
            format!("expected a list of strings, found {}", json_type(other)),
        )),
    }
}

/// A mapping of strings, as Kubernetes annotations are: `"true"`, not `true`.
fn annotations(fields: &Map<String, Value>) -> Result<BTreeMap<String, String>, MetadataError> {
    match fields.get("annotations") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(entries)) => entries
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), text.clone())),
                other => Err(invalid(
                    &format!("annotations.{key}"),
                    format!(
                        "expected a string, found {} (quote the value)",
                        json_type(other)
                    ),
                )),
            })
            .collect(),
        Some(other) => Err(invalid(
            "annotations",
            format!("expected a mapping of strings, found {}", json_type(other)),
        )),
    }
}

fn maintainers(fields: &Map<String, Value>) -> Result<Vec<Maintainer>, MetadataError> {
    let Some(Value::Array(items)) = fields.get("maintainers") else {
        return match fields.get("maintainers") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(other) => Err(invalid(
                "maintainers",
                format!("expected a list, found {}", json_type(other)),
            )),
        };
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("maintainers[{i}]");
            let Value::Object(entry) = item else {
                return Err(invalid(
                    &field,
                    format!("expected a mapping with a name, found {}", json_type(item)),
                ));
            };
            let text = |key: &str| -> Result<Option<String>, MetadataError> {
                match entry.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(invalid(
                        &format!("{field}.{key}"),
                        format!("expected a string, found {}", json_type(other)),
                    )),
                }
            };
            let name =
                text("name")?.ok_or_else(|| invalid(&format!("{field}.name"), "is required"))?;
            Ok(Maintainer {
                name,
                email: text("email")?,
                url: text("url")?,
            })
        })
        .collect()
}

/// Chart names become archive names and object name prefixes: DNS-label characters only.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let valid_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_chars || !valid_ends {
        return Err(format!(
            "\"{}\" must be lowercase letters, digits and '-', starting and ending with a letter or digit",
            escape_name(name)
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "\"{name}\" is longer than {MAX_NAME_LEN} characters"
        ));
    }
    Ok(())
}

/// A short name for a JSON value's type, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "apiVersion: v2\nname: demo\nversion: 1.2.3\n";

    fn error(text: &str) -> String {
        match Metadata::parse(text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_field() {
        let text = "apiVersion: v2\nname: demo\nversion: 1.2.3-rc.1\nappVersion: \"1.10\"\ndescription: A demo\ntype: application\nkeywords: [a, b]\nhome: https://example.com\nsources: [https://example.com/src]\nmaintainers:\n- name: Ops\n  email: ops@example.com\nkubeVersion: \">=1.28.0-0\"\n";
        let parsed = Metadata::parse(text).unwrap();
        let m = parsed.metadata;
        assert_eq!(m.name, "demo");
        assert_eq!(m.version.to_string(), "1.2.3-rc.1");
        assert_eq!(m.app_version.as_deref(), Some("1.10"));
        assert_eq!(m.keywords, ["a", "b"]);
        assert_eq!(m.maintainers[0].email.as_deref(), Some("ops@example.com"));
        assert_eq!(m.kube_version.as_deref(), Some(">=1.28.0-0"));
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn unknown_fields_are_warnings() {
        let parsed = Metadata::parse(&format!("{MINIMAL}icon: x.png\n")).unwrap();
        assert_eq!(
            parsed.warnings,
            ["Chart.yaml: unknown field \"icon\" is ignored"]
        );
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        assert_eq!(
            error("apiVersion: v2\nname: demo\n"),
            "Chart.yaml: missing required field \"version\""
        );
        assert_eq!(
            error("apiVersion: v2\nversion: 1.0.0\n"),
            "Chart.yaml: missing required field \"name\""
        );
        assert_eq!(
            error("name: demo\nversion: 1.0.0\n"),
            "Chart.yaml: missing required field \"apiVersion\""
        );
        assert!(
            error("apiVersion: v2\nname: demo\nversion: \"1.0\"\n")
                .starts_with("Chart.yaml: field \"version\": \"1.0\" is not a semantic version")
        );
        assert!(
            error("apiVersion: v2\nname: demo\nversion: 1.0\n")
                .starts_with("Chart.yaml: field \"version\": 1.0 is not a semantic version")
        );
        assert!(
            error("apiVersion: v1\nname: demo\nversion: 1.0.0\n").contains("field \"apiVersion\"")
        );
        assert!(
            error("apiVersion: v2\nname: Demo_Chart\nversion: 1.0.0\n").contains("field \"name\"")
        );
        assert!(error(&format!("{MINIMAL}type: plugin\n")).contains("field \"type\""));
        assert!(error(&format!("{MINIMAL}keywords: [1]\n")).contains("field \"keywords[0]\""));
        assert!(
            error(&format!("{MINIMAL}maintainers:\n- email: x\n")).contains("maintainers[0].name")
        );
        assert!(
            error(&format!("{MINIMAL}kubeVersion: \">=banana\"\n"))
                .contains("field \"kubeVersion\"")
        );
        assert!(error(&format!("{MINIMAL}appVersion: 1.5\n")).contains("quote the value"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert!(
            error("apiVersion: v2\nname: [demo\n").starts_with("Chart.yaml:2:"),
            "{}",
            error("apiVersion: v2\nname: [demo\n")
        );
        assert_eq!(
            error("- a\n"),
            "Chart.yaml: expected a mapping of fields, found a list"
        );
    }
}
