//! `rchart lint`: render a chart the ways it will be used and report what would break
//! (errors) and what is risky in production (warnings).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::render_release::{Pipeline, render_release_with};
use crate::chart::{Chart, VALUES_FILE};
use crate::render::{Capabilities, Manifest, ReleaseInfo, RenderOptions};
use crate::values::{self, ValueSource, Values};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "[ERROR]",
            Severity::Warning => "[WARNING]",
        };
        write!(f, "{label} {}", self.message)
    }
}

pub struct LintOptions<'a> {
    pub chart: &'a Path,
    /// `-f` files: the chart is rendered with its defaults, then with each file alone.
    /// Production warnings come from the files when there are any.
    pub values_files: &'a [PathBuf],
    /// `--set*` flags, applied on top in every rendering.
    pub overrides: &'a [ValueSource],
    pub namespace: &'a str,
    /// The release name templates see, as `template` would give it.
    pub release: &'a str,
    /// The most bytes the chart may render (`--max-output`).
    pub max_output: u64,
}

/// Findings sorted errors first, without duplicates.
pub fn lint(options: &LintOptions<'_>) -> Vec<Finding> {
    let mut findings = BTreeSet::new();
    let chart = match Chart::load(options.chart) {
        Ok(chart) => chart,
        Err(error) => {
            findings.insert(error_finding(format!("{:#}", anyhow::Error::from(error))));
            return findings.into_iter().collect();
        }
    };
    for warning in &chart.warnings {
        findings.insert(warning_finding(warning.clone()));
    }
    let committed = CommittedStrings::collect(&chart, options.values_files);
    let capabilities =
        Capabilities::offline(None, &[]).expect("the default Kubernetes version parses");
    let release = ReleaseInfo::new(options.release, options.namespace, 1, false);

    // With environment files given, those are what gets deployed: production warnings
    // come from them, and the chart's defaults alone are only checked for errors.
    let warn_for_defaults = options.values_files.is_empty();
    let scenarios = std::iter::once(None).chain(options.values_files.iter().map(Some));
    for file in scenarios {
        let label = match file {
            None => "with the chart's default values".to_string(),
            Some(path) if path.as_os_str() == crate::values::STDIN_ARG => {
                format!("with {}", crate::values::STDIN_NAME)
            }
            Some(path) => format!("with {}", path.display()),
        };
        let sources: Vec<ValueSource> = file
            .map(|path| ValueSource::File(path.clone()))
            .into_iter()
            .chain(options.overrides.iter().cloned())
            .collect();
        let render_options = RenderOptions {
            max_output: options.max_output,
        };
        let pipeline = Pipeline {
            options: render_options,
            post_renderer: None,
        };
        match render_release_with(&chart, &sources, &release, &capabilities, pipeline) {
            Err(error) => {
                findings.insert(error_finding(format!(
                    "{label}: {:#}",
                    anyhow::Error::from(error)
                )));
            }
            Ok(_) if file.is_none() && !warn_for_defaults => {}
            Ok(result) => {
                let rendered = &result.rendered;
                let ordinary = rendered.manifests.iter().map(|m| (m, false));
                let hooks = rendered.hooks.iter().map(|h| (&h.manifest, true));
                for (manifest, hook) in ordinary.chain(hooks) {
                    let warnings = manifest_warnings(manifest, hook, options.namespace, &committed);
                    for warning in warnings {
                        findings.insert(warning_finding(warning));
                    }
                }
            }
        }
    }
    findings.into_iter().collect()
}

fn error_finding(message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        message,
    }
}

fn warning_finding(message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        message,
    }
}

/// What is risky about one object; a hook (`hook`) runs to completion, so it needs no
/// probes.
fn manifest_warnings(
    manifest: &Manifest,
    hook: bool,
    namespace: &str,
    committed: &CommittedStrings,
) -> Vec<String> {
    let what = format!(
        "{} \"{}\" ({})",
        manifest.id.kind, manifest.id.name, manifest.source
    );
    let mut warnings = Vec::new();
    let object = match manifest.object() {
        Ok(object) => object,
        Err(error) => return vec![format!("{what}: {error}")],
    };
    if let Some(pod) = pod_spec(&object, &manifest.id.kind) {
        let long_running = !hook && !matches!(manifest.id.kind.as_str(), "Job" | "CronJob");
        for (container, image) in containers(pod, &["initContainers", "containers"]) {
            if !image.contains("@sha256:") {
                warnings.push(format!(
                    "{what}: container \"{container}\" image \"{image}\" is not pinned by digest (repository:tag@sha256:...)"
                ));
            }
        }
        for container in pod
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("?");
            for part in ["requests", "limits"] {
                let set = container
                    .pointer(&format!("/resources/{part}"))
                    .and_then(Value::as_object);
                if set.is_none_or(|map| map.is_empty()) {
                    warnings.push(format!(
                        "{what}: container \"{name}\" has no resource {part}"
                    ));
                }
            }
            if long_running {
                for probe in ["livenessProbe", "readinessProbe"] {
                    if container.get(probe).is_none_or(Value::is_null) {
                        warnings.push(format!("{what}: container \"{name}\" has no {probe}"));
                    }
                }
            }
        }
    }
    if manifest.id.kind == "Secret" {
        warnings.extend(committed.secret_warnings(&what, &object));
    }
    let effective_namespace = manifest.id.namespace.as_deref().unwrap_or(namespace);
    if is_namespaced(&manifest.id.kind) && effective_namespace == "default" {
        warnings.push(format!(
            "{what}: goes into the \"default\" namespace; give the release its own (-n NAMESPACE, or an environment of rchart.yaml)"
        ));
    }
    warnings
}

/// The pod spec inside a workload, if the kind has one.
fn pod_spec<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    let pointer = match kind {
        "Pod" => "/spec",
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    object.pointer(pointer)
}

fn containers<'a>(pod: &'a Value, lists: &[&str]) -> Vec<(&'a str, &'a str)> {
    lists
        .iter()
        .filter_map(|list| pod.get(*list).and_then(Value::as_array))
        .flatten()
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let image = c.get("image").and_then(Value::as_str).unwrap_or("");
            (name, image)
        })
        .collect()
}

/// Kinds that live outside namespaces.
fn is_namespaced(kind: &str) -> bool {
    !matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "IngressClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
    )
}

/// Every non-empty string in the values files that sit in the repository (the chart's
/// `values.yaml` and each `-f` file), with where it came from. A Secret whose data
/// equals one of them holds a committed credential.
struct CommittedStrings {
    entries: Vec<(String, String, String)>, // (value, file, key path)
}

impl CommittedStrings {
    fn collect(chart: &Chart, files: &[PathBuf]) -> Self {
        let mut entries = Vec::new();
        leaves(&chart.default_values, VALUES_FILE, "", &mut entries);
        for path in files {
            if let Ok(file_values) = values::load_values_file(path) {
                leaves(&file_values, &path.display().to_string(), "", &mut entries);
            }
        }
        Self { entries }
    }

    fn secret_warnings(&self, what: &str, secret: &Value) -> Vec<String> {
        let mut plain: Vec<(String, String)> = Vec::new();
        if let Some(data) = secret.get("data").and_then(Value::as_object) {
            for (key, encoded) in data {
                let decoded = encoded
                    .as_str()
                    .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                if let Some(text) = decoded {
                    plain.push((key.clone(), text));
                }
            }
        }
        if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
            for (key, text) in data {
                if let Some(text) = text.as_str() {
                    plain.push((key.clone(), text.to_string()));
                }
            }
        }
        plain
            .iter()
            .filter_map(|(key, text)| {
                self.entries.iter().find(|(value, _, _)| value == text).map(|(_, file, path)| {
                    format!(
                        "{what}: key \"{key}\" comes from committed values file {file} (key {path}); create the Secret out of band and reference it instead"
                    )
                })
            })
            .collect()
    }
}

fn leaves(values: &Values, file: &str, prefix: &str, out: &mut Vec<(String, String, String)>) {
    for (key, value) in values {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::String(text) if !text.is_empty() => {
                out.push((text.clone(), file.to_string(), path))
            }
            Value::Object(map) => leaves(map, file, &path, out),
            _ => {}
        }
    }
}
