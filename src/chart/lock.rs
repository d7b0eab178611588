//! `Chart.lock`: the exact versions `rchart dependency update` resolved, so that
//! `rchart dependency build` restores the same `charts/` anywhere.
//!
//! ```yaml
//! dependencies:
//! - name: redis
//!   repository: https://charts.example.com
//!   version: 17.1.0
//! digest: sha256:88f139bd…
//! generated: "2026-12-05T10:00:00Z"
//! ```
//!
//! `digest` is Helm's: the sha256 of the compact JSON of `[requested, locked]`, where
//! `requested` is `Chart.yaml`'s `dependencies` (fields in the order name, version,
//! repository, condition, tags, import-values, alias; empty ones left out except
//! `repository`) and `locked` the list above, with `<`, `>` and `&` escaped as Go's
//! `encoding/json` escapes them. So Helm and rchart accept each other's locks, and the
//! digest changes whenever `dependencies:` does.
//!
//! `generated` is `SOURCE_DATE_EPOCH` when it is set; otherwise `dependency update`
//! leaves an unchanged lock file alone rather than stamping a new time on it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dependency::Dependency;
use super::escape::escape_name;
use super::metadata::json_type;
use super::package::sha256_hex;

/// One resolved dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedDependency {
    pub name: String,
    pub version: String,
    pub repository: String,
}

/// A parsed `Chart.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub dependencies: Vec<LockedDependency>,
    pub digest: String,
    pub generated: Option<String>,
}

/// Helm's digest of `requested` and `locked` (`sha256:` and hex).
pub fn digest(requested: &[Dependency], locked: &[LockedDependency]) -> String {
    let json = serde_json::to_string(&(requested, locked)).unwrap_or_default();
    format!("sha256:{}", sha256_hex(go_json_escapes(&json).as_bytes()))
}

/// Go's `encoding/json` writes `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes.
fn go_json_escapes(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

impl Lock {
    /// Parses `Chart.lock`; messages name the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Value = crate::yaml::from_str(text)
            .map_err(|e| format!("not YAML: {}", crate::values::plain_yaml_message(&e)))?;
        let Value::Object(top) = document else {
            return Err(format!(
                "expected a mapping with dependencies and digest, found {}",
                json_type(&document)
            ));
        };
        let digest = match top.get("digest") {
            Some(Value::String(d)) if d.starts_with("sha256:") => d.clone(),
            Some(Value::String(d)) => {
                return Err(format!("digest: \"{}\" is not sha256:HEX", escape_name(d)));
            }
            _ => return Err("digest: missing".to_string()),
        };
        let items = match top.get("dependencies") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => {
                return Err(format!(
                    "dependencies: expected a list, found {}",
                    json_type(other)
                ));
            }
        };
        let dependencies = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let field = |key: &str| match item.get(key) {
                    Some(Value::String(s)) if !s.is_empty() || key == "repository" => Ok(s.clone()),
                    None if key == "repository" => Ok(String::new()),
                    Some(other) if !other.is_string() => Err(format!(
                        "dependencies[{i}].{key}: expected a string, found {}",
                        json_type(other)
                    )),
                    _ => Err(format!("dependencies[{i}].{key}: missing")),
                };
                let locked = LockedDependency {
                    name: field("name")?,
                    version: field("version")?,
                    repository: field("repository")?,
                };
                semver::Version::parse(&locked.version).map_err(|e| {
                    format!(
                        "dependencies[{i}].version: \"{}\" is not a version ({e})",
                        escape_name(&locked.version)
                    )
                })?;
                Ok(locked)
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Lock {
            dependencies,
            digest,
            generated: top
                .get("generated")
                .and_then(Value::as_str)
                .map(String::from),
        })
    }

    /// The file's text: keys in Helm's (alphabetical) order.
    pub fn to_yaml(&self) -> String {
        let mut text = String::from("dependencies:\n");
        if self.dependencies.is_empty() {
            text = String::from("dependencies: []\n");
        }
        for dependency in &self.dependencies {
            text.push_str(&format!(
                "- name: {}\n  repository: {}\n  version: {}\n",
                scalar(&dependency.name),
                scalar(&dependency.repository),
                // A semantic version reads back as a string unquoted, as Helm writes it
                dependency.version
            ));
        }
        text.push_str(&format!("digest: {}\n", self.digest));
        if let Some(generated) = &self.generated {
            text.push_str(&format!("generated: \"{generated}\"\n"));
        }
        text
    }

    /// Whether this lock still describes `requested`, by Helm's digest.
    pub fn matches(&self, requested: &[Dependency]) -> bool {
        self.digest == digest(requested, &self.dependencies)
    }
}

/// A string as a YAML scalar, quoted when a reader could take it for something else.
fn scalar(text: &str) -> String {
    crate::yaml::to_yaml(&text).unwrap_or_else(|_| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;

    fn requested(yaml: &str) -> Vec<Dependency> {
        let text = format!("apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n{yaml}");
        Metadata::parse(&text).unwrap().metadata.dependencies
    }

    fn locked(entries: &[(&str, &str, &str)]) -> Vec<LockedDependency> {
        entries
            .iter()
            .map(|(name, version, repository)| LockedDependency {
                name: name.to_string(),
                version: version.to_string(),
                repository: repository.to_string(),
            })
            .collect()
    }

    #[test]
    fn the_digest_is_helms() {
        // bitnami/wordpress's Chart.yaml and the Chart.lock Helm wrote for it
        let repo = "oci://registry-1.docker.io/bitnamicharts";
        let requested = requested(&format!(
            "- condition: memcached.enabled\n  name: memcached\n  repository: {repo}\n  version: 7.x.x\n- condition: mariadb.enabled\n  name: mariadb\n  repository: {repo}\n  version: 18.x.x\n- name: common\n  repository: {repo}\n  tags:\n  - bitnami-common\n  version: 2.x.x\n"
        ));
        let locked = locked(&[
            ("memcached", "7.0.6", repo),
            ("mariadb", "18.0.5", repo),
            ("common", "2.19.2", repo),
        ]);
        assert_eq!(
            digest(&requested, &locked),
            "sha256:88f139bdbfc47912743cec19b9ae0dccb73703e9df39b18a6797915702078ce9"
        );
    }

    #[test]
    fn ranges_are_hashed_with_gos_escapes() {
        let requested = requested(
            "- name: a\n  version: \">=1.0 <2\"\n  repository: file://../a\n  alias: b\n  import-values: [x, {parent: p, child: c}]\n",
        );
        let json =
            serde_json::to_string(&(&requested, locked(&[("a", "1.2.0", "file://../a")]))).unwrap();
        assert_eq!(
            go_json_escapes(&json),
            r#"[[{"name":"a","version":"\u003e=1.0 \u003c2","repository":"file://../a","import-values":["x",{"child":"c","parent":"p"}],"alias":"b"}],[{"name":"a","version":"1.2.0","repository":"file://../a"}]]"#
        );
    }

    #[test]
    fn a_lock_reads_back_what_it_wrote() {
        let lock = Lock {
            dependencies: locked(&[("web", "1.0.0", "https://h/charts"), ("db", "2.0.0", "")]),
            digest: "sha256:00".into(),
            generated: Some("2026-01-01T00:00:00Z".into()),
        };
        let text = lock.to_yaml();
        assert_eq!(
            text,
            "dependencies:\n- name: web\n  repository: https://h/charts\n  version: 1.0.0\n- name: db\n  repository: \"\"\n  version: 2.0.0\ndigest: sha256:00\ngenerated: \"2026-01-01T00:00:00Z\"\n"
        );
        assert_eq!(Lock::parse(&text).unwrap(), lock);
    }

    #[test]
    fn bad_locks_name_the_key() {
        assert_eq!(
            Lock::parse("dependencies: []\n").unwrap_err(),
            "digest: missing"
        );
        assert_eq!(
            Lock::parse("digest: sha256:0\ndependencies:\n- name: a\n").unwrap_err(),
            "dependencies[0].version: missing"
        );
        assert!(
            Lock::parse("digest: sha256:0\ndependencies:\n- {name: a, version: x}\n")
                .unwrap_err()
                .starts_with("dependencies[0].version: \"x\" is not a version")
        );
    }
}
