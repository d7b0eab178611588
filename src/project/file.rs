//! Reading `rchart.yaml`, strictly: a typo is an error naming the file, the line and the
//! key, never a setting silently ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::node::{Node, NodeValue};
use crate::names::{namespace_problem, release_name_problem};
use crate::yaml;

/// A project: defaults for the commands run in its directory and below.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file, as messages name it.
    pub file: String,
    /// The directory holding the file; the paths in it are relative to this.
    pub dir: PathBuf,
    /// The default release name.
    pub release: Option<String>,
    /// The default chart.
    pub chart: Option<PathBuf>,
    /// In file order.
    pub environments: Vec<Environment>,
}

/// Where one environment's release lives, and the values that make it that environment.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub namespace: String,
    /// Applied first, before any `-f`.
    pub values: Vec<ValuesFile>,
    pub kube_context: Option<String>,
}

/// A values file an environment lists.
#[derive(Debug, Clone)]
pub struct ValuesFile {
    /// As written in the project file.
    pub written: String,
    /// Joined to the project's directory, for reading.
    pub path: PathBuf,
    /// Resolved, to tell whether a `-f` names this file.
    pub canonical: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}{}: {message}", at_line(*line))]
    Syntax {
        file: String,
        line: Option<u64>,
        message: String,
    },
    #[error("{file}{}: {key}: {problem}", at_line(*line))]
    Invalid {
        file: String,
        line: Option<u64>,
        key: String,
        problem: String,
    },
}

fn at_line(line: Option<u64>) -> String {
    line.filter(|line| *line > 0)
        .map(|line| format!(":{line}"))
        .unwrap_or_default()
}

const TOP_LEVEL_KEYS: &str = "release, chart and environments";
const ENVIRONMENT_KEYS: &str = "namespace, values and kubeContext";

/// Reads and checks a project file. `shown` names it in errors; relative paths in it are
/// taken from `dir`.
pub fn load(path: &Path, shown: &str, dir: &Path) -> Result<Project, ProjectError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Read {
        file: shown.to_string(),
        source,
    })?;
    parse(&text, shown, dir)
}

/// Parses the text of a project file; see [`load`].
pub fn parse(text: &str, shown: &str, dir: &Path) -> Result<Project, ProjectError> {
    let reader = Reader {
        file: shown,
        dir,
        listed: HashMap::new(),
    };
    reader.read(text)
}

struct Reader<'a> {
    file: &'a str,
    dir: &'a Path,
    /// Every values file listed so far, and the environment that lists it.
    listed: HashMap<PathBuf, String>,
}

impl Reader<'_> {
    fn read(mut self, text: &str) -> Result<Project, ProjectError> {
        let root: Node = yaml::from_str(text).map_err(|error| {
            let problem = yaml::describe(&error);
            ProjectError::Syntax {
                file: self.file.to_string(),
                line: problem.position.map(|(line, _)| line),
                message: problem.message,
            }
        })?;
        let mut project = Project {
            file: self.file.to_string(),
            dir: self.dir.to_path_buf(),
            release: None,
            chart: None,
            environments: Vec::new(),
        };
        let entries = match root.value {
            NodeValue::Null => Vec::new(),
            NodeValue::Map(entries) => entries,
            other => {
                return Err(self.invalid(
                    root.line,
                    "(top level)",
                    format!(
                        "expected a mapping of {TOP_LEVEL_KEYS}, found {}",
                        other.kind()
                    ),
                ));
            }
        };
        for (key, value) in &entries {
            let name = self.key_text(key, "")?;
            match name {
                "release" => {
                    let release = self.text(value, name)?;
                    if let Some(problem) = release_name_problem(&release) {
                        return Err(self.invalid(value.line, name, problem));
                    }
                    project.release = Some(release);
                }
                "chart" => {
                    let written = self.text(value, name)?;
                    let path = self.dir.join(&written);
                    if !path.exists() {
                        return Err(self.missing(value.line, name, &written));
                    }
                    project.chart = Some(path);
                }
                "environments" => project.environments = self.environments(value)?,
                _ => return Err(self.unknown(key.line, name, TOP_LEVEL_KEYS)),
            }
        }
        Ok(project)
    }

    fn environments(&mut self, node: &Node) -> Result<Vec<Environment>, ProjectError> {
        let entries = match &node.value {
            NodeValue::Null => return Ok(Vec::new()),
            NodeValue::Map(entries) => entries,
            other => {
                return Err(self.invalid(
                    node.line,
                    "environments",
                    format!(
                        "expected a mapping of environment names to their settings, found {}",
                        other.kind()
                    ),
                ));
            }
        };
        entries
            .iter()
            .map(|(key, value)| {
                let name = self.key_text(key, "environments.")?.to_string();
                if name.is_empty() {
                    return Err(self.invalid(
                        key.line,
                        "environments",
                        "an environment needs a name",
                    ));
                }
                self.environment(&name, key.line, value)
            })
            .collect()
    }

    fn environment(
        &mut self,
        name: &str,
        line: u64,
        node: &Node,
    ) -> Result<Environment, ProjectError> {
        let path = format!("environments.{name}");
        let NodeValue::Map(entries) = &node.value else {
            return Err(self.invalid(
                node.line,
                &path,
                format!(
                    "expected a mapping of {ENVIRONMENT_KEYS}, found {}",
                    node.value.kind()
                ),
            ));
        };
        let mut namespace = None;
        let mut values = Vec::new();
        let mut kube_context = None;
        for (key, value) in entries {
            let key_name = self.key_text(key, &format!("{path}."))?;
            let key_path = format!("{path}.{key_name}");
            match key_name {
                "namespace" => {
                    let text = self.text(value, &key_path)?;
                    if let Some(problem) = namespace_problem(&text) {
                        return Err(self.invalid(value.line, &key_path, problem));
                    }
                    namespace = Some(text);
                }
                "values" => values = self.values_files(name, &key_path, value)?,
                "kubeContext" => {
                    let text = self.text(value, &key_path)?;
                    if text.is_empty() {
                        return Err(self.invalid(
                            value.line,
                            &key_path,
                            "is empty; leave it out to use the current context",
                        ));
                    }
                    kube_context = Some(text);
                }
                _ => return Err(self.unknown(key.line, &key_path, ENVIRONMENT_KEYS)),
            }
        }
        let namespace = namespace.ok_or_else(|| {
            self.invalid(
                line,
                &path,
                "missing key \"namespace\": every environment names the namespace its release lives in",
            )
        })?;
        Ok(Environment {
            name: name.to_string(),
            namespace,
            values,
            kube_context,
        })
    }

    fn values_files(
        &mut self,
        environment: &str,
        path: &str,
        node: &Node,
    ) -> Result<Vec<ValuesFile>, ProjectError> {
        let NodeValue::List(items) = &node.value else {
            return Err(self.invalid(
                node.line,
                path,
                format!(
                    "expected a list of values files, e.g. [values/{environment}.yaml], found {}",
                    node.value.kind()
                ),
            ));
        };
        let mut files = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let key = format!("{path}[{index}]");
            let written = self.text(item, &key)?;
            let joined = self.dir.join(&written);
            if !joined.is_file() {
                return Err(self.missing(item.line, &key, &written));
            }
            let canonical = joined.canonicalize().unwrap_or_else(|_| joined.clone());
            if let Some(other) = self
                .listed
                .insert(canonical.clone(), environment.to_string())
            {
                let problem = if other == environment {
                    format!("{written} is listed twice in environment {environment}")
                } else {
                    format!(
                        "{written} is listed under environments {other} and {environment}; a values file belongs to one environment, so that -f {written} can select it"
                    )
                };
                return Err(self.invalid(item.line, &key, problem));
            }
            files.push(ValuesFile {
                written,
                path: joined,
                canonical,
            });
        }
        Ok(files)
    }

    fn key_text<'n>(&self, key: &'n Node, prefix: &str) -> Result<&'n str, ProjectError> {
        match &key.value {
            NodeValue::Text(text) => Ok(text),
            other => Err(self.invalid(
                key.line,
                &format!("{prefix}(key)"),
                format!("keys are names, found {}", other.kind()),
            )),
        }
    }

    fn text(&self, node: &Node, key: &str) -> Result<String, ProjectError> {
        match &node.value {
            NodeValue::Text(text) => Ok(text.clone()),
            other => Err(self.invalid(
                node.line,
                key,
                format!("expected text, found {} (quote the value)", other.kind()),
            )),
        }
    }

    fn invalid(&self, line: u64, key: &str, problem: impl Into<String>) -> ProjectError {
        ProjectError::Invalid {
            file: self.file.to_string(),
            line: Some(line),
            key: key.to_string(),
            problem: problem.into(),
        }
    }

    fn unknown(&self, line: u64, key: &str, known: &str) -> ProjectError {
        self.invalid(line, key, format!("unknown key (expected {known})"))
    }

    fn missing(&self, line: u64, key: &str, written: &str) -> ProjectError {
        self.invalid(
            line,
            key,
            format!(
                "{written} does not exist (paths are relative to {})",
                self.dir.display()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("values")).unwrap();
        std::fs::create_dir_all(dir.path().join("chart")).unwrap();
        for file in ["dev", "prod"] {
            std::fs::write(dir.path().join(format!("values/{file}.yaml")), "").unwrap();
        }
        dir
    }

    fn parse_in(dir: &Path, text: &str) -> Result<Project, String> {
        parse(text, "rchart.yaml", dir).map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_project_reads_in_file_order() {
        let dir = project_dir();
        let project = parse_in(
            dir.path(),
            "release: web\nchart: chart\nenvironments:\n  prod: { namespace: backend, values: [values/prod.yaml], kubeContext: prod }\n  dev:\n    namespace: backend-dev\n    values: [values/dev.yaml]\n",
        )
        .unwrap();
        assert_eq!(project.release.as_deref(), Some("web"));
        assert_eq!(project.chart, Some(dir.path().join("chart")));
        let names: Vec<&str> = project
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["prod", "dev"]);
        assert_eq!(
            project.environments[0].kube_context.as_deref(),
            Some("prod")
        );
        assert_eq!(project.environments[1].namespace, "backend-dev");
        assert_eq!(project.environments[1].values[0].written, "values/dev.yaml");
    }

    #[test]
    fn an_empty_file_is_an_empty_project() {
        let dir = project_dir();
        let project = parse_in(dir.path(), "# nothing yet\n").unwrap();
        assert!(project.release.is_none() && project.environments.is_empty());
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let dir = project_dir();
        let cases = [
            (
                "release: web\nrelaese: x\n",
                "rchart.yaml:2: relaese: unknown key (expected release, chart and environments)",
            ),
            (
                "environments:\n  dev: { namespace: d, valus: [values/dev.yaml] }\n",
                "rchart.yaml:2: environments.dev.valus: unknown key (expected namespace, values and kubeContext)",
            ),
            (
                "environments:\n  dev:\n    values: [values/dev.yaml]\n",
                "rchart.yaml:2: environments.dev: missing key \"namespace\"",
            ),
            (
                "environments:\n  dev: { namespace: d, values: [values/nope.yaml] }\n",
                "rchart.yaml:2: environments.dev.values[0]: values/nope.yaml does not exist",
            ),
            (
                "environments:\n  dev: { namespace: d, values: [values/dev.yaml] }\n  qa:\n    namespace: q\n    values:\n      - values/prod.yaml\n      - ./values/dev.yaml\n",
                "rchart.yaml:7: environments.qa.values[1]: ./values/dev.yaml is listed under environments dev and qa",
            ),
            (
                "release: \"123\"\n",
                "rchart.yaml:1: release: release name \"123\" is all digits",
            ),
            (
                "chart: charts/web\n",
                "rchart.yaml:1: chart: charts/web does not exist",
            ),
            (
                "environments:\n  dev: { namespace: Backend }\n",
                "rchart.yaml:2: environments.dev.namespace: namespace \"Backend\" is invalid",
            ),
            (
                "environments:\n  dev: { namespace: d, values: values/dev.yaml }\n",
                "rchart.yaml:2: environments.dev.values: expected a list of values files, e.g. [values/dev.yaml], found text",
            ),
            ("release: [web\n", "rchart.yaml:1: "),
            ("release: a\nrelease: b\n", "rchart.yaml:2: duplicate"),
        ];
        for (text, expected) in cases {
            let error = parse_in(dir.path(), text).unwrap_err();
            assert!(
                error.starts_with(expected),
                "{text:?}\n  expected: {expected}\n  got:      {error}"
            );
            assert_eq!(error.lines().count(), 1, "one line: {error}");
        }
    }
}
