//! `dependencies:` in `Chart.yaml`: the charts a chart is built from.
//!
//! ```yaml
//! dependencies:
//!   - name: redis                     # the dependency's chart name
//!     version: ">=17.0.0 <18.0.0"     # a Helm-style range; a bare 1.2.3 is exact
//!     repository: https://charts.example.com   # or file://../redis, @alias, alias:NAME
//!     alias: cache                    # renders as "cache", values under cache:
//!     condition: cache.enabled,global.cache.enabled
//!     tags: [backend]
//!     import-values:
//!       - child: exported.config      # the subchart's map at exported.config…
//!         parent: config              # …is copied into the parent's config
//!       - defaults                    # the subchart's exports.defaults into the parent root
//! ```
//!
//! Every field is checked when `Chart.yaml` is read, and a problem names the field:
//! `Chart.yaml: field "dependencies[1].version": …`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::escape::escape_name;
use super::metadata::{MetadataError, check_name, json_type};
use super::versions::VersionSpec;

/// One entry of `dependencies:`, as written (Helm's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// The version range as written; empty means any version but prereleases.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Where `rchart dependency update` finds the chart; empty means `charts/` only.
    #[serde(default)]
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(
        rename = "import-values",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<ImportValue>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
}

/// One `import-values` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImportValue {
    /// `- NAME`: the subchart's `exports.NAME` map, merged into the parent's root.
    Exports(String),
    /// `- {child: a.b, parent: x.y}`: the subchart's map at `a.b`, into the parent at
    /// `x.y` (`.` is the root).
    Path { child: String, parent: String },
}

/// Where a dependency comes from, read from its `repository` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryRef<'a> {
    /// Empty: the chart must already be in `charts/`.
    None,
    /// `file://PATH`, relative to the chart directory.
    File(&'a str),
    /// `https://…` or `http://…`: a chart repository holding `index.yaml`.
    Url(&'a str),
    /// `@name` or `alias:name`: a repository added with `rchart repo add`.
    Named(&'a str),
    /// `oci://…`: a chart in an OCI registry.
    Oci(&'a str),
}

impl Dependency {
    /// The name the subchart renders under and reads its values from: the alias, else
    /// the chart name.
    pub fn key(&self) -> &str {
        if self.alias.is_empty() {
            &self.name
        } else {
            &self.alias
        }
    }

    /// The version range; checked when `Chart.yaml` was read.
    pub fn version_spec(&self) -> VersionSpec {
        VersionSpec::parse(Some(&self.version)).unwrap_or(VersionSpec::Range(None))
    }

    pub fn repository_ref(&self) -> RepositoryRef<'_> {
        repository_ref(&self.repository)
    }
}

fn repository_ref(repository: &str) -> RepositoryRef<'_> {
    if repository.is_empty() {
        RepositoryRef::None
    } else if let Some(path) = repository.strip_prefix("file://") {
        RepositoryRef::File(path)
    } else if let Some(name) = repository
        .strip_prefix('@')
        .or_else(|| repository.strip_prefix("alias:"))
    {
        RepositoryRef::Named(name)
    } else if repository.starts_with("oci://") {
        RepositoryRef::Oci(repository)
    } else {
        RepositoryRef::Url(repository)
    }
}

fn invalid(field: &str, problem: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Reads and checks the `dependencies` field.
pub(crate) fn parse_dependencies(
    fields: &Map<String, Value>,
) -> Result<Vec<Dependency>, MetadataError> {
    let items = match fields.get("dependencies") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                "dependencies",
                format!("expected a list, found {}", json_type(other)),
            ));
        }
    };
    let mut dependencies: Vec<Dependency> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = format!("dependencies[{index}]");
        let dependency = parse_one(&field, item)?;
        if let Some(earlier) = dependencies
            .iter()
            .position(|d| d.key() == dependency.key())
        {
            return Err(invalid(
                &field,
                format!(
                    "\"{}\" is already the name of dependencies[{earlier}]; give one of them an alias",
                    escape_name(dependency.key())
                ),
            ));
        }
        dependencies.push(dependency);
    }
    Ok(dependencies)
}

const KNOWN_KEYS: &[&str] = &[
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "import-values",
    "alias",
];

fn parse_one(field: &str, item: &Value) -> Result<Dependency, MetadataError> {
    let Value::Object(entry) = item else {
        return Err(invalid(
            field,
            format!(
                "expected a mapping with name, version and repository, found {}",
                json_type(item)
            ),
        ));
    };
    if let Some(unknown) = entry.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(invalid(
            &format!("{field}.{}", escape_name(unknown)),
            format!(
                "is not a dependency field (expected one of {})",
                KNOWN_KEYS.join(", ")
            ),
        ));
    }
    let text = |key: &str| -> Result<String, MetadataError> {
        match entry.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(Value::Number(n)) if key == "version" => Err(invalid(
                &format!("{field}.version"),
                format!("{n} is a number; quote the version range, e.g. \"{n}\""),
            )),
            Some(other) => Err(invalid(
                &format!("{field}.{key}"),
                format!("expected a string, found {}", json_type(other)),
            )),
        }
    };
    let name = text("name")?;
    if name.is_empty() {
        return Err(invalid(&format!("{field}.name"), "is required"));
    }
    check_name(&name).map_err(|problem| invalid(&format!("{field}.name"), problem))?;
    let version = text("version")?;
    VersionSpec::parse(Some(&version)).map_err(|problem| {
        invalid(
            &format!("{field}.version"),
            format!(
                "\"{}\" is not a version range: {problem}",
                escape_name(&version)
            ),
        )
    })?;
    let repository = text("repository")?;
    check_repository(&repository).map_err(|p| invalid(&format!("{field}.repository"), p))?;
    let alias = text("alias")?;
    if !alias.is_empty() {
        check_name(&alias).map_err(|problem| invalid(&format!("{field}.alias"), problem))?;
    }
    let condition = text("condition")?;
    if !condition.is_empty() && !condition.split(',').map(str::trim).all(valid_path) {
        return Err(invalid(
            &format!("{field}.condition"),
            format!(
                "\"{}\" is not a comma-separated list of value paths such as redis.enabled",
                escape_name(&condition)
            ),
        ));
    }
    let tags = match entry.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, tag)| match tag {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                other => Err(invalid(
                    &format!("{field}.tags[{i}]"),
                    format!("expected a tag name, found {}", json_type(other)),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(
                &format!("{field}.tags"),
                format!("expected a list of strings, found {}", json_type(other)),
            ));
        }
    };
    let import_values = parse_import_values(field, entry.get("import-values"))?;
    Ok(Dependency {
        name,
        version,
        repository,
        condition,
        tags,
        import_values,
        alias,
    })
}

fn check_repository(repository: &str) -> Result<(), String> {
    let shown = escape_name(repository);
    match repository_ref(repository) {
        RepositoryRef::None => Ok(()),
        RepositoryRef::File("") => Err(format!(
            "\"{shown}\" names no directory (expected file://RELATIVE/PATH)"
        )),
        RepositoryRef::Named("") => Err(format!(
            "\"{shown}\" names no repository (expected @NAME, as added by rchart repo add)"
        )),
        RepositoryRef::Url(url)
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.is_empty()) =>
        {
            Err(format!(
                "\"{shown}\" is not a repository (expected https://…, http://…, oci://…, file://PATH or @NAME)"
            ))
        }
        _ => Ok(()),
    }
}

fn parse_import_values(
    field: &str,
    value: Option<&Value>,
) -> Result<Vec<ImportValue>, MetadataError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                &format!("{field}.import-values"),
                format!("expected a list, found {}", json_type(other)),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{field}.import-values[{i}]");
            match item {
                Value::String(name) if valid_path(name) => Ok(ImportValue::Exports(name.clone())),
                Value::Object(map) => {
                    let path = |key: &str| match map.get(key) {
                        Some(Value::String(p)) if p == "." || valid_path(p) => Ok(p.clone()),
                        Some(other) => Err(invalid(
                            &format!("{at}.{key}"),
                            format!(
                                "expected a value path such as a.b (or . for the top), found {}",
                                json_type(other)
                            ),
                        )),
                        None => Err(invalid(&format!("{at}.{key}"), "is required")),
                    };
                    if let Some(extra) = map.keys().find(|k| *k != "child" && *k != "parent") {
                        return Err(invalid(
                            &format!("{at}.{}", escape_name(extra)),
                            "is not an import-values field (expected child and parent)",
                        ));
                    }
                    Ok(ImportValue::Path {
                        child: path("child")?,
                        parent: path("parent")?,
                    })
                }
                other => Err(invalid(
                    &at,
                    format!(
                        "expected the name of an export or {{child: PATH, parent: PATH}}, found {}",
                        json_type(other)
                    ),
                )),
            }
        })
        .collect()
}

fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|part| !part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;

    fn parse(deps: &str) -> Result<Vec<Dependency>, String> {
        let text = format!("apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n{deps}");
        Metadata::parse(&text)
            .map(|parsed| parsed.metadata.dependencies)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_field_is_read() {
        let deps = parse(
            "- name: redis\n  version: \">=17 <18\"\n  repository: https://charts.example.com\n  alias: cache\n  condition: cache.enabled, global.cache\n  tags: [backend]\n  import-values:\n    - defaults\n    - child: exported.config\n      parent: config\n- name: common\n  repository: file://../common\n",
        )
        .unwrap();
        assert_eq!(deps[0].key(), "cache");
        assert_eq!(deps[0].tags, ["backend"]);
        assert_eq!(
            deps[0].import_values,
            [
                ImportValue::Exports("defaults".into()),
                ImportValue::Path {
                    child: "exported.config".into(),
                    parent: "config".into()
                }
            ]
        );
        assert_eq!(deps[1].repository_ref(), RepositoryRef::File("../common"));
        assert_eq!(deps[1].key(), "common");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            ("- version: 1.0.0\n", "dependencies[0].name\": is required"),
            (
                "- name: a\n  version: 1.0\n",
                "dependencies[0].version\": 1.0 is a number",
            ),
            (
                "- name: a\n  version: \">=banana\"\n",
                "dependencies[0].version\": \">=banana\" is not a version range",
            ),
            (
                "- name: a\n  repository: ftp://x\n",
                "dependencies[0].repository\": \"ftp://x\" is not a repository",
            ),
            (
                "- name: a\n  alias: Bad_Alias\n",
                "dependencies[0].alias\": \"Bad_Alias\" must be lowercase",
            ),
            (
                "- name: a\n- name: a\n",
                "dependencies[1]\": \"a\" is already the name of dependencies[0]",
            ),
            (
                "- name: a\n  condition: a..b\n",
                "dependencies[0].condition\"",
            ),
            (
                "- name: a\n  tags: x\n",
                "dependencies[0].tags\": expected a list",
            ),
            (
                "- name: a\n  import-values: [{child: a}]\n",
                "dependencies[0].import-values[0].parent\": is required",
            ),
            (
                "- name: a\n  repo: x\n",
                "dependencies[0].repo\": is not a dependency field",
            ),
            ("- just-a-name\n", "dependencies[0]\": expected a mapping"),
        ];
        for (yaml, expected) in cases {
            let error = parse(yaml).unwrap_err();
            assert!(error.contains(expected), "{yaml}: {error}");
        }
    }
}
