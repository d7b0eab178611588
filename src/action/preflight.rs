//! Pre-flight checks of install and upgrade: a Secret or ConfigMap that a workload refers
//! to (`envFrom`, `secretKeyRef`, `configMapKeyRef`, volumes) but that neither the chart
//! renders nor the namespace holds. Such Secrets are often created out of band (a
//! database password in production) and easily forgotten; the pods would then not
//! start. One warning line names both, or with `--strict-refs` the operation stops
//! before anything changes. References marked `optional: true` are left alone. At most
//! one GET per referenced name.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use serde_json::Value;

use super::session::Session;
use crate::render::{Manifest, ResourceId};

/// What a workload can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefKind {
    ConfigMap,
    Secret,
}

impl fmt::Display for RefKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefKind::ConfigMap => "ConfigMap",
            RefKind::Secret => "Secret",
        })
    }
}

/// A workload's reference to a Secret or ConfigMap in its own namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub workload: ResourceId,
    pub namespace: String,
    pub kind: RefKind,
    pub name: String,
}

/// Warns about (or with `strict`, refuses) references to Secrets and ConfigMaps that
/// neither `manifests` nor the cluster hold.
pub async fn check_references(
    session: &Session,
    manifests: &[Manifest],
    strict: bool,
) -> anyhow::Result<()> {
    let unresolved = unresolved(manifests, session.namespace());
    let mut missing = Vec::new();
    let mut checked: Vec<((RefKind, &str, &str), bool)> = Vec::new();
    for reference in &unresolved {
        let key = (
            reference.kind,
            reference.namespace.as_str(),
            reference.name.as_str(),
        );
        let exists = match checked.iter().find(|(k, _)| *k == key) {
            Some((_, exists)) => *exists,
            None => {
                let exists = exists(session, reference).await?;
                checked.push((key, exists));
                exists
            }
        };
        if !exists {
            missing.push(describe(reference));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    if strict {
        anyhow::bail!("{} (--strict-refs)", missing.join("; "));
    }
    for problem in &missing {
        session.reporter.warn(problem);
    }
    Ok(())
}

fn describe(reference: &Reference) -> String {
    format!(
        "{} refers to {} {}, which the chart does not render and namespace {} does not hold",
        reference.workload, reference.kind, reference.name, reference.namespace
    )
}

/// Whether the referenced object exists: one GET.
async fn exists(session: &Session, reference: &Reference) -> anyhow::Result<bool> {
    let client = session.cluster.client.clone();
    let namespace = &reference.namespace;
    let found = match reference.kind {
        RefKind::Secret => Api::<Secret>::namespaced(client, namespace)
            .get_opt(&reference.name)
            .await
            .map(|o| o.is_some()),
        RefKind::ConfigMap => Api::<ConfigMap>::namespaced(client, namespace)
            .get_opt(&reference.name)
            .await
            .map(|o| o.is_some()),
    };
    found.map_err(|e| {
        anyhow::Error::from(session.cluster.describe(e)).context(format!(
            "checking that {} {namespace}/{} exists",
            reference.kind, reference.name
        ))
    })
}

/// The references of `manifests` that none of them satisfies, in order, once each.
pub fn unresolved(manifests: &[Manifest], release_namespace: &str) -> Vec<Reference> {
    let namespace_of = |id: &ResourceId| {
        id.namespace
            .clone()
            .unwrap_or_else(|| release_namespace.to_string())
    };
    let rendered: BTreeSet<(RefKind, String, String)> = manifests
        .iter()
        .filter(|m| m.id.group().is_empty())
        .filter_map(|m| {
            let kind = match m.id.kind.as_str() {
                "Secret" => RefKind::Secret,
                "ConfigMap" => RefKind::ConfigMap,
                _ => return None,
            };
            Some((kind, namespace_of(&m.id), m.id.name.clone()))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut unresolved = Vec::new();
    for manifest in manifests {
        let Some(pod) = pod_spec_pointer(&manifest.id) else {
            continue;
        };
        let Ok(object) = manifest.object() else {
            continue;
        };
        let Some(spec) = object.pointer(pod) else {
            continue;
        };
        let namespace = namespace_of(&manifest.id);
        for (kind, name) in pod_references(spec) {
            let key = (kind, namespace.clone(), name.clone());
            if rendered.contains(&key) || !seen.insert((manifest.id.clone(), key)) {
                continue;
            }
            unresolved.push(Reference {
                workload: ResourceId {
                    namespace: Some(namespace.clone()),
                    ..manifest.id.clone()
                },
                namespace: namespace.clone(),
                kind,
                name,
            });
        }
    }
    unresolved
}

/// Where a workload keeps its pod spec.
fn pod_spec_pointer(id: &ResourceId) -> Option<&'static str> {
    match (id.group(), id.kind.as_str()) {
        ("", "Pod") => Some("/spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            Some("/spec/template/spec")
        }
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The Secrets and ConfigMaps a pod spec needs, leaving out those marked optional.
fn pod_references(spec: &Value) -> Vec<(RefKind, String)> {
    let mut found = Vec::new();
    let mut add = |kind: RefKind, reference: &Value, name_field: &str| {
        let optional = reference.get("optional").and_then(Value::as_bool) == Some(true);
        if let Some(name) = reference.get(name_field).and_then(Value::as_str)
            && !optional
            && !name.is_empty()
        {
            found.push((kind, name.to_string()));
        }
    };
    let list = |value: Option<&Value>| -> Vec<Value> {
        value.and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let containers = list(spec.get("initContainers"))
        .into_iter()
        .chain(list(spec.get("containers")));
    for container in containers {
        for from in list(container.get("envFrom")) {
            if let Some(reference) = from.get("secretRef") {
                add(RefKind::Secret, reference, "name");
            }
            if let Some(reference) = from.get("configMapRef") {
                add(RefKind::ConfigMap, reference, "name");
            }
        }
        for variable in list(container.get("env")) {
            let Some(value_from) = variable.get("valueFrom") else {
                continue;
            };
            if let Some(reference) = value_from.get("secretKeyRef") {
                add(RefKind::Secret, reference, "name");
            }
            if let Some(reference) = value_from.get("configMapKeyRef") {
                add(RefKind::ConfigMap, reference, "name");
            }
        }
    }
    for volume in list(spec.get("volumes")) {
        if let Some(reference) = volume.get("secret") {
            add(RefKind::Secret, reference, "secretName");
        }
        if let Some(reference) = volume.get("configMap") {
            add(RefKind::ConfigMap, reference, "name");
        }
        for source in list(volume.pointer("/projected/sources")) {
            if let Some(reference) = source.get("secret") {
                add(RefKind::Secret, reference, "name");
            }
            if let Some(reference) = source.get("configMap") {
                add(RefKind::ConfigMap, reference, "name");
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::parse_multi_document;

    #[test]
    fn references_the_chart_does_not_render_are_found_once() {
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: config}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - name: init
          envFrom: [{secretRef: {name: db}}]
      containers:
        - name: app
          envFrom:
            - configMapRef: {name: config}
            - secretRef: {name: maybe, optional: true}
          env:
            - name: DB_PASS
              valueFrom: {secretKeyRef: {name: db, key: db_pass}}
            - name: MODE
              valueFrom: {configMapKeyRef: {name: settings, key: mode}}
      volumes:
        - name: config
          configMap: {name: config}
        - name: tls
          secret: {secretName: tls}
        - name: all
          projected: {sources: [{secret: {name: extra}}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: jobs}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: c, envFrom: [{secretRef: {name: db}}]}]
";
        let manifests = parse_multi_document("c", text).unwrap();
        let found: Vec<String> = unresolved(&manifests, "backend")
            .iter()
            .map(describe)
            .collect();
        assert_eq!(
            found,
            [
                "Deployment backend/web refers to Secret db, which the chart does not render and namespace backend does not hold",
                "Deployment backend/web refers to ConfigMap settings, which the chart does not render and namespace backend does not hold",
                "Deployment backend/web refers to Secret tls, which the chart does not render and namespace backend does not hold",
                "Deployment backend/web refers to Secret extra, which the chart does not render and namespace backend does not hold",
                "CronJob jobs/nightly refers to Secret db, which the chart does not render and namespace jobs does not hold",
            ]
        );
    }
}
