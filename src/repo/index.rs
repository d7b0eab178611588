//! `index.yaml`: the list of charts a repository serves, in Helm's format.
//!
//! ```yaml
//! apiVersion: v1
//! entries:
//!   redis:                       # newest version first
//!   - apiVersion: v2
//!     created: "2026-12-01T10:00:00Z"
//!     digest: 3f1c…             # sha256 of the archive, hex
//!     name: redis
//!     urls: [redis-17.1.0.tgz]   # relative to the repository URL, or absolute
//!     version: 17.1.0
//!     …                          # the rest of the chart's Chart.yaml
//! generated: "2026-12-01T10:00:00Z"
//! ```
//!
//! Reading is lenient where Helm is: an entry that is not a chart version (no name, a
//! version that is not semver) is skipped and reported, not fatal. Anything else wrong
//! (not YAML, no `apiVersion`, `entries` not a map) is an error naming the key.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::chart::escape::escape_name;
use crate::chart::metadata::json_type;
use crate::chart::versions::VersionSpec;

/// Largest `index.yaml` read, in bytes. Big public repositories serve a few tens of MiB.
pub const MAX_INDEX_SIZE: u64 = 64 * 1024 * 1024;

/// One chart version of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartVersion {
    pub name: String,
    pub version: semver::Version,
    pub app_version: Option<String>,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub urls: Vec<String>,
    /// The archive's sha256, lowercase hex.
    pub digest: Option<String>,
    pub created: Option<String>,
    /// The whole entry as the index holds it, written back by `repo index --merge`.
    pub raw: Map<String, Value>,
}

/// A parsed index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexFile {
    /// Chart name → versions, newest first.
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
    pub generated: Option<String>,
    /// Entries left out, each with why.
    pub skipped: Vec<String>,
}

impl IndexFile {
    /// Parses an index; `source` (a URL or a file) names it in messages.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        let document: Value = crate::yaml::from_str(text).map_err(|e| {
            format!(
                "{source} is not YAML: {}",
                crate::values::plain_yaml_message(&e)
            )
        })?;
        let Value::Object(top) = document else {
            return Err(format!(
                "{source} is not a chart repository index: expected a mapping with apiVersion and entries, found {}",
                json_type(&document)
            ));
        };
        match top.get("apiVersion") {
            Some(Value::String(v)) if !v.is_empty() => {}
            _ => {
                return Err(format!(
                    "{source} is not a chart repository index: no apiVersion (is the URL the repository's, without index.yaml?)"
                ));
            }
        }
        let mut index = IndexFile {
            generated: top
                .get("generated")
                .and_then(Value::as_str)
                .map(String::from),
            ..Self::default()
        };
        let entries = match top.get("entries") {
            None | Some(Value::Null) => return Ok(index),
            Some(Value::Object(entries)) => entries,
            Some(other) => {
                return Err(format!(
                    "{source}: entries: expected a mapping of chart names, found {}",
                    json_type(other)
                ));
            }
        };
        for (name, versions) in entries {
            let Value::Array(versions) = versions else {
                index.skipped.push(format!(
                    "entries.{}: expected a list of versions",
                    escape_name(name)
                ));
                continue;
            };
            let mut parsed = Vec::with_capacity(versions.len());
            for (i, entry) in versions.iter().enumerate() {
                match ChartVersion::from_value(name, entry) {
                    Ok(version) => parsed.push(version),
                    Err(problem) => index
                        .skipped
                        .push(format!("entries.{}[{i}]: {problem}", escape_name(name))),
                }
            }
            parsed.sort_by(|a, b| b.version.cmp(&a.version));
            if !parsed.is_empty() {
                index.entries.insert(name.clone(), parsed);
            }
        }
        Ok(index)
    }

    /// The highest version of `name` that `spec` admits.
    pub fn find(&self, name: &str, spec: &VersionSpec) -> Option<&ChartVersion> {
        self.entries
            .get(name)?
            .iter()
            .filter(|v| spec.matches(&v.version))
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// Adds a version, keeping each list newest first; a version already there is kept.
    pub fn add(&mut self, version: ChartVersion) -> bool {
        let list = self.entries.entry(version.name.clone()).or_default();
        if list.iter().any(|v| v.version == version.version) {
            return false;
        }
        list.push(version);
        list.sort_by(|a, b| b.version.cmp(&a.version));
        true
    }

    /// The index as Helm writes it: keys sorted, versions newest first.
    pub fn to_yaml(&self) -> String {
        let mut entries = Map::new();
        for (name, versions) in &self.entries {
            let list = versions
                .iter()
                .map(|v| sorted(&Value::Object(v.raw.clone())))
                .collect();
            entries.insert(name.clone(), Value::Array(list));
        }
        let mut top = Map::new();
        top.insert("apiVersion".into(), Value::String("v1".into()));
        top.insert("entries".into(), Value::Object(entries));
        if let Some(generated) = &self.generated {
            top.insert("generated".into(), Value::String(generated.clone()));
        }
        let mut text = crate::yaml::to_yaml(&Value::Object(top)).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl ChartVersion {
    fn from_value(name: &str, entry: &Value) -> Result<Self, String> {
        let Value::Object(raw) = entry else {
            return Err(format!("expected a mapping, found {}", json_type(entry)));
        };
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(String::from);
        if let Some(own) = text("name")
            && own != name
        {
            return Err(format!(
                "names chart \"{}\" under \"{}\"",
                escape_name(&own),
                escape_name(name)
            ));
        }
        let version_text = match raw.get("version") {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("has no version".to_string()),
        };
        let version = semver::Version::parse(version_text.trim_start_matches('v'))
            .map_err(|e| format!("version \"{}\": {e}", escape_name(&version_text)))?;
        let urls = match raw.get("urls") {
            Some(Value::Array(urls)) => urls
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        let keywords = match raw.get("keywords") {
            Some(Value::Array(words)) => words
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            name: name.to_string(),
            version,
            app_version: text("appVersion"),
            description: text("description"),
            keywords,
            urls,
            digest: text("digest").map(|d| d.trim_start_matches("sha256:").to_lowercase()),
            created: text("created"),
            raw: raw.clone(),
        })
    }

    /// An entry for a chart archive: its Chart.yaml, then `urls`, `created` and `digest`.
    pub fn for_archive(
        metadata: &crate::chart::Metadata,
        url: String,
        created: String,
        digest: String,
    ) -> Self {
        let mut raw = match serde_json::to_value(metadata) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        raw.insert(
            "urls".into(),
            Value::Array(vec![Value::String(url.clone())]),
        );
        raw.insert("created".into(), Value::String(created.clone()));
        raw.insert("digest".into(), Value::String(digest.clone()));
        Self {
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            app_version: metadata.app_version.clone(),
            description: metadata.description.clone(),
            keywords: metadata.keywords.clone(),
            urls: vec![url],
            digest: Some(digest),
            created: Some(created),
            raw,
        }
    }

    /// Sets `created`, in the entry written back too.
    pub fn set_created(&mut self, created: String) {
        self.raw
            .insert("created".into(), Value::String(created.clone()));
        self.created = Some(created);
    }
}

/// Maps with their keys in alphabetical order, at every depth, as Helm writes YAML.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The absolute URL of a chart `url` an index lists, relative to the repository `base`:
/// as Helm resolves it, against the base with a trailing `/`, keeping the base's query.
pub fn resolve_url(base: &str, url: &str) -> Result<String, String> {
    if url.contains("://") {
        return Ok(url.to_string());
    }
    let parsed = reqwest::Url::parse(base).map_err(|e| format!("{base}: {e}"))?;
    let query = parsed.query().map(String::from);
    let mut dir = parsed.clone();
    dir.set_query(None);
    if !dir.path().ends_with('/') {
        let path = format!("{}/", dir.path());
        dir.set_path(&path);
    }
    let mut joined = dir.join(url).map_err(|e| format!("{url}: {e}"))?;
    if joined.query().is_none() {
        joined.set_query(query.as_deref());
    }
    Ok(joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "apiVersion: v1\nentries:\n  web:\n  - name: web\n    version: 1.0.0\n    urls: [web-1.0.0.tgz]\n    digest: ABC\n  - name: web\n    version: 1.2.0-rc.1\n    urls: [web-1.2.0-rc.1.tgz]\n  - name: web\n    version: 1.1.0\n    urls: [https://other.example/web-1.1.0.tgz]\n  - name: web\n    version: banana\ngenerated: \"2026-01-01T00:00:00Z\"\n";

    #[test]
    fn versions_are_sorted_newest_first_and_bad_ones_skipped() {
        let index = IndexFile::parse(INDEX, "index.yaml").unwrap();
        let versions: Vec<String> = index.entries["web"]
            .iter()
            .map(|v| v.version.to_string())
            .collect();
        assert_eq!(versions, ["1.2.0-rc.1", "1.1.0", "1.0.0"]);
        assert_eq!(index.skipped.len(), 1);
        assert!(index.skipped[0].starts_with("entries.web[3]: version \"banana\""));
        assert_eq!(index.entries["web"][2].digest.as_deref(), Some("abc"));
        let best = index
            .find("web", &VersionSpec::parse(None).unwrap())
            .unwrap();
        assert_eq!(best.version.to_string(), "1.1.0");
        let exact = index
            .find("web", &VersionSpec::parse(Some("1.0.0")).unwrap())
            .unwrap();
        assert_eq!(exact.version.to_string(), "1.0.0");
    }

    #[test]
    fn bad_indexes_are_named() {
        assert!(
            IndexFile::parse("entries: {}\n", "https://x/index.yaml")
                .unwrap_err()
                .contains("no apiVersion")
        );
        assert!(
            IndexFile::parse("apiVersion: v1\nentries: []\n", "i.yaml")
                .unwrap_err()
                .contains("entries: expected a mapping")
        );
        assert!(
            IndexFile::parse("<html>", "i.yaml")
                .unwrap_err()
                .starts_with("i.yaml is not a chart repository index")
        );
    }

    #[test]
    fn relative_urls_resolve_against_the_repository_with_its_query() {
        assert_eq!(
            resolve_url("https://h/charts", "web-1.0.0.tgz").unwrap(),
            "https://h/charts/web-1.0.0.tgz"
        );
        assert_eq!(
            resolve_url("https://h/charts/?token=x", "web-1.0.0.tgz").unwrap(),
            "https://h/charts/web-1.0.0.tgz?token=x"
        );
        assert_eq!(
            resolve_url("https://h/charts", "https://o/web.tgz").unwrap(),
            "https://o/web.tgz"
        );
    }
}
